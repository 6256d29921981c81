/* Reassembly of concatenated SMS: order, interleaving, duplicates, timeouts, bounds. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "smsparts.h"
#include "smstext.h"
#include "unit.h"

static struct smsparts *p;

static void
setup(void)
{
	p = smsparts_new(8, 60);
}

static void
teardown(void)
{
	smsparts_free(p); /* frees what still waits */
}

/* A reassembler holding at most GROUPS messages at a time instead of the fixture's 8. */
static void
hold_at_most(size_t groups)
{
	smsparts_free(p);
	p = smsparts_new(groups, 60);
}

static enum smsparts_result
add(const char *line, const char *sender, unsigned ref, unsigned total, unsigned seq,
    const char *text, time_t now)
{
	struct smsparts_in in = {0};
	size_t n;
	unsigned char *u = smstext_to_ucs2be(text, strlen(text), &n);
	enum smsparts_result r;

	in.line = line;
	in.sender = sender;
	in.ref = ref;
	in.total = total;
	in.seq = seq;
	in.text = u;
	in.nunits = n;
	in.stamp = 1000 + seq;
	in.token = (uint64_t)ref * 1000 + seq;
	r = smsparts_add(p, &in, now);
	free(u);
	return r;
}

/* Part SEQ of TOTAL of message REF from SENDER on LINE arrives at NOW: reassembly waits for
 * more, has a message ready, or knows the part already. */
#define ARRIVES(want, ...) ck_assert_int_eq(add(__VA_ARGS__), (want))

static void
expect(const char *sender, const char *text, unsigned missing)
{
	struct smsparts_msg *m = smsparts_next(p);

	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->sender, sender);
	ck_assert_str_eq(m->text, text);
	ck_assert_uint_eq(m->missing, missing);
	smsparts_msg_free(m);
}

START_TEST(single_sms)
{
	struct smsparts_msg *m;

	ARRIVES(SMSPARTS_READY, "office", "+15550001", 0, 1, 1, "hello", 0);
	m = smsparts_next(p);
	ck_assert_str_eq(m->text, "hello");
	ck_assert_str_eq(m->line, "office");
	ck_assert_uint_eq(m->ntokens, 1);
	ck_assert_uint_eq(m->total, 1);
	smsparts_msg_free(m);
	ck_assert_ptr_null(smsparts_next(p));
	/* total 0 (no UDH) and an impossible sequence number are delivered alone too */
	ARRIVES(SMSPARTS_READY, "office", "+15550001", 0, 0, 0, "no udh", 0);
	ARRIVES(SMSPARTS_READY, "office", "+15550001", 9, 3, 7, "odd", 0);
	expect("+15550001", "no udh", 0);
	expect("+15550001", "odd", 0);
}
END_TEST

START_TEST(out_of_order_and_interleaved)
{
	struct smsparts_msg *m;

	ARRIVES(SMSPARTS_WAITING, "office", "+1555A", 7, 3, 3, "three", 0);
	ARRIVES(SMSPARTS_WAITING, "office", "+1555B", 7, 2, 2, "b-two", 1);
	ARRIVES(SMSPARTS_WAITING, "shop", "+1555A", 7, 3, 1, "other line ", 1);
	ARRIVES(SMSPARTS_WAITING, "office", "+1555A", 7, 3, 1, "one ", 2);
	ARRIVES(SMSPARTS_WAITING, "office", "+1555A", 8, 3, 2, "other ref ", 2);
	ck_assert_uint_eq(smsparts_pending(p), 4);
	ARRIVES(SMSPARTS_READY, "office", "+1555A", 7, 3, 2, "two ", 3);
	m = smsparts_next(p);
	ck_assert_str_eq(m->text, "one two three");
	ck_assert_str_eq(m->line, "office");
	ck_assert_uint_eq(m->ntokens, 3);
	ck_assert_int_eq(m->stamp, 1001); /* the earliest part's */
	smsparts_msg_free(m);
	ARRIVES(SMSPARTS_READY, "office", "+1555B", 7, 2, 1, "b-one ", 4);
	expect("+1555B", "b-one b-two", 0);
	ck_assert_uint_eq(smsparts_pending(p), 2);
}
END_TEST

START_TEST(duplicates)
{
	ARRIVES(SMSPARTS_WAITING, "l", "+1", 1, 2, 1, "first ", 0);
	ARRIVES(SMSPARTS_DUPLICATE, "l", "+1", 1, 2, 1, "first ", 1);
	ARRIVES(SMSPARTS_READY, "l", "+1", 1, 2, 2, "second", 2);
	/* a late copy after delivery is recognised too */
	ARRIVES(SMSPARTS_DUPLICATE, "l", "+1", 1, 2, 2, "second", 3);
	expect("+1", "first second", 0);
	ck_assert_ptr_null(smsparts_next(p));
	ck_assert_uint_eq(smsparts_pending(p), 0);
	/* the same reference much later is a new message */
	ARRIVES(SMSPARTS_WAITING, "l", "+1", 1, 2, 1, "new ", 500);
	ARRIVES(SMSPARTS_READY, "l", "+1", 1, 2, 2, "text", 501);
	expect("+1", "new text", 0);
}
END_TEST

START_TEST(reused_reference_new_text)
{
	/* completed, then the same reference with new text soon after: not a copy */
	ARRIVES(SMSPARTS_WAITING, "l", "+1", 4, 2, 1, "old ", 0);
	ARRIVES(SMSPARTS_READY, "l", "+1", 4, 2, 2, "one", 1);
	expect("+1", "old one", 0);
	ARRIVES(SMSPARTS_WAITING, "l", "+1", 4, 2, 2, "two", 2);
	ARRIVES(SMSPARTS_READY, "l", "+1", 4, 2, 1, "new ", 3);
	expect("+1", "new two", 0);
	/* while waiting: the old group goes out as it is, the new part starts a new one */
	ARRIVES(SMSPARTS_WAITING, "l", "+2", 9, 3, 1, "first ", 10);
	ARRIVES(SMSPARTS_WAITING, "l", "+2", 9, 3, 1, "other ", 11);
	expect("+2", "first […parts 2–3 of 3 missing…]", 2);
	ck_assert_uint_eq(smsparts_pending(p), 1);
	ARRIVES(SMSPARTS_WAITING, "l", "+2", 9, 3, 2, "second ", 12);
	ARRIVES(SMSPARTS_READY, "l", "+2", 9, 3, 3, "third", 13);
	expect("+2", "other second third", 0);
}
END_TEST

START_TEST(timeout_marks_missing)
{
	struct smsparts_msg *m;

	ARRIVES(SMSPARTS_WAITING, "l", "+1", 5, 3, 1, "one ", 100);
	ARRIVES(SMSPARTS_WAITING, "l", "+1", 5, 3, 3, " three", 110);
	ARRIVES(SMSPARTS_WAITING, "l", "+2", 6, 5, 2, "two", 130);
	ck_assert_int_eq(smsparts_deadline(p), 160);
	ck_assert_uint_eq(smsparts_expire(p, 159), 0);
	ck_assert_ptr_null(smsparts_next(p));
	ck_assert_uint_eq(smsparts_expire(p, 160), 1);
	m = smsparts_next(p);
	ck_assert_str_eq(m->text, "one […part 2 of 3 missing…] three");
	ck_assert_uint_eq(m->missing, 1);
	ck_assert_uint_eq(m->ntokens, 2);
	smsparts_msg_free(m);
	ck_assert_int_eq(smsparts_deadline(p), 190);
	ck_assert_uint_eq(smsparts_expire(p, 200), 1);
	expect("+2", "[…part 1 of 5 missing…]two[…parts 3–5 of 5 missing…]", 4);
	ck_assert_int_eq(smsparts_deadline(p), 0);
}
END_TEST

START_TEST(bounded)
{
	hold_at_most(2);
	ARRIVES(SMSPARTS_WAITING, "l", "+1", 1, 2, 1, "a1", 0);
	ARRIVES(SMSPARTS_WAITING, "l", "+2", 1, 2, 1, "b1", 1);
	/* a third group flushes the oldest */
	ARRIVES(SMSPARTS_WAITING, "l", "+3", 1, 2, 1, "c1", 2);
	ck_assert_uint_eq(smsparts_pending(p), 2);
	expect("+1", "a1[…part 2 of 2 missing…]", 1);
	ck_assert_ptr_null(smsparts_next(p));
}
END_TEST

START_TEST(pair_split_across_parts)
{
	/* A phone that cut a surrogate pair between parts still gives one character. */
	static const unsigned char one[] = {0, 'x', 0xD8, 0x3D}, two[] = {0xDE, 0x00, 0, 'y'};
	struct smsparts_in in = {
	        .line = "l", .sender = "+1", .ref = 300, .ref16 = true, .total = 2};

	hold_at_most(4);
	in.seq = 2;
	in.text = two;
	in.nunits = 2;
	ck_assert_int_eq(smsparts_add(p, &in, 0), SMSPARTS_WAITING);
	/* the same numbers with an 8-bit reference are another message */
	in.ref16 = false;
	in.seq = 1;
	in.text = one;
	ck_assert_int_eq(smsparts_add(p, &in, 0), SMSPARTS_WAITING);
	in.ref16 = true;
	ck_assert_int_eq(smsparts_add(p, &in, 0), SMSPARTS_READY);
	expect("+1", "x😀y", 0);
}
END_TEST

START_TEST(hostile_text)
{
	/* Controls and lone surrogates never survive; oversized parts are cut. */
	unsigned char big[2 * 400];
	struct smsparts_in in = {.line = "l", .sender = "+1", .total = 1, .seq = 1};
	struct smsparts_msg *m;
	size_t i;

	hold_at_most(4);
	for (i = 0; i < 400; i++) {
		big[2 * i] = 0;
		big[2 * i + 1] = i % 2 ? 'a' : 0x01;
	}
	in.text = big;
	in.nunits = 400;
	ck_assert_int_eq(smsparts_add(p, &in, 0), SMSPARTS_READY);
	m = smsparts_next(p);
	ck_assert_uint_eq(strlen(m->text), SMSPARTS_MAX_UNITS / 2);
	ck_assert(smstext_utf8_valid(m->text, strlen(m->text)));
	smsparts_msg_free(m);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sms_parts");
	TCase *tc = unit_tcase(s, "core");

	tcase_add_checked_fixture(tc, setup, teardown);
	unit_tests(tc, single_sms, out_of_order_and_interleaved, duplicates,
	           reused_reference_new_text, timeout_marks_missing, bounded,
	           pair_split_across_parts, hostile_text);
	return unit_run(s);
}
