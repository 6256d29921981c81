/*
 * Unit tests of the config module (conf.h) with fake drivers: every kind of
 * error with its line, defaults, lists, ports, durations, secret files,
 * subsections, reload checks, and the generated documentation.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "unit.h"

#define DATA TEST_DATA_DIR
#define CONF DATA "/t.conf" /* the name inline configs are given: relative paths start in DATA */

static const struct gw_option echo_options[] = {
        {"name", GW_OPT_STRING, "echo", 0, 0, GW_OPT_RELOADABLE, "A name."},
        {"token", GW_OPT_SECRET, NULL, 0, 0, 0, "An optional secret."},
        {"count", GW_OPT_INT, "3", 0, 10, 0, "An integer 0..10."},
        {"loud", GW_OPT_BOOL, "no", 0, 0, GW_OPT_RELOADABLE, "A boolean."},
        {"words", GW_OPT_LIST, "", 0, 3, GW_OPT_RELOADABLE, "At most three words."},
        {"ports", GW_OPT_PORTS, "6697", 0, 0, 0, "Ports."},
        {"peer", GW_OPT_JID, NULL, 0, 0, 0, "A JID."},
        {"dir", GW_OPT_PATH, "spool", 0, 0, 0, "A path."},
        {"every", GW_OPT_DURATION, "5m", 1, 86400, GW_OPT_RELOADABLE, "A duration."},
        {"fixed", GW_OPT_STRING, "default.example", 0, 0, 0, "A string with a default."},
        GW_OPTIONS_END,
};

static const struct gw_option line_options[] = {
        {"number", GW_OPT_STRING, NULL, 0, 0, GW_OPT_REQUIRED, "The line's number."},
        {"users", GW_OPT_LIST, "", 0, 0, GW_OPT_RELOADABLE, "Who owns the line."},
        GW_OPTIONS_END,
};

static const struct gw_option note_options[] = {
        {"text", GW_OPT_STRING, "", 0, 0, GW_OPT_RELOADABLE, "Reloadable text."},
        GW_OPTIONS_END,
};

static const struct gw_subsection echo_subsections[] = {
        {"line", line_options, "A line."},
        {"note", note_options, "A note."},
        GW_SUBSECTIONS_END,
};

static int
echo_check(const struct gw_section *s, char **why)
{
	if (strcmp(gw_conf_str(s, "name"), "forbidden") == 0) {
		*why = strdup("the name 'forbidden' is refused by the driver");
		return -1;
	}
	return 0;
}

static const struct gw_driver echo_driver = {
        .name = "echo",
        .type = "echo",
        .description = "Echo test network",
        .options = echo_options,
        .subsections = echo_subsections,
        .check_config = echo_check,
};

static const struct gw_option irc_options[] = {
        {"tls_ports", GW_OPT_PORTS, "6697", 0, 0, GW_OPT_RELOADABLE, "TLS ports."},
        GW_OPTIONS_END,
};

static const struct gw_driver irc_driver = {
        .name = "irc",
        .type = "irc",
        .description = "IRC gateway",
        .options = irc_options,
};

static const struct gw_driver *const drivers[] = {&echo_driver, &irc_driver};
#define NDRIVERS 2

static struct config_error *errs;
static size_t nerrs;

static struct config *
load(const char *text)
{
	return config_load_buffer(CONF, text, strlen(text), drivers, NDRIVERS, &errs, &nerrs);
}

static void
dump_errors(void)
{
	for (size_t i = 0; i < nerrs; i++) {
		char *s = config_error_format(&errs[i]);

		fprintf(stderr, "  %s\n", s);
		free(s);
	}
}

static struct config *
load_ok(const char *text)
{
	struct config *cfg = load(text);

	if (cfg == NULL)
		dump_errors();
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(nerrs, 0);
	ck_assert_ptr_null(errs);
	return cfg;
}

/* The text fails to load with exactly one error: at line, on key (or NULL). */
static void
expect_error(const char *text, int line, const char *key, const char *part)
{
	struct config *cfg = load(text);

	if (cfg != NULL || nerrs != 1)
		dump_errors();
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(nerrs, 1);
	ck_assert_str_eq(errs[0].file, CONF);
	ck_assert_int_eq(errs[0].line, line);
	if (key == NULL)
		ck_assert_ptr_null(errs[0].key);
	else
		ck_assert_str_eq(errs[0].key ? errs[0].key : "(null)", key);
	if (strstr(errs[0].msg, part) == NULL)
		ck_abort_msg("message \"%s\" lacks \"%s\"", errs[0].msg, part);
	ck_assert_ptr_null(strchr(errs[0].msg, '\n'));
	config_errors_free(errs, nerrs);
	errs = NULL;
	nerrs = 0;
}

#define ECHO "[echo]\njid = echo.example.org\nsecret = s\n" /* lines 1-3 */

/* ---- Defaults ---- */

START_TEST(test_defaults)
{
	struct config *cfg = load_ok("");
	const struct gw_section *x = config_section(cfg, "xmpp");
	const struct gw_section *st = config_section(cfg, "storage");
	const struct gw_section *lg = config_section(cfg, "log");

	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(st);
	ck_assert_ptr_nonnull(lg);
	ck_assert_str_eq(gw_section_name(x), "xmpp");
	ck_assert_str_eq(gw_conf_str(x, "server"), "127.0.0.1");
	ck_assert_int_eq(gw_conf_int(x, "port"), 5347);
	ck_assert_ptr_null(gw_conf_list(x, "admins")[0]);
	ck_assert_ptr_null(gw_conf_list(x, "allowed_domains")[0]);
	ck_assert_int_eq(gw_conf_int(x, "reconnect_max"), 60);
	ck_assert_str_eq(gw_conf_str(st, "url"), "sqlite:/var/lib/stanzagate/stanzagate.db");
	ck_assert_str_eq(gw_conf_str(st, "key_file"), "/etc/stanzagate/secret.key");
	ck_assert_int_eq(gw_conf_int(lg, "verbosity"), 0);
	ck_assert_int_eq(config_section_line(x), 0);
	ck_assert_ptr_null(config_section(cfg, "echo"));
	ck_assert_ptr_null(config_section(cfg, "irc"));
	ck_assert_str_eq(config_path(cfg), CONF);
	config_free(cfg);
}
END_TEST

START_TEST(test_driver_defaults)
{
	struct config *cfg = load_ok(ECHO);
	const struct gw_section *e = config_section(cfg, "echo");

	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(config_section_line(e), 1);
	ck_assert_str_eq(gw_conf_str(e, "jid"), "echo.example.org");
	ck_assert_str_eq(gw_conf_str(e, "secret"), "s");
	ck_assert_str_eq(gw_conf_str(e, "name"), "echo");
	ck_assert_ptr_null(gw_conf_str(e, "token"));
	ck_assert_ptr_null(gw_conf_str(e, "peer"));
	ck_assert_int_eq(gw_conf_int(e, "count"), 3);
	ck_assert(!gw_conf_bool(e, "loud"));
	ck_assert_str_eq(gw_conf_list(e, "ports")[0], "6697");
	ck_assert_ptr_null(gw_conf_list(e, "ports")[1]);
	ck_assert_str_eq(gw_conf_str(e, "dir"), DATA "/spool");
	ck_assert_int_eq(gw_conf_int(e, "every"), 300);
	/* A key the table lacks is a bug: logged, and nothing returned. */
	ck_assert_ptr_null(gw_conf_str(e, "nonesuch"));
	ck_assert_ptr_null(gw_conf_list(e, "nonesuch")[0]);
	ck_assert_ptr_null(gw_conf_list(e, "name")[0]);
	ck_assert_ptr_null(gw_conf_str(NULL, "jid"));
	config_free(cfg);
}
END_TEST

START_TEST(test_values)
{
	struct config *cfg =
	        load_ok("\xef\xbb\xbf[xmpp]\r\n"
	                "  server = xmpp.example.org  ; inline comment\r\n"
	                "port: 5348\n"
	                "# a comment\n"
	                "admins = a@example.org\n" ECHO "name = two words;not a comment\n"
	                "loud = On\n"
	                "count = 10\n"
	                "peer = user@example.org\n"
	                "dir = /abs/dir\n"
	                "fixed =\n");
	const struct gw_section *x = config_section(cfg, "xmpp");
	const struct gw_section *e = config_section(cfg, "echo");

	ck_assert_str_eq(gw_conf_str(x, "server"), "xmpp.example.org");
	ck_assert_int_eq(gw_conf_int(x, "port"), 5348);
	ck_assert_int_eq(config_section_line(x), 1);
	ck_assert_int_eq(config_section_line(e), 6);
	ck_assert_str_eq(gw_conf_str(e, "name"), "two words;not a comment");
	ck_assert(gw_conf_bool(e, "loud"));
	ck_assert_int_eq(gw_conf_int(e, "count"), 10);
	ck_assert_str_eq(gw_conf_str(e, "peer"), "user@example.org");
	ck_assert_str_eq(gw_conf_str(e, "dir"), "/abs/dir");
	ck_assert_ptr_null(gw_conf_str(e, "fixed")); /* "key =" unsets a string */
	config_free(cfg);
}
END_TEST

START_TEST(test_bools)
{
	static const char *const yes[] = {"yes", "true", "on", "1", "YES", "True"};
	static const char *const no[] = {"no", "false", "off", "0", "No", "OFF"};

	for (size_t i = 0; i < 6; i++) {
		char text[128];
		struct config *cfg;

		snprintf(text, sizeof(text), ECHO "loud = %s\n", yes[i]);
		cfg = load_ok(text);
		ck_assert(gw_conf_bool(config_section(cfg, "echo"), "loud"));
		config_free(cfg);
		snprintf(text, sizeof(text), ECHO "loud = %s\n", no[i]);
		cfg = load_ok(text);
		ck_assert(!gw_conf_bool(config_section(cfg, "echo"), "loud"));
		config_free(cfg);
	}
}
END_TEST

/* ---- Lists, ports, durations ---- */

START_TEST(test_lists)
{
	struct config *cfg = load_ok("[xmpp]\n"
	                             "admins = a@example.org, b@example.org,,c@example.org\n"
	                             "  d@example.org\n"
	                             "\te@example.org ; a comment\n"
	                             "allowed_domains =\n" ECHO "words = one,two\n");
	const char *const *a = gw_conf_list(config_section(cfg, "xmpp"), "admins");
	const char *const *w = gw_conf_list(config_section(cfg, "echo"), "words");

	ck_assert_str_eq(a[0], "a@example.org");
	ck_assert_str_eq(a[1], "b@example.org");
	ck_assert_str_eq(a[2], "c@example.org");
	ck_assert_str_eq(a[3], "d@example.org");
	ck_assert_str_eq(a[4], "e@example.org");
	ck_assert_ptr_null(a[5]);
	ck_assert_ptr_null(gw_conf_list(config_section(cfg, "xmpp"), "allowed_domains")[0]);
	ck_assert_str_eq(w[0], "one");
	ck_assert_str_eq(w[1], "two");
	ck_assert_ptr_null(w[2]);
	config_free(cfg);
}
END_TEST

START_TEST(test_ports)
{
	struct config *cfg = load_ok(ECHO "ports = 6697, 7000 1\n");
	const char *const *p = gw_conf_list(config_section(cfg, "echo"), "ports");

	ck_assert_str_eq(p[0], "6697");
	ck_assert_str_eq(p[1], "7000");
	ck_assert_str_eq(p[2], "1");
	ck_assert_ptr_null(p[3]);
	config_free(cfg);
	cfg = load_ok(ECHO "ports =\n");
	ck_assert_ptr_null(gw_conf_list(config_section(cfg, "echo"), "ports")[0]);
	config_free(cfg);
}
END_TEST

START_TEST(test_durations)
{
	static const struct {
		const char *text;
		long secs;
	} ok[] = {{"90", 90},   {"30s", 30},   {"5m", 300},
	          {"2h", 7200}, {"1d", 86400}, {"1h30m", 5400}};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char text[128];
		struct config *cfg;

		snprintf(text, sizeof(text), ECHO "every = %s\n", ok[i].text);
		cfg = load_ok(text);
		ck_assert_int_eq(gw_conf_int(config_section(cfg, "echo"), "every"), ok[i].secs);
		config_free(cfg);
	}
}
END_TEST

/* ---- Each error, with its line ---- */

/* A config that is refused with one error: the line and key it names (NULL: none) and a
 * part of its message. */
static const struct refusal {
	bool after_echo; /* the text follows ECHO's lines 1-3 */
	const char *text;
	int line;
	const char *key, *part;
} refused[] = {
        /* ports */
        {true, "ports = 6697 0\n", 4, "ports", "'0' is not a port"},
        {true, "ports = 65536\n", 4, "ports", "'65536' is not a port"},
        {true, "ports = 66x\n", 4, "ports", "'66x' is not a port"},
        {false, "[xmpp]\nport = 0\n", 2, "port", "out of range"},
        {false, "[xmpp]\nport = 65536\n", 2, "port", "between 1 and 65535"},
        /* durations */
        {true, "every = 5 m\n", 4, "every", "not a duration"},
        {true, "every = 5w\n", 4, "every", "not a duration"},
        {true, "every = -5\n", 4, "every", "not a duration"},
        {true, "every = 99999999999999999999\n", 4, "every", "not a duration"},
        {true, "every = 2d\n", 4, "every", "out of range"},
        {true, "every = 0\n", 4, "every", "between 1 and 86400 seconds"},
        {false, "[xmpp]\nreconnect_max = 0s\n", 2, "reconnect_max", "out of range"},
        /* each kind of error */
        {false, "[xmpp]\n\n[nonesuch]\nkey = 1\n", 3, NULL, "unknown section [nonesuch]"},
        {false, "[xmpp]\nport = 5347\nbogus = 1\n", 3, "bogus", "unknown key in [xmpp]"},
        {false, "[xmpp]\nsever = x\n", 2, "sever", "did you mean server?"},
        {false, "[xmpp]\nport = 1\n\nport = 2\n", 4, "port", "given twice (first at line 2)"},
        {false, "[xmpp]\nport = 5x\n", 2, "port", "'5x' is not an integer"},
        {false, "[xmpp]\nport =\n", 2, "port", "needs a value"},
        {true, "count = 11\n", 4, "count", "11 is out of range: must be between 0 and 10"},
        {true, "count = -1\n", 4, "count", "out of range"},
        {true, "loud = maybe\n", 4, "loud", "'maybe' is not a boolean"},
        {true, "words = a b c d\n", 4, "words", "has 4 items"},
        {true, "peer = a@b@c\n", 4, "peer", "not a JID: more than one @"},
        {true, "peer = a@example.org/res\n", 4, "peer", "no /resource"},
        {true, "peer = a b@example.org\n", 4, "peer", "forbidden character"},
        {true, "peer = example..org\n", 4, "peer", "empty label"},
        {false, "[xmpp]\n\n[echo]\nsecret = s\n", 3, "jid", "[echo] needs this key"},
        {false, "[echo]\njid = echo.example.org\n", 1, "secret", "needs secret (or secret_file"},
        {false, "[echo]\njid = user@echo.example.org\nsecret = s\n", 2, "jid", "a bare domain"},
        {true, "[echo.modem.x]\n", 4, NULL,
         "unknown kind of subsection 'modem' (echo has: line, note)"},
        {false, "[irc]\njid = irc.example.org\nsecret = s\n[irc.line.x]\n", 4, NULL,
         "irc has no subsections"},
        {true, "[echo.line]\n", 4, NULL, "[echo.KIND.NAME]"},
        {true, "[echo.line.a b]\nnumber = 1\n", 4, NULL, "letters, digits"},
        {true, "name = a\001b\n", 4, "name", "control character"},
        {true, "name = a\tb\n", 4, "name", "control character"},
        {true, "name = \xc2\x85\n", 4, "name", "control character"},
        {true, "name = \xff\xfe\n", 4, "name", "invalid UTF-8"},
        {true, "name = \xc0\xaf\n", 4, "name", "invalid UTF-8"},
        {false, "\n[sms]\njid = sms.example.org\n", 2, NULL,
         "[sms]: this build has no sms backend (configure --disable-sms?)"},
        {false, "[sms.line.office]\nnumber = 1\n", 1, NULL, "this build has no sms backend"},
        {false, "port = 1\n[xmpp]\n", 1, "port", "outside any section"},
        {false, "[xmpp\nport = 1\n", 1, NULL, "must end with ]"},
        {false, "[xmpp] junk\n", 1, NULL, "text after"},
        {false, "[]\n", 1, NULL, "empty section name"},
        {false, "[xmpp]\nport 5347\n", 2, NULL, "expected key = value"},
        {false, "[xmpp]\nport ;= 5347\n", 2, NULL, "expected key = value"},
        {false, "[xmpp]\n = 5347\n", 2, NULL, "without a key name"},
        {false, "[xmpp]\n[log]\n[xmpp]\nport = 1\n", 3, NULL,
         "[xmpp] again: it was already opened at line 1"},
        {true, "[echo.line.a]\nnumber = 1\n[echo.line.a]\n", 6, NULL, "again"},
        {false, "[echo.line.a]\nnumber = 1\n", 1, NULL, "has no [echo] section"},
        {false, "[xmpp]\nport = 1\n  2\n", 3, "port", "only lists continue"},
        {false, "[xmpp]\nadmins = a@example.org jid@\n", 2, "admins", "'jid@' is not a bare JID"},
        {false, "[xmpp]\nallowed_domains = a@example.org\n", 2, "allowed_domains",
         "'a@example.org' is not a domain"},
        {false, "[xmpp]\nadmins = a@example.org example.org\n", 2, "admins",
         "'example.org' is not a user's JID"},
        {true, "[irc]\njid = Echo.example.org\nsecret = s\n", 5, "jid",
         "[echo] has this jid too (line 2)"},
        {false, "[storage]\nurl = mysql://x\n", 2, "url", "unknown kind of storage"},
        {false, "[storage]\nurl = sqlite:\n", 2, "url", "needs a path"},
        {false, "[log]\nverbosity = 4\n", 2, "verbosity", "between 0 and 3"},
        /* contact addresses (XEP-0157) and the vCard (XEP-0054) */
        {false, "[xmpp]\nabuse_addresses = xmpp:a@example.org abuse@example.org\n", 2,
         "abuse_addresses", "'abuse@example.org' is not a URI: write xmpp:abuse@example.org"},
        {false, "[xmpp]\nsupport_addresses = 1http://example.org\n", 2, "support_addresses",
         "not a URI"},
        {false, "[xmpp]\nsupport_addresses = mailto:\n", 2, "support_addresses", "not a URI"},
        {false, "[xmpp]\nsupport_addresses = :x\n", 2, "support_addresses", "not a URI"},
        {true, "url = ftp://example.org\n", 4, "url", "not a web address"},
        {true, "avatar = avatar.png\n", 4, "avatar", "not an absolute path (nor none)"},
        {true, "avatar = /nonexistent/a.png\n", 4, "avatar",
         "cannot read /nonexistent/a.png: No such file"},
        {false, "[echo]\njid = echo.example.org\nsecret = s\nname = forbidden\n", 1, NULL,
         "[echo]: the name 'forbidden' is refused by the driver"},
};

START_TEST(test_refused)
{
	const struct refusal *r = &refused[_i];
	char *text = xasprintf("%s%s", r->after_echo ? ECHO : "", r->text);

	expect_error(text, r->line, r->key, r->part);
	free(text);
}
END_TEST

START_TEST(test_contact_info)
{
	struct config *cfg = load_ok("[xmpp]\nabuse_addresses = xmpp:abuse@example.org "
	                             "mailto:abuse@example.org\nsupport_addresses = "
	                             "https://example.org/help\n" ECHO
	                             "avatar = none\nurl = https://example.org/echo\n");
	const char *const *abuse = gw_conf_list(config_section(cfg, "xmpp"), "abuse_addresses");

	ck_assert_str_eq(abuse[0], "xmpp:abuse@example.org");
	ck_assert_str_eq(abuse[1], "mailto:abuse@example.org");
	ck_assert_ptr_null(abuse[2]);
	ck_assert_str_eq(gw_conf_str(config_section(cfg, "echo"), "avatar"), "none");
	ck_assert_str_eq(gw_conf_str(config_section(cfg, "echo"), "url"),
	                 "https://example.org/echo");
	config_free(cfg);
	/* Not given: no addresses, the installed avatar, no URL. */
	cfg = load_ok(ECHO);
	ck_assert_ptr_null(gw_conf_list(config_section(cfg, "xmpp"), "abuse_addresses")[0]);
	ck_assert_ptr_null(gw_conf_str(config_section(cfg, "echo"), "avatar"));
	ck_assert_ptr_null(gw_conf_str(config_section(cfg, "echo"), "url"));
	config_free(cfg);
}
END_TEST

/* conf_read_avatar(): PNG and JPEG by their signatures, nothing else, nothing too big. */
START_TEST(test_avatar_file)
{
	char path[] = "/tmp/test_config_avatarXXXXXX";
	int fd = mkstemp(path);
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0};
	unsigned char *data = NULL, *big = xcalloc(1, CONF_MAX_AVATAR + 1);
	const char *mime = NULL;
	size_t len = 0;
	char *why = NULL;
	FILE *f;

	ck_assert_int_ge(fd, 0);
	close(fd);
	f = fopen(path, "wb");
	fwrite(png, 1, sizeof(png), f);
	fclose(f);
	ck_assert_int_eq(conf_read_avatar(path, &data, &len, &mime, &why), 0);
	ck_assert_str_eq(mime, "image/png");
	ck_assert_uint_eq(len, sizeof(png));
	ck_assert_mem_eq(data, png, sizeof(png));
	free(data);
	f = fopen(path, "wb");
	fwrite("\xff\xd8\xff\xe0", 1, 4, f);
	fclose(f);
	ck_assert_int_eq(conf_read_avatar(path, NULL, &len, &mime, &why), 0);
	ck_assert_str_eq(mime, "image/jpeg");
	f = fopen(path, "wb");
	fwrite("GIF89a", 1, 6, f);
	fclose(f);
	ck_assert_int_eq(conf_read_avatar(path, NULL, &len, &mime, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "is not a PNG or JPEG image"));
	free(why);
	memcpy(big, png, sizeof(png));
	f = fopen(path, "wb");
	fwrite(big, 1, CONF_MAX_AVATAR + 1, f);
	fclose(f);
	ck_assert_int_eq(conf_read_avatar(path, NULL, &len, &mime, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "larger than 48 KiB"));
	free(why);
	/* Exactly the limit is taken. */
	f = fopen(path, "wb");
	fwrite(big, 1, CONF_MAX_AVATAR, f);
	fclose(f);
	ck_assert_int_eq(conf_read_avatar(path, NULL, &len, &mime, &why), 0);
	ck_assert_uint_eq(len, CONF_MAX_AVATAR);
	free(big);
	unlink(path);
}
END_TEST

START_TEST(test_long_and_nul_lines)
{
	char text[600];

	snprintf(text, sizeof(text), "[xmpp]\nserver = %0*d\nport = 1\n", 250, 0);
	expect_error(text, 2, NULL, "line longer than 199 bytes");
	/* A line of exactly 199 bytes is fine. */
	snprintf(text, sizeof(text), "[xmpp]\nserver = %0*d\n", 199 - 9, 0);
	struct config *cfg = load_ok(text);
	ck_assert_uint_eq(strlen(gw_conf_str(config_section(cfg, "xmpp"), "server")), 190);
	config_free(cfg);

	static const char nul[] = "[xmpp]\nserver = a\0b\nport = 1\n";
	cfg = config_load_buffer(CONF, nul, sizeof(nul) - 1, drivers, NDRIVERS, &errs, &nerrs);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(nerrs, 1);
	ck_assert_int_eq(errs[0].line, 2);
	ck_assert_ptr_nonnull(strstr(errs[0].msg, "NUL"));
	config_errors_free(errs, nerrs);
}
END_TEST

/* Every problem is reported, in file order, not just the first. */
START_TEST(test_all_errors)
{
	struct config *cfg = load("[xmpp]\n"          /* 1 */
	                          "port = http\n"     /* 2 */
	                          "colour = blue\n"   /* 3 */
	                          "[nowhere]\n"       /* 4 */
	                          "x = 1\n"           /* 5: skipped with its section */
	                          "[echo]\n"          /* 6: missing jid */
	                          "secret = s\n"      /* 7 */
	                          "secret_file = x\n" /* 8: both */
	                          "count = 99\n"      /* 9 */
	                          "count = 1\n"       /* 10 */
	                          "[echo.line.a]\n"   /* 11: missing number */
	                          "users = a@b\n"     /* 12 */
	                          "junk\n");          /* 13 */
	static const struct {
		int line;
		const char *key;
	} want[] = {{2, "port"},  {3, "colour"}, {4, NULL},      {6, "jid"}, {8, "secret_file"},
	            {9, "count"}, {10, "count"}, {11, "number"}, {13, NULL}};

	ck_assert_ptr_null(cfg);
	if (nerrs != sizeof(want) / sizeof(want[0]))
		dump_errors();
	ck_assert_uint_eq(nerrs, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < nerrs; i++) {
		ck_assert_int_eq(errs[i].line, want[i].line);
		if (want[i].key)
			ck_assert_str_eq(errs[i].key, want[i].key);
		else
			ck_assert_ptr_null(errs[i].key);
	}
	config_errors_free(errs, nerrs);
}
END_TEST

START_TEST(test_error_format)
{
	struct config_error e = {.file = "/etc/s.conf", .line = 3, .key = "port", .msg = "bad"};
	char *s = config_error_format(&e);

	ck_assert_str_eq(s, "/etc/s.conf:3: port: bad");
	free(s);
	e.key = NULL;
	s = config_error_format(&e);
	ck_assert_str_eq(s, "/etc/s.conf:3: bad");
	free(s);
	e.line = 0;
	s = config_error_format(&e);
	ck_assert_str_eq(s, "/etc/s.conf: bad");
	free(s);

	/* Untrusted names are escaped: one line, whatever the file holds. */
	struct config *cfg = load("[xmpp]\nbad\x01key\x1b[2J = 1\n");
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(nerrs, 1);
	s = config_error_format(&errs[0]);
	ck_assert_str_eq(s, CONF ":2: bad\\x01key\\x1b[2J: unknown key in [xmpp]");
	free(s);
	config_errors_free(errs, nerrs);
}
END_TEST

/* ---- Secrets ---- */

START_TEST(test_secret_file)
{
	struct config *cfg = load_ok("[echo]\njid = echo.example.org\nsecret_file = echo.secret\n"
	                             "token_file = " DATA "/echo.secret\n");
	const struct gw_section *e = config_section(cfg, "echo");

	ck_assert_str_eq(gw_conf_str(e, "secret"), "s3cret"); /* relative to the config */
	ck_assert_str_eq(gw_conf_str(e, "token"), "s3cret");
	config_free(cfg);

	expect_error("[echo]\njid = echo.example.org\nsecret_file = echo.secret\nsecret = x\n", 4,
	             "secret", "secret_file is given too (line 3)");
	expect_error("[echo]\njid = echo.example.org\nsecret = x\nsecret_file = echo.secret\n", 4,
	             "secret_file", "secret is given too (line 3)");
	expect_error("[echo]\njid = echo.example.org\nsecret_file = nonesuch\n", 3, "secret_file",
	             "cannot read " DATA "/nonesuch: No such file or directory");
	expect_error("[echo]\njid = echo.example.org\nsecret_file = .\n", 3, "secret_file",
	             "Is a directory");
	expect_error("[echo]\njid = echo.example.org\nsecret_file = empty.secret\n", 3,
	             "secret_file", "empty.secret is empty");
	expect_error("[echo]\njid = echo.example.org\nsecret_file =\n", 3, "secret_file",
	             "needs a path");
	expect_error(ECHO "secret_file = echo.secret\n", 4, "secret_file", "given too");
	expect_error("[echo]\njid = echo.example.org\nsecret_file = echo.secret\n"
	             "secret_file = echo.secret\n",
	             4, "secret_file", "given twice (first at line 3)");
	expect_error(ECHO "name_file = x\n", 4, "name_file", "unknown key");
	expect_error("[echo]\njid = echo.example.org\nsecret =\n", 3, "secret", "needs a value");
}
END_TEST

START_TEST(test_load_file)
{
	struct config *cfg = config_load(DATA "/full.conf", drivers, NDRIVERS, &errs, &nerrs);
	const struct gw_section *x, *e, *const *lines;
	size_t n;

	if (cfg == NULL)
		dump_errors();
	ck_assert_ptr_nonnull(cfg);
	x = config_section(cfg, "xmpp");
	e = config_section(cfg, "echo");
	ck_assert_str_eq(gw_conf_str(x, "server"), "192.0.2.1");
	ck_assert_str_eq(gw_conf_list(x, "admins")[1], "root@example.org");
	ck_assert_str_eq(gw_conf_list(x, "allowed_domains")[1], "example.net");
	ck_assert_str_eq(gw_conf_str(config_section(cfg, "storage"), "key_file"),
	                 DATA "/secret.key");
	ck_assert_int_eq(gw_conf_int(config_section(cfg, "log"), "verbosity"), 2);
	ck_assert_str_eq(gw_conf_str(e, "secret"), "s3cret");
	lines = config_subsections(cfg, "echo", "line", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(gw_conf_list(lines[0], "users")[1], "bob@example.org");
	config_free(cfg);

	cfg = config_load(DATA "/nonesuch.conf", drivers, NDRIVERS, &errs, &nerrs);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(nerrs, 1);
	ck_assert_int_eq(errs[0].line, 0);
	char *s = config_error_format(&errs[0]);
	ck_assert_str_eq(s,
	                 DATA "/nonesuch.conf: cannot read the config: No such file or directory");
	free(s);
	config_errors_free(errs, nerrs);

	cfg = config_load(DATA, drivers, NDRIVERS, &errs, &nerrs);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(nerrs, 1);
	config_errors_free(errs, nerrs);
}
END_TEST

/* ---- Subsections ---- */

START_TEST(test_subsections)
{
	struct config *cfg =
	        load_ok("[echo.line.office]\n" /* before its section: fine */
	                "number = +15550001111\n"
	                "users = alice@example.org bob@example.org\n" ECHO "[echo.line.shop]\n"
	                "number = +15550002222\n"
	                "[echo.note.x.y]\n");
	const struct gw_section *const *v;
	size_t n;

	v = config_subsections(cfg, "echo", "line", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(gw_section_name(v[0]), "office");
	ck_assert_str_eq(gw_section_name(v[1]), "shop");
	ck_assert_str_eq(gw_conf_str(v[0], "number"), "+15550001111");
	ck_assert_str_eq(gw_conf_list(v[0], "users")[1], "bob@example.org");
	ck_assert_ptr_null(gw_conf_list(v[1], "users")[0]);
	ck_assert_int_eq(config_section_line(v[1]), 7);
	v = config_subsections(cfg, "echo", "note", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(gw_section_name(v[0]), "x.y");
	ck_assert_ptr_nonnull(config_section(cfg, "echo.line.shop"));
	v = config_subsections(cfg, "echo", "nonesuch", &n);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(n, 0);
	v = config_subsections(cfg, "irc", "line", &n);
	ck_assert_uint_eq(n, 0);
	config_free(cfg);

	expect_error(ECHO "[echo.line.office]\nusers = a@example.org\n", 4, "number",
	             "[echo.line.office] needs this key");
	expect_error(ECHO "[echo.line.office]\nnumber = 1\nport = 2\n", 6, "port",
	             "unknown key in [echo.line.office]");
}
END_TEST

/* ---- Reload ---- */

static char **
changes(const char *a, const char *b, size_t *n)
{
	struct config *old = load_ok(a), *nw = load_ok(b);
	char **v = config_unreloadable_changes(old, nw, n);

	config_free(old);
	config_free(nw);
	return v;
}

static void
free_changes(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

START_TEST(test_unreloadable)
{
	char **v;
	size_t n;

	v = changes(ECHO, ECHO, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(v);

	/* Reloadable keys, and the same value written differently. */
	v = changes("[xmpp]\nport = 5347\nadmins = a@example.org\n" ECHO "ports = 1,2\n",
	            "[xmpp]\nadmins = b@example.org\n" ECHO "ports = 1 2\nevery = 1h\nname = n\n",
	            &n);
	ck_assert_uint_eq(n, 0);
	free_changes(v, n);

	v = changes("[xmpp]\nport = 5347\n" ECHO,
	            "[xmpp]\nport = 5348\n[echo]\njid = echo.example.org\nsecret = t\ncount = 4\n",
	            &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0], "xmpp.port");
	ck_assert_str_eq(v[1], "echo.secret");
	ck_assert_str_eq(v[2], "echo.count");
	free_changes(v, n);

	/* The same secret from a file is no change. */
	v = changes("[echo]\njid = echo.example.org\nsecret = s3cret\n",
	            "[echo]\njid = echo.example.org\nsecret_file = echo.secret\n", &n);
	ck_assert_uint_eq(n, 0);
	free_changes(v, n);

	/* Sections added or removed; one with only reloadable keys is no change. */
	v = changes("[storage]\nurl = sqlite:/a\n",
	            ECHO "[echo.line.a]\nnumber = 1\n"
	                 "[echo.note.n]\ntext = hi\n",
	            &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0], "storage.url");
	ck_assert_str_eq(v[1], "echo");
	ck_assert_str_eq(v[2], "echo.line.a");
	free_changes(v, n);
	v = changes(ECHO, "", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0], "echo");
	free_changes(v, n);
}
END_TEST

/* ---- Generated documentation ---- */

static char *
capture(void (*fn)(FILE *, const struct gw_driver *const *, size_t))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	fn(f, drivers, NDRIVERS);
	fclose(f);
	return buf;
}

START_TEST(test_example)
{
	char *text = capture(config_write_example);
	struct config *cfg;

	ck_assert_ptr_nonnull(strstr(text, "\n[xmpp]\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n#port = 5347\n"));
	ck_assert_ptr_nonnull(strstr(text, "# integer, 1..65535, default 5347, needs a restart\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n#reconnect_max = 60s\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n#[echo]\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n#jid = echo.example.org\n"));
	ck_assert_ptr_nonnull(strstr(text, "secret, also as secret_file = PATH, required"));
	ck_assert_ptr_nonnull(strstr(text, "\n#[echo.line.example]\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n#[irc]\n"));
	for (char *l = text; (l = strchr(l, '\n')) != NULL; l++)
		ck_assert_uint_le(strcspn(l + 1, "\n"), 80);
	/* As written, it loads: core sections live, backends commented out. */
	cfg = config_load_buffer(CONF, text, strlen(text), drivers, NDRIVERS, &errs, &nerrs);
	if (cfg == NULL)
		dump_errors();
	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_null(config_section(cfg, "echo"));
	config_free(cfg);
	free(text);

	/* The example shipped in conf/ loads too. */
	cfg = config_load(EXAMPLE_CONF, drivers, NDRIVERS, &errs, &nerrs);
	if (cfg == NULL)
		dump_errors();
	ck_assert_ptr_nonnull(cfg);
	config_free(cfg);
}
END_TEST

START_TEST(test_man)
{
	char *text = capture(config_write_man);

	ck_assert_ptr_nonnull(strstr(text, ".SS \"[xmpp]\"\n"));
	ck_assert_ptr_nonnull(strstr(text, ".TP\n\\fBport\\fR (integer, 1..65535, default 5347, "
	                                   "needs a restart)\n"));
	ck_assert_ptr_nonnull(strstr(text, ".SS \"[echo.line.NAME]\"\n"));
	ck_assert_ptr_nonnull(strstr(text, "\\fBreconnect_max\\fR (duration, 1..86400 seconds"));
	ck_assert_ptr_nonnull(strstr(text, "each \\-v on the command line"));
	ck_assert_ptr_nonnull(strstr(text, "(XEP-0114)"));
	/* No text line starts with a dot or a quote it did not mean. */
	for (char *l = text; l; l = strchr(l, '\n')) {
		if (*l == '\n')
			l++;
		ck_assert(*l != '\'');
	}
	free(text);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = unit_tcase(s, "config");

	unit_tests(tc, test_defaults, test_driver_defaults, test_values, test_bools, test_lists,
	           test_ports, test_durations);
	tcase_add_loop_test(tc, test_refused, 0, UNIT_ROWS(refused));
	unit_tests(tc, test_contact_info, test_avatar_file, test_long_and_nul_lines,
	           test_all_errors, test_error_format, test_secret_file, test_load_file,
	           test_subsections, test_unreloadable, test_example, test_man);
	return s;
}

int
main(void)
{
	log_init(1, 0, "test_config");
	return unit_run(config_suite());
}
