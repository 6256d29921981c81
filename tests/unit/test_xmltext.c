/*
 * Unit tests of src/util/xmltext.c: UTF-8 validation (overlongs, surrogates,
 * code points above U+10FFFF, truncated sequences), cleaning foreign text
 * for an XML stream (SPEC section 8), and cutting on character boundaries.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmltext.h"
#include "unit.h"

#define VALID(lit) ck_assert_msg(utf8_valid(lit, sizeof(lit) - 1), "%s should be valid", #lit)
#define INVALID(lit) ck_assert_msg(!utf8_valid(lit, sizeof(lit) - 1), "%s should be invalid", #lit)

START_TEST(valid_sequences)
{
	VALID("");
	VALID("plain ASCII ~!");
	VALID("\xc2\x80");         /* U+0080, smallest 2-byte */
	VALID("caf\xc3\xa9");      /* é */
	VALID("\xdf\xbf");         /* U+07FF */
	VALID("\xe0\xa0\x80");     /* U+0800, smallest 3-byte */
	VALID("\xe2\x82\xac");     /* € */
	VALID("\xed\x9f\xbf");     /* U+D7FF, just below the surrogates */
	VALID("\xee\x80\x80");     /* U+E000, just above */
	VALID("\xef\xbf\xbd");     /* U+FFFD */
	VALID("\xef\xbf\xbf");     /* U+FFFF is UTF-8 (XML forbids it, UTF-8 does not) */
	VALID("\xf0\x90\x80\x80"); /* U+10000, smallest 4-byte */
	VALID("\xf0\x9f\x98\x80"); /* 😀 */
	VALID("\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last code point */
	/* A NUL inside the given length is a valid character. */
	ck_assert(utf8_valid("a\0b", 3));
	/* Only n bytes are looked at. */
	ck_assert(utf8_valid("ab\xff", 2));
}
END_TEST

START_TEST(overlongs)
{
	INVALID("\xc0\x80"); /* NUL */
	INVALID("\xc0\xaf"); /* '/' */
	INVALID("\xc1\xbf");
	INVALID("\xe0\x80\xaf");
	INVALID("\xe0\x9f\xbf"); /* U+07FF in 3 bytes */
	INVALID("\xf0\x80\x80\xaf");
	INVALID("\xf0\x8f\xbf\xbf"); /* U+FFFF in 4 bytes */
	INVALID("\xf8\x88\x80\x80\x80");
	INVALID("\xfc\x84\x80\x80\x80\x80");
}
END_TEST

START_TEST(surrogates)
{
	INVALID("\xed\xa0\x80"); /* U+D800 */
	INVALID("\xed\xad\xbf"); /* U+DB7F */
	INVALID("\xed\xb0\x80"); /* U+DC00 */
	INVALID("\xed\xbf\xbf"); /* U+DFFF */
	/* CESU-8 pair for U+10000. */
	INVALID("\xed\xa0\x80\xed\xb0\x80");
}
END_TEST

START_TEST(above_max)
{
	INVALID("\xf4\x90\x80\x80"); /* U+110000 */
	INVALID("\xf5\x80\x80\x80");
	INVALID("\xf7\xbf\xbf\xbf");
	INVALID("\xfe");
	INVALID("\xff");
}
END_TEST

START_TEST(truncated)
{
	INVALID("\xc3");
	INVALID("\xe2\x82");
	INVALID("\xf0\x9f\x98");
	INVALID("a\xc3");
	INVALID("\xc3z"); /* lead byte, then not a continuation */
	INVALID("\xe2\x82z");
	INVALID("\x80"); /* lone continuation bytes */
	INVALID("a\xbf");
	INVALID("\xc3\xa9\xa9"); /* one continuation too many */
	/* A valid character cut by n. */
	ck_assert(!utf8_valid("\xe2\x82\xac", 2));
	ck_assert(!utf8_valid("\xf0\x9f\x98\x80", 3));
}
END_TEST

/* clean(in, max) == want; the result is always valid UTF-8. */
static void
clean_eq(const char *in, size_t n, size_t max, const char *want)
{
	char *s = xmltext_clean(in, n, max);

	ck_assert(utf8_valid(s, strlen(s)));
	ck_assert_str_eq(s, want);
	free(s);
}

/* A row of the table below for a string literal, NULs and all. */
#define CLEANED(lit, max, want)                                                                    \
	{                                                                                          \
		lit, sizeof(lit) - 1, max, want                                                    \
	}

/* What xmltext_clean() makes of N bytes of IN when it may keep MAX bytes (0: no limit). */
static const struct cleaning {
	const char *in;
	size_t n, max;
	const char *want;
} cleanings[] = {
        /* plain text stays */
        CLEANED("", 0, ""),
        CLEANED("hello", 0, "hello"),
        CLEANED("Grüße 日本 😀", 0, "Grüße 日本 😀"),
        CLEANED("\xef\xbf\xbd", 0, "\xef\xbf\xbd"), /* U+FFFD itself stays */
        CLEANED("<b>&amp;</b>", 0, "<b>&amp;</b>"), /* markup is the XML writer's job */
        /* Only n bytes are read. */
        {"abcdef", 3, 0, "abc"},
        /* C0 controls are dropped, but for tab and LF. */
        CLEANED("a\x01"
                "b\x1f"
                "c\x1b[2Jd",
                0, "abc[2Jd"),
        CLEANED("tab\there\nline", 0, "tab\there\nline"),
        CLEANED("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f",
                0, ""),
        /* A NUL does not end the text early. */
        CLEANED("a\0b", 0, "ab"),
        /*
         * DEL and the C1 controls (U+0080..U+009F, e.g. U+009B, a terminal's
         * CSI) are control characters too: SPEC section 8 keeps them out.
         */
        CLEANED("a\x7f"
                "b",
                0, "ab"),
        CLEANED("a\xc2\x80"
                "b\xc2\x85"
                "c\xc2\x9b"
                "2Jd\xc2\x9f",
                0, "abc2Jd"),
        /* U+00A0 (no-break space) is printable and stays. */
        CLEANED("a\xc2\xa0"
                "b",
                0,
                "a\xc2\xa0"
                "b"),
        /* CR LF and a lone CR become LF. */
        CLEANED("a\r\nb", 0, "a\nb"),
        CLEANED("a\rb", 0, "a\nb"),
        CLEANED("a\r", 0, "a\n"),
        CLEANED("\r\n\r\n", 0, "\n\n"),
        CLEANED("\r\r\n", 0, "\n\n"),
        CLEANED("\n\r", 0, "\n\n"),
        CLEANED("a\r\x01\nb", 0, "a\n\nb"),
        /* Invalid bytes become U+FFFD. */
        CLEANED("\xff", 0, "\xef\xbf\xbd"),
        CLEANED("caf\xe9!", 0, "caf\xef\xbf\xbd!"),
        CLEANED("\xc0\xaf", 0, "\xef\xbf\xbd\xef\xbf\xbd"), /* overlong: no '/' sneaks in */
        CLEANED("a\x80z", 0, "a\xef\xbf\xbdz"),
        /* Noncharacters are dropped... */
        CLEANED("a\xef\xbf\xbe"
                "b\xef\xbf\xbf"
                "c",
                0, "abc"),
        /* ...U+FFFD and U+FFFC stay. */
        CLEANED("\xef\xbf\xbc\xef\xbf\xbd", 0, "\xef\xbf\xbc\xef\xbf\xbd"),
        /* The limit. */
        CLEANED("abcdef", 3, "abc"),
        CLEANED("abc", 3, "abc"),
        CLEANED("abc", 100, "abc"),
        /* "é" is 2 bytes, "€" 3, "😀" 4: never cut inside one. */
        CLEANED("a\xc3\xa9", 2, "a"),
        CLEANED("a\xc3\xa9", 3, "a\xc3\xa9"),
        CLEANED("\xe2\x82\xac\xe2\x82\xac", 5, "\xe2\x82\xac"),
        CLEANED("\xf0\x9f\x98\x80", 3, ""),
        CLEANED("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"),
        /* A replacement character counts its 3 bytes. */
        CLEANED("ab\xff", 4, "ab"),
        CLEANED("ab\xff", 5, "ab\xef\xbf\xbd"),
        /* Dropped characters take no room. */
        CLEANED("\x01\x02\x03"
                "abc",
                3, "abc"),
        /* CR LF counts as the one LF it becomes. */
        CLEANED("a\r\nb", 3, "a\nb"),
};

START_TEST(clean)
{
	const struct cleaning *c = &cleanings[_i];

	clean_eq(c->in, c->n, c->max, c->want);
}
END_TEST

START_TEST(clean_invalid_bytes)
{
	/* A truncated or surrogate sequence becomes U+FFFD and nothing of it survives. */
	static const char *const bad[] = {"\xe2\x82z", "\xed\xa0\x80z", "\xf4\x90\x80\x80z",
	                                  "\xf0\x9f\x98z", "\xc3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *s = xmltext_clean(bad[i], strlen(bad[i]), 0);

		ck_assert(utf8_valid(s, strlen(s)));
		ck_assert_msg(strncmp(s, "\xef\xbf\xbd", 3) == 0, "case %zu", i);
		for (const char *p = s; *p; p += 3)
			if (strncmp(p, "\xef\xbf\xbd", 3) != 0) {
				ck_assert_str_eq(p, "z");
				break;
			}
		free(s);
	}
}
END_TEST

START_TEST(clean_max)
{
	/* For every limit, the result is a prefix of the uncut text and fits. */
	static const char text[] = "x\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff\r\ny";
	char *full = xmltext_clean(text, sizeof(text) - 1, 0);

	for (size_t max = 1; max <= strlen(full) + 2; max++) {
		char *s = xmltext_clean(text, sizeof(text) - 1, max);

		ck_assert_uint_le(strlen(s), max);
		ck_assert(strncmp(full, s, strlen(s)) == 0);
		ck_assert(utf8_valid(s, strlen(s)));
		free(s);
	}
	free(full);
}
END_TEST

START_TEST(clean_idempotent)
{
	static const char *const inputs[] = {
	        "plain",        "a\r\nb\rc",         "\xff\xfe\xc0\xaf", "\x01\x7f\xc2\x9b",
	        "\xed\xa0\x80", "tab\t\xef\xbf\xbe", "\xe2\x82",         "Grüße",
	};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		char *a = xmltext_clean(inputs[i], strlen(inputs[i]), 0);
		char *b = xmltext_clean(a, strlen(a), 0);

		ck_assert_str_eq(a, b);
		free(a);
		free(b);
	}
}
END_TEST

START_TEST(prefix)
{
	ck_assert_uint_eq(utf8_prefix("", 0), 0);
	ck_assert_uint_eq(utf8_prefix("", 5), 0);
	ck_assert_uint_eq(utf8_prefix("abc", 5), 3);
	ck_assert_uint_eq(utf8_prefix("abc", 3), 3);
	ck_assert_uint_eq(utf8_prefix("abc", 2), 2);
	ck_assert_uint_eq(utf8_prefix("abc", 0), 0);
	/* "aé€😀" = 1 + 2 + 3 + 4 bytes. */
	static const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	static const size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10};

	for (size_t max = 0; max < sizeof(want) / sizeof(want[0]); max++)
		ck_assert_msg(utf8_prefix(s, max) == want[max], "max %zu: %zu, want %zu", max,
		              utf8_prefix(s, max), want[max]);
}
END_TEST

static Suite *
xmltext_suite(void)
{
	Suite *s = suite_create("xmltext");
	TCase *tv = unit_tcase(s, "utf8_valid");
	TCase *tc = unit_tcase(s, "clean");

	unit_tests(tv, valid_sequences, overlongs, surrogates, above_max, truncated);
	tcase_add_loop_test(tc, clean, 0, UNIT_ROWS(cleanings));
	unit_tests(tc, clean_invalid_bytes, clean_max, clean_idempotent, prefix);
	return s;
}

int
main(void)
{
	log_init(1, 0, "test_xmltext");
	return unit_run(xmltext_suite());
}
