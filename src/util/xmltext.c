/* UTF-8 validation and XML-safe cleaning; see xmltext.h. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "xmalloc.h"
#include "xmltext.h"

/*
 * Decodes one UTF-8 character at s (n bytes left). Returns its length and
 * sets *cp, or 0 when the sequence is malformed.
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

bool
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	for (size_t i = 0; i < n;) {
		size_t len = utf8_decode(p + i, n - i, &cp);

		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

char *
xmltext_clean(const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = xmalloc(n * 3 + 1);
	size_t o = 0;
	uint32_t cp;

	for (size_t i = 0; i < n;) {
		size_t len = utf8_decode(p + i, n - i, &cp);
		const char *add;
		size_t addlen;

		if (len == 0) {
			add = "\xef\xbf\xbd"; /* U+FFFD */
			addlen = 3;
			len = 1;
		} else if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
		           (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff) {
			/* DEL and C1 are legal XML, but controls all the same (SPEC 8). */
			i += len;
			continue;
		} else if (cp == '\r') {
			/* CR LF and lone CR both become LF. */
			i += len;
			if (i < n && p[i] == '\n')
				continue;
			add = "\n";
			addlen = 1;
			len = 0;
		} else {
			add = (const char *)p + i;
			addlen = len;
		}
		if (max && o + addlen > max)
			break;
		memcpy(out + o, add, addlen);
		o += addlen;
		i += len;
	}
	out[o] = '\0';
	return out;
}

size_t
utf8_prefix(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}
