/*
 * Unit tests: the driver's checks on names, both ways: what a user gives
 * becomes a valid IRC nick; what a server gives may become part of a JID;
 * ban masks matched against nick!user@host.
 */
#include <check.h>
#include <stdlib.h>

#include "ircdrv.h"
#include "unit.h"

static void
nick_is(const char *in, const char *want)
{
	char *got = ircd_nick_clean(in);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(nick_clean)
{
	nick_is("alice", "alice");
	nick_is("Alice Smith", "AliceSmith");
	nick_is("a[b]c\\d`e_f^g{h|i}j-k", "a[b]c\\d`e_f^g{h|i}j-k");
	nick_is("bob\r\nQUIT :x", "bobQUITx");
	nick_is("zo\xc3\xab", "zo"); /* not in IRC's alphabet: dropped */
	nick_is("2fast", "x2fast");  /* a nick does not start with a digit */
	nick_is("-dash", "x-dash");
	nick_is("", "x");
	nick_is("\xe2\x98\x83", "x"); /* nothing left */
}
END_TEST

START_TEST(name_ok)
{
	ck_assert(ircd_name_ok("bob"));
	ck_assert(ircd_name_ok("#chan"));
	ck_assert(ircd_name_ok("n\xc3\xa9o")); /* UTF-8 is fine */
	ck_assert(!ircd_name_ok(""));
	ck_assert(!ircd_name_ok("ba\xff"
	                        "d"));
	ck_assert(!ircd_name_ok("b\xc3\x28"
	                        "d"));
	ck_assert(!ircd_name_ok("ev\x01il"));
	ck_assert(!ircd_name_ok("two words"));
	ck_assert(!ircd_name_ok("del\x7f"));
}
END_TEST

START_TEST(mask_match)
{
	const enum ircmsg_casemap rfc = IRCMSG_CASEMAP_RFC1459;

	ck_assert(ircd_mask_match(rfc, "alice!*@*", "alice!~a@host.example"));
	ck_assert(ircd_mask_match(rfc, "ALICE!*@*", "alice!~a@host.example"));
	ck_assert(ircd_mask_match(rfc, "a[1]!*@*", "A{1}!u@h")); /* rfc1459: [ is { */
	ck_assert(ircd_mask_match(rfc, "*!*@*.example", "bob!b@x.example"));
	ck_assert(ircd_mask_match(rfc, "b?b!*@*", "bob!b@h"));
	ck_assert(ircd_mask_match(rfc, "*", ""));
	ck_assert(ircd_mask_match(rfc, "*a*a*b", "aaaaaaaaaaaaaaaaab"));
	ck_assert(!ircd_mask_match(rfc, "*a*a*b", "aaaaaaaaaaaaaaaaaa"));
	ck_assert(!ircd_mask_match(rfc, "alice!*@*", "alice2!a@h"));
	ck_assert(!ircd_mask_match(rfc, "bob!*@127.0.0.1", "bob!b@127.0.0.2"));
	ck_assert(!ircd_mask_match(rfc, "?", ""));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("irc_names");
	TCase *tc = unit_tcase(s, "names");

	unit_tests(tc, nick_clean, name_ok, mask_match);
	return unit_run(s);
}
