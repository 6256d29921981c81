/* Email addresses as contacts: every form a person types, every refusal. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "mailaddr.h"
#include "unit.h"

static void
ok(const char *typed, const char *want)
{
	char *out = NULL, *why = NULL;
	int rc = mail_addr_normalize(typed, &out, &why);

	ck_assert_msg(rc == 0, "\"%s\" refused: %s", typed, why ? why : "?");
	ck_assert_msg(strcmp(out, want) == 0, "\"%s\": got %s, want %s", typed, out, want);
	ck_assert_ptr_null(why);
	free(out);
}

static void
bad(const char *typed, const char *why_has)
{
	char *out = NULL, *why = NULL;
	int rc = mail_addr_normalize(typed, &out, &why);

	ck_assert_msg(rc == -1, "\"%s\" accepted as %s", typed, out ? out : "?");
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, why_has) != NULL, "\"%s\": reason \"%s\" lacks \"%s\"", typed,
	              why, why_has);
	free(why);
}

/* "bob@" and a domain of 50-byte labels, total bytes long. */
static void
fill_addr(char *buf, size_t total)
{
	size_t n = 4, k = 0;

	memcpy(buf, "bob@", 4);
	while (n < total) {
		if (k == 50) {
			buf[n++] = '.';
			k = 0;
		} else {
			buf[n++] = 'c';
			k++;
		}
	}
	buf[n] = '\0';
}

START_TEST(plain_forms)
{
	ok("bob@example.net", "bob@example.net");
	ok("Bob.Smith@Example.NET", "Bob.Smith@example.net"); /* local part kept as typed */
	ok("  bob@example.net \t\r\n", "bob@example.net");
	ok("alice@localhost", "alice@localhost");
	ok("a+tag@mail-1.example.co.uk", "a+tag@mail-1.example.co.uk");
	ok("o'neil!#$&*=^_`{|}~@example.net", "o'neil!#$&*=^_`{|}~@example.net");
}
END_TEST

START_TEST(mailto_forms)
{
	ok("mailto:bob@example.net", "bob@example.net");
	ok("MAILTO:bob@Example.net", "bob@example.net");
	ok("mailto:bob@example.net?subject=Hello%20there&body=x", "bob@example.net");
	ok("mailto:bob%40example.net", "bob@example.net");
	ok("mailto:bob%2Bx@example.net", "bob+x@example.net");
	ok(" mailto:bob@example.net ", "bob@example.net");
}
END_TEST

START_TEST(name_forms)
{
	ok("Bob Smith <bob@Example.NET>", "bob@example.net");
	ok("\"Smith, Bob\" <bob@example.net>", "bob@example.net");
	ok("\"a <weird> name\" <bob@example.net>", "bob@example.net");
	ok("<bob@example.net>", "bob@example.net");
	ok("Bob < bob@example.net >", "bob@example.net");
	ok("=?utf-8?q?J=C3=BCrgen?= <j@example.de>", "j@example.de");
}
END_TEST

START_TEST(percent_for_at)
{
	ok("bob%example.net", "bob@example.net");
	ok("bob%relay%Example.NET", "bob%relay@example.net"); /* the last '%' */
	ok("bob%x@example.net", "bob%x@example.net");         /* an '@': '%' stays */
}
END_TEST

START_TEST(refusals)
{
	char longlocal[80], longaddr[300], longlabel[80];

	bad("", "no '@'");
	bad("   ", "no '@'");
	bad("bob", "no '@'");
	bad("bob.example.net", "no '@'");
	bad("@example.net", "empty local part");
	bad("bob@", "empty domain");
	bad("%example.net", "empty local part");
	bad("bob smith@example.net", "space");
	bad("bob@exa mple.net", "space");
	bad("bob@example.net\r\nBcc: eve@evil.example", "control character");
	bad("bob\n@example.net", "control character");
	bad("bob\x01"
	    "@example.net",
	    "control character");
	bad("bob<x@example.net", "'<'");
	bad("bob>x@example.net", "'<' or '>'");
	bad("Bob <b<ob@example.net>", "'<' or '>'");
	bad("\"Bob <bob@example.net>", "unclosed");
	bad("Bob <bob@example.net", "'>'");
	bad("Bob <bob@example.net> trailing", "'>'");
	bad("Bob <>", "no '@'");
	bad("b(o)b@example.net", "cannot hold");
	bad("bo\"b\"@example.net", "cannot hold");
	bad("bo\"b@example.net", "unclosed");
	bad("bob,x@example.net", "cannot hold");
	bad("b\xc3\xb6"
	    "b@example.net",
	    "cannot hold");
	bad(".bob@example.net", "dot");
	bad("bob.@example.net", "dot");
	bad("b..ob@example.net", "dot");
	bad("bob@exam_ple.net", "domain holds");
	bad("bob@[192.0.2.1]", "domain holds");
	bad("bob@ex\xc3\xa4mple.net", "domain holds");
	bad("bob@example..net", "empty label");
	bad("bob@.example.net", "empty label");
	bad("bob@example.net.", "empty label");
	bad("bob@-example.net", "'-'");
	bad("bob@example-.net", "'-'");
	bad("mailto:bob%4", "%-escape");
	bad("mailto:bob%zz@example.net", "%-escape");
	bad("mailto:bob%0d%0a@example.net", "control character");
	bad("mailto:bob%00@example.net", "control character");
	bad("mailto:?subject=x", "no '@'");

	memset(longlocal, 'a', 65);
	strcpy(longlocal + 65, "@example.net");
	bad(longlocal, "64");
	memset(longlabel, 'b', 64);
	strcpy(longlabel, "x@");
	memset(longlabel + 2, 'b', 64);
	strcpy(longlabel + 66, ".net");
	bad(longlabel, "63");
	fill_addr(longaddr, 255);
	bad(longaddr, "254");
}
END_TEST

START_TEST(lengths_at_the_limit)
{
	char local[100], addr[300];

	memset(local, 'a', 64);
	strcpy(local + 64, "@example.net");
	ok(local, local);
	fill_addr(addr, 254); /* exactly the limit */
	ck_assert_uint_eq(strlen(addr), 254);
	ok(addr, addr);
}
END_TEST

START_TEST(huge_input)
{
	size_t n = 100000;
	char *s = malloc(n + 1);

	memset(s, 'a', n);
	s[n] = '\0';
	s[10] = '@';
	bad(s, "too long");
	free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("email_addr");
	TCase *tc = unit_tcase(s, "core");

	unit_tests(tc, plain_forms, mailto_forms, name_forms, percent_for_at, refusals,
	           lengths_at_the_limit, huge_input);
	return unit_run(s);
}
