/* Glue between gammu's messages and the SMS modules; see smsgammu.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "smsgammu.h"
#include "smsnum.h"

static unsigned char *
note_ucs2(const char *utf8, size_t *nunits)
{
	return smstext_to_ucs2be(utf8, strlen(utf8), nunits);
}

int
smsgammu_incoming(const GSM_SMSMessage *sms, const char *line, const char *default_country,
                  uint64_t token, struct smsgammu_in *out, char **why)
{
	char *number;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (sms->PDU != SMS_Deliver) {
		*why = xstrdup("not an incoming text");
		return -1;
	}
	/* The sender is gammu's UTF-16, NUL-terminated within its array. */
	n = smstext_ucs2be_len(sms->Number);
	number = smstext_from_ucs2be(sms->Number, n);
	out->sender = smsnum_sender(number, default_country);
	free(number);
	if (out->sender == NULL) {
		*why = xstrdup("the SMS has no usable sender address");
		return -1;
	}

	out->in.line = line;
	out->in.sender = out->sender;
	out->in.token = token;
	out->in.stamp = sms->DateTime.Year ? Fill_Time_T(sms->DateTime) : 0;
	out->flash = sms->Class == 0;
	if (sms->UDH.Type == UDH_ConcatenatedMessages ||
	    sms->UDH.Type == UDH_ConcatenatedMessages16bit) {
		out->in.ref16 = sms->UDH.Type == UDH_ConcatenatedMessages16bit;
		out->in.ref =
		        (unsigned)(out->in.ref16 ? sms->UDH.ID16bit : sms->UDH.ID8bit) & 0xFFFF;
		out->in.total = sms->UDH.AllParts > 0 ? (unsigned)sms->UDH.AllParts : 0;
		out->in.seq = sms->UDH.PartNumber > 0 ? (unsigned)sms->UDH.PartNumber : 0;
	}

	if (sms->UDH.Type == UDH_MMSIndicatorLong) {
		out->text = note_ucs2("[a multimedia message (MMS) was sent to this number; the "
		                      "gateway cannot fetch MMS]",
		                      &n);
		out->note = true;
	} else if (sms->Coding == SMS_Coding_8bit) {
		/* One note for the whole message, not one per part. */
		if (out->in.seq <= 1)
			out->text = note_ucs2("[a binary SMS was received; it cannot be shown as "
			                      "text]",
			                      &n);
		else
			out->text = note_ucs2("", &n);
		out->note = true;
	} else {
		n = smstext_ucs2be_len(sms->Text);
		out->text = xmalloc(2 * n + 2);
		memcpy(out->text, sms->Text, 2 * n + 2);
	}
	out->in.text = out->text;
	out->in.nunits = n;
	return 0;
}

void
smsgammu_in_free(struct smsgammu_in *in)
{
	free(in->sender);
	free(in->text);
	memset(in, 0, sizeof(*in));
}

int
smsgammu_status(const GSM_SMSMessage *sms, int *ref, enum smsreceipt_state *state, const char **why)
{
	if (sms->PDU != SMS_Status_Report)
		return -1;
	*ref = sms->MessageReference;
	*state = smsreceipt_tp_status(sms->DeliveryStatus, why);
	return 0;
}

int
smsgammu_encode(const char *text, const char *to, bool report, GSM_MultiSMSMessage *out,
                struct smstext_plan *plan, char **why)
{
	GSM_MultiPartSMSInfo info;
	unsigned char *buf, *num;
	size_t nunits, nnum;
	GSM_Error err;
	int i;

	memset(out, 0, sizeof(*out));
	if (smstext_plan(text, strlen(text), plan, why) == -1)
		return -1;
	if (plan->nparts > SMSGAMMU_MAX_PARTS) {
		*why = xasprintf(
		        "the text is too long: it needs %zu SMS, at most %d are sent as one "
		        "message",
		        plan->nparts, SMSGAMMU_MAX_PARTS);
		goto fail;
	}
	num = smstext_to_ucs2be(to, strlen(to), &nnum);
	if (num == NULL || nnum > GSM_MAX_NUMBER_LENGTH) {
		free(num);
		*why = xstrdup("the recipient number cannot be encoded");
		goto fail;
	}
	buf = smstext_to_ucs2be(text, strlen(text), &nunits);
	GSM_ClearMultiPartSMSInfo(&info);
	info.EntriesNum = 1;
	info.UnicodeCoding = plan->coding == SMSTEXT_UCS2;
	info.Class = -1;
	info.Entries[0].ID = SMS_ConcatenatedTextLong;
	info.Entries[0].Buffer = buf;
	err = GSM_EncodeMultiPartSMS(GSM_GetGlobalDebug(), &info, out);
	free(buf);
	if (err != ERR_NONE || (size_t)out->Number != plan->nparts) {
		free(num);
		*why = err != ERR_NONE
		               ? xasprintf("gammu cannot encode the text: %s", GSM_ErrorString(err))
		               : xasprintf("gammu split the text into %d parts, not %zu",
		                           out->Number, plan->nparts);
		goto fail;
	}
	for (i = 0; i < out->Number; i++) {
		memcpy(out->SMS[i].Number, num, 2 * nnum + 2);
		/* For a message to send, gammu's SMS_Status_Report means "ask for a report"
		 * (TP-SRR). */
		out->SMS[i].PDU = report ? SMS_Status_Report : SMS_Submit;
	}
	free(num);
	return 0;
fail:
	smstext_plan_free(plan);
	return -1;
}
