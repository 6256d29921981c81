/*
 * Reassembly of incoming concatenated SMS.
 *
 * Parts are grouped by (line, sender, reference and its width, total);
 * they may come out of order, interleaved with other senders' and twice.
 * A copy is a part with the same key, sequence number and text as one held
 * or delivered within the timeout; the same key with another text is a new
 * message under a reused reference (what waited is delivered as it is).
 * A complete group becomes one message; a group still incomplete after the
 * timeout is delivered with a marker where parts are missing
 * ("[…part 2 of 3 missing…]"). At most max_groups groups wait; a new one
 * beyond that flushes the oldest. Time is given by the caller.
 *
 * Text is kept as the UTF-16 big-endian units gammu decodes, and joined
 * before it becomes UTF-8, so a character split across parts survives.
 */
#ifndef SG_SMSPARTS_H
#define SG_SMSPARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest text kept per part, in UTF-16 units (an SMS decodes to at most 160). */
#define SMSPARTS_MAX_UNITS 200

/* One received SMS. Strings and buffers are copied. */
struct smsparts_in {
	const char *line;          /* the line (modem) it came in on */
	const char *sender;        /* normalised sender address */
	unsigned ref;              /* concatenation reference from the UDH */
	bool ref16;                /* 16-bit reference (else 8-bit) */
	unsigned total;            /* parts in the message; 0 or 1: not concatenated */
	unsigned seq;              /* this part, 1..total */
	const unsigned char *text; /* UTF-16BE */
	size_t nunits;
	time_t stamp;   /* SMSC timestamp; 0 when unknown */
	uint64_t token; /* the driver's handle on the stored part (e.g. its SIM location) */
};

/* A message ready for the user. */
struct smsparts_msg {
	char *line;
	char *sender;
	char *text;       /* clean UTF-8 (smstext_from_ucs2be), markers included */
	time_t stamp;     /* earliest known part stamp, 0 if none */
	unsigned total;   /* parts expected (1 for a single SMS) */
	unsigned missing; /* parts that never came */
	uint64_t
	        *tokens; /* the stored parts it was made of: delete them once the message is safe */
	size_t ntokens;
};

enum smsparts_result {
	SMSPARTS_WAITING,   /* kept: more parts expected */
	SMSPARTS_READY,     /* a message is ready: smsparts_next() */
	SMSPARTS_DUPLICATE, /* a copy of a part already held or delivered: delete it, nothing else
	                     */
};

struct smsparts;

/* max_groups >= 1; timeout in seconds. Free with smsparts_free(). */
struct smsparts *smsparts_new(size_t max_groups, time_t timeout);
void smsparts_free(struct smsparts *);

enum smsparts_result smsparts_add(struct smsparts *, const struct smsparts_in *, time_t now);
/* Deliver, incomplete, every group that waited past the timeout; returns how many. */
size_t smsparts_expire(struct smsparts *, time_t now);
/* The next ready message (caller frees with smsparts_msg_free()), or NULL. */
struct smsparts_msg *smsparts_next(struct smsparts *);
void smsparts_msg_free(struct smsparts_msg *);
/* When the oldest waiting group times out; 0 when none waits. */
time_t smsparts_deadline(const struct smsparts *);
/* Groups waiting. */
size_t smsparts_pending(const struct smsparts *);

#endif
