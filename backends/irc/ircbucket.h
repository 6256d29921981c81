/*
 * Per-server send throttle: a token bucket on messages and, optionally, one
 * on bytes (ngircd and others penalise bytes, not lines). Time is given by
 * the caller in milliseconds of a monotonic clock, so tests are exact.
 *
 * Implemented as GCRA (a "theoretical arrival time" per bucket), which is a
 * token bucket without a refill timer: the state is two integers.
 * docs/irc-engine.md explains the defaults.
 */
#ifndef SG_IRCBUCKET_H
#define SG_IRCBUCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IRCBUCKET_BURST 5          /* lines that may leave at once */
#define IRCBUCKET_INTERVAL_MS 1000 /* then one line per second */
#define IRCBUCKET_BYTE_BURST 1536  /* three full lines */
#define IRCBUCKET_BYTE_RATE 512    /* bytes per second sustained */
/* ngIRCd: the lines it parses a second per client (it queues the rest, never kills). */
#define IRCBUCKET_NGIRCD_BURST 3
#define IRCBUCKET_NGIRCD_INTERVAL_MS 334

struct ircbucket {
	unsigned burst;       /* 0: no message limit */
	unsigned interval_ms; /* one message regained every interval_ms */
	unsigned byte_burst;  /* 0: no byte limit */
	unsigned byte_rate;   /* bytes regained per second (> 0 with byte_burst) */
	uint64_t tat_ms;      /* message bucket: full when tat_ms <= now */
	uint64_t tat_us;      /* byte bucket, in microseconds */
};

/*
 * Set the limits and start full. burst == 0 (or interval_ms == 0) disables
 * the message limit; byte_burst == 0 (or byte_rate == 0) the byte limit.
 */
void ircbucket_init(struct ircbucket *, unsigned burst, unsigned interval_ms, unsigned byte_burst,
                    unsigned byte_rate);
/* ircbucket_init() with the IRCBUCKET_* defaults. */
void ircbucket_init_default(struct ircbucket *);
/*
 * New message limits (burst, interval_ms) keeping what was sent: no new
 * burst on top of the lines the old limits let go.
 */
void ircbucket_set_rate(struct ircbucket *, unsigned burst, unsigned interval_ms);
/* Full again (a new connection). */
void ircbucket_reset(struct ircbucket *);
/*
 * Milliseconds to wait before a line of len bytes (CR LF included) may be
 * sent at now_ms; 0 means now. A line longer than the byte burst may go
 * when the byte bucket is full.
 */
uint64_t ircbucket_wait(const struct ircbucket *, uint64_t now_ms, size_t len);
/* Account for a line that was sent at now_ms (even one sent unthrottled). */
void ircbucket_take(struct ircbucket *, uint64_t now_ms, size_t len);
/* ircbucket_wait() == 0, then ircbucket_take(): true if the line may go. */
bool ircbucket_try(struct ircbucket *, uint64_t now_ms, size_t len);

#endif
