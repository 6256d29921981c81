/*
 * The gammu seam: texts encoded by gammu, turned into incoming SMS-DELIVER
 * frames by gammu's own PDU code, decoded again and reassembled; status
 * reports, flash and binary SMS decoded from raw PDUs.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "smsgammu.h"
#include "unit.h"

static GSM_MultiSMSMessage sent;

static size_t
unhex(const char *hex, unsigned char *out)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		char b[3] = {hex[0], hex[1], 0};

		out[n++] = (unsigned char)strtoul(b, NULL, 16);
	}
	return n;
}

/* Send text through gammu's encoder, receive every part in the given order, reassemble. */
static char *
through_the_network(const char *text, const unsigned *order, size_t *nparts)
{
	struct smsparts *p = smsparts_new(8, 600);
	struct smstext_plan plan;
	struct smsparts_msg *m;
	char *why = NULL, *res;
	int i;

	ck_assert_int_eq(smsgammu_encode(text, "+15550001111", true, &sent, &plan, &why), 0);
	*nparts = plan.nparts;
	ck_assert_int_eq(sent.Number, (int)plan.nparts);
	for (i = 0; i < sent.Number; i++) {
		GSM_SMSMessage *s = &sent.SMS[order ? order[i] : (unsigned)i], rcv;
		unsigned char frame[1024];
		struct smsgammu_in in;
		int len = 0;

		memset(frame, 0, sizeof(frame));
		s->PDU = SMS_Deliver;
		EncodeUnicode(s->Number, "+15557654321", 12);
		ck_assert_int_eq(GSM_EncodeSMSFrame(GSM_GetGlobalDebug(), s, frame,
		                                    PHONE_SMSDeliver, &len, TRUE),
		                 ERR_NONE);
		memset(&rcv, 0, sizeof(rcv));
		GSM_SetDefaultReceivedSMSData(&rcv);
		ck_assert_int_eq(
		        GSM_DecodeSMSFrame(GSM_GetGlobalDebug(), &rcv, frame, PHONE_SMSDeliver),
		        ERR_NONE);
		rcv.PDU = SMS_Deliver; /* set by gammu's phone layer, which knows the layout */
		ck_assert_int_eq(smsgammu_incoming(&rcv, "office", "+1", (uint64_t)i, &in, &why),
		                 0);
		ck_assert_str_eq(in.sender, "+15557654321");
		ck_assert_int_eq(smsparts_add(p, &in.in, 0),
		                 i + 1 == sent.Number ? SMSPARTS_READY : SMSPARTS_WAITING);
		smsgammu_in_free(&in);
	}
	m = smsparts_next(p);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->missing, 0);
	ck_assert_uint_eq(m->ntokens, (size_t)sent.Number);
	res = xstrdup(m->text);
	smsparts_msg_free(m);
	smsparts_free(p);
	smstext_plan_free(&plan);
	return res;
}

START_TEST(round_trip_gsm7)
{
	const char *text =
	        "The quick brown fox jumps over the lazy dog; {braces}, [brackets] and €100 "
	        "cost two septets each. The quick brown fox jumps over the lazy dog again "
	        "and again, until this text needs three parts to go out as one message. "
	        "Then it goes on, because a concatenated part holds 153 septets and this "
	        "test wants a third part with a ~tilde~ and a |pipe| in it. Ende.";
	unsigned order[] = {2, 0, 1};
	size_t n;
	char *got = through_the_network(text, order, &n);

	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(got, text);
	free(got);
}
END_TEST

START_TEST(round_trip_ucs2_and_pairs)
{
	const char *text = "Привет! Это длинное сообщение с эмодзи 😀 и нотами 𝄞, которое не "
	                   "помещается в одно SMS и приходит частями в обратном порядке 🎉🎉🎉";
	unsigned order[] = {1, 0};
	size_t n;
	char *got = through_the_network(text, order, &n);

	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(sent.SMS[0].Coding, SMS_Coding_Unicode_No_Compression);
	ck_assert_str_eq(got, text);
	free(got);
}
END_TEST

START_TEST(single_part_no_udh)
{
	size_t n;
	char *got = through_the_network("short one", NULL, &n);

	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(sent.SMS[0].UDH.Type, UDH_NoUDH);
	ck_assert_str_eq(got, "short one");
	free(got);
}
END_TEST

START_TEST(status_report_requested)
{
	struct smstext_plan plan;
	unsigned char frame[1024];
	char *why = NULL;
	int len = 0;

	ck_assert_int_eq(smsgammu_encode("hello", "+15550001111", true, &sent, &plan, &why), 0);
	memset(frame, 0, sizeof(frame));
	ck_assert_int_eq(GSM_EncodeSMSFrame(GSM_GetGlobalDebug(), &sent.SMS[0], frame,
	                                    PHONE_SMSSubmit, &len, TRUE),
	                 ERR_NONE);
	ck_assert(frame[PHONE_SMSSubmit.firstbyte] & 0x20); /* TP-SRR */
	smstext_plan_free(&plan);
	ck_assert_int_eq(smsgammu_encode("hello", "+15550001111", false, &sent, &plan, &why), 0);
	memset(frame, 0, sizeof(frame));
	ck_assert_int_eq(GSM_EncodeSMSFrame(GSM_GetGlobalDebug(), &sent.SMS[0], frame,
	                                    PHONE_SMSSubmit, &len, TRUE),
	                 ERR_NONE);
	ck_assert(!(frame[PHONE_SMSSubmit.firstbyte] & 0x20));
	smstext_plan_free(&plan);
}
END_TEST

START_TEST(encode_refusals)
{
	struct smstext_plan plan;
	char *why = NULL, *big;

	ck_assert_int_eq(smsgammu_encode("bad \xff", "+1555", false, &sent, &plan, &why), -1);
	ck_assert_str_eq(why, "the text is not valid UTF-8");
	free(why);
	big = xmalloc(153 * 51 + 1);
	memset(big, 'a', 153 * 51);
	big[153 * 51] = '\0';
	ck_assert_int_eq(smsgammu_encode(big, "+1555", false, &sent, &plan, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "needs 51 SMS"));
	free(why);
	big[153 * 50] = '\0';
	ck_assert_int_eq(smsgammu_encode(big, "+1555", false, &sent, &plan, &why), 0);
	ck_assert_int_eq(sent.Number, 50);
	smstext_plan_free(&plan);
	free(big);
}
END_TEST

static void
decode_pdu(const char *hex, GSM_SMSMessage *sms)
{
	unsigned char pdu[256];
	size_t n = unhex(hex, pdu), pos = 0;

	memset(sms, 0, sizeof(*sms));
	GSM_SetDefaultReceivedSMSData(sms);
	ck_assert_int_eq(GSM_DecodePDUFrame(GSM_GetGlobalDebug(), sms, pdu, n, &pos, TRUE),
	                 ERR_NONE);
}

START_TEST(status_reports)
{
	GSM_SMSMessage sms;
	enum smsreceipt_state st;
	const char *why;
	char *err = NULL;
	struct smsgammu_in in;
	int ref;

	/* SMS-STATUS-REPORT, TP-MR 0x2A, recipient +15551234567, TP-ST 0x46 (expired) */
	decode_pdu("00062A0B915155214365F7621112210000006211122100000046", &sms);
	ck_assert_int_eq(smsgammu_status(&sms, &ref, &st, &why), 0);
	ck_assert_int_eq(ref, 0x2A);
	ck_assert_int_eq(st, SMSRECEIPT_FAILED);
	ck_assert_str_eq(why, "the message expired before it could be delivered");
	ck_assert_int_eq(smsgammu_incoming(&sms, "l", "+1", 0, &in, &err), -1);
	free(err);
	/* TP-ST 0x00: delivered */
	decode_pdu("0006070B915155214365F7621112210000006211122100000000", &sms);
	ck_assert_int_eq(smsgammu_status(&sms, &ref, &st, &why), 0);
	ck_assert_int_eq(ref, 7);
	ck_assert_int_eq(st, SMSRECEIPT_DELIVERED);
	/* TP-ST 0x21: still trying */
	decode_pdu("0006070B915155214365F7621112210000006211122100000021", &sms);
	ck_assert_int_eq(smsgammu_status(&sms, &ref, &st, &why), 0);
	ck_assert_int_eq(st, SMSRECEIPT_PENDING);
}
END_TEST

START_TEST(flash_binary_alnum)
{
	GSM_SMSMessage sms;
	struct smsgammu_in in;
	char *why = NULL, *s;
	int ref;
	enum smsreceipt_state st;
	const char *w;

	/* SMS-DELIVER, class 0 (flash), GSM 7-bit "Hi" */
	decode_pdu("00040B915155214365F700106211122100000002C834", &sms);
	ck_assert_int_eq(smsgammu_status(&sms, &ref, &st, &w), -1);
	ck_assert_int_eq(smsgammu_incoming(&sms, "l", "+1", 9, &in, &why), 0);
	ck_assert(in.flash);
	ck_assert(!in.note);
	ck_assert_str_eq(in.sender, "+15551234567");
	s = smstext_from_ucs2be(in.in.text, in.in.nunits);
	ck_assert_str_eq(s, "Hi");
	ck_assert_int_eq(in.in.stamp != 0, 1);
	free(s);
	smsgammu_in_free(&in);
	/* 8-bit data: a note, never the bytes */
	decode_pdu("00040B915155214365F70004621112210000000301FF02", &sms);
	ck_assert_int_eq(smsgammu_incoming(&sms, "l", "+1", 9, &in, &why), 0);
	ck_assert(in.note);
	s = smstext_from_ucs2be(in.in.text, in.in.nunits);
	ck_assert_str_eq(s, "[a binary SMS was received; it cannot be shown as text]");
	free(s);
	smsgammu_in_free(&in);
	/* alphanumeric sender "Google" (type D0, 7-bit packed) */
	decode_pdu("00040BD0C7F7FBCC2E0300006211122100000002C834", &sms);
	ck_assert_int_eq(smsgammu_incoming(&sms, "l", "+1", 9, &in, &why), 0);
	ck_assert_str_eq(in.sender, "Google");
	smsgammu_in_free(&in);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sms_gammu");
	TCase *tc = unit_tcase(s, "core");

	unit_tests(tc, round_trip_gsm7, round_trip_ucs2_and_pairs, single_part_no_udh,
	           status_report_requested, encode_refusals, status_reports, flash_binary_alnum);
	return unit_run(s);
}
