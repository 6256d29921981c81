/*
 * Migrations of the SQLite store. Entry i of the table takes the schema
 * from version i to version i + 1. A released entry is never edited: a
 * database in the field may have run it already, and PRAGMA user_version is
 * all we know of it. Fix or extend the schema with a new entry, and give the
 * migration test a fixture for the version before it.
 *
 * Per-user rows are keyed by (net, jid) text rather than a foreign key to
 * users: an IRC user may join rooms (and so own queued messages and
 * settings) without registering.
 */
#include "config.h"

#include <stdlib.h>

#include "log.h"
#include "store_sqlite_schema.h"
#include "xmalloc.h"

struct migration {
	const char *sql;                  /* run first; may hold several statements */
	int (*fn)(sqlite3 *, char **why); /* then this, for what SQL alone can't do; may be NULL */
};

/* 1: users, settings and secrets, contacts, queues. */
static const char v1[] =
        "CREATE TABLE users ("
        " net TEXT NOT NULL,"
        " jid TEXT NOT NULL,"
        " disabled INTEGER NOT NULL DEFAULT 0,"
        " created INTEGER NOT NULL,"
        " PRIMARY KEY (net, jid)"
        ") WITHOUT ROWID;"
        /* value is text for a setting, a sealed blob (secretbox.h) for a secret. */
        "CREATE TABLE settings ("
        " net TEXT NOT NULL,"
        " jid TEXT NOT NULL,"
        " scope TEXT NOT NULL,"
        " key TEXT NOT NULL,"
        " secret INTEGER NOT NULL CHECK (secret IN (0, 1)),"
        " value NOT NULL,"
        " PRIMARY KEY (net, jid, scope, key)"
        ") WITHOUT ROWID;"
        "CREATE TABLE contacts ("
        " net TEXT NOT NULL,"
        " jid TEXT NOT NULL,"
        " address TEXT NOT NULL,"
        " name TEXT,"
        " sub INTEGER NOT NULL CHECK (sub BETWEEN 0 AND 3),"
        " PRIMARY KEY (net, jid, address)"
        ") WITHOUT ROWID;"
        /* AUTOINCREMENT: an id handed to a driver is never reused. */
        "CREATE TABLE queue ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " dir INTEGER NOT NULL CHECK (dir IN (0, 1)),"
        " net TEXT NOT NULL,"
        " jid TEXT NOT NULL,"
        " resource TEXT,"
        " peer TEXT NOT NULL,"
        " body TEXT NOT NULL,"
        " xmpp_id TEXT,"
        " dedup_key TEXT,"
        " extra TEXT,"
        " flags INTEGER NOT NULL DEFAULT 0,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " created INTEGER NOT NULL,"
        " next_try INTEGER NOT NULL,"
        " held INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1))"
        ");"
        /*
         * The due scan walks queue_due in id order and reads next_try from
         * the index, so a batch costs its size plus the backed-off messages
         * ahead of it, not a sort of every due message. queue_next serves
         * the earliest next_try in one seek.
         */
        "CREATE INDEX queue_due ON queue (dir, net, id, next_try) WHERE held = 0;"
        "CREATE INDEX queue_next ON queue (dir, net, next_try) WHERE held = 0;"
        "CREATE INDEX queue_user ON queue (net, jid, dir, held);"
        "CREATE INDEX queue_dedup ON queue (dir, net, jid, dedup_key)"
        " WHERE dedup_key IS NOT NULL;";

/*
 * 2: dedup keys outlive their message for a while (tombstones), and are
 * unique among queued messages. Version 1 allowed duplicates: the oldest
 * message keeps its key, later ones lose it (they stay queued).
 */
static const char v2[] =
        "CREATE TABLE queue_tombstones ("
        " dir INTEGER NOT NULL,"
        " net TEXT NOT NULL,"
        " jid TEXT NOT NULL,"
        " dedup_key TEXT NOT NULL,"
        " deleted INTEGER NOT NULL,"
        " PRIMARY KEY (dir, net, jid, dedup_key)"
        ") WITHOUT ROWID;"
        "CREATE INDEX queue_tombstones_deleted ON queue_tombstones (deleted);"
        "UPDATE queue SET dedup_key = NULL WHERE dedup_key IS NOT NULL AND id NOT IN"
        " (SELECT min(id) FROM queue WHERE dedup_key IS NOT NULL"
        "  GROUP BY dir, net, jid, dedup_key);"
        "DROP INDEX queue_dedup;"
        "CREATE UNIQUE INDEX queue_dedup ON queue (dir, net, jid, dedup_key)"
        " WHERE dedup_key IS NOT NULL;";

/*
 * 3: room history (XEP-0313 and history on join), kept per user and room:
 * each user has their own view of a room (their own connection to it);
 * tombstones written by a trigger.
 */
static const char v3[] =
        "CREATE TABLE archive ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " net TEXT NOT NULL,"
        " jid TEXT NOT NULL,"
        " room TEXT NOT NULL,"
        " stamp INTEGER NOT NULL,"
        " nick TEXT NOT NULL,"
        " body TEXT NOT NULL,"
        " uid TEXT"
        ");"
        "CREATE INDEX archive_room ON archive (net, jid, room, id);"
        "CREATE INDEX archive_stamp ON archive (net, jid, room, stamp);"
        /*
         * A deleted message's dedup key becomes a tombstone inside the
         * DELETE itself: one statement, no savepoint, and nothing at all for
         * the many messages without a key.
         */
        "CREATE TRIGGER queue_tombstone AFTER DELETE ON queue"
        " WHEN old.dedup_key IS NOT NULL BEGIN"
        " INSERT INTO queue_tombstones (dir, net, jid, dedup_key, deleted)"
        "  VALUES (old.dir, old.net, old.jid, old.dedup_key, CAST(strftime('%s', 'now') AS "
        "INTEGER))"
        "  ON CONFLICT (dir, net, jid, dedup_key) DO UPDATE SET deleted = excluded.deleted;"
        " END;";

/*
 * 4: room memberships, one row per resource in a room, so a restarted
 * gateway rejoins its users' rooms by itself (docs/architecture.md, rooms).
 */
static const char v4[] = "CREATE TABLE room_members ("
                         " net TEXT NOT NULL,"
                         " jid TEXT NOT NULL,"
                         " room TEXT NOT NULL,"
                         " resource TEXT NOT NULL,"
                         " nick TEXT NOT NULL,"
                         " PRIMARY KEY (net, jid, room, resource)"
                         ") WITHOUT ROWID;";

/*
 * 5: leases (issue 12 §2): which gateway instance owns a user's foreign
 * sessions, until when. One file has one instance, but the table and its
 * calls are the same on both engines.
 */
static const char v5[] = "CREATE TABLE leases ("
                         " net TEXT NOT NULL,"
                         " jid TEXT NOT NULL,"
                         " owner TEXT NOT NULL,"
                         " expires INTEGER NOT NULL,"
                         " PRIMARY KEY (net, jid)"
                         ") WITHOUT ROWID;";

static const struct migration migrations[] = {
        {v1, NULL}, {v2, NULL}, {v3, NULL}, {v4, NULL}, {v5, NULL},
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int
sqlite_schema_latest(void)
{
	return NMIGRATIONS;
}

int
sqlite_schema_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
sqlite_schema_migrate(sqlite3 *db, const char *path, int target, char **err)
{
	char *msg = NULL, *why = NULL, *sql;
	int cur, v;

	if (target < 0 || target > NMIGRATIONS)
		target = NMIGRATIONS;
	if ((cur = sqlite_schema_version(db)) == -1) {
		*err = xasprintf("cannot read the schema version of %s: %s", path,
		                 sqlite3_errmsg(db));
		return -1;
	}
	if (cur > NMIGRATIONS) {
		*err = xasprintf("database %s has schema version %d, newer than this "
		                 "stanzagate knows (%d): run a newer stanzagate",
		                 path, cur, NMIGRATIONS);
		return -1;
	}
	if (cur >= target)
		return 0;
	/* IMMEDIATE takes the write lock now; then read the version again. */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
		*err = xasprintf("cannot migrate %s: %s", path, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	cur = sqlite_schema_version(db);
	for (v = cur + 1; v <= target; v++) {
		if (sqlite3_exec(db, migrations[v - 1].sql, NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
		if (migrations[v - 1].fn != NULL && migrations[v - 1].fn(db, &why) == -1)
			goto fail;
	}
	sql = xasprintf("PRAGMA user_version = %d", target);
	v = sqlite3_exec(db, sql, NULL, NULL, &msg);
	free(sql);
	if (v != SQLITE_OK) {
		v = target;
		goto fail;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
		v = target;
		goto fail;
	}
	log_info("database %s: schema migrated from version %d to %d", path, cur, target);
	return 0;
fail:
	*err = xasprintf("migration %d of %s failed: %s", v, path,
	                 why   ? why
	                 : msg ? msg
	                       : sqlite3_errmsg(db));
	sqlite3_free(msg);
	free(why);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
