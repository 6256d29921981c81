/*
 * libFuzzer target: any bytes as foreign text for an XML stream. The first
 * two bytes choose the size limit (0 = none), the rest is the text.
 *
 * - xmltext_clean()'s output is valid UTF-8 holding only characters XML 1.0
 *   allows and SPEC section 8 lets through: no C0 control but tab and LF, no
 *   CR, no DEL or C1 control, no U+FFFE/U+FFFF; it fits the limit.
 * - Cleaning is idempotent: clean(clean(x)) == clean(x).
 * - Text that is already clean comes out unchanged (when it fits).
 * - utf8_valid() agrees with an independent decoder written from the
 *   Unicode table of well-formed byte sequences.
 * - utf8_prefix() cuts on a character boundary within its limit.
 * A violated property aborts.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmltext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Length of the well-formed sequence at s (Unicode 15, table 3-7), or 0.
 * Sets *cp.
 */
static size_t
ref_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t b = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (b <= 0x7f) {
		*cp = b;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf)
		len = 2;
	else if (b >= 0xe0 && b <= 0xef)
		len = 3;
	else if (b >= 0xf0 && b <= 0xf4)
		len = 4;
	else
		return 0;
	if (b == 0xe0)
		lo = 0xa0;
	else if (b == 0xed)
		hi = 0x9f;
	else if (b == 0xf0)
		lo = 0x90;
	else if (b == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	*cp = len == 2   ? (uint32_t)(b & 0x1f) << 6 | (s[1] & 0x3f)
	      : len == 3 ? (uint32_t)(b & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f)
	                 : (uint32_t)(b & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
	                           (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	return len;
}

static bool
ref_valid(const uint8_t *s, size_t n)
{
	uint32_t cp;

	for (size_t i = 0, len; i < n; i += len)
		if ((len = ref_decode(s + i, n - i, &cp)) == 0)
			return false;
	return true;
}

/* A character that may leave xmltext_clean(). */
static bool
allowed(uint32_t cp)
{
	if (cp < 0x20)
		return cp == '\t' || cp == '\n';
	if (cp >= 0x7f && cp <= 0x9f)
		return false;
	return cp != 0xfffe && cp != 0xffff;
}

/* Valid UTF-8 of allowed characters only. */
static bool
is_clean(const uint8_t *s, size_t n)
{
	uint32_t cp;

	for (size_t i = 0, len; i < n; i += len)
		if ((len = ref_decode(s + i, n - i, &cp)) == 0 || !allowed(cp))
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max = 0, n;
	const char *text;
	char *a, *b;

	if (size >= 2) {
		max = (size_t)data[0] << 8 | data[1];
		max = max > 0x8000 ? 0 : max;
		data += 2;
		size -= 2;
	}
	text = (const char *)data;

	if (utf8_valid(text, size) != ref_valid(data, size))
		abort();

	a = xmltext_clean(text, size, max);
	n = strlen(a);
	if (!is_clean((const uint8_t *)a, n))
		abort();
	if (max && n > max)
		abort();
	b = xmltext_clean(a, n, max);
	if (strcmp(a, b) != 0)
		abort();
	free(b);
	/* Clean input without NULs, within the limit, passes unchanged. */
	if (is_clean(data, size) && memchr(data, '\0', size) == NULL && (max == 0 || size <= max) &&
	    (n != size || memcmp(a, data, size) != 0))
		abort();

	/* Every cut of the (valid) output lands on a character boundary. */
	for (size_t k = 0; k <= n + 1; k += 1 + k / 8) {
		size_t p = utf8_prefix(a, k);

		if (p > k || p > n || !utf8_valid(a, p) || (k >= n && p != n))
			abort();
	}
	free(a);
	return 0;
}
