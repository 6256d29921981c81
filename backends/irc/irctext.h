/*
 * Text from IRC on its way to XMPP: charset, mIRC formatting, characters an
 * XML stream cannot carry; and CTCP framing.
 */
#ifndef SG_IRCTEXT_H
#define SG_IRCTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IRCTEXT_FALLBACK "CP1252" /* iconv name used when none is configured */

/* Map bold, italic, strikethrough and monospace to XEP-0393 markup. */
#define IRCTEXT_STYLING 0x01

/*
 * Decode len bytes of IRC text: kept as is when it is valid UTF-8, otherwise
 * converted from fallback (an iconv name; NULL means IRCTEXT_FALLBACK, an
 * unknown name means ISO-8859-1), bytes the charset cannot map becoming
 * U+FFFD. Returns a new string (caller frees), valid UTF-8, *outlen (may be
 * NULL) its length. It may still hold control characters.
 */
char *irctext_decode(const char *in, size_t len, const char *fallback, size_t *outlen);

/*
 * irctext_decode(), then remove mIRC formatting (\x02 \x03[fg[,bg]]
 * \x04[RRGGBB[,RRGGBB]] \x0f \x11 \x16 \x1d \x1e \x1f; with IRCTEXT_STYLING
 * the bold/italic/strike/monospace spans become *x* _x_ ~x~ `x`), then drop
 * every character irctext_xml_char_ok() refuses. The result (caller frees)
 * is valid UTF-8 that any XML 1.0 stream accepts.
 */
char *irctext_to_xmpp(const char *in, size_t len, const char *fallback, unsigned flags);

/*
 * Whether cp may appear in a message body: XML 1.0 Char minus the C1
 * controls and DEL. Tab and newline are kept; CR and other C0 are not.
 */
bool irctext_xml_char_ok(uint32_t cp);

/* ---- CTCP ---- */

enum irctext_ctcp_kind {
	IRCTEXT_CTCP_NONE, /* ordinary text */
	IRCTEXT_CTCP_ACTION,
	IRCTEXT_CTCP_VERSION,
	IRCTEXT_CTCP_PING,
	IRCTEXT_CTCP_TIME,
	IRCTEXT_CTCP_OTHER,
};

struct irctext_ctcp {
	enum irctext_ctcp_kind kind;
	const char *cmd; /* points into the text; not NUL-terminated */
	size_t cmd_len;
	const char *args; /* after the space, without the closing \x01; may be empty */
	size_t args_len;
};

/*
 * Recognise "\x01CMD args\x01" (the closing \x01 is optional, as some clients
 * omit it). The command is matched without regard to case. Returns the kind,
 * IRCTEXT_CTCP_NONE (and out zeroed) for ordinary text.
 */
enum irctext_ctcp_kind irctext_ctcp_parse(const char *text, size_t len, struct irctext_ctcp *out);
/*
 * "\x01CMD args\x01" (no space when args is NULL or empty), with \x01, CR, LF
 * and NUL removed from args. Returns a new string the caller frees, or NULL
 * when cmd is empty or not printable ASCII without spaces.
 */
char *irctext_ctcp_build(const char *cmd, const char *args);

#endif
