/*
 * The seam between gammu's message structures and the pure SMS modules:
 * what a line's worker thread does with an SMS gammu decoded, and how a
 * text becomes the parts gammu sends. No I/O: no state machine is needed.
 */
#ifndef SG_SMSGAMMU_H
#define SG_SMSGAMMU_H

#include <gammu.h>
#include <stdbool.h>
#include <stdint.h>

#include "smsparts.h"
#include "smsreceipt.h"
#include "smstext.h"

/* A received SMS ready for smsparts_add(): in points into the buffers below. */
struct smsgammu_in {
	struct smsparts_in in;
	char *sender;        /* normalised sender address */
	unsigned char *text; /* UTF-16BE: the text, or a note for what cannot be shown */
	bool flash;          /* class 0: the sender meant it for the screen only */
	bool note; /* text is our note (binary data, MMS notification), not the sender's */
};

/*
 * Read an SMS_Deliver message. Returns 0 with *out filled (free with
 * smsgammu_in_free()), or -1 with *why (caller frees) when it is not an
 * incoming text (status report, submit) or has no usable sender.
 * line and default_country are used during the call only; token is the
 * driver's handle on the stored copy (given back by smsparts).
 */
int smsgammu_incoming(const GSM_SMSMessage *sms, const char *line, const char *default_country,
                      uint64_t token, struct smsgammu_in *out, char **why);
void smsgammu_in_free(struct smsgammu_in *);

/*
 * Read an SMS_Status_Report: its message reference, and what it says.
 * *why is a static string (NULL for delivered). Returns 0, or -1 when sms
 * is not a status report.
 */
int smsgammu_status(const GSM_SMSMessage *sms, int *ref, enum smsreceipt_state *state,
                    const char **why);

/*
 * Encode a UTF-8 text for `to` (an E.164 number or short code) as the parts
 * gammu will send: GSM 7-bit when every character fits, UCS-2 otherwise,
 * concatenated with an 8-bit reference. report asks for a status report on
 * every part. *plan describes the parts (free with smstext_plan_free()).
 * Returns 0, or -1 with *why (caller frees): invalid UTF-8, too many parts,
 * or gammu disagreeing with the plan (then nothing is sent).
 */
int smsgammu_encode(const char *text, const char *to, bool report, GSM_MultiSMSMessage *out,
                    struct smstext_plan *plan, char **why);

/* Most parts gammu builds for one message. */
#define SMSGAMMU_MAX_PARTS GSM_MAX_MULTI_SMS

#endif
