/*
 * libFuzzer target: SMS status reports from a hostile modem or SMS centre.
 * Input: a header that tracks up to 8 sent messages (per message: line,
 * number of parts, a reference per part), then records of (flags, PDU
 * type, TP-MR, TP-ST): what gammu hands the worker thread for a report,
 * read by smsgammu_status() and given to the receipt tracker, sometimes
 * after time passes or a message is forgotten. Properties: never crash or
 * leak; a status maps to delivered with no reason, or to a state with one;
 * each message is decided at most once, a failure with a reason; the
 * tracker forgets everything in the end.
 *
 * The records are gammu's decoded fields, not raw PDUs: gammu 1.42's own
 * PDU decoder (GSM_DecodePDUFrame) overflows its stack on an SMSC address
 * longer than the 12 octets 3GPP TS 24.011 allows (tests/fuzz/known/
 * gammu-smsc-length, found by an earlier version of this target;
 * docs/security.md), so fuzzing through it finds that library bug again
 * instead of ours.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gammu.h>

#include "driver.h"
#include "smsgammu.h"
#include "smsreceipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MSGS 8
#define PARTS 6

static void
report(struct smsreceipt *r, const char *line, int ref, enum smsreceipt_state st, const char *why,
       int decided[MSGS])
{
	struct smsreceipt_outcome o;

	memset(&o, 0, sizeof(o));
	if (smsreceipt_report(r, line, ref, st, why, &o) != 1) {
		if (o.why != NULL)
			abort();
		return;
	}
	if (o.id >= MSGS || decided[o.id]++ != 0)
		abort(); /* an unknown message, or decided twice */
	if ((o.state == SMSRECEIPT_FAILED) != (o.why != NULL) || o.state == SMSRECEIPT_PENDING)
		abort();
	free(o.why);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const lines[] = {"office", "shop"};
	struct smsreceipt *r;
	int decided[MSGS] = {0};
	size_t i = 0, nmsgs;
	time_t now = 1000;

	if (size < 1)
		return 0;
	r = smsreceipt_new(60);
	nmsgs = data[i++] % (MSGS + 1);
	for (size_t m = 0; m < nmsgs && i < size; m++) {
		int refs[PARTS];
		size_t n = data[i] % PARTS + 1;
		const char *line = lines[data[i] >> 7];

		i++;
		for (size_t k = 0; k < n; k++)
			refs[k] = i < size ? data[i++] : (int)k;
		smsreceipt_track(r, line, m, refs, n, now);
	}
	while (i + 4 <= size) {
		static const GSM_SMSMessageType types[] = {SMS_Status_Report, SMS_Deliver,
		                                           SMS_Submit};
		uint8_t flags = data[i];
		GSM_SMSMessage sms;
		enum smsreceipt_state st;
		const char *why = NULL;
		int ref;

		memset(&sms, 0, sizeof(sms));
		sms.PDU = types[data[i + 1] % 3];
		sms.MessageReference = data[i + 2];
		sms.DeliveryStatus = data[i + 3];
		i += 4;
		if (smsgammu_status(&sms, &ref, &st, &why) == 0) {
			if (sms.PDU != SMS_Status_Report || ref != sms.MessageReference ||
			    (st == SMSRECEIPT_DELIVERED) != (why == NULL))
				abort();
			report(r, lines[flags & 1], ref, st, why, decided);
		} else if (sms.PDU == SMS_Status_Report)
			abort();
		/* A status as a signed number, as a driver might hold one. */
		st = smsreceipt_tp_status((int)(int8_t)flags, &why);
		if ((st == SMSRECEIPT_DELIVERED) != (why == NULL))
			abort();
		if (flags & 0x04)
			report(r, lines[(flags >> 3) & 1], flags >> 4, st, why, decided);
		if (flags & 0x80)
			now += 30;
		smsreceipt_expire(r, now);
		if (flags & 0x40)
			smsreceipt_forget(r, flags % MSGS);
	}
	smsreceipt_expire(r, now + 3600);
	if (smsreceipt_pending(r) != 0)
		abort();
	smsreceipt_free(r);
	return 0;
}
