/*
 * The durable queues of SPEC section 7.
 *
 * Every message accepted from either side is written to the store before
 * it goes anywhere, and deleted only once the other side has taken it:
 *
 *   XMPP -> network: deleted when the driver says GW_SEND_DONE (or FAILED,
 *   after the user is told); RETRY backs off; PENDING waits for
 *   gw_send_done().
 *
 *   network -> XMPP: sent to the user's bare JID, then deleted once a
 *   barrier (component_barrier) proves the server has routed it. A message
 *   the server bounces is held until the user comes online.
 *
 * Writes are grouped: the first write of a loop iteration opens a
 * transaction that a deferred event commits, and only then are the
 * messages handed on (group commit). So a SIGKILL loses nothing that was
 * acknowledged, and at worst repeats what was in flight.
 *
 * A message from XMPP is first offered to its driver in that same deferred
 * event, just before the commit, and written only if the driver did not
 * take it there and then. One the driver takes at once (the common case:
 * the IRC line is in the connection's buffer) never costs a queue row, only
 * a tombstone for its dedup key. This loses nothing more than writing it
 * first: until the commit, a written row was not durable either, and a
 * message the driver took is no longer ours to lose.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "component.h"
#include "core.h"
#include "rooms.h"
#include "stanza.h"
#include "store.h"
#include "strmap.h"
#include "users.h"
#include "xmltext.h"

#define MSG_GROUPCHAT 0x01
#define MSG_RECEIPT 0x02
#define MSG_CORRECTION 0x04 /* XEP-0308 <replace/> */
#define MSG_ACK 0x08        /* to XMPP: a XEP-0184 receipt for the user's message xmpp_id */

#define BODY_MAX (64 * 1024)      /* longer bodies are refused (XMPP->net) or cut */
#define SCAN_BATCH 256            /* messages taken from the store per scan */
#define RETRY_MAX_DELAY 600       /* seconds between tries, at most */
#define GIVE_UP_AFTER (3 * 86400) /* a message this old is failed for good */
#define DELAY_AFTER 5             /* seconds queued before a delay stamp is shown */
#define ID_BLOCK 1024             /* queue ids reserved at a time for new messages */

struct pending {
	struct pending *next;
	struct store_msg m;
	bool keeps_copy; /* the driver hands it over again if the commit fails */
};

struct batch {
	struct delivery *d;
	int64_t *ids;
	size_t n;
};

struct delivery {
	struct gw_net *net;
	struct pending *fresh, **fresh_tail;     /* from XMPP, not in the store yet */
	struct pending *to_net, **to_net_tail;   /* committed, to hand to the driver */
	struct pending *to_xmpp, **to_xmpp_tail; /* committed, to send to XMPP */
	struct strmap *inflight;                 /* "id" -> batch: sent to XMPP, barrier not back */
	struct strmap *pending;  /* "id" -> STORED, or a copy (struct store_msg *) when not
	                            stored: the driver said PENDING */
	struct batch *open;      /* ids sent since the last barrier */
	struct backoff *backoff; /* conversations waiting to be retried */
	struct event *ev_tick;
	bool scan_wanted;
	time_t next_due;
};

static struct event *ev_commit;
static bool txn_open;
static bool dispatch_wanted;
static int64_t next_id, last_id; /* reserved queue ids not handed out yet */

#define STORED ((void *)1) /* a PENDING message whose row is in the store */

static void dispatch_all(void);
static void forget_kept_copies(void);
static void free_kept(void *);
static void take_fresh(struct gw_net *, bool send);
static void free_pending_list(struct pending *);

/* ---- group commit ---- */

static void
commit_cb(evutil_socket_t fd, short what, void *arg)
{
	bool committed = true;

	(void)fd;
	(void)what;
	(void)arg;
	for (size_t i = 0; i < core.nnets; i++)
		take_fresh(core.nets[i], true);
	if (txn_open) {
		txn_open = false;
		if (store_commit(core.store) == -1) {
			log_warnx("store: commit failed; messages stay where they were");
			committed = false;
		}
	}
	/* Without a transaction (the store was down at begin) each write committed alone. */
	if (!committed)
		forget_kept_copies();
	aftercommit_done(committed);
	dispatch_wanted = false;
	dispatch_all();
}

static void
want_dispatch(void)
{
	if (ev_commit == NULL)
		ev_commit = event_new(core.base, -1, 0, commit_cb, NULL);
	if (!dispatch_wanted) {
		dispatch_wanted = true;
		event_active(ev_commit, EV_TIMEOUT, 0);
	}
}

/* Opens the iteration's transaction if none is open; true when one is. */
static bool
txn(void)
{
	if (!txn_open && store_begin(core.store) == 0)
		txn_open = true;
	want_dispatch();
	return txn_open;
}

bool
delivery_txn(void)
{
	return txn();
}

/* Deletes a queue row; until the delete is committed the scans skip it. */
static void
queue_delete(int64_t id)
{
	aftercommit_delete(id, txn());
}

void
delivery_rescan(struct gw_net *net)
{
	net->delivery->scan_wanted = true;
}

/* A queue id for a new message from the reserved block; 0 when the store failed. */
static int64_t
new_id(void)
{
	if (next_id == 0 || next_id > last_id) {
		int64_t first;

		txn();
		if (store_queue_reserve(core.store, ID_BLOCK, &first) == -1)
			return 0;
		next_id = first;
		last_id = first + ID_BLOCK - 1;
	}
	return next_id++;
}

void
delivery_flush_all(void)
{
	bool committed = true;

	for (size_t i = 0; i < core.nnets; i++)
		if (core.nets[i]->delivery)
			take_fresh(core.nets[i], false);
	if (txn_open) {
		txn_open = false;
		committed = store_commit(core.store) == 0;
	}
	aftercommit_done(committed);
}

/*
 * ---- the "extra" column: kind, stamp, subject, resource, foreign id, thread, link ----
 * Fields added later go at the end: rows written before them decode with
 * those fields empty.
 */

enum {
	X_KIND,
	X_STAMP,
	X_SUBJECT,
	X_RESOURCE,
	X_ID,
	X_THREAD,
	X_OOB_URL,
	X_OOB_DESC,
	X_REPLY, /* to the network: the id a XEP-0461 reply names */
	X_COUNT
};

/* Cleaned text never holds C0 controls, so \x1f separates safely. */
static char *
extra_encode(int kind, time_t stamp, const char *subject, const char *resource, const char *id,
             const char *thread, const char *oob_url, const char *oob_desc, const char *reply)
{
	char num[48];

	snprintf(num, sizeof(num), "%d\x1f%lld\x1f", kind, (long long)stamp);
	return xconcat(num, subject ? subject : "", "\x1f", resource ? resource : "", "\x1f",
	               id ? id : "", "\x1f", thread ? thread : "", "\x1f", oob_url ? oob_url : "",
	               "\x1f", oob_desc ? oob_desc : "", "\x1f", reply ? reply : "", (char *)NULL);
}

/* The id a XEP-0461 reply names (one line, cleaned), or NULL. Caller frees. */
static char *
reply_id(xmpp_stanza_t *msg)
{
	xmpp_stanza_t *r = stanza_child(msg, "reply", "urn:xmpp:reply:0");
	const char *id = r ? xmpp_stanza_get_attribute(r, "id") : NULL;

	if (id == NULL || *id == '\0' || strpbrk(id, "\r\n\x1f") != NULL)
		return NULL;
	return xmltext_clean(id, strlen(id), 256);
}

/* An XMPP <subject/> or <thread/> as one clean line of at most max bytes, or NULL. */
static char *
child_line(xmpp_stanza_t *msg, const char *name, size_t max)
{
	char *text = stanza_child_text(msg, name), *clean = NULL;

	if (text && *text) {
		clean = xmltext_clean(text, strlen(text), max);
		for (char *p = clean; *p; p++)
			if (*p == '\n' || *p == '\r' || *p == '\t')
				*p = ' ';
	}
	if (text)
		xmpp_free(component_ctx(), text);
	return clean;
}

/* Splits extra into X_COUNT fields (pointers into the copy *buf, caller frees *buf). */
static void
extra_decode(const char *extra, char **buf, const char *f[X_COUNT])
{
	char *p;

	*buf = xstrdup(extra ? extra : "");
	p = *buf;
	for (int i = 0; i < X_COUNT; i++) {
		f[i] = p;
		if (p != NULL) {
			char *sep = strchr(p, '\x1f');

			if (sep)
				*sep++ = '\0';
			p = sep;
		}
		if (f[i] == NULL)
			f[i] = "";
	}
}

/* ---- XMPP -> network ---- */

static time_t
retry_delay(int attempts)
{
	time_t d = 5;

	for (int i = 0; i < attempts && d < RETRY_MAX_DELAY; i++)
		d *= 2;
	if (d > RETRY_MAX_DELAY)
		d = RETRY_MAX_DELAY;
	return d + (time_t)arc4random_uniform((uint32_t)d / 4 + 1);
}

struct failure {
	struct gw_net *net;
	const char *from, *xmpp_id, *body, *text;
	enum gw_error e;
	size_t sent;
};

static void
send_failure_to(struct failure *f, const char *to)
{
	xmpp_stanza_t *m = stanza_message("error", f->from, to, f->xmpp_id, f->body);
	xmpp_stanza_t *err = stanza_add_child(m, "error", NULL);

	xmpp_stanza_set_type(err, stanza_error_type(f->e));
	stanza_add_child(err, stanza_error_condition(f->e), "urn:ietf:params:xml:ns:xmpp-stanzas");
	stanza_add_text_child(err, "text", "urn:ietf:params:xml:ns:xmpp-stanzas", f->text);
	if (gateway_send(f->net, m) == 0)
		f->sent++;
	xmpp_stanza_release(m);
}

static void
failure_each_resource(const char *full, void *arg)
{
	send_failure_to(arg, full);
}

/*
 * Tells the user a message failed. A server drops error messages sent to a
 * bare JID (RFC 6121 section 8.5.2), so the error goes to the resource that
 * sent the message, or to every online resource; with none online, it
 * becomes an ordinary message that waits in the queue.
 */
static void
notify_failure(struct gw_net *net, const char *user, const char *resource, const char *address,
               const char *xmpp_id, const char *body, enum gw_error e, const char *why)
{
	char *from = gateway_address_jid(net, address, NULL);
	char *clean = why ? xmltext_clean(why, strlen(why), 1024) : NULL;
	char *text = xasprintf("Your message could not be delivered%s%s", clean ? ": " : ".",
	                       clean ? clean : "");
	struct failure f = {net, from, xmpp_id, body, text, e, 0};

	if (resource) {
		char *full = xasprintf("%s/%s", user, resource);

		send_failure_to(&f, full);
		free(full);
	}
	if (f.sent == 0)
		gateway_foreach_resource(net, user, failure_each_resource, &f);
	if (f.sent == 0) {
		struct gw_inmsg in = {
		        .user = user, .from = address, .body = text, .kind = GW_MSG_CHAT};

		gw_deliver(net, &in);
	}
	net->msgs_failed++;
	free(text);
	free(clean);
	free(from);
}

static void
tell_user_failed(struct gw_net *net, const struct store_msg *m, enum gw_send_status st,
                 const char *why)
{
	notify_failure(net, m->user, m->resource, m->peer, m->xmpp_id, m->body,
	               st == GW_SEND_FORBIDDEN ? GW_ERR_FORBIDDEN : GW_ERR_RECIPIENT_UNAVAILABLE,
	               why);
}

static void
apply_send_result(struct gw_net *net, const struct store_msg *m, enum gw_send_status st,
                  const char *why)
{
	struct delivery *d = net->delivery;
	char key[32];

	snprintf(key, sizeof(key), "%" PRId64, m->id);
	switch (st) {
	case GW_SEND_DONE:
		queue_delete(m->id);
		net->msgs_to_net++;
		break;
	case GW_SEND_PENDING:
		free_kept(strmap_put(d->pending, key, STORED));
		break;
	case GW_SEND_RETRY:
		if (time(NULL) - m->created > GIVE_UP_AFTER) {
			apply_send_result(net, m, GW_SEND_FAILED,
			                  why ? why : "gave up after three days");
			return;
		}
		txn();
		store_queue_retry(core.store, m->id, m->attempts + 1,
		                  backoff_join(d->backoff, m->user, m->peer,
		                               time(NULL) + retry_delay(m->attempts), time(NULL)));
		if (d->next_due == 0 || d->next_due > time(NULL) + retry_delay(0))
			d->next_due = time(NULL) + 1;
		log_debug("%s: message %" PRId64 " for %s will be tried again%s%s", net->drv->name,
		          m->id, m->peer, why ? ": " : "", why ? why : "");
		break;
	case GW_SEND_FAILED:
	case GW_SEND_FORBIDDEN:
		queue_delete(m->id);
		tell_user_failed(net, m, st, why);
		break;
	}
}

/* A pending map value: a copy is freed, STORED is not. */
static void
free_kept(void *v)
{
	if (v != NULL && v != STORED) {
		store_msg_free_fields(v);
		free(v);
	}
}

/*
 * The driver holds m (PENDING) but the store could not keep it: the copy in
 * memory stands in for the row, so the driver's outcome still reaches the
 * user (gw_send_done()).
 */
static void
keep_in_memory(struct gw_net *net, const struct store_msg *m)
{
	struct store_msg *copy = xcalloc(1, sizeof(*copy));
	char key[32];

	store_msg_copy(copy, m);
	snprintf(key, sizeof(key), "%" PRId64, m->id);
	free_kept(strmap_put(net->delivery->pending, key, copy));
}

/* Offers m to the driver. *why (caller frees) may be set. */
static enum gw_send_status
hand_to_driver(struct gw_net *net, const struct store_msg *m, char **why)
{
	const char *f[X_COUNT];
	char *buf;
	struct gw_outmsg out;
	enum gw_send_status st;

	extra_decode(m->extra, &buf, f);
	memset(&out, 0, sizeof(out));
	out.qid = (uint64_t)m->id;
	out.user = m->user;
	out.resource = m->resource;
	out.to = m->peer;
	out.to_resource = *f[X_RESOURCE] ? f[X_RESOURCE] : NULL;
	out.subject = *f[X_SUBJECT] ? f[X_SUBJECT] : NULL;
	out.thread = *f[X_THREAD] ? f[X_THREAD] : NULL;
	out.reply_to = *f[X_REPLY] ? f[X_REPLY] : NULL;
	out.body = m->body;
	out.xmpp_id = m->xmpp_id;
	out.groupchat = m->flags & MSG_GROUPCHAT;
	out.want_receipt = m->flags & MSG_RECEIPT;
	out.correction = m->flags & MSG_CORRECTION;
	out.attempts = m->attempts;
	/* A room being rejoined after a restart: it goes once the room is back, in order. */
	if (out.groupchat && rooms_hold_message(net, m->user, m->peer, m->id)) {
		free(buf);
		return GW_SEND_PENDING;
	}
	st = net->drv->send ? net->drv->send(net, &out, why) : GW_SEND_FAILED;
	if (net->drv->send == NULL && *why == NULL)
		*why = xstrdup("this network cannot send messages");
	free(buf);
	return st;
}

/* A message in the store. */
static void
send_to_net(struct gw_net *net, const struct store_msg *m)
{
	struct delivery *d = net->delivery;
	char *why = NULL, key[32];
	enum gw_send_status st;
	time_t at;

	snprintf(key, sizeof(key), "%" PRId64, m->id);
	if (strmap_get(net->delivery->pending, key))
		return; /* the driver holds it already */
	if (aftercommit_deleted(m->id))
		return; /* taken already, the delete not committed yet */
	if ((at = backoff_until(d->backoff, m->user, m->peer)) > time(NULL)) {
		/* Its conversation waits: it goes with the older ones, after them. */
		txn();
		store_queue_retry(core.store, m->id, m->attempts, at);
		if (d->next_due == 0 || d->next_due > at)
			d->next_due = at;
		return;
	}
	st = hand_to_driver(net, m, &why);
	apply_send_result(net, m, st, why);
	free(why);
}

/*
 * The messages from XMPP of this iteration: each is offered to the driver
 * (unless send is false: shutting down) and written to the store only if
 * the driver did not take it for good. Runs inside the iteration's
 * transaction, just before its commit.
 */
/*
 * Whether one more message of m's user may wait in the queue for net. The
 * user's queued messages (to send, or sent and not yet confirmed) are
 * counted once per batch (waiting: user -> count + 1), and then as the
 * batch stores more (one_more_waiting()). False tells the user why.
 */
static bool
may_wait(struct gw_net *net, struct strmap **waiting, const struct store_msg *m)
{
	long max = gw_conf_int(net->section, "queue_max_per_user");
	intptr_t n;
	char *why;

	if (*waiting == NULL)
		*waiting = strmap_new();
	if ((n = (intptr_t)strmap_get(*waiting, m->user)) == 0) {
		long c = store_queue_count_user(core.store, STORE_TO_NET, m->net, m->user);

		n = (c < 0 ? 0 : c) + 1;
		strmap_put(*waiting, m->user, (void *)n);
	}
	if (n - 1 < max)
		return true;
	why = xasprintf("%ld of your messages are already waiting for the %s network, the most "
	                "the gateway keeps; send this one again once they are delivered",
	                max, net->drv->name);
	notify_failure(net, m->user, m->resource, m->peer, m->xmpp_id, m->body,
	               GW_ERR_RESOURCE_CONSTRAINT, why);
	free(why);
	return false;
}

static void
one_more_waiting(struct strmap *waiting, const char *user)
{
	intptr_t n = (intptr_t)strmap_get(waiting, user);

	if (n != 0)
		strmap_put(waiting, user, (void *)(n + 1));
}

static void
take_fresh(struct gw_net *net, bool send)
{
	struct delivery *d = net->delivery;
	struct pending *p = d->fresh;
	struct strmap *waiting = NULL;

	d->fresh = NULL;
	d->fresh_tail = &d->fresh;
	for (struct pending *q = p; q; q = q->next) {
		struct store_msg *m = &q->m;
		enum gw_send_status st = GW_SEND_RETRY;
		char *why = NULL;
		time_t behind = 0;

		txn();
		/* A client resending (stream resumption) sends the same key again. */
		if (m->dedup_key && store_queue_seen(core.store, STORE_TO_NET, m->net, m->user,
		                                     m->dedup_key) == 1) {
			log_debug("%s: message %s from %s seen before: not sent again",
			          net->drv->name, m->dedup_key, m->user);
			continue;
		}
		/*
		 * Not even offered to the driver beyond the cap: a driver that took
		 * it (PENDING: IRC holds it while it connects) would send it anyway.
		 */
		if (send && !may_wait(net, &waiting, m))
			continue;
		/* Older messages of its conversation wait to be retried: it waits behind them. */
		if (send && (behind = backoff_until(d->backoff, m->user, m->peer)) != 0) {
			time_t now = time(NULL);

			m->next_try = behind > now ? behind : now;
			if (d->next_due == 0 || d->next_due > m->next_try)
				d->next_due = m->next_try;
		} else if (send)
			st = hand_to_driver(net, m, &why);
		if (st == GW_SEND_DONE || st == GW_SEND_FAILED || st == GW_SEND_FORBIDDEN) {
			if (m->dedup_key)
				store_queue_tombstone(core.store, STORE_TO_NET, m->net, m->user,
				                      m->dedup_key);
			if (st == GW_SEND_DONE)
				net->msgs_to_net++;
			else
				tell_user_failed(net, m, st, why);
		} else if (store_queue_push_reserved(core.store, m) == -1) {
			log_warnx("%s: could not store a message from %s", net->drv->name, m->user);
			if (st == GW_SEND_RETRY)
				tell_user_failed(net, m, GW_SEND_FAILED,
				                 "the gateway could not store the message");
			else if (st == GW_SEND_PENDING)
				keep_in_memory(net, m);
		} else {
			if (waiting)
				one_more_waiting(waiting, m->user);
			/* Not taken yet: if the commit fails, the sender must hear of it. */
			if (send && (st == GW_SEND_RETRY || st == GW_SEND_PENDING) && txn_open)
				aftercommit_unstored(net, m);
			if (send && behind == 0)
				apply_send_result(net, m, st, why);
			else if (!send)
				/*
				 * Written by a flush (a registration's, mid-loop), never
				 * offered: the next tick's scan hands it over. Without
				 * this it waited for some later scan, or a restart.
				 */
				d->scan_wanted = true;
		}
		free(why);
	}
	strmap_free(waiting, NULL);
	free_pending_list(p);
}

void
gw_send_done(struct gw_net *net, uint64_t qid, enum gw_send_status st, const char *why)
{
	struct store_msg m, *kept;
	char key[32];

	snprintf(key, sizeof(key), "%" PRIu64, qid);
	kept = strmap_del(net->delivery->pending, key);
	if (kept == STORED)
		kept = NULL;
	if (st == GW_SEND_PENDING) {
		if (kept)
			strmap_put(net->delivery->pending, key, kept);
		return;
	}
	if (kept) {
		bool stored = false;

		if (st == GW_SEND_RETRY) {
			/* Not in the store: to wait for a retry it must be now. */
			bool in_txn = txn();

			stored = store_queue_push_reserved(core.store, kept) == 0;
			if (stored && in_txn)
				aftercommit_unstored(net, kept);
		}
		if (st == GW_SEND_RETRY && !stored)
			apply_send_result(net, kept, GW_SEND_FAILED,
			                  "the gateway could not store it (its database is "
			                  "unreachable); send it again later");
		else
			apply_send_result(net, kept, st, why);
		free_kept(kept);
		return;
	}
	if (store_queue_get(core.store, (int64_t)qid, &m) != 1)
		return;
	apply_send_result(net, &m, st, why);
	store_msg_free_fields(&m);
}

void
delivery_release(struct gw_net *net, const int64_t *qids, size_t n, const char *why)
{
	for (size_t i = 0; i < n; i++) {
		struct store_msg m, *kept;
		char key[32];

		snprintf(key, sizeof(key), "%" PRId64, qids[i]);
		kept = strmap_del(net->delivery->pending, key);
		if (kept != STORED && kept != NULL)
			m = *kept; /* held while the store was down: the copy is all there is */
		else if (store_queue_get(core.store, qids[i], &m) != 1)
			continue;
		if (why != NULL)
			apply_send_result(net, &m, GW_SEND_FAILED, why);
		else
			send_to_net(net, &m);
		store_msg_free_fields(&m);
		if (kept != STORED)
			free(kept);
	}
}

static void
pending_push(struct pending ***tail, const struct store_msg *m)
{
	struct pending *p = xcalloc(1, sizeof(*p));

	store_msg_copy(&p->m, m);
	**tail = p;
	*tail = &p->next;
}

static void
chat_state_from_xmpp(struct gw_net *net, xmpp_stanza_t *msg, const char *user, const char *to,
                     bool groupchat)
{
	static const char *const names[] = {
	        [GW_CS_ACTIVE] = "active", [GW_CS_COMPOSING] = "composing",
	        [GW_CS_PAUSED] = "paused", [GW_CS_INACTIVE] = "inactive",
	        [GW_CS_GONE] = "gone",
	};

	if (groupchat ? net->drv->room_chat_state == NULL : net->drv->chat_state == NULL)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (stanza_child(msg, names[i], "http://jabber.org/protocol/chatstates")) {
			if (groupchat)
				net->drv->room_chat_state(net, user, to, (enum gw_chatstate)i);
			else
				net->drv->chat_state(net, user, to, (enum gw_chatstate)i);
			return;
		}
}

/*
 * XEP-0444 reactions to a room message (no body): the driver's room_react
 * gets the emoji the user now shows. True when the stanza held reactions.
 */
static bool
reactions_from_xmpp(struct gw_net *net, xmpp_stanza_t *msg, const char *user, const char *room)
{
	xmpp_stanza_t *rs = stanza_child(msg, "reactions", "urn:xmpp:reactions:0");
	const char *id = rs ? xmpp_stanza_get_attribute(rs, "id") : NULL;
	char *emoji[GW_REACTIONS_MAX];
	size_t n = 0;

	if (rs == NULL)
		return false;
	if (id == NULL || net->drv->room_react == NULL)
		return true;
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(rs); c && n < GW_REACTIONS_MAX;
	     c = xmpp_stanza_get_next(c)) {
		char *t;

		if (!xmpp_stanza_is_tag(c) || strcmp(xmpp_stanza_get_name(c), "reaction") != 0 ||
		    (t = xmpp_stanza_get_text(c)) == NULL)
			continue;
		emoji[n++] = xmltext_clean(t, strlen(t), 64);
		xmpp_free(component_ctx(), t);
	}
	net->drv->room_react(net, user, room, id, (const char *const *)emoji, n);
	while (n > 0)
		free(emoji[--n]);
	return true;
}

void
delivery_from_xmpp(struct gw_net *net, xmpp_stanza_t *msg, const char *user, const char *resource,
                   const char *to, const char *to_resource, bool groupchat)
{
	char *body = xmpp_message_get_body(msg);
	struct store_msg m;
	char *subject = NULL, *thread = NULL, *reply = NULL;

	if (body == NULL) {
		if (!(groupchat && reactions_from_xmpp(net, msg, user, to)))
			chat_state_from_xmpp(net, msg, user, to, groupchat);
		return;
	}
	if (strlen(body) > BODY_MAX) {
		gateway_send_release(
		        net, stanza_error_reply(msg, GW_ERR_NOT_ACCEPTABLE,
		                                "The message is too long (64 KiB at most)."));
		goto out;
	}
	memset(&m, 0, sizeof(m));
	m.dir = STORE_TO_NET;
	m.net = (char *)net->drv->name;
	m.user = (char *)user;
	m.resource = (char *)resource;
	m.peer = (char *)to;
	m.body = body;
	m.xmpp_id = (char *)xmpp_stanza_get_id(msg);
	m.flags = (groupchat ? MSG_GROUPCHAT : 0) |
	          (stanza_child(msg, "request", "urn:xmpp:receipts") ? MSG_RECEIPT : 0) |
	          (stanza_child(msg, "replace", "urn:xmpp:message-correct:0") ? MSG_CORRECTION : 0);
	subject = child_line(msg, "subject", 1024);
	thread = child_line(msg, "thread", 1024);
	reply = reply_id(msg);
	m.extra =
	        extra_encode(GW_MSG_CHAT, 0, subject, to_resource, NULL, thread, NULL, NULL, reply);
	m.created = m.next_try = time(NULL);
	/* A client that resends (stream resumption) sends the same id again. */
	m.dedup_key =
	        m.xmpp_id ? xconcat(resource ? resource : "", "/", m.xmpp_id, (char *)NULL) : NULL;
	if ((m.id = new_id()) == 0)
		gateway_send_release(
		        net, stanza_error_reply(msg, GW_ERR_INTERNAL,
		                                "The gateway could not store the message."));
	else {
		pending_push(&net->delivery->fresh_tail, &m);
		want_dispatch();
	}
	free(m.extra);
	free(m.dedup_key);
	free(subject);
	free(thread);
	free(reply);
out:
	xmpp_free(component_ctx(), body);
}

/* ---- network -> XMPP ---- */

int
gw_deliver(struct gw_net *net, const struct gw_inmsg *in)
{
	struct store_msg m;
	char *body, *subject = NULL, *thread = NULL, *oob_url = NULL, *oob_desc = NULL;
	int r;

	if (in->user == NULL || in->from == NULL || in->body == NULL)
		return -1;
	if (in->oob_url)
		oob_url = xmltext_clean(in->oob_url, strlen(in->oob_url), 4096);
	if (in->oob_desc)
		oob_desc = xmltext_clean(in->oob_desc, strlen(in->oob_desc), 1024);
	body = xmltext_clean(in->body, strlen(in->body), BODY_MAX);
	if (in->subject)
		subject = xmltext_clean(in->subject, strlen(in->subject), 1024);
	if (in->thread)
		thread = xmltext_clean(in->thread, strlen(in->thread), 1024);
	memset(&m, 0, sizeof(m));
	m.dir = STORE_TO_XMPP;
	m.net = (char *)net->drv->name;
	m.user = (char *)in->user;
	m.peer = (char *)in->from;
	m.body = body;
	m.flags = in->want_receipt ? MSG_RECEIPT : 0;
	m.dedup_key = (char *)in->id;
	m.extra = extra_encode(in->kind, in->stamp, subject, in->from_resource, in->id, thread,
	                       oob_url, oob_desc, NULL);
	m.created = m.next_try = time(NULL);
	txn();
	r = store_queue_push(core.store, &m);
	if (r == 0) {
		struct pending **last = net->delivery->to_xmpp_tail;

		pending_push(&net->delivery->to_xmpp_tail, &m);
		(*last)->keeps_copy = in->keeps_copy && txn_open;
	}
	free(m.extra);
	free(body);
	free(subject);
	free(thread);
	free(oob_url);
	free(oob_desc);
	return r == -1 ? -1 : 0;
}

static void
barrier_cb(void *arg, bool done)
{
	struct batch *b = arg;
	struct delivery *d = b->d;
	char key[32];

	for (size_t i = 0; i < b->n; i++) {
		if (b->ids[i] == 0)
			continue; /* bounced meanwhile: held, not deleted */
		snprintf(key, sizeof(key), "%" PRId64, b->ids[i]);
		strmap_del(d->inflight, key);
		if (done) {
			queue_delete(b->ids[i]);
			d->net->msgs_to_xmpp++;
		}
	}
	if (!done)
		d->scan_wanted = true;
	free(b->ids);
	free(b);
}

/* Sends msg (released) and counts queue row id into the open batch, deleted at its barrier. */
static void
sent_in_batch(struct gw_net *net, xmpp_stanza_t *msg, int64_t id, const char *key)
{
	struct delivery *d = net->delivery;

	if (gateway_send(net, msg) == 0) {
		if (d->open == NULL) {
			d->open = xcalloc(1, sizeof(*d->open));
			d->open->d = d;
		}
		d->open->ids = xreallocarray(d->open->ids, d->open->n + 1, sizeof(int64_t));
		d->open->ids[d->open->n++] = id;
		strmap_put(d->inflight, key, d->open);
	}
	xmpp_stanza_release(msg);
}

/* A receipt that waited for the link: the same stanza gw_receipt() sends at once. */
static void
send_ack_to_xmpp(struct gw_net *net, const struct store_msg *m, const char *key)
{
	char *from = gateway_address_jid(net, m->peer, NULL);
	char *id = xasprintf("sgq-%" PRId64, m->id);
	xmpp_stanza_t *msg = stanza_message("chat", from, m->user, id, NULL);

	xmpp_stanza_set_attribute(stanza_add_child(msg, "received", "urn:xmpp:receipts"), "id",
	                          m->xmpp_id ? m->xmpp_id : "");
	sent_in_batch(net, msg, m->id, key);
	free(id);
	free(from);
}

static void
send_to_xmpp(struct gw_net *net, const struct store_msg *m)
{
	struct delivery *d = net->delivery;
	static const char *const types[] = {"chat", "normal", "headline"};
	const char *f[X_COUNT];
	char *buf, *from, *id, key[32];
	xmpp_stanza_t *msg;
	int kind;
	time_t stamp;

	snprintf(key, sizeof(key), "%" PRId64, m->id);
	if (strmap_get(d->inflight, key) || aftercommit_deleted(m->id))
		return;
	if (m->flags & MSG_ACK) {
		send_ack_to_xmpp(net, m, key);
		return;
	}
	extra_decode(m->extra, &buf, f);
	kind = atoi(f[X_KIND]);
	if (kind < 0 || kind > 2)
		kind = 0;
	stamp = (time_t)strtoll(f[X_STAMP], NULL, 10);
	from = gateway_address_jid(net, m->peer, *f[X_RESOURCE] ? f[X_RESOURCE] : NULL);
	id = xasprintf("sgq-%" PRId64, m->id);
	msg = stanza_message(types[kind], from, m->user, id, m->body);
	if (*f[X_SUBJECT])
		stanza_add_text_child(msg, "subject", NULL, f[X_SUBJECT]);
	if (*f[X_THREAD])
		stanza_add_text_child(msg, "thread", NULL, f[X_THREAD]);
	if (*f[X_OOB_URL]) {
		xmpp_stanza_t *x = stanza_add_child(msg, "x", "jabber:x:oob");

		stanza_add_text_child(x, "url", NULL, f[X_OOB_URL]);
		if (*f[X_OOB_DESC])
			stanza_add_text_child(x, "desc", NULL, f[X_OOB_DESC]);
	}
	if (m->flags & MSG_RECEIPT)
		stanza_add_child(msg, "request", "urn:xmpp:receipts");
	xmpp_stanza_set_attribute(stanza_add_child(msg, "origin-id", "urn:xmpp:sid:0"), "id",
	                          *f[X_ID] ? f[X_ID] : id);
	if (stamp == 0 && time(NULL) - m->created > DELAY_AFTER)
		stamp = m->created;
	if (stamp != 0)
		stanza_add_delay(msg, net->jid, stamp);
	sent_in_batch(net, msg, m->id, key);
	free(id);
	free(from);
	free(buf);
}

/* Ends the current batch with a barrier. */
static void
close_batch(struct gw_net *net)
{
	struct delivery *d = net->delivery;
	struct batch *b = d->open;

	if (b == NULL)
		return;
	d->open = NULL;
	if (component_barrier(net->comp, barrier_cb, b) == -1)
		barrier_cb(b, false);
}

void
delivery_bounced(struct gw_net *net, xmpp_stanza_t *err)
{
	struct delivery *d = net->delivery;
	const char *id = xmpp_stanza_get_id(err);
	struct batch *b;
	int64_t qid;
	char key[32];

	if (id == NULL || strncmp(id, "sgq-", 4) != 0)
		return;
	qid = strtoll(id + 4, NULL, 10);
	snprintf(key, sizeof(key), "%" PRId64, qid);
	b = strmap_del(d->inflight, key);
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		if (b->ids[i] == qid)
			b->ids[i] = 0;
	log_info("%s: the server bounced message %" PRId64
	         " for a user; held until they are online",
	         net->drv->name, qid);
	txn();
	store_queue_hold(core.store, qid, true);
}

void
delivery_user_available(struct gw_net *net, const char *user)
{
	txn();
	if (store_queue_release_user(core.store, STORE_TO_XMPP, net->drv->name, user) == 0)
		net->delivery->scan_wanted = true;
}

/* ---- dispatch and scans ---- */

static int
scan_cb(const struct store_msg *m, void *arg)
{
	struct gw_net *net = arg;

	if (m->dir == STORE_TO_NET)
		send_to_net(net, m);
	else
		send_to_xmpp(net, m);
	return 0;
}

static void
free_pending_list(struct pending *p)
{
	while (p) {
		struct pending *next = p->next;

		store_msg_free_fields(&p->m);
		free(p);
		p = next;
	}
}

static void
dispatch_net(struct gw_net *net, bool scan)
{
	struct delivery *d = net->delivery;
	struct pending *p;
	bool online = component_is_online(net->comp);

	/* Hand over what this iteration committed. */
	p = d->to_net;
	d->to_net = NULL;
	d->to_net_tail = &d->to_net;
	for (struct pending *q = p; q; q = q->next)
		send_to_net(net, &q->m);
	free_pending_list(p);

	p = d->to_xmpp;
	d->to_xmpp = NULL;
	d->to_xmpp_tail = &d->to_xmpp;
	if (online)
		for (struct pending *q = p; q; q = q->next)
			send_to_xmpp(net, &q->m);
	else if (p)
		d->scan_wanted = true;
	free_pending_list(p);

	if (scan) {
		time_t now = time(NULL);

		d->scan_wanted = false;
		/* Every due message handed over: the conversations whose moment came are done. */
		if (store_queue_due(core.store, STORE_TO_NET, net->drv->name, now, SCAN_BATCH,
		                    scan_cb, net) < SCAN_BATCH)
			backoff_prune(d->backoff, now);
		if (online)
			store_queue_due(core.store, STORE_TO_XMPP, net->drv->name, now, SCAN_BATCH,
			                scan_cb, net);
		d->next_due = 0;
		{
			time_t a = store_queue_next_due(core.store, STORE_TO_NET, net->drv->name);
			time_t b = store_queue_next_due(core.store, STORE_TO_XMPP, net->drv->name);

			d->next_due = a && b ? (a < b ? a : b) : (a ? a : b);
		}
	}
	if (online)
		close_batch(net);
}

static void
dispatch_all(void)
{
	for (size_t i = 0; i < core.nnets; i++)
		dispatch_net(core.nets[i], false);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_net *net = arg;
	struct delivery *d = net->delivery;

	(void)fd;
	(void)what;
	if (d->scan_wanted || (d->next_due && d->next_due <= time(NULL)))
		dispatch_net(net, true);
}

void
delivery_init(struct gw_net *net)
{
	struct delivery *d = xcalloc(1, sizeof(*d));
	struct timeval tv = {1, 0};

	d->net = net;
	d->fresh_tail = &d->fresh;
	d->to_net_tail = &d->to_net;
	d->to_xmpp_tail = &d->to_xmpp;
	d->inflight = strmap_new();
	d->pending = strmap_new();
	d->backoff = backoff_new();
	/* What a previous run left in the store goes out first. */
	d->scan_wanted = true;
	d->ev_tick = event_new(core.base, -1, EV_PERSIST, tick_cb, net);
	event_add(d->ev_tick, &tv);
	net->delivery = d;
}

void
delivery_free(struct gw_net *net)
{
	struct delivery *d = net->delivery;

	if (d == NULL)
		return;
	event_free(d->ev_tick);
	free_pending_list(d->fresh);
	free_pending_list(d->to_net);
	free_pending_list(d->to_xmpp);
	if (d->open) {
		free(d->open->ids);
		free(d->open);
	}
	/* Batches still waiting for a barrier are freed by component_free(). */
	strmap_free(d->inflight, NULL);
	strmap_free(d->pending, free_kept);
	backoff_free(d->backoff);
	free(d);
	net->delivery = NULL;
	notices_free(net);
	if (ev_commit && net == core.nets[core.nnets - 1]) {
		event_free(ev_commit);
		ev_commit = NULL;
		aftercommit_free();
	}
}

void
delivery_online(struct gw_net *net)
{
	net->delivery->scan_wanted = true;
	dispatch_net(net, true);
	/* After the messages they follow. */
	notices_online(net);
}

void
delivery_offline(struct gw_net *net)
{
	/* Barriers already failed; what they covered is sent again. */
	net->delivery->scan_wanted = true;
}

long
delivery_queued(struct gw_net *net, int dir)
{
	return store_queue_count(core.store, (enum store_dir)dir, net->drv->name);
}

/*
 * The commit failed: the driver still has these messages and hands them
 * over again, so the copies in memory are not sent.
 */
static void
forget_kept_copies(void)
{
	for (size_t i = 0; i < core.nnets; i++) {
		struct delivery *d = core.nets[i]->delivery;
		struct pending *p, *keep = NULL, **tail = &keep;

		if (d == NULL)
			continue;
		p = d->to_xmpp;
		while (p) {
			struct pending *next = p->next;

			p->next = NULL;
			if (p->keeps_copy) {
				store_msg_free_fields(&p->m);
				free(p);
			} else {
				*tail = p;
				tail = &p->next;
			}
			p = next;
		}
		d->to_xmpp = keep;
		d->to_xmpp_tail = tail;
	}
}

void
delivery_fail_unstored(struct gw_net *net, const struct store_msg *m)
{
	char key[32];

	snprintf(key, sizeof(key), "%" PRId64, m->id);
	if (strmap_get(net->delivery->pending, key) == STORED) {
		keep_in_memory(net, m); /* the driver holds it: its outcome is told from memory */
		return;
	}
	tell_user_failed(net, m, GW_SEND_FAILED,
	                 "the gateway could not store it (its database is unreachable); send it "
	                 "again later");
}

/* ---- receipts ---- */

int
delivery_queue_receipt(struct gw_net *net, const char *user, const char *from, const char *xmpp_id)
{
	struct store_msg m;
	int r;

	memset(&m, 0, sizeof(m));
	m.dir = STORE_TO_XMPP;
	m.net = (char *)net->drv->name;
	m.user = (char *)user;
	m.peer = (char *)from;
	m.body = "";
	m.xmpp_id = (char *)xmpp_id;
	m.flags = MSG_ACK;
	m.created = m.next_try = time(NULL);
	txn();
	r = store_queue_push(core.store, &m);
	if (r == 0)
		pending_push(&net->delivery->to_xmpp_tail, &m);
	return r == -1 ? -1 : 0;
}

void
gw_message_failed(struct gw_net *net, const char *user, const char *resource, const char *from,
                  const char *xmpp_id, enum gw_error e, const char *why)
{
	notify_failure(net, user, resource, from, xmpp_id, NULL, e, why);
}
