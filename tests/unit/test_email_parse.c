/* Incoming mail: text extraction, HTML, quotes, threads, bounces, bounds. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "driver.h"
#include "mailparse.h"
#include "unit.h"

static struct mail_in m;

static void
parse(const char *raw, bool trim)
{
	struct mail_parse_opts o = {.max_size = 1 << 20, .trim_quotes = trim};
	char *why = NULL;

	mail_in_free(&m);
	ck_assert_msg(mail_parse(raw, strlen(raw), &o, &m, &why) == 0, "refused: %s", why);
}

START_TEST(plain_qp_latin1_and_rfc2047)
{
	parse("From: =?ISO-8859-1?Q?Andr=E9?= <Andre@Example.ORG>\r\n"
	      "Subject: =?UTF-8?B?w6lsw6h2ZQ==?= =?iso-8859-1?q?_caf=E9?=\r\n"
	      "Message-ID: <a1@example.org>\r\nDate: Mon, 07 Dec 2026 04:00:00 +0000\r\n"
	      "Content-Type: text/plain; charset=iso-8859-1\r\n"
	      "Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 cr=E8me\r\n",
	      false);
	ck_assert_str_eq(m.from_addr, "Andre@example.org");
	ck_assert_str_eq(m.from_name, "André");
	ck_assert_str_eq(m.subject, "élève café");
	ck_assert_str_eq(m.text, "Café crème");
	ck_assert_str_eq(m.message_id, "a1@example.org");
	ck_assert_str_eq(m.thread, "a1@example.org");
	ck_assert_int_eq((long)m.date, 1796616000L);
}
END_TEST

START_TEST(alternative_prefers_plain_and_lists_attachments)
{
	parse("From: a@b.c\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
	      "boundary=o\r\n\r\n"
	      "--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"
	      "--i\r\nContent-Type: text/plain\r\n\r\nplain text\r\n"
	      "--i\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--i--\r\n"
	      "--o\r\nContent-Type: application/pdf; name=a.pdf\r\n"
	      "Content-Disposition: attachment; filename=a.pdf\r\n"
	      "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--o--\r\n",
	      false);
	ck_assert_str_eq(m.text, "plain text");
	ck_assert_uint_eq(m.natt, 1);
	ck_assert_str_eq(m.att[0].filename, "a.pdf");
	ck_assert_str_eq(m.att[0].content_type, "application/pdf");
	ck_assert_uint_eq(m.att[0].size, 9);
}
END_TEST

START_TEST(html_only)
{
	static const char html[] = "<html><head><style>p{}</style></head><body><p>Hello &amp; "
	                           "<b>welcome</b>&#8212;<a href=\"https://x.example/\">link</a>"
	                           "</p><script>evil()</script><br>bye &#x1F600;</body></html>";
	char *t = mail_html_to_text(html, strlen(html));

	ck_assert_msg(strstr(t, "Hello & welcome\u2014link <https://x.example/>") != NULL, "%s", t);
	ck_assert_msg(strstr(t, "evil") == NULL && strstr(t, "p{}") == NULL, "%s", t);
	ck_assert_msg(strstr(t, "bye \U0001F600") != NULL, "%s", t);
	free(t);
}
END_TEST

START_TEST(quotes_trimmed_or_kept)
{
	const char *raw =
	        "From: q@example.com\r\nReferences: <r1@x> <r2@x>\r\nIn-Reply-To: <r2@x>\r\n"
	        "\r\nMy answer.\r\n\r\nOn Mon, 7 Dec 2026, Bob wrote:\r\n> quoted\r\n"
	        "> more\r\n\r\n-- \r\nsig\r\n";

	parse(raw, true);
	ck_assert_msg(strstr(m.text, "quoted") == NULL && strstr(m.text, "wrote") == NULL, "%s",
	              m.text);
	ck_assert_msg(strstr(m.text, "My answer.") && strstr(m.text, "sig"), "%s", m.text);
	ck_assert_str_eq(m.thread, "r1@x");
	ck_assert_str_eq(m.in_reply_to, "r2@x");
	parse(raw, false);
	ck_assert_msg(strstr(m.text, "> quoted") != NULL, "%s", m.text);
}
END_TEST

START_TEST(bounce)
{
	parse("From: MAILER-DAEMON@example.com\r\n"
	      "Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n"
	      "--r\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
	      "--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
	      "Final-Recipient: rfc822; no@example.com\r\nStatus: 5.1.1\r\n"
	      "Diagnostic-Code: smtp; 550 no such user\r\n"
	      "--r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <orig@example.com>\r\n"
	      "--r--\r\n",
	      false);
	ck_assert(m.is_bounce);
	ck_assert_str_eq(m.bounce_of, "orig@example.com");
	ck_assert_msg(strstr(m.bounce_reason, "5.1.1") && strstr(m.bounce_reason, "no such user"),
	              "%s", m.bounce_reason);
}
END_TEST

START_TEST(bounds_and_garbage)
{
	char *raw = malloc(200000), *p = raw;
	struct mail_parse_opts small = {.max_size = 100};
	char *why = NULL;

	p += sprintf(p, "From: deep@x\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n");
	for (int i = 0; i < 40; i++)
		p += sprintf(p, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i,
		             i + 1);
	sprintf(p, "--b40\r\nContent-Type: text/plain\r\n\r\ndeep\r\n");
	parse(raw, false);
	ck_assert(m.truncated);
	/* Over max_size: headers only, and said so. */
	mail_in_free(&m);
	ck_assert_int_eq(mail_parse(raw, strlen(raw), &small, &m, &why), 0);
	ck_assert_msg(strstr(m.text, "over this gateway's limit") != NULL, "%s", m.text);
	/* Controls and invalid UTF-8 never come out. */
	parse("From: x@y\r\nSubject: a\x01"
	      "b\xff\r\n\r\nbody \xc0\x80 \x1b[31m red\r\n",
	      false);
	ck_assert_msg(strchr(m.text, '\x1b') == NULL && strstr(m.text, "\xc0\x80") == NULL, "%s",
	              m.text);
	ck_assert_msg(strchr(m.subject, '\x01') == NULL, "%s", m.subject);
	free(raw);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("email_parse");
	TCase *tc = unit_tcase(s, "core");
	int status;

	g_mime_init();
	unit_tests(tc, plain_qp_latin1_and_rfc2047, alternative_prefers_plain_and_lists_attachments,
	           html_only, quotes_trimmed_or_kept, bounce, bounds_and_garbage);
	status = unit_run(s);
	mail_in_free(&m);
	return status;
}
