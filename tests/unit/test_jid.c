/*
 * Unit tests of src/util/jid.c: splitting JIDs (valid, hostile and oversized
 * input, IPv6 literals), bare JIDs, building, and XEP-0106 escaping with the
 * XEP's own examples and a round trip over many generated strings.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jid.h"
#include "log.h"
#include "xmalloc.h"
#include "unit.h"

/* A string of n copies of c. Caller frees. */
static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* s parses into exactly these parts (NULL: absent). */
static void
parse_ok(const char *s, const char *local, const char *domain, const char *resource)
{
	struct jid j;

	ck_assert_msg(jid_parse(s, &j) == 0, "'%s' should parse", s);
	if (local)
		ck_assert_str_eq(j.local, local);
	else
		ck_assert_ptr_null(j.local);
	ck_assert_str_eq(j.domain, domain);
	if (resource)
		ck_assert_str_eq(j.resource, resource);
	else
		ck_assert_ptr_null(j.resource);
	jid_clear(&j);
	ck_assert_ptr_null(j.local);
	ck_assert_ptr_null(j.domain);
	ck_assert_ptr_null(j.resource);
}

/* s is refused, and the struct is left empty (safe to clear again). */
static void
parse_bad(const char *s)
{
	struct jid j;

	memset(&j, 0x5a, sizeof(j));
	ck_assert_msg(jid_parse(s, &j) == -1, "'%s' should be refused", s ? s : "(null)");
	ck_assert_ptr_null(j.local);
	ck_assert_ptr_null(j.domain);
	ck_assert_ptr_null(j.resource);
	jid_clear(&j);
	ck_assert_ptr_null(jid_bare(s));
}

START_TEST(parse_parts)
{
	parse_ok("alice@example.com/phone", "alice", "example.com", "phone");
	parse_ok("alice@example.com", "alice", "example.com", NULL);
	parse_ok("example.com", NULL, "example.com", NULL);
	parse_ok("example.com/admin", NULL, "example.com", "admin");
	parse_ok("localhost", NULL, "localhost", NULL);
	/* The resource is everything after the first slash, '@' and '/' included. */
	parse_ok("alice@example.com/a/b@c", "alice", "example.com", "a/b@c");
	/* An '@' after the first slash belongs to the resource, not the localpart. */
	parse_ok("example.com/alice@home", NULL, "example.com", "alice@home");
	/* A resource may hold spaces and non-ASCII text. */
	parse_ok("room@muc.example.com/Zoë the great", "room", "muc.example.com", "Zoë the great");
	/* The gateway's own address forms (SPEC section 5). */
	parse_ok("#chan%irc.example.net@irc.gw", "#chan%irc.example.net", "irc.gw", NULL);
	parse_ok("+15551234567@sms.gw", "+15551234567", "sms.gw", NULL);
	parse_ok("alice\\40example.com@mail.gw", "alice\\40example.com", "mail.gw", NULL);
	/* Non-ASCII localparts and domains are fine when they are UTF-8. */
	parse_ok("fußball@bücher.example", "fußball", "bücher.example", NULL);
}
END_TEST

START_TEST(parse_domain_lowercased)
{
	parse_ok("Alice@Example.COM/Phone", "Alice", "example.com", "Phone");
	parse_ok("EXAMPLE.ORG", NULL, "example.org", NULL);
}
END_TEST

START_TEST(parse_invalid)
{
	parse_bad(NULL);
	parse_bad("");
	parse_bad("@");
	parse_bad("@example.com");
	parse_bad("alice@");
	parse_bad("alice@/res");
	parse_bad("/res");
	parse_bad("alice@example.com/");
	parse_bad("a@b@example.com");
	/* Characters RFC 7622 forbids in a localpart. */
	parse_bad("al ice@example.com");
	parse_bad("al\"ice@example.com");
	parse_bad("al&ice@example.com");
	parse_bad("al'ice@example.com");
	parse_bad("al:ice@example.com");
	parse_bad("al<ice@example.com");
	parse_bad("al>ice@example.com");
	/* Domains: no spaces, ports, quotes, backslashes or leading dots. */
	parse_bad("alice@exa mple.com");
	parse_bad("alice@example.com:5222");
	parse_bad("alice@exa\\mple.com");
	parse_bad("alice@.example.com");
	parse_bad("alice@exa<mple.com");
}
END_TEST

START_TEST(parse_control_characters)
{
	parse_bad("al\x01ice@example.com");
	parse_bad("alice\n@example.com");
	parse_bad("alice@exam\tple.com");
	parse_bad("alice@example.com\r");
	parse_bad("alice@example.com/ph\none");
	parse_bad("alice@example.com/\x1b[2J");
	parse_bad("alice@example.com/del\x7f");
	parse_bad("al\x7fice@example.com");
	parse_bad("alice@exa\x7fmple.com");
}
END_TEST

START_TEST(parse_bad_utf8)
{
	parse_bad("\xff@example.com");
	parse_bad("alice@ex\xc3"
	          "ample.com");
	parse_bad("alice@example.com/\xc0\xaf");         /* overlong '/' */
	parse_bad("\xed\xa0\x80@example.com");           /* surrogate */
	parse_bad("alice@example.com/\xf4\x90\x80\x80"); /* above U+10FFFF */
	parse_bad("alice@example.com/caf\xe9");          /* Latin-1 */
}
END_TEST

START_TEST(parse_lengths)
{
	/* RFC 7622: each part is at most 1023 bytes. */
	char *l1023 = repeat('l', 1023), *l1024 = repeat('l', 1024);
	char *d1023 = repeat('d', 1023), *d1024 = repeat('d', 1024);
	char *r1023 = repeat('r', 1023), *r1024 = repeat('r', 1024);
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s@example.com", l1023);
	parse_ok(buf, l1023, "example.com", NULL);
	snprintf(buf, sizeof(buf), "%s@example.com", l1024);
	parse_bad(buf);
	snprintf(buf, sizeof(buf), "a@%s", d1023);
	parse_ok(buf, "a", d1023, NULL);
	snprintf(buf, sizeof(buf), "a@%s", d1024);
	parse_bad(buf);
	snprintf(buf, sizeof(buf), "a@b/%s", r1023);
	parse_ok(buf, "a", "b", r1023);
	snprintf(buf, sizeof(buf), "a@b/%s", r1024);
	parse_bad(buf);
	/* All three at their limit at once. */
	snprintf(buf, sizeof(buf), "%s@%s/%s", l1023, d1023, r1023);
	parse_ok(buf, l1023, d1023, r1023);
	free(l1023);
	free(l1024);
	free(d1023);
	free(d1024);
	free(r1023);
	free(r1024);
}
END_TEST

START_TEST(parse_ipv6_literal)
{
	parse_ok("alice@[::1]", "alice", "[::1]", NULL);
	parse_ok("[::1]/res", NULL, "[::1]", "res");
	parse_ok("alice@[2001:DB8::1]/x", "alice", "[2001:db8::1]", "x");
	parse_ok("[::ffff:192.0.2.1]", NULL, "[::ffff:192.0.2.1]", NULL);
	parse_ok("alice@192.0.2.1", "alice", "192.0.2.1", NULL);
	/* A colon is only allowed inside a complete IPv6 literal. */
	parse_bad("alice@[::1");
	parse_bad("alice@[::1]:5222");
	parse_bad("alice@[::1]x");
	parse_bad("alice@[]");
	parse_bad("alice@[");
	parse_bad("alice@[not:an:address]");
	parse_bad("alice@[::1]]");
	parse_bad("alice@::1");
}
END_TEST

START_TEST(validators)
{
	ck_assert(jid_local_valid("alice"));
	ck_assert(jid_local_valid("c\\3a\\net")); /* backslashes are allowed */
	ck_assert(!jid_local_valid(""));
	ck_assert(!jid_local_valid("a@b"));
	ck_assert(!jid_local_valid("a/b"));
	ck_assert(jid_domain_valid("example.com"));
	ck_assert(!jid_domain_valid(""));
	ck_assert(!jid_domain_valid("a/b"));
	ck_assert(jid_resource_valid("a b/c@d"));
	ck_assert(!jid_resource_valid(""));
	ck_assert(!jid_resource_valid("a\tb"));
}
END_TEST

START_TEST(bare)
{
	char *s;

	s = jid_bare("alice@Example.COM/phone");
	ck_assert_str_eq(s, "alice@example.com");
	free(s);
	s = jid_bare("Alice@example.com");
	ck_assert_str_eq(s, "Alice@example.com"); /* only the domain is lower-cased */
	free(s);
	s = jid_bare("GW.Example.org/res/ource");
	ck_assert_str_eq(s, "gw.example.org");
	free(s);
	s = jid_bare("alice@[::1]/r");
	ck_assert_str_eq(s, "alice@[::1]");
	free(s);
	ck_assert_ptr_null(jid_bare("alice@"));
	ck_assert_ptr_null(jid_bare("a\nb@example.com"));
}
END_TEST

START_TEST(make)
{
	char *s;

	s = jid_make("alice", "example.com", "phone");
	ck_assert_str_eq(s, "alice@example.com/phone");
	free(s);
	s = jid_make("alice", "example.com", NULL);
	ck_assert_str_eq(s, "alice@example.com");
	free(s);
	s = jid_make(NULL, "example.com", NULL);
	ck_assert_str_eq(s, "example.com");
	free(s);
	s = jid_make(NULL, "example.com", "r");
	ck_assert_str_eq(s, "example.com/r");
	free(s);
	/* xconcat, which jid_make is made of */
	s = xconcat("a", "", "bc", "/", (char *)NULL);
	ck_assert_str_eq(s, "abc/");
	free(s);
	s = xconcat("", (char *)NULL);
	ck_assert_str_eq(s, "");
	free(s);
	/* What jid_make builds from parsed parts parses back to the same parts. */
	s = jid_make("a\\40b", "gw.example", "x/y@z");
	parse_ok(s, "a\\40b", "gw.example", "x/y@z");
	free(s);
}
END_TEST

/* escape(plain) == escaped and unescape(escaped) == plain. */
static void
escape_pair(const char *plain, const char *escaped)
{
	char *e = jid_escape(plain), *u = jid_unescape(escaped);

	ck_assert_msg(strcmp(e, escaped) == 0, "escape('%s') = '%s', want '%s'", plain, e, escaped);
	ck_assert_msg(strcmp(u, plain) == 0, "unescape('%s') = '%s', want '%s'", escaped, u, plain);
	free(e);
	free(u);
}

START_TEST(escape_each_character)
{
	escape_pair(" ", "\\20");
	escape_pair("\"", "\\22");
	escape_pair("&", "\\26");
	escape_pair("'", "\\27");
	escape_pair("/", "\\2f");
	escape_pair(":", "\\3a");
	escape_pair("<", "\\3c");
	escape_pair(">", "\\3e");
	escape_pair("@", "\\40");
	/* A backslash is escaped only when an escape code follows it. */
	escape_pair("\\5c", "\\5c5c");
	escape_pair("\\", "\\");
	escape_pair("", "");
	escape_pair("plain", "plain");
	escape_pair("all \"&'/:<>@ in one", "all\\20\\22\\26\\27\\2f\\3a\\3c\\3e\\40\\20in\\20one");
	/* Characters a localpart may hold stay as they are, UTF-8 included. */
	escape_pair("#chan%irc.example.net", "#chan%irc.example.net");
	escape_pair("zoë+tag_1.x-y", "zoë+tag_1.x-y");
}
END_TEST

/*
 * XEP-0106 section 5.1 (version 1.1.1, which corrected the table so that a
 * backslash not starting an escape stays as is, as section 4.3 requires).
 */
START_TEST(escape_xep0106_examples)
{
	escape_pair("space cadet", "space\\20cadet");
	escape_pair("call me \"ishmael\"", "call\\20me\\20\\22ishmael\\22");
	escape_pair("at&t guy", "at\\26t\\20guy");
	escape_pair("d'artagnan", "d\\27artagnan");
	escape_pair("/.fanboy", "\\2f.fanboy");
	escape_pair("::foo::", "\\3a\\3afoo\\3a\\3a");
	escape_pair("<foo>", "\\3cfoo\\3e");
	escape_pair("user@host", "user\\40host");
	escape_pair("c:\\net", "c\\3a\\net");
	escape_pair("c:\\\\net", "c\\3a\\\\net");
	escape_pair("c:\\cool stuff", "c\\3a\\cool\\20stuff");
	escape_pair("c:\\5commas", "c\\3a\\5c5commas");
	/* Section 4.2: a source address that already holds escape codes. */
	escape_pair("\\3and\\2is\\5cool", "\\5c3and\\2is\\5c5cool");
	/* Section 5.2: an email address. */
	escape_pair("here's_a_wild_&_/cr%zy/_address",
	            "here\\27s_a_wild_\\26_\\2fcr%zy\\2f_address");
	escape_pair("call me\\20", "call\\20me\\5c20");
}
END_TEST

START_TEST(unescape_unknown_codes)
{
	/* Section 4.3: partial and unknown sequences are left alone both ways. */
	escape_pair("\\2plus\\2is\\4", "\\2plus\\2is\\4");
	escape_pair("foo\\bar", "foo\\bar");
	escape_pair("foob\\41r", "foob\\41r");
	escape_pair("trailing\\", "trailing\\");
	escape_pair("\\2", "\\2");
	escape_pair("\\\\", "\\\\");
	escape_pair("\\xx\\00\\ff\\5d", "\\xx\\00\\ff\\5d");
	escape_pair("\\g0", "\\g0");
}
END_TEST

START_TEST(unescape_case)
{
	char *s;

	/*
	 * Servers case-fold localparts, so "\3A" may arrive as "\3a": both
	 * decode alike, and escaping protects either spelling.
	 */
	s = jid_unescape("c\\3A\\5C\\2F");
	ck_assert_str_eq(s, "c:\\/");
	free(s);
	escape_pair("nick\\3A", "nick\\5c3A");
}
END_TEST

/* unescape(escape(s)) == s. */
static void
round_trip(const char *s)
{
	char *e = jid_escape(s), *u = jid_unescape(e);

	ck_assert_msg(strcmp(u, s) == 0, "round trip of '%s' via '%s' gave '%s'", s, e, u);
	free(e);
	free(u);
}

START_TEST(escape_round_trip_exhaustive)
{
	/* Every string of up to 5 characters over the ones that matter. */
	static const char alphabet[] = "\\25cC3a0 @/x";
	const size_t k = sizeof(alphabet) - 1;
	char s[6];

	for (size_t len = 0; len <= 5; len++) {
		size_t total = 1;

		for (size_t i = 0; i < len; i++)
			total *= k;
		for (size_t n = 0; n < total; n++) {
			size_t v = n;

			for (size_t i = 0; i < len; i++) {
				s[i] = alphabet[v % k];
				v /= k;
			}
			s[len] = '\0';
			round_trip(s);
		}
	}
}
END_TEST

START_TEST(escape_round_trip_random)
{
	/* Arbitrary bytes (any but NUL), biased towards backslashes and hex digits. */
	static const char bias[] = "\\\\\\2345acfACF0 \"&'/:<>@";
	uint32_t x = 2463534242u;
	char s[64];

	for (int round = 0; round < 200000; round++) {
		size_t len = unit_xorshift(&x) % sizeof(s);

		for (size_t i = 0; i < len; i++) {
			unit_xorshift(&x);
			s[i] = (x & 0x100) ? bias[(x >> 9) % (sizeof(bias) - 1)]
			                   : (char)(1 + (x >> 16) % 255);
		}
		s[len] = '\0';
		round_trip(s);
	}
}
END_TEST

START_TEST(escape_gives_valid_localpart)
{
	static const char *const addresses[] = {
	        "alice@example.com",
	        "call me \"ishmael\"",
	        "c:\\5commas",
	        "<>&'\"/:@ ",
	        "\\5c\\20",
	        "Grüße aus Köln",
	        "here's_a_wild_&_/cr%zy/_address",
	};

	for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
		char *e = jid_escape(addresses[i]);

		ck_assert_msg(jid_local_valid(e), "'%s' escaped to '%s', not a localpart",
		              addresses[i], e);
		free(e);
	}
}
END_TEST

static Suite *
jid_suite(void)
{
	Suite *s = suite_create("jid");
	TCase *tc = unit_tcase(s, "parse");
	TCase *te = unit_tcase(s, "escape");

	unit_tests(tc, parse_parts, parse_domain_lowercased, parse_invalid,
	           parse_control_characters, parse_bad_utf8, parse_lengths, parse_ipv6_literal,
	           validators, bare, make);
	unit_tests(te, escape_each_character, escape_xep0106_examples, unescape_unknown_codes,
	           unescape_case, escape_round_trip_exhaustive, escape_round_trip_random,
	           escape_gives_valid_localpart);
	tcase_set_timeout(te, 60);
	return s;
}

int
main(void)
{
	log_init(1, 0, "test_jid");
	return unit_run(jid_suite());
}
