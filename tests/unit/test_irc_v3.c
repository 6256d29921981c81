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
#include "unit.h"

/* The connection of each test: fresh, with the default ISUPPORT. */
static struct ircd_conn conn;

static void
setup(void)
{
	memset(&conn, 0, sizeof(conn));
	ircmsg_isupport_init(&conn.isup);
}

static void
teardown(void)
{
	ircd_echo_free(&conn);
	ircd_batches_free(&conn);
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
	bool swallow;
	char *body;

	ircd_echo_expect(&conn, "#chan", "one\ntwo", 2);
	ircd_echo_expect(&conn, "#other", "elsewhere", 1);
	/* The first line of the two: not shown. */
	ck_assert_ptr_null(ircd_echo_take(&conn, "#CHAN", &swallow));
	ck_assert(swallow);
	/* Another channel's echo does not disturb the first message. */
	body = ircd_echo_take(&conn, "#other", &swallow);
	ck_assert_str_eq(body, "elsewhere");
	ck_assert(!swallow);
	free(body);
	body = ircd_echo_take(&conn, "#chan", &swallow);
	ck_assert_str_eq(body, "one\ntwo");
	free(body);
	/* Nothing waited for: shown as it is. */
	ck_assert_ptr_null(ircd_echo_take(&conn, "#chan", &swallow));
	ck_assert(!swallow);
}
END_TEST

START_TEST(echo_refused_line_stops_waiting)
{
	bool swallow;
	char *body;

	ircd_echo_expect(&conn, "#m", "refused", 1);
	ircd_echo_expect(&conn, "#m", "later", 1);
	ircd_echo_refused(&conn, "#m"); /* 404 for the first */
	body = ircd_echo_take(&conn, "#m", &swallow);
	ck_assert_str_eq(body, "later");
	free(body);
}
END_TEST

START_TEST(echo_list_is_bounded)
{
	size_t n = 0;

	for (int i = 0; i < 1000; i++)
		ircd_echo_expect(&conn, "#never", "never echoed", 1);
	for (struct ircd_echo *e = conn.echoes; e; e = e->next)
		n++;
	ck_assert_uint_le(n, 64);
	ircd_echo_free(&conn);
	ck_assert_ptr_null(conn.echoes);
}
END_TEST

START_TEST(chathistory_batch)
{
	/* As InspIRCd 3.15 sends it after 366 (recorded). */
	feed_batch(&conn, "@time=2026-12-07T16:39:49.720Z :irc.insptest BATCH +1 chathistory :#h");
	ck_assert(in_history(&conn, "@time=2026-12-07T16:39:47.000Z;msgid=0AA~1~0;batch=1 "
	                            ":bob!~bob@127.0.0.1 PRIVMSG #h :old line one"));
	ck_assert(!in_history(&conn, "@msgid=0AA~1~2 :bob!~bob@127.0.0.1 PRIVMSG #h :live"));
	ck_assert(!in_history(&conn, "@batch=2 :bob!~bob@127.0.0.1 PRIVMSG #h :other batch"));
	/* Another type of batch is not history. */
	feed_batch(&conn, ":irc BATCH +n netsplit irc.a irc.b");
	ck_assert(!in_history(&conn, "@batch=n :bob!b@h QUIT :irc.a irc.b"));
	feed_batch(&conn, "@time=2026-12-07T16:39:49.720Z :irc.insptest BATCH :-1");
	ck_assert(!in_history(&conn, "@batch=1 :bob!~bob@127.0.0.1 PRIVMSG #h :after the end"));
	/* Malformed BATCH lines change nothing. */
	feed_batch(&conn, ":irc BATCH");
	feed_batch(&conn, ":irc BATCH + chathistory #h");
	feed_batch(&conn, ":irc BATCH x chathistory #h");
	ck_assert_uint_eq(conn.nhistory_batches, 0);
	/* At most a few open at once. */
	for (int i = 0; i < 100; i++) {
		char line[64];

		snprintf(line, sizeof(line), ":irc BATCH +b%d chathistory #h", i);
		feed_batch(&conn, line);
	}
	ck_assert_uint_le(conn.nhistory_batches, 8);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("irc_v3");
	TCase *tc = unit_tcase(s, "v3");

	tcase_add_checked_fixture(tc, setup, teardown);
	unit_tests(tc, echo_last_line_reflects_whole, echo_refused_line_stops_waiting,
	           echo_list_is_bounded, chathistory_batch);
	return unit_run(s);
}
