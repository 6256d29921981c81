/*
 * A line whose modem a running gammu-smsd owns: we share its SQL database
 * (SQLite or PostgreSQL through smsdb.h; the schema is gammu's, version 17).
 *
 *   out: one `outbox` row for the first part and `outbox_multipart` rows for
 *        the others, in one transaction, split and coded the way smstext
 *        planned (GSM 7-bit or UCS-2, 8-bit concatenation reference), so what
 *        reaches the network is exactly what the plan says. The row's
 *        CreatorID carries what the outcome needs
 *        ("stanzagate/1 QID NPARTS r|- USER XMPP_ID"), so a restart forgets
 *        nothing; "stanzagate/0 …" once the outcome was reported. The queue id
 *        (never reused) also tells a message already handed over from a new
 *        one: after a crash it is not written twice.
 *   in:  `inbox` rows (gammu-smsd stores each part of a long SMS as its own
 *        row with its UDH) go through smsparts; a row is deleted only once
 *        the message it belongs to is in the core's store.
 *   status: `sentitems` rows of our messages, polled until every part is
 *        DeliveryOK (a receipt), or one failed (an error to the user).
 *
 * Statements are short and run on the loop with a short busy timeout: when
 * gammu-smsd holds the database, the work waits for the next poll. A
 * PostgreSQL connection that breaks makes the line down until it is back.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "driver.h"
#include "smsdb.h"
#include "smsline.h"
#include "smsnum.h"

#define INBOX_BATCH "100"
#define CONNECT_TIMEOUT 5 /* seconds for a PostgreSQL connection to be made */
#define TAG_LIVE "stanzagate/1 "
#define TAG_DONE "stanzagate/0 "

struct outmsg {
	struct outmsg *next;
	long long id; /* outbox ID, kept in sentitems */
	int nparts;
	bool receipt;
	time_t seen; /* when we learnt of it */
	bool held;   /* its outcome waits for the XMPP link (logged once) */
	char *user, *to, *xmpp_id;
};

struct smsd {
	struct smsl_line *line;
	char *url;
	char *shown;           /* url without a password, for the log */
	struct smsdb *db;      /* open and usable, or NULL */
	struct smsdb *pending; /* being connected (PostgreSQL), or NULL */
	struct event *connect_ev;
	time_t connect_until;
	struct event *poll;
	long long cursor;  /* highest inbox ID read */
	char *last_sender; /* the last long SMS delivered, for its late rows */
	struct smsparts_in last_key;
	struct outmsg *out;
	uint64_t max_qid; /* highest queue id handed over before the database was opened */
	time_t next_open;
	long max_age; /* [sms] receipt_timeout: outcomes awaited at most this long */
	int backoff;
};

static struct smsd *
impl(struct smsl_line *l)
{
	return l->impl;
}

static void
outmsg_free(struct outmsg *m)
{
	free(m->user);
	free(m->to);
	free(m->xmpp_id);
	free(m);
}

static void
db_close(struct smsd *d)
{
	smsdb_close(d->db);
	d->db = NULL;
	smsdb_close(d->pending);
	d->pending = NULL;
	if (d->connect_ev)
		event_free(d->connect_ev);
	d->connect_ev = NULL;
}

static void
db_down(struct smsd *d, const char *what)
{
	char *why = xasprintf("gammu-smsd database %s: %s", d->shown,
	                      what         ? what
	                      : d->db      ? smsdb_error(d->db)
	                      : d->pending ? smsdb_error(d->pending)
	                                   : "closed");

	smsl_set_state(d->line, SMSL_DOWN, why);
	free(why);
	db_close(d);
	d->backoff = d->backoff ? (d->backoff < 60 ? d->backoff * 2 : 60) : 2;
	d->next_open = time(NULL) + d->backoff;
}

/*
 * One statement (see smsdb_query). A failure is logged; a lost connection
 * also takes the line down (d->db is NULL then).
 */
static int
q(struct smsd *d, const char *sql, const char *const *params, int n, struct smsdb_rows **rows)
{
	if (d->db == NULL)
		return -1;
	if (smsdb_query(d->db, sql, params, n, rows) == 0)
		return 0;
	log_warnx("sms: line %s: %s: %s", d->line->name, sql, smsdb_error(d->db));
	if (smsdb_broken(d->db))
		db_down(d, NULL);
	return -1;
}

/*
 * The URL for the log: "postgresql://user:secret@host/db?password=secret"
 * -> "postgresql://user:…@host/db?password=…".
 */
static char *
hide_password(const char *url)
{
	const char *p = strstr(url, "://"), *at, *colon;
	char *out, *q;

	if (p && (at = strchr(p + 3, '@')) != NULL &&
	    (colon = memchr(p + 3, ':', (size_t)(at - p - 3))) != NULL)
		out = xasprintf("%.*s:…%s", (int)(colon - url), url, at);
	else
		out = xstrdup(url);
	if ((q = strstr(out, "password=")) != NULL) {
		char *v = q + strlen("password="), *end = strchr(v, '&'), *masked;

		masked = xasprintf("%.*s…%s", (int)(v - out), out, end ? end : "");
		free(out);
		out = masked;
	}
	return out;
}

/* "stanzagate/1 QID NPARTS r|- USER XMPP_ID" -> an outmsg (to set by the caller). */
static struct outmsg *
parse_creator(const char *c)
{
	struct outmsg *m;
	unsigned long long qid;
	int nparts, used = 0;
	char r, user[1024];

	if (strncmp(c, TAG_LIVE, strlen(TAG_LIVE)) != 0)
		return NULL;
	if (sscanf(c + strlen(TAG_LIVE), "%llu %d %c %1023s%n", &qid, &nparts, &r, user, &used) <
	            4 ||
	    nparts < 1)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->nparts = nparts;
	m->receipt = r == 'r';
	m->user = xstrdup(user);
	c += strlen(TAG_LIVE) + used;
	m->xmpp_id = xstrdup(*c == ' ' ? c + 1 : c);
	m->seen = time(NULL);
	return m;
}

static void
track(struct smsd *d, struct outmsg *m)
{
	for (struct outmsg *o = d->out; o; o = o->next)
		if (o->id == m->id) {
			outmsg_free(m);
			return;
		}
	m->next = d->out;
	d->out = m;
}

/* Messages handed over before a restart whose outcome is still to tell. */
static void
load_outstanding(struct smsd *d)
{
	static const char sql[] =
	        "SELECT \"ID\", \"CreatorID\", \"DestinationNumber\" FROM outbox WHERE "
	        "\"CreatorID\" LIKE 'stanzagate/1 %' UNION SELECT \"ID\", \"CreatorID\", "
	        "\"DestinationNumber\" FROM sentitems WHERE \"CreatorID\" LIKE 'stanzagate/1 %'";
	struct smsdb_rows *r;

	if (q(d, sql, NULL, 0, &r) == -1)
		return;
	for (size_t i = 0; i < smsdb_nrows(r); i++) {
		struct outmsg *m = parse_creator(smsdb_get(r, i, 1));

		if (m == NULL)
			continue;
		m->id = smsdb_get_int(r, i, 0);
		m->to = xstrdup(smsdb_get(r, i, 2));
		track(d, m);
	}
	smsdb_rows_free(r);
}

/*
 * The highest queue id ever handed over: only a message at or below it can
 * have been written before a crash, so only those are looked for (the
 * look-up scans gammu-smsd's tables).
 */
static void
load_max_qid(struct smsd *d)
{
	/* SQLite's CAST reads the leading digits; PostgreSQL's wants the word alone. */
	static const char sq_sql[] =
	        "SELECT max(CAST(substr(\"CreatorID\", 14) AS INTEGER)) FROM (SELECT "
	        "\"CreatorID\" FROM outbox WHERE \"CreatorID\" LIKE 'stanzagate/%' UNION ALL "
	        "SELECT \"CreatorID\" FROM sentitems WHERE \"CreatorID\" LIKE 'stanzagate/%') "
	        "AS c";
	static const char pg_sql[] =
	        "SELECT max(CAST(split_part(\"CreatorID\", ' ', 2) AS BIGINT)) FROM (SELECT "
	        "\"CreatorID\" FROM outbox WHERE \"CreatorID\" LIKE 'stanzagate/%' UNION ALL "
	        "SELECT \"CreatorID\" FROM sentitems WHERE \"CreatorID\" LIKE 'stanzagate/%') "
	        "AS c";
	struct smsdb_rows *r;

	d->max_qid = UINT64_MAX; /* unknown: look every message up */
	if (q(d, smsdb_kind(d->db) == SMSDB_SQLITE ? sq_sql : pg_sql, NULL, 0, &r) == -1)
		return;
	if (smsdb_nrows(r) == 1)
		d->max_qid = (uint64_t)smsdb_get_int(r, 0, 0);
	smsdb_rows_free(r);
}

/* The connection is made: check it is gammu-smsd's and take the line up. */
static int
db_ready(struct smsd *d)
{
	struct smsdb_rows *r;
	char *why = NULL;
	int version = -1;

	if (smsdb_query(d->db, "SELECT \"Version\" FROM gammu", NULL, 0, &r) == -1) {
		why = xasprintf("is not gammu-smsd's (%s)", smsdb_error(d->db));
		db_down(d, why);
		free(why);
		return -1;
	}
	if (smsdb_nrows(r) > 0)
		version = (int)smsdb_get_int(r, 0, 0);
	smsdb_rows_free(r);
	if (version < 17) {
		why = xasprintf("schema version %d, 17 or later needed", version);
		db_down(d, why);
		free(why);
		return -1;
	}
	d->backoff = 0;
	d->cursor = 0;
	load_outstanding(d);
	load_max_qid(d);
	smsl_set_state(d->line, SMSL_UP, NULL);
	return 0;
}

static void connect_cb(evutil_socket_t, short, void *);

/*
 * Wait for the pending connection's socket, or take the connection when it
 * is made. The loop never waits for PostgreSQL to answer a connection.
 */
static void
connect_wait(struct smsd *d)
{
	int fd = -1;
	bool w = false;
	struct timeval tv = {0, 0};

	switch (smsdb_connecting(d->pending, &fd, &w)) {
	case 0:
		if (d->connect_ev)
			event_free(d->connect_ev);
		d->connect_ev = NULL;
		d->db = d->pending;
		d->pending = NULL;
		db_ready(d);
		return;
	case -1:
		db_down(d, NULL);
		return;
	}
	if (time(NULL) >= d->connect_until) {
		db_down(d, "no answer to the connection: timed out");
		return;
	}
	if (d->connect_ev)
		event_free(d->connect_ev);
	d->connect_ev = event_new(gw_event_base(), fd, w ? EV_WRITE : EV_READ, connect_cb, d);
	tv.tv_sec = d->connect_until - time(NULL);
	event_add(d->connect_ev, &tv);
}

static void
connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smsd *d = arg;

	(void)fd;
	if (what & EV_TIMEOUT) {
		db_down(d, "no answer to the connection: timed out");
		return;
	}
	smsdb_connect_step(d->pending);
	connect_wait(d);
}

/* Open the database, or start connecting to it; a failure takes the line down. */
static void
db_open(struct smsd *d)
{
	char *why = NULL;

	if ((d->pending = smsdb_open(d->url, &why)) == NULL) {
		db_down(d, why);
		free(why);
		return;
	}
	log_debug("sms: line %s: opening %s", d->line->name, d->shown);
	d->connect_until = time(NULL) + CONNECT_TIMEOUT;
	connect_wait(d);
}

/* ---- out ---- */

static void
hex(char *out, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02X", b[i]);
}

/* 1: the queue id was handed over already; 0: not; -1: the database failed. */
static int
handed_over(struct smsd *d, uint64_t qid)
{
	static const char sql[] =
	        "SELECT 1 FROM outbox WHERE \"CreatorID\" LIKE $1 UNION ALL SELECT 1 FROM "
	        "sentitems WHERE \"CreatorID\" LIKE $1 LIMIT 1";
	struct smsdb_rows *r;
	char pat[64];
	const char *params[] = {pat};
	int found;

	snprintf(pat, sizeof(pat), "stanzagate/_ %" PRIu64 " %%", qid);
	if (q(d, sql, params, 1, &r) == -1)
		return -1;
	found = smsdb_nrows(r) > 0;
	smsdb_rows_free(r);
	return found;
}

/* Writes part i; the first part's row gives the message its *id. 0, or -1. */
static int
insert_part(struct smsd *d, long long *id, const struct gw_outmsg *msg,
            const struct smstext_plan *plan, size_t i, const char *creator, unsigned ref)
{
	const struct smstext_part *p = &plan->parts[i];
	const char *coding =
	        plan->coding == SMSTEXT_GSM7 ? "Default_No_Compression" : "Unicode_No_Compression";
	char udh[16] = "", idbuf[24], seq[24];
	char *text = xstrndup(msg->body + p->off, p->len);
	struct smsdb_rows *r = NULL;
	int rc;

	if (plan->nparts > 1) {
		unsigned char b[6] = {5,
		                      0,
		                      3,
		                      (unsigned char)ref,
		                      (unsigned char)plan->nparts,
		                      (unsigned char)(i + 1)};

		hex(udh, b, sizeof(b));
	}
	if (i == 0) {
		const char *params[] = {msg->to,
		                        text,
		                        coding,
		                        udh,
		                        plan->nparts > 1 ? "true" : "false",
		                        msg->want_receipt ? "yes" : "default",
		                        creator};

		rc = q(d,
		       "INSERT INTO outbox (\"DestinationNumber\", \"TextDecoded\", \"Coding\", "
		       "\"UDH\", \"MultiPart\", \"DeliveryReport\", \"CreatorID\", \"Class\") "
		       "VALUES ($1, $2, $3, $4, $5, $6, $7, -1) RETURNING \"ID\"",
		       params, 7, &r);
		if (rc == 0 && smsdb_nrows(r) == 1)
			*id = smsdb_get_int(r, 0, 0);
		else
			rc = -1;
		smsdb_rows_free(r);
	} else {
		const char *params[] = {text, coding, udh, idbuf, seq};

		snprintf(idbuf, sizeof(idbuf), "%lld", *id);
		snprintf(seq, sizeof(seq), "%zu", i + 1);
		rc = q(d,
		       "INSERT INTO outbox_multipart (\"TextDecoded\", \"Coding\", \"UDH\", "
		       "\"Class\", \"ID\", \"SequencePosition\") VALUES ($1, $2, $3, -1, $4, $5)",
		       params, 5, NULL);
	}
	free(text);
	return rc;
}

static enum gw_send_status
smsd_send(struct smsl_line *l, const struct gw_outmsg *msg, const struct smstext_plan *plan,
          char **why)
{
	struct smsd *d = impl(l);
	char *creator;
	long long id = 0;
	unsigned ref = (unsigned)(msg->qid * 7 + 1) & 0xFF;
	int h;

	if (d->db == NULL) {
		*why = xstrdup("the gammu-smsd database is not open");
		return GW_SEND_RETRY;
	}
	h = msg->qid <= d->max_qid ? handed_over(d, msg->qid) : 0;
	if (h == 1) {
		log_info("sms: line %s: message %" PRIu64 " was handed to gammu-smsd before a "
		         "restart: not written again",
		         l->name, msg->qid);
		return GW_SEND_DONE;
	}
	if (h == -1 || d->db == NULL || smsdb_begin(d->db) == -1) {
		*why = xasprintf("gammu-smsd database busy: %s",
		                 d->db ? smsdb_error(d->db) : "the connection was lost");
		return GW_SEND_RETRY;
	}
	creator = xasprintf(TAG_LIVE "%" PRIu64 " %zu %c %s %s", msg->qid, plan->nparts,
	                    msg->want_receipt ? 'r' : '-', msg->user,
	                    msg->xmpp_id ? msg->xmpp_id : "");
	for (size_t i = 0; i < plan->nparts; i++)
		if (insert_part(d, &id, msg, plan, i, creator, ref) == -1)
			goto fail;
	if (d->db == NULL || smsdb_commit(d->db) == -1)
		goto fail;
	{
		struct outmsg *m = parse_creator(creator);

		m->id = id;
		m->to = xstrdup(msg->to);
		track(d, m);
	}
	log_debug("sms: line %s: message %" PRIu64 " to %s is outbox %lld (%zu part(s), %s)",
	          l->name, msg->qid, msg->to, (long long)id, plan->nparts,
	          plan->coding == SMSTEXT_GSM7 ? "GSM 7-bit" : "UCS-2");
	free(creator);
	return GW_SEND_DONE;
fail:
	*why = xasprintf("gammu-smsd database: %s",
	                 d->db ? smsdb_error(d->db) : "the connection was lost");
	if (d->db) {
		smsdb_rollback(d->db);
		if (smsdb_broken(d->db))
			db_down(d, NULL);
	}
	free(creator);
	return GW_SEND_RETRY;
}

/* ---- status of what was sent ---- */

static const char *
failure(const char *status)
{
	if (strcmp(status, "SendingError") == 0 || strcmp(status, "Error") == 0)
		return "the modem could not send it";
	if (strcmp(status, "DeliveryFailed") == 0)
		return "the network could not deliver it to the phone";
	return NULL;
}

/* The outcome of m so far: PENDING, DELIVERED, FAILED (with *why), or -1 for "sent, no report
 * wanted". */
static int
outcome(struct smsd *d, struct outmsg *m, const char **why)
{
	struct smsdb_rows *r;
	char idbuf[24];
	const char *params[] = {idbuf};
	int parts = 0, ok = 0;
	bool sent = true;

	snprintf(idbuf, sizeof(idbuf), "%lld", m->id);
	if (q(d, "SELECT \"Status\" FROM sentitems WHERE \"ID\" = $1", params, 1, &r) == -1)
		return SMSRECEIPT_PENDING;
	for (size_t i = 0; i < smsdb_nrows(r); i++) {
		const char *s = smsdb_get(r, i, 0);

		parts++;
		if ((*why = failure(s)) != NULL) {
			smsdb_rows_free(r);
			return SMSRECEIPT_FAILED;
		}
		if (strcmp(s, "DeliveryOK") == 0)
			ok++;
		else if (strncmp(s, "Sending", 7) != 0 && strncmp(s, "Delivery", 8) != 0)
			sent = false;
	}
	smsdb_rows_free(r);
	if (parts < m->nparts)
		return SMSRECEIPT_PENDING;
	if (ok == m->nparts)
		return SMSRECEIPT_DELIVERED;
	if (!m->receipt && sent)
		return -1;
	return SMSRECEIPT_PENDING;
}

static void
mark_done(struct smsd *d, long long id)
{
	char idbuf[24];
	const char *params[] = {idbuf};

	snprintf(idbuf, sizeof(idbuf), "%lld", id);
	q(d,
	  "UPDATE sentitems SET \"CreatorID\" = 'stanzagate/0' || substr(\"CreatorID\", 13) "
	  "WHERE \"ID\" = $1 AND \"CreatorID\" LIKE 'stanzagate/1 %'",
	  params, 1, NULL);
}

static void
poll_status(struct smsd *d)
{
	struct outmsg **pp = &d->out, *m;
	time_t now = time(NULL);

	while ((m = *pp) != NULL && d->db) {
		const char *why = NULL;
		int o = outcome(d, m, &why);

		if (o == SMSRECEIPT_PENDING && now - m->seen < d->max_age) {
			pp = &m->next;
			continue;
		}
		/* Told while the XMPP link is down, an outcome would be lost: it waits. */
		if ((o == SMSRECEIPT_DELIVERED || o == SMSRECEIPT_FAILED) &&
		    !gw_net_online(d->line->net)) {
			if (!m->held)
				log_debug(
				        "sms: line %s: outbox %lld: the outcome waits for the XMPP "
				        "link",
				        d->line->name, m->id);
			m->held = true;
			pp = &m->next;
			continue;
		}
		if (o == SMSRECEIPT_DELIVERED || o == SMSRECEIPT_FAILED)
			smsl_outcome(d->line, m->user, m->to, m->xmpp_id, m->receipt,
			             (enum smsreceipt_state)o, why);
		log_debug("sms: line %s: outbox %lld to %s: %s", d->line->name, (long long)m->id,
		          m->to,
		          o == SMSRECEIPT_DELIVERED ? "delivered"
		          : o == SMSRECEIPT_FAILED  ? why
		          : o == -1                 ? "sent"
		                                    : "no outcome, given up");
		mark_done(d, m->id);
		*pp = m->next;
		outmsg_free(m);
	}
}

/* ---- in ---- */

static void
smsd_release(struct smsl_line *l, const uint64_t *tokens, size_t n)
{
	struct smsd *d = impl(l);

	for (size_t i = 0; i < n && d->db; i++) {
		char idbuf[24];
		const char *params[] = {idbuf};

		snprintf(idbuf, sizeof(idbuf), "%" PRIu64, tokens[i]);
		/* Left in the inbox on failure: after a restart it comes again, and
		 * the core drops it as a duplicate by its id. */
		q(d, "DELETE FROM inbox WHERE \"ID\" = $1", params, 1, NULL);
	}
}

/* Read from the first of these rows again at the next poll. */
static void
smsd_again(struct smsl_line *l, const uint64_t *tokens, size_t n)
{
	struct smsd *d = impl(l);

	for (size_t i = 0; i < n; i++)
		if ((long long)tokens[i] - 1 < d->cursor)
			d->cursor = (long long)tokens[i] - 1;
}

/* Concatenation information from a UDH in hex; false when none. */
static bool
parse_udh(const char *hexudh, struct smsparts_in *in)
{
	unsigned char b[140];
	int n = smsl_unhex(hexudh, b, sizeof(b));

	if (n < 1 || b[0] + 1 > n)
		return false;
	for (int i = 1; i + 1 < b[0] + 1;) {
		int iei = b[i], len = b[i + 1];

		if (i + 2 + len > b[0] + 1)
			return false;
		if (iei == 0 && len == 3) {
			in->ref = b[i + 2];
			in->total = b[i + 3];
			in->seq = b[i + 4];
			return true;
		}
		if (iei == 8 && len == 4) {
			in->ref16 = true;
			in->ref = (unsigned)b[i + 2] << 8 | b[i + 3];
			in->total = b[i + 4];
			in->seq = b[i + 5];
			return true;
		}
		i += 2 + len;
	}
	return false;
}

/* One incoming message: a row and the rows that continue it. */
struct group {
	char *sender;
	struct smsparts_in key; /* ref, ref16, total of a concatenated SMS */
	bool concat;
	char *text;
	uint64_t *tokens;
	size_t n;
};

static bool
same_key(const struct smsparts_in *a, const struct smsparts_in *b)
{
	return a->ref == b->ref && a->ref16 == b->ref16 && a->total == b->total;
}

static void
flush(struct smsd *d, struct group *g)
{
	if (g->sender == NULL)
		return;
	if (smsl_message(d->line, g->sender, g->text, 0, g->tokens, g->n) == 0 && g->concat) {
		free(d->last_sender);
		d->last_sender = xstrdup(g->sender);
		d->last_key = g->key;
	}
	free(g->sender);
	free(g->text);
	free(g->tokens);
	memset(g, 0, sizeof(*g));
}

/*
 * gammu-smsd joins a long SMS itself (out of order, with its own timeout):
 * the first part's row holds the whole text and the rows of the other
 * parts follow it with an empty text. A part it gave up waiting for comes
 * alone, with its own text, and is delivered marked as such.
 */
static void
poll_inbox(struct smsd *d)
{
	static const char sql[] =
	        "SELECT \"ID\", \"SenderNumber\", \"TextDecoded\", \"UDH\", \"Class\", "
	        "\"Coding\" FROM inbox WHERE \"ID\" > $1 ORDER BY \"ID\" LIMIT " INBOX_BATCH;
	struct smsdb_rows *r;
	struct smsl_line *l = d->line;
	struct group g = {0};
	char cur[24];
	const char *params[] = {cur};

	snprintf(cur, sizeof(cur), "%lld", d->cursor);
	if (q(d, sql, params, 1, &r) == -1)
		return;
	for (size_t i = 0; i < smsdb_nrows(r) && d->db; i++) {
		long long id = smsdb_get_int(r, i, 0);
		char *sender = smsnum_sender(smsdb_get(r, i, 1), smsl_country(l->net));
		const char *text = smsdb_get(r, i, 2);
		bool binary = strcmp(smsdb_get(r, i, 5), "8bit") == 0;
		struct smsparts_in key = {0};
		bool concat = parse_udh(smsdb_get(r, i, 3), &key) && key.total > 1;
		uint64_t tok = (uint64_t)id;

		d->cursor = id;
		if (sender == NULL) {
			log_warnx("sms: line %s: inbox %lld has no usable sender: dropped", l->name,
			          (long long)id);
			smsd_release(l, &tok, 1);
			continue;
		}
		if (concat && !binary && *text == '\0') {
			if (g.sender && g.concat && strcmp(g.sender, sender) == 0 &&
			    same_key(&g.key, &key)) {
				g.tokens = xreallocarray(g.tokens, g.n + 1, sizeof(*g.tokens));
				g.tokens[g.n++] = tok;
				free(sender);
				continue;
			}
			if (d->last_sender && strcmp(d->last_sender, sender) == 0 &&
			    same_key(&d->last_key, &key)) {
				smsd_release(l, &tok, 1); /* its message was delivered */
				free(sender);
				continue;
			}
		}
		flush(d, &g);
		g.sender = sender;
		g.key = key;
		g.concat = concat;
		if (binary)
			text = "[a binary SMS (data for an application) came; it cannot be shown]";
		if (concat && key.seq > 1)
			g.text = xasprintf("[part %u of %u; the others never came] %s", key.seq,
			                   key.total, text);
		else if (smsdb_get_int(r, i, 4) == 0)
			g.text = xasprintf("[flash] %s", text);
		else
			g.text = xstrdup(text);
		g.tokens = xcalloc(1, sizeof(*g.tokens));
		g.tokens[0] = tok;
		g.n = 1;
	}
	flush(d, &g);
	smsdb_rows_free(r);
}

static void
poll_phone(struct smsd *d)
{
	struct smsdb_rows *r;
	const char *net;

	if (q(d,
	      "SELECT \"Signal\", \"NetName\" FROM phones ORDER BY \"UpdatedInDB\" DESC "
	      "LIMIT 1",
	      NULL, 0, &r) == -1)
		return;
	if (smsdb_nrows(r) == 1) {
		d->line->signal = (int)smsdb_get_int(r, 0, 0);
		net = smsdb_get(r, 0, 1);
		free(d->line->operator_name);
		d->line->operator_name = strcmp(net, "ERROR") && *net ? xstrdup(net) : NULL;
	}
	smsdb_rows_free(r);
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smsd *d = arg;

	(void)fd;
	(void)what;
	if (d->db == NULL) {
		if (d->pending == NULL && time(NULL) >= d->next_open)
			db_open(d);
		if (d->db == NULL)
			return; /* down, or still connecting */
	}
	poll_phone(d);
	if (d->db)
		poll_inbox(d);
	if (d->db)
		poll_status(d);
}

static int
smsd_start(struct smsl_line *l, char **why)
{
	struct smsd *d = xcalloc(1, sizeof(*d));
	struct timeval tv = {gw_conf_int(gw_net_section(l->net), "poll_interval"), 0};

	(void)why;
	d->line = l;
	d->url = xstrdup(gw_conf_str(l->sec, "smsd_database"));
	d->max_age = gw_conf_int(gw_net_section(l->net), "receipt_timeout");
	d->shown = hide_password(d->url);
	l->impl = d;
	/* A database not there yet is retried: gammu-smsd may start after us. */
	db_open(d);
	d->poll = event_new(gw_event_base(), -1, EV_PERSIST, poll_cb, d);
	event_add(d->poll, &tv);
	return 0;
}

static void
smsd_stop(struct smsl_line *l)
{
	struct smsd *d = impl(l);

	if (d == NULL)
		return;
	event_free(d->poll);
	while (d->out) {
		struct outmsg *m = d->out;

		d->out = m->next;
		outmsg_free(m);
	}
	db_close(d);
	free(d->last_sender);
	free(d->url);
	free(d->shown);
	free(d);
	l->impl = NULL;
}

const struct smsl_ops smsd_ops = {
        .name = "smsd",
        .start = smsd_start,
        .stop = smsd_stop,
        .send = smsd_send,
        .release = smsd_release,
        .again = smsd_again,
};
