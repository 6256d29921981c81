/*
 * Unit tests: the send throttle, with injected time.
 */
#include <check.h>
#include <stdlib.h>

#include "ircbucket.h"
#include "unit.h"

START_TEST(burst_then_rate)
{
	struct ircbucket b;
	uint64_t t = 1000;
	int i;

	ircbucket_init(&b, 5, 1000, 0, 0);
	for (i = 0; i < 5; i++)
		ck_assert(ircbucket_try(&b, t, 100));
	ck_assert_uint_eq(ircbucket_wait(&b, t, 100), 1000);
	ck_assert(!ircbucket_try(&b, t + 999, 100));
	ck_assert_uint_eq(ircbucket_wait(&b, t + 999, 100), 1);
	ck_assert(ircbucket_try(&b, t + 1000, 100));
	ck_assert(!ircbucket_try(&b, t + 1500, 100));
	ck_assert(ircbucket_try(&b, t + 2000, 100));
	/* Idle long enough: the whole burst is back, no more. */
	t += 60000;
	for (i = 0; i < 5; i++)
		ck_assert(ircbucket_try(&b, t, 100));
	ck_assert(!ircbucket_try(&b, t, 100));
}
END_TEST

/* Sustained sending never beats the rate: 40 lines take burst + 35 s. */
START_TEST(forty_messages)
{
	struct ircbucket b;
	uint64_t t = 0, w;
	int sent = 0;

	ircbucket_init_default(&b);
	ircbucket_init(&b, IRCBUCKET_BURST, IRCBUCKET_INTERVAL_MS, 0, 0);
	while (sent < 40) {
		w = ircbucket_wait(&b, t, 60);
		t += w;
		ck_assert(ircbucket_try(&b, t, 60));
		sent++;
	}
	ck_assert_uint_eq(t, (40 - IRCBUCKET_BURST) * 1000);
}
END_TEST

/*
 * Checks the defaults against a model of the hybrid/Solanum recvq: the
 * server parses `allow` lines at once, then `rate` per second, and kills the
 * client if more than `maxq` lines wait unparsed. We never queue there.
 */
START_TEST(defaults_never_flood_kill)
{
	struct ircbucket b;
	uint64_t t, w;
	double credit = 5, queued = 0, last = 0;
	int i;

	ircbucket_init_default(&b);
	for (i = 0, t = 0; i < 500; i++) {
		w = ircbucket_wait(&b, t, 200 + (i * 37) % 300);
		t += w;
		ircbucket_take(&b, t, 200 + (i * 37) % 300);
		/* Server side (hybrid: allow 5, then 1 line per second). */
		credit += (double)(t - last) / 1000.0;
		if (credit > 5)
			credit = 5;
		last = (double)t;
		queued += 1;
		if (credit >= 1) {
			credit -= 1;
			queued -= 1;
		}
		ck_assert(queued <= 0.0 + 1e-9);
	}
}
END_TEST

START_TEST(byte_mode)
{
	struct ircbucket b;

	/* Bytes only: 1000-byte burst, 250 bytes/s. */
	ircbucket_init(&b, 0, 0, 1000, 250);
	ck_assert(ircbucket_try(&b, 0, 500));
	ck_assert(ircbucket_try(&b, 0, 500));
	ck_assert_uint_eq(ircbucket_wait(&b, 0, 250), 1000);
	ck_assert_uint_eq(ircbucket_wait(&b, 0, 1), 4);
	ck_assert(ircbucket_try(&b, 1000, 250));
	/* A line larger than the whole bucket goes once the bucket is full. */
	ck_assert_uint_eq(ircbucket_wait(&b, 1000, 4000), 4000);
	ck_assert(ircbucket_try(&b, 5000, 4000));
	ck_assert_uint_eq(ircbucket_wait(&b, 5000, 10), 12040);
}
END_TEST

START_TEST(both_limits_and_off)
{
	struct ircbucket b;
	int i;

	/* Message limit generous, byte limit tight: bytes decide. */
	ircbucket_init(&b, 100, 10, 512, 512);
	ck_assert(ircbucket_try(&b, 0, 512));
	ck_assert_uint_eq(ircbucket_wait(&b, 0, 512), 1000);
	/* Byte limit generous, message limit tight: messages decide. */
	ircbucket_init(&b, 1, 2000, 100000, 100000);
	ck_assert(ircbucket_try(&b, 0, 10));
	ck_assert_uint_eq(ircbucket_wait(&b, 0, 10), 2000);
	/* Throttle off. */
	ircbucket_init(&b, 0, 0, 0, 0);
	for (i = 0; i < 10000; i++)
		ck_assert(ircbucket_try(&b, 0, 512));
	/* Reset refills. */
	ircbucket_init(&b, 2, 1000, 0, 0);
	ck_assert(ircbucket_try(&b, 50, 1));
	ck_assert(ircbucket_try(&b, 50, 1));
	ck_assert(!ircbucket_try(&b, 50, 1));
	ircbucket_reset(&b);
	ck_assert(ircbucket_try(&b, 50, 1));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("ircbucket");
	TCase *tc = unit_tcase(s, "core");

	unit_tests(tc, burst_then_rate, forty_messages, defaults_never_flood_kill, byte_mode,
	           both_limits_and_off);
	return s;
}

int
main(void)
{
	return unit_run(suite());
}
