/*
 * Unit tests of log_escape() (src/util/log.c), which every piece of foreign text
 * goes through before it reaches a log line, and of the allocation helpers
 * (src/util/xmalloc.c) that log and exit when memory runs out.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"
#include "xmltext.h"
#include "unit.h"

/* log_escape(s) into a buffer of len bytes equals want. */
static void
escape_eq(const char *s, size_t len, const char *want)
{
	char buf[256];

	ck_assert_uint_le(len, sizeof(buf));
	ck_assert_ptr_eq(log_escape(buf, len, s), buf);
	ck_assert_msg(strcmp(buf, want) == 0, "log_escape('%s', %zu) = '%s', want '%s'", s, len,
	              buf, want);
}

#define BIG 256

START_TEST(escape_plain)
{
	escape_eq("plain text", BIG, "plain text");
	escape_eq("", BIG, "");
	escape_eq(NULL, BIG, "");
	/* Valid UTF-8 is printable and kept as is. */
	escape_eq("Grüße 日本 😀", BIG, "Grüße 日本 😀");
	escape_eq("a\xc2\xa0z", BIG, "a\xc2\xa0z"); /* U+00A0 */
}
END_TEST

START_TEST(escape_controls)
{
	escape_eq("a\nb", BIG, "a\\x0ab");
	escape_eq("line\r\nforged: entry", BIG, "line\\x0d\\x0aforged: entry");
	escape_eq("\x1b[2J", BIG, "\\x1b[2J");
	escape_eq("\x01\x1f", BIG, "\\x01\\x1f");
	escape_eq("tab\t", BIG, "tab\\x09");
	escape_eq("del\x7f", BIG, "del\\x7f");
}
END_TEST

START_TEST(escape_backslash)
{
	/* Doubled, so that a literal "\x0a" cannot pass for an escaped newline. */
	escape_eq("a\\b", BIG, "a\\\\b");
	escape_eq("\\x0a", BIG, "\\\\x0a");
	escape_eq("\\", BIG, "\\\\");
}
END_TEST

START_TEST(escape_non_utf8)
{
	/* log.h: non-UTF-8 becomes \xNN, so a log line is always UTF-8. */
	escape_eq("caf\xe9", BIG, "caf\\xe9");
	escape_eq("\xff\xfe", BIG, "\\xff\\xfe");
	escape_eq("\xc0\xaf", BIG, "\\xc0\\xaf");          /* overlong */
	escape_eq("\xed\xa0\x80", BIG, "\\xed\\xa0\\x80"); /* surrogate */
	escape_eq("a\xe2\x82", BIG, "a\\xe2\\x82");        /* truncated at the end */
	escape_eq("\xe2\x82z", BIG, "\\xe2\\x82z");
	escape_eq("\x80", BIG, "\\x80");
	/* C1 controls (U+009B is a terminal's CSI) are control bytes too. */
	escape_eq("\xc2\x9b"
	          "2J",
	          BIG, "\\xc2\\x9b2J");
	escape_eq("\xc2\x85", BIG, "\\xc2\\x85");
}
END_TEST

START_TEST(escape_small_buffers)
{
	char buf[4] = "xyz";

	/* len 0 writes nothing at all. */
	ck_assert_ptr_eq(log_escape(buf, 0, "abc"), buf);
	ck_assert_str_eq(buf, "xyz");
	escape_eq("abc", 1, "");
	escape_eq("abc", 2, "a");
	escape_eq("abc", 4, "abc");
	escape_eq("abcd", 4, "abc");
	/* An escape that does not fit is left out whole. */
	escape_eq("a\n", 5, "a");
	escape_eq("a\n", 6, "a\\x0a");
	escape_eq("\n", 4, "");
	escape_eq("\n", 5, "\\x0a");
	escape_eq("ab\\", 4, "ab");
	/* So is a character that does not fit. */
	escape_eq("a\xe2\x82\xac", 4, "a");
	escape_eq("a\xe2\x82\xac", 5, "a\xe2\x82\xac");
}
END_TEST

/* Length of the unit of escaped output at p: "\\", "\xNN" or one UTF-8 character. */
static size_t
unit_len(const char *p)
{
	unsigned char c = (unsigned char)p[0];

	if (c == '\\')
		return p[1] == 'x' ? 4 : 2;
	return c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
}

/* Escaping s into every buffer size: always a prefix of the full escape, cut between units. */
static void
check_truncation(const char *s)
{
	char full[1024], buf[1024], canary[1024 + 8];

	log_escape(full, sizeof(full), s);
	ck_assert(utf8_valid(full, strlen(full)));
	for (const unsigned char *p = (const unsigned char *)full; *p; p++)
		ck_assert(*p >= 0x20 && *p != 0x7f);
	for (size_t len = 1; len <= strlen(full) + 1; len++) {
		size_t n, at = 0, past = len;

		memset(canary, 'Z', sizeof(canary));
		log_escape(canary, len, s);
		while (past < sizeof(canary) && canary[past] == 'Z')
			past++;
		ck_assert_msg(past == sizeof(canary), "wrote past %zu bytes", len);
		memcpy(buf, canary, len);
		n = strlen(buf);
		ck_assert_uint_lt(n, len);
		ck_assert(strncmp(buf, full, n) == 0);
		while (at < n)
			at += unit_len(full + at);
		ck_assert_msg(at == n, "'%s' cut at %zu splits an escape or a character", s, len);
		/* And it is cut only as much as it has to be. */
		if (n < strlen(full))
			ck_assert_uint_gt(n + unit_len(full + n), len - 1);
	}
}

START_TEST(escape_truncation)
{
	static const char *const inputs[] = {
	        "a\nb\\c\177d", /* octal: a hex escape would swallow the d */
	        "\\\\\\\\\\",
	        "\n\n\n\n\n",
	        "x\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xffy",
	        "\xc2\x9b\xc2\xa0\xed\xa0\x80z",
	        "plain old text",
	};
	uint32_t x = 88172645u;
	char s[40];

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
		check_truncation(inputs[i]);
	/* And random bytes. */
	for (int round = 0; round < 3000; round++) {
		size_t len = unit_xorshift(&x) % sizeof(s);

		for (size_t i = 0; i < len; i++) {
			unit_xorshift(&x);
			s[i] = (char)(1 + (x >> 8) % 255);
		}
		s[len] = '\0';
		check_truncation(s);
	}
}
END_TEST

START_TEST(redact_xml)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	        {"<x xmlns='jabber:x:data' type='submit'><field "
	         "var='nick'><value>al</value></field>"
	         "<field var='sasl_password'><value>s3cret</value></field></x>",
	         "<x xmlns='jabber:x:data' type='submit'><field "
	         "var='nick'><value>al</value></field>"
	         "<field var='sasl_password'><value>[hidden]</value></field></x>"},
	        {"<field type=\"text-private\" var=\"Secret\"><value>a</value><value>bb</value>"
	         "</field>",
	         "<field type=\"text-private\" var=\"Secret\"><value>[hidden]</value>"
	         "<value>[hidden]</value></field>"},
	        {"<query xmlns='jabber:iq:register'><username>u</username><password>pw</password>"
	         "</query>",
	         "<query xmlns='jabber:iq:register'><username>u</username><password>[hidden]"
	         "</password></query>"},
	        {"<field var='api_key'/><field var='x'><value>v</value></field>",
	         "<field var='api_key'/><field var='x'><value>v</value></field>"},
	        /* broken or cut traces stay as they are */
	        {"<field var='password'><value>cut here", "<field var='password'><value>cut here"},
	        {"<field var='password", "<field var='password"},
	        {"no xml at all", "no xml at all"},
	        {"", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = log_redact_xml(cases[i].in);

		ck_assert_str_eq(got, cases[i].want);
		free(got);
	}
}
END_TEST

START_TEST(alloc_helpers)
{
	char *p, *q;
	int *a;

	p = xmalloc(0);
	ck_assert_ptr_nonnull(p);
	free(p);
	a = xcalloc(16, sizeof(*a));
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(a[i], 0);
	a = xreallocarray(a, 1000, sizeof(*a));
	a[999] = 7;
	free(a);
	p = xcalloc(0, 0);
	ck_assert_ptr_nonnull(p);
	free(p);

	p = xstrdup("copy");
	ck_assert_str_eq(p, "copy");
	free(p);
	ck_assert_ptr_null(xstrdup_or_null(NULL));
	p = xstrdup_or_null("x");
	ck_assert_str_eq(p, "x");
	free(p);
	p = xstrndup("abcdef", 3);
	ck_assert_str_eq(p, "abc");
	free(p);
	p = xstrndup("ab", 10);
	ck_assert_str_eq(p, "ab");
	free(p);
	p = xasprintf("%s-%d-%zu", "a", -5, (size_t)7);
	ck_assert_str_eq(p, "a--5-7");
	free(p);

	q = NULL;
	xstrset(&q, "one");
	ck_assert_str_eq(q, "one");
	xstrset(&q, q); /* setting to itself copies before freeing */
	ck_assert_str_eq(q, "one");
	xstrset(&q, NULL);
	ck_assert_ptr_null(q);
}
END_TEST

/* Overflowing nmemb * size is fatal (exit 1), never a short allocation. */
START_TEST(realloc_overflow)
{
	void *p = xreallocarray(NULL, SIZE_MAX / 2, 4);

	free(p);
}
END_TEST

static Suite *
log_suite(bool forking)
{
	Suite *s = suite_create("log");
	TCase *te = unit_tcase(s, "log_escape");
	TCase *ta = unit_tcase(s, "xmalloc");

	unit_tests(te, escape_plain, redact_xml, escape_controls, escape_backslash, escape_non_utf8,
	           escape_small_buffers, escape_truncation);
	tcase_set_timeout(te, 60);
	tcase_add_test(ta, alloc_helpers);
	/* An exit test needs its own process. */
	if (forking)
		tcase_add_exit_test(ta, realloc_overflow, 1);
	return s;
}

int
main(void)
{
	log_init(1, 0, "test_log");
	return unit_run(log_suite(unit_forking()));
}
