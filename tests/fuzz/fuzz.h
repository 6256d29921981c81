/*
 * What the libFuzzer targets in tests/fuzz share (included, not compiled
 * alone): the properties every normaliser of untrusted input promises.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdlib.h>
#include <string.h>

/* again, what normalising the accepted out once more gave, is out unchanged. Frees both. */
static inline void
fuzz_unchanged(char *out, char *again)
{
	if (strcmp(out, again) != 0)
		abort();
	free(again);
	free(out);
}

/* A refusal always says why. Frees why. */
static inline void
fuzz_refused_with_reason(char *why)
{
	if (why == NULL || *why == '\0')
		abort();
	free(why);
}

#endif
