/*
 * libFuzzer target: SMS text planning and decoding.
 * Properties: for valid UTF-8, the coding fits every character, every part
 * keeps to its limit and the parts concatenate to the input; any bytes read
 * as gammu's UTF-16 decode to valid UTF-8 with no character XML forbids.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "smstext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_plan(const char *text, size_t len)
{
	struct smstext_plan plan;
	char *why = NULL;
	size_t i, o = 0, units = 0, limit;

	if (smstext_plan(text, len, &plan, &why) == -1) {
		if (smstext_utf8_valid(text, len))
			abort();
		free(why);
		return;
	}
	if (plan.nparts == 0)
		abort();
	if (plan.nparts == 1)
		limit = plan.coding == SMSTEXT_GSM7 ? SMSTEXT_GSM7_SINGLE : SMSTEXT_UCS2_SINGLE;
	else
		limit = plan.coding == SMSTEXT_GSM7 ? SMSTEXT_GSM7_PART : SMSTEXT_UCS2_PART;
	for (i = 0; i < plan.nparts; i++) {
		/* contiguous: concatenating the parts gives the input back */
		if (plan.parts[i].off != o || plan.parts[i].units > limit)
			abort();
		if (plan.nparts > 1 && plan.parts[i].len == 0)
			abort();
		/* each part is whole characters */
		if (!smstext_utf8_valid(text + plan.parts[i].off, plan.parts[i].len))
			abort();
		o += plan.parts[i].len;
		units += plan.parts[i].units;
	}
	if (o != len || units != plan.units)
		abort();
	/* a text fits one SMS exactly when it is short enough */
	if ((plan.nparts == 1) !=
	    (plan.units <=
	     (plan.coding == SMSTEXT_GSM7 ? SMSTEXT_GSM7_SINGLE : SMSTEXT_UCS2_SINGLE)))
		abort();
	smstext_plan_free(&plan);
}

static void
check_decode(const uint8_t *data, size_t size)
{
	char *s = smstext_from_ucs2be(data, size / 2);
	size_t i, n = strlen(s);

	if (!smstext_utf8_valid(s, n))
		abort();
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 && c != '\t' && c != '\n')
			abort();
		/* U+FFFE and U+FFFF are EF BF BE / EF BF BF */
		if (c == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xBF &&
		    ((unsigned char)s[i + 2] == 0xBE || (unsigned char)s[i + 2] == 0xBF))
			abort();
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *u;
	char *back;
	size_t n;

	check_plan((const char *)data, size);
	check_decode(data, size);
	/* UTF-8 -> UTF-16 -> UTF-8 keeps every character XML allows */
	u = smstext_to_ucs2be((const char *)data, size, &n);
	if (u) {
		back = smstext_from_ucs2be(u, n);
		if (memchr(data, '\r', size) == NULL && memchr(data, 0, size) == NULL) {
			size_t i;
			int plain = 1;

			for (i = 0; i < size; i++)
				if ((data[i] < 0x20 && data[i] != '\t' && data[i] != '\n') ||
				    (i + 2 < size && data[i] == 0xEF && data[i + 1] == 0xBF &&
				     data[i + 2] >= 0xBE))
					plain = 0;
			if (plain && (strlen(back) != size || memcmp(back, data, size) != 0))
				abort();
		}
		free(back);
		free(u);
	}
	return 0;
}
