/*
 * libFuzzer target: what the IRC authentication code reads from others.
 * An identd query (from the network) parses to two ports in 1..65535 or
 * is refused; a line (from an IRC server, or ours) copied for the log by
 * ircd_redacted() stays a C string of at most its length plus "<hidden>",
 * keeps everything before what it hides, and never shows the text after a
 * PASS; a fingerprint parses to 64 lower-case hex digits or is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ircdrv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *r, fp[65];
	unsigned a, b;
	size_t n;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = strlen(s);
	if (ircd_identd_parse(s, &a, &b) == 0 && (a < 1 || a > 65535 || b < 1 || b > 65535))
		abort();
	r = ircd_redacted(s, n);
	if (strlen(r) > n + strlen("<hidden>"))
		abort();
	if (strcmp(r, s) != 0) {
		size_t k = strlen(r) - strlen("<hidden>");

		/* Only the tail changes, and it becomes "<hidden>". */
		if (strcmp(r + k, "<hidden>") != 0 || strncmp(r, s, k) != 0)
			abort();
	}
	if (strncmp(s, "PASS ", 5) == 0 && strcmp(r, "PASS <hidden>") != 0)
		abort();
	free(r);
	if (ircd_fingerprint_parse(s, fp) == 0) {
		if (strlen(fp) != 64 || strspn(fp, "0123456789abcdef") != 64)
			abort();
	}
	free(s);
	return 0;
}
