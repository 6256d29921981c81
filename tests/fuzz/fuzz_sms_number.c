/*
 * libFuzzer target: the phone number normaliser and the sender parser.
 * Properties: never crash; an accepted number is an E.164 number or a short
 * code, and normalising it again gives it back unchanged.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "fuzz.h"
#include "smsnum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *countries[] = {"+1", "+44", "+39", "+61", "+7", "+354", "+49", "+81"};
	const char *country;
	char *s, *out, *again, *why;
	enum smsnum_kind k;

	if (size == 0)
		return 0;
	country = countries[data[0] % 8];
	s = xstrndup((const char *)data + 1, size - 1);
	if (smsnum_normalize(s, country, &out, &why) == 0) {
		k = smsnum_kind(out);
		if (k != SMSNUM_E164 && k != SMSNUM_SHORT)
			abort();
		if (smsnum_normalize(out, country, &again, &why) != 0)
			abort();
		fuzz_unchanged(out, again);
	} else {
		fuzz_refused_with_reason(why);
	}
	out = smsnum_sender(s, country);
	if (out && *out == '\0')
		abort();
	free(out);
	free(s);
	return 0;
}
