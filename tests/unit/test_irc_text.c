/*
 * Unit tests: IRC -> XMPP text (charsets, formatting, XML safety) and CTCP.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "irctext.h"
#include "ircutf8.h"
#include "unit.h"

/* The output contract: valid UTF-8, only characters XML 1.0 allows. */
static void
assert_xml_safe(const char *s)
{
	size_t n = strlen(s), k;
	uint32_t cp;

	ck_assert(ircutf8_valid(s, n));
	while (n > 0) {
		k = ircutf8_decode(s, n, &cp);
		ck_assert(irctext_xml_char_ok(cp));
		s += k;
		n -= k;
	}
}

static char *
conv(const char *in, const char *fallback, unsigned flags)
{
	char *s = irctext_to_xmpp(in, strlen(in), fallback, flags);

	assert_xml_safe(s);
	return s;
}

#define CONV_EQ(in, fb, flags, want)                                                               \
	do {                                                                                       \
		char *s_ = conv(in, fb, flags);                                                    \
		ck_assert_str_eq(s_, want);                                                        \
		free(s_);                                                                          \
	} while (0)

START_TEST(utf8_kept)
{
	CONV_EQ("plain ascii", NULL, 0, "plain ascii");
	CONV_EQ("Grüße 日本 😀", NULL, 0, "Grüße 日本 😀");
}
END_TEST

START_TEST(fallback_charsets)
{
	/* cp1252 by default: 0x80 is the euro sign, 0xe9 é. */
	CONV_EQ("caf\xe9 \x80", NULL, 0, "café €");
	/* latin-1 explicitly: 0x80 is a C1 control, dropped. */
	CONV_EQ("caf\xe9 \x80", "ISO-8859-1", 0, "café ");
	CONV_EQ("caf\xe9", "latin1", 0, "café");
	/* Bytes cp1252 leaves undefined become U+FFFD. */
	CONV_EQ("a\x81z\xe9", NULL, 0, "a\xef\xbf\xbdzé");
	/* KOI8-R. */
	CONV_EQ("\xf0\xd2\xc9\xd7\xc5\xd4", "KOI8-R", 0, "Привет");
	/* An unknown charset name: latin-1, never a failure. */
	CONV_EQ("\xe9t\xe9", "no-such-charset", 0, "été");
	/* One bad byte in otherwise UTF-8 text: the whole line is re-decoded. */
	CONV_EQ("\xc3\xa9\xe9", NULL, 0, "Ã©é");
}
END_TEST

START_TEST(invalid_utf8_forms)
{
	char *s;
	size_t n;

	/* Overlong '/', surrogate, beyond U+10FFFF, truncated: none pass as UTF-8. */
	ck_assert(!ircutf8_valid("\xc0\xaf", 2));
	ck_assert(!ircutf8_valid("\xe0\x80\xaf", 3));
	ck_assert(!ircutf8_valid("\xf0\x80\x80\xaf", 4));
	ck_assert(!ircutf8_valid("\xed\xa0\x80", 3));
	ck_assert(!ircutf8_valid("\xf4\x90\x80\x80", 4));
	ck_assert(!ircutf8_valid("\xe2\x82", 2));
	ck_assert(ircutf8_valid("\xf4\x8f\xbf\xbf", 4));

	s = irctext_decode("\xed\xa0\x80", 3, "UTF-8", &n);
	ck_assert(ircutf8_valid(s, n));
	free(s);
	CONV_EQ("\xed\xa0\x80x", "UTF-8", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx");
}
END_TEST

START_TEST(formatting_stripped)
{
	CONV_EQ("\x02"
	        "bold\x02 \x1ditalic\x1d \x1funder\x1f \x16rev\x16 \x1estrike\x1e "
	        "\x11mono\x11\x0f",
	        NULL, 0, "bold italic under rev strike mono");
	/* Colours: up to two digits each, comma only with a digit after it. */
	CONV_EQ("\x03"
	        "4red\x03 \x03"
	        "04,12x\x03 \x03"
	        "123 \x03,5y \x03"
	        "5,z",
	        NULL, 0, "red x 3 ,5y ,z");
	/* Hex colours: six hex digits, optional ",RRGGBB". */
	CONV_EQ("\x04"
	        "FF0000red\x04 \x04"
	        "00ff00,0000FFx \x04"
	        "12y",
	        NULL, 0, "red x 12y");
	/* Colour at the very end of the text. */
	CONV_EQ("end\x03", NULL, 0, "end");
	CONV_EQ("end\x03"
	        "1",
	        NULL, 0, "end");
	CONV_EQ("end\x04"
	        "abc",
	        NULL, 0, "endabc");
}
END_TEST

START_TEST(xml_forbidden)
{
	CONV_EQ("a\x01"
	        "b\x07"
	        "c\x1b[31md\x7f"
	        "e\tf\r",
	        NULL, 0, "abc[31mde\tf");
	/* U+FFFE, U+FFFF and C1 controls written as UTF-8. */
	CONV_EQ("x\xef\xbf\xbey\xef\xbf\xbfz\xc2\x85w", NULL, 0, "xyzw");
	/* Non-characters XML allows (U+FDD0) and astral ones are kept. */
	CONV_EQ("\xef\xb7\x90\xf0\x9f\x98\x80", NULL, 0, "\xef\xb7\x90\xf0\x9f\x98\x80");

	ck_assert(!irctext_xml_char_ok(0));
	ck_assert(!irctext_xml_char_ok('\r'));
	ck_assert(irctext_xml_char_ok('\n'));
	ck_assert(!irctext_xml_char_ok(0xd800));
	ck_assert(!irctext_xml_char_ok(0x110000));
	ck_assert(irctext_xml_char_ok(0x10ffff));
}
END_TEST

START_TEST(nul_in_input)
{
	char *s = irctext_to_xmpp("a\0b", 3, NULL, 0);

	ck_assert_str_eq(s, "ab");
	free(s);
}
END_TEST

START_TEST(styling)
{
	CONV_EQ("say \x02hello\x02 now", NULL, IRCTEXT_STYLING, "say *hello* now");
	CONV_EQ("\x1dit\x1d \x1estrike\x1e \x11"
	        "code\x11",
	        NULL, IRCTEXT_STYLING, "_it_ ~strike~ `code`");
	/* Whitespace moves outside the markers. */
	CONV_EQ("a\x02 b \x02"
	        "c",
	        NULL, IRCTEXT_STYLING, "a *b* c");
	/* Bold and italic together. */
	CONV_EQ("\x02\x1d"
	        "both\x0f",
	        NULL, IRCTEXT_STYLING, "*_both_*");
	/* Unclosed at the end of the line still closes. */
	CONV_EQ("x \x02"
	        "bold",
	        NULL, IRCTEXT_STYLING, "x *bold*");
	/* Inside a word, or holding a marker character, or empty: no markup. */
	CONV_EQ("in\x02side\x02", NULL, IRCTEXT_STYLING, "inside");
	CONV_EQ("\x02"
	        "a*b\x02",
	        NULL, IRCTEXT_STYLING, "a*b");
	CONV_EQ("\x02\x02 \x02 \x02", NULL, IRCTEXT_STYLING, "  ");
	/* Underline and colours have no XEP-0393 form: dropped. */
	CONV_EQ("\x1fu\x1f \x03"
	        "4c",
	        NULL, IRCTEXT_STYLING, "u c");
}
END_TEST

START_TEST(ctcp_parse)
{
	struct irctext_ctcp c;
	const char *t;

	t = "\001ACTION waves\001";
	ck_assert_int_eq(irctext_ctcp_parse(t, strlen(t), &c), IRCTEXT_CTCP_ACTION);
	ck_assert_uint_eq(c.args_len, 5);
	ck_assert_int_eq(strncmp(c.args, "waves", 5), 0);

	t = "\001action waves";
	ck_assert_int_eq(irctext_ctcp_parse(t, strlen(t), &c), IRCTEXT_CTCP_ACTION);
	ck_assert_uint_eq(c.args_len, 5);

	t = "\001VERSION\001";
	ck_assert_int_eq(irctext_ctcp_parse(t, strlen(t), &c), IRCTEXT_CTCP_VERSION);
	ck_assert_uint_eq(c.args_len, 0);

	t = "\001PING 12345\001";
	ck_assert_int_eq(irctext_ctcp_parse(t, strlen(t), &c), IRCTEXT_CTCP_PING);
	ck_assert_int_eq(strncmp(c.args, "12345", c.args_len), 0);

	t = "\001TIME\001";
	ck_assert_int_eq(irctext_ctcp_parse(t, strlen(t), &c), IRCTEXT_CTCP_TIME);

	t = "\001DCC SEND x 1 2 3\001";
	ck_assert_int_eq(irctext_ctcp_parse(t, strlen(t), &c), IRCTEXT_CTCP_OTHER);
	ck_assert_uint_eq(c.cmd_len, 3);

	t = "\001ACTIONS x\001";
	ck_assert_int_eq(irctext_ctcp_parse(t, strlen(t), &c), IRCTEXT_CTCP_OTHER);

	ck_assert_int_eq(irctext_ctcp_parse("hello", 5, &c), IRCTEXT_CTCP_NONE);
	ck_assert_int_eq(irctext_ctcp_parse("\001", 1, &c), IRCTEXT_CTCP_NONE);
	ck_assert_int_eq(irctext_ctcp_parse("\001\001", 2, &c), IRCTEXT_CTCP_NONE);
	ck_assert_int_eq(irctext_ctcp_parse("\001 x\001", 4, &c), IRCTEXT_CTCP_NONE);
	ck_assert_int_eq(irctext_ctcp_parse("\001A\tB\001", 5, &c), IRCTEXT_CTCP_NONE);
}
END_TEST

START_TEST(ctcp_build)
{
	char *s;

	s = irctext_ctcp_build("VERSION", "stanzagate 0.1");
	ck_assert_str_eq(s, "\001VERSION stanzagate 0.1\001");
	free(s);
	s = irctext_ctcp_build("PING", NULL);
	ck_assert_str_eq(s, "\001PING\001");
	free(s);
	s = irctext_ctcp_build("PING", "1\001\r\n2");
	ck_assert_str_eq(s, "\001PING 12\001");
	free(s);
	ck_assert_ptr_null(irctext_ctcp_build("", "x"));
	ck_assert_ptr_null(irctext_ctcp_build("A B", "x"));
	ck_assert_ptr_null(irctext_ctcp_build("A\001", "x"));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("irctext");
	TCase *tc = unit_tcase(s, "core");

	unit_tests(tc, utf8_kept, fallback_charsets, invalid_utf8_forms, formatting_stripped,
	           xml_forbidden, nul_in_input, styling, ctcp_parse, ctcp_build);
	return s;
}

int
main(void)
{
	return unit_run(suite());
}
