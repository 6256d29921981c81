/*
 * Cutting an XMPP body into PRIVMSG/NOTICE payloads that fit the 512-byte
 * line as the server relays it to the other clients:
 *
 *     :nick!user@host PRIVMSG #target :payload\r\n
 *
 * Policy (what a reader of the channel sees):
 * - one message per body line; CR LF, LF and a lone CR end a line; lines
 *   that are empty or only spaces and tabs are skipped;
 * - a line too long for one message is cut on a UTF-8 character boundary,
 *   preferably just after a space in the second half of the room; that space
 *   stays at the end of the earlier part, so the parts of one line put end
 *   to end give the line back exactly;
 * - invalid UTF-8 becomes U+FFFD and \x01 is dropped (so XMPP text can never
 *   forge a CTCP request); CR, LF and NUL cannot remain (they end lines);
 * - no part is empty, none breaks a UTF-8 sequence.
 */
#ifndef SG_IRCSPLIT_H
#define SG_IRCSPLIT_H

#include <stddef.h>

#define IRCSPLIT_ACTION 0x01 /* frame each part as "\x01ACTION text\x01" */

#define IRCSPLIT_USERLEN 10 /* a guess at user when not yet known ('~' + 9) */
#define IRCSPLIT_HOSTLEN 63 /* RFC 2812's longest host name */

/*
 * Length of "nick!user@host" as the server will show it. A NULL user or host
 * (not yet learnt) counts the longest it could be.
 */
size_t ircsplit_source_len(const char *nick, const char *user, const char *host);
/*
 * Bytes left for the payload in ":source COMMAND target :payload\r\n" under
 * linelen (0: 512); 0 when nothing fits.
 */
size_t ircsplit_room(const char *command, const char *target, size_t source_len, size_t linelen);

/*
 * Split body into payloads of at most room bytes each (ACTION framing
 * included with IRCSPLIT_ACTION). Returns a NULL-terminated vector the caller
 * frees with ircsplit_free(), *n its count (0 when the body is only blank
 * lines); NULL when room is too small for any character (under 4 bytes of
 * text).
 */
char **ircsplit(const char *body, size_t room, unsigned flags, size_t *n);
void ircsplit_free(char **parts);

#endif
