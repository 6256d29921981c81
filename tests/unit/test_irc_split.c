/*
 * Unit tests: splitting outgoing text under the IRC line limit.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "ircmsg.h"
#include "ircsplit.h"
#include "ircutf8.h"
#include "unit.h"

/* Every part: non-empty, within room, valid UTF-8, no CR/LF/NUL/\x01 inside. */
static void
check_parts(char **v, size_t n, size_t room, unsigned flags)
{
	size_t i, len;
	const char *t;

	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_null(v[n]);
	for (i = 0; i < n; i++) {
		len = strlen(v[i]);
		ck_assert_uint_gt(len, 0);
		ck_assert_uint_le(len, room);
		ck_assert(ircutf8_valid(v[i], len));
		ck_assert_ptr_null(strpbrk(v[i], "\r\n"));
		t = v[i];
		if (flags & IRCSPLIT_ACTION) {
			ck_assert_int_eq(strncmp(t, "\001ACTION ", 8), 0);
			ck_assert_int_eq(t[len - 1], '\001');
			ck_assert_uint_gt(len, 9);
			ck_assert_ptr_null(memchr(t + 8, '\001', len - 9));
		} else
			ck_assert_ptr_null(strchr(t, '\001'));
	}
}

START_TEST(room_arithmetic)
{
	size_t src = ircsplit_source_len("nick", "~user", "host.example");

	ck_assert_uint_eq(src, strlen("nick!~user@host.example"));
	ck_assert_uint_eq(ircsplit_source_len("n", NULL, NULL), 1 + 1 + 10 + 1 + 63);
	/* ":nick!~user@host.example PRIVMSG #chan :" + CRLF */
	ck_assert_uint_eq(ircsplit_room("PRIVMSG", "#chan", src, 0),
	                  512 - strlen(":nick!~user@host.example PRIVMSG #chan :\r\n"));
	ck_assert_uint_eq(ircsplit_room("PRIVMSG", "#chan", 600, 0), 0);
	ck_assert_uint_gt(ircsplit_room("PRIVMSG", "#chan", 600, 1024), 0);
}
END_TEST

/* A text split for a given room, and the parts it goes out as (none: nothing is sent). */
static const struct split {
	const char *text;
	size_t room;
	const char *parts[5]; /* NULL-ended */
} splits[] = {
        /* Each line a part, blank lines dropped. */
        {"one\r\ntwo\n\n   \n\t\nthree\rfour\n", 400, {"one", "two", "three", "four"}},
        {"\n \n\r\n", 400, {NULL}},
        {"", 400, {NULL}},
        /* Leading spaces of a line (code, poetry) are kept. */
        {"  indented", 400, {"  indented"}},
        /* A long line is cut at a space... */
        {"aaaa bbbb cccc", 10, {"aaaa bbbb ", "cccc"}},
        /* ...but with no space in the second half of the room, inside the word. */
        {"a bcdefghijklmnop", 10, {"a bcdefghi", "jklmnop"}},
        /* Invalid and overlong sequences become U+FFFD; \x01 is dropped. */
        {"a\xc0\xaf"
         "b\xff"
         "c\x01VERSION\x01 \xed\xa0\x80",
         400,
         {"a\xef\xbf\xbd\xef\xbf\xbd"
          "b\xef\xbf\xbd"
          "cVERSION "
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}},
        /* An injection attempt becomes two harmless messages. */
        {"hi\r\nQUIT :bye", 400, {"hi", "QUIT :bye"}},
};

START_TEST(split_text)
{
	const struct split *want = &splits[_i];
	size_t n, i;
	char **v = ircsplit(want->text, want->room, 0, &n);

	check_parts(v, n, want->room, 0);
	for (i = 0; want->parts[i] != NULL; i++) {
		ck_assert_uint_lt(i, n);
		ck_assert_str_eq(v[i], want->parts[i]);
	}
	ck_assert_uint_eq(n, i);
	ircsplit_free(v);
}
END_TEST

START_TEST(cut_utf8)
{
	size_t n, i;
	char **v;
	/* "é" is 2 bytes, "€" 3, "😀" 4: no cut may fall inside one. */
	const char *s = "éééééééééé€€€€€€😀😀😀😀😀";
	size_t room;

	for (room = 4; room < 40; room++) {
		char joined[200] = "";
		v = ircsplit(s, room, 0, &n);
		check_parts(v, n, room, 0);
		for (i = 0; i < n; i++)
			strcat(joined, v[i]);
		ck_assert_str_eq(joined, s);
		ircsplit_free(v);
	}
	ck_assert_ptr_null(ircsplit(s, 3, 0, &n));
	ck_assert_ptr_null(ircsplit(s, 12, IRCSPLIT_ACTION, &n));
}
END_TEST

START_TEST(action_framing)
{
	size_t n, i, room = 30;
	char **v =
	        ircsplit("waves at everyone in the channel, twice over", room, IRCSPLIT_ACTION, &n);
	char joined[200] = "";

	check_parts(v, n, room, IRCSPLIT_ACTION);
	ck_assert_uint_ge(n, 2);
	for (i = 0; i < n; i++)
		strncat(joined, v[i] + 8, strlen(v[i]) - 9);
	ck_assert_str_eq(joined, "waves at everyone in the channel, twice over");
	ircsplit_free(v);
}
END_TEST

/*
 * The case: a 2 000-character body (multi-byte, several lines) goes
 * out as lines the server relays within 512 bytes, and the parts put back
 * together give the body minus its line breaks and blank lines.
 */
START_TEST(long_body_roundtrip)
{
	const char *words[] = {"Grüße", "from",   "the",      "gateway,", "ça", "marche",
	                       "—",     "日本語", "テキスト", "😀",        "ok"};
	char body[12000], expect[12000], joined[12000];
	size_t chars = 0, o = 0, e = 0, i, n, k, room, src;
	char **v;
	char *line;
	struct ircmsg m;

	for (i = 0; chars < 2000; i++) {
		const char *w = words[i % 11];
		size_t wl = strlen(w);
		const char *sep = i % 97 == 96 ? "\n\n" : " ";
		memcpy(body + o, w, wl);
		o += wl;
		chars += 1 + wl / 2;
		memcpy(body + o, sep, strlen(sep));
		o += strlen(sep);
	}
	body[o] = '\0';
	/* Expected: the lines, blank ones dropped, joined with nothing. */
	for (i = 0; i < o; i++)
		if (body[i] != '\n')
			expect[e++] = body[i];
	expect[e] = '\0';

	src = ircsplit_source_len("SomeLongNickname", NULL, NULL);
	room = ircsplit_room("PRIVMSG", "#a-rather-long-channel-name", src, 0);
	v = ircsplit(body, room, 0, &n);
	check_parts(v, n, room, 0);
	ck_assert_uint_ge(n, 5);
	joined[0] = '\0';
	for (i = 0, k = 0; i < n; i++) {
		memcpy(joined + k, v[i], strlen(v[i]));
		k += strlen(v[i]);
		/* The relayed line fits 512 bytes and parses back to the part. */
		line = xasprintf(
		        ":SomeLongNickname!%s@%s PRIVMSG #a-rather-long-channel-name :%s\r\n",
		        "1234567890",
		        "123456789012345678901234567890123456789012345678901234567890123", v[i]);
		ck_assert_uint_le(strlen(line), 512);
		ck_assert_int_eq(ircmsg_parse(&m, line, strlen(line), 0), IRCMSG_OK);
		ck_assert_str_eq(m.params[1], v[i]);
		ircmsg_clear(&m);
		free(line);
	}
	joined[k] = '\0';
	ck_assert_str_eq(joined, expect);
	ircsplit_free(v);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("ircsplit");
	TCase *tc = unit_tcase(s, "core");

	tcase_add_test(tc, room_arithmetic);
	tcase_add_loop_test(tc, split_text, 0, UNIT_ROWS(splits));
	unit_tests(tc, cut_utf8, action_framing, long_body_roundtrip);
	return s;
}

int
main(void)
{
	return unit_run(suite());
}
