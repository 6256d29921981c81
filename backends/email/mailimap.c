/*
 * The INBOX of one account: one IMAP connection, opened by curl
 * (CURLOPT_CONNECT_ONLY: TLS or STARTTLS, certificate check and login are
 * curl's), on which this file speaks the few IMAP commands it needs:
 *
 *   CAPABILITY                       IDLE, or the INBOX is polled
 *   SELECT INBOX                     UIDVALIDITY, UIDNEXT, EXISTS
 *   UID SEARCH SINCE d               after a UIDVALIDITY change only
 *   UID FETCH n:* (UID RFC822.SIZE INTERNALDATE)   what is new
 *   UID FETCH u BODY.PEEK[]          one mail at a time (HEADER when too big)
 *   UID STORE u +FLAGS.SILENT (\Seen)   when the user wants mail marked seen
 *   IDLE ... DONE                    new mail is pushed ("* n EXISTS")
 *
 * curl has no IDLE (SPEC §10), and its custom requests hand literals to the
 * header callback line by line; speaking IMAP here keeps one connection per
 * account, parsed with literals whole.
 *
 * Exactly once (SPEC §9): a mail is handed to gw_deliver() with its
 * Message-ID (else UIDVALIDITY/UID) as the dedup key, and last_uid is
 * stored in the same loop turn, so in the same group transaction. A crash
 * before the commit loses both and the mail is fetched again; after it,
 * neither repeats. After a UIDVALIDITY change the UIDs mean nothing: mail
 * whose INTERNALDATE is not older than the last one delivered is fetched
 * again and the dedup keys drop what was already delivered.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "mailacct.h"
#include "mailcurl.h"
#include "mailparse.h"

#define IDLE_RENEW 1500     /* seconds: RFC 2177 asks to re-IDLE before 29 minutes */
#define COMMAND_TIMEOUT 120 /* seconds without an answer: the connection is dead */
#define BACKOFF_MIN 5
#define BACKOFF_MAX 300
#define IN_SLACK 65536 /* beyond max_message_size, for the response's own lines */
/*
 * Connections being opened (TLS handshake, login) at once. Each handshake
 * holds OpenSSL's buffers and key exchange state (~65 KiB) until it ends;
 * a start with a thousand accounts would hold them all at the same time,
 * and hit one server with a thousand logins at once. With sixteen, a
 * thousand accounts log in within ~7 s (bench/README.md).
 */
#define CONNECTING_MAX 16

enum step {
	STEP_NONE,
	STEP_CAPABILITY,
	STEP_SELECT,
	STEP_SEARCH,
	STEP_LIST,
	STEP_FETCH,
	STEP_STORE,
	STEP_IDLE, /* IDLE sent, waiting for "+" */
	STEP_IDLING,
	STEP_DONE, /* DONE sent, waiting for IDLE's tagged answer */
};

/* What the LIST step found to fetch. */
struct pending {
	int64_t uid;
	long size;
	time_t date;
};

/* State of the check cycle, beside struct acct (kept here: mailimap.c's only). */
struct cycle {
	int64_t sel_uidvalidity, sel_uidnext, sel_exists;
	struct pending *todo;
	size_t ntodo, next;
	int64_t *seen; /* UIDs to mark \Seen */
	size_t nseen;
	int64_t search_min; /* after a UIDVALIDITY change: first UID to look at */
	/* idle_refused: IDLE is not in CAPABILITY, or was refused; the INBOX is polled. */
	bool replaying, idle_refused;
	struct held *held; /* the fetched mail waiting for its uploads */
};

static struct cycle *
cyc(struct acct *a)
{
	return a->cycle;
}

static void set_state(struct acct *, enum acct_imap_state);
static void connection_lost(struct acct *, const char *why);
static void fetch_next(struct acct *);
static void go_idle(struct acct *);

const char *
acct_imap_state_name(enum acct_imap_state s)
{
	static const char *const names[] = {
	        [IMAP_OFF] = "off",
	        [IMAP_QUEUED] = "waiting to connect",
	        [IMAP_CONNECT] = "connecting",
	        [IMAP_BUSY] = "checking",
	        [IMAP_IDLE] = "idle (new mail is pushed)",
	        [IMAP_POLL] = "polling (no IDLE)",
	        [IMAP_WAIT] = "waiting to reconnect",
	};

	return names[s];
}

static void
set_state(struct acct *a, enum acct_imap_state s)
{
	bool in = s == IMAP_BUSY || s == IMAP_IDLE || s == IMAP_POLL;

	if (a->state != s)
		log_debug("email: %s: IMAP %s -> %s", a->user, acct_imap_state_name(a->state),
		          acct_imap_state_name(s));
	a->state = s;
	/* A reconnection that logs in again (a new registration) does not flap contacts. */
	if (s != IMAP_CONNECT && in != a->logged_in) {
		a->logged_in = in;
		gw_contacts_changed(a->net, a->user);
	}
}

static void connect_now(struct acct *);

/* The account's connection is open or given up: the first queued account takes the slot. */
static void
release_slot(struct acct *a)
{
	struct email_net *en = email_priv(a->net);

	if (!a->slot)
		return;
	a->slot = false;
	en->connecting--;
	for (size_t i = 0; i < en->naccts && en->connecting < CONNECTING_MAX && !en->stopping; i++)
		if (en->accts[i]->state == IMAP_QUEUED)
			connect_now(en->accts[i]);
}

static void
set_error(struct acct *a, const char *why)
{
	free(a->last_error);
	a->last_error = why ? xstrdup(why) : NULL;
}

static void
arm(struct acct *a, int seconds)
{
	struct timeval tv = {seconds, 0};

	evtimer_add(a->timer, &tv);
}

static char *
setting(struct acct *a, const char *key)
{
	return gw_setting_get(a->net, a->user, "imap", key);
}

static int64_t
setting_num(struct acct *a, const char *key)
{
	char *v = setting(a, key);
	int64_t n = v ? strtoll(v, NULL, 10) : -1;

	free(v);
	return n;
}

static void
set_num(struct acct *a, const char *key, int64_t n)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, n);
	gw_setting_set(a->net, a->user, "imap", key, buf);
}

static bool
user_flag(struct acct *a, const char *key, bool def)
{
	char *v = gw_setting_get(a->net, a->user, "", key);
	bool on =
	        v ? (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) : def;

	free(v);
	return on;
}

/* ---- sending ---- */

static int
send_raw(struct acct *a, const char *buf, size_t len)
{
	size_t off = 0;
	int again = 0;

	while (off < len) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(a->easy, buf + off, len - off, &n);

		if (rc == CURLE_AGAIN && ++again < 1000)
			continue; /* a command is a line: the socket takes it at once */
		if (rc != CURLE_OK)
			return -1;
		off += n;
	}
	return 0;
}

/* Sends "sN <command>\r\n" for step. */
static void command(struct acct *a, enum step step, const char *fmt, ...) SG_PRINTF(3, 4);

static void
command(struct acct *a, enum step step, const char *fmt, ...)
{
	va_list ap;
	char *cmd, *line;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	line = xasprintf("s%u %s\r\n", ++a->tag, cmd);
	log_trace("email: %s: IMAP > %s", a->user, cmd);
	free(cmd);
	a->step = step;
	if (step != STEP_IDLING)
		arm(a, COMMAND_TIMEOUT);
	if (send_raw(a, line, strlen(line)) == -1) {
		free(line);
		connection_lost(a, "the IMAP connection failed while sending");
		return;
	}
	free(line);
}

/* Ends IDLE: its tagged answer starts the next check. */
static void
end_idle(struct acct *a)
{
	a->step = STEP_DONE;
	arm(a, COMMAND_TIMEOUT);
	if (send_raw(a, "DONE\r\n", 6) == -1)
		connection_lost(a, "the IMAP connection failed while sending");
}

/* ---- responses ---- */

/*
 * Length of the first whole response in in (literals included), or 0 when
 * more bytes are needed.
 */
static size_t
response_len(const char *in, size_t len)
{
	size_t pos = 0;

	for (;;) {
		const char *crlf = NULL;
		size_t lineend;

		for (size_t i = pos; i + 1 < len; i++)
			if (in[i] == '\r' && in[i + 1] == '\n') {
				crlf = in + i;
				break;
			}
		if (crlf == NULL)
			return 0;
		lineend = (size_t)(crlf - in);
		if (lineend > pos && in[lineend - 1] == '}') {
			size_t open = lineend - 1;
			unsigned long long n;
			char *end;

			while (open > pos && in[open] != '{')
				open--;
			if (in[open] == '{' && isdigit((unsigned char)in[open + 1])) {
				n = strtoull(in + open + 1, &end, 10);
				if (*end == '+')
					end++;
				if (end == in + lineend - 1) {
					if (n > len || lineend + 2 + n > len)
						return 0;
					pos = lineend + 2 + (size_t)n;
					continue;
				}
			}
		}
		return lineend + 2;
	}
}

static int64_t
num_after(const char *r, size_t len, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i + klen < len; i++)
		if (strncasecmp(r + i, key, klen) == 0 && isdigit((unsigned char)r[i + klen]))
			return strtoll(r + i + klen, NULL, 10);
	return -1;
}

static time_t
internaldate(const char *r, size_t len)
{
	const char *key = "INTERNALDATE \"";
	size_t klen = strlen(key);
	struct tm tm;

	for (size_t i = 0; i + klen + 26 <= len; i++)
		if (strncasecmp(r + i, key, klen) == 0) {
			char buf[32];
			const char *end;

			memcpy(buf, r + i + klen, 26);
			buf[26] = '\0';
			memset(&tm, 0, sizeof(tm));
			end = strptime(buf[0] == ' ' ? buf + 1 : buf, "%d-%b-%Y %H:%M:%S %z", &tm);
			if (end == NULL)
				return 0;
			return timegm(&tm) - tm.tm_gmtoff;
		}
	return 0;
}

/* The first literal of r: *lit and *litlen, or -1 if none. */
static int
literal(const char *r, size_t len, const char **lit, size_t *litlen)
{
	for (size_t i = 0; i + 3 < len; i++) {
		char *end;
		unsigned long long n;

		if (r[i] != '{' || !isdigit((unsigned char)r[i + 1]))
			continue;
		n = strtoull(r + i + 1, &end, 10);
		if (*end == '+')
			end++;
		if (end[0] != '}' || end[1] != '\r' || end[2] != '\n')
			continue;
		if ((size_t)(end + 3 - r) + n > len)
			return -1;
		*lit = end + 3;
		*litlen = (size_t)n;
		return 0;
	}
	return -1;
}

/* ---- one mail ---- */

/*
 * A fetched mail whose attachments are being uploaded (XEP-0363): it is
 * delivered, and last_uid advanced, only when every upload has ended, so a
 * crash meanwhile fetches it again.
 */
struct held_part {
	struct held *h;
	struct gw_upload *up; /* NULL once ended, or when not tried */
	char *url;            /* the link, or NULL */
};

struct held {
	struct acct *a;
	struct pending p;
	bool replay;
	bool tagged; /* the FETCH's tagged answer came: the cycle waits on us */
	struct mail_in m;
	struct held_part *part; /* one per attachment */
	size_t left;            /* uploads still running */
};

/* The mail's text, with a line for each attachment that has no link. */
static char *
mail_body(const struct mail_in *m, char *const *url)
{
	char *text = xstrdup(m->text);

	for (size_t i = 0; i < m->natt; i++) {
		char *t;

		if (url && url[i])
			continue;
		t = xasprintf("%s%s[attachment: %s, %s, %zu bytes]", text, *text ? "\n" : "",
		              m->att[i].filename, m->att[i].content_type, m->att[i].size);
		free(text);
		text = t;
	}
	return text;
}

/* A bounce of a mail the gateway sent: an error on that conversation. */
static void
bounced(struct acct *a, const struct mail_in *m)
{
	char *sent = m->bounce_of ? gw_setting_get(a->net, a->user, "sent", m->bounce_of) : NULL;
	char *sep = sent ? strchr(sent, '\x1f') : NULL;

	a->bounces++;
	if (sep == NULL) {
		log_info("email: %s: a bounce for a mail the gateway did not send: shown as mail",
		         a->user);
		free(sent);
		return;
	}
	*sep++ = '\0';
	gw_message_failed(a->net, a->user, NULL, sent, *sep ? sep : NULL,
	                  GW_ERR_RECIPIENT_UNAVAILABLE,
	                  m->bounce_reason ? m->bounce_reason : "the mail bounced");
	log_info("email: %s: mail %s to %s bounced", a->user, m->bounce_of, sent);
	free(sent);
}

static void
advance(struct acct *a, const struct pending *p, bool replay)
{
	if (!replay && p->uid > a->last_uid) {
		a->last_uid = p->uid;
		set_num(a, "last_uid", p->uid);
		if (p->date)
			set_num(a, "last_date", (int64_t)p->date);
	}
}

/*
 * Queues the mail for the user: its text, then one message per uploaded
 * attachment (body and XEP-0066 link alike, as clients show files), each
 * with its own dedup key. Returns 0, or -1 when the store failed.
 */
static int
queue_mail(struct acct *a, const struct pending *p, const struct mail_in *m, bool replay,
           char *const *url)
{
	long max = gw_conf_int(gw_net_section(a->net), "max_message_size");
	char *key, *body;
	size_t links = 0;
	int r = 0;
	struct gw_inmsg in = {
	        .user = a->user,
	        .from = m->from_addr ? m->from_addr : "unknown@invalid",
	        .subject = m->subject,
	        .thread = m->thread,
	        .stamp = m->date ? m->date : p->date,
	        .kind = GW_MSG_CHAT,
	};

	if (replay)
		key = xasprintf("replay:%lld:%" PRId64 ":%" PRId64, (long long)time(NULL),
		                a->uidvalidity, p->uid);
	else if (m->message_id)
		key = xasprintf("mid:%s", m->message_id);
	else
		key = xasprintf("uid:%" PRId64 ":%" PRId64, a->uidvalidity, p->uid);
	if (max > 0 && p->size > 0 && p->size > max) {
		/* Only the headers were fetched (fetch_next): say why there is no text. */
		body = xasprintf("(This mail is %ld bytes, over this gateway's limit of %ld: only "
		                 "its headers were fetched. Read it in your mail client.)",
		                 p->size, max);
	} else
		body = mail_body(m, url);
	for (size_t i = 0; url && i < m->natt; i++)
		links += url[i] != NULL;
	if (*body || links == 0) {
		in.body = *body ? body : "(no text)";
		in.id = key;
		r = gw_deliver(a->net, &in);
		in.subject = NULL; /* shown once, on the first message */
	}
	for (size_t i = 0; r == 0 && url && i < m->natt; i++) {
		char *akey;

		if (url[i] == NULL)
			continue;
		akey = xasprintf("%s/att%zu", key, i);
		in.body = url[i];
		in.oob_url = url[i];
		in.oob_desc = m->att[i].filename;
		in.id = akey;
		r = gw_deliver(a->net, &in);
		in.subject = NULL;
		free(akey);
	}
	if (r == 0) {
		a->delivered++;
		if (m->message_id && m->from_addr) {
			/* What a reply in this conversation answers (In-Reply-To). */
			char *scope = xasprintf("contact:%s", m->from_addr);

			gw_setting_set(a->net, a->user, scope, "last_message_id", m->message_id);
			free(scope);
		}
		advance(a, p, replay);
	}
	free(body);
	free(key);
	return r;
}

static void
held_free(struct held *h)
{
	for (size_t i = 0; i < h->m.natt; i++) {
		gw_upload_cancel(h->part[i].up);
		free(h->part[i].url);
	}
	free(h->part);
	mail_in_free(&h->m);
	free(h);
}

/* Every upload has ended: the mail is queued and the cycle goes on. */
static void
held_done(struct held *h)
{
	struct acct *a = h->a;
	char **url = xcalloc(h->m.natt ? h->m.natt : 1, sizeof(*url));
	bool tagged = h->tagged;
	int r;

	for (size_t i = 0; i < h->m.natt; i++)
		url[i] = h->part[i].url;
	r = queue_mail(a, &h->p, &h->m, h->replay, url);
	free(url);
	cyc(a)->held = NULL;
	held_free(h);
	if (r == -1) {
		connection_lost(a, "the gateway's store failed; the mail is fetched again later");
		return;
	}
	if (tagged) {
		cyc(a)->next++;
		fetch_next(a);
	}
}

static void
uploaded(void *arg, const char *url, const char *why)
{
	struct held_part *part = arg;
	struct held *h = part->h;

	part->up = NULL;
	part->url = url ? xstrdup(url) : NULL;
	if (why)
		log_debug("email: %s: an attachment is shown as a line: %s", h->a->user, why);
	if (--h->left == 0)
		held_done(h);
}

/* Starts the uploads of the mail's kept attachments and takes *m; false when there are none. */
static bool
hold_for_uploads(struct acct *a, const struct pending *p, struct mail_in *m, bool replay)
{
	struct cycle *c = cyc(a);
	struct held *h;

	if (c->held)
		return false;
	for (size_t i = 0; i < m->natt; i++)
		if (m->att[i].data)
			goto some;
	return false;
some:
	h = xcalloc(1, sizeof(*h));
	h->a = a;
	h->p = *p;
	h->replay = replay;
	h->m = *m;
	memset(m, 0, sizeof(*m));
	h->part = xcalloc(h->m.natt, sizeof(*h->part));
	c->held = h;
	for (size_t i = 0; i < h->m.natt; i++) {
		struct mail_attachment *att = &h->m.att[i];

		h->part[i].h = h;
		if (att->data == NULL)
			continue;
		h->left++;
		h->part[i].up = gw_upload(a->net, a->user, att->filename, att->content_type,
		                          att->data, att->size, uploaded, &h->part[i]);
		free(att->data); /* gw_upload copied it */
		att->data = NULL;
	}
	return true;
}

/* Returns 0, or -1 when the store failed (the cycle stops; the mail comes again). */
static int
deliver_mail(struct acct *a, const struct pending *p, const char *raw, size_t len, bool replay)
{
	long max = gw_conf_int(gw_net_section(a->net), "max_message_size");
	struct mail_parse_opts opts = {
	        .max_size = max > 0 ? (size_t)max : 0,
	        .trim_quotes = !user_flag(a, "keep_quotes", false),
	        .keep_attachments = !(max > 0 && p->size > max),
	};
	struct mail_in m;
	char *why = NULL;
	int r;

	memset(&m, 0, sizeof(m));
	if (mail_parse(raw, len, &opts, &m, &why) == -1) {
		log_warnx("email: %s: mail UID %" PRId64 " skipped: %s", a->user, p->uid,
		          why ? why : "unreadable");
		free(why);
		mail_in_free(&m);
		advance(a, p, replay);
		return 0;
	}
	if (m.is_bounce && !replay && m.bounce_of) {
		char *known = gw_setting_get(a->net, a->user, "sent", m.bounce_of);

		if (known) {
			free(known);
			bounced(a, &m);
			mail_in_free(&m);
			advance(a, p, replay);
			return 0;
		}
	}
	if (hold_for_uploads(a, p, &m, replay))
		return 0; /* m is the held mail's now */
	r = queue_mail(a, p, &m, replay, NULL);
	mail_in_free(&m);
	return r;
}

/* ---- the cycle: SELECT, (SEARCH), LIST, FETCH..., STORE, then IDLE ---- */

static void
cycle_reset(struct acct *a)
{
	struct cycle *c = cyc(a);

	if (c->held)
		held_free(c->held); /* cancelled: the mail is fetched again */
	c->held = NULL;
	free(c->todo);
	free(c->seen);
	c->todo = NULL;
	c->seen = NULL;
	c->ntodo = c->next = c->nseen = 0;
	c->replaying = false;
}

static void
start_list(struct acct *a)
{
	struct cycle *c = cyc(a);

	cycle_reset(a);
	a->last_check = time(NULL);
	set_state(a, IMAP_BUSY);
	if (a->replay > 0) {
		int64_t from = c->sel_exists - a->replay + 1;

		c->replaying = true;
		a->replay = 0;
		if (c->sel_exists <= 0) {
			go_idle(a);
			return;
		}
		command(a, STEP_LIST, "FETCH %" PRId64 ":* (UID RFC822.SIZE INTERNALDATE)",
		        from < 1 ? 1 : from);
		return;
	}
	if (c->search_min > 0) {
		command(a, STEP_LIST, "UID FETCH %" PRId64 ":* (UID RFC822.SIZE INTERNALDATE)",
		        c->search_min);
		return;
	}
	command(a, STEP_LIST, "UID FETCH %" PRId64 ":* (UID RFC822.SIZE INTERNALDATE)",
	        a->last_uid + 1);
}

static void
after_select(struct acct *a)
{
	struct cycle *c = cyc(a);
	int64_t stored = setting_num(a, "uidvalidity");

	if (c->sel_uidvalidity <= 0) {
		connection_lost(a, "the IMAP server did not say the INBOX's UIDVALIDITY");
		return;
	}
	a->uidvalidity = c->sel_uidvalidity;
	c->search_min = 0;
	if (stored < 0) {
		/* First registration: only mail that arrives from now on. */
		a->last_uid = c->sel_uidnext > 0 ? c->sel_uidnext - 1 : 0;
		set_num(a, "uidvalidity", c->sel_uidvalidity);
		set_num(a, "last_uid", a->last_uid);
		set_num(a, "last_date", (int64_t)time(NULL));
		log_info("email: %s: INBOX UIDVALIDITY %" PRId64 ", mail from UID %" PRId64
		         " on is delivered",
		         a->user, c->sel_uidvalidity, a->last_uid + 1);
		start_list(a);
		return;
	}
	if (stored != c->sel_uidvalidity) {
		int64_t since = setting_num(a, "last_date");
		static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
		time_t t = since > 0 ? (time_t)since - 86400 : time(NULL) - 86400;
		struct tm tm;

		log_warnx("email: %s: the INBOX's UIDVALIDITY changed (%" PRId64 " -> %" PRId64
		          "): mail since the last delivered one is looked at again",
		          a->user, stored, c->sel_uidvalidity);
		set_num(a, "uidvalidity", c->sel_uidvalidity);
		a->last_uid = 0;
		set_num(a, "last_uid", 0);
		gmtime_r(&t, &tm);
		command(a, STEP_SEARCH, "UID SEARCH SINCE %d-%s-%d", tm.tm_mday, mon[tm.tm_mon],
		        tm.tm_year + 1900);
		return;
	}
	a->last_uid = setting_num(a, "last_uid");
	if (a->last_uid < 0)
		a->last_uid = 0;
	start_list(a);
}

static void
after_list(struct acct *a)
{
	struct cycle *c = cyc(a);

	c->search_min = 0;
	c->next = 0;
	fetch_next(a);
}

static void
fetch_next(struct acct *a)
{
	struct cycle *c = cyc(a);
	long max = gw_conf_int(gw_net_section(a->net), "max_message_size");

	if (c->next < c->ntodo) {
		struct pending *p = &c->todo[c->next];

		command(a, STEP_FETCH, "UID FETCH %" PRId64 " (UID BODY.PEEK[%s])", p->uid,
		        max > 0 && p->size > max ? "HEADER" : "");
		return;
	}
	if (c->nseen > 0) {
		char *set = xstrdup("");

		for (size_t i = 0; i < c->nseen; i++) {
			char *t = xasprintf("%s%s%" PRId64, set, i ? "," : "", c->seen[i]);

			free(set);
			set = t;
		}
		c->nseen = 0;
		command(a, STEP_STORE, "UID STORE %s +FLAGS.SILENT (\\Seen)", set);
		free(set);
		return;
	}
	go_idle(a);
}

static void
go_idle(struct acct *a)
{
	struct cycle *c = cyc(a);

	cycle_reset(a);
	if (a->want_check || a->replay > 0) {
		a->want_check = false;
		start_list(a);
		return;
	}
	if (c->idle_refused) {
		a->step = STEP_NONE;
		set_state(a, IMAP_POLL);
		arm(a, (int)gw_conf_int(gw_net_section(a->net), "poll_interval"));
		return;
	}
	command(a, STEP_IDLE, "IDLE");
}

static void
fetched(struct acct *a, const char *r, size_t len)
{
	struct cycle *c = cyc(a);
	int64_t uid = num_after(r, len, "UID ");
	const char *lit;
	size_t litlen;
	struct pending *p;

	if (c->next >= c->ntodo || uid != c->todo[c->next].uid || literal(r, len, &lit, &litlen))
		return; /* an unsolicited FETCH (flags changed elsewhere) */
	p = &c->todo[c->next];
	if (deliver_mail(a, p, lit, litlen, c->replaying) == -1) {
		connection_lost(a, "the gateway's store failed; the mail is fetched again later");
		return;
	}
	if (!c->replaying && user_flag(a, "mark_seen", false)) {
		c->seen = xreallocarray(c->seen, c->nseen + 1, sizeof(*c->seen));
		c->seen[c->nseen++] = uid;
	}
}

static void
listed(struct acct *a, const char *r, size_t len)
{
	struct cycle *c = cyc(a);
	int64_t uid = num_after(r, len, "UID ");
	struct pending *p;

	/* "n:*" names the last mail even when it is older than n. */
	if (uid <= 0 || (!c->replaying && uid <= a->last_uid))
		return;
	if (c->ntodo >= 1000)
		return; /* the rest comes in the next cycle */
	c->todo = xreallocarray(c->todo, c->ntodo + 1, sizeof(*c->todo));
	p = &c->todo[c->ntodo++];
	p->uid = uid;
	p->size = (long)num_after(r, len, "RFC822.SIZE ");
	p->date = internaldate(r, len);
	if (c->search_min > 0) {
		/* After a UIDVALIDITY change: only what is not older than the last delivered. */
		int64_t since = setting_num(a, "last_date");

		if (since > 0 && p->date && p->date < since)
			c->ntodo--;
	}
}

static void
searched(struct acct *a, const char *r, size_t len)
{
	struct cycle *c = cyc(a);
	int64_t min = 0;
	const char *p = r + 8; /* "* SEARCH" */

	while (p < r + len) {
		char *end;
		long long n = strtoll(p, &end, 10);

		if (end == p) {
			p++;
			continue;
		}
		if (n > 0 && (min == 0 || n < min))
			min = n;
		p = end;
	}
	c->search_min = min;
}

static void
tagged(struct acct *a, bool ok, const char *text)
{
	struct cycle *c = cyc(a);
	enum step step = a->step;

	a->step = STEP_NONE;
	evtimer_del(a->timer);
	switch (step) {
	case STEP_CAPABILITY:
		/* A failed CAPABILITY says nothing: IDLE is tried, and polled if refused. */
		if (c->idle_refused)
			log_info("email: %s: the IMAP server does not offer IDLE: polling every "
			         "%ld s",
			         a->user, gw_conf_int(gw_net_section(a->net), "poll_interval"));
		command(a, STEP_SELECT, "SELECT INBOX");
		return;
	case STEP_SELECT:
		if (!ok) {
			connection_lost(a, "the IMAP server refused to open the INBOX");
			return;
		}
		after_select(a);
		return;
	case STEP_SEARCH:
		if (c->search_min <= 0) {
			/* Nothing since: from now on, as on first registration. */
			a->last_uid = c->sel_uidnext > 0 ? c->sel_uidnext - 1 : 0;
			set_num(a, "last_uid", a->last_uid);
		}
		start_list(a);
		return;
	case STEP_LIST:
		after_list(a);
		return;
	case STEP_FETCH:
		if (c->held) {
			c->held->tagged = true; /* held_done() goes on */
			return;
		}
		c->next++;
		fetch_next(a);
		return;
	case STEP_STORE:
		fetch_next(a);
		return;
	case STEP_IDLE:
		/* IDLE refused: this server is polled. */
		log_info("email: %s: the IMAP server refused IDLE (%s): polling", a->user, text);
		c->idle_refused = true;
		go_idle(a);
		return;
	case STEP_IDLING:
	case STEP_DONE:
		a->want_check = false;
		start_list(a);
		return;
	case STEP_NONE:
		return;
	}
}

/* Whether word is one of the space-separated atoms of line (up to its CRLF). */
static bool
has_word(const char *line, size_t len, const char *word)
{
	size_t wl = strlen(word), i = 0;

	while (i < len && line[i] != '\r') {
		size_t n = 0;

		while (i + n < len && line[i + n] != ' ' && line[i + n] != '\r')
			n++;
		if (n == wl && strncasecmp(line + i, word, wl) == 0)
			return true;
		i += n + 1;
	}
	return false;
}

static void
response(struct acct *a, const char *r, size_t len)
{
	struct cycle *c = cyc(a);
	char tag[16];

	if (len >= 2 && r[0] == '+' && a->step == STEP_IDLE) {
		a->step = STEP_IDLING;
		set_state(a, IMAP_IDLE);
		a->backoff = 0;
		set_error(a, NULL);
		arm(a, IDLE_RENEW);
		return;
	}
	if (len >= 2 && r[0] == '*' && r[1] == ' ') {
		int64_t n = strtoll(r + 2, NULL, 10);
		const char *word = r + 2;

		while (isdigit((unsigned char)*word))
			word++;
		if (*word == ' ')
			word++;
		if (strncasecmp(word, "EXISTS", 6) == 0) {
			c->sel_exists = n;
			if (a->step == STEP_IDLING) {
				end_idle(a);
			} else if (a->step != STEP_SELECT)
				a->want_check = true;
		} else if (strncasecmp(word, "FETCH", 5) == 0) {
			if (a->step == STEP_LIST)
				listed(a, r, len);
			else if (a->step == STEP_FETCH)
				fetched(a, r, len);
		} else if (strncasecmp(r + 2, "CAPABILITY ", 11) == 0 &&
		           a->step == STEP_CAPABILITY) {
			c->idle_refused = !has_word(r + 13, len - 13, "IDLE");
		} else if (strncasecmp(r + 2, "SEARCH", 6) == 0 && a->step == STEP_SEARCH) {
			searched(a, r, len);
		} else if (strncasecmp(r + 2, "OK [UIDVALIDITY ", 16) == 0) {
			c->sel_uidvalidity = strtoll(r + 18, NULL, 10);
		} else if (strncasecmp(r + 2, "OK [UIDNEXT ", 12) == 0) {
			c->sel_uidnext = strtoll(r + 14, NULL, 10);
		} else if (strncasecmp(r + 2, "BYE", 3) == 0) {
			log_info("email: %s: the IMAP server closes the connection", a->user);
		}
		return;
	}
	snprintf(tag, sizeof(tag), "s%u ", a->tag);
	if (len > strlen(tag) && strncmp(r, tag, strlen(tag)) == 0) {
		const char *status = r + strlen(tag);
		char text[200];
		size_t tl = len - strlen(tag);

		if (tl > sizeof(text) - 1)
			tl = sizeof(text) - 1;
		memcpy(text, status, tl);
		text[tl] = '\0';
		text[strcspn(text, "\r\n")] = '\0';
		tagged(a, strncasecmp(status, "OK", 2) == 0, text);
	}
}

static void
readable_cb(evutil_socket_t fd, short what, void *arg)
{
	struct acct *a = arg;
	long max = gw_conf_int(gw_net_section(a->net), "max_message_size");
	size_t cap = (size_t)(max > 0 ? max : 64L << 20) + IN_SLACK;

	(void)fd;
	(void)what;
	for (;;) {
		size_t n = 0;
		CURLcode rc;

		if (a->in_cap - a->in_len < 16384) {
			a->in_cap = a->in_cap ? a->in_cap * 2 : 32768;
			a->in = xreallocarray(a->in, a->in_cap, 1);
		}
		rc = curl_easy_recv(a->easy, a->in + a->in_len, a->in_cap - a->in_len, &n);
		if (rc == CURLE_AGAIN)
			break;
		if (rc != CURLE_OK || n == 0) {
			connection_lost(a, rc == CURLE_OK ? "the IMAP server closed the connection"
			                                  : curl_easy_strerror(rc));
			return;
		}
		a->in_len += n;
		if (a->in_len > cap) {
			connection_lost(a,
			                "an IMAP response was larger than max_message_size allows");
			return;
		}
	}
	for (;;) {
		size_t len = response_len(a->in, a->in_len);
		struct acct *alive = a;

		if (len == 0)
			break;
		response(a, a->in, len);
		if (alive->easy == NULL)
			return; /* the connection was closed meanwhile */
		memmove(a->in, a->in + len, a->in_len - len);
		a->in_len -= len;
	}
	if (a->in_len == 0) {
		/* Most accounts wait in IDLE for hours: they hold no buffer meanwhile. */
		free(a->in);
		a->in = NULL;
		a->in_cap = 0;
	}
}

/* ---- connection ---- */

static void
close_connection(struct acct *a)
{
	if (a->rd_ev) {
		event_free(a->rd_ev);
		a->rd_ev = NULL;
	}
	release_slot(a);
	if (a->easy) {
		mcurl_cancel(email_priv(a->net)->mc, a->easy);
		curl_easy_cleanup(a->easy);
		a->easy = NULL;
	}
	free(a->in);
	a->in = NULL;
	a->in_len = a->in_cap = 0;
	a->step = STEP_NONE;
	cycle_reset(a);
}

static void
connection_lost(struct acct *a, const char *why)
{
	close_connection(a);
	set_error(a, why);
	a->backoff = a->backoff ? a->backoff * 2 : BACKOFF_MIN;
	if (a->backoff > BACKOFF_MAX)
		a->backoff = BACKOFF_MAX;
	log_info("email: %s: IMAP: %s; reconnecting in %d s", a->user, why, a->backoff);
	set_state(a, IMAP_WAIT);
	arm(a, a->backoff);
}

static void
connected_cb(CURL *easy, CURLcode rc, void *arg)
{
	struct acct *a = arg;
	curl_socket_t fd = CURL_SOCKET_BAD;

	(void)easy;
	release_slot(a);
	if (rc != CURLE_OK) {
		char *why = xasprintf("%s", curl_easy_strerror(rc));

		/* The multi no longer holds it: forget it before the cleanup. */
		curl_easy_cleanup(a->easy);
		a->easy = NULL;
		connection_lost(a, why);
		free(why);
		return;
	}
	if (curl_easy_getinfo(a->easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
	    fd == CURL_SOCKET_BAD) {
		connection_lost(a, "curl gave no IMAP socket");
		return;
	}
	a->connected_at = time(NULL);
	a->rd_ev = event_new(gw_event_base(), fd, EV_READ | EV_PERSIST, readable_cb, a);
	event_add(a->rd_ev, NULL);
	set_state(a, IMAP_BUSY);
	{
		struct cycle *c = cyc(a);

		c->sel_uidvalidity = c->sel_uidnext = c->sel_exists = 0;
		c->idle_refused = false;
	}
	/* After LOGIN the list may differ from the one curl saw before it. */
	command(a, STEP_CAPABILITY, "CAPABILITY");
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct acct *a = arg;

	(void)fd;
	(void)what;
	switch (a->state) {
	case IMAP_WAIT:
		acct_imap_start(a);
		return;
	case IMAP_POLL:
		start_list(a);
		return;
	case IMAP_IDLE:
		/* Renew IDLE; the cycle in between also catches anything missed. */
		end_idle(a);
		return;
	case IMAP_BUSY:
	case IMAP_CONNECT:
		connection_lost(a, "the IMAP server did not answer in time");
		return;
	case IMAP_OFF:
	case IMAP_QUEUED:
		return;
	}
}

void
acct_imap_start(struct acct *a)
{
	if (a->cycle == NULL)
		a->cycle = xcalloc(1, sizeof(struct cycle));
	if (a->timer == NULL)
		a->timer = evtimer_new(gw_event_base(), timer_cb, a);
	close_connection(a);
	evtimer_del(a->timer);
	if (a->imap == NULL || a->password == NULL) {
		set_state(a, IMAP_OFF);
		set_error(a, "the account has no IMAP server or password");
		return;
	}
	if (email_priv(a->net)->connecting >= CONNECTING_MAX) {
		set_state(a, IMAP_QUEUED);
		return;
	}
	connect_now(a);
}

static void
connect_now(struct acct *a)
{
	a->slot = true;
	email_priv(a->net)->connecting++;
	a->easy = mail_easy_new(a->net, a->imap, a->login, a->password);
	curl_easy_setopt(a->easy, CURLOPT_CONNECT_ONLY, 1L);
	set_state(a, IMAP_CONNECT);
	arm(a, COMMAND_TIMEOUT);
	mcurl_add_connect(email_priv(a->net)->mc, a->easy, connected_cb, a);
}

void
acct_imap_stop(struct acct *a)
{
	close_connection(a);
	if (a->timer)
		evtimer_del(a->timer);
	set_state(a, IMAP_OFF);
}

void
acct_imap_free(struct acct *a)
{
	acct_imap_stop(a);
	if (a->timer)
		event_free(a->timer);
	a->timer = NULL;
	if (a->cycle)
		cycle_reset(a);
	free(a->cycle);
	a->cycle = NULL;
	free(a->last_error);
	a->last_error = NULL;
}

void
acct_imap_check(struct acct *a)
{
	switch (a->state) {
	case IMAP_IDLE:
		end_idle(a);
		return;
	case IMAP_POLL:
		evtimer_del(a->timer);
		start_list(a);
		return;
	case IMAP_WAIT:
	case IMAP_OFF:
		a->backoff = 0;
		acct_imap_start(a);
		return;
	case IMAP_QUEUED:
	case IMAP_CONNECT:
	case IMAP_BUSY:
		a->want_check = true;
		return;
	}
}

void
acct_imap_replay(struct acct *a, long n)
{
	a->replay = n;
	acct_imap_check(a);
}
