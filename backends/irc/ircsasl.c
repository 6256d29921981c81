/*
 * Logging in to services: SASL EXTERNAL (the TLS client certificate),
 * then PLAIN, during registration; NickServ IDENTIFY after 001 when SASL
 * did not log us in; 900/901 (the account) told to the user. What is
 * tried and why is in docs/irc-engine.md, "Authentication and TLS trust".
 * No password is ever logged or shown (ircd_redacted() covers the trace).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "ircdrv.h"

/* The "sasl=EXTERNAL,PLAIN" value in a CAP LS/NEW list, kept in c->sasl_mechs. */
void
ircd_sasl_mechs(struct ircd_conn *c, const char *list)
{
	const char *p = list;

	while ((p = strstr(p, "sasl=")) != NULL) {
		if (p == list || p[-1] == ' ') {
			free(c->sasl_mechs);
			c->sasl_mechs = xstrndup(p + 5, strcspn(p + 5, " "));
			return;
		}
		p += 5;
	}
}

/* Whether the server takes mech (any, when it gave no list). */
static bool
mech_offered(struct ircd_conn *c, const char *mech)
{
	size_t n = strlen(mech);

	if (c->sasl_mechs == NULL)
		return true;
	for (const char *p = c->sasl_mechs; *p;) {
		size_t k = strcspn(p, ",");

		if (k == n && strncasecmp(p, mech, n) == 0)
			return true;
		p += k;
		if (*p == ',')
			p++;
	}
	return false;
}

/* The next mechanism to try after `after`, or IRCD_SASL_NONE. */
static enum ircd_sasl
sasl_next(struct ircd_conn *c, enum ircd_sasl after)
{
	if (after < IRCD_SASL_EXTERNAL && c->client_cert && mech_offered(c, "EXTERNAL"))
		return IRCD_SASL_EXTERNAL;
	if (after < IRCD_SASL_PLAIN && c->sasl_pass && *c->sasl_pass && mech_offered(c, "PLAIN"))
		return IRCD_SASL_PLAIN;
	return IRCD_SASL_NONE;
}

static const char *
sasl_name(enum ircd_sasl m)
{
	return m == IRCD_SASL_EXTERNAL ? "EXTERNAL" : m == IRCD_SASL_PLAIN ? "PLAIN" : "none";
}

/* Starts mech, or ends CAP negotiation when there is nothing (more) to try. */
static void
sasl_start(struct ircd_conn *c, enum ircd_sasl mech)
{
	c->sasl_mech = mech;
	if (mech == IRCD_SASL_NONE) {
		c->sasl_running = false;
		ircd_cap_end(c);
		return;
	}
	c->sasl_running = true;
	c->sasl_tried = true;
	ircd_sendf(c, true, "AUTHENTICATE", sasl_name(mech), NULL);
}

bool
ircd_sasl_wanted(struct ircd_conn *c)
{
	return sasl_next(c, IRCD_SASL_NONE) != IRCD_SASL_NONE;
}

void
ircd_sasl_begin(struct ircd_conn *c)
{
	sasl_start(c, sasl_next(c, IRCD_SASL_NONE));
}

void
ircd_on_authenticate(struct ircd_conn *c, const struct ircmsg *m)
{
	char *account, *plain, *b64;
	size_t alen, plen, n, len;

	if (!c->sasl_running || strcmp(ircmsg_param(m, 0) ? ircmsg_param(m, 0) : "", "+") != 0)
		return;
	if (c->sasl_mech == IRCD_SASL_EXTERNAL) {
		/* No authorization identity: the account the certificate is registered to. */
		ircd_sendf(c, true, "AUTHENTICATE", "+", NULL);
		return;
	}
	if (c->sasl_mech != IRCD_SASL_PLAIN)
		return;
	account = ircd_setting(c, "sasl_account");
	if (account == NULL || *account == '\0')
		xstrset(&account, c->want_nick);
	alen = strlen(account);
	plen = strlen(c->sasl_pass);
	/* authzid NUL authcid NUL password (RFC 4616) */
	len = alen * 2 + plen + 2;
	plain = xmalloc(len);
	memcpy(plain, account, alen);
	plain[alen] = '\0';
	memcpy(plain + alen + 1, account, alen);
	plain[2 * alen + 1] = '\0';
	memcpy(plain + 2 * alen + 2, c->sasl_pass, plen);
	b64 = xmalloc(4 * ((len + 2) / 3) + 1);
	n = (size_t)EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)plain, (int)len);
	for (size_t off = 0; off < n; off += 400) {
		char chunk[401];
		size_t k = n - off < 400 ? n - off : 400;

		memcpy(chunk, b64 + off, k);
		chunk[k] = '\0';
		ircd_sendf(c, true, "AUTHENTICATE", chunk, NULL);
	}
	if (n % 400 == 0)
		ircd_sendf(c, true, "AUTHENTICATE", "+", NULL);
	explicit_bzero(plain, len);
	explicit_bzero(b64, n);
	free(plain);
	free(b64);
	free(account);
}

void
ircd_sasl_done(struct ircd_conn *c, const struct ircmsg *m, bool ok)
{
	enum ircd_sasl next;
	char *why;

	if (!c->sasl_running)
		return;
	if (ok) {
		c->sasl_running = false;
		ircd_cap_end(c);
		return;
	}
	why = ircd_text_in(c, m->nparams ? m->params[m->nparams - 1] : "");
	next = m->numeric == 904 || m->numeric == 905 ? sasl_next(c, c->sasl_mech) : IRCD_SASL_NONE;
	/* The user learns why, and what happens instead (never the password). */
	ircd_server_message(
	        c, "SASL %s authentication failed: %s; %s%s", sasl_name(c->sasl_mech), why,
	        next != IRCD_SASL_NONE                  ? "trying SASL "
	        : c->nickserv_pass && *c->nickserv_pass ? "identifying with NickServ instead"
	                                                : "continuing without logging in",
	        next != IRCD_SASL_NONE ? sasl_name(next) : "");
	log_info("irc: %s: SASL %s failed on %s", c->user, sasl_name(c->sasl_mech), c->server);
	free(why);
	sasl_start(c, next);
}

/*
 * After 001, when SASL did not log us in: IDENTIFY with NickServ. The
 * password is the NickServ one, else the SASL one when SASL was not tried
 * (a server without SASL, like ngIRCd's); it is never logged or echoed.
 */
void
ircd_nickserv_identify(struct ircd_conn *c)
{
	const char *pw = c->nickserv_pass;
	char *account, *text;

	if (c->account != NULL)
		return;
	if ((pw == NULL || *pw == '\0') && !c->sasl_tried)
		pw = c->sasl_pass;
	if (pw == NULL || *pw == '\0')
		return;
	account = ircd_setting(c, "sasl_account");
	if (account == NULL || *account == '\0')
		xstrset(&account, c->want_nick);
	text = xasprintf("IDENTIFY %s %s", account, pw);
	ircd_sendf(c, true, "PRIVMSG", "NickServ", text, NULL);
	explicit_bzero(text, strlen(text));
	free(text);
	log_info("irc: %s: identifying to NickServ on %s as %s", c->user, c->server, account);
	free(account);
}

/* 900 (logged in) and 901 (logged out): the account, told from the server's address. */
void
ircd_on_account(struct ircd_conn *c, const struct ircmsg *m)
{
	if (m->numeric == 900 && m->nparams >= 4) {
		if (!ircd_name_ok(m->params[2]))
			return;
		xstrset(&c->account, m->params[2]);
		log_info("irc: %s: logged in to %s as %s%s%s", c->user, c->server, c->account,
		         c->sasl_running ? " by SASL " : "",
		         c->sasl_running ? sasl_name(c->sasl_mech) : "");
		if (c->sasl_running)
			ircd_server_message(c, "%s (SASL %s)", m->params[m->nparams - 1],
			                    sasl_name(c->sasl_mech));
		else
			ircd_server_message(c, "%s", m->params[m->nparams - 1]);
	} else if (m->numeric == 901 && m->nparams >= 1) {
		free(c->account);
		c->account = NULL;
		ircd_server_message(c, "%s", m->params[m->nparams - 1]);
	}
}
