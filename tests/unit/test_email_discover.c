/* RFC 6186 discovery: which published record becomes the account's URL. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "maildiscover.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
pick(const struct gw_srv_record *tls, size_t ntls, const struct gw_srv_record *st, size_t nst,
     const char *want)
{
	char *got = mail_srv_pick(tls, ntls, "imaps", st, nst, "imap");

	if (want == NULL)
		ck_assert_msg(got == NULL, "got %s, want none", got);
	else
		ck_assert_msg(got && strcmp(got, want) == 0, "got %s, want %s", got ? got : "none",
		              want);
	free(got);
}

START_TEST(lowest_priority_wins)
{
	struct gw_srv_record tls[] = {{"tls.example.com", 993, 20, 0}};
	struct gw_srv_record st[] = {{"plain.example.com", 143, 10, 0}};

	pick(tls, N(tls), st, N(st), "imap://plain.example.com:143");
	tls[0].priority = 5;
	pick(tls, N(tls), st, N(st), "imaps://tls.example.com:993");
}
END_TEST

START_TEST(a_tie_prefers_implicit_tls)
{
	struct gw_srv_record tls[] = {{"tls.example.com", 993, 10, 0}};
	struct gw_srv_record st[] = {{"plain.example.com", 143, 10, 100}};

	pick(tls, N(tls), st, N(st), "imaps://tls.example.com:993");
}
END_TEST

START_TEST(the_first_of_a_sorted_list)
{
	struct gw_srv_record st[] = {{"a.example.com", 143, 0, 50}, {"b.example.com", 1143, 0, 10}};

	pick(NULL, 0, st, N(st), "imap://a.example.com:143");
}
END_TEST

START_TEST(nothing_published)
{
	pick(NULL, 0, NULL, 0, NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("email_discover");
	TCase *tc = unit_tcase(s, "pick");

	unit_tests(tc, lowest_priority_wins, a_tie_prefers_implicit_tls, the_first_of_a_sorted_list,
	           nothing_published);
	return unit_run(s);
}
