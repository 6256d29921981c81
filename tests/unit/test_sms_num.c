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

/* What a user types, the country they are in, and the number it means. */
static const struct typed {
	const char *typed, *country, *want;
} normalised[] = {
        /* NANP numbers written the national way */
        {"(555) 123-4567", "+1", "+15551234567"},
        {"555-123-4567", "+1", "+15551234567"},
        {"555.123.4567", "+1", "+15551234567"},
        {"5551234567", "+1", "+15551234567"},
        {"1 555 123 4567", "+1", "+15551234567"},
        {"1-555-123-4567", "1", "+15551234567"},
        {"  (202) 555-0123  ", "+1", "+12025550123"},
        {"tel:+1-202-555-0123", "+1", "+12025550123"},
        {"+15551234567", "+1", "+15551234567"}, /* a JID localpart comes back unchanged */
        {"555\xc2\xa0"
         "123\xc2\xa0"
         "4567",
         "+1", "+15551234567"}, /* no-break spaces */
        /* international prefixes, from anywhere */
        {"+44 20 7946 0958", "+1", "+442079460958"},
        {"011 44 20 7946 0958", "+1", "+442079460958"},
        {"00 44 20 7946 0958", "+1", "+442079460958"},
        {"0044 20 7946 0958", "+44", "+442079460958"},
        {"+44 (0)20 7946 0958", "+1", "+442079460958"},
        {"+44 020 7946 0958", "+1", "+442079460958"}, /* trunk 0 written after +44 */
        {"0011 61 2 9876 5432", "+61", "+61298765432"},
        {"010 81 3 1234 5678", "+81", "+81312345678"},
        {"810 7 912 345 67 89", "+7", "+79123456789"},
        {"+39 06 1234 5678", "+1", "+390612345678"}, /* Italy keeps its 0 */
        {"+1 (202) 555-0123", "+44", "+12025550123"},
        {"+354 555 1234", "+1", "+3545551234"}, /* a country outside the table */
        /* other countries' national forms */
        {"020 7946 0958", "+44", "+442079460958"},
        {"07700 900123", "+44", "+447700900123"},
        {"(0) 20 7946 0958", "+44", "+442079460958"},
        {"0171 234 5678", "+49", "+491712345678"},
        {"06 12 34 56 78", "33", "+33612345678"},
        {"06 1234 5678", "+39", "+390612345678"},
        {"312 345 6789", "+39", "+393123456789"},
        {"8 912 345-67-89", "+7", "+79123456789"},
        {"06 30 123 4567", "+36", "+36301234567"},
        {"0412 345 678", "+61", "+61412345678"},
        {"612 34 567", "+45", "+4561234567"},
        /* short codes stay as they are */
        {"12345", "+1", "12345"},
        {"123456", "+1", "123456"},
        {"911", "+1", "911"},
        {"61998", "+44", "61998"},
        {"4242", "+39", "4242"},
        {"22 222", "+49", "22222"},
        {"12345678", "+33", "12345678"},
};

START_TEST(normalise)
{
	ok(normalised[_i].typed, normalised[_i].country, normalised[_i].want);
}
END_TEST

/* What is refused, and a word of the reason the user is given. */
static const struct refusal {
	const char *typed, *country, *why_has;
} refused[] = {
        {"", "+1", "no number"},
        {"   ", "+1", "no number"},
        {"hello", "+1", "letters"},
        {"1-800-FLOWERS", "+1", "letters"},
        {"555-123-4567 x89", "+1", "extension"},
        {"555-123-4567 ext. 89", "+1", "extension"},
        {"*#06#", "+1", "service codes"},
        {"12", "+1", "too short"},
        {"555-1234", "+1", "10 digits"}, /* local number without area code */
        {"123-456-7890", "+1", "after the leading 1"},
        {"(055) 123-4567", "+1", "area codes"},
        {"+1 055 123 4567", "+1", "area codes"},
        {"+999 123 456", "+1", "not a country code"},
        {"+0 123", "+1", "not a country code"},
        {"+44", "+1", "after the country code"},
        {"+1 555 0100", "+1", "10 digits"},
        {"+12345678901234567", "+1", "at most 15"},
        {"12+34", "+1", "'+' may only start"},
        {"++1555", "+1", "'+' may only start"},
        {"alice@example.org", "+1", "letters"},
        {"555;123", "+1", "';' is not part"},
        {"555\x01"
         "123",
         "+1", "unexpected characters"},
        {"0123456789012345678901234567890", "+1", "too many digits"},
        {"00", "+1", "must follow"},
        {"011", "+1", "must follow"},
        {"+44 00 2497 60958", "+1", "do not start with 0"},
        {"0171 23", "+49", "after the leading 0"},
        {"123456789012345678901234(0)", "+1", "too many digits"},
        {"(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)(0)", "+1",
         "too long"},
};

START_TEST(garbage_refused)
{
	bad(refused[_i].typed, refused[_i].country, refused[_i].why_has);
}
END_TEST

START_TEST(kinds)
{
	ck_assert_int_eq(smsnum_kind("12345"), SMSNUM_SHORT);
	ck_assert_int_eq(smsnum_kind("+15551234567"), SMSNUM_E164);
	ck_assert_int_eq(smsnum_kind("Google"), SMSNUM_ALPHA);
	ck_assert_int_eq(smsnum_kind("12"), SMSNUM_INVALID);
}
END_TEST

/* TYPED is not a country calling code (and the reason has WHY_HAS, when not NULL). */
static void
country_refused(const char *typed, const char *why_has)
{
	char *why = NULL;

	ck_assert_int_eq(smsnum_country(typed, &why), -1);
	if (why_has != NULL)
		ck_assert_ptr_nonnull(strstr(why, why_has));
	free(why);
}

START_TEST(default_country)
{
	char *why = NULL;

	ck_assert_int_eq(smsnum_country("+1", &why), 1);
	ck_assert_int_eq(smsnum_country("44", &why), 44);
	ck_assert_int_eq(smsnum_country("+354", &why), 354);
	country_refused("+999", "country calling code");
	country_refused("+12", NULL); /* +1 then a digit */
	country_refused("US", NULL);
	country_refused("", NULL);
	country_refused(NULL, NULL);
}
END_TEST

/* What a network sends as the sender, and the address the user sees it from. */
static void
sender_is(const char *sent, const char *want)
{
	char *s = smsnum_sender(sent, "+1");

	ck_assert_str_eq(s, want);
	free(s);
}

START_TEST(senders)
{
	sender_is("+15551234567", "+15551234567");
	sender_is("5551234567", "+15551234567"); /* a national-type sender address */
	sender_is("72345", "72345");
	sender_is("Google", "Google");
	sender_is("My Bank\x07<>", "My Bank");
	sender_is("12", "12"); /* unusable as a number, kept so the user sees it */
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

	tcase_add_loop_test(tc, normalise, 0, UNIT_ROWS(normalised));
	tcase_add_loop_test(tc, garbage_refused, 0, UNIT_ROWS(refused));
	unit_tests(tc, kinds, default_country, senders, country_codes);
	return unit_run(s);
}
