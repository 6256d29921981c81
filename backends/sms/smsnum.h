/*
 * Phone numbers: what a person typed, or a sender address from the network,
 * to the address the gateway uses as a JID localpart.
 *
 *   "+15551234567"  an E.164 number ('+', country code, national number);
 *   "12345"         a short code: 3 to 8 digits, no '+', meaningful only on
 *                   the line's own network (JID 12345@sms.example.org);
 *   "Google"        an alphanumeric sender (incoming only; cannot be texted).
 *
 * default_country is a country calling code, "+1" or "44". National forms
 * take it; '+', "00" and the country's own international prefix ("011" for
 * +1, "0011" for +61, ...) mark an international number; the country's
 * trunk prefix (UK's 0, NANP's 1) is dropped. Why pure C and not
 * libphonenumber: docs/sms-numbers.md.
 */
#ifndef SG_SMSNUM_H
#define SG_SMSNUM_H

#include <stdbool.h>

enum smsnum_kind {
	SMSNUM_INVALID,
	SMSNUM_E164,  /* "+", country code and national number: 15 digits at most */
	SMSNUM_SHORT, /* 3..8 digits */
	SMSNUM_ALPHA, /* an alphanumeric sender name */
};

/*
 * Normalise a typed number or an unescaped JID localpart. Returns 0 with
 * *out (caller frees): an E.164 number or a short code; or -1 with *why
 * (caller frees): a sentence a user can read.
 */
int smsnum_normalize(const char *typed, const char *default_country, char **out, char **why);

/*
 * The address of an incoming SMS's sender as the network gave it: a
 * number (normalised as above), or an alphanumeric sender name kept with
 * its letters (control and non-ASCII characters dropped). Returns the
 * address (caller frees), or NULL when nothing usable is left.
 */
char *smsnum_sender(const char *raw, const char *default_country);

/* What kind of address a normalised address is. */
enum smsnum_kind smsnum_kind(const char *addr);

/*
 * Check a default_country setting ("+1", "1", "+44"). Returns the calling
 * code as a number, or -1 with *why (caller frees).
 */
int smsnum_country(const char *default_country, char **why);

/* True when digits (no '+') start with an assigned E.164 country code; *cclen gets its length. */
bool smsnum_country_code(const char *digits, int *cclen);

#endif
