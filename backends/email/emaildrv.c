/*
 * The email gateway (gateway/smtp): every address a contact. Registration
 * logs in to both servers before anything is stored; a chat message leaves
 * by SMTP submission as a MIME mail built by GMime (a copy APPENDed to
 * Sent); new INBOX mail arrives through one IMAP connection per account
 * (mailimap.c). Every transfer runs on the loop through curl's multi-socket
 * API (mailcurl.c).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "mailacct.h"
#include "mailaddr.h"
#include "mailbuild.h"
#include "mailcurl.h"
#include "maildiscover.h"

#define VERIFY_TIMEOUT 30L /* seconds for each server at registration */

static const struct gw_option email_options[] = {
        {"imap", GW_OPT_STRING, NULL, 0, 0, GW_OPT_RELOADABLE,
         "IMAP server a registration form starts from: imaps://host[:port] (TLS) or "
         "imap://host[:port] (STARTTLS, required)."},
        {"smtp", GW_OPT_STRING, NULL, 0, 0, GW_OPT_RELOADABLE,
         "SMTP submission server a registration form starts from: smtps://host[:port] (TLS) "
         "or smtp://host:587 (STARTTLS, required)."},
        {"poll_interval", GW_OPT_DURATION, "300", 2, 86400, GW_OPT_RELOADABLE,
         "Seconds between checks of an INBOX whose server has no IMAP IDLE."},
        {"max_message_size", GW_OPT_INT, "26214400", 1024, 1073741824, GW_OPT_RELOADABLE,
         "Bytes: bigger incoming mail is shown by its headers only; bigger outgoing text is "
         "refused."},
        {"lock", GW_OPT_LIST, "", 0, 0, GW_OPT_RELOADABLE,
         "Registration fields users cannot change (imap, smtp): the section's values apply."},
        {"ca_file", GW_OPT_PATH, NULL, 0, 0, GW_OPT_RELOADABLE,
         "Extra CA certificates (PEM) to trust for mail servers; default: the system's."},
        GW_OPTIONS_END,
};

static const struct gw_field email_registration[] = {
        {"email", GW_FIELD_TEXT, "Email address", "Your address, e.g. alice@example.com.",
         GW_FIELD_REQUIRED, NULL, NULL},
        {"imap", GW_FIELD_TEXT, "IMAP server",
         "imaps://host[:port], or imap://host[:port] for "
         "STARTTLS.",
         0, NULL, NULL},
        {"smtp", GW_FIELD_TEXT, "SMTP server",
         "smtps://host[:port], or smtp://host:587 for "
         "STARTTLS.",
         0, NULL, NULL},
        {"username", GW_FIELD_TEXT, "Login", "Empty: your address.", 0, NULL, NULL},
        {"password", GW_FIELD_PRIVATE, "Password", "Stored encrypted.",
         GW_FIELD_REQUIRED | GW_FIELD_SECRET, NULL, NULL},
        {"name", GW_FIELD_TEXT, "Display name", "Shown in From: of the mail you send.", 0, NULL,
         NULL},
        GW_FIELDS_END,
};

struct email_net *
email_priv(struct gw_net *net)
{
	return gw_net_priv(net);
}

static bool
locked(struct gw_net *net, const char *field)
{
	for (const char *const *l = gw_conf_list(gw_net_section(net), "lock"); *l; l++)
		if (strcasecmp(*l, field) == 0)
			return true;
	return false;
}

/* The server URL a user's account uses: theirs unless the operator locked it. */
static char *
server_url(struct gw_net *net, const char *user, const char *field, const char *submitted)
{
	const char *def = gw_conf_str(gw_net_section(net), field);
	char *mine;

	if (locked(net, field))
		return def ? xstrdup(def) : NULL;
	if (submitted && *submitted)
		return xstrdup(submitted);
	mine = user ? gw_setting_get(net, user, "", field) : NULL;
	if (mine && *mine)
		return mine;
	free(mine);
	return def ? xstrdup(def) : NULL;
}

void
mail_curl_common(struct gw_net *net, CURL *easy, const char *login, const char *password)
{
	const char *ca = gw_conf_str(gw_net_section(net), "ca_file");

	curl_easy_setopt(easy, CURLOPT_USERNAME, login);
	curl_easy_setopt(easy, CURLOPT_PASSWORD, password);
	/* imap:// and smtp:// mean STARTTLS, never plain text (SPEC §4). */
	curl_easy_setopt(easy, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca)
		curl_easy_setopt(easy, CURLOPT_CAINFO, ca);
	else
		/*
		 * The system's bundle alone: curl shares the parsed store among
		 * the multi's connections only without a CA directory (a default
		 * one, as Debian's curl has, makes every connection parse and
		 * keep the whole bundle: 144 certificates, ~880 KiB and 24 ms of
		 * CPU each, bench/run.sh castore). With ca_file the
		 * directory stays, so that the system's CAs are still trusted.
		 */
		curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
	/* Each handle opens one connection: a session kept for its reuse is never resumed. */
	curl_easy_setopt(easy, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "imap,imaps,smtp,smtps");
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, VERIFY_TIMEOUT);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
}

CURL *
mail_easy_new(struct gw_net *net, const char *url, const char *login, const char *password)
{
	CURL *e = curl_easy_init();

	if (e == NULL)
		fatalx("email: curl_easy_init failed");
	curl_easy_setopt(e, CURLOPT_URL, url);
	mail_curl_common(net, e, login, password);
	return e;
}

static bool
url_ok(const char *url, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return url && ((strncasecmp(url, a, la) == 0 && url[la]) ||
	               (strncasecmp(url, b, lb) == 0 && url[lb]));
}

/* ---- accounts ---- */

struct acct *
acct_find(struct gw_net *net, const char *user)
{
	struct email_net *en = email_priv(net);

	for (size_t i = 0; i < en->naccts; i++)
		if (strcasecmp(en->accts[i]->user, user) == 0)
			return en->accts[i];
	return NULL;
}

/* Frees what acct_load() read, which a reload reads again. */
static void
acct_settings_free(struct acct *a)
{
	free(a->email);
	free(a->name);
	free(a->imap);
	free(a->smtp);
	free(a->login);
	free(a->password);
}

static void
acct_load(struct acct *a)
{
	struct gw_net *net = a->net;

	acct_settings_free(a);
	a->email = gw_setting_get(net, a->user, "", "email");
	a->name = gw_setting_get(net, a->user, "", "name");
	a->imap = server_url(net, a->user, "imap", NULL);
	a->smtp = server_url(net, a->user, "smtp", NULL);
	a->login = gw_setting_get(net, a->user, "", "username");
	if (a->login == NULL || *a->login == '\0') {
		free(a->login);
		a->login = a->email ? xstrdup(a->email) : NULL;
	}
	a->password = gw_secret_get(net, a->user, "", "password");
}

static bool
paused(struct acct *a)
{
	char *v = gw_setting_get(a->net, a->user, "", "paused");
	bool p = v && strcmp(v, "yes") == 0;

	free(v);
	return p;
}

static struct acct *
acct_open(struct gw_net *net, const char *user)
{
	struct email_net *en = email_priv(net);
	struct acct *a = acct_find(net, user);

	if (a == NULL) {
		a = xcalloc(1, sizeof(*a));
		a->net = net;
		a->user = xstrdup(user);
		en->accts = xreallocarray(en->accts, en->naccts + 1, sizeof(*en->accts));
		en->accts[en->naccts++] = a;
	}
	acct_load(a);
	if (paused(a))
		acct_imap_stop(a);
	else
		acct_imap_start(a);
	return a;
}

static void
acct_close(struct gw_net *net, const char *user)
{
	struct email_net *en = email_priv(net);

	for (size_t i = 0; i < en->naccts; i++) {
		struct acct *a = en->accts[i];

		if (strcasecmp(a->user, user) != 0)
			continue;
		acct_imap_free(a);
		free(a->user);
		acct_settings_free(a);
		free(a);
		en->accts[i] = en->accts[--en->naccts];
		return;
	}
}

/*
 * A contact shows available while the account's IMAP connection is logged
 * in (mail from it comes at once), unavailable with the reason while the
 * account is paused or its server unreachable.
 */
static enum gw_show
email_contact_presence(struct gw_net *net, const char *user, const char *address, char **status)
{
	struct acct *a = acct_find(net, user);

	(void)address;
	if (a == NULL) {
		*status = xstrdup("You are not registered with this gateway.");
		return GW_SHOW_OFFLINE;
	}
	if (a->logged_in)
		return GW_SHOW_ONLINE;
	if (a->state == IMAP_CONNECT && a->last_error == NULL)
		return GW_SHOW_UNKNOWN; /* the first login is under way: told when it ends */
	if (a->state == IMAP_OFF && paused(a))
		*status = xstrdup("Paused: new mail is not fetched (send resume).");
	else if (a->last_error)
		*status = xasprintf("The mail server: %s", a->last_error);
	return GW_SHOW_OFFLINE;
}

/* ---- registration: both servers tried before anything is stored ---- */

struct verify {
	struct gw_net *net;
	struct gw_check *check;
	CURL *imap, *smtp;
	int left;
	char *imap_why, *smtp_why;
	char err_imap[CURL_ERROR_SIZE], err_smtp[CURL_ERROR_SIZE];
	/* While the servers are looked up in DNS (RFC 6186): */
	struct mail_discover *discover;
	char *domain, *imap_url, *smtp_url, *login, *password;
	struct verify *next; /* en->discovering */
};

static void
verify_free(struct verify *v)
{
	free(v->imap_why);
	free(v->smtp_why);
	free(v->domain);
	free(v->imap_url);
	free(v->smtp_url);
	free(v->login);
	free(v->password);
	free(v);
}

static char *
readable_failure(CURL *easy, CURLcode rc, const char *errbuf)
{
	long code = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_LOGIN_DENIED)
		return xstrdup("the login or password was refused");
	if (rc == CURLE_PEER_FAILED_VERIFICATION)
		return xasprintf("its certificate could not be verified (%s)", errbuf);
	if (rc == CURLE_USE_SSL_FAILED)
		return xstrdup(
		        "it offers no TLS (STARTTLS), and the gateway never sends a password "
		        "in clear");
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	    rc == CURLE_OPERATION_TIMEDOUT)
		return xasprintf("it could not be reached (%s)",
		                 *errbuf ? errbuf : curl_easy_strerror(rc));
	if (code >= 400)
		return xasprintf("it answered %ld (%s)", code,
		                 *errbuf ? errbuf : curl_easy_strerror(rc));
	return xstrdup(*errbuf ? errbuf : curl_easy_strerror(rc));
}

static void
verify_finish(struct verify *v)
{
	if (v->imap_why || v->smtp_why) {
		char *why =
		        xasprintf("%s%s%s%s%s%s", v->imap_why ? "The IMAP server refused: " : "",
		                  v->imap_why ? v->imap_why : "", v->imap_why ? "." : "",
		                  v->imap_why && v->smtp_why ? " " : "",
		                  v->smtp_why ? "The SMTP server refused: " : "",
		                  v->smtp_why ? v->smtp_why : "");
		char *full = v->smtp_why ? xasprintf("%s.", why) : xstrdup(why);

		gw_check_done(v->check, GW_ERR_NOT_AUTHORIZED, full);
		free(full);
		free(why);
	} else
		gw_check_done(v->check, GW_ERR_NONE, NULL);
	verify_free(v);
}

static void
verify_done(CURL *easy, CURLcode rc, void *arg)
{
	struct verify *v = arg;
	bool imap = easy == v->imap;

	if (rc != CURLE_OK) {
		char *why = readable_failure(easy, rc, imap ? v->err_imap : v->err_smtp);

		if (imap)
			v->imap_why = why;
		else
			v->smtp_why = why;
	}
	curl_easy_cleanup(easy);
	if (--v->left == 0)
		verify_finish(v);
}

static CURL *
verify_easy(struct gw_net *net, const char *url, const char *login, const char *password,
            char *errbuf)
{
	CURL *e = mail_easy_new(net, url, login, password);

	curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, VERIFY_TIMEOUT);
	return e;
}

static enum gw_error
check_registration(struct gw_net *net, const char *user, const struct gw_values *in, char **why)
{
	const char *email = gw_values_get(in, "email");
	char *addr = NULL, *imap, *smtp;
	enum gw_error e = GW_ERR_NONE;

	if (email && *email) {
		if (mail_addr_normalize(email, &addr, why) == -1)
			return GW_ERR_NOT_ACCEPTABLE;
		free(addr);
	}
	imap = server_url(net, user, "imap", gw_values_get(in, "imap"));
	smtp = server_url(net, user, "smtp", gw_values_get(in, "smtp"));
	/* Empty, with no default to start from: looked up in DNS (verify_registration). */
	if (imap && !url_ok(imap, "imaps://", "imap://")) {
		*why = xstrdup("The IMAP server must be given as imaps://host or imap://host "
		               "(STARTTLS).");
		e = GW_ERR_NOT_ACCEPTABLE;
	} else if (smtp && !url_ok(smtp, "smtps://", "smtp://")) {
		*why = xstrdup("The SMTP server must be given as smtps://host or smtp://host:587 "
		               "(STARTTLS).");
		e = GW_ERR_NOT_ACCEPTABLE;
	} else if ((locked(net, "imap") && gw_values_get(in, "imap") &&
	            *gw_values_get(in, "imap") && strcmp(gw_values_get(in, "imap"), imap) != 0) ||
	           (locked(net, "smtp") && gw_values_get(in, "smtp") &&
	            *gw_values_get(in, "smtp") && strcmp(gw_values_get(in, "smtp"), smtp) != 0)) {
		*why = xstrdup("This gateway's operator has set the mail servers; they cannot be "
		               "changed.");
		e = GW_ERR_NOT_ALLOWED;
	}
	free(imap);
	free(smtp);
	return e;
}

static void
verify_start(struct verify *v)
{
	const char *login = v->login ? v->login : "", *pw = v->password ? v->password : "";

	v->left = 2;
	v->imap = verify_easy(v->net, v->imap_url, login, pw, v->err_imap);
	v->smtp = verify_easy(v->net, v->smtp_url, login, pw, v->err_smtp);
	mcurl_add(email_priv(v->net)->mc, v->imap, verify_done, v);
	mcurl_add(email_priv(v->net)->mc, v->smtp, verify_done, v);
}

static void
discovering_remove(struct verify *v)
{
	struct verify **p = &email_priv(v->net)->discovering;

	while (*p && *p != v)
		p = &(*p)->next;
	if (*p)
		*p = v->next;
	v->discover = NULL;
}

/* The URLs the domain publishes; what was given stays. */
static void
discovered_cb(void *arg, const char *imap, const char *smtp, const char *why)
{
	struct verify *v = arg;
	char *missing;

	discovering_remove(v);
	if (v->imap_url == NULL && imap) {
		v->imap_url = xstrdup(imap);
		gw_check_set(v->check, "imap", imap);
	}
	if (v->smtp_url == NULL && smtp) {
		v->smtp_url = xstrdup(smtp);
		gw_check_set(v->check, "smtp", smtp);
	}
	if (v->imap_url && v->smtp_url) {
		log_info("email: %s publishes %s and %s (RFC 6186)", v->domain, v->imap_url,
		         v->smtp_url);
		verify_start(v);
		return;
	}
	missing = xasprintf("No %s%s%s server was given, and %s %s. Give %s in the form.",
	                    v->imap_url ? "" : "IMAP", v->imap_url || v->smtp_url ? "" : " or ",
	                    v->smtp_url ? "" : "SMTP", v->domain,
	                    why ? "could not be looked up in DNS" : "publishes none in DNS (SRV)",
	                    v->imap_url || v->smtp_url ? "it" : "them");
	if (why)
		log_warnx("email: SRV records of %s: %s", v->domain, why);
	gw_check_done(v->check, GW_ERR_NOT_ACCEPTABLE, missing);
	free(missing);
	verify_free(v);
}

static void
verify_registration(struct gw_net *net, const char *user, const struct gw_values *in,
                    struct gw_check *check)
{
	struct verify *v = xcalloc(1, sizeof(*v));
	const char *email = gw_values_get(in, "email");
	const char *login = gw_values_get(in, "username");
	const char *password = gw_values_get(in, "password");
	char *stored_email = NULL, *addr = NULL, *why = NULL;

	v->net = net;
	v->check = check;
	v->imap_url = server_url(net, user, "imap", gw_values_get(in, "imap"));
	v->smtp_url = server_url(net, user, "smtp", gw_values_get(in, "smtp"));
	if (email == NULL || *email == '\0')
		email = stored_email = gw_setting_get(net, user, "", "email");
	if (email)
		mail_addr_normalize(email, &addr, &why);
	free(why);
	if (login && *login)
		v->login = xstrdup(login);
	else {
		v->login = gw_setting_get(net, user, "", "username");
		if (v->login == NULL || *v->login == '\0') {
			free(v->login);
			v->login = addr ? xstrdup(addr) : NULL;
		}
	}
	v->password = password && *password ? xstrdup(password)
	                                    : gw_secret_get(net, user, "", "password");
	if (v->imap_url && v->smtp_url)
		verify_start(v);
	else {
		const char *at = addr ? strrchr(addr, '@') : NULL;

		v->domain = xstrdup(at ? at + 1 : "");
		v->next = email_priv(net)->discovering;
		email_priv(net)->discovering = v;
		v->discover = mail_discover(v->domain, v->imap_url == NULL, v->smtp_url == NULL,
		                            discovered_cb, v);
	}
	free(stored_email);
	free(addr);
}

static void
user_registered(struct gw_net *net, const char *user)
{
	char *email = gw_setting_get(net, user, "", "email"), *addr = NULL, *why = NULL;

	/* The address as the gateway uses it (canonical form). */
	if (email && mail_addr_normalize(email, &addr, &why) == 0 && strcmp(addr, email) != 0)
		gw_setting_set(net, user, "", "email", addr);
	free(why);
	free(addr);
	free(email);
	acct_open(net, user);
}

static void
user_removed(struct gw_net *net, const char *user)
{
	acct_close(net, user);
}

static void
open_user_cb(const char *user, void *arg)
{
	acct_open(arg, user);
}

/* ---- addresses ---- */

static int
normalize(struct gw_net *net, const char *typed, char **out, char **why)
{
	(void)net;
	return mail_addr_normalize(typed, out, why);
}

/* ---- sending ---- */

struct outgoing {
	struct outgoing *next; /* in email_net.outgoing until freed */
	CURL *easy;            /* running: the SMTP submission, then the Sent copy */
	/*
	 * One mail of an account at a time at the SMTP server, so that at a
	 * crash only that one may go twice (SPEC section 7): the submission of
	 * a mail that waits for the one before it.
	 */
	CURL *waiting;
	bool submitting; /* its submission runs */
	struct gw_net *net;
	uint64_t qid;
	char *user, *to, *xmpp_id, *message_id;
	bool want_receipt;
	char *data;
	size_t len, off;
	struct curl_slist *rcpt;
	char err[CURL_ERROR_SIZE];
	char reply[200]; /* the SMTP server's last 4xx/5xx line: what the user is told */
	/* the Sent copy */
	char *sent_url;
	char *login, *password;
};

static void
outgoing_free(struct outgoing *o)
{
	struct outgoing **pp = &email_priv(o->net)->outgoing;

	while (*pp != o)
		pp = &(*pp)->next;
	*pp = o->next;
	free(o->user);
	free(o->to);
	free(o->xmpp_id);
	free(o->message_id);
	free(o->data);
	free(o->sent_url);
	free(o->login);
	free(o->password);
	curl_slist_free_all(o->rcpt);
	free(o);
}

/* Runs o's transfer e; email_stop cancels it if it is still running then. */
static void
outgoing_run(struct outgoing *o, CURL *e, mcurl_done_fn done)
{
	o->easy = e;
	mcurl_add(email_priv(o->net)->mc, e, done, o);
}

/* Its transfer e finished: done with the handle. */
static void
outgoing_ran(struct outgoing *o, CURL *e)
{
	curl_easy_cleanup(e);
	o->easy = NULL;
}

/* At stop: a mail not yet accepted stays in the queue and is sent after the restart. */
static void
outgoing_cancel_all(struct email_net *en)
{
	while (en->outgoing) {
		struct outgoing *o = en->outgoing;

		if (o->easy) {
			mcurl_cancel(en->mc, o->easy);
			outgoing_ran(o, o->easy);
		}
		if (o->waiting)
			curl_easy_cleanup(o->waiting);
		outgoing_free(o);
	}
}

static size_t
read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct outgoing *o = arg;
	size_t want = size * n, left = o->len - o->off;

	if (want > left)
		want = left;
	memcpy(buf, o->data + o->off, want);
	o->off += want;
	return want;
}

/* curl hands every SMTP response line to the header callback. */
static size_t
reply_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct outgoing *o = arg;
	size_t len = size * n, keep = len;

	if (len >= 3 && (buf[0] == '4' || buf[0] == '5') && isdigit((unsigned char)buf[1]) &&
	    isdigit((unsigned char)buf[2])) {
		if (keep > sizeof(o->reply) - 1)
			keep = sizeof(o->reply) - 1;
		memcpy(o->reply, buf, keep);
		o->reply[keep] = '\0';
		o->reply[strcspn(o->reply, "\r\n")] = '\0';
		for (char *c = o->reply; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = ' ';
	}
	return len;
}

static void
appended_cb(CURL *easy, CURLcode rc, void *arg)
{
	struct outgoing *o = arg;

	if (rc != CURLE_OK)
		log_warnx("email: %s: the copy of %s could not be put in Sent: %s", o->user,
		          o->message_id, *o->err ? o->err : curl_easy_strerror(rc));
	outgoing_ran(o, easy);
	outgoing_free(o);
}

/* A copy in the user's Sent folder (IMAP APPEND), after the server took the mail. */
static void
append_sent(struct outgoing *o)
{
	CURL *e = mail_easy_new(o->net, o->sent_url, o->login, o->password);

	o->off = 0;
	o->err[0] = '\0';
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(e, CURLOPT_READDATA, o);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)o->len);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, o->err);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 300L);
	outgoing_run(o, e, appended_cb);
}

static void submitted_cb(CURL *, CURLcode, void *);

/* Whether a mail of user is being submitted, or waits its turn. */
static bool
user_submitting(struct email_net *en, const char *user)
{
	for (struct outgoing *o = en->outgoing; o; o = o->next)
		if ((o->submitting || o->waiting) && strcasecmp(o->user, user) == 0)
			return true;
	return false;
}

/* Submits o's mail, or queues it behind the one of its account being submitted. */
static void
submit(struct outgoing *o, CURL *e)
{
	if (user_submitting(email_priv(o->net), o->user)) {
		o->waiting = e;
		return;
	}
	o->submitting = true;
	outgoing_run(o, e, submitted_cb);
}

/* The account's submission ended: its oldest waiting mail goes (the list is newest first). */
static void
submit_next(struct email_net *en, const char *user)
{
	struct outgoing *next = NULL;
	CURL *e;

	for (struct outgoing *o = en->outgoing; o; o = o->next)
		if (o->waiting && strcasecmp(o->user, user) == 0)
			next = o;
	if (next == NULL)
		return;
	e = next->waiting;
	next->waiting = NULL;
	next->submitting = true;
	outgoing_run(next, e, submitted_cb);
}

/* What the SMTP server said of o's mail: done, retried or failed. */
static void
submitted(CURL *easy, CURLcode rc, struct outgoing *o)
{
	struct email_net *en = email_priv(o->net);
	long code = 0;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	outgoing_ran(o, easy);
	if (rc == CURLE_OK) {
		char *v = xasprintf("%s\x1f%s", o->to, o->xmpp_id ? o->xmpp_id : "");

		/* A bounce names this Message-ID: it finds the conversation here. */
		gw_setting_set(o->net, o->user, "sent", o->message_id, v);
		free(v);
		en->sent++;
		log_info("email: %s: mail %s to %s accepted", o->user, o->message_id, o->to);
		gw_send_done(o->net, o->qid, GW_SEND_DONE, NULL);
		if (o->want_receipt && o->xmpp_id)
			gw_receipt(o->net, o->user, o->to, o->xmpp_id);
		/* Someone the user wrote to is a correspondent: a contact, if not yet one. */
		gw_contact_add(o->net, o->user, o->to, NULL);
		append_sent(o);
		return;
	}
	/* A 5xx answer is final whatever curl calls it (RCPT failed is a "send error"). */
	if (code < 500 && rc != CURLE_LOGIN_DENIED &&
	    (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	     rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
	     rc == CURLE_GOT_NOTHING || rc == CURLE_SSL_CONNECT_ERROR || code >= 400)) {
		log_info("email: %s: the SMTP server is not taking mail now (%s): retried later",
		         o->user, *o->err ? o->err : curl_easy_strerror(rc));
		gw_send_done(o->net, o->qid, GW_SEND_RETRY, NULL);
	} else {
		char *why;

		if (rc == CURLE_LOGIN_DENIED)
			why = xstrdup(
			        "the SMTP server refused your login or password; register again "
			        "with the right one");
		else if (code >= 500)
			/* Its own words: after DATA curl says only "weird server reply". */
			why = xasprintf("the SMTP server refused the mail%s: %s",
			                code == 552 || code == 523
			                        ? " (too big, or the mailbox is over its quota)"
			                        : "",
			                *o->reply ? o->reply
			                : *o->err ? o->err
			                          : curl_easy_strerror(rc));
		else
			why = xasprintf("the SMTP server failed: %s",
			                *o->err ? o->err : curl_easy_strerror(rc));
		en->refused++;
		log_info("email: %s: mail to %s refused: %s", o->user, o->to, why);
		gw_send_done(o->net, o->qid, GW_SEND_FAILED, why);
		free(why);
	}
	outgoing_free(o);
}

static void
submitted_cb(CURL *easy, CURLcode rc, void *arg)
{
	struct outgoing *o = arg;
	struct email_net *en = email_priv(o->net);
	char *user = xstrdup(o->user);

	o->submitting = false;
	submitted(easy, rc, o); /* frees o, or hands it to the Sent copy */
	submit_next(en, user);
	free(user);
}

static enum gw_send_status
email_send(struct gw_net *net, const struct gw_outmsg *m, char **why)
{
	struct acct *a = acct_find(net, m->user);
	char *signature, *scope, *last, *message_id = NULL, *data;
	size_t len;
	struct outgoing *o;
	CURL *e;
	long max = gw_conf_int(gw_net_section(net), "max_message_size");

	if (a == NULL || a->email == NULL || a->smtp == NULL) {
		*why = xstrdup("you are not registered with the mail gateway");
		return GW_SEND_FAILED;
	}
	if ((long)strlen(m->body) > max) {
		*why = xstrdup("the text is larger than this gateway's max_message_size");
		return GW_SEND_FAILED;
	}
	signature = gw_setting_get(net, m->user, "", "signature");
	scope = xasprintf("contact:%s", m->to);
	last = gw_setting_get(net, m->user, scope, "last_message_id");
	{
		struct mail_out mo = {
		        .from_addr = a->email,
		        .from_name = a->name && *a->name ? a->name : NULL,
		        .to_addr = m->to,
		        .subject = m->subject,
		        .body = m->body,
		        .signature = signature && *signature ? signature : NULL,
		        .thread = m->thread,
		        .in_reply_to = m->thread ? last : NULL,
		        .domain =
		                strchr(a->email, '@') ? strchr(a->email, '@') + 1 : gw_net_jid(net),
		};

		data = mail_build(&mo, &len, &message_id);
	}
	free(signature);
	free(scope);
	free(last);
	if (data == NULL) {
		*why = xasprintf("%s is not an address a mail can be sent to", m->to);
		return GW_SEND_FAILED;
	}
	o = xcalloc(1, sizeof(*o));
	o->net = net;
	o->next = email_priv(net)->outgoing;
	email_priv(net)->outgoing = o;
	o->qid = m->qid;
	o->user = xstrdup(m->user);
	o->to = xstrdup(m->to);
	o->xmpp_id = xstrdup_or_null(m->xmpp_id);
	o->message_id = message_id;
	o->want_receipt = m->want_receipt;
	o->data = data;
	o->len = len;
	o->login = xstrdup(a->login ? a->login : a->email);
	o->password = xstrdup(a->password ? a->password : "");
	o->sent_url = a->imap ? xasprintf("%s/Sent", a->imap) : NULL;
	{
		char *rcpt = xasprintf("<%s>", m->to), *from = xasprintf("<%s>", a->email);

		o->rcpt = curl_slist_append(NULL, rcpt);
		e = mail_easy_new(net, a->smtp, o->login, o->password);
		curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT, o->rcpt);
		free(rcpt);
		free(from);
	}
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(e, CURLOPT_READDATA, o);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)o->len);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, o->err);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, reply_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, o);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 300L);
	submit(o, e);
	return GW_SEND_PENDING;
}

/* ---- commands ---- */

static struct acct *
cmd_acct(struct gw_cmd *cmd)
{
	struct acct *a = acct_find(gw_cmd_net(cmd), gw_cmd_user(cmd));

	if (a == NULL)
		gw_cmd_note(cmd, GW_NOTE_ERROR, "You are not registered with the mail gateway.");
	return a;
}

static enum gw_cmd_status
cmd_status(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct acct *a = cmd_acct(cmd);
	char when[32] = "never";

	(void)stage;
	(void)in;
	if (a == NULL)
		return GW_CMD_ERROR;
	if (a->last_check) {
		struct tm tm;

		gmtime_r(&a->last_check, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
	gw_cmd_note(cmd, GW_NOTE_INFO,
	            "Address: %s\nIMAP (%s): %s%s%s\nSMTP: %s\nLast check: %s\nDelivered since "
	            "start: %lu mail(s), %lu bounce(s)%s",
	            a->email ? a->email : "?", a->imap ? a->imap : "?",
	            acct_imap_state_name(a->state), a->last_error ? " - last error: " : "",
	            a->last_error ? a->last_error : "", a->smtp ? a->smtp : "?", when, a->delivered,
	            a->bounces,
	            paused(a) ? "\nPaused: new mail is not fetched (send resume)." : "");
	return GW_CMD_DONE;
}

static enum gw_cmd_status
cmd_check(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct acct *a = cmd_acct(cmd);

	(void)stage;
	(void)in;
	if (a == NULL)
		return GW_CMD_ERROR;
	if (paused(a)) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "Fetching is paused: send resume first.");
		return GW_CMD_ERROR;
	}
	acct_imap_check(a);
	gw_cmd_note(cmd, GW_NOTE_INFO, "Checking your INBOX now.");
	return GW_CMD_DONE;
}

static enum gw_cmd_status
cmd_fetch(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct acct *a = cmd_acct(cmd);
	const char *n = in ? gw_values_get(in, "count") : NULL;
	long count;
	char *end;

	if (a == NULL)
		return GW_CMD_ERROR;
	if (stage == 0 && n == NULL) {
		static const struct gw_field fields[] = {
		        {"count", GW_FIELD_TEXT, "How many",
		         "The last N mails of your INBOX (1-50) "
		         "are delivered again.",
		         GW_FIELD_REQUIRED, NULL, "10"},
		        GW_FIELDS_END,
		};
		struct gw_form form = {"Fetch recent mail", NULL, fields, NULL};

		gw_cmd_form(cmd, &form);
		return GW_CMD_NEXT;
	}
	count = n ? strtol(n, &end, 10) : 0;
	if (n == NULL || *end || count < 1 || count > 50) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "count is a number from 1 to 50.");
		return GW_CMD_ERROR;
	}
	acct_imap_replay(a, count);
	gw_cmd_note(cmd, GW_NOTE_INFO, "Delivering the last %ld mail(s) of your INBOX.", count);
	return GW_CMD_DONE;
}

static enum gw_cmd_status
pause_resume(struct gw_cmd *cmd, bool pause)
{
	struct acct *a = cmd_acct(cmd);

	if (a == NULL)
		return GW_CMD_ERROR;
	if (gw_setting_set(a->net, a->user, "", "paused", pause ? "yes" : NULL) == -1) {
		gw_cmd_note(cmd, GW_NOTE_ERROR, "The change could not be saved.");
		return GW_CMD_ERROR;
	}
	if (pause)
		acct_imap_stop(a);
	else {
		a->backoff = 0;
		acct_imap_start(a);
	}
	gw_cmd_note(cmd, GW_NOTE_INFO,
	            pause ? "Paused: new mail waits on the server until you "
	                    "resume."
	                  : "Resumed: mail that arrived meanwhile comes now.");
	return GW_CMD_DONE;
}

static enum gw_cmd_status
cmd_pause(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	(void)stage;
	(void)in;
	return pause_resume(cmd, true);
}

static enum gw_cmd_status
cmd_resume(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	(void)stage;
	(void)in;
	return pause_resume(cmd, false);
}

static const char *const yes_no[] = {"yes", "no", NULL};

static const struct gw_field settings_fields[] = {
        {"signature", GW_FIELD_TEXT_MULTI, "Signature",
         "Added below every mail you send "
         "(after \"-- \"). Empty: none.",
         0, NULL, ""},
        {"keep_quotes", GW_FIELD_BOOL, "Keep quoted replies",
         "Show the quoted text of "
         "incoming replies instead of trimming it.",
         0, NULL, "false"},
        {"mark_seen", GW_FIELD_BOOL, "Mark delivered mail as seen",
         "Set \\Seen on the "
         "server once a mail reached you.",
         0, NULL, "false"},
        GW_FIELDS_END,
};

static enum gw_cmd_status
cmd_settings(struct gw_cmd *cmd, int stage, const struct gw_values *in)
{
	struct acct *a = cmd_acct(cmd);
	static const char *const keys[] = {"signature", "keep_quotes", "mark_seen", NULL};

	(void)yes_no;
	if (a == NULL)
		return GW_CMD_ERROR;
	if (stage == 0 && in == NULL) {
		struct gw_values *cur = gw_values_new();
		struct gw_form form = {"Mail settings", NULL, settings_fields, cur};

		for (int i = 0; keys[i]; i++) {
			char *v = gw_setting_get(a->net, a->user, "", keys[i]);

			if (v)
				gw_values_add(cur, keys[i], v);
			free(v);
		}
		gw_cmd_form(cmd, &form);
		gw_values_free(cur);
		return GW_CMD_NEXT;
	}
	for (int i = 0; keys[i]; i++) {
		const char *v = gw_values_get(in, keys[i]);

		if (v == NULL)
			continue;
		if (i > 0)
			v = strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
			                    strcasecmp(v, "yes") == 0
			            ? "yes"
			            : "no";
		if (gw_setting_set(a->net, a->user, "", keys[i], *v ? v : NULL) == -1) {
			gw_cmd_note(cmd, GW_NOTE_ERROR, "The change could not be saved.");
			return GW_CMD_ERROR;
		}
	}
	gw_cmd_note(cmd, GW_NOTE_INFO, "Mail settings saved.");
	return GW_CMD_DONE;
}

static const struct gw_command email_commands[] = {
        {"email-status", "Mail account status", "status",
         "show the state of your IMAP and SMTP connections", GW_ACCESS_REGISTERED, GW_SCOPE_GATEWAY,
         cmd_status},
        {"email-check", "Check for new mail now", "check", "look for new mail now",
         GW_ACCESS_REGISTERED, GW_SCOPE_GATEWAY, cmd_check},
        {"email-fetch", "Fetch recent mail again", "fetch",
         "deliver the last N mails of your INBOX again (fetch count=N)", GW_ACCESS_REGISTERED,
         GW_SCOPE_GATEWAY, cmd_fetch},
        {"email-pause", "Pause fetching", "pause", "stop fetching new mail until resume",
         GW_ACCESS_REGISTERED, GW_SCOPE_GATEWAY, cmd_pause},
        {"email-resume", "Resume fetching", "resume", "fetch new mail again", GW_ACCESS_REGISTERED,
         GW_SCOPE_GATEWAY, cmd_resume},
        {"email-settings", "Mail settings", "settings",
         "signature, quoted replies, marking mail as seen", GW_ACCESS_REGISTERED, GW_SCOPE_GATEWAY,
         cmd_settings},
        GW_COMMANDS_END,
};

/* ---- lifecycle ---- */

static int
email_start(struct gw_net *net)
{
	struct email_net *en = email_priv(net);
	static bool global_done;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_warnx("email: curl_global_init failed");
			return -1;
		}
		g_mime_init();
		global_done = true;
	}
	en->mc = mcurl_new(gw_event_base());
	gw_foreach_user(net, open_user_cb, net);
	log_info("email: %zu account(s)", en->naccts);
	return 0;
}

static void
email_stop(struct gw_net *net)
{
	struct email_net *en = email_priv(net);

	en->stopping = true;
	while (en->discovering) {
		struct verify *v = en->discovering;

		en->discovering = v->next;
		mail_discover_cancel(v->discover);
		gw_check_done(v->check, GW_ERR_SERVICE_UNAVAILABLE,
		              "The gateway is shutting down.");
		verify_free(v);
	}
	while (en->naccts > 0)
		acct_close(net, en->accts[0]->user);
	free(en->accts);
	outgoing_cancel_all(en);
	mcurl_free(en->mc);
	en->accts = NULL;
	en->mc = NULL;
}

static int
email_reload(struct gw_net *net)
{
	struct email_net *en = email_priv(net);

	for (size_t i = 0; i < en->naccts; i++)
		acct_load(en->accts[i]);
	return 0;
}

static int
check_config(const struct gw_section *sec, char **why)
{
	const char *imap = gw_conf_str(sec, "imap"), *smtp = gw_conf_str(sec, "smtp");

	if (imap && !url_ok(imap, "imaps://", "imap://")) {
		*why = xstrdup("imap must be imaps://host[:port] or imap://host[:port]");
		return -1;
	}
	if (smtp && !url_ok(smtp, "smtps://", "smtp://")) {
		*why = xstrdup("smtp must be smtps://host[:port] or smtp://host[:port]");
		return -1;
	}
	for (const char *const *l = gw_conf_list(sec, "lock"); *l; l++)
		if (strcasecmp(*l, "imap") != 0 && strcasecmp(*l, "smtp") != 0) {
			*why = xasprintf("lock takes imap and smtp, not \"%s\"", *l);
			return -1;
		}
	return 0;
}

static void
email_stats(struct gw_net *net, void (*line)(const char *, void *), void *arg)
{
	struct email_net *en = email_priv(net);
	size_t idle = 0, down = 0;
	char *t;

	for (size_t i = 0; i < en->naccts; i++) {
		if (en->accts[i]->state == IMAP_IDLE || en->accts[i]->state == IMAP_POLL)
			idle++;
		else if (en->accts[i]->state == IMAP_WAIT)
			down++;
	}
	t = xasprintf("email accounts: %zu (%zu watching the INBOX, %zu waiting to reconnect)",
	              en->naccts, idle, down);
	line(t, arg);
	free(t);
	t = xasprintf("email sent: %lu, refused: %lu; transfers running: %u", en->sent, en->refused,
	              mcurl_running(en->mc));
	line(t, arg);
	free(t);
}

static void
email_links(struct gw_net *net, unsigned *up, unsigned *down)
{
	struct email_net *en = email_priv(net);

	for (size_t i = 0; i < en->naccts; i++) {
		enum acct_imap_state st = en->accts[i]->state;

		if (st == IMAP_IDLE || st == IMAP_POLL || st == IMAP_BUSY)
			(*up)++;
		else if (st != IMAP_OFF)
			(*down)++;
	}
}

const struct gw_driver email_driver = {
        .name = "email",
        .type = "smtp",
        .description = "Email gateway",
        .flags = GW_DRIVER_NEEDS_REGISTRATION,
        .options = email_options,
        .registration = email_registration,
        .commands = email_commands,
        .prompt = "Email address",
        .prompt_desc = "Enter the email address of the contact.",
        .normalize = normalize,
        .priv_size = sizeof(struct email_net),
        .start = email_start,
        .stop = email_stop,
        .reload = email_reload,
        .check_config = check_config,
        .check_registration = check_registration,
        .verify_registration = verify_registration,
        .user_registered = user_registered,
        .user_removed = user_removed,
        .contact_presence = email_contact_presence,
        .contact_features = GW_CONTACT_RECEIPTS,
        .send = email_send,
        .stats = email_stats,
        .links = email_links,
};
