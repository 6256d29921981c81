/*
 * Text that may enter an XML stream. Everything from a foreign network goes
 * through xmltext_clean() before it becomes stanza text (SPEC section 8).
 */
#ifndef SG_XMLTEXT_H
#define SG_XMLTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool utf8_valid(const char *s, size_t n);

/*
 * A copy of s[0..n) that XML 1.0 accepts: invalid UTF-8 sequences become
 * U+FFFD, characters XML forbids (C0 controls but tab/LF/CR, U+FFFE, U+FFFF)
 * and the control characters it merely discourages (DEL, C1) are dropped,
 * CR LF and lone CR become LF. The result is cut to at most max bytes
 * (0 = no limit) on a character boundary. Caller frees.
 */
char *xmltext_clean(const char *s, size_t n, size_t max);

/* Length in bytes of the longest prefix of s that holds at most max bytes and ends on a character
 * boundary. */
size_t utf8_prefix(const char *s, size_t max);

#endif
