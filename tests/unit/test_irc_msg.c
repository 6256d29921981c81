/*
 * Unit tests: IRC line parser, builder, case mapping, ISUPPORT.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "ircmsg.h"
#include "unit.h"

/* The message the test parsed last; each parse clears the one before. */
static struct ircmsg m;

static void
teardown(void)
{
	ircmsg_clear(&m);
}

/* Parses LEN bytes of LINE into m, with the server's LINELEN (0: 512). */
static enum ircmsg_err
parse_n(const char *line, size_t len, size_t linelen)
{
	ircmsg_clear(&m);
	return ircmsg_parse(&m, line, len, linelen);
}

static enum ircmsg_err
parse(const char *line)
{
	return parse_n(line, strlen(line), 0);
}

START_TEST(parse_privmsg_full)
{
	ck_assert_int_eq(parse(":Nick!~user@host.example PRIVMSG #chan :hello world\r\n"),
	                 IRCMSG_OK);
	ck_assert_str_eq(m.source, "Nick!~user@host.example");
	ck_assert_str_eq(m.command, "PRIVMSG");
	ck_assert_int_eq(m.numeric, -1);
	ck_assert_uint_eq(m.nparams, 2);
	ck_assert_str_eq(m.params[0], "#chan");
	ck_assert_str_eq(m.params[1], "hello world");
	ck_assert(m.trailing);
	ck_assert_ptr_null(ircmsg_param(&m, 2));
}
END_TEST

/* A numeric or MODE shown to the user: its parameters as one line, the trailing one too. */
START_TEST(params_joined)
{
	char *all;

	ck_assert_int_eq(parse(":srv 401 me alice :No such nick\r\n"), IRCMSG_OK);
	all = ircmsg_params_join(&m, 1);
	ck_assert_str_eq(all, "alice No such nick");
	free(all);
	all = ircmsg_params_join(&m, 3);
	ck_assert_str_eq(all, "");
	free(all);
}
END_TEST

START_TEST(parse_line_endings)
{
	const char *lines[] = {"PING :x\r\n", "PING :x\n", "PING :x", "PING :x\r"};
	size_t i;

	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(parse(lines[i]), IRCMSG_OK);
		ck_assert_str_eq(m.command, "PING");
		ck_assert_str_eq(m.params[0], "x");
		ck_assert_ptr_null(m.source);
	}
}
END_TEST

START_TEST(parse_numeric_and_case)
{
	ck_assert_int_eq(parse(":irc.example.net 001 me :Welcome"), IRCMSG_OK);
	ck_assert_int_eq(m.numeric, 1);
	ck_assert_str_eq(m.command, "001");

	ck_assert_int_eq(parse("privmsg a b"), IRCMSG_OK);
	ck_assert_str_eq(m.command, "PRIVMSG");
	ck_assert(!m.trailing);
	ck_assert_str_eq(m.params[1], "b");
}
END_TEST

/* A line's source and the nick, user and host read from it (NULL: absent). */
static const struct source {
	const char *line, *nick, *user, *host;
} sources[] = {
        {":Nick!~user@host.example PRIVMSG #chan :hello world\r\n", "Nick", "~user",
         "host.example"},
        {":irc.example.net 001 me :Welcome", "irc.example.net", NULL, NULL},
        {":nick@host JOIN #a", "nick", NULL, "host"},
        {":nick!user JOIN #a", "nick", "user", NULL},
};

START_TEST(parse_source_forms)
{
	const struct source *want = &sources[_i];

	ck_assert_int_eq(parse(want->line), IRCMSG_OK);
	ck_assert_pstr_eq(m.nick, want->nick);
	ck_assert_pstr_eq(m.user, want->user);
	ck_assert_pstr_eq(m.host, want->host);
}
END_TEST

/* Lines the parser refuses, and why. */
static const struct refusal {
	const char *line;
	enum ircmsg_err err;
} refused[] = {
        {"1234 a", IRCMSG_ERR_BAD_COMMAND},
        {"12 a", IRCMSG_ERR_BAD_COMMAND},
        {"PRIV1MSG a", IRCMSG_ERR_BAD_COMMAND},
        {":nick!u@h \x01 a", IRCMSG_ERR_BAD_COMMAND},
        {": JOIN #a", IRCMSG_ERR_BAD_SOURCE},
        {":", IRCMSG_ERR_BAD_SOURCE},
        {":nick!u@h", IRCMSG_ERR_TRUNCATED},
        {":nick!u@h   ", IRCMSG_ERR_TRUNCATED},
        {"@time=x", IRCMSG_ERR_TRUNCATED},
        {"@time=x ", IRCMSG_ERR_TRUNCATED},
        {"@time=x :src", IRCMSG_ERR_TRUNCATED},
        {"@=x PING", IRCMSG_ERR_BAD_TAG},
        {"@+ PING", IRCMSG_ERR_BAD_TAG},
        {"@a b=c PING", IRCMSG_ERR_BAD_COMMAND},
        {"@k\x01=1 PING", IRCMSG_ERR_BAD_TAG},
        {"PING a\rb", IRCMSG_ERR_CRLF},
        {"PING a\nPRIVMSG b", IRCMSG_ERR_CRLF},
        {"", IRCMSG_ERR_EMPTY},
        {"\r\n", IRCMSG_ERR_EMPTY},
        {"    ", IRCMSG_ERR_EMPTY},
};

START_TEST(parse_refused)
{
	ck_assert_int_eq(parse(refused[_i].line), refused[_i].err);
}
END_TEST

/* A line and the parameters read from it, and whether the last was a trailing one. */
static const struct params {
	const char *line;
	size_t n;
	const char *params[15];
	bool trailing;
} parsed_params[] = {
        /* Multiple spaces tolerated, empty trailing kept, ':' inside a middle. */
        {"MODE  #chan   +o  a:b :", 4, {"#chan", "+o", "a:b", ""}, true},
        /* Trailing that keeps its colons and spaces. */
        {"PRIVMSG #a ::-) x  y ", 2, {"#a", ":-) x  y "}, true},
        /* Trailing spaces after the last middle make no empty parameter. */
        {"JOIN #a   ", 1, {"#a"}, false},
        {"QUIT", 0, {NULL}, false},
        /* At most 15: the 15th is a trailing one, the rest of the line (RFC 1459). */
        {"CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
         15,
         {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15 16 17"},
         true},
        {"CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :15 16",
         15,
         {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15 16"},
         true},
};

START_TEST(parse_params)
{
	const struct params *want = &parsed_params[_i];

	ck_assert_int_eq(parse(want->line), IRCMSG_OK);
	ck_assert_uint_eq(m.nparams, want->n);
	for (size_t i = 0; i < want->n; i++)
		ck_assert_str_eq(m.params[i], want->params[i]);
	ck_assert(m.trailing == want->trailing);
}
END_TEST

START_TEST(parse_tags)
{
	ck_assert_int_eq(
	        parse("@time=2023-01-01T00:00:00.000Z;+example.com/x=a\\sb\\:c\\\\d\\re\\nf;"
	              "flag;msgid=abc;empty= :n!u@h PRIVMSG #c :hi"),
	        IRCMSG_OK);
	ck_assert_uint_eq(m.ntags, 5);
	ck_assert_str_eq(ircmsg_tag(&m, "time"), "2023-01-01T00:00:00.000Z");
	ck_assert_str_eq(ircmsg_tag(&m, "+example.com/x"), "a b;c\\d\re\nf");
	ck_assert_str_eq(ircmsg_tag(&m, "flag"), "");
	ck_assert_str_eq(ircmsg_tag(&m, "empty"), "");
	ck_assert_ptr_null(ircmsg_tag(&m, "nope"));
	ck_assert_str_eq(m.command, "PRIVMSG");
	ck_assert_str_eq(m.params[1], "hi");

	/* Unknown escapes drop the backslash; a trailing lone one vanishes. */
	ck_assert_int_eq(parse("@a=\\b\\;b=x\\ PING"), IRCMSG_OK);
	ck_assert_str_eq(ircmsg_tag(&m, "a"), "b");
	ck_assert_str_eq(ircmsg_tag(&m, "b"), "x");

	/* A repeated key: the last wins. */
	ck_assert_int_eq(parse("@k=1;k=2 PING"), IRCMSG_OK);
	ck_assert_str_eq(ircmsg_tag(&m, "k"), "2");
}
END_TEST

START_TEST(parse_tags_hostile)
{
	char *line;
	size_t n;

	/* 8191 bytes of tags pass, 8192 do not. */
	n = 8191;
	line = xmalloc(n + 16);
	memset(line, 'a', n);
	line[0] = '@';
	line[n - 1] = ' ';
	strcpy(line + n, "PING x");
	ck_assert_int_eq(parse(line), IRCMSG_OK);
	memmove(line + 1, line, strlen(line) + 1);
	line[0] = '@';
	line[1] = 'a';
	ck_assert_int_eq(parse(line), IRCMSG_ERR_TAGS_TOO_LONG);
	/* Over-long tags with no space at all. */
	memset(line, 'a', n + 5);
	line[0] = '@';
	line[n + 5] = '\0';
	ck_assert_int_eq(parse(line), IRCMSG_ERR_TAGS_TOO_LONG);
	free(line);
}
END_TEST

START_TEST(parse_limits_and_bytes)
{
	char line[700];

	/* 510 bytes + CR LF is the longest body. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PRIVMSG #a :", 12);
	ck_assert_int_eq(parse_n(line, 510, 0), IRCMSG_OK);
	ck_assert_uint_eq(strlen(m.params[1]), 498);
	ck_assert_int_eq(parse_n(line, 511, 0), IRCMSG_ERR_TOO_LONG);
	/* A server that announced LINELEN=1024. */
	ck_assert_int_eq(parse_n(line, 600, 1024), IRCMSG_OK);

	ck_assert_int_eq(parse_n("PING a\0b", 8, 0), IRCMSG_ERR_NUL);
	ck_assert_str_eq(ircmsg_strerror(IRCMSG_ERR_TOO_LONG), "line too long");

	/* Non-UTF-8 bytes pass through the parser untouched (irctext decodes). */
	ck_assert_int_eq(parse("PRIVMSG #a :caf\xe9 \xff\xfe"), IRCMSG_OK);
	ck_assert_str_eq(m.params[1], "caf\xe9 \xff\xfe");
}
END_TEST

START_TEST(build_basic)
{
	char *s;
	size_t n;
	const char *params[] = {"#chan", "hello world"};
	struct ircmsg_out o = {.command = "PRIVMSG", .params = params, .nparams = 2};

	ck_assert_int_eq(ircmsg_format(&o, &s, &n), IRCMSG_OK);
	ck_assert_str_eq(s, "PRIVMSG #chan :hello world\r\n");
	ck_assert_uint_eq(n, strlen(s));
	free(s);

	ck_assert_int_eq(ircmsg_build(&s, "JOIN", "#a", NULL), IRCMSG_OK);
	ck_assert_str_eq(s, "JOIN #a\r\n");
	free(s);
	ck_assert_int_eq(ircmsg_build(&s, "PRIVMSG", "#a", "", NULL), IRCMSG_OK);
	ck_assert_str_eq(s, "PRIVMSG #a :\r\n");
	free(s);
	ck_assert_int_eq(ircmsg_build(&s, "PRIVMSG", "#a", ":)", NULL), IRCMSG_OK);
	ck_assert_str_eq(s, "PRIVMSG #a ::)\r\n");
	free(s);
	ck_assert_int_eq(ircmsg_build(&s, "QUIT", NULL), IRCMSG_OK);
	ck_assert_str_eq(s, "QUIT\r\n");
	free(s);
}
END_TEST

START_TEST(build_injection)
{
	static const char *evil[] = {
	        "x\r\nQUIT :pwned", "x\nQUIT", "x\rQUIT", "\r\n", "\n",
	};
	char *s;
	size_t i;
	const char *params[3];
	struct ircmsg_out o = {.command = "PRIVMSG", .params = params, .nparams = 2};

	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		/* In the target (a middle parameter): always refused. */
		ck_assert_int_eq(ircmsg_build(&s, "PRIVMSG", evil[i], "hi", NULL), IRCMSG_ERR_CRLF);
		ck_assert_ptr_null(s);
		/* In the text: refused by default... */
		ck_assert_int_eq(ircmsg_build(&s, "PRIVMSG", "#a", evil[i], NULL), IRCMSG_ERR_CRLF);
		ck_assert_ptr_null(s);
		/* ... and flattened to spaces on request: one line, one command. */
		params[0] = "#a";
		params[1] = evil[i];
		o.flags = IRCMSG_STRIP_CRLF;
		ck_assert_int_eq(ircmsg_format(&o, &s, NULL), IRCMSG_OK);
		ck_assert_ptr_eq(strchr(s, '\r'), s + strlen(s) - 2);
		ck_assert_ptr_eq(strchr(s, '\n'), s + strlen(s) - 1);
		free(s);
		/* In the command. */
		ck_assert_int_eq(ircmsg_build(&s, evil[i], "#a", NULL), IRCMSG_ERR_BAD_COMMAND);
	}
	params[0] = "#a";
	params[1] = "a\r\n\r\nb\nc";
	ck_assert_int_eq(ircmsg_format(&o, &s, NULL), IRCMSG_OK);
	ck_assert_str_eq(s, "PRIVMSG #a :a b c\r\n");
	free(s);

	/* Middles must be one word that does not look like a trailing. */
	ck_assert_int_eq(ircmsg_build(&s, "PRIVMSG", "#a b", "x", NULL), IRCMSG_ERR_BAD_PARAM);
	ck_assert_int_eq(ircmsg_build(&s, "PRIVMSG", ":#a", "x", NULL), IRCMSG_ERR_BAD_PARAM);
	ck_assert_int_eq(ircmsg_build(&s, "PRIVMSG", "", "x", NULL), IRCMSG_ERR_BAD_PARAM);
	ck_assert_int_eq(ircmsg_build(&s, "PRIV MSG", "x", NULL), IRCMSG_ERR_BAD_COMMAND);
	ck_assert_int_eq(ircmsg_build(&s, "", NULL), IRCMSG_ERR_BAD_COMMAND);
	ck_assert_int_eq(ircmsg_build(&s, "A", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
	                              "11", "12", "13", "14", "15", "16", NULL),
	                 IRCMSG_ERR_TOO_MANY_PARAMS);
}
END_TEST

START_TEST(build_tags_and_length)
{
	char *s, big[600];
	struct ircmsg_tag tags[] = {{"+draft/reply", "id 1;x\\y\r\n"}, {"label", NULL}};
	const char *params[] = {"#a", "hi"};
	struct ircmsg_out o = {tags, 2, "PRIVMSG", params, 2, 0, 0};

	ck_assert_int_eq(ircmsg_format(&o, &s, NULL), IRCMSG_OK);
	ck_assert_str_eq(s, "@+draft/reply=id\\s1\\:x\\\\y\\r\\n;label PRIVMSG #a hi\r\n");
	/* What we build parses back to the same values. */
	ck_assert_int_eq(parse(s), IRCMSG_OK);
	ck_assert_str_eq(ircmsg_tag(&m, "+draft/reply"), "id 1;x\\y\r\n");
	free(s);

	o.flags = IRCMSG_FORCE_TRAILING;
	ck_assert_int_eq(ircmsg_format(&o, &s, NULL), IRCMSG_OK);
	ck_assert_str_eq(s + strlen(s) - 16, "PRIVMSG #a :hi\r\n");
	free(s);
	o.flags = 0;

	tags[0].key = "bad key";
	ck_assert_int_eq(ircmsg_format(&o, &s, NULL), IRCMSG_ERR_BAD_TAG);
	tags[0].key = "a\r\nQUIT";
	ck_assert_int_eq(ircmsg_format(&o, &s, NULL), IRCMSG_ERR_BAD_TAG);

	/* 510 bytes of body fit, 511 do not. */
	memset(big, 'y', sizeof(big));
	big[5] = ' ';
	big[510 - 12] = '\0';
	ck_assert_int_eq(ircmsg_build(&s, "PRIVMSG", "#a", big, NULL), IRCMSG_OK);
	ck_assert_uint_eq(strlen(s), 512);
	free(s);
	big[510 - 12] = 'y';
	big[511 - 12] = '\0';
	ck_assert_int_eq(ircmsg_build(&s, "PRIVMSG", "#a", big, NULL), IRCMSG_ERR_TOO_LONG);
}
END_TEST

START_TEST(casemapping)
{
	enum ircmsg_casemap cm;
	char s[] = "Nick[]\\~";

	ck_assert_int_eq(ircmsg_casecmp(IRCMSG_CASEMAP_RFC1459, "Nick[a]\\~", "nICK{A}|^"), 0);
	ck_assert_int_ne(ircmsg_casecmp(IRCMSG_CASEMAP_STRICT_RFC1459, "a~", "A^"), 0);
	ck_assert_int_eq(ircmsg_casecmp(IRCMSG_CASEMAP_STRICT_RFC1459, "a[", "A{"), 0);
	ck_assert_int_ne(ircmsg_casecmp(IRCMSG_CASEMAP_ASCII, "a[", "A{"), 0);
	ck_assert_int_eq(ircmsg_casecmp(IRCMSG_CASEMAP_ASCII, "AbC", "aBc"), 0);
	ck_assert_int_ne(ircmsg_casecmp(IRCMSG_CASEMAP_ASCII, "abc", "abcd"), 0);
	ircmsg_casefold(IRCMSG_CASEMAP_RFC1459, s);
	ck_assert_str_eq(s, "nick{}|^");

	ck_assert(ircmsg_nick_eq(IRCMSG_CASEMAP_RFC1459, "Foo[1]!u@h", "foo{1}"));
	ck_assert(ircmsg_nick_eq(IRCMSG_CASEMAP_RFC1459, "Foo", "FOO"));
	ck_assert(!ircmsg_nick_eq(IRCMSG_CASEMAP_RFC1459, "Foo!u@h", "Fo"));
	ck_assert(!ircmsg_nick_eq(IRCMSG_CASEMAP_RFC1459, "Fo!u@h", "Foo"));
	ck_assert(ircmsg_nick_eq(IRCMSG_CASEMAP_ASCII, "x@h", "X"));

	ck_assert_int_eq(ircmsg_casemap_parse("ascii", &cm), 0);
	ck_assert_int_eq(cm, IRCMSG_CASEMAP_ASCII);
	ck_assert_int_eq(ircmsg_casemap_parse("strict-rfc1459", &cm), 0);
	ck_assert_int_eq(cm, IRCMSG_CASEMAP_STRICT_RFC1459);
	ck_assert_int_eq(ircmsg_casemap_parse("rfc7613", &cm), 0);
	ck_assert_int_eq(cm, IRCMSG_CASEMAP_ASCII);
	ck_assert_int_eq(ircmsg_casemap_parse("klingon", &cm), -1);
	ck_assert_int_eq(cm, IRCMSG_CASEMAP_ASCII);
}
END_TEST

START_TEST(isupport)
{
	struct ircmsg_isupport is;

	ircmsg_isupport_init(&is);
	ck_assert_str_eq(is.prefix_chars, "@+");
	ck_assert_int_eq(is.nicklen, 9);
	ck_assert_int_eq(ircmsg_isupport_prefix_mode(&is, '@'), 'o');

	ck_assert_int_eq(parse(":irc.x 005 me PREFIX=(qaohv)~&@%+ CHANTYPES=#! "
	                       "CHANMODES=eIbq,k,flj,CFLMPQScgimnprstuz CASEMAPPING=ascii "
	                       "NICKLEN=30 LINELEN=1024 NETWORK=Libera\\x20Chat MONITOR=100 "
	                       "STATUSMSG=@+ FOO=bar :are supported by this server"),
	                 IRCMSG_OK);
	ck_assert_int_eq(ircmsg_isupport_apply(&is, &m), 0);
	ck_assert_str_eq(is.prefix_modes, "qaohv");
	ck_assert_str_eq(is.prefix_chars, "~&@%+");
	ck_assert_str_eq(is.chantypes, "#!");
	ck_assert_str_eq(is.chanmodes[0], "eIbq");
	ck_assert_str_eq(is.chanmodes[3], "CFLMPQScgimnprstuz");
	ck_assert_int_eq(is.casemap, IRCMSG_CASEMAP_ASCII);
	ck_assert_int_eq(is.nicklen, 30);
	ck_assert_int_eq(is.linelen, 1024);
	ck_assert_str_eq(is.network, "Libera Chat");
	ck_assert_int_eq(is.monitor, 100);
	ck_assert_str_eq(is.statusmsg, "@+");

	ck_assert_int_eq(ircmsg_isupport_prefix_mode(&is, '%'), 'h');
	ck_assert_int_eq(ircmsg_isupport_prefix_mode(&is, 'x'), 0);
	ck_assert_int_eq(ircmsg_isupport_prefix_mode(&is, '\0'), 0);
	ck_assert_int_eq(ircmsg_isupport_prefix_rank(&is, '~'), 0);
	ck_assert_int_eq(ircmsg_isupport_prefix_rank(&is, 'v'), 4);
	ck_assert_int_eq(ircmsg_isupport_prefix_rank(&is, 'z'), -1);
	ck_assert(ircmsg_isupport_is_channel(&is, "!abc"));
	ck_assert(!ircmsg_isupport_is_channel(&is, "&abc"));
	ck_assert(!ircmsg_isupport_is_channel(&is, ""));
	ck_assert_int_eq(ircmsg_isupport_mode_type(&is, 'b'), 'A');
	ck_assert_int_eq(ircmsg_isupport_mode_type(&is, 'k'), 'B');
	ck_assert_int_eq(ircmsg_isupport_mode_type(&is, 'l'), 'C');
	ck_assert_int_eq(ircmsg_isupport_mode_type(&is, 'n'), 'D');
	ck_assert_int_eq(ircmsg_isupport_mode_type(&is, 'o'), 'P');
	ck_assert_int_eq(ircmsg_isupport_mode_type(&is, 'Y'), 0);

	/* Malformed values keep the previous ones. */
	ck_assert_int_eq(ircmsg_isupport_token(&is, "PREFIX=(ov)@"), -1);
	ck_assert_int_eq(ircmsg_isupport_token(&is, "PREFIX=ov@+"), -1);
	ck_assert_int_eq(ircmsg_isupport_token(&is, "NICKLEN=abc"), -1);
	ck_assert_int_eq(ircmsg_isupport_token(&is, "NICKLEN=-3"), -1);
	ck_assert_int_eq(ircmsg_isupport_token(&is, "LINELEN=100"), -1);
	ck_assert_int_eq(ircmsg_isupport_token(&is, "CASEMAPPING=weird"), -1);
	ck_assert_int_eq(ircmsg_isupport_token(&is, "NETWORK=a\\x00b"), -1);
	ck_assert_str_eq(is.prefix_chars, "~&@%+");
	ck_assert_int_eq(is.nicklen, 30);
	ck_assert_int_eq(is.linelen, 1024);

	/* Negation restores the default; an empty PREFIX means none. */
	ck_assert_int_eq(ircmsg_isupport_token(&is, "-PREFIX"), 0);
	ck_assert_str_eq(is.prefix_chars, "@+");
	ck_assert_int_eq(ircmsg_isupport_token(&is, "PREFIX="), 0);
	ck_assert_str_eq(is.prefix_chars, "");
	ck_assert_int_eq(ircmsg_isupport_token(&is, "-MONITOR"), 0);
	ck_assert_int_eq(is.monitor, -1);
	ck_assert_int_eq(ircmsg_isupport_token(&is, "MONITOR"), 0);
	ck_assert_int_eq(is.monitor, 0);
	ck_assert_int_eq(ircmsg_isupport_token(&is, "CHANMODES=b"), 0);
	ck_assert_str_eq(is.chanmodes[0], "b");
	ck_assert_str_eq(is.chanmodes[1], "");
	ck_assert_int_eq(ircmsg_isupport_token(&is, "PREFIX=(abcdefghijklmnopq)!@#$%^&*()-+=<>?/"),
	                 -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("ircmsg");
	TCase *tc = unit_tcase(s, "core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	unit_tests(tc, parse_privmsg_full, params_joined, parse_line_endings,
	           parse_numeric_and_case);
	tcase_add_loop_test(tc, parse_source_forms, 0, UNIT_ROWS(sources));
	tcase_add_loop_test(tc, parse_refused, 0, UNIT_ROWS(refused));
	tcase_add_loop_test(tc, parse_params, 0, UNIT_ROWS(parsed_params));
	unit_tests(tc, parse_tags, parse_tags_hostile, parse_limits_and_bytes, build_basic,
	           build_injection, build_tags_and_length, casemapping, isupport);
	return s;
}

int
main(void)
{
	return unit_run(suite());
}
