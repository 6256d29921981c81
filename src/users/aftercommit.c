/*
 * What waits for the outcome of the loop turn's group commit (delivery.c).
 *
 * Nothing may be acknowledged outside the gateway before the transaction
 * that stored it is committed, and with PostgreSQL a COMMIT can fail on
 * its own (the connection dies between the last write and the COMMIT). So
 * three things are settled only when the commit's outcome is known:
 *
 *   - drivers' acknowledgements (gw_when_committed(): an SMS deleted from
 *     the modem), run with the outcome;
 *   - queue rows deleted in the turn (the other side took them): until
 *     the delete is committed the row is still in the store, and a scan
 *     would send it again. A delete that failed is kept here and tried
 *     again once the store is back; meanwhile the scans skip the row;
 *   - messages from XMPP written to the queue but not yet taken by their
 *     driver: when the commit fails they are not stored, and their sender
 *     is told (an error), never left in silence.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "store.h"
#include "strmap.h"
#include "users.h"

struct waiter {
	struct waiter *next;
	struct gw_net *net;
	void (*cb)(void *, bool);
	void *arg;
};

struct unstored {
	struct unstored *next;
	struct gw_net *net;
	struct store_msg m;
};

static struct waiter *waiters, **waiters_tail = &waiters;
static struct unstored *unstored;
static struct strmap *deleting;  /* "id" -> (void *)1: deleted this turn, not committed yet */
static struct strmap *undeleted; /* "id" -> (void *)1: the delete failed, to be done again */

static void
key_of(char key[32], int64_t id)
{
	snprintf(key, 32, "%" PRId64, id);
}

void
gw_when_committed(struct gw_net *net, void (*cb)(void *, bool), void *arg)
{
	struct waiter *w = xcalloc(1, sizeof(*w));

	w->net = net;
	w->cb = cb;
	w->arg = arg;
	*waiters_tail = w;
	waiters_tail = &w->next;
	/* Makes sure a commit (or its absence) is settled this turn. */
	delivery_txn();
}

void
aftercommit_delete(int64_t id, bool in_txn)
{
	char key[32];

	if (deleting == NULL) {
		deleting = strmap_new();
		undeleted = strmap_new();
	}
	key_of(key, id);
	strmap_del(undeleted, key);
	if (store_queue_delete(core.store, id) == -1)
		strmap_put(undeleted, key, (void *)1);
	else if (in_txn)
		strmap_put(deleting, key, (void *)1);
}

bool
aftercommit_deleted(int64_t id)
{
	char key[32];

	if (deleting == NULL)
		return false;
	key_of(key, id);
	return strmap_get(deleting, key) != NULL || strmap_get(undeleted, key) != NULL;
}

void
aftercommit_unstored(struct gw_net *net, const struct store_msg *m)
{
	struct unstored *u = xcalloc(1, sizeof(*u));

	u->net = net;
	store_msg_copy(&u->m, m);
	u->next = unstored;
	unstored = u;
}

static void
move_to_undeleted(const char *key, void *val, void *arg)
{
	(void)arg;
	strmap_put(undeleted, key, val);
}

void
aftercommit_done(bool committed)
{
	struct waiter *w = waiters;
	struct unstored *u = unstored;

	waiters = NULL;
	waiters_tail = &waiters;
	unstored = NULL;
	if (deleting && strmap_count(deleting) > 0) {
		if (!committed) {
			log_warnx("store: %zu delivered messages stay in the queue until the store "
			          "is "
			          "back (not sent again meanwhile)",
			          strmap_count(deleting));
			strmap_foreach(deleting, move_to_undeleted, NULL);
		}
		strmap_free(deleting, NULL);
		deleting = strmap_new();
	}
	/* Fresh lists first: a callback may start the next turn's work. */
	while (u) {
		struct unstored *next = u->next;

		if (!committed)
			delivery_fail_unstored(u->net, &u->m);
		store_msg_free_fields(&u->m);
		free(u);
		u = next;
	}
	while (w) {
		struct waiter *next = w->next;

		w->cb(w->arg, committed);
		free(w);
		w = next;
	}
}

struct redo {
	int64_t *ids;
	size_t n;
};

static void
collect(const char *key, void *val, void *arg)
{
	struct redo *r = arg;

	(void)val;
	r->ids[r->n++] = strtoll(key, NULL, 10);
}

void
aftercommit_retry_deletes(void)
{
	struct redo r = {0};
	size_t n;
	bool in_txn;

	if (undeleted == NULL || (n = strmap_count(undeleted)) == 0 ||
	    store_unreachable(core.store))
		return;
	r.ids = xcalloc(n, sizeof(*r.ids));
	strmap_foreach(undeleted, collect, &r);
	log_info("store: deleting %zu delivered messages now that the store is back", r.n);
	in_txn = delivery_txn();
	for (size_t i = 0; i < r.n; i++)
		aftercommit_delete(r.ids[i], in_txn);
	free(r.ids);
}

void
aftercommit_free(void)
{
	/* The last commit (delivery_flush_all) settled the lists already. */
	aftercommit_done(false);
	if (deleting) {
		strmap_free(deleting, NULL);
		strmap_free(undeleted, NULL);
		deleting = undeleted = NULL;
	}
}
