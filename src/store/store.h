/*
 * The store: registered users, their settings and secrets, mirrored
 * contacts, and the durable message queues (SPEC section 7).
 *
 * One API, several backends chosen by the URL scheme: "sqlite:/path/to.db"
 * today, "postgresql://..." later (see docs/store.md). Callers never see
 * SQL or the backend.
 *
 * Conventions:
 *   - actions return 0, or -1 when the store failed (the reason is logged);
 *   - lookups return -1 (error), 0 (not found) or 1 (found);
 *   - string arguments are owned by the caller and only read during the
 *     call; net, jid, user, scope, key and address must not be NULL (scope
 *     "" is the user's own scope);
 *   - strings returned through pointers are allocated and owned by the
 *     caller, who frees them with free() (or the *_free_fields() helpers);
 *   - data handed to a foreach callback is owned by the store and valid only
 *     during that call of the callback: copy what you keep. A callback may
 *     call other store functions, including ones that write.
 *
 * Writes outside store_begin()/store_commit() are durable when the function
 * returns 0; inside, when the outermost store_commit() returns 0. Durable
 * means a SIGKILL of the daemon loses nothing (a power cut may lose the
 * last moments: synchronous=NORMAL under WAL).
 *
 * A store handle is used from one thread (the event loop).
 */
#ifndef SG_STORE_H
#define SG_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct store;

/* ---- Opening ---- */

/*
 * Open the store at url ("sqlite:/path/to.db"; "sqlite:///path" is the same)
 * and bring its schema up to date, applying the missing migrations in one
 * transaction. The database file is created mode 0600 if missing.
 *
 * key_file holds the 32-byte key that encrypts secrets; it is generated
 * (mode 0600) if missing, and refused if it has the wrong size or is
 * accessible by group or others. key_file may be NULL: the store then opens
 * but every secret operation fails (for config checks that need no secret).
 *
 * Returns a handle to free with store_close(), or NULL with *err set to one
 * readable line naming the file and the reason (caller frees).
 */
struct store *store_open(const char *url, const char *key_file, char **err);
/* Close the handle (rolling back an unfinished transaction); NULL is accepted. */
void store_close(struct store *);
/*
 * True while the store knows it cannot reach its database (PostgreSQL's
 * connection was lost and is not back yet); every call then fails at once.
 * Never true on SQLite. Does no I/O.
 */
bool store_unreachable(struct store *);
/*
 * While unreachable, try to reconnect now if the backoff allows (the
 * backend logs each attempt). 0 when the store is usable, -1 not yet.
 */
int store_reconnect(struct store *);
/* The schema's migration number (the latest one after store_open), or -1. */
int store_schema_version(struct store *);
/* The latest migration number this build knows for the store's backend. */
int store_schema_latest(struct store *);

/*
 * Copy the SQLite store at from into the empty PostgreSQL store at to
 * (stanzagate --migrate-store): both are migrated to the latest schema
 * first, every table is copied in one transaction, then each table's row
 * count is compared on both sides and printed to out. 0 when every count
 * matches, else -1 with *err (one line, caller frees). Secrets are copied
 * sealed: the same key file opens them.
 */
int store_copy(const char *from, const char *to, FILE *out, char **err);

/* ---- Transactions ---- */

/*
 * Group writes into one transaction: fewer commits, and all-or-nothing.
 * Pairs nest: an inner store_begin() opens a savepoint, its store_commit()
 * keeps the inner writes within the outer transaction, its store_rollback()
 * undoes only them. Nothing is durable before the outermost commit. A
 * failed commit rolls back (that level) and returns -1.
 */
int store_begin(struct store *);
int store_commit(struct store *);
void store_rollback(struct store *);

/* ---- Registered users, per network name ("echo", "irc", ...) ---- */

struct store_user {
	char *net;
	char *jid; /* bare JID */
	bool disabled;
	time_t created;
};

/* Frees the strings of u (not u itself) and clears them. */
void store_user_free_fields(struct store_user *u);
/* Register; registering an existing user is a success that changes nothing. */
int store_user_add(struct store *, const char *net, const char *jid);
/*
 * Unregister, deleting in one transaction the user's settings, secrets,
 * contacts, queued messages (both directions) and dedup tombstones on that
 * net. Removing an unknown user is a success.
 */
int store_user_remove(struct store *, const char *net, const char *jid);
/* -1/0/1. On 1, out (if not NULL) is filled: caller frees with store_user_free_fields(). */
int store_user_get(struct store *, const char *net, const char *jid, struct store_user *out);
/* 0, or -1 on error or when the user is not registered. */
int store_user_set_disabled(struct store *, const char *net, const char *jid, bool disabled);
/*
 * Call cb for every user of net (NULL: of all nets, grouped by net), disabled
 * ones included, in one query. cb returning non-zero stops the walk.
 * Returns 0, or -1 on error.
 */
int store_user_foreach(struct store *, const char *net,
                       int (*cb)(const struct store_user *, void *), void *arg);
/* Number of users of net (NULL: all nets), or -1. */
long store_user_count(struct store *, const char *net);

/* ---- Settings and secrets: (net, jid, scope, key) -> value ---- */

/*
 * A key holds either a plain setting or a secret. Secrets are encrypted
 * (secretbox.h) with associated data binding net, jid, scope and key, so a
 * value copied to another row fails to decrypt. Setting a key as one kind
 * replaces it if it was the other kind; a getter of one kind does not see
 * the other kind (returns 0). A NULL value deletes the key (of that kind).
 *
 * Getters: -1/0/1; on 1, *value (if value is not NULL) is the caller's.
 * store_secret_get() returns -1 when the value fails to decrypt (altered,
 * moved, or sealed with another key): never garbage.
 */
int store_setting_get(struct store *, const char *net, const char *jid, const char *scope,
                      const char *key, char **value);
int store_setting_set(struct store *, const char *net, const char *jid, const char *scope,
                      const char *key, const char *value);
int store_secret_get(struct store *, const char *net, const char *jid, const char *scope,
                     const char *key, char **value);
int store_secret_set(struct store *, const char *net, const char *jid, const char *scope,
                     const char *key, const char *value);
/*
 * Call cb for every key of (net, jid, scope), by key, secrets decrypted.
 * A secret that fails to decrypt is logged and skipped, and the walk then
 * returns -1. cb returning non-zero stops. Returns 0, or -1.
 */
int store_setting_foreach(struct store *, const char *net, const char *jid, const char *scope,
                          int (*cb)(const char *key, const char *value, bool secret, void *),
                          void *arg);

/*
 * Call cb for every plain setting (secrets are skipped) of net named key,
 * whatever the jid and scope, ordered by jid and scope. cb returning
 * non-zero stops. Returns 0, or -1.
 */
int store_setting_find(struct store *, const char *net, const char *key,
                       int (*cb)(const char *jid, const char *scope, const char *value, void *),
                       void *arg);

/* ---- Contacts: the roster items the gateway mirrors ---- */

enum store_sub { STORE_SUB_NONE, STORE_SUB_TO, STORE_SUB_FROM, STORE_SUB_BOTH };

/* Insert or replace the contact; name may be NULL. */
int store_contact_set(struct store *, const char *net, const char *jid, const char *address,
                      const char *name, enum store_sub sub);
/* -1/0/1. On 1, *sub and *name are set when not NULL; *name (caller frees) may be NULL. */
int store_contact_get(struct store *, const char *net, const char *jid, const char *address,
                      enum store_sub *sub, char **name);
/* Removing an unknown contact is a success. */
int store_contact_remove(struct store *, const char *net, const char *jid, const char *address);
/* Every contact of the user, by address; name may be NULL. Returns 0 or -1. */
int store_contact_foreach(struct store *, const char *net, const char *jid,
                          int (*cb)(const char *address, const char *name, enum store_sub, void *),
                          void *arg);
/*
 * Every user with contacts on net who is not a registered user (an SMS
 * line's user), by JID, with one of its contacts' addresses (the first).
 * Returns 0 or -1.
 */
int store_contact_unregistered(struct store *, const char *net,
                               int (*cb)(const char *jid, const char *address, void *), void *arg);

/* ---- Durable message queues (SPEC section 7) ---- */

enum store_dir { STORE_TO_NET = 0, STORE_TO_XMPP = 1 };

/* How long a deleted message's dedup_key keeps refusing duplicates. */
#define STORE_TOMBSTONE_SECONDS (7 * 24 * 3600)

struct store_msg {
	int64_t id; /* set by store_queue_push(), or reserved (store_queue_reserve()) */
	enum store_dir dir;
	char *net;
	char *user;     /* the XMPP user's bare JID */
	char *resource; /* nullable */
	char *peer;     /* the foreign address */
	char *body;
	char *xmpp_id;   /* nullable */
	char *dedup_key; /* nullable: same key for (dir, net, user) = same message */
	char *extra;     /* nullable: opaque text the core uses (subject, stamp, kind...) */
	unsigned flags;  /* opaque bit flags for the core */
	int attempts;
	time_t created;  /* 0 at push: now */
	time_t next_try; /* 0 at push: created */
	bool held;       /* waits for store_queue_release_user(), not retried by time */
};

/* Frees the strings of m (not m itself) and clears them. */
void store_msg_free_fields(struct store_msg *m);
/* *dst = *src with copies of its strings (caller frees with store_msg_free_fields()). */
void store_msg_copy(struct store_msg *dst, const struct store_msg *src);
/*
 * Insert m (net, user, peer and body required). If m->dedup_key is set and
 * a message with the same (dir, net, user, dedup_key) is queued, or was
 * deleted less than STORE_TOMBSTONE_SECONDS ago, inserts nothing and
 * returns 1. Returns 0 when inserted (m->id set, and m->created and
 * m->next_try filled in when they were 0), -1 on error. Ids are never reused.
 */
int store_queue_push(struct store *, struct store_msg *m);
/*
 * Reserve n queue ids for messages that may never be pushed: *first gets
 * the lowest, and first .. first + n - 1 are never assigned by push. A
 * message pushed with store_queue_push_reserved() keeps it. 0, or -1.
 */
int store_queue_reserve(struct store *, int n, int64_t *first);
/* store_queue_push() of a message whose m->id is a reserved id. */
int store_queue_push_reserved(struct store *, struct store_msg *m);
/*
 * Whether push would refuse m's dedup_key now: a queued message of (dir,
 * net, user) holds it, or a tombstone not older than STORE_TOMBSTONE_SECONDS.
 * -1/0/1.
 */
int store_queue_seen(struct store *, enum store_dir dir, const char *net, const char *user,
                     const char *dedup_key);
/*
 * Record that the message with dedup_key was taken without ever being
 * queued: a tombstone, as store_queue_delete() leaves. 0, or -1.
 */
int store_queue_tombstone(struct store *, enum store_dir dir, const char *net, const char *user,
                          const char *dedup_key);
/*
 * Call cb for each message of (dir, net) that is not held and has
 * next_try <= now, oldest id first, at most limit (<= 0: no limit) of them.
 * The batch is read before the first call, so cb may retry, hold or delete
 * messages (this one included). cb returning non-zero stops.
 * Returns the number of messages passed to cb, or -1.
 */
int store_queue_due(struct store *, enum store_dir dir, const char *net, time_t now, int limit,
                    int (*cb)(const struct store_msg *, void *), void *arg);
/* The same for the held messages of (dir, net, user), oldest first. */
int store_queue_held(struct store *, enum store_dir dir, const char *net, const char *user,
                     int (*cb)(const struct store_msg *, void *), void *arg);
/* -1/0/1. On 1, out is filled: caller frees with store_msg_free_fields(). */
int store_queue_get(struct store *, int64_t id, struct store_msg *out);
/* Record a failed try. 0, or -1 on error or when the message is gone. */
int store_queue_retry(struct store *, int64_t id, int attempts, time_t next_try);
/* Hold or un-hold one message (un-holding does not change next_try). 0, or -1 (also if gone). */
int store_queue_hold(struct store *, int64_t id, bool held);
/* Un-hold all the user's held messages of (dir, net) with next_try = now. 0 or -1. */
int store_queue_release_user(struct store *, enum store_dir dir, const char *net, const char *user);
/*
 * Delete a message the other side has taken; its dedup_key, if any, becomes
 * a tombstone. Deleting an unknown id is a success (a duplicate ack).
 */
int store_queue_delete(struct store *, int64_t id);
/* Messages queued for (dir, net) (net NULL: every net), held ones included; or -1. */
long store_queue_count(struct store *, enum store_dir dir, const char *net);
/* Messages of one user queued in (dir, net), held ones too; -1 on error. */
long store_queue_count_user(struct store *, enum store_dir dir, const char *net, const char *user);
/*
 * When the oldest not-held message of (dir, net) was queued; 0 if none (or
 * on error, logged). Held messages wait for their user, not for delivery.
 */
time_t store_queue_oldest(struct store *, enum store_dir dir, const char *net);
/* Outermost commits since the store was opened and the seconds they took in all. */
void store_commit_stats(const struct store *, unsigned long *count, double *seconds);
/* The earliest next_try of the not-held messages of (dir, net); 0 if none (or on error, logged). */
time_t store_queue_next_due(struct store *, enum store_dir dir, const char *net);
/*
 * Forget tombstones older than STORE_TOMBSTONE_SECONDS before now. The store
 * also does it at open and at most hourly on delete; expired tombstones are
 * ignored by push either way. Returns the number removed, or -1.
 */
long store_queue_prune(struct store *, time_t now);

/* ---- Room archive (XEP-0313, history on join) ---- */

/*
 * A room's messages as one user saw them. Rows are the store's, valid
 * during the callback only.
 */
struct store_archive_row {
	int64_t id; /* increasing: the MAM id */
	time_t stamp;
	const char *nick, *body;
	const char *uid; /* the network's id, or NULL */
};

struct store_archive_query {
	time_t start, end;           /* 0: no bound */
	int64_t after_id, before_id; /* 0: no bound; both exclusive */
	int limit;                   /* <= 0: all */
	bool newest_first;           /* with limit: the last page */
};

/* Appends a message; *id (may be NULL) gets its id. Durable as store_queue_push. */
int store_archive_add(struct store *, const char *net, const char *jid, const char *room,
                      time_t stamp, const char *nick, const char *body, const char *uid,
                      int64_t *id);
/*
 * Whether the room's archive holds a message with the network's id uid,
 * stamped between from and to (inclusive): 1, 0, or -1 on error.
 */
int store_archive_has_uid(struct store *, const char *net, const char *jid, const char *room,
                          const char *uid, time_t from, time_t to);
/* The network's id of the room's row id: 1 with *uid (caller frees; NULL: none), 0, -1. */
int store_archive_uid(struct store *, const char *net, const char *jid, const char *room,
                      int64_t id, char **uid);
/* The row with the network's id uid among the room's last recent rows: 1 with *id, 0, -1. */
int store_archive_find_uid(struct store *, const char *net, const char *jid, const char *room,
                           const char *uid, int recent, int64_t *id);
/* Calls cb for each row matching q (cb returning non-zero stops); returns how many were passed, or
 * -1. */
int store_archive_query(struct store *, const char *net, const char *jid, const char *room,
                        const struct store_archive_query *q,
                        int (*cb)(const struct store_archive_row *, void *), void *arg);

/* ---- Room memberships: which resources of a user sit in which room (a restart rejoins) ---- */

/*
 * Records that resource of jid is in room under nick (insert, or a new
 * nick for that row). 0, or -1.
 */
int store_member_add(struct store *, const char *net, const char *jid, const char *room,
                     const char *nick, const char *resource);
/* Forgets resource's membership of room; resource NULL: every resource's. Unknown: 0. */
int store_member_remove(struct store *, const char *net, const char *jid, const char *room,
                        const char *resource);
/* The nick of every row of (jid, room). 0, or -1. */
int store_member_set_nick(struct store *, const char *net, const char *jid, const char *room,
                          const char *nick);
/*
 * Every membership of net, by jid, room and resource. cb returning non-zero
 * stops; it may write to the store. 0, or -1.
 */
int store_member_foreach(struct store *, const char *net,
                         int (*cb)(const char *jid, const char *room, const char *nick,
                                   const char *resource, void *),
                         void *arg);

/*
 * Leases (issue 12 §2): which gateway instance (owner, a name unique among
 * the instances sharing the database) owns a user's foreign sessions on
 * net. Take the lease of (net, jid) for ttl seconds from now: 1 when it is
 * owner's now (it was free, expired, or owner's already: taking it again
 * renews it); 0 when another instance holds it, *holder (caller frees) then
 * naming it if holder is not NULL; -1 on error. Two instances racing for it
 * cannot both get 1: the row is taken with one atomic upsert. Expiry is by
 * this process's clock: instances must keep their clocks in step (NTP).
 */
int store_lease_take(struct store *, const char *net, const char *jid, const char *owner, int ttl,
                     char **holder);
/* Give the lease back: 1 released, 0 not owner's (expired and taken, or none), -1. */
int store_lease_release(struct store *, const char *net, const char *jid, const char *owner);

#endif
