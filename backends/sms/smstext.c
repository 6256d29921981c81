/* SMS text coding, splitting and decoding; see smstext.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "smstext.h"

/* Tables kept in rows of eight septets. */
/* clang-format off */
/* GSM 03.38 default alphabet, by septet. 0x1B is the escape to the extension table. */
static const uint16_t gsm7_basic[128] = {
	0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC,
	0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5,
	0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8,
	0x03A3, 0x0398, 0x039E, 0xFFFF, 0x00C6, 0x00E6, 0x00DF, 0x00C9,
	0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027,
	0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,
	0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
	0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,
	0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
	0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,
	0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
	0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,
	0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
	0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,
	0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
	0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/* The extension table's characters (each sent as ESC + septet). */
static const uint16_t gsm7_ext[] = {
	0x000C, /* form feed */
	0x005E, 0x007B, 0x007D, 0x005C, 0x005B, 0x007E, 0x005D, 0x007C,
	0x20AC, /* euro sign */
};
/* clang-format on */

int
smstext_gsm7_cost(uint32_t cp)
{
	size_t i;

	if (cp > 0xFFFF || cp == 0xFFFF)
		return 0;
	/* Most text is ASCII letters, digits and space: all in the basic table. */
	if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
	    cp == ' ')
		return 1;
	for (i = 0; i < 128; i++)
		if (gsm7_basic[i] == cp)
			return 1;
	for (i = 0; i < sizeof(gsm7_ext) / sizeof(gsm7_ext[0]); i++)
		if (gsm7_ext[i] == cp)
			return 2;
	return 0;
}

/*
 * Decode one code point at s[*i]; advance *i. Returns 0, or -1 on an
 * invalid sequence (overlong, surrogate, beyond U+10FFFF, truncated).
 */
static int
utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
	unsigned char c = s[*i];
	size_t n, k;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return 0;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 1;
		v = c & 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 2;
		v = c & 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 3;
		v = c & 0x07;
		min = 0x10000;
	} else
		return -1;
	if (len - *i <= n)
		return -1;
	for (k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xC0) != 0x80)
			return -1;
		v = (v << 6) | (s[*i + k] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return -1;
	*cp = v;
	*i += n + 1;
	return 0;
}

bool
smstext_utf8_valid(const char *s, size_t len)
{
	size_t i = 0;
	uint32_t cp;

	while (i < len)
		if (utf8_next((const unsigned char *)s, len, &i, &cp) == -1)
			return false;
	return true;
}

static enum smstext_coding
choose_coding(const unsigned char *s, size_t len)
{
	size_t i = 0;
	uint32_t cp;

	while (i < len) {
		utf8_next(s, len, &i, &cp);
		if (smstext_gsm7_cost(cp) == 0)
			return SMSTEXT_UCS2;
	}
	return SMSTEXT_GSM7;
}

static unsigned
unit_cost(enum smstext_coding coding, uint32_t cp)
{
	if (coding == SMSTEXT_GSM7)
		return (unsigned)smstext_gsm7_cost(cp);
	return cp > 0xFFFF ? 2 : 1;
}

int
smstext_plan(const char *text, size_t len, struct smstext_plan *plan, char **why)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i, start, cap, limit;
	unsigned cost, units;
	uint32_t cp;

	memset(plan, 0, sizeof(*plan));
	if (!smstext_utf8_valid(text, len)) {
		*why = xstrdup("the text is not valid UTF-8");
		return -1;
	}
	plan->coding = choose_coding(s, len);
	for (i = 0; i < len;) {
		utf8_next(s, len, &i, &cp);
		plan->units += unit_cost(plan->coding, cp);
	}

	limit = plan->coding == SMSTEXT_GSM7 ? SMSTEXT_GSM7_SINGLE : SMSTEXT_UCS2_SINGLE;
	if (plan->units <= limit) {
		plan->nparts = 1;
		plan->parts = xcalloc(1, sizeof(*plan->parts));
		plan->parts[0].len = len;
		plan->parts[0].units = (unsigned)plan->units;
		return 0;
	}

	/* Greedy: a character that would overflow the part starts the next one. */
	limit = plan->coding == SMSTEXT_GSM7 ? SMSTEXT_GSM7_PART : SMSTEXT_UCS2_PART;
	cap = plan->units / (limit - 1) + 2;
	plan->parts = xcalloc(cap, sizeof(*plan->parts));
	start = 0;
	units = 0;
	for (i = 0; i < len;) {
		size_t at = i;

		utf8_next(s, len, &i, &cp);
		cost = unit_cost(plan->coding, cp);
		if (units + cost > limit) {
			plan->parts[plan->nparts].off = start;
			plan->parts[plan->nparts].len = at - start;
			plan->parts[plan->nparts].units = units;
			plan->nparts++;
			start = at;
			units = 0;
		}
		units += cost;
	}
	plan->parts[plan->nparts].off = start;
	plan->parts[plan->nparts].len = len - start;
	plan->parts[plan->nparts].units = units;
	plan->nparts++;
	return 0;
}

void
smstext_plan_free(struct smstext_plan *plan)
{
	free(plan->parts);
	memset(plan, 0, sizeof(*plan));
}

unsigned char *
smstext_to_ucs2be(const char *text, size_t len, size_t *nunits)
{
	const unsigned char *s = (const unsigned char *)text;
	unsigned char *out;
	size_t i = 0, o = 0;
	uint32_t cp;

	if (!smstext_utf8_valid(text, len))
		return NULL;
	/* At most one UTF-16 unit per input byte, or two per 4-byte sequence. */
	out = xmalloc(2 * len + 2);
	while (i < len) {
		utf8_next(s, len, &i, &cp);
		if (cp > 0xFFFF) {
			uint32_t v = cp - 0x10000;
			uint16_t hi = (uint16_t)(0xD800 | (v >> 10)),
			         lo = (uint16_t)(0xDC00 | (v & 0x3FF));

			out[o++] = (unsigned char)(hi >> 8);
			out[o++] = (unsigned char)(hi & 0xFF);
			out[o++] = (unsigned char)(lo >> 8);
			out[o++] = (unsigned char)(lo & 0xFF);
		} else {
			out[o++] = (unsigned char)(cp >> 8);
			out[o++] = (unsigned char)(cp & 0xFF);
		}
	}
	out[o] = out[o + 1] = 0;
	*nunits = o / 2;
	return out;
}

size_t
smstext_ucs2be_len(const unsigned char *buf)
{
	size_t n = 0;

	while (buf[2 * n] != 0 || buf[2 * n + 1] != 0)
		n++;
	return n;
}

static size_t
put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

char *
smstext_from_ucs2be(const unsigned char *buf, size_t nunits)
{
	/* A unit gives at most 3 bytes; a pair (two units) gives 4. */
	char *out = xmalloc(3 * nunits + 1);
	size_t i, o = 0;

	for (i = 0; i < nunits; i++) {
		uint32_t u = ((uint32_t)buf[2 * i] << 8) | buf[2 * i + 1];

		if (u >= 0xD800 && u <= 0xDBFF && i + 1 < nunits) {
			uint32_t l = ((uint32_t)buf[2 * i + 2] << 8) | buf[2 * i + 3];

			if (l >= 0xDC00 && l <= 0xDFFF) {
				u = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
				i++;
			}
		}
		if (u >= 0xD800 && u <= 0xDFFF)
			u = 0xFFFD;
		if (u == '\r') {
			/* CR LF and a lone CR both end a line as LF. */
			if (i + 1 < nunits && buf[2 * i + 2] == 0 && buf[2 * i + 3] == '\n')
				continue;
			u = '\n';
		}
		if ((u < 0x20 && u != '\t' && u != '\n') || u == 0xFFFE || u == 0xFFFF)
			continue;
		o += put_utf8(out + o, u);
	}
	out[o] = '\0';
	return out;
}
