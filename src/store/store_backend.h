/*
 * What a store backend implements (OpenSMTPD's queue/table backends are the
 * model). store.c owns the parts every backend shares: URL dispatch,
 * argument checks, the clock, transaction nesting, and secret encryption;
 * a backend only moves rows. Include this header from store.c, the
 * backends and the unit tests, never from callers of store.h.
 *
 * A backend handle is a void * the backend allocates in open(). Operations
 * follow store.h's return conventions and ownership rules unless said
 * otherwise here; times come from store.c.
 */
#ifndef SG_STORE_BACKEND_H
#define SG_STORE_BACKEND_H

#include <stddef.h>

#include "store.h"

struct store_ops {
	const char *scheme; /* URL scheme, without the colon: "sqlite" */

	/*
	 * url is the full URL. Migrate to version (-1: the latest), all
	 * missing migrations in one transaction. NULL with *err (one line,
	 * caller frees) on failure.
	 */
	void *(*open)(const char *url, int version, char **err);
	void (*close)(void *);
	int (*schema_version)(void *);
	int (*schema_latest)(void);

	/*
	 * depth is the level being opened or closed: 1 is the outermost
	 * transaction, more is a savepoint inside it. commit() that fails
	 * leaves the level rolled back.
	 */
	int (*begin)(void *, int depth);
	int (*commit)(void *, int depth);
	int (*rollback)(void *, int depth);
	/*
	 * Optional (NULL: the database is always reachable, as a file is).
	 * unreachable: true while the backend knows its connection is lost;
	 * no I/O. reconnect: try now if the backoff allows; 0 when usable.
	 */
	bool (*unreachable)(void *);
	int (*reconnect)(void *);

	int (*user_add)(void *, const char *net, const char *jid, time_t now);
	/* Called inside a transaction: deletes everything of the user on net. */
	int (*user_remove)(void *, const char *net, const char *jid);
	int (*user_get)(void *, const char *net, const char *jid, struct store_user *out);
	/* -1/0/1: 0 when no such user. */
	int (*user_set_disabled)(void *, const char *net, const char *jid, bool disabled);
	int (*user_foreach)(void *, const char *net, int (*cb)(const struct store_user *, void *),
	                    void *arg);
	long (*user_count)(void *, const char *net);

	/*
	 * Values are bytes: plain settings are text, secrets are sealed
	 * blobs. get: on 1, *val (caller frees) holds *len bytes plus a NUL
	 * not counted. set: val NULL deletes the key of that kind.
	 */
	int (*setting_get)(void *, const char *net, const char *jid, const char *scope,
	                   const char *key, bool secret, char **val, size_t *len);
	int (*setting_set)(void *, const char *net, const char *jid, const char *scope,
	                   const char *key, bool secret, const void *val, size_t len);
	/* Secrets of every user and net: -1 on error. */
	long (*secret_count)(void *);
	int (*setting_foreach)(void *, const char *net, const char *jid, const char *scope,
	                       int (*cb)(const char *key, const void *val, size_t len, bool secret,
	                                 void *),
	                       void *arg);

	/* Plain settings named key, any jid and scope: -1 on error. NULL: not supported. */
	int (*setting_find)(void *, const char *net, const char *key,
	                    int (*cb)(const char *jid, const char *scope, const char *val, void *),
	                    void *arg);

	int (*contact_set)(void *, const char *net, const char *jid, const char *address,
	                   const char *name, enum store_sub sub);
	int (*contact_get)(void *, const char *net, const char *jid, const char *address,
	                   enum store_sub *sub, char **name);
	int (*contact_remove)(void *, const char *net, const char *jid, const char *address);
	int (*contact_foreach)(void *, const char *net, const char *jid,
	                       int (*cb)(const char *address, const char *name, enum store_sub,
	                                 void *),
	                       void *arg);
	int (*contact_unregistered)(void *, const char *net,
	                            int (*cb)(const char *jid, const char *address, void *),
	                            void *arg);

	/*
	 * m arrives with created and next_try filled in; id 0: the queue
	 * assigns one (into m->id). Tombstones deleted before tomb_after are
	 * ignored. Called inside a transaction.
	 */
	int (*queue_push)(void *, struct store_msg *m, int64_t id, time_t tomb_after);
	/*
	 * due/held: *out (caller frees each with store_msg_free_fields(),
	 * then the array) gets *n messages, oldest first. limit <= 0: all.
	 */
	int (*queue_due)(void *, enum store_dir, const char *net, time_t now, int limit,
	                 struct store_msg **out, size_t *n);
	int (*queue_held)(void *, enum store_dir, const char *net, const char *user,
	                  struct store_msg **out, size_t *n);
	int (*queue_get)(void *, int64_t id, struct store_msg *out);
	/* retry/hold: -1/0/1, 0 when no such message. */
	int (*queue_retry)(void *, int64_t id, int attempts, time_t next_try);
	int (*queue_hold)(void *, int64_t id, bool held);
	int (*queue_release_user)(void *, enum store_dir, const char *net, const char *user,
	                          time_t now);
	/* Called inside a transaction: tombstone (stamped now) then delete. */
	int (*queue_delete)(void *, int64_t id, time_t now);
	/* -1/0/1: a queued message or a tombstone after tomb_after holds key. */
	int (*queue_seen)(void *, enum store_dir, const char *net, const char *jid, const char *key,
	                  time_t tomb_after);
	/* A tombstone for key, stamped now (a message that was never queued). */
	int (*queue_tombstone)(void *, enum store_dir, const char *net, const char *jid,
	                       const char *key, time_t now);
	/* Reserve n ids that the queue never assigns itself; *last is the highest. */
	int (*queue_reserve)(void *, int n, int64_t *last);
	long (*queue_count)(void *, enum store_dir, const char *net);
	long (*queue_count_user)(void *, enum store_dir, const char *net, const char *jid);
	/* -1 on error, 0 if none, 1 with *when. */
	int (*queue_next_due)(void *, enum store_dir, const char *net, time_t *when);
	/* -1 on error, 0 if none, 1 with *created of the oldest not-held message. */
	int (*queue_oldest)(void *, enum store_dir, const char *net, time_t *created);
	long (*queue_prune)(void *, time_t before);

	int (*archive_add)(void *, const char *net, const char *jid, const char *room, time_t stamp,
	                   const char *nick, const char *body, const char *uid, int64_t *id);
	/* 1: a row of the room stamped from..to has this uid; 0: none; -1: error. */
	int (*archive_has_uid)(void *, const char *net, const char *jid, const char *room,
	                       const char *uid, time_t from, time_t to);
	/* 1 with *uid (caller frees; NULL when the row has none), 0: no such row, -1: error. */
	int (*archive_uid)(void *, const char *net, const char *jid, const char *room, int64_t id,
	                   char **uid);
	/* 1 with *id: a row among the room's last recent has this uid; 0: none; -1: error. */
	int (*archive_find_uid)(void *, const char *net, const char *jid, const char *room,
	                        const char *uid, int recent, int64_t *id);
	/* Returns how many rows were passed to cb, or -1. */
	int (*archive_query)(void *, const char *net, const char *jid, const char *room,
	                     const struct store_archive_query *,
	                     int (*cb)(const struct store_archive_row *, void *), void *arg);

	int (*member_add)(void *, const char *net, const char *jid, const char *room,
	                  const char *nick, const char *resource);
	/* resource NULL: every row of the room. */
	int (*member_remove)(void *, const char *net, const char *jid, const char *room,
	                     const char *resource);
	int (*member_set_nick)(void *, const char *net, const char *jid, const char *room,
	                       const char *nick);
	int (*member_foreach)(void *, const char *net,
	                      int (*cb)(const char *, const char *, const char *, const char *,
	                                void *),
	                      void *arg);

	/*
	 * The lease of (net, jid) becomes owner's until expires if it is free,
	 * expired at now, or owner's: 1. Another's: 0, with *holder (caller
	 * frees) when holder is not NULL. Atomic against other connections.
	 */
	int (*lease_take)(void *, const char *net, const char *jid, const char *owner, time_t now,
	                  time_t expires, char **holder);
	/* 1 released, 0 not owner's (or no lease). */
	int (*lease_release)(void *, const char *net, const char *jid, const char *owner);
};

extern const struct store_ops store_sqlite_ops;
#ifdef WITH_POSTGRESQL
extern const struct store_ops store_pg_ops;
#endif

/*
 * store_open(), but migrating only up to version (0: an empty schema).
 * For the migration tests: build a database as an older release left it.
 */
struct store *store_open_version(const char *url, const char *key_file, int version, char **err);

#endif
