/*
 * What every Check program in tests/unit shares: a test case added to its
 * suite in one call and its tests listed in another, a run of a suite that
 * gives main()'s exit status, the length of a static table for
 * tcase_add_loop_test(), and a repeatable random sequence. Each program's
 * main() then only lists its tests.
 */
#ifndef UNIT_H
#define UNIT_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* The number of rows in a static table, the end of a loop test's range. */
#define UNIT_ROWS(table) ((int)(sizeof(table) / sizeof((table)[0])))

/* The next number of a xorshift32 sequence (Marsaglia) seeded by *X: random test data that
 * is the same on every run. */
static inline uint32_t
unit_xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* A new test case named NAME, already added to S, which owns it. */
static inline TCase *
unit_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	suite_add_tcase(s, tc);
	return tc;
}

/* Adds the tests named, in order, to TC: unit_tests(tc, first, second, ...). */
#define unit_tests(tc, ...) unit_add_tests((tc), (const TTest *[]){__VA_ARGS__, NULL})

static inline void
unit_add_tests(TCase *tc, const TTest *const *tests)
{
	for (; *tests != NULL; tests++)
		tcase_add_test(tc, *tests);
}

/* Whether tests run in their own process (CK_FORK is not "no"), which an
 * exit test needs; asked before the suite is built. */
static inline bool
unit_forking(void)
{
	SRunner *sr = srunner_create(NULL);
	bool forking = srunner_fork_status(sr) != CK_NOFORK;

	srunner_free(sr);
	return forking;
}

/* Runs every test of S, printing Check's summary, and frees S: main()'s exit status. */
static inline int
unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
