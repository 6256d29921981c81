/*
 * SMS text: which coding a text needs, how it splits into parts, and how
 * received text becomes clean UTF-8. Pure functions, no modem and no gammu.
 *
 * Coding (3GPP TS 23.038): GSM 7-bit when every character is in the default
 * alphabet or its extension table (an extension character costs two septets:
 * ESC and the character); UCS-2 otherwise, where a character outside the BMP
 * costs two UTF-16 units. A single SMS holds 160 septets or 70 units; a part
 * of a concatenated SMS (8-bit reference UDH, 6 octets) 153 septets or 67
 * units. A part never ends inside an escape sequence or a surrogate pair.
 * See docs/sms-encoding.md.
 */
#ifndef SG_SMSTEXT_H
#define SG_SMSTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smstext_coding {
	SMSTEXT_GSM7, /* GSM 03.38 default alphabet, 7-bit */
	SMSTEXT_UCS2, /* UTF-16 big-endian (UCS-2 with surrogates) */
};

#define SMSTEXT_GSM7_SINGLE 160
#define SMSTEXT_GSM7_PART 153
#define SMSTEXT_UCS2_SINGLE 70
#define SMSTEXT_UCS2_PART 67
/* An 8-bit concatenation UDH counts parts in one octet. */
#define SMSTEXT_MAX_PARTS 255

/* One part: a byte range of the UTF-8 text, and what it costs. */
struct smstext_part {
	size_t off;     /* first byte in the text */
	size_t len;     /* bytes */
	unsigned units; /* septets (GSM7) or UTF-16 units (UCS2) */
};

struct smstext_plan {
	enum smstext_coding coding;
	size_t units;  /* whole text: septets or UTF-16 units */
	size_t nparts; /* 1 for a text that fits one SMS, also the empty text */
	struct smstext_part *parts;
};

/*
 * Septets a code point costs in GSM 7-bit: 1 (default alphabet), 2
 * (extension table), or 0 (not representable).
 */
int smstext_gsm7_cost(uint32_t cp);

/*
 * Plan how the UTF-8 text (len bytes, NUL bytes allowed) goes out. Returns 0
 * with *plan filled (free with smstext_plan_free()), or -1 with *why (caller
 * frees) when the text is not valid UTF-8. The parts are exactly the SMS
 * that will be sent: their texts concatenated give back the input.
 */
int smstext_plan(const char *text, size_t len, struct smstext_plan *plan, char **why);
void smstext_plan_free(struct smstext_plan *plan);

/*
 * UTF-8 to UTF-16 big-endian, the "unicode" strings gammu takes. Returns a
 * buffer (caller frees) terminated by two zero octets; *nunits gets the
 * number of UTF-16 units before it. NULL when the input is not valid UTF-8.
 */
unsigned char *smstext_to_ucs2be(const char *text, size_t len, size_t *nunits);

/*
 * Received text (UTF-16 big-endian, nunits units, as gammu decodes every
 * SMS) to UTF-8 fit for an XML stream: surrogate pairs joined, unpaired
 * surrogates become U+FFFD, CR LF and lone CR become LF, NUL and the other
 * characters XML forbids (C0 controls but TAB/LF/CR, U+FFFE, U+FFFF) are
 * removed. Returns a NUL-terminated string (caller frees), never NULL.
 */
char *smstext_from_ucs2be(const unsigned char *buf, size_t nunits);

/* Number of UTF-16 units in a gammu string (up to its two zero octets). */
size_t smstext_ucs2be_len(const unsigned char *buf);

/* True when s (len bytes) is valid UTF-8 (no overlongs, surrogates or >U+10FFFF). */
bool smstext_utf8_valid(const char *s, size_t len);

#endif
