/*
 * Unit tests: the IRCv3 bookkeeping of ircv3.c on recorded server lines —
 * which echoed line is a message's reflection (echo-message), and which
 * lines belong to a chathistory batch (InspIRCd's chanhistory replay).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ircdrv.h"

static void
conn_init(struct ircd_conn *c)
{
	memset(c, 0, sizeof(*c));
	ircmsg_isupport_init(&c->isup);
}

static void
feed_batch(struct ircd_conn *c, const char *line)
{
	struct ircmsg m;

	ck_assert_int_eq(ircmsg_parse(&m, line, strlen(line), 0), IRCMSG_OK);
	ircd_on_batch(c, &m);
	ircmsg_clear(&m);
}

static bool
in_history(struct ircd_conn *c, const char *line)
{
	struct ircmsg m;
	bool r;

	ck_assert_int_eq(ircmsg_parse(&m, line, strlen(line), 0), IRCMSG_OK);
	r = ircd_is_history(c, &m);
	ircmsg_clear(&m);
	return r;
}

START_TEST(echo_last_line_reflects_whole)
{
	struct ircd_conn c;
	bool swallow;
	char *body;

	conn_init(&c);
	ircd_echo_expect(&c, "#chan", "one\ntwo", 2);
	ircd_echo_expect(&c, "#other", "elsewhere", 1);
	/* The first line of the two: not shown. */
	ck_assert_ptr_null(ircd_echo_take(&c, "#CHAN", &swallow));
	ck_assert(swallow);
	/* Another channel's echo does not disturb the first message. */
	body = ircd_echo_take(&c, "#other", &swallow);
	ck_assert_str_eq(body, "elsewhere");
	ck_assert(!swallow);
	free(body);
	body = ircd_echo_take(&c, "#chan", &swallow);
	ck_assert_str_eq(body, "one\ntwo");
	free(body);
	/* Nothing waited for: shown as it is. */
	ck_assert_ptr_null(ircd_echo_take(&c, "#chan", &swallow));
	ck_assert(!swallow);
	ircd_echo_free(&c);
}
END_TEST

START_TEST(echo_refused_line_stops_waiting)
{
	struct ircd_conn c;
	bool swallow;
	char *body;

	conn_init(&c);
	ircd_echo_expect(&c, "#m", "refused", 1);
	ircd_echo_expect(&c, "#m", "later", 1);
	ircd_echo_refused(&c, "#m"); /* 404 for the first */
	body = ircd_echo_take(&c, "#m", &swallow);
	ck_assert_str_eq(body, "later");
	free(body);
	ircd_echo_free(&c);
}
END_TEST

START_TEST(echo_list_is_bounded)
{
	struct ircd_conn c;
	size_t n = 0;

	conn_init(&c);
	for (int i = 0; i < 1000; i++)
		ircd_echo_expect(&c, "#never", "never echoed", 1);
	for (struct ircd_echo *e = c.echoes; e; e = e->next)
		n++;
	ck_assert_uint_le(n, 64);
	ircd_echo_free(&c);
	ck_assert_ptr_null(c.echoes);
}
END_TEST

START_TEST(chathistory_batch)
{
	struct ircd_conn c;

	conn_init(&c);
	/* As InspIRCd 3.15 sends it after 366 (recorded). */
	feed_batch(&c, "@time=2026-12-07T16:39:49.720Z :irc.insptest BATCH +1 chathistory :#h");
	ck_assert(in_history(&c, "@time=2026-12-07T16:39:47.000Z;msgid=0AA~1~0;batch=1 "
	                         ":bob!~bob@127.0.0.1 PRIVMSG #h :old line one"));
	ck_assert(!in_history(&c, "@msgid=0AA~1~2 :bob!~bob@127.0.0.1 PRIVMSG #h :live"));
	ck_assert(!in_history(&c, "@batch=2 :bob!~bob@127.0.0.1 PRIVMSG #h :other batch"));
	/* Another type of batch is not history. */
	feed_batch(&c, ":irc BATCH +n netsplit irc.a irc.b");
	ck_assert(!in_history(&c, "@batch=n :bob!b@h QUIT :irc.a irc.b"));
	feed_batch(&c, "@time=2026-12-07T16:39:49.720Z :irc.insptest BATCH :-1");
	ck_assert(!in_history(&c, "@batch=1 :bob!~bob@127.0.0.1 PRIVMSG #h :after the end"));
	/* Malformed BATCH lines change nothing. */
	feed_batch(&c, ":irc BATCH");
	feed_batch(&c, ":irc BATCH + chathistory #h");
	feed_batch(&c, ":irc BATCH x chathistory #h");
	ck_assert_uint_eq(c.nhistory_batches, 0);
	/* At most a few open at once. */
	for (int i = 0; i < 100; i++) {
		char line[64];

		snprintf(line, sizeof(line), ":irc BATCH +b%d chathistory #h", i);
		feed_batch(&c, line);
	}
	ck_assert_uint_le(c.nhistory_batches, 8);
	ircd_batches_free(&c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("irc_v3");
	TCase *tc = tcase_create("v3");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, echo_last_line_reflects_whole);
	tcase_add_test(tc, echo_refused_line_stops_waiting);
	tcase_add_test(tc, echo_list_is_bounded);
	tcase_add_test(tc, chathistory_batch);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
