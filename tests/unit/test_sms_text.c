/*
 * SMS coding choice, part counts and splitting, checked against gammu's own
 * multipart encoder; and the decoder from gammu's UTF-16 to clean UTF-8.
 */
#include "config.h"

#include <check.h>
#include <gammu.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "smstext.h"
#include "unit.h"

/* What gammu's encoder makes of a text: parts, coding, and each part's text as UTF-8. */
struct gammu_result {
	int nparts;
	GSM_Coding_Type coding[GSM_MAX_MULTI_SMS];
	char *text[GSM_MAX_MULTI_SMS];
	int length[GSM_MAX_MULTI_SMS];
	bool udh;
};

static GSM_Error
gammu_encode(const char *utf8, bool unicode, struct gammu_result *res)
{
	static GSM_MultiSMSMessage sms;
	GSM_MultiPartSMSInfo info;
	unsigned char *buf;
	size_t nunits;
	GSM_Error err;
	int i;

	memset(res, 0, sizeof(*res));
	buf = smstext_to_ucs2be(utf8, strlen(utf8), &nunits);
	ck_assert_ptr_nonnull(buf);
	GSM_ClearMultiPartSMSInfo(&info);
	info.EntriesNum = 1;
	info.UnicodeCoding = unicode;
	info.Entries[0].ID = SMS_ConcatenatedTextLong;
	info.Entries[0].Buffer = buf;
	memset(&sms, 0, sizeof(sms));
	err = GSM_EncodeMultiPartSMS(GSM_GetGlobalDebug(), &info, &sms);
	free(buf);
	if (err != ERR_NONE)
		return err;
	res->nparts = sms.Number;
	for (i = 0; i < sms.Number; i++) {
		res->coding[i] = sms.SMS[i].Coding;
		res->length[i] = sms.SMS[i].Length;
		res->text[i] =
		        smstext_from_ucs2be(sms.SMS[i].Text, smstext_ucs2be_len(sms.SMS[i].Text));
		if (sms.SMS[i].UDH.Type != UDH_NoUDH)
			res->udh = true;
	}
	return ERR_NONE;
}

static void
gammu_result_free(struct gammu_result *res)
{
	int i;

	for (i = 0; i < res->nparts; i++)
		free(res->text[i]);
}

/* Our plan and gammu's encoding agree on coding, part count and every part's text. */
static void
cross_check(const char *text)
{
	struct smstext_plan plan;
	struct gammu_result g;
	char *why = NULL;
	size_t i;

	ck_assert_int_eq(smstext_plan(text, strlen(text), &plan, &why), 0);
	ck_assert_int_eq(gammu_encode(text, plan.coding == SMSTEXT_UCS2, &g), ERR_NONE);
	ck_assert_msg((size_t)g.nparts == plan.nparts,
	              "parts: gammu %d, ours %zu (%zu units) for \"%.40s…\"", g.nparts, plan.nparts,
	              plan.units, text);
	for (i = 0; i < plan.nparts; i++) {
		char *ours = xstrndup(text + plan.parts[i].off, plan.parts[i].len);

		ck_assert_int_eq(g.coding[i], plan.coding == SMSTEXT_UCS2
		                                      ? SMS_Coding_Unicode_No_Compression
		                                      : SMS_Coding_Default_No_Compression);
		ck_assert_msg(strcmp(ours, g.text[i]) == 0,
		              "part %zu differs:\n ours  \"%s\"\n gammu \"%s\"", i + 1, ours,
		              g.text[i]);
		free(ours);
	}
	ck_assert(g.udh == (plan.nparts > 1));
	gammu_result_free(&g);
	smstext_plan_free(&plan);
}

static char *
repeat(const char *unit, size_t n, const char *tail)
{
	size_t ul = strlen(unit), tl = tail ? strlen(tail) : 0, i;
	char *s = xmalloc(ul * n + tl + 1);

	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	if (tl)
		memcpy(s + ul * n, tail, tl);
	s[ul * n + tl] = '\0';
	return s;
}

static void
plan_expect(const char *text, enum smstext_coding coding, size_t units, size_t nparts)
{
	struct smstext_plan plan;
	char *why = NULL;

	ck_assert_int_eq(smstext_plan(text, strlen(text), &plan, &why), 0);
	ck_assert_int_eq(plan.coding, coding);
	ck_assert_uint_eq(plan.units, units);
	ck_assert_uint_eq(plan.nparts, nparts);
	smstext_plan_free(&plan);
}

START_TEST(coding_choice)
{
	plan_expect("", SMSTEXT_GSM7, 0, 1);
	plan_expect("Hello, world!", SMSTEXT_GSM7, 13, 1);
	plan_expect("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r", SMSTEXT_GSM7, 44, 1);
	plan_expect("{}[]~|\\^€\f", SMSTEXT_GSM7, 20, 1);
	plan_expect("tab\there", SMSTEXT_UCS2, 8, 1); /* TAB is not in GSM 03.38 */
	plan_expect("back`tick", SMSTEXT_UCS2, 9, 1);
	plan_expect("ça va", SMSTEXT_UCS2, 5, 1); /* only capital Ç is in the alphabet */
	plan_expect("Привет", SMSTEXT_UCS2, 6, 1);
	plan_expect("ok 👍", SMSTEXT_UCS2, 5, 1); /* outside the BMP: two units */
	plan_expect("αβγ", SMSTEXT_UCS2, 3, 1);  /* lower-case Greek is not */
}
END_TEST

/* N copies of UNIT then TAIL: the coding, length in units and part count we plan, and gammu
 * splits it the same way. */
static const struct boundary {
	const char *unit;
	size_t n;
	const char *tail;
	enum smstext_coding coding;
	size_t units, nparts;
} boundaries[] = {
        {"a", 160, NULL, SMSTEXT_GSM7, 160, 1},
        {"a", 161, NULL, SMSTEXT_GSM7, 161, 2},
        {"a", 306, NULL, SMSTEXT_GSM7, 306, 2},
        {"a", 307, NULL, SMSTEXT_GSM7, 307, 3},
        /* Extension characters count two septets. */
        {"€", 80, NULL, SMSTEXT_GSM7, 160, 1},
        {"a", 159, "€", SMSTEXT_GSM7, 161, 2},
        {"[]", 100, NULL, SMSTEXT_GSM7, 400, 3},
        {"ж", 70, NULL, SMSTEXT_UCS2, 70, 1},
        {"ж", 71, NULL, SMSTEXT_UCS2, 71, 2},
        {"ж", 134, NULL, SMSTEXT_UCS2, 134, 2},
        {"ж", 135, NULL, SMSTEXT_UCS2, 135, 3},
        /* 35 emoji are 70 units: one SMS. */
        {"😀", 35, NULL, SMSTEXT_UCS2, 70, 1},
        /* 72 units: 33 pairs (66 units) + 3 pairs; gammu also keeps a pair whole. */
        {"😀", 36, NULL, SMSTEXT_UCS2, 72, 2},
};

START_TEST(boundaries_vs_gammu)
{
	const struct boundary *b = &boundaries[_i];
	char *s = repeat(b->unit, b->n, b->tail);

	plan_expect(s, b->coding, b->units, b->nparts);
	cross_check(s);
	free(s);
}
END_TEST

/* A character that would straddle the end of part 1 opens part 2 instead: an escape pair
 * (GSM-7) or a surrogate pair (UCS-2). */
static const struct split {
	const char *unit;
	size_t n;
	const char *tail;
	size_t units0, len0, units1;
	const char *opens_part2;
} splits[] = {
        /* 152 septets then '{': the escape pair would straddle 153. */
        {"a", 152, "{bcdefghij", 152, 152, 11, "{"},
        /* 66 units then a pair: the pair never straddles 67. */
        {"ж", 66, "😀жжжжж", 66, 132, 7, "😀"},
};

START_TEST(pair_not_split)
{
	const struct split *sp = &splits[_i];
	char *why = NULL, *s = repeat(sp->unit, sp->n, sp->tail);
	struct smstext_plan plan;

	ck_assert_int_eq(smstext_plan(s, strlen(s), &plan, &why), 0);
	ck_assert_uint_eq(plan.nparts, 2);
	ck_assert_uint_eq(plan.parts[0].units, sp->units0);
	ck_assert_uint_eq(plan.parts[0].len, sp->len0);
	ck_assert_uint_eq(plan.parts[1].units, sp->units1);
	ck_assert_int_eq(strncmp(s + plan.parts[1].off, sp->opens_part2, strlen(sp->opens_part2)),
	                 0);
	smstext_plan_free(&plan);
	cross_check(s);
	free(s);
}
END_TEST

/* A deterministic generator of texts mixing every class of character. */
static unsigned long rng_state = 12345;

static unsigned
rng(unsigned n)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)((rng_state >> 33) % n);
}

static char *
random_text(int classes)
{
	static const char *gsm[] = {"a", "Z",  "0", " ", "@", "£", "é",
	                            "Δ", "\n", "ß", "!", "ü", "_"};
	static const char *ext[] = {"€", "{", "}", "[", "]", "~", "|", "\\", "^"};
	static const char *bmp[] = {"ж", "ç", "α", "中", "`", "\t", "’"};
	static const char *astral[] = {"😀", "𝄞", "🇫"};
	size_t len = rng(520), i, o = 0;
	char *s = xmalloc(len * 4 + 1);

	for (i = 0; i < len; i++) {
		const char *c;
		unsigned k = rng(100);

		if ((classes & 4) && k < 2)
			c = astral[rng(3)];
		else if ((classes & 2) && k < 5)
			c = bmp[rng(7)];
		else if ((classes & 1) && k < 15)
			c = ext[rng(9)];
		else
			c = gsm[rng(13)];
		memcpy(s + o, c, strlen(c));
		o += strlen(c);
	}
	s[o] = '\0';
	return s;
}

START_TEST(random_vs_gammu)
{
	int i;

	/* GSM-7 with extension characters, UCS-2 with and without pairs: gammu agrees exactly. */
	for (i = 0; i < 600; i++) {
		char *s = random_text(i % 3 == 0 ? 1 : i % 3 == 1 ? 3 : 7);
		struct smstext_plan plan;
		char *why = NULL;

		ck_assert_int_eq(smstext_plan(s, strlen(s), &plan, &why), 0);
		if (plan.nparts <= GSM_MAX_MULTI_SMS)
			cross_check(s);
		smstext_plan_free(&plan);
		free(s);
	}
}
END_TEST

START_TEST(parts_concatenate_to_input)
{
	int i;

	for (i = 0; i < 300; i++) {
		char *s = random_text(7), *joined;
		struct smstext_plan plan;
		char *why = NULL;
		size_t k, o = 0, units = 0;

		ck_assert_int_eq(smstext_plan(s, strlen(s), &plan, &why), 0);
		joined = xmalloc(strlen(s) + 1);
		for (k = 0; k < plan.nparts; k++) {
			size_t limit = plan.nparts == 1 ? (plan.coding == SMSTEXT_GSM7 ? 160 : 70)
			                                : (plan.coding == SMSTEXT_GSM7 ? 153 : 67);

			ck_assert_uint_eq(plan.parts[k].off, o);
			ck_assert_uint_le(plan.parts[k].units, limit);
			memcpy(joined + o, s + plan.parts[k].off, plan.parts[k].len);
			o += plan.parts[k].len;
			units += plan.parts[k].units;
		}
		joined[o] = '\0';
		ck_assert_str_eq(joined, s);
		ck_assert_uint_eq(units, plan.units);
		free(joined);
		smstext_plan_free(&plan);
		free(s);
	}
}
END_TEST

START_TEST(invalid_utf8)
{
	struct smstext_plan plan;
	char *why = NULL;

	ck_assert_int_eq(smstext_plan("a\xff", 2, &plan, &why), -1);
	ck_assert_str_eq(why, "the text is not valid UTF-8");
	free(why);
	ck_assert(!smstext_utf8_valid("\xc0\x80", 2));         /* overlong NUL */
	ck_assert(!smstext_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	ck_assert(!smstext_utf8_valid("\xf4\x90\x80\x80", 4)); /* beyond U+10FFFF */
	ck_assert(!smstext_utf8_valid("\xe2\x82", 2));         /* truncated */
	ck_assert(smstext_utf8_valid("\xf0\x9f\x98\x80", 4));
	ck_assert_ptr_null(smstext_to_ucs2be("\xff", 1, &(size_t){0}));
}
END_TEST

/* N UTF-16 units at B decode to WANT. */
static void
decodes_to(const unsigned char *b, size_t n, const char *want)
{
	char *s = smstext_from_ucs2be(b, n);

	ck_assert_str_eq(s, want);
	free(s);
}

START_TEST(decoder)
{
	/* "A", U+1F600 as a pair, "B" */
	static const unsigned char pair[] = {0, 'A', 0xD8, 0x3D, 0xDE, 0x00, 0, 'B'};
	/* lone high surrogate, lone low surrogate */
	static const unsigned char lone[] = {0xD8, 0x3D, 0, 'x', 0xDE, 0x00};
	/* high surrogate at the very end */
	static const unsigned char end[] = {0, 'x', 0xD8, 0x3D};
	/* controls: BEL, NUL, TAB, CR LF, lone CR, U+FFFE, U+FFFF, ESC */
	static const unsigned char ctl[] = {0,    7,    0,    0,    0, '\t', 0, '\r',
	                                    0,    '\n', 0,    'a',  0, '\r', 0, 'b',
	                                    0xFF, 0xFE, 0xFF, 0xFF, 0, 0x1B, 0, 'c'};

	decodes_to(pair, 4, "A😀B");
	decodes_to(lone, 3, "\xEF\xBF\xBDx\xEF\xBF\xBD");
	decodes_to(end, 2, "x\xEF\xBF\xBD");
	decodes_to(ctl, sizeof(ctl) / 2, "\t\na\nbc");
	decodes_to(ctl, 0, "");
}
END_TEST

START_TEST(round_trip_through_gammu)
{
	/* Our UTF-16 is what gammu's own UTF-8 decoder makes, astral characters included. */
	const char *texts[] = {"plain", "€uro {x}", "Привет мир", "😀 and 𝄞", ""};
	size_t i, n;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		unsigned char *ours = smstext_to_ucs2be(texts[i], strlen(texts[i]), &n);
		unsigned char theirs[512];
		char *back;

		memset(theirs, 0, sizeof(theirs));
		DecodeUTF8(theirs, texts[i], strlen(texts[i]));
		ck_assert_uint_eq(UnicodeLength(theirs), n);
		ck_assert_int_eq(memcmp(ours, theirs, 2 * n + 2), 0);
		back = smstext_from_ucs2be(ours, n);
		ck_assert_str_eq(back, texts[i]);
		free(back);
		free(ours);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sms_text");
	TCase *tc = unit_tcase(s, "core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, coding_choice);
	tcase_add_loop_test(tc, boundaries_vs_gammu, 0, UNIT_ROWS(boundaries));
	tcase_add_loop_test(tc, pair_not_split, 0, UNIT_ROWS(splits));
	unit_tests(tc, random_vs_gammu, parts_concatenate_to_input, invalid_utf8, decoder,
	           round_trip_through_gammu);
	return unit_run(s);
}
