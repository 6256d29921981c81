/*
 * libFuzzer target: the email address normaliser. Properties: never
 * crash; an accepted address is at most 254 bytes, has one '@' with no
 * space, control character or <> anywhere, and normalising it again gives
 * it back unchanged; a refusal always has a reason.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "fuzz.h"
#include "mailaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *out, *again, *why;
	const char *p;

	s = xstrndup((const char *)data, size);
	if (mail_addr_normalize(s, &out, &why) == 0) {
		if (why != NULL || strlen(out) > 254)
			abort();
		if (strchr(out, '@') == NULL || strchr(out, '@') != strrchr(out, '@'))
			abort();
		for (p = out; *p; p++) {
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f || *p == '<' ||
			    *p == '>')
				abort();
		}
		if (mail_addr_normalize(out, &again, &why) != 0)
			abort();
		fuzz_unchanged(out, again);
	} else {
		if (out != NULL)
			abort();
		fuzz_refused_with_reason(why);
	}
	free(s);
	return 0;
}
