/*
 * libFuzzer target: any bytes as a JID and as a foreign address.
 *
 * - jid_parse() never crashes; what it accepts, jid_make() rebuilds into a
 *   JID that parses back to the same parts, and jid_bare() agrees.
 * - jid_unescape(jid_escape(s)) == s for every string.
 * - jid_escape(s) is a valid localpart when s is UTF-8 without control
 *   characters and the result fits in a localpart (1..1023 bytes).
 * A violated property aborts.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jid.h"
#include "xmalloc.h"
#include "xmltext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void
check_parse(const char *s)
{
	struct jid j, k;
	char *made, *bare, *bare2;

	if (jid_parse(s, &j) == -1) {
		if (j.local || j.domain || j.resource)
			abort();
		if (jid_bare(s) != NULL)
			abort();
		return;
	}
	/* The parts are what the validators accept. */
	if ((j.local && !jid_local_valid(j.local)) || !jid_domain_valid(j.domain) ||
	    (j.resource && !jid_resource_valid(j.resource)))
		abort();
	made = jid_make(j.local, j.domain, j.resource);
	if (jid_parse(made, &k) == -1)
		abort();
	if (!same(j.local, k.local) || !same(j.domain, k.domain) || !same(j.resource, k.resource))
		abort();
	bare = jid_bare(s);
	bare2 = jid_make(j.local, j.domain, NULL);
	if (bare == NULL || strcmp(bare, bare2) != 0)
		abort();
	free(bare);
	free(bare2);
	free(made);
	jid_clear(&k);
	jid_clear(&j);
}

static void
check_escape(const char *s)
{
	char *e = jid_escape(s), *u = jid_unescape(e);
	size_t n = strlen(s), en = strlen(e);
	bool clean = utf8_valid(s, n);

	if (strcmp(u, s) != 0)
		abort();
	for (const unsigned char *p = (const unsigned char *)s; *p && clean; p++)
		if (*p < 0x20 || *p == 0x7f)
			clean = false;
	if (clean && en >= 1 && en <= 1023 && !jid_local_valid(e))
		abort();
	free(u);
	free(e);
	/* Unescaping arbitrary text never grows it and never crashes. */
	u = jid_unescape(s);
	if (strlen(u) > n)
		abort();
	free(u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The daemon's strings end at the first NUL. */
	char *s = xstrndup((const char *)data, size);

	check_parse(s);
	check_escape(s);
	free(s);
	return 0;
}
