/* Receipt aggregation: one outcome per multipart message, reused references. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "smsreceipt.h"
#include "unit.h"

#define DAY (24 * 3600)

static struct smsreceipt *r;
static struct smsreceipt_outcome o; /* the last report's */

static void
setup(void)
{
	r = smsreceipt_new(7 * DAY);
	memset(&o, 0, sizeof(o));
}

static void
teardown(void)
{
	smsreceipt_free(r);
}

/* A status report for part REF on LINE that decides nothing yet. */
static void
no_outcome(const char *line, int ref, enum smsreceipt_state state, const char *why)
{
	ck_assert_int_eq(smsreceipt_report(r, line, ref, state, why, &o), 0);
}

/* A status report for part REF on LINE that decides message ID (the outcome in o). */
static void
decides(const char *line, int ref, enum smsreceipt_state state, const char *why, unsigned id)
{
	ck_assert_int_eq(smsreceipt_report(r, line, ref, state, why, &o), 1);
	ck_assert_uint_eq(o.id, id);
}

START_TEST(all_parts_delivered)
{
	int refs[] = {10, 11, 12};

	smsreceipt_track(r, "office", 42, refs, 3, 1000);
	no_outcome("office", 12, SMSRECEIPT_DELIVERED, NULL);
	no_outcome("office", 10, SMSRECEIPT_DELIVERED, NULL);
	/* a repeated report changes nothing */
	no_outcome("office", 10, SMSRECEIPT_DELIVERED, NULL);
	/* the same reference on another line is another modem's */
	no_outcome("shop", 11, SMSRECEIPT_DELIVERED, NULL);
	no_outcome("office", 11, SMSRECEIPT_PENDING, "busy");
	decides("office", 11, SMSRECEIPT_DELIVERED, NULL, 42);
	ck_assert_int_eq(o.state, SMSRECEIPT_DELIVERED);
	ck_assert_ptr_null(o.why);
	/* exactly once */
	no_outcome("office", 11, SMSRECEIPT_DELIVERED, NULL);
	ck_assert_uint_eq(smsreceipt_pending(r), 0);
}
END_TEST

START_TEST(first_failure_decides)
{
	int refs[] = {20, 21, 22};

	smsreceipt_track(r, "office", 7, refs, 3, 1000);
	no_outcome("office", 20, SMSRECEIPT_DELIVERED, NULL);
	decides("office", 21, SMSRECEIPT_FAILED, "the number cannot be reached", 7);
	ck_assert_int_eq(o.state, SMSRECEIPT_FAILED);
	ck_assert_str_eq(o.why, "part 2 of 3 was not delivered: the number cannot be reached");
	free(o.why);
	/* later reports of the other parts produce nothing more */
	no_outcome("office", 22, SMSRECEIPT_DELIVERED, NULL);
	no_outcome("office", 22, SMSRECEIPT_FAILED, NULL);
}
END_TEST

/* A restart tracks again, with the parts already delivered: the rest decides. */
START_TEST(restored_states_and_changes)
{
	int refs[] = {30, 31, 32};
	enum smsreceipt_state st[] = {SMSRECEIPT_PENDING, SMSRECEIPT_DELIVERED, SMSRECEIPT_PENDING};

	smsreceipt_track_states(r, "office", 9, refs, st, 3, 1000);
	/* the delivered part's report again changes nothing */
	no_outcome("office", 31, SMSRECEIPT_DELIVERED, NULL);
	ck_assert_int_eq(o.changed, 0);
	no_outcome("office", 32, SMSRECEIPT_DELIVERED, NULL);
	ck_assert_int_eq(o.changed, 1);
	ck_assert_uint_eq(o.id, 9);
	ck_assert_uint_eq(o.part, 2);
	decides("office", 30, SMSRECEIPT_DELIVERED, NULL, 9);
	ck_assert_int_eq(o.state, SMSRECEIPT_DELIVERED);
	ck_assert_uint_eq(smsreceipt_pending(r), 0);
}
END_TEST

START_TEST(single_part)
{
	int ref = 99;

	smsreceipt_track(r, "l", 1, &ref, 1, 0);
	decides("l", 99, SMSRECEIPT_FAILED, NULL, 1);
	ck_assert_str_eq(o.why, "the network gave no reason");
	free(o.why);
	smsreceipt_track(r, "l", 2, &ref, 1, 0);
	decides("l", 99, SMSRECEIPT_DELIVERED, NULL, 2);
}
END_TEST

START_TEST(reused_reference)
{
	int old_refs[] = {254, 255}, new_refs[] = {255, 0};

	/* message 1 never hears about part 2; 256 parts later ref 255 is used again */
	smsreceipt_track(r, "l", 1, old_refs, 2, 1000);
	no_outcome("l", 254, SMSRECEIPT_DELIVERED, NULL);
	smsreceipt_track(r, "l", 2, new_refs, 2, 5000);
	/* the report for 255 goes to the most recent unfinished use: message 2 */
	no_outcome("l", 255, SMSRECEIPT_DELIVERED, NULL);
	decides("l", 0, SMSRECEIPT_DELIVERED, NULL, 2);
	/* message 2 is finished: now 255 can only mean message 1 */
	decides("l", 255, SMSRECEIPT_DELIVERED, NULL, 1);
}
END_TEST

START_TEST(reports_go_to_newest_even_if_tracked_late)
{
	/* After a restart the driver re-tracks stored messages in any order. */
	int ref = 5;

	smsreceipt_track(r, "l", 2, &ref, 1, 5000);
	smsreceipt_track(r, "l", 1, &ref, 1, 1000);
	decides("l", 5, SMSRECEIPT_DELIVERED, NULL, 2);
}
END_TEST

START_TEST(expiry)
{
	int a = 1, b = 2;

	/* Kept two days here, not the fixture's seven. */
	smsreceipt_free(r);
	r = smsreceipt_new(2 * DAY);
	smsreceipt_track(r, "l", 1, &a, 1, 0);
	smsreceipt_track(r, "l", 2, &b, 1, DAY);
	ck_assert_uint_eq(smsreceipt_expire(r, 2 * DAY), 0);
	ck_assert_uint_eq(smsreceipt_expire(r, 2 * DAY + 1), 1);
	ck_assert_uint_eq(smsreceipt_pending(r), 1);
	no_outcome("l", 1, SMSRECEIPT_DELIVERED, NULL);
	ck_assert_int_eq(smsreceipt_forget(r, 2), 1);
	ck_assert_int_eq(smsreceipt_forget(r, 2), 0);
	no_outcome("l", 2, SMSRECEIPT_DELIVERED, NULL);
}
END_TEST

START_TEST(tp_status)
{
	const char *why;

	ck_assert_int_eq(smsreceipt_tp_status(0x00, &why), SMSRECEIPT_DELIVERED);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(smsreceipt_tp_status(0x02, &why), SMSRECEIPT_DELIVERED);
	ck_assert_int_eq(smsreceipt_tp_status(0x21, &why), SMSRECEIPT_PENDING);
	ck_assert_str_eq(why, "the phone is busy, still trying");
	ck_assert_int_eq(smsreceipt_tp_status(0x30, &why), SMSRECEIPT_PENDING);
	ck_assert_int_eq(smsreceipt_tp_status(0x46, &why), SMSRECEIPT_FAILED);
	ck_assert_str_eq(why, "the message expired before it could be delivered");
	ck_assert_int_eq(smsreceipt_tp_status(0x62, &why), SMSRECEIPT_FAILED);
	ck_assert_int_eq(smsreceipt_tp_status(0x70, &why), SMSRECEIPT_FAILED);
	ck_assert_int_eq(smsreceipt_tp_status(0x5A, &why), SMSRECEIPT_FAILED);
	ck_assert_str_eq(why, "permanent error");
	ck_assert_int_eq(smsreceipt_tp_status(0xFF, &why), SMSRECEIPT_FAILED);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sms_receipt");
	TCase *tc = unit_tcase(s, "core");

	tcase_add_checked_fixture(tc, setup, teardown);
	unit_tests(tc, all_parts_delivered, first_failure_decides, restored_states_and_changes,
	           single_part, reused_reference, reports_go_to_newest_even_if_tracked_late, expiry,
	           tp_status);
	return unit_run(s);
}
