/*
 * The store's front: picks the backend from the URL scheme, checks
 * arguments, keeps the clock and transaction nesting, and encrypts secrets,
 * so that every backend only moves rows (see store_backend.h).
 */
#include "config.h"

#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "secretbox.h"
#include "store.h"
#include "store_backend.h"
#include "xmalloc.h"

/* Tombstones are pruned at most this often by store_queue_delete(). */
#define PRUNE_INTERVAL 3600

struct store {
	const struct store_ops *ops;
	void *be;
	struct secretbox *box; /* NULL when opened without a key file */
	int depth;             /* open store_begin() levels */
	time_t last_prune;
	unsigned long commits; /* outermost ones, for the metrics */
	double commit_seconds;
};

static const struct store_ops *const backends[] = {
        &store_sqlite_ops,
#ifdef WITH_POSTGRESQL
        &store_pg_ops,
#endif
        NULL,
};

/*
 * NEED(a, b, ...) makes the calling API function log and return -1 when one
 * of its pointer arguments is NULL; names is the argument list as written,
 * so the log names the first NULL one.
 */
static int
need_all(const char *func, const char *names, const void *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i] != NULL) {
			names += strcspn(names, ",");
			names += strspn(names, ", ");
			continue;
		}
		log_warnx("store: %s called with %.*s NULL", func, (int)strcspn(names, ","), names);
		return -1;
	}
	return 0;
}

#define NEED(...)                                                                                  \
	do {                                                                                       \
		const void *const need_[] = {__VA_ARGS__};                                         \
		if (need_all(__func__, #__VA_ARGS__, need_, sizeof(need_) / sizeof(need_[0])) ==   \
		    -1)                                                                            \
			return -1;                                                                 \
	} while (0)

/* ---- Opening ---- */

/* The scheme of url (before ':'), or NULL when url has none. Caller frees. */
static char *
url_scheme(const char *url)
{
	size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyz0123456789+-.");

	if (n == 0 || url[n] != ':')
		return NULL;
	return xstrndup(url, n);
}

struct store *
store_open_version(const char *url, const char *key_file, int version, char **err)
{
	const struct store_ops *ops = NULL;
	struct secretbox *box = NULL;
	struct store *s;
	char *scheme;
	void *be;
	size_t i;
	long n;

	*err = NULL;
	if (url == NULL || *url == '\0') {
		*err = xstrdup("no storage url given (expected sqlite:/path/to.db)");
		return NULL;
	}
	/* The URL is never echoed whole: a PostgreSQL one may hold a password. */
	if ((scheme = url_scheme(url)) == NULL) {
		*err = xstrdup("storage url has no scheme (expected sqlite:/path/to.db)");
		return NULL;
	}
	/* libpq takes both spellings of its URI scheme. */
	if (strcmp(scheme, "postgres") == 0) {
		free(scheme);
		scheme = xstrdup("postgresql");
	}
	for (i = 0; backends[i] != NULL; i++)
		if (strcmp(backends[i]->scheme, scheme) == 0)
			ops = backends[i];
	if (ops == NULL) {
		if (strcmp(scheme, "postgresql") == 0)
			*err = xstrdup("storage url: this stanzagate was built without the "
			               "PostgreSQL store (configure found no libpq); "
			               "use sqlite:/path/to.db");
		else
			*err = xasprintf("storage url: unknown scheme \"%.32s:\" "
			                 "(expected sqlite:/path/to.db)",
			                 scheme);
		free(scheme);
		return NULL;
	}
	free(scheme);

	if (key_file != NULL && (box = secretbox_load(key_file, err)) == NULL)
		return NULL;
	if ((be = ops->open(url, version, err)) == NULL) {
		secretbox_free(box);
		return NULL;
	}
	/* A lost key file must not pass unnoticed: its secrets are gone. */
	if (box != NULL && secretbox_created(box) && (n = ops->secret_count(be)) > 0)
		log_warnx("key file %s was created just now, but the database holds %ld "
		          "secrets sealed with an earlier key: they cannot be read until that "
		          "key file is restored, or users enter them again",
		          key_file, n);
	s = xcalloc(1, sizeof(*s));
	s->ops = ops;
	s->be = be;
	s->box = box;
	if (version < 0) {
		s->last_prune = time(NULL);
		if (ops->queue_prune(be, s->last_prune - STORE_TOMBSTONE_SECONDS) == -1)
			log_warnx("store: could not prune old tombstones");
	}
	return s;
}

struct store *
store_open(const char *url, const char *key_file, char **err)
{
	return store_open_version(url, key_file, -1, err);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->depth > 0) {
		log_warnx("store: closed inside a transaction (%d levels); rolling back", s->depth);
		s->ops->rollback(s->be, 1);
	}
	s->ops->close(s->be);
	secretbox_free(s->box);
	free(s);
}

int
store_schema_version(struct store *s)
{
	return s->ops->schema_version(s->be);
}

int
store_schema_latest(struct store *s)
{
	return s->ops->schema_latest();
}

/* ---- Transactions ---- */

int
store_begin(struct store *s)
{
	if (s->ops->begin(s->be, s->depth + 1) == -1)
		return -1;
	s->depth++;
	return 0;
}

bool
store_unreachable(struct store *s)
{
	return s->ops->unreachable != NULL && s->ops->unreachable(s->be);
}

int
store_reconnect(struct store *s)
{
	if (!store_unreachable(s))
		return 0;
	/* Inside a transaction the loss is the caller's to roll back first. */
	if (s->depth > 0 || s->ops->reconnect == NULL)
		return -1;
	return s->ops->reconnect(s->be);
}

int
store_commit(struct store *s)
{
	int r;

	if (s->depth == 0) {
		log_warnx("store: commit without a transaction");
		return -1;
	}
	if (s->depth == 1) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = s->ops->commit(s->be, s->depth);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		s->commits++;
		s->commit_seconds +=
		        (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	} else
		r = s->ops->commit(s->be, s->depth);
	s->depth--;
	return r;
}

void
store_commit_stats(const struct store *s, unsigned long *count, double *seconds)
{
	*count = s->commits;
	*seconds = s->commit_seconds;
}

void
store_rollback(struct store *s)
{
	if (s->depth == 0) {
		log_warnx("store: rollback without a transaction");
		return;
	}
	s->ops->rollback(s->be, s->depth);
	s->depth--;
}

/* Finish an internal transaction: commit if r is not -1, else roll back. */
static int
tx_end(struct store *s, int r)
{
	if (r == -1) {
		store_rollback(s);
		return -1;
	}
	return store_commit(s) == -1 ? -1 : r;
}

/* ---- Users ---- */

void
store_user_free_fields(struct store_user *u)
{
	free(u->net);
	free(u->jid);
	u->net = u->jid = NULL;
}

int
store_user_add(struct store *s, const char *net, const char *jid)
{
	NEED(net, jid);
	return s->ops->user_add(s->be, net, jid, time(NULL));
}

int
store_user_remove(struct store *s, const char *net, const char *jid)
{
	NEED(net, jid);
	if (store_begin(s) == -1)
		return -1;
	return tx_end(s, s->ops->user_remove(s->be, net, jid));
}

int
store_user_get(struct store *s, const char *net, const char *jid, struct store_user *out)
{
	NEED(net, jid);
	return s->ops->user_get(s->be, net, jid, out);
}

int
store_user_set_disabled(struct store *s, const char *net, const char *jid, bool disabled)
{
	int r;

	NEED(net, jid);
	if ((r = s->ops->user_set_disabled(s->be, net, jid, disabled)) == 0)
		log_debug("store: disabling an unregistered user");
	return r == 1 ? 0 : -1;
}

int
store_user_foreach(struct store *s, const char *net, int (*cb)(const struct store_user *, void *),
                   void *arg)
{
	NEED(cb);
	return s->ops->user_foreach(s->be, net, cb, arg);
}

long
store_user_count(struct store *s, const char *net)
{
	return s->ops->user_count(s->be, net);
}

/* ---- Settings and secrets ---- */

/*
 * Associated data of a secret: a label, then each field as a 4-byte
 * big-endian length and its bytes, so no two rows share it. Caller frees.
 */
static unsigned char *
secret_ad(const char *net, const char *jid, const char *scope, const char *key, size_t *len)
{
	static const char label[] = "stanzagate secret v1";
	const char *f[4] = {net, jid, scope, key};
	unsigned char *ad, *p;
	size_t n = sizeof(label), l;
	int i;

	for (i = 0; i < 4; i++)
		n += 4 + strlen(f[i]);
	p = ad = xmalloc(n);
	memcpy(p, label, sizeof(label));
	p += sizeof(label);
	for (i = 0; i < 4; i++) {
		l = strlen(f[i]);
		*p++ = (unsigned char)(l >> 24);
		*p++ = (unsigned char)(l >> 16);
		*p++ = (unsigned char)(l >> 8);
		*p++ = (unsigned char)l;
		memcpy(p, f[i], l);
		p += l;
	}
	*len = n;
	return ad;
}

static void
log_secret_failure(const char *net, const char *jid, const char *scope, const char *key)
{
	char e1[64], e2[256], e3[128], e4[128];

	log_warnx("store: secret %s/%s/%s/%s does not decrypt (altered, copied from another "
	          "row, or sealed with another key file)",
	          log_escape(e1, sizeof(e1), net), log_escape(e2, sizeof(e2), jid),
	          log_escape(e3, sizeof(e3), scope), log_escape(e4, sizeof(e4), key));
}

static int
need_box(struct store *s)
{
	if (s->box != NULL)
		return 0;
	log_warnx("store: secrets are unavailable: the store was opened without a key file");
	return -1;
}

int
store_setting_get(struct store *s, const char *net, const char *jid, const char *scope,
                  const char *key, char **value)
{
	char *v;
	size_t len;
	int r;

	NEED(net, jid, scope, key);
	if ((r = s->ops->setting_get(s->be, net, jid, scope, key, false, &v, &len)) != 1)
		return r;
	if (value != NULL)
		*value = v;
	else
		free(v);
	return 1;
}

int
store_setting_set(struct store *s, const char *net, const char *jid, const char *scope,
                  const char *key, const char *value)
{
	NEED(net, jid, scope, key);
	return s->ops->setting_set(s->be, net, jid, scope, key, false, value,
	                           value ? strlen(value) : 0);
}

/* Decrypt a sealed value of the row: 0 with *out (caller frees), or -1 (logged). */
static int
secret_unseal(struct store *s, const char *net, const char *jid, const char *scope, const char *key,
              const void *ct, size_t ctlen, char **out)
{
	unsigned char *ad, *pt;
	size_t adlen, ptlen;
	int r;

	ad = secret_ad(net, jid, scope, key, &adlen);
	r = secretbox_open(s->box, ad, adlen, ct, ctlen, &pt, &ptlen);
	free(ad);
	if (r == -1) {
		log_secret_failure(net, jid, scope, key);
		return -1;
	}
	*out = (char *)pt;
	return 0;
}

static void
secret_free(char *v)
{
	if (v == NULL)
		return;
	OPENSSL_cleanse(v, strlen(v));
	free(v);
}

int
store_secret_get(struct store *s, const char *net, const char *jid, const char *scope,
                 const char *key, char **value)
{
	char *ct, *pt;
	size_t len;
	int r;

	NEED(net, jid, scope, key);
	if (need_box(s) == -1)
		return -1;
	if ((r = s->ops->setting_get(s->be, net, jid, scope, key, true, &ct, &len)) != 1)
		return r;
	r = secret_unseal(s, net, jid, scope, key, ct, len, &pt);
	free(ct);
	if (r == -1)
		return -1;
	if (value != NULL)
		*value = pt;
	else
		secret_free(pt);
	return 1;
}

int
store_secret_set(struct store *s, const char *net, const char *jid, const char *scope,
                 const char *key, const char *value)
{
	unsigned char *ad, *ct;
	size_t adlen, ctlen;
	int r;

	NEED(net, jid, scope, key);
	if (value == NULL)
		return s->ops->setting_set(s->be, net, jid, scope, key, true, NULL, 0);
	if (need_box(s) == -1)
		return -1;
	ad = secret_ad(net, jid, scope, key, &adlen);
	r = secretbox_seal(s->box, ad, adlen, value, strlen(value), &ct, &ctlen);
	free(ad);
	if (r == -1)
		return -1;
	r = s->ops->setting_set(s->be, net, jid, scope, key, true, ct, ctlen);
	free(ct);
	return r;
}

struct setting_walk {
	struct store *s;
	const char *net, *jid, *scope;
	int (*cb)(const char *, const char *, bool, void *);
	void *arg;
	int failed;
};

static int
setting_walk_cb(const char *key, const void *val, size_t len, bool secret, void *arg)
{
	struct setting_walk *w = arg;
	char *pt;
	int r;

	if (!secret)
		return w->cb(key, val, false, w->arg);
	if (w->s->box == NULL) {
		w->failed = 1;
		return 0;
	}
	if (secret_unseal(w->s, w->net, w->jid, w->scope, key, val, len, &pt) == -1) {
		w->failed = 1;
		return 0;
	}
	r = w->cb(key, pt, true, w->arg);
	secret_free(pt);
	return r;
}

int
store_setting_foreach(struct store *s, const char *net, const char *jid, const char *scope,
                      int (*cb)(const char *key, const char *value, bool secret, void *), void *arg)
{
	struct setting_walk w = {s, net, jid, scope, cb, arg, 0};

	NEED(net, jid, scope, cb);
	if (s->ops->setting_foreach(s->be, net, jid, scope, setting_walk_cb, &w) == -1)
		return -1;
	if (w.failed && s->box == NULL)
		need_box(s);
	return w.failed ? -1 : 0;
}

int
store_setting_find(struct store *s, const char *net, const char *key,
                   int (*cb)(const char *, const char *, const char *, void *), void *arg)
{
	NEED(net, key, cb);
	if (s->ops->setting_find == NULL) {
		log_warnx("store: this backend cannot look settings up by key");
		return -1;
	}
	return s->ops->setting_find(s->be, net, key, cb, arg);
}

/* ---- Contacts ---- */

int
store_contact_set(struct store *s, const char *net, const char *jid, const char *address,
                  const char *name, enum store_sub sub)
{
	NEED(net, jid, address);
	if (sub < STORE_SUB_NONE || sub > STORE_SUB_BOTH) {
		log_warnx("store: contact with subscription %d", (int)sub);
		return -1;
	}
	return s->ops->contact_set(s->be, net, jid, address, name, sub);
}

int
store_contact_get(struct store *s, const char *net, const char *jid, const char *address,
                  enum store_sub *sub, char **name)
{
	NEED(net, jid, address);
	return s->ops->contact_get(s->be, net, jid, address, sub, name);
}

int
store_contact_remove(struct store *s, const char *net, const char *jid, const char *address)
{
	NEED(net, jid, address);
	return s->ops->contact_remove(s->be, net, jid, address);
}

int
store_contact_foreach(struct store *s, const char *net, const char *jid,
                      int (*cb)(const char *, const char *, enum store_sub, void *), void *arg)
{
	NEED(net, jid, cb);
	return s->ops->contact_foreach(s->be, net, jid, cb, arg);
}

int
store_contact_unregistered(struct store *s, const char *net,
                           int (*cb)(const char *, const char *, void *), void *arg)
{
	NEED(net, cb);
	return s->ops->contact_unregistered(s->be, net, cb, arg);
}

/* ---- Queues ---- */

void
store_msg_free_fields(struct store_msg *m)
{
	free(m->net);
	free(m->user);
	free(m->resource);
	free(m->peer);
	free(m->body);
	free(m->xmpp_id);
	free(m->dedup_key);
	free(m->extra);
	m->net = m->user = m->resource = m->peer = m->body = NULL;
	m->xmpp_id = m->dedup_key = m->extra = NULL;
}

void
store_msg_copy(struct store_msg *dst, const struct store_msg *src)
{
	*dst = *src;
	dst->net = xstrdup_or_null(src->net);
	dst->user = xstrdup_or_null(src->user);
	dst->resource = xstrdup_or_null(src->resource);
	dst->peer = xstrdup_or_null(src->peer);
	dst->body = xstrdup_or_null(src->body);
	dst->xmpp_id = xstrdup_or_null(src->xmpp_id);
	dst->dedup_key = xstrdup_or_null(src->dedup_key);
	dst->extra = xstrdup_or_null(src->extra);
}

static int
dir_ok(enum store_dir dir)
{
	if (dir == STORE_TO_NET || dir == STORE_TO_XMPP)
		return 1;
	log_warnx("store: queue direction %d", (int)dir);
	return 0;
}

static int queue_push(struct store *s, struct store_msg *m, int64_t id);

int
store_queue_push(struct store *s, struct store_msg *m)
{
	return queue_push(s, m, 0);
}

int
store_queue_push_reserved(struct store *s, struct store_msg *m)
{
	NEED(m);
	if (m->id <= 0) {
		log_warnx("store: %s called without a reserved id", __func__);
		return -1;
	}
	return queue_push(s, m, m->id);
}

static int
queue_push(struct store *s, struct store_msg *m, int64_t id)
{
	time_t now = time(NULL);

	NEED(m);
	NEED(m->net, m->user, m->peer, m->body);
	if (!dir_ok(m->dir))
		return -1;
	if (m->created == 0)
		m->created = now;
	if (m->next_try == 0)
		m->next_try = m->created;
	/* One statement in the backend: the tombstone check and the insert go together. */
	return s->ops->queue_push(s->be, m, id, now - STORE_TOMBSTONE_SECONDS);
}

int
store_queue_reserve(struct store *s, int n, int64_t *first)
{
	int64_t last;

	if (n <= 0 || first == NULL || s->ops->queue_reserve(s->be, n, &last) == -1)
		return -1;
	*first = last - n + 1;
	return 0;
}

/* The arguments naming a dedup key: 1 when all are there, else 0 (logged). */
static int
key_ok(const char *fn, enum store_dir dir, const char *net, const char *user, const char *key)
{
	if (net == NULL || user == NULL || key == NULL) {
		log_warnx("store: %s called without a net, user or key", fn);
		return 0;
	}
	return dir_ok(dir);
}

int
store_queue_seen(struct store *s, enum store_dir dir, const char *net, const char *user,
                 const char *dedup_key)
{
	if (!key_ok(__func__, dir, net, user, dedup_key))
		return -1;
	return s->ops->queue_seen(s->be, dir, net, user, dedup_key,
	                          time(NULL) - STORE_TOMBSTONE_SECONDS);
}

int
store_queue_tombstone(struct store *s, enum store_dir dir, const char *net, const char *user,
                      const char *dedup_key)
{
	if (!key_ok(__func__, dir, net, user, dedup_key))
		return -1;
	return s->ops->queue_tombstone(s->be, dir, net, user, dedup_key, time(NULL));
}

/* Hand a batch read by the backend to cb, then free it. */
static int
queue_walk(struct store_msg *v, size_t n, int (*cb)(const struct store_msg *, void *), void *arg)
{
	size_t i;
	int calls = 0, stop = 0;

	for (i = 0; i < n; i++) {
		if (!stop) {
			calls++;
			stop = cb(&v[i], arg) != 0;
		}
		store_msg_free_fields(&v[i]);
	}
	free(v);
	return calls;
}

int
store_queue_due(struct store *s, enum store_dir dir, const char *net, time_t now, int limit,
                int (*cb)(const struct store_msg *, void *), void *arg)
{
	struct store_msg *v;
	size_t n;

	NEED(net, cb);
	if (!dir_ok(dir))
		return -1;
	if (s->ops->queue_due(s->be, dir, net, now, limit, &v, &n) == -1)
		return -1;
	return queue_walk(v, n, cb, arg);
}

int
store_queue_held(struct store *s, enum store_dir dir, const char *net, const char *user,
                 int (*cb)(const struct store_msg *, void *), void *arg)
{
	struct store_msg *v;
	size_t n;

	NEED(net, user, cb);
	if (!dir_ok(dir))
		return -1;
	if (s->ops->queue_held(s->be, dir, net, user, &v, &n) == -1)
		return -1;
	return queue_walk(v, n, cb, arg);
}

int
store_queue_get(struct store *s, int64_t id, struct store_msg *out)
{
	NEED(out);
	return s->ops->queue_get(s->be, id, out);
}

int
store_queue_retry(struct store *s, int64_t id, int attempts, time_t next_try)
{
	int r = s->ops->queue_retry(s->be, id, attempts, next_try);

	if (r == 0)
		log_warnx("store: retry of message %lld, which is not queued", (long long)id);
	return r == 1 ? 0 : -1;
}

int
store_queue_hold(struct store *s, int64_t id, bool held)
{
	int r = s->ops->queue_hold(s->be, id, held);

	if (r == 0)
		log_warnx("store: hold of message %lld, which is not queued", (long long)id);
	return r == 1 ? 0 : -1;
}

int
store_queue_release_user(struct store *s, enum store_dir dir, const char *net, const char *user)
{
	NEED(net, user);
	if (!dir_ok(dir))
		return -1;
	return s->ops->queue_release_user(s->be, dir, net, user, time(NULL));
}

long
store_queue_prune(struct store *s, time_t now)
{
	s->last_prune = now;
	return s->ops->queue_prune(s->be, now - STORE_TOMBSTONE_SECONDS);
}

int
store_queue_delete(struct store *s, int64_t id)
{
	time_t now = time(NULL);

	if (s->ops->queue_delete(s->be, id, now) == -1)
		return -1;
	if (now - s->last_prune >= PRUNE_INTERVAL && store_queue_prune(s, now) == -1)
		log_warnx("store: could not prune old tombstones");
	return 0;
}

long
store_queue_count(struct store *s, enum store_dir dir, const char *net)
{
	if (!dir_ok(dir))
		return -1;
	return s->ops->queue_count(s->be, dir, net);
}

long
store_queue_count_user(struct store *s, enum store_dir dir, const char *net, const char *user)
{
	if (!dir_ok(dir) || net == NULL || user == NULL)
		return -1;
	return s->ops->queue_count_user(s->be, dir, net, user);
}

time_t
store_queue_oldest(struct store *s, enum store_dir dir, const char *net)
{
	time_t created;

	if (net == NULL || !dir_ok(dir)) {
		log_warnx("store: %s: bad arguments", __func__);
		return 0;
	}
	return s->ops->queue_oldest(s->be, dir, net, &created) == 1 ? created : 0;
}

time_t
store_queue_next_due(struct store *s, enum store_dir dir, const char *net)
{
	time_t when;

	if (net == NULL || !dir_ok(dir)) {
		log_warnx("store: %s: bad arguments", __func__);
		return 0;
	}
	if (s->ops->queue_next_due(s->be, dir, net, &when) != 1)
		return 0;
	/* 0 means "none": a message due since the epoch is due now. */
	return when > 0 ? when : 1;
}

/* ---- Room archive ---- */

int
store_archive_add(struct store *s, const char *net, const char *jid, const char *room, time_t stamp,
                  const char *nick, const char *body, const char *uid, int64_t *id)
{
	NEED(net, jid, room, nick, body);
	return s->ops->archive_add(s->be, net, jid, room, stamp ? stamp : time(NULL), nick, body,
	                           uid, id);
}

int
store_archive_has_uid(struct store *s, const char *net, const char *jid, const char *room,
                      const char *uid, time_t from, time_t to)
{
	NEED(net, jid, room, uid);
	return s->ops->archive_has_uid(s->be, net, jid, room, uid, from, to);
}

int
store_archive_uid(struct store *s, const char *net, const char *jid, const char *room, int64_t id,
                  char **uid)
{
	NEED(net, jid, room, uid);
	return s->ops->archive_uid(s->be, net, jid, room, id, uid);
}

int
store_archive_find_uid(struct store *s, const char *net, const char *jid, const char *room,
                       const char *uid, int recent, int64_t *id)
{
	NEED(net, jid, room, uid, id);
	return s->ops->archive_find_uid(s->be, net, jid, room, uid, recent, id);
}

int
store_archive_query(struct store *s, const char *net, const char *jid, const char *room,
                    const struct store_archive_query *q,
                    int (*cb)(const struct store_archive_row *, void *), void *arg)
{
	NEED(net, jid, room, q, cb);
	return s->ops->archive_query(s->be, net, jid, room, q, cb, arg);
}

/* ---- Room memberships ---- */

int
store_member_add(struct store *s, const char *net, const char *jid, const char *room,
                 const char *nick, const char *resource)
{
	NEED(net, jid, room, nick, resource);
	return s->ops->member_add(s->be, net, jid, room, nick, resource);
}

int
store_member_remove(struct store *s, const char *net, const char *jid, const char *room,
                    const char *resource)
{
	NEED(net, jid, room);
	return s->ops->member_remove(s->be, net, jid, room, resource);
}

int
store_member_set_nick(struct store *s, const char *net, const char *jid, const char *room,
                      const char *nick)
{
	NEED(net, jid, room, nick);
	return s->ops->member_set_nick(s->be, net, jid, room, nick);
}

int
store_lease_take(struct store *s, const char *net, const char *jid, const char *owner, int ttl,
                 char **holder)
{
	time_t now = time(NULL);

	NEED(net);
	NEED(jid);
	NEED(owner);
	if (holder != NULL)
		*holder = NULL;
	if (ttl < 0) {
		log_warnx("store: a lease for %d seconds", ttl);
		return -1;
	}
	return s->ops->lease_take(s->be, net, jid, owner, now, now + ttl, holder);
}

int
store_lease_release(struct store *s, const char *net, const char *jid, const char *owner)
{
	NEED(net);
	NEED(jid);
	NEED(owner);
	return s->ops->lease_release(s->be, net, jid, owner);
}

int
store_member_foreach(struct store *s, const char *net,
                     int (*cb)(const char *, const char *, const char *, const char *, void *),
                     void *arg)
{
	NEED(net, cb);
	return s->ops->member_foreach(s->be, net, cb, arg);
}
