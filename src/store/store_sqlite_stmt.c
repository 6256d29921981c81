/*
 * The SQL the SQLite store backend runs, and the statement cache: each
 * statement is prepared once (SQLITE_PREPARE_PERSISTENT) and kept for the
 * life of the connection.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "log.h"
#include "store_sqlite.h"
#include "xmalloc.h"

#define Q_COLS                                                                                     \
	"id, dir, net, jid, resource, peer, body, xmpp_id, dedup_key, extra, flags, "              \
	"attempts, created, next_try, held"

static const char *const stmt_sql[ST_COUNT] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        /* Savepoints of one name nest: RELEASE and ROLLBACK TO take the innermost. */
        [ST_SAVEPOINT] = "SAVEPOINT sg",
        [ST_RELEASE] = "RELEASE sg",
        [ST_ROLLBACK_TO] = "ROLLBACK TO sg",

        [ST_USER_ADD] = "INSERT INTO users (net, jid, created) VALUES (?1, ?2, ?3)"
                        " ON CONFLICT DO NOTHING",
        [ST_USER_GET] = "SELECT disabled, created FROM users WHERE net = ?1 AND jid = ?2",
        [ST_USER_DISABLE] = "UPDATE users SET disabled = ?3 WHERE net = ?1 AND jid = ?2",
        [ST_USER_ALL] = "SELECT net, jid, disabled, created FROM users ORDER BY net, jid",
        [ST_USER_NET] = "SELECT net, jid, disabled, created FROM users WHERE net = ?1"
                        " ORDER BY jid",
        [ST_USER_COUNT_ALL] = "SELECT count(*) FROM users",
        [ST_USER_COUNT_NET] = "SELECT count(*) FROM users WHERE net = ?1",
        [ST_USER_DEL] = "DELETE FROM users WHERE net = ?1 AND jid = ?2",
        [ST_USER_DEL_SETTINGS] = "DELETE FROM settings WHERE net = ?1 AND jid = ?2",
        [ST_USER_DEL_CONTACTS] = "DELETE FROM contacts WHERE net = ?1 AND jid = ?2",
        [ST_USER_DEL_QUEUE] = "DELETE FROM queue WHERE net = ?1 AND jid = ?2",
        [ST_USER_DEL_TOMBS] = "DELETE FROM queue_tombstones WHERE dir IN (0, 1)"
                              " AND net = ?1 AND jid = ?2",

        [ST_SET_GET] = "SELECT value FROM settings WHERE net = ?1 AND jid = ?2"
                       " AND scope = ?3 AND key = ?4 AND secret = ?5",
        [ST_SET_PUT] = "INSERT INTO settings (net, jid, scope, key, secret, value)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                       " ON CONFLICT (net, jid, scope, key) DO UPDATE"
                       " SET secret = excluded.secret, value = excluded.value",
        [ST_SET_DEL] = "DELETE FROM settings WHERE net = ?1 AND jid = ?2"
                       " AND scope = ?3 AND key = ?4 AND secret = ?5",
        [ST_SET_ALL] = "SELECT key, value, secret FROM settings WHERE net = ?1 AND jid = ?2"
                       " AND scope = ?3 ORDER BY key",
        [ST_SET_FIND] = "SELECT jid, scope, value FROM settings WHERE net = ?1 AND key = ?2"
                        " AND secret = 0 ORDER BY jid, scope",

        [ST_SECRET_COUNT] = "SELECT count(*) FROM settings WHERE secret = 1",

        [ST_CONTACT_PUT] = "INSERT INTO contacts (net, jid, address, name, sub)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)"
                           " ON CONFLICT (net, jid, address) DO UPDATE"
                           " SET name = excluded.name, sub = excluded.sub",
        [ST_CONTACT_GET] = "SELECT name, sub FROM contacts WHERE net = ?1 AND jid = ?2"
                           " AND address = ?3",
        [ST_CONTACT_DEL] = "DELETE FROM contacts WHERE net = ?1 AND jid = ?2 AND address = ?3",
        [ST_CONTACT_ALL] = "SELECT address, name, sub FROM contacts WHERE net = ?1 AND jid = ?2"
                           " ORDER BY address",
        [ST_CONTACT_UNREG] = "SELECT jid, min(address) FROM contacts WHERE net = ?1"
                             " AND jid NOT IN (SELECT jid FROM users WHERE net = ?1)"
                             " GROUP BY jid ORDER BY jid",

        /*
         * One statement, so no savepoint: nothing is inserted when a recent
         * tombstone holds the dedup key, nor (DO NOTHING on the unique
         * dedup index) when a queued message does.
         */
        [ST_Q_INSERT] = "INSERT INTO queue (id, dir, net, jid, resource, peer, body, xmpp_id,"
                        " dedup_key, extra, flags, attempts, created, next_try, held)"
                        " SELECT nullif(?16, 0), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                        " ?12, ?13, ?14"
                        " WHERE ?8 IS NULL OR NOT EXISTS (SELECT 1 FROM queue_tombstones"
                        "  WHERE dir = ?1 AND net = ?2 AND jid = ?3 AND dedup_key = ?8"
                        "  AND deleted >= ?15)"
                        " ON CONFLICT DO NOTHING",
        /* Without INDEXED BY the planner ranges over queue_next and sorts. */
        [ST_Q_DUE] = "SELECT " Q_COLS " FROM queue INDEXED BY queue_due WHERE dir = ?1"
                     " AND net = ?2 AND held = 0 AND next_try <= ?3 ORDER BY id LIMIT ?4",
        [ST_Q_HELD] = "SELECT " Q_COLS " FROM queue WHERE net = ?2 AND jid = ?3 AND dir = ?1"
                      " AND held = 1 ORDER BY id",
        [ST_Q_GET] = "SELECT " Q_COLS " FROM queue WHERE id = ?1",
        [ST_Q_RETRY] = "UPDATE queue SET attempts = ?2, next_try = ?3 WHERE id = ?1",
        [ST_Q_HOLD] = "UPDATE queue SET held = ?2 WHERE id = ?1",
        [ST_Q_RELEASE] = "UPDATE queue SET held = 0, next_try = ?4 WHERE net = ?2 AND jid = ?3"
                         " AND dir = ?1 AND held = 1",
        [ST_Q_DELETE] = "DELETE FROM queue WHERE id = ?1",
        [ST_Q_SEEN] = "SELECT EXISTS (SELECT 1 FROM queue WHERE dir = ?1 AND net = ?2"
                      "  AND jid = ?3 AND dedup_key = ?4)"
                      " OR EXISTS (SELECT 1 FROM queue_tombstones WHERE dir = ?1 AND net = ?2"
                      "  AND jid = ?3 AND dedup_key = ?4 AND deleted >= ?5)",
        [ST_Q_TOMB] = "INSERT INTO queue_tombstones (dir, net, jid, dedup_key, deleted)"
                      " VALUES (?1, ?2, ?3, ?4, ?5)"
                      " ON CONFLICT (dir, net, jid, dedup_key) DO UPDATE"
                      " SET deleted = excluded.deleted",
        /*
         * Reserved ids live in sqlite_sequence: AUTOINCREMENT never hands
         * out an id at or below its seq, so a reserved id is never reused.
         */
        [ST_Q_SEQ_INIT] = "INSERT INTO sqlite_sequence (name, seq)"
                          " SELECT 'queue', (SELECT coalesce(max(id), 0) FROM queue)"
                          " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'queue')",
        [ST_Q_RESERVE] = "UPDATE sqlite_sequence SET seq = seq + ?1 WHERE name = 'queue'"
                         " RETURNING seq",
        [ST_Q_COUNT_ALL] = "SELECT count(*) FROM queue WHERE dir = ?1",
        [ST_Q_COUNT_NET] = "SELECT count(*) FROM queue WHERE net = ?2 AND dir = ?1",
        [ST_Q_COUNT_USER] = "SELECT count(*) FROM queue WHERE net = ?2 AND jid = ?3 AND dir = ?1",
        [ST_Q_NEXT_DUE] = "SELECT min(next_try) FROM queue WHERE dir = ?1 AND net = ?2"
                          " AND held = 0",
        /* The lowest id is the oldest: one seek on queue_due. */
        [ST_Q_OLDEST] = "SELECT created FROM queue INDEXED BY queue_due WHERE dir = ?1"
                        " AND net = ?2 AND held = 0 ORDER BY id LIMIT 1",
        [ST_Q_PRUNE] = "DELETE FROM queue_tombstones WHERE deleted < ?1",

        [ST_ARCH_ADD] = "INSERT INTO archive (net, jid, room, stamp, nick, body, uid)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [ST_ARCH_ASC] = "SELECT id, stamp, nick, body, uid FROM archive"
                        " WHERE net = ?1 AND jid = ?2 AND room = ?3 AND stamp >= ?4"
                        " AND stamp <= ?5 AND id > ?6 AND id < ?7 ORDER BY id ASC LIMIT ?8",
        [ST_ARCH_DESC] = "SELECT id, stamp, nick, body, uid FROM archive"
                         " WHERE net = ?1 AND jid = ?2 AND room = ?3 AND stamp >= ?4"
                         " AND stamp <= ?5 AND id > ?6 AND id < ?7 ORDER BY id DESC LIMIT ?8",
        /* The stamp bounds the scan (archive_stamp): a replay is of recent messages. */
        [ST_ARCH_HAS_UID] = "SELECT 1 FROM archive WHERE net = ?1 AND jid = ?2 AND room = ?3"
                            " AND stamp >= ?4 AND stamp <= ?5 AND uid = ?6 LIMIT 1",
        [ST_ARCH_UID] = "SELECT uid FROM archive WHERE id = ?4 AND net = ?1 AND jid = ?2"
                        " AND room = ?3",
        /* Among the room's last ?5 rows only (archive_room): never the whole archive. */
        [ST_ARCH_FIND_UID] = "SELECT id FROM (SELECT id, uid FROM archive WHERE net = ?1"
                             " AND jid = ?2 AND room = ?3 ORDER BY id DESC LIMIT ?5)"
                             " WHERE uid = ?4 LIMIT 1",
        [ST_USER_DEL_ARCHIVE] = "DELETE FROM archive WHERE net = ?1 AND jid = ?2",

        [ST_MEMBER_PUT] = "INSERT INTO room_members (net, jid, room, resource, nick)"
                          " VALUES (?1, ?2, ?3, ?4, ?5)"
                          " ON CONFLICT (net, jid, room, resource) DO UPDATE"
                          " SET nick = excluded.nick",
        [ST_MEMBER_DEL] = "DELETE FROM room_members WHERE net = ?1 AND jid = ?2 AND room = ?3"
                          " AND resource = ?4",
        [ST_MEMBER_DEL_ROOM] = "DELETE FROM room_members WHERE net = ?1 AND jid = ?2"
                               " AND room = ?3",
        [ST_MEMBER_NICK] = "UPDATE room_members SET nick = ?4 WHERE net = ?1 AND jid = ?2"
                           " AND room = ?3",
        [ST_LEASE_TAKE] = "INSERT INTO leases (net, jid, owner, expires) VALUES (?1, ?2, ?3, ?4)"
                          " ON CONFLICT (net, jid) DO UPDATE SET owner = excluded.owner,"
                          " expires = excluded.expires WHERE leases.owner = excluded.owner"
                          " OR leases.expires <= ?5 RETURNING owner",
        [ST_LEASE_OWNER] = "SELECT owner FROM leases WHERE net = ?1 AND jid = ?2",
        [ST_LEASE_DEL] = "DELETE FROM leases WHERE net = ?1 AND jid = ?2 AND owner = ?3",
        [ST_USER_DEL_LEASES] = "DELETE FROM leases WHERE net = ?1 AND jid = ?2",
        [ST_MEMBER_ALL] = "SELECT jid, room, nick, resource FROM room_members WHERE net = ?1"
                          " ORDER BY jid, room, resource",
        [ST_USER_DEL_MEMBERS] = "DELETE FROM room_members WHERE net = ?1 AND jid = ?2",
};

void
sq_warn(struct sq *sq, const char *what)
{
	log_warnx("store: %s: %s: %s", sq->path, what, sqlite3_errmsg(sq->db));
}

/*
 * The cached statement for id, or a fresh one when the cached one is in
 * use (a callback re-entering the store). Give it back with sq_stmt_put().
 */
sqlite3_stmt *
sq_stmt_get(struct sq *sq, enum stmt_id id)
{
	sqlite3_stmt *st;

	if (sq->st[id] != NULL && !sq->busy[id]) {
		sq->busy[id] = true;
		return sq->st[id];
	}
	if (sqlite3_prepare_v3(sq->db, stmt_sql[id], -1,
	                       sq->st[id] == NULL ? SQLITE_PREPARE_PERSISTENT : 0, &st,
	                       NULL) != SQLITE_OK) {
		sq_warn(sq, "preparing a statement");
		return NULL;
	}
	if (sq->st[id] == NULL) {
		sq->st[id] = st;
		sq->busy[id] = true;
	}
	return st;
}

void
sq_stmt_put(struct sq *sq, enum stmt_id id, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	if (st != sq->st[id]) {
		sqlite3_finalize(st);
		return;
	}
	/* Bindings stay (they are all set again before each use). */
	sqlite3_reset(st);
	sq->busy[id] = false;
}

/*
 * Bind parameters 1.. from fmt: 's' text (NULL binds NULL), 'i' int,
 * 'I' int64_t, 'b' blob (const void *, size_t; NULL binds NULL).
 * The caller's strings must outlive the step: they are not copied.
 */
static int
sq_vbind(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	const char *s;
	const void *p;
	size_t len;
	int i, rc = SQLITE_OK;

	for (i = 1; *fmt != '\0' && rc == SQLITE_OK; fmt++, i++) {
		switch (*fmt) {
		case 's':
			s = va_arg(ap, const char *);
			rc = s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
			       : sqlite3_bind_null(st, i);
			break;
		case 'i':
			rc = sqlite3_bind_int(st, i, va_arg(ap, int));
			break;
		case 'I':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'b':
			p = va_arg(ap, const void *);
			len = va_arg(ap, size_t);
			rc = p ? sqlite3_bind_blob64(st, i, p, len, SQLITE_STATIC)
			       : sqlite3_bind_null(st, i);
			break;
		default:
			fatalx("store: bad bind format '%c'", *fmt);
		}
	}
	return rc == SQLITE_OK ? 0 : -1;
}

/* sq_stmt_get() and bind: the statement, or NULL (logged). */
sqlite3_stmt *
sq_prep(struct sq *sq, enum stmt_id id, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int r;

	if ((st = sq_stmt_get(sq, id)) == NULL)
		return NULL;
	va_start(ap, fmt);
	r = sq_vbind(st, fmt, ap);
	va_end(ap);
	if (r == -1) {
		sq_warn(sq, "binding parameters");
		sq_stmt_put(sq, id, st);
		return NULL;
	}
	return st;
}

/* Run a statement that returns no rows: the number of rows changed, or -1. */
long
sq_exec(struct sq *sq, enum stmt_id id, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	long n = -1;
	int r;

	if ((st = sq_stmt_get(sq, id)) == NULL)
		return -1;
	va_start(ap, fmt);
	r = sq_vbind(st, fmt, ap);
	va_end(ap);
	if (r == -1)
		sq_warn(sq, "binding parameters");
	else if (sqlite3_step(st) != SQLITE_DONE)
		sq_warn(sq, stmt_sql[id]);
	else
		n = sqlite3_changes(sq->db);
	sq_stmt_put(sq, id, st);
	return n;
}

/* Step st for one row: 1 row, 0 none, -1 error (logged). */
int
sq_step(struct sq *sq, enum stmt_id id, sqlite3_stmt *st)
{
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		return 1;
	case SQLITE_DONE:
		return 0;
	default:
		sq_warn(sq, stmt_sql[id]);
		return -1;
	}
}

/* A count(*) or similar single integer: the value, or -1. */
long
sq_query_long(struct sq *sq, enum stmt_id id, sqlite3_stmt *st)
{
	long n = -1;

	if (st == NULL)
		return -1;
	if (sq_step(sq, id, st) == 1)
		n = (long)sqlite3_column_int64(st, 0);
	sq_stmt_put(sq, id, st);
	return n;
}

/* A text column, copied (caller frees), or NULL when the column is NULL. */
char *
sq_col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? xstrdup((const char *)s) : NULL;
}
