/*
 * Outgoing mail: each built message is parsed back with GMime and checked
 * header by header, so the tests see what a receiving MUA would see.
 */
#include "config.h"

#include <check.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "mailbuild.h"
#include "unit.h"

static void
setup(void)
{
	g_mime_init();
}

static void
teardown(void)
{
	g_mime_shutdown();
}

static struct mail_out
base(void)
{
	struct mail_out m = {
	        .from_addr = "alice@example.org",
	        .from_name = "Alice",
	        .to_addr = "Bob <bob@Example.NET>",
	        .subject = "Hello",
	        .body = "Hi Bob,\nhow are you?\n",
	        .domain = "gw.example.org",
	        .date = 1700000000,
	};
	return m;
}

/* The built message (raw in *raw, caller frees) parsed back; caller unrefs. */
static GMimeMessage *
build_parse(const struct mail_out *m, char **raw, char **id)
{
	GMimeStream *st;
	GMimeParser *p;
	GMimeMessage *msg;
	size_t len = 0;
	char *s, *mid = NULL;

	s = mail_build(m, &len, &mid);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(mid);
	ck_assert_uint_eq(len, strlen(s));
	st = g_mime_stream_mem_new_with_buffer(s, len);
	p = g_mime_parser_new_with_stream(st);
	msg = g_mime_parser_construct_message(p, NULL);
	ck_assert_ptr_nonnull(msg);
	g_object_unref(p);
	g_object_unref(st);
	if (raw)
		*raw = s;
	else
		free(s);
	if (id)
		*id = mid;
	else
		free(mid);
	return msg;
}

/* The header section of raw, up to the blank line. Caller frees. */
static char *
head_of(const char *raw)
{
	const char *e = strstr(raw, "\r\n\r\n");

	ck_assert_ptr_nonnull(e);
	return xstrndup(raw, (size_t)(e - raw) + 2);
}

/* How many header fields (lines not starting with white space) are named name. */
static int
count_fields(const char *raw, const char *name)
{
	char *h = head_of(raw), *line, *save = NULL;
	size_t n = strlen(name);
	int count = 0;

	for (line = strtok_r(h, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		if (strncasecmp(line, name, n) == 0 && line[n] == ':')
			count++;
	}
	free(h);
	return count;
}

static int
count_all_fields(const char *raw)
{
	char *h = head_of(raw), *line, *save = NULL;
	int count = 0;

	for (line = strtok_r(h, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		if (*line != ' ' && *line != '\t')
			count++;
	}
	free(h);
	return count;
}

/* The decoded body with CRLF made LF. Caller frees. */
static char *
body_of(GMimeMessage *msg)
{
	GMimeObject *part = g_mime_message_get_mime_part(msg);
	char *t, *r, *q;
	const char *p;

	ck_assert(GMIME_IS_TEXT_PART(part));
	t = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
	r = q = xmalloc(strlen(t) + 1);
	for (p = t; *p; p++) {
		if (*p != '\r')
			*q++ = *p;
	}
	*q = '\0';
	g_free(t);
	return r;
}

/*
 * The part's bytes after transfer decoding, CR dropped, no charset
 * conversion: what the charset label must describe. Caller frees.
 */
static char *
raw_content_of(GMimeMessage *msg)
{
	GMimeDataWrapper *w =
	        g_mime_part_get_content(GMIME_PART(g_mime_message_get_mime_part(msg)));
	GMimeStream *st = g_mime_stream_mem_new();
	GByteArray *a;
	char *r, *q;
	guint i;

	g_mime_data_wrapper_write_to_stream(w, st);
	a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(st));
	r = q = xmalloc(a->len + 1);
	for (i = 0; i < a->len; i++) {
		if (a->data[i] != '\r')
			*q++ = (char)a->data[i];
	}
	*q = '\0';
	g_object_unref(st);
	return r;
}

static GMimeContentEncoding
encoding_of(GMimeMessage *msg)
{
	return g_mime_part_get_content_encoding(GMIME_PART(g_mime_message_get_mime_part(msg)));
}

static const char *
header(GMimeMessage *msg, const char *name)
{
	return g_mime_object_get_header(GMIME_OBJECT(msg), name);
}

/* The subject of the message built from M is WANT. */
static void
subject_is(const struct mail_out *m, const char *want)
{
	GMimeMessage *msg = build_parse(m, NULL, NULL);

	ck_assert_str_eq(g_mime_message_get_subject(msg), want);
	g_object_unref(msg);
}

/* The decoded body of the message built from M is WANT. */
static void
body_is(const struct mail_out *m, const char *want)
{
	GMimeMessage *msg = build_parse(m, NULL, NULL);
	char *body = body_of(msg);

	ck_assert_str_eq(body, want);
	free(body);
	g_object_unref(msg);
}

/* Both the decoded body and the bytes under the transfer encoding are WANT (UTF-8, as the
 * charset label says). */
static void
content_is(GMimeMessage *msg, const char *want)
{
	char *body = body_of(msg);

	ck_assert_str_eq(body, want);
	free(body);
	body = raw_content_of(msg);
	ck_assert_str_eq(body, want);
	free(body);
}

/* The Message-ID of the message built from M ends in @ and the domain WANT. */
static void
id_domain_is(const struct mail_out *m, const char *want)
{
	char *id;
	GMimeMessage *msg = build_parse(m, NULL, &id);

	ck_assert_str_eq(id + 32, want);
	g_object_unref(msg);
	free(id);
}

START_TEST(headers)
{
	struct mail_out m = base();
	GMimeMessage *msg;
	InternetAddressList *l;
	InternetAddress *a;
	GMimeContentType *ct;
	GDateTime *dt;
	char *raw, *id;

	msg = build_parse(&m, &raw, &id);
	l = g_mime_message_get_from(msg);
	ck_assert_int_eq(internet_address_list_length(l), 1);
	a = internet_address_list_get_address(l, 0);
	ck_assert_str_eq(internet_address_get_name(a), "Alice");
	ck_assert_str_eq(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)),
	                 "alice@example.org");
	l = g_mime_message_get_to(msg);
	ck_assert_int_eq(internet_address_list_length(l), 1);
	a = internet_address_list_get_address(l, 0);
	ck_assert_str_eq(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)),
	                 "bob@example.net");
	ck_assert_str_eq(g_mime_message_get_subject(msg), "Hello");
	dt = g_mime_message_get_date(msg);
	ck_assert_ptr_nonnull(dt);
	ck_assert_int_eq(g_date_time_to_unix(dt), 1700000000);
	ck_assert_str_eq(header(msg, "MIME-Version"), "1.0");
	ck_assert_int_eq(count_fields(raw, "MIME-Version"), 1);
	ck_assert_int_eq(count_fields(raw, "Message-ID"), 1);
	ck_assert_ptr_null(header(msg, "In-Reply-To"));
	ck_assert_ptr_null(header(msg, "References"));
	ct = g_mime_object_get_content_type(g_mime_message_get_mime_part(msg));
	ck_assert(g_mime_content_type_is_type(ct, "text", "plain"));
	ck_assert_str_eq(g_mime_content_type_get_parameter(ct, "charset"), "utf-8");
	/* 7bit is the default: GMime may leave the header out */
	ck_assert(encoding_of(msg) == GMIME_CONTENT_ENCODING_7BIT ||
	          encoding_of(msg) == GMIME_CONTENT_ENCODING_DEFAULT);
	g_object_unref(msg);
	free(raw);
	free(id);
}
END_TEST

START_TEST(date_now)
{
	struct mail_out m = base();
	GMimeMessage *msg;
	gint64 t;

	m.date = 0;
	msg = build_parse(&m, NULL, NULL);
	t = g_date_time_to_unix(g_mime_message_get_date(msg));
	ck_assert(t >= (gint64)time(NULL) - 5 && t <= (gint64)time(NULL) + 1);
	g_object_unref(msg);
}
END_TEST

START_TEST(crlf_everywhere)
{
	struct mail_out m = base();
	GMimeMessage *msg;
	char *raw;
	const char *p;

	m.body = "line one\nline two\r\nline three\rend";
	m.signature = "Alice\nexample.org";
	msg = build_parse(&m, &raw, NULL);
	for (p = raw; *p; p++) {
		if (*p == '\n')
			ck_assert_msg(p > raw && p[-1] == '\r', "bare LF at %td", p - raw);
		if (*p == '\r')
			ck_assert_msg(p[1] == '\n', "bare CR at %td", p - raw);
	}
	ck_assert_ptr_nonnull(strstr(
	        raw, "\r\n\r\nline one\r\nline two\r\nline three\r\nend\r\n-- \r\nAlice\r\n"));
	g_object_unref(msg);
	free(raw);
}
END_TEST

START_TEST(utf8_round_trip)
{
	struct mail_out m = base();
	GMimeMessage *msg;
	InternetAddress *a;
	char *raw;
	const char *p;

	m.from_name = "J\xc3\xbcrgen M\xc3\xbcller";
	m.subject = "Gr\xc3\xbc\xc3\x9f"
	            "e aus K\xc3\xb6ln \xe2\x98\x95";
	m.body = "Dear Bob, thank you for the lovely evening yesterday. Sch\xc3\xb6ne "
	         "Gr\xc3\xbc\xc3\x9f"
	         "e, and see you soon.\nIt cost \xe2\x82\xac 5 \xf0\x9f\x98\x80\n";
	msg = build_parse(&m, &raw, NULL);
	/* On the wire: 7-bit only, the words RFC 2047-encoded. */
	for (p = raw; *p; p++)
		ck_assert_msg((unsigned char)*p < 0x80, "8-bit byte at %td", p - raw);
	a = internet_address_list_get_address(g_mime_message_get_from(msg), 0);
	ck_assert_str_eq(internet_address_get_name(a), m.from_name);
	ck_assert_str_eq(g_mime_message_get_subject(msg), m.subject);
	/* mostly ASCII: quoted-printable */
	ck_assert_int_eq(encoding_of(msg), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	content_is(msg, m.body); /* UTF-8 bytes, as labelled, not ISO-8859-1 */
	g_object_unref(msg);
	free(raw);
}
END_TEST

START_TEST(mostly_non_ascii_body)
{
	struct mail_out m = base();
	GMimeMessage *msg;

	/* Cyrillic: nearly every byte is 8-bit, so base64 is the better choice. */
	m.body = "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, \xd0\xba\xd0\xb0\xd0\xba "
	         "\xd0\xb4\xd0\xb5\xd0\xbb\xd0\xb0?\n";
	msg = build_parse(&m, NULL, NULL);
	ck_assert_int_eq(encoding_of(msg), GMIME_CONTENT_ENCODING_BASE64);
	content_is(msg, m.body);
	g_object_unref(msg);
}
END_TEST

START_TEST(invalid_utf8_repaired)
{
	struct mail_out m = base();
	GMimeMessage *msg;
	char *body;

	m.body = "bad \xff\xfe bytes\n";
	m.subject = "bad \xc3 subject";
	msg = build_parse(&m, NULL, NULL);
	body = body_of(msg);
	ck_assert(g_utf8_validate(body, -1, NULL));
	ck_assert_ptr_nonnull(strstr(body, "bytes"));
	ck_assert(g_utf8_validate(g_mime_message_get_subject(msg), -1, NULL));
	free(body);
	g_object_unref(msg);
}
END_TEST

START_TEST(subject_from_first_line)
{
	struct mail_out m = base();

	m.subject = NULL;
	m.body = "\n  \n   Lunch tomorrow?  \nAt noon.\n";
	subject_is(&m, "Lunch tomorrow?");

	m.subject = "";
	m.body = "Short\r\nrest";
	subject_is(&m, "Short");

	m.subject = "   "; /* blank: as if none */
	subject_is(&m, "Short");
}
END_TEST

START_TEST(subject_cut)
{
	struct mail_out m = base();
	GMimeMessage *msg;
	char line[400], want[400];
	const char *s;
	int i;

	m.subject = NULL;
	/* exactly 78 characters: kept whole */
	memset(line, 'x', 78);
	line[78] = '\0';
	m.body = line;
	subject_is(&m, line);

	/* 79: cut at 78 and marked */
	memset(line, 'y', 79);
	strcpy(line + 79, "\nmore");
	memset(want, 'y', 78);
	strcpy(want + 78, "\xe2\x80\xa6");
	subject_is(&m, want);

	/* 100 two-byte characters: cut on a character boundary, 78 of them */
	line[0] = '\0';
	for (i = 0; i < 100; i++)
		strcat(line, "\xc3\xa9");
	msg = build_parse(&m, NULL, NULL);
	s = g_mime_message_get_subject(msg);
	ck_assert(g_utf8_validate(s, -1, NULL));
	ck_assert_int_eq(g_utf8_strlen(s, -1), 79);
	ck_assert_int_eq(strncmp(s, line, 78 * 2), 0);
	ck_assert_str_eq(s + 78 * 2, "\xe2\x80\xa6");
	g_object_unref(msg);

	/* four-byte characters */
	line[0] = '\0';
	for (i = 0; i < 80; i++)
		strcat(line, "\xf0\x9f\x98\x80");
	msg = build_parse(&m, NULL, NULL);
	s = g_mime_message_get_subject(msg);
	ck_assert(g_utf8_validate(s, -1, NULL));
	ck_assert_int_eq(g_utf8_strlen(s, -1), 79);
	g_object_unref(msg);
}
END_TEST

/* A reply's thread (the first message) and the message it answers, and the In-Reply-To and
 * References the mail carries (NULL: none). */
static const struct thread_case {
	const char *thread, *in_reply_to;
	const char *want_in_reply_to, *want_references;
} thread_cases[] = {
        {"root@example.net", NULL, "<root@example.net>", "<root@example.net>"},
        {"root@example.net", "last@example.net", "<last@example.net>",
         "<root@example.net> <last@example.net>"},
        /* the same: listed once */
        {"root@example.net", "root@example.net", "<root@example.net>", "<root@example.net>"},
        /* with <> already */
        {NULL, "<only@example.net>", "<only@example.net>", "<only@example.net>"},
        /* unusable: dropped, not sent broken */
        {NULL, "not an id", NULL, NULL},
};

START_TEST(threading)
{
	const struct thread_case *t = &thread_cases[_i];
	struct mail_out m = base();
	GMimeMessage *msg;

	m.thread = t->thread;
	m.in_reply_to = t->in_reply_to;
	msg = build_parse(&m, NULL, NULL);
	ck_assert_pstr_eq(header(msg, "In-Reply-To"), t->want_in_reply_to);
	ck_assert_pstr_eq(header(msg, "References"), t->want_references);
	g_object_unref(msg);
}
END_TEST

START_TEST(message_id)
{
	struct mail_out m = base();
	GMimeMessage *msg;
	char *id1, *id2;
	const char *p;

	msg = build_parse(&m, NULL, &id1);
	ck_assert_str_eq(g_mime_message_get_message_id(msg), id1);
	g_object_unref(msg);
	ck_assert_uint_eq(strlen(id1), 32 + strlen("@gw.example.org"));
	for (p = id1; p < id1 + 32; p++)
		ck_assert(g_ascii_isxdigit(*p) && !g_ascii_isupper(*p));
	ck_assert_str_eq(id1 + 32, "@gw.example.org");
	msg = build_parse(&m, NULL, &id2);
	ck_assert_str_ne(id1, id2);
	g_object_unref(msg);
	free(id1);
	free(id2);

	m.domain = "GW.Example.ORG"; /* lower-cased like an address's */
	id_domain_is(&m, "@gw.example.org");

	m.domain = "bad domain(x)"; /* unusable: the sender's */
	id_domain_is(&m, "@example.org");

	m.domain = NULL; /* the sender's domain then */
	id_domain_is(&m, "@example.org");
}
END_TEST

START_TEST(many_ids_unique)
{
	struct mail_out m = base();
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
	size_t len;
	char *s, *id;
	int i;

	for (i = 0; i < 500; i++) {
		s = mail_build(&m, &len, &id);
		ck_assert_ptr_nonnull(s);
		free(s);
		ck_assert(!g_hash_table_contains(seen, id));
		g_hash_table_add(seen, id);
	}
	g_hash_table_destroy(seen);
}
END_TEST

START_TEST(header_injection)
{
	struct mail_out m = base();
	GMimeMessage *msg;
	InternetAddressList *bcc;
	InternetAddress *a;
	char *raw;
	int fields;

	msg = build_parse(&m, &raw, NULL);
	fields = count_all_fields(raw);
	g_object_unref(msg);
	free(raw);

	m.from_name = "Alice\r\nBcc: eve@evil.example";
	m.subject = "Hi\r\nX-Injected: 1\r\n\r\nbody";
	msg = build_parse(&m, &raw, NULL);
	ck_assert_int_eq(count_fields(raw, "Bcc"), 0);
	ck_assert_int_eq(count_fields(raw, "X-Injected"), 0);
	ck_assert_int_eq(count_all_fields(raw), fields);
	bcc = g_mime_message_get_bcc(msg);
	ck_assert(bcc == NULL || internet_address_list_length(bcc) == 0);
	ck_assert_ptr_nonnull(strstr(g_mime_message_get_subject(msg), "X-Injected"));
	a = internet_address_list_get_address(g_mime_message_get_from(msg), 0);
	ck_assert_ptr_nonnull(strstr(internet_address_get_name(a), "Bcc"));
	ck_assert_int_eq(internet_address_list_length(g_mime_message_get_from(msg)), 1);
	g_object_unref(msg);
	free(raw);

	m.thread = "root@example.net>\r\nX-Injected: 2\r\n<x@y";
	m.in_reply_to = "a@b\nX-Injected: 3";
	msg = build_parse(&m, &raw, NULL);
	ck_assert_int_eq(count_fields(raw, "X-Injected"), 0);
	g_object_unref(msg);
	free(raw);

	m.thread = "\r\n";
	m.from_name = "\x01\x1b[31m\x7f";
	m.domain = "evil.example\r\nX-Injected: 4";
	msg = build_parse(&m, &raw, NULL);
	ck_assert_int_eq(count_fields(raw, "X-Injected"), 0);
	ck_assert_ptr_null(header(msg, "References"));
	g_object_unref(msg);
	free(raw);
}
END_TEST

START_TEST(signature)
{
	struct mail_out m = base();

	m.signature = "Alice\nhttps://example.org/";
	body_is(&m, "Hi Bob,\nhow are you?\n-- \nAlice\nhttps://example.org/\n");

	m.body = "no newline";
	body_is(&m, "no newline\n-- \nAlice\nhttps://example.org/\n");

	m.signature = "";
	body_is(&m, "no newline\n"); /* GMime ends the last line */
}
END_TEST

START_TEST(bad_addresses)
{
	struct mail_out m = base();
	size_t len = 7;
	char *id = (char *)"untouched";

	m.to_addr = "not an address";
	ck_assert_ptr_null(mail_build(&m, &len, &id));
	ck_assert_str_eq(id, "untouched");
	m = base();
	m.from_addr = "alice@";
	ck_assert_ptr_null(mail_build(&m, &len, &id));
	m.from_addr = NULL;
	ck_assert_ptr_null(mail_build(&m, &len, &id));
	m = base();
	m.to_addr = "bob@example.net\r\nBcc: eve@evil.example";
	ck_assert_ptr_null(mail_build(&m, &len, &id));
	ck_assert_str_eq(id, "untouched");
}
END_TEST

START_TEST(name_with_comma)
{
	struct mail_out m = base();
	GMimeMessage *msg;
	InternetAddressList *l;

	m.from_name = "Smith, Alice";
	msg = build_parse(&m, NULL, NULL);
	l = g_mime_message_get_from(msg);
	ck_assert_int_eq(internet_address_list_length(l), 1);
	ck_assert_str_eq(internet_address_get_name(internet_address_list_get_address(l, 0)),
	                 "Smith, Alice");
	g_object_unref(msg);

	m.from_name = NULL;
	msg = build_parse(&m, NULL, NULL);
	l = g_mime_message_get_from(msg);
	ck_assert_int_eq(internet_address_list_length(l), 1);
	g_object_unref(msg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("email_build");
	TCase *tc = unit_tcase(s, "core");

	tcase_add_checked_fixture(tc, setup, teardown);
	unit_tests(tc, headers, date_now, crlf_everywhere, utf8_round_trip, mostly_non_ascii_body,
	           invalid_utf8_repaired, subject_from_first_line, subject_cut);
	tcase_add_loop_test(tc, threading, 0, UNIT_ROWS(thread_cases));
	unit_tests(tc, message_id, many_ids_unique, header_injection, signature, bad_addresses,
	           name_with_comma);
	return unit_run(s);
}
