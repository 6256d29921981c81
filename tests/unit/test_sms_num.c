/* Phone number normalisation: what users type, what networks send. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "smsnum.h"
#include "unit.h"

static void
ok(const char *typed, const char *country, const char *want)
{
	char *out = NULL, *why = NULL;
	int rc = smsnum_normalize(typed, country, &out, &why);

	ck_assert_msg(rc == 0, "\"%s\" (%s) refused: %s", typed, country, why ? why : "?");
	ck_assert_msg(strcmp(out, want) == 0, "\"%s\" (%s): got %s, want %s", typed, country, out,
	              want);
	ck_assert_ptr_null(why);
	free(out);
}

static void
bad(const char *typed, const char *country, const char *why_has)
{
	char *out = NULL, *why = NULL;
	int rc = smsnum_normalize(typed, country, &out, &why);

	ck_assert_msg(rc == -1, "\"%s\" (%s) accepted as %s", typed, country, out ? out : "?");
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, why_has) != NULL, "\"%s\": reason \"%s\" lacks \"%s\"", typed,
	              why, why_has);
	free(why);
}

START_TEST(nanp_national_forms)
{
	ok("(555) 123-4567", "+1", "+15551234567");
	ok("555-123-4567", "+1", "+15551234567");
	ok("555.123.4567", "+1", "+15551234567");
	ok("5551234567", "+1", "+15551234567");
	ok("1 555 123 4567", "+1", "+15551234567");
	ok("1-555-123-4567", "1", "+15551234567");
	ok("  (202) 555-0123  ", "+1", "+12025550123");
	ok("tel:+1-202-555-0123", "+1", "+12025550123");
	ok("+15551234567", "+1", "+15551234567"); /* a JID localpart comes back unchanged */
	ok("555\xc2\xa0"
	   "123\xc2\xa0"
	   "4567",
	   "+1", "+15551234567"); /* no-break spaces */
}
END_TEST

START_TEST(international_prefixes)
{
	ok("+44 20 7946 0958", "+1", "+442079460958");
	ok("011 44 20 7946 0958", "+1", "+442079460958");
	ok("00 44 20 7946 0958", "+1", "+442079460958");
	ok("0044 20 7946 0958", "+44", "+442079460958");
	ok("+44 (0)20 7946 0958", "+1", "+442079460958");
	ok("+44 020 7946 0958", "+1", "+442079460958"); /* trunk 0 written after +44 */
	ok("0011 61 2 9876 5432", "+61", "+61298765432");
	ok("010 81 3 1234 5678", "+81", "+81312345678");
	ok("810 7 912 345 67 89", "+7", "+79123456789");
	ok("+39 06 1234 5678", "+1", "+390612345678"); /* Italy keeps its 0 */
	ok("+1 (202) 555-0123", "+44", "+12025550123");
	ok("+354 555 1234", "+1", "+3545551234"); /* a country outside the table */
}
END_TEST

START_TEST(other_countries_national)
{
	ok("020 7946 0958", "+44", "+442079460958");
	ok("07700 900123", "+44", "+447700900123");
	ok("(0) 20 7946 0958", "+44", "+442079460958");
	ok("0171 234 5678", "+49", "+491712345678");
	ok("06 12 34 56 78", "33", "+33612345678");
	ok("06 1234 5678", "+39", "+390612345678");
	ok("312 345 6789", "+39", "+393123456789");
	ok("8 912 345-67-89", "+7", "+79123456789");
	ok("06 30 123 4567", "+36", "+36301234567");
	ok("0412 345 678", "+61", "+61412345678");
	ok("612 34 567", "+45", "+4561234567");
}
END_TEST

START_TEST(short_codes)
{
	ok("12345", "+1", "12345");
	ok("123456", "+1", "123456");
	ok("911", "+1", "911");
	ok("61998", "+44", "61998");
	ok("4242", "+39", "4242");
	ok("22 222", "+49", "22222");
	ok("12345678", "+33", "12345678");
	ck_assert_int_eq(smsnum_kind("12345"), SMSNUM_SHORT);
	ck_assert_int_eq(smsnum_kind("+15551234567"), SMSNUM_E164);
}
END_TEST

START_TEST(garbage_refused)
{
	bad("", "+1", "no number");
	bad("   ", "+1", "no number");
	bad("hello", "+1", "letters");
	bad("1-800-FLOWERS", "+1", "letters");
	bad("555-123-4567 x89", "+1", "extension");
	bad("555-123-4567 ext. 89", "+1", "extension");
	bad("*#06#", "+1", "service codes");
	bad("12", "+1", "too short");
	bad("555-1234", "+1", "10 digits"); /* local number without area code */
	bad("123-456-7890", "+1", "after the leading 1");
	bad("(055) 123-4567", "+1", "area codes");
	bad("+1 055 123 4567", "+1", "area codes");
	bad("+999 123 456", "+1", "not a country code");
	bad("+0 123", "+1", "not a country code");
	bad("+44", "+1", "after the country code");
	bad("+1 555 0100", "+1", "10 digits");
	bad("+12345678901234567", "+1", "at most 15");
	bad("12+34", "+1", "'+' may only start");
	bad("++1555", "+1", "'+' may only start");
	bad("alice@example.org", "+1", "letters");
	bad("555;123", "+1", "';' is not part");
	bad("555\x01"
	    "123",
	    "+1", "unexpected characters");
	bad("0123456789012345678901234567890", "+1", "too many digits");
	bad("00", "+1", "must follow");
	bad("011", "+1", "must follow");
	bad("+44 00 2497 60958", "+1", "do not start with 0");
	bad("0171 23", "+49", "after the leading 0");
	bad("123456789012345678901234(0)", "+1", "too many digits");
	bad("(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)", "+1",
	    "too long");
}
END_TEST

START_TEST(default_country)
{
	char *why = NULL;

	ck_assert_int_eq(smsnum_country("+1", &why), 1);
	ck_assert_int_eq(smsnum_country("44", &why), 44);
	ck_assert_int_eq(smsnum_country("+354", &why), 354);
	ck_assert_int_eq(smsnum_country("+999", &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "country calling code"));
	free(why);
	why = NULL;
	ck_assert_int_eq(smsnum_country("+12", &why), -1); /* +1 then a digit */
	free(why);
	why = NULL;
	ck_assert_int_eq(smsnum_country("US", &why), -1);
	free(why);
	why = NULL;
	ck_assert_int_eq(smsnum_country("", &why), -1);
	free(why);
	why = NULL;
	ck_assert_int_eq(smsnum_country(NULL, &why), -1);
	free(why);
}
END_TEST

START_TEST(senders)
{
	char *s;

	s = smsnum_sender("+15551234567", "+1");
	ck_assert_str_eq(s, "+15551234567");
	free(s);
	s = smsnum_sender("5551234567", "+1"); /* a national-type sender address */
	ck_assert_str_eq(s, "+15551234567");
	free(s);
	s = smsnum_sender("72345", "+1");
	ck_assert_str_eq(s, "72345");
	free(s);
	s = smsnum_sender("Google", "+1");
	ck_assert_str_eq(s, "Google");
	ck_assert_int_eq(smsnum_kind(s), SMSNUM_ALPHA);
	free(s);
	s = smsnum_sender("My Bank\x07<>", "+1");
	ck_assert_str_eq(s, "My Bank");
	free(s);
	s = smsnum_sender("12", "+1"); /* unusable as a number, kept so the user sees it */
	ck_assert_str_eq(s, "12");
	ck_assert_int_eq(smsnum_kind(s), SMSNUM_INVALID);
	free(s);
	ck_assert_ptr_null(smsnum_sender("\x01\x02", "+1"));
	ck_assert_ptr_null(smsnum_sender("", "+1"));
	ck_assert_ptr_null(smsnum_sender(NULL, "+1"));
}
END_TEST

START_TEST(country_codes)
{
	int n;

	ck_assert(smsnum_country_code("15551234567", &n) && n == 1);
	ck_assert(smsnum_country_code("442079460958", &n) && n == 2);
	ck_assert(smsnum_country_code("3545551234", &n) && n == 3);
	ck_assert(smsnum_country_code("8613800138000", &n) && n == 2);
	ck_assert(smsnum_country_code("85212345678", &n) && n == 3);
	ck_assert(!smsnum_country_code("2101234", &n)); /* spare */
	ck_assert(!smsnum_country_code("8901234", &n)); /* spare zone */
	ck_assert(!smsnum_country_code("0441234", &n));
	ck_assert(!smsnum_country_code("35", &n));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sms_num");
	TCase *tc = unit_tcase(s, "core");

	tcase_add_test(tc, nanp_national_forms);
	tcase_add_test(tc, international_prefixes);
	tcase_add_test(tc, other_countries_national);
	tcase_add_test(tc, short_codes);
	tcase_add_test(tc, garbage_refused);
	tcase_add_test(tc, default_country);
	tcase_add_test(tc, senders);
	tcase_add_test(tc, country_codes);
	return unit_run(s);
}
