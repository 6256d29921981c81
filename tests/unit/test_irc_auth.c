/*
 * Unit tests: what the IRC driver's authentication code does with text:
 * fingerprints as users and admins write them, secrets cut from lines
 * before they are logged, identd queries.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ircdrv.h"
#include "unit.h"

#define WEBIRC_HOST "ec9bd40c32347076.example.org"
#define WEBIRC_IP "fd92:ac32:0f2a:8876:75c3:0bf4:ce24:8441"
#define FP "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

START_TEST(fingerprint_forms)
{
	char out[65];

	ck_assert_int_eq(ircd_fingerprint_parse(FP, out), 0);
	ck_assert_str_eq(out, FP);
	/* openssl's form: upper case with colons */
	ck_assert_int_eq(ircd_fingerprint_parse("01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
	                                        "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF",
	                                        out),
	                 0);
	ck_assert_str_eq(out, FP);
	ck_assert_int_eq(ircd_fingerprint_parse("01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef "
	                                        "01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef",
	                                        out),
	                 0);
	ck_assert_str_eq(out, FP);
}
END_TEST

START_TEST(fingerprint_refused)
{
	char out[65];

	ck_assert_int_eq(ircd_fingerprint_parse("", out), -1);
	ck_assert_int_eq(ircd_fingerprint_parse("12:34:zz", out), -1);
	/* SHA-1 (40 digits) and one digit short or over */
	ck_assert_int_eq(ircd_fingerprint_parse("0123456789abcdef0123456789abcdef01234567", out),
	                 -1);
	ck_assert_int_eq(ircd_fingerprint_parse(&FP[1], out), -1);
	ck_assert_int_eq(ircd_fingerprint_parse(FP "0", out), -1);
	ck_assert_int_eq(ircd_fingerprint_parse(FP "0123456789", out), -1);
	ck_assert_int_eq(ircd_fingerprint_parse("0123456789abcdef0123456789abcdef0123456789abcdef"
	                                        "0123456789abcdeg",
	                                        out),
	                 -1);
}
END_TEST

static void
redacted(const char *in, const char *want)
{
	char *s = ircd_redacted(in, strlen(in));

	ck_assert_str_eq(s, want);
	free(s);
}

START_TEST(redact_secrets)
{
	redacted("PASS hunter2", "PASS <hidden>");
	redacted("AUTHENTICATE YWxpY2UAYWxpY2UAaHVudGVyMg==", "AUTHENTICATE <hidden>");
	redacted("OPER root hunter2", "OPER <hidden>");
	redacted("WEBIRC hunter2 stanzagate h.example fd00::1", "WEBIRC <hidden>");
	redacted("PRIVMSG NickServ :IDENTIFY alice hunter2", "PRIVMSG NickServ :IDENTIFY <hidden>");
	redacted("privmsg nickserv :register hunter2 a@b.c", "privmsg nickserv :register <hidden>");
	redacted("PRIVMSG NickServ IDENTIFY", "PRIVMSG NickServ IDENTIFY");
	redacted("NS IDENTIFY hunter2", "NS IDENTIFY <hidden>");
	redacted("NICKSERV IDENTIFY alice hunter2", "NICKSERV IDENTIFY <hidden>");
	/* an echo (echo-message) carries tags and our source */
	redacted("@time=2026-01-01T00:00:00Z;msgid=x :alice!a@h PRIVMSG NickServ :IDENTIFY a pw",
	         "@time=2026-01-01T00:00:00Z;msgid=x :alice!a@h PRIVMSG NickServ :IDENTIFY "
	         "<hidden>");
	/* what carries no secret is left alone */
	redacted("PRIVMSG #chan :PASS hunter2", "PRIVMSG #chan :PASS hunter2");
	redacted("PRIVMSG bob :IDENTIFY x y", "PRIVMSG bob :IDENTIFY x y");
	redacted("AUTHENTICATE", "AUTHENTICATE");
	redacted("", "");
	/* a secret shorter than "<hidden>" (the copy has room for it) */
	redacted("PASS x", "PASS <hidden>");
	redacted("PASS ", "PASS <hidden>");
	redacted("PRIVMSG NickServ :ID a", "PRIVMSG NickServ :ID <hidden>");
}
END_TEST

START_TEST(identd_queries)
{
	unsigned a = 0, b = 0;

	ck_assert_int_eq(ircd_identd_parse("6193, 23", &a, &b), 0);
	ck_assert_uint_eq(a, 6193);
	ck_assert_uint_eq(b, 23);
	ck_assert_int_eq(ircd_identd_parse(" 1 ,65535 ", &a, &b), 0);
	ck_assert_uint_eq(a, 1);
	ck_assert_uint_eq(b, 65535);
	ck_assert_int_eq(ircd_identd_parse("\t113\t,\t6667", &a, &b), 0);
	ck_assert_int_eq(ircd_identd_parse("", &a, &b), -1);
	ck_assert_int_eq(ircd_identd_parse("hello", &a, &b), -1);
	ck_assert_int_eq(ircd_identd_parse("0 , 1", &a, &b), -1);
	ck_assert_int_eq(ircd_identd_parse("1 , 65536", &a, &b), -1);
	ck_assert_int_eq(ircd_identd_parse("1 , 000001", &a, &b), -1);
	ck_assert_int_eq(ircd_identd_parse("-1 , 2", &a, &b), -1);
	ck_assert_int_eq(ircd_identd_parse("1 2", &a, &b), -1);
	ck_assert_int_eq(ircd_identd_parse("1 , 2 , 3", &a, &b), -1);
	ck_assert_int_eq(ircd_identd_parse("1 , 2x", &a, &b), -1);
	ck_assert_int_eq(ircd_identd_parse("99999999999999999999 , 2", &a, &b), -1);
}
END_TEST

START_TEST(webirc_identity)
{
	char host[80], ip[48], host2[80], ip2[48];

	/* HMAC-SHA256("pw", "alice@example.org"), computed apart with Python's hmac */
	ck_assert_int_eq(ircd_webirc_identity("pw", "alice@example.org", host, ip), 0);
	ck_assert_str_eq(host, WEBIRC_HOST);
	ck_assert_str_eq(ip, WEBIRC_IP);
	/* stable; another user or password gives another identity */
	ck_assert_int_eq(ircd_webirc_identity("pw", "alice@example.org", host2, ip2), 0);
	ck_assert_str_eq(host, host2);
	ck_assert_int_eq(ircd_webirc_identity("pw", "bob@example.org", host2, ip2), 0);
	ck_assert_str_ne(host, host2);
	ck_assert_str_ne(ip, ip2);
	ck_assert_int_eq(ircd_webirc_identity("other", "alice@example.org", host2, ip2), 0);
	ck_assert_str_ne(ip, ip2);
	/* a domain that is no plain host name, or too long for HOSTLEN */
	ck_assert_int_eq(ircd_webirc_identity("pw", "a@EXAMPLE.org", host2, ip2), 0);
	ck_assert_str_eq(host2 + 16, ".xmpp");
	ck_assert_int_eq(ircd_webirc_identity("pw", "a@caf\xc3\xa9.example", host2, ip2), 0);
	ck_assert_str_eq(host2 + 16, ".xmpp");
	ck_assert_int_eq(ircd_webirc_identity(
	                         "pw", "a@an-exceedingly-long-domain-name-for-a-host.example.org",
	                         host2, ip2),
	                 0);
	ck_assert_str_eq(host2 + 16, ".xmpp");
	ck_assert_int_eq(ircd_webirc_identity("pw", "no-domain", host2, ip2), 0);
	ck_assert_str_eq(host2 + 16, ".xmpp");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("irc_auth");
	TCase *tc = unit_tcase(s, "auth");

	unit_tests(tc, fingerprint_forms, fingerprint_refused, redact_secrets, identd_queries,
	           webirc_identity);
	return unit_run(s);
}
