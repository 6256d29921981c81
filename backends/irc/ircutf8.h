/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. Shared by the splitter and the text sanitiser.
 */
#ifndef SG_IRCUTF8_H
#define SG_IRCUTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length (1..4) of the valid sequence at s (n bytes available) with its code
 * point in *cp, or 0 when the bytes there are not valid UTF-8.
 */
size_t ircutf8_decode(const char *s, size_t n, uint32_t *cp);
/* Whether all n bytes are valid UTF-8. */
bool ircutf8_valid(const char *s, size_t n);
/* Write cp (a valid scalar value) at out; returns the length (1..4). */
size_t ircutf8_encode(uint32_t cp, char *out);

#endif
