/*
 * libFuzzer target: the outgoing splitter. Each part fits the room, is valid
 * UTF-8 with no CR/LF/NUL/\x01, and the parts put end to end are the
 * cleaned body without its line breaks and blank lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "ircsplit.h"
#include "ircutf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference: lines of the valid-UTF-8, \x01-free body, blank ones out. */
static char *
expected(const char *body)
{
	size_t n = strlen(body), i = 0, k, o = 0, start, j;
	char *clean = xmalloc(3 * n + 1), *out = xmalloc(3 * n + 1);
	uint32_t cp;
	size_t cl = 0;
	bool blank;

	while (i < n) {
		if ((k = ircutf8_decode(body + i, n - i, &cp)) == 0) {
			cl += ircutf8_encode(0xfffd, clean + cl);
			i++;
		} else {
			if (cp != 1) {
				memcpy(clean + cl, body + i, k);
				cl += k;
			}
			i += k;
		}
	}
	for (i = 0; i < cl;) {
		start = i;
		while (i < cl && clean[i] != '\r' && clean[i] != '\n')
			i++;
		blank = true;
		for (j = start; j < i; j++)
			if (clean[j] != ' ' && clean[j] != '\t')
				blank = false;
		if (!blank) {
			memcpy(out + o, clean + start, i - start);
			o += i - start;
		}
		if (i < cl && clean[i] == '\r' && i + 1 < cl && clean[i + 1] == '\n')
			i++;
		if (i < cl)
			i++;
	}
	out[o] = '\0';
	free(clean);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body, *want, *joined;
	char **v;
	size_t room, n, i, len, o = 0;
	unsigned flags;

	if (size < 2)
		return 0;
	room = data[0] + 1; /* 1..256: small rooms stress the cutting */
	flags = data[1] & 1 ? IRCSPLIT_ACTION : 0;
	body = xstrndup((const char *)data + 2, size - 2);

	v = ircsplit(body, room, flags, &n);
	if (v == NULL) {
		if (room >= (flags ? 13u : 4u))
			abort();
		free(body);
		return 0;
	}
	want = expected(body);
	joined = xmalloc(strlen(want) + 1 + 3 * size);
	for (i = 0; i < n; i++) {
		const char *t = v[i];
		len = strlen(t);
		if (len == 0 || len > room || !ircutf8_valid(t, len) || strpbrk(t, "\r\n") != NULL)
			abort();
		if (flags) {
			if (len <= 9 || strncmp(t, "\001ACTION ", 8) != 0 || t[len - 1] != '\001' ||
			    memchr(t + 8, '\001', len - 9) != NULL)
				abort();
			t += 8;
			len -= 9;
		} else if (strchr(t, '\001') != NULL)
			abort();
		memcpy(joined + o, t, len);
		o += len;
	}
	if (v[n] != NULL)
		abort();
	joined[o] = '\0';
	if (strcmp(joined, want) != 0)
		abort();
	free(joined);
	free(want);
	ircsplit_free(v);
	free(body);
	return 0;
}
