/*
 * A line whose modem a running gammu-smsd owns: we share its SQL database
 * (SQLite here; the schema is gammu's, version 17).
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
 * gammu-smsd holds the database, the work waits for the next poll.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "driver.h"
#include "smsline.h"
#include "smsnum.h"

#define BUSY_MS 200
#define INBOX_BATCH 100
#define MAX_AGE (3 * 24 * 3600) /* outcomes awaited at most this long */
#define TAG_LIVE "stanzagate/1 "
#define TAG_DONE "stanzagate/0 "

struct outmsg {
	struct outmsg *next;
	sqlite3_int64 id; /* outbox ID, kept in sentitems */
	int nparts;
	bool receipt;
	time_t seen; /* when we learnt of it */
	char *user, *to, *xmpp_id;
};

struct smsd {
	struct smsl_line *line;
	char *path;
	sqlite3 *db;
	struct event *poll;
	sqlite3_int64 cursor; /* highest inbox ID read */
	char *last_sender;    /* the last long SMS delivered, for its late rows */
	struct smsparts_in last_key;
	struct outmsg *out;
	uint64_t max_qid; /* highest queue id handed over before the database was opened */
	time_t next_open;
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
	if (d->db)
		sqlite3_close(d->db);
	d->db = NULL;
}

static void
db_down(struct smsd *d, const char *what)
{
	char *why = xasprintf("gammu-smsd database %s: %s", d->path,
	                      d->db ? sqlite3_errmsg(d->db) : what);

	smsl_set_state(d->line, SMSL_DOWN, why);
	free(why);
	db_close(d);
	d->backoff = d->backoff ? (d->backoff < 60 ? d->backoff * 2 : 60) : 2;
	d->next_open = time(NULL) + d->backoff;
}

static sqlite3_stmt *
prep(struct smsd *d, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("sms: line %s: %s: %s", d->line->name, sql, sqlite3_errmsg(d->db));
		return NULL;
	}
	return st;
}

static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? (const char *)s : "";
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
	        "SELECT ID, CreatorID, DestinationNumber FROM outbox WHERE CreatorID LIKE "
	        "'stanzagate/1 %' UNION SELECT ID, CreatorID, DestinationNumber FROM sentitems "
	        "WHERE CreatorID LIKE 'stanzagate/1 %'";
	sqlite3_stmt *st = prep(d, sql);

	if (st == NULL)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct outmsg *m = parse_creator(col(st, 1));

		if (m == NULL)
			continue;
		m->id = sqlite3_column_int64(st, 0);
		m->to = xstrdup(col(st, 2));
		track(d, m);
	}
	sqlite3_finalize(st);
}

/*
 * The highest queue id ever handed over: only a message at or below it can
 * have been written before a crash, so only those are looked for (the
 * look-up scans gammu-smsd's tables).
 */
static void
load_max_qid(struct smsd *d)
{
	static const char sql[] =
	        "SELECT max(CAST(substr(CreatorID, 14) AS INTEGER)) FROM (SELECT CreatorID FROM "
	        "outbox WHERE CreatorID LIKE 'stanzagate/%' UNION ALL SELECT CreatorID FROM "
	        "sentitems WHERE CreatorID LIKE 'stanzagate/%')";
	sqlite3_stmt *st = prep(d, sql);

	d->max_qid = UINT64_MAX; /* unknown: look every message up */
	if (st == NULL)
		return;
	if (sqlite3_step(st) == SQLITE_ROW)
		d->max_qid = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
}

static int
db_open(struct smsd *d)
{
	sqlite3_stmt *st;
	int version = -1;

	if (sqlite3_open_v2(d->path, &d->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		db_down(d, "cannot be opened");
		return -1;
	}
	sqlite3_busy_timeout(d->db, BUSY_MS);
	if ((st = prep(d, "SELECT Version FROM gammu")) == NULL) {
		db_down(d, "is not gammu-smsd's");
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version < 17) {
		char *why = xasprintf("schema version %d, 17 or later needed", version);

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
	static const char sql[] = "SELECT 1 FROM outbox WHERE CreatorID LIKE ?1 UNION ALL "
	                          "SELECT 1 FROM sentitems WHERE CreatorID LIKE ?1 LIMIT 1";
	sqlite3_stmt *st = prep(d, sql);
	char pat[64];
	int r;

	if (st == NULL)
		return -1;
	snprintf(pat, sizeof(pat), "stanzagate/_ %" PRIu64 " %%", qid);
	sqlite3_bind_text(st, 1, pat, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

static int
insert_part(struct smsd *d, sqlite3_int64 id, const struct gw_outmsg *msg,
            const struct smstext_plan *plan, size_t i, const char *creator, unsigned ref)
{
	const struct smstext_part *p = &plan->parts[i];
	const char *coding =
	        plan->coding == SMSTEXT_GSM7 ? "Default_No_Compression" : "Unicode_No_Compression";
	char udh[16] = "";
	sqlite3_stmt *st;
	int r;

	if (plan->nparts > 1) {
		unsigned char b[6] = {5,
		                      0,
		                      3,
		                      (unsigned char)ref,
		                      (unsigned char)plan->nparts,
		                      (unsigned char)(i + 1)};

		hex(udh, b, sizeof(b));
	}
	if (i == 0)
		st = prep(d, "INSERT INTO outbox (DestinationNumber, TextDecoded, Coding, UDH, "
		             "MultiPart, DeliveryReport, CreatorID, Class) VALUES (?1, ?2, ?3, ?4, "
		             "?5, ?6, ?7, -1)");
	else
		st = prep(d, "INSERT INTO outbox_multipart (TextDecoded, Coding, UDH, Class, ID, "
		             "SequencePosition) VALUES (?2, ?3, ?4, -1, ?8, ?9)");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, msg->to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, msg->body + p->off, (int)p->len, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, coding, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, udh, -1, SQLITE_STATIC);
	if (i == 0) {
		sqlite3_bind_text(st, 5, plan->nparts > 1 ? "true" : "false", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, msg->want_receipt ? "yes" : "default", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, creator, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_int64(st, 8, id);
		sqlite3_bind_int(st, 9, (int)i + 1);
	}
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -1;
}

static enum gw_send_status
smsd_send(struct smsl_line *l, const struct gw_outmsg *msg, const struct smstext_plan *plan,
          char **why)
{
	struct smsd *d = impl(l);
	char *creator;
	sqlite3_int64 id = 0;
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
	if (h == -1 || sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		*why = xasprintf("gammu-smsd database busy: %s", sqlite3_errmsg(d->db));
		return GW_SEND_RETRY;
	}
	creator = xasprintf(TAG_LIVE "%" PRIu64 " %zu %c %s %s", msg->qid, plan->nparts,
	                    msg->want_receipt ? 'r' : '-', msg->user,
	                    msg->xmpp_id ? msg->xmpp_id : "");
	for (size_t i = 0; i < plan->nparts; i++) {
		if (insert_part(d, id, msg, plan, i, creator, ref) == -1)
			goto fail;
		if (i == 0)
			id = sqlite3_last_insert_rowid(d->db);
	}
	if (sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
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
	*why = xasprintf("gammu-smsd database: %s", sqlite3_errmsg(d->db));
	sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
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
	sqlite3_stmt *st = prep(d, "SELECT Status FROM sentitems WHERE ID = ?1");
	int parts = 0, ok = 0;
	bool sent = true;

	if (st == NULL)
		return SMSRECEIPT_PENDING;
	sqlite3_bind_int64(st, 1, m->id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *s = col(st, 0);

		parts++;
		if ((*why = failure(s)) != NULL) {
			sqlite3_finalize(st);
			return SMSRECEIPT_FAILED;
		}
		if (strcmp(s, "DeliveryOK") == 0)
			ok++;
		else if (strncmp(s, "Sending", 7) != 0 && strncmp(s, "Delivery", 8) != 0)
			sent = false;
	}
	sqlite3_finalize(st);
	if (parts < m->nparts)
		return SMSRECEIPT_PENDING;
	if (ok == m->nparts)
		return SMSRECEIPT_DELIVERED;
	if (!m->receipt && sent)
		return -1;
	return SMSRECEIPT_PENDING;
}

static void
mark_done(struct smsd *d, sqlite3_int64 id)
{
	sqlite3_stmt *st = prep(d, "UPDATE sentitems SET CreatorID = 'stanzagate/0' || "
	                           "substr(CreatorID, 13) WHERE ID = ?1 AND CreatorID LIKE "
	                           "'stanzagate/1 %'");

	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warnx("sms: line %s: sentitems %lld: %s", d->line->name, (long long)id,
		          sqlite3_errmsg(d->db));
	sqlite3_finalize(st);
}

static void
poll_status(struct smsd *d)
{
	struct outmsg **pp = &d->out, *m;
	time_t now = time(NULL);

	while ((m = *pp) != NULL) {
		const char *why = NULL;
		int o = outcome(d, m, &why);

		if (o == SMSRECEIPT_PENDING && now - m->seen < MAX_AGE) {
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
	sqlite3_stmt *st;

	if (d->db == NULL || (st = prep(d, "DELETE FROM inbox WHERE ID = ?1")) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)tokens[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			/* Still in the inbox: after a restart it comes again, and the
			 * core drops it as a duplicate by its id. */
			log_warnx("sms: line %s: inbox %" PRIu64 " not deleted: %s", l->name,
			          tokens[i], sqlite3_errmsg(d->db));
	}
	sqlite3_finalize(st);
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
	static const char sql[] = "SELECT ID, SenderNumber, TextDecoded, UDH, Class, Coding "
	                          "FROM inbox WHERE ID > ?1 ORDER BY ID LIMIT ?2";
	sqlite3_stmt *st = prep(d, sql);
	struct smsl_line *l = d->line;
	struct group g = {0};

	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, d->cursor);
	sqlite3_bind_int(st, 2, INBOX_BATCH);
	while (sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(st, 0);
		char *sender = smsnum_sender(col(st, 1), smsl_country(l->net));
		const char *text = col(st, 2);
		bool binary = strcmp(col(st, 5), "8bit") == 0;
		struct smsparts_in key = {0};
		bool concat = parse_udh(col(st, 3), &key) && key.total > 1;
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
		else if (sqlite3_column_int(st, 4) == 0)
			g.text = xasprintf("[flash] %s", text);
		else
			g.text = xstrdup(text);
		g.tokens = xcalloc(1, sizeof(*g.tokens));
		g.tokens[0] = tok;
		g.n = 1;
	}
	flush(d, &g);
	sqlite3_finalize(st);
}

static void
poll_phone(struct smsd *d)
{
	sqlite3_stmt *st = prep(d, "SELECT Signal, NetName FROM phones ORDER BY UpdatedInDB DESC "
	                           "LIMIT 1");

	if (st == NULL)
		return;
	if (sqlite3_step(st) == SQLITE_ROW) {
		d->line->signal = sqlite3_column_int(st, 0);
		free(d->line->operator_name);
		d->line->operator_name =
		        strcmp(col(st, 1), "ERROR") && *col(st, 1) ? xstrdup(col(st, 1)) : NULL;
	}
	sqlite3_finalize(st);
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smsd *d = arg;

	(void)fd;
	(void)what;
	if (d->db == NULL) {
		if (time(NULL) < d->next_open || db_open(d) == -1)
			return;
	}
	poll_phone(d);
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
	d->path = xstrdup(gw_conf_str(l->sec, "smsd_database") + strlen("sqlite:"));
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
	free(d->path);
	free(d);
	l->impl = NULL;
}

const struct smsl_ops smsd_ops = {
        .name = "smsd",
        .start = smsd_start,
        .stop = smsd_stop,
        .send = smsd_send,
        .release = smsd_release,
};
