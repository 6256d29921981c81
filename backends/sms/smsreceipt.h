/*
 * Delivery receipts for long texts: one outgoing message is N parts, each
 * with the message reference (TP-MR, 0..255 per line) the modem gave it;
 * status reports arrive per reference. This turns them into exactly one
 * outcome per message: delivered once every part is, failed as soon as one
 * part fails for good. A report goes to the most recent unfinished message
 * that used its reference on that line, so references reused later do not
 * confuse an older message; messages without an outcome are forgotten
 * after max_age seconds. Time is given by the caller.
 */
#ifndef SG_SMSRECEIPT_H
#define SG_SMSRECEIPT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum smsreceipt_state {
	SMSRECEIPT_PENDING, /* not yet known, or the network still tries */
	SMSRECEIPT_DELIVERED,
	SMSRECEIPT_FAILED, /* for good */
};

struct smsreceipt_outcome {
	uint64_t id; /* as given to smsreceipt_track() */
	enum smsreceipt_state state;
	char *why; /* FAILED: the reason (caller frees); else NULL */
	/*
	 * smsreceipt_report() returning 0: part index `part` of message id went
	 * from pending to delivered (changed is 1), so a caller that keeps the
	 * states elsewhere (a store) can follow; changed is 0 otherwise.
	 */
	int changed;
	size_t part;
};

struct smsreceipt;

struct smsreceipt *smsreceipt_new(time_t max_age);
void smsreceipt_free(struct smsreceipt *);

/*
 * Track message id (the driver's own, e.g. its store id), sent on line as
 * n parts with references refs[0..n-1], at time sent. Arrays are copied.
 */
void smsreceipt_track(struct smsreceipt *, const char *line, uint64_t id, const int *refs, size_t n,
                      time_t sent);
/*
 * The same for a message some of whose parts already have an outcome (read
 * back from a store after a restart): states[i] is part i's, or states is
 * NULL (all pending).
 */
void smsreceipt_track_states(struct smsreceipt *, const char *line, uint64_t id, const int *refs,
                             const enum smsreceipt_state *states, size_t n, time_t sent);

/*
 * A status report for reference ref on line. Returns 1 with *out filled
 * when this report decides the message (once per message), 0 otherwise:
 * still pending, a temporary status, a repeated report, or no unfinished
 * message uses ref. why may be NULL (a generic reason is used).
 */
int smsreceipt_report(struct smsreceipt *, const char *line, int ref, enum smsreceipt_state,
                      const char *why, struct smsreceipt_outcome *out);

/* Forget messages sent more than max_age ago; returns how many. */
size_t smsreceipt_expire(struct smsreceipt *, time_t now);
/* Forget one message (e.g. the user no longer waits); returns 1 if it was tracked. */
int smsreceipt_forget(struct smsreceipt *, uint64_t id);
size_t smsreceipt_pending(const struct smsreceipt *);

/*
 * TP-Status of a status report (3GPP TS 23.040 9.2.3.15) to a state, with
 * a readable reason in *why (a static string) for anything but delivery.
 */
enum smsreceipt_state smsreceipt_tp_status(int tp_status, const char **why);

#endif
