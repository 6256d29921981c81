/*
 * Migrations of the PostgreSQL store. Entry i takes the schema from
 * version i to i + 1, and reaches the same logical schema as entry i of
 * store_sqlite_schema.c: the two engines share one numbering, so a new
 * migration is added to both files with the same number. A released entry
 * is never edited.
 *
 * Dialect: times are BIGINT seconds, setting values BYTEA (a plain
 * setting's text is stored as its bytes), ids BIGSERIAL, the dedup
 * tombstone trigger PL/pgSQL.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_schema.h"
#include "xmalloc.h"

/* Held while migrating: two instances starting together migrate once. */
#define MIGRATION_LOCK "4711001"

/* 1: users, settings and secrets, contacts, queues. */
static const char v1[] = "CREATE TABLE users ("
                         " net TEXT NOT NULL,"
                         " jid TEXT NOT NULL,"
                         " disabled SMALLINT NOT NULL DEFAULT 0,"
                         " created BIGINT NOT NULL,"
                         " PRIMARY KEY (net, jid));"
                         "CREATE TABLE settings ("
                         " net TEXT NOT NULL,"
                         " jid TEXT NOT NULL,"
                         " scope TEXT NOT NULL,"
                         " key TEXT NOT NULL,"
                         " secret SMALLINT NOT NULL CHECK (secret IN (0, 1)),"
                         " value BYTEA NOT NULL,"
                         " PRIMARY KEY (net, jid, scope, key));"
                         "CREATE TABLE contacts ("
                         " net TEXT NOT NULL,"
                         " jid TEXT NOT NULL,"
                         " address TEXT NOT NULL,"
                         " name TEXT,"
                         " sub SMALLINT NOT NULL CHECK (sub BETWEEN 0 AND 3),"
                         " PRIMARY KEY (net, jid, address));"
                         /* A sequence never hands an id out twice, like AUTOINCREMENT. */
                         "CREATE TABLE queue ("
                         " id BIGSERIAL PRIMARY KEY,"
                         " dir SMALLINT NOT NULL CHECK (dir IN (0, 1)),"
                         " net TEXT NOT NULL,"
                         " jid TEXT NOT NULL,"
                         " resource TEXT,"
                         " peer TEXT NOT NULL,"
                         " body TEXT NOT NULL,"
                         " xmpp_id TEXT,"
                         " dedup_key TEXT,"
                         " extra TEXT,"
                         " flags BIGINT NOT NULL DEFAULT 0,"
                         " attempts INTEGER NOT NULL DEFAULT 0,"
                         " created BIGINT NOT NULL,"
                         " next_try BIGINT NOT NULL,"
                         " held SMALLINT NOT NULL DEFAULT 0 CHECK (held IN (0, 1)));"
                         "CREATE INDEX queue_due ON queue (dir, net, id, next_try) WHERE held = 0;"
                         "CREATE INDEX queue_next ON queue (dir, net, next_try) WHERE held = 0;"
                         "CREATE INDEX queue_user ON queue (net, jid, dir, held);"
                         "CREATE INDEX queue_dedup ON queue (dir, net, jid, dedup_key)"
                         " WHERE dedup_key IS NOT NULL;";

/* 2: dedup tombstones; dedup keys unique among queued messages (the oldest keeps it). */
static const char v2[] =
        "CREATE TABLE queue_tombstones ("
        " dir SMALLINT NOT NULL,"
        " net TEXT NOT NULL,"
        " jid TEXT NOT NULL,"
        " dedup_key TEXT NOT NULL,"
        " deleted BIGINT NOT NULL,"
        " PRIMARY KEY (dir, net, jid, dedup_key));"
        "CREATE INDEX queue_tombstones_deleted ON queue_tombstones (deleted);"
        "UPDATE queue SET dedup_key = NULL WHERE dedup_key IS NOT NULL AND id NOT IN"
        " (SELECT min(id) FROM queue WHERE dedup_key IS NOT NULL"
        "  GROUP BY dir, net, jid, dedup_key);"
        "DROP INDEX queue_dedup;"
        "CREATE UNIQUE INDEX queue_dedup ON queue (dir, net, jid, dedup_key)"
        " WHERE dedup_key IS NOT NULL;";

/* 3: room history per user and room; tombstones written by a trigger. */
static const char v3[] =
        "CREATE TABLE archive ("
        " id BIGSERIAL PRIMARY KEY,"
        " net TEXT NOT NULL,"
        " jid TEXT NOT NULL,"
        " room TEXT NOT NULL,"
        " stamp BIGINT NOT NULL,"
        " nick TEXT NOT NULL,"
        " body TEXT NOT NULL,"
        " uid TEXT);"
        "CREATE INDEX archive_room ON archive (net, jid, room, id);"
        "CREATE INDEX archive_stamp ON archive (net, jid, room, stamp);"
        "CREATE FUNCTION queue_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN"
        "  INSERT INTO queue_tombstones (dir, net, jid, dedup_key, deleted)"
        "   VALUES (old.dir, old.net, old.jid, old.dedup_key,"
        "           CAST(floor(extract(epoch FROM now())) AS BIGINT))"
        "   ON CONFLICT (dir, net, jid, dedup_key) DO UPDATE SET deleted = excluded.deleted;"
        "  RETURN NULL;"
        " END $$;"
        "CREATE TRIGGER queue_tombstone AFTER DELETE ON queue FOR EACH ROW"
        " WHEN (old.dedup_key IS NOT NULL) EXECUTE FUNCTION queue_tombstone();";

/* 4: room memberships, as SQLite's 4 (a restarted gateway rejoins by itself). */
static const char v4[] = "CREATE TABLE room_members ("
                         " net TEXT NOT NULL,"
                         " jid TEXT NOT NULL,"
                         " room TEXT NOT NULL,"
                         " resource TEXT NOT NULL,"
                         " nick TEXT NOT NULL,"
                         " PRIMARY KEY (net, jid, room, resource));";

/* 5: leases, as SQLite's 5: which instance owns a user's foreign sessions, until when. */
static const char v5[] = "CREATE TABLE leases ("
                         " net TEXT NOT NULL,"
                         " jid TEXT NOT NULL,"
                         " owner TEXT NOT NULL,"
                         " expires BIGINT NOT NULL,"
                         " PRIMARY KEY (net, jid));";

static const char *const migrations[] = {v1, v2, v3, v4, v5};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int
pgs_schema_latest(void)
{
	return NMIGRATIONS;
}

/* Run sql (several statements allowed): 0, or -1 with *why (caller frees). */
static int
run(PGconn *conn, const char *sql, char **why)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	const char *msg;
	size_t n;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		return 0;
	}
	msg = PQresultErrorMessage(res);
	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(conn);
	n = strcspn(msg, "\n");
	*why = xstrndup(msg, n);
	PQclear(res);
	return -1;
}

int
pgs_schema_version(PGconn *conn)
{
	PGresult *res;
	int v = -1;

	res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM schema_version");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = atoi(PQgetvalue(res, 0, 0));
	else
		log_warnx("store: reading the schema version: %s", PQresultErrorMessage(res));
	PQclear(res);
	return v;
}

int
pgs_schema_migrate(PGconn *conn, int target, char **err)
{
	char *why = NULL, *sql;
	int cur, v = 0;

	if (target < 0 || target > NMIGRATIONS)
		target = NMIGRATIONS;
	if (run(conn, "BEGIN", &why) == -1 ||
	    run(conn, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", &why) == -1 ||
	    run(conn, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
	        &why) == -1)
		goto fail;
	if ((cur = pgs_schema_version(conn)) == -1) {
		why = xstrdup("cannot read the schema version");
		goto fail;
	}
	if (cur > NMIGRATIONS) {
		*err = xasprintf("the PostgreSQL database has schema version %d, newer than this "
		                 "stanzagate knows (%d): run a newer stanzagate",
		                 cur, NMIGRATIONS);
		run(conn, "ROLLBACK", &why);
		free(why);
		return -1;
	}
	for (v = cur + 1; v <= target; v++)
		if (run(conn, migrations[v - 1], &why) == -1)
			goto fail;
	v = target;
	sql = xasprintf("DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d)",
	                cur > target ? cur : target);
	if (run(conn, sql, &why) == -1) {
		free(sql);
		goto fail;
	}
	free(sql);
	if (run(conn, "COMMIT", &why) == -1)
		goto fail;
	if (cur < target)
		log_info("PostgreSQL store: schema migrated from version %d to %d", cur, target);
	return 0;
fail:
	*err = v > 0 ? xasprintf("PostgreSQL store: migration %d failed: %s", v, why)
	             : xasprintf("PostgreSQL store: cannot migrate: %s", why);
	free(why);
	PQclear(PQexec(conn, "ROLLBACK"));
	return -1;
}
