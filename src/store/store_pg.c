/*
 * The PostgreSQL store backend: "postgresql://user:pw@host/db" (any libpq
 * connection URI; "postgres://" too).
 *
 * Step 1 of 2 (docs/store.md, "PostgreSQL"): one connection used
 * synchronously, every call waits for its answer. Statements are prepared
 * once per connection. A lost connection is logged once and reset at the
 * next call made outside a transaction; inside one every call fails until
 * the caller rolls back, so nothing that was not committed is reported
 * committed. A COMMIT that PostgreSQL turns into a ROLLBACK (the
 * transaction had failed) is reported as a failure.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "store_backend.h"
#include "store_pg_schema.h"
#include "xmalloc.h"

#define MAX_PARAMS 16

#define Q_COLS                                                                                     \
	"id, dir, net, jid, resource, peer, body, xmpp_id, dedup_key, extra, flags, "              \
	"attempts, created, next_try, held"

enum pg_stmt {
	P_USER_ADD,
	P_USER_GET,
	P_USER_DISABLE,
	P_USER_ALL,
	P_USER_NET,
	P_USER_COUNT_ALL,
	P_USER_COUNT_NET,
	P_USER_DEL_SETTINGS,
	P_USER_DEL_CONTACTS,
	P_USER_DEL_QUEUE,
	P_USER_DEL_TOMBS,
	P_USER_DEL_ARCHIVE,
	P_USER_DEL,
	P_SET_GET,
	P_SET_PUT,
	P_SET_DEL,
	P_SET_ALL,
	P_SET_FIND,
	P_SECRET_COUNT,
	P_CONTACT_PUT,
	P_CONTACT_GET,
	P_CONTACT_DEL,
	P_CONTACT_ALL,
	P_CONTACT_UNREG,
	P_Q_INSERT,
	P_Q_DUE,
	P_Q_HELD,
	P_Q_GET,
	P_Q_RETRY,
	P_Q_HOLD,
	P_Q_RELEASE,
	P_Q_DELETE,
	P_Q_SEEN,
	P_Q_TOMB,
	P_Q_RESERVE,
	P_Q_COUNT_ALL,
	P_Q_COUNT_NET,
	P_Q_NEXT_DUE,
	P_Q_OLDEST,
	P_Q_PRUNE,
	P_ARCH_ADD,
	P_ARCH_ASC,
	P_ARCH_DESC,
	P_COUNT
};

static const char *const pg_sql[P_COUNT] = {
        [P_USER_ADD] = "INSERT INTO users (net, jid, created) VALUES ($1, $2, $3)"
                       " ON CONFLICT DO NOTHING",
        [P_USER_GET] = "SELECT disabled, created FROM users WHERE net = $1 AND jid = $2",
        [P_USER_DISABLE] = "UPDATE users SET disabled = $3 WHERE net = $1 AND jid = $2",
        [P_USER_ALL] = "SELECT net, jid, disabled, created FROM users ORDER BY net, jid",
        [P_USER_NET] = "SELECT net, jid, disabled, created FROM users WHERE net = $1"
                       " ORDER BY jid",
        [P_USER_COUNT_ALL] = "SELECT count(*) FROM users",
        [P_USER_COUNT_NET] = "SELECT count(*) FROM users WHERE net = $1",
        [P_USER_DEL_SETTINGS] = "DELETE FROM settings WHERE net = $1 AND jid = $2",
        [P_USER_DEL_CONTACTS] = "DELETE FROM contacts WHERE net = $1 AND jid = $2",
        [P_USER_DEL_QUEUE] = "DELETE FROM queue WHERE net = $1 AND jid = $2",
        [P_USER_DEL_TOMBS] = "DELETE FROM queue_tombstones WHERE net = $1 AND jid = $2",
        [P_USER_DEL_ARCHIVE] = "DELETE FROM archive WHERE net = $1 AND jid = $2",
        [P_USER_DEL] = "DELETE FROM users WHERE net = $1 AND jid = $2",

        [P_SET_GET] = "SELECT value FROM settings WHERE net = $1 AND jid = $2"
                      " AND scope = $3 AND key = $4 AND secret = $5",
        [P_SET_PUT] = "INSERT INTO settings (net, jid, scope, key, secret, value)"
                      " VALUES ($1, $2, $3, $4, $5, $6)"
                      " ON CONFLICT (net, jid, scope, key) DO UPDATE"
                      " SET secret = excluded.secret, value = excluded.value",
        [P_SET_DEL] = "DELETE FROM settings WHERE net = $1 AND jid = $2"
                      " AND scope = $3 AND key = $4 AND secret = $5",
        [P_SET_ALL] = "SELECT key, value, secret FROM settings WHERE net = $1 AND jid = $2"
                      " AND scope = $3 ORDER BY key",
        [P_SET_FIND] = "SELECT jid, scope, value FROM settings WHERE net = $1 AND key = $2"
                       " AND secret = 0 ORDER BY jid, scope",
        [P_SECRET_COUNT] = "SELECT count(*) FROM settings WHERE secret = 1",

        [P_CONTACT_PUT] = "INSERT INTO contacts (net, jid, address, name, sub)"
                          " VALUES ($1, $2, $3, $4, $5)"
                          " ON CONFLICT (net, jid, address) DO UPDATE"
                          " SET name = excluded.name, sub = excluded.sub",
        [P_CONTACT_GET] = "SELECT name, sub FROM contacts WHERE net = $1 AND jid = $2"
                          " AND address = $3",
        [P_CONTACT_DEL] = "DELETE FROM contacts WHERE net = $1 AND jid = $2 AND address = $3",
        [P_CONTACT_ALL] = "SELECT address, name, sub FROM contacts WHERE net = $1 AND jid = $2"
                          " ORDER BY address",
        [P_CONTACT_UNREG] = "SELECT jid, min(address) FROM contacts WHERE net = $1"
                            " AND jid NOT IN (SELECT jid FROM users WHERE net = $1)"
                            " GROUP BY jid ORDER BY jid",

        /* As in SQLite: one statement checks the tombstones and inserts. */
        [P_Q_INSERT] = "INSERT INTO queue (id, dir, net, jid, resource, peer, body, xmpp_id,"
                       " dedup_key, extra, flags, attempts, created, next_try, held)"
                       " SELECT coalesce(nullif($16::bigint, 0), nextval('queue_id_seq')),"
                       " $1::smallint, $2::text, $3::text, $4::text, $5::text, $6::text,"
                       " $7::text, $8::text, $9::text, $10::bigint, $11::integer,"
                       " $12::bigint, $13::bigint, $14::smallint"
                       " WHERE $8::text IS NULL OR NOT EXISTS (SELECT 1 FROM queue_tombstones"
                       "  WHERE dir = $1 AND net = $2 AND jid = $3 AND dedup_key = $8"
                       "  AND deleted >= $15)"
                       " ON CONFLICT DO NOTHING RETURNING id",
        [P_Q_DUE] = "SELECT " Q_COLS " FROM queue WHERE dir = $1 AND net = $2 AND held = 0"
                    " AND next_try <= $3 ORDER BY id LIMIT $4",
        [P_Q_HELD] = "SELECT " Q_COLS " FROM queue WHERE net = $2 AND jid = $3 AND dir = $1"
                     " AND held = 1 ORDER BY id",
        [P_Q_GET] = "SELECT " Q_COLS " FROM queue WHERE id = $1",
        [P_Q_RETRY] = "UPDATE queue SET attempts = $2, next_try = $3 WHERE id = $1",
        [P_Q_HOLD] = "UPDATE queue SET held = $2 WHERE id = $1",
        [P_Q_RELEASE] = "UPDATE queue SET held = 0, next_try = $4 WHERE net = $2 AND jid = $3"
                        " AND dir = $1 AND held = 1",
        /* The queue_tombstone trigger keeps the dedup key. */
        [P_Q_DELETE] = "DELETE FROM queue WHERE id = $1",
        [P_Q_SEEN] = "SELECT (EXISTS (SELECT 1 FROM queue WHERE dir = $1 AND net = $2"
                     "  AND jid = $3 AND dedup_key = $4)"
                     " OR EXISTS (SELECT 1 FROM queue_tombstones WHERE dir = $1 AND net = $2"
                     "  AND jid = $3 AND dedup_key = $4 AND deleted >= $5))::int",
        [P_Q_TOMB] = "INSERT INTO queue_tombstones (dir, net, jid, dedup_key, deleted)"
                     " VALUES ($1, $2, $3, $4, $5)"
                     " ON CONFLICT (dir, net, jid, dedup_key) DO UPDATE"
                     " SET deleted = excluded.deleted",
        /*
         * The sequence never hands out an id at or below its value, so a
         * reserved block is never reused. Not atomic against another
         * instance's nextval() between the two calls: one instance per
         * database until the leases of issue 12 section 2.
         */
        [P_Q_RESERVE] = "SELECT setval('queue_id_seq', nextval('queue_id_seq') + $1 - 1)",
        [P_Q_COUNT_ALL] = "SELECT count(*) FROM queue WHERE dir = $1",
        [P_Q_COUNT_NET] = "SELECT count(*) FROM queue WHERE net = $2 AND dir = $1",
        [P_Q_NEXT_DUE] = "SELECT min(next_try) FROM queue WHERE dir = $1 AND net = $2"
                         " AND held = 0",
        [P_Q_OLDEST] = "SELECT created FROM queue WHERE dir = $1 AND net = $2 AND held = 0"
                       " ORDER BY id LIMIT 1",
        [P_Q_PRUNE] = "DELETE FROM queue_tombstones WHERE deleted < $1",

        [P_ARCH_ADD] = "INSERT INTO archive (net, jid, room, stamp, nick, body, uid)"
                       " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        [P_ARCH_ASC] = "SELECT id, stamp, nick, body, uid FROM archive"
                       " WHERE net = $1 AND jid = $2 AND room = $3 AND stamp >= $4"
                       " AND stamp <= $5 AND id > $6 AND id < $7 ORDER BY id ASC LIMIT $8",
        [P_ARCH_DESC] = "SELECT id, stamp, nick, body, uid FROM archive"
                        " WHERE net = $1 AND jid = $2 AND room = $3 AND stamp >= $4"
                        " AND stamp <= $5 AND id > $6 AND id < $7 ORDER BY id DESC LIMIT $8",
};

struct pg {
	PGconn *conn;
	int depth;              /* open transaction levels */
	bool lost;              /* the loss of the connection was logged */
	bool prepared[P_COUNT]; /* on this connection */
};

/* ---- Connection ---- */

/* The first line of a libpq message, for a one-line log or error. */
static char *
first_line(const char *msg)
{
	if (msg == NULL || *msg == '\0')
		return xstrdup("unknown error");
	return xstrndup(msg, strcspn(msg, "\n"));
}

static void
pg_warn(struct pg *pg, const char *what, const PGresult *res)
{
	char *line = first_line(res ? PQresultErrorMessage(res) : NULL);

	if (res == NULL || *PQresultErrorMessage(res) == '\0') {
		free(line);
		line = first_line(PQerrorMessage(pg->conn));
	}
	log_warnx("store: PostgreSQL: %s: %s", what, line);
	free(line);
}

/* NOTICEs (CREATE ... IF NOT EXISTS and the like) go to the debug log. */
static void
pg_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("store: PostgreSQL says: %.*s", (int)strcspn(msg, "\n"), msg);
}

/*
 * The connection, usable: 0, or -1. Reset when it was lost outside a
 * transaction; inside one, what it did is gone, so the calls fail until
 * the caller rolls back.
 */
static int
pg_usable(struct pg *pg)
{
	if (PQstatus(pg->conn) == CONNECTION_OK) {
		if (pg->lost)
			log_info("store: PostgreSQL connection is back");
		pg->lost = false;
		return 0;
	}
	if (!pg->lost) {
		char *why = first_line(PQerrorMessage(pg->conn));

		log_warnx("store: PostgreSQL connection lost (%s); nothing of an unfinished "
		          "transaction is kept",
		          why);
		free(why);
	}
	pg->lost = true;
	if (pg->depth > 0)
		return -1;
	PQreset(pg->conn);
	if (PQstatus(pg->conn) != CONNECTION_OK)
		return -1;
	memset(pg->prepared, 0, sizeof(pg->prepared));
	log_info("store: PostgreSQL connection re-established");
	pg->lost = false;
	return 0;
}

/* Run a fixed command (transactions): the result, or NULL (logged). */
static PGresult *
pg_command(struct pg *pg, const char *sql)
{
	PGresult *res;

	if (pg->depth == 0 && pg_usable(pg) == -1)
		return NULL;
	res = PQexec(pg->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_warn(pg, sql, res);
		PQclear(res);
		if (PQstatus(pg->conn) != CONNECTION_OK)
			pg_usable(pg);
		return NULL;
	}
	return res;
}

/*
 * Run statement id with parameters from fmt: 's' text (NULL binds NULL),
 * 'i' int, 'I' int64_t, 'b' bytes (const void *, size_t). The result
 * (caller clears), or NULL (logged).
 */
static PGresult *
pg_run(struct pg *pg, enum pg_stmt id, const char *fmt, ...)
{
	char num[MAX_PARAMS][24], name[16];
	const char *val[MAX_PARAMS];
	int len[MAX_PARAMS], bin[MAX_PARAMS], n = 0;
	PGresult *res;
	ExecStatusType st;
	va_list ap;

	if (pg_usable(pg) == -1)
		return NULL;
	va_start(ap, fmt);
	for (; *fmt != '\0'; fmt++, n++) {
		len[n] = bin[n] = 0;
		switch (*fmt) {
		case 's':
			val[n] = va_arg(ap, const char *);
			break;
		case 'i':
			snprintf(num[n], sizeof(num[n]), "%d", va_arg(ap, int));
			val[n] = num[n];
			break;
		case 'I':
			snprintf(num[n], sizeof(num[n]), "%" PRId64, va_arg(ap, int64_t));
			val[n] = num[n];
			break;
		case 'b':
			val[n] = va_arg(ap, const char *);
			len[n] = (int)va_arg(ap, size_t);
			bin[n] = 1;
			break;
		default:
			fatalx("store: bad bind format '%c'", *fmt);
		}
	}
	va_end(ap);
	snprintf(name, sizeof(name), "sg%d", (int)id);
	if (!pg->prepared[id]) {
		res = PQprepare(pg->conn, name, pg_sql[id], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pg_warn(pg, "preparing a statement", res);
			PQclear(res);
			return NULL;
		}
		PQclear(res);
		pg->prepared[id] = true;
	}
	res = PQexecPrepared(pg->conn, name, n, val, len, bin, 0);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_warn(pg, pg_sql[id], res);
		PQclear(res);
		if (PQstatus(pg->conn) != CONNECTION_OK)
			pg_usable(pg);
		return NULL;
	}
	return res;
}

/* A result's rows changed, or -1 for NULL; clears it. */
static long
pg_changes(PGresult *res)
{
	long n;

	if (res == NULL)
		return -1;
	n = atol(PQcmdTuples(res));
	PQclear(res);
	return n;
}

/* The integer in the first column of the first row, or -1; clears res. */
static long
pg_long(PGresult *res)
{
	long n = -1;

	if (res == NULL)
		return -1;
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		n = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

static int64_t
col_i64(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* A text column, NULL for NULL: owned by res. */
static const char *
col_str(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static char *
col_dup(const PGresult *res, int row, int col)
{
	const char *s = col_str(res, row, col);

	return s ? xstrdup(s) : NULL;
}

/* A BYTEA column's bytes plus a NUL not counted in *len (caller frees). */
static char *
col_bytes(const PGresult *res, int row, int col, size_t *len)
{
	unsigned char *raw;
	char *v;
	size_t n;

	raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &n);
	if (raw == NULL)
		fatalx("store: out of memory decoding a PostgreSQL value");
	v = xmalloc(n + 1);
	if (n > 0)
		memcpy(v, raw, n);
	v[n] = '\0';
	PQfreemem(raw);
	*len = n;
	return v;
}

static void pg_close(void *);

static void *
pg_open(const char *url, int version, char **err)
{
	struct pg *pg = xcalloc(1, sizeof(*pg));
	char *line;

	pg->conn = PQconnectdb(url);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		line = first_line(PQerrorMessage(pg->conn));
		*err = xasprintf("cannot connect to the PostgreSQL store: %s", line);
		free(line);
		goto fail;
	}
	PQsetNoticeProcessor(pg->conn, pg_notice, NULL);
	if (pg_schema_migrate(pg->conn, version, err) == -1)
		goto fail;
	return pg;
fail:
	pg_close(pg);
	return NULL;
}

static void
pg_close(void *be)
{
	struct pg *pg = be;

	PQfinish(pg->conn);
	free(pg);
}

static int
pg_version(void *be)
{
	struct pg *pg = be;

	if (pg_usable(pg) == -1)
		return -1;
	return pg_schema_version(pg->conn);
}

/* ---- Transactions ---- */

static int
pg_begin(void *be, int depth)
{
	struct pg *pg = be;
	PGresult *res = pg_command(pg, depth == 1 ? "BEGIN" : "SAVEPOINT sg");

	if (res == NULL)
		return -1;
	PQclear(res);
	pg->depth = depth;
	return 0;
}

static int
pg_rollback(void *be, int depth)
{
	struct pg *pg = be;
	PGresult *res;
	int r = 0;

	pg->depth = depth - 1;
	if (depth == 1) {
		/* A lost connection has rolled back already. */
		if (PQstatus(pg->conn) != CONNECTION_OK)
			return 0;
		res = PQexec(pg->conn, "ROLLBACK");
		r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
		PQclear(res);
		return r;
	}
	/* ROLLBACK TO keeps the savepoint open; RELEASE closes it. */
	res = PQexec(pg->conn, "ROLLBACK TO SAVEPOINT sg; RELEASE SAVEPOINT sg");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_warn(pg, "rolling back a savepoint", res);
		r = -1;
	}
	PQclear(res);
	return r;
}

static int
pg_commit(void *be, int depth)
{
	struct pg *pg = be;
	PGresult *res;
	bool ok;

	res = PQexec(pg->conn, depth == 1 ? "COMMIT" : "RELEASE SAVEPOINT sg");
	/* COMMIT of a failed transaction "succeeds" as ROLLBACK. */
	ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
	     (depth > 1 || strcmp(PQcmdStatus(res), "COMMIT") == 0);
	if (!ok)
		pg_warn(pg,
		        depth == 1 ? "COMMIT (nothing of the transaction was kept)"
		                   : "RELEASE SAVEPOINT",
		        PQresultStatus(res) == PGRES_COMMAND_OK ? NULL : res);
	PQclear(res);
	if (ok) {
		pg->depth = depth - 1;
		return 0;
	}
	if (depth == 1)
		pg->depth = 0;
	else
		pg_rollback(pg, depth);
	if (PQstatus(pg->conn) != CONNECTION_OK)
		pg_usable(pg);
	return -1;
}

/* ---- Users ---- */

static int
pg_user_add(void *be, const char *net, const char *jid, time_t now)
{
	return pg_changes(pg_run(be, P_USER_ADD, "ssI", net, jid, (int64_t)now)) == -1 ? -1 : 0;
}

static int
pg_user_remove(void *be, const char *net, const char *jid)
{
	static const enum pg_stmt del[] = {
	        P_USER_DEL_SETTINGS, P_USER_DEL_CONTACTS, P_USER_DEL_QUEUE,
	        P_USER_DEL_TOMBS,    P_USER_DEL_ARCHIVE,  P_USER_DEL,
	};
	size_t i;

	for (i = 0; i < sizeof(del) / sizeof(del[0]); i++)
		if (pg_changes(pg_run(be, del[i], "ss", net, jid)) == -1)
			return -1;
	return 0;
}

static int
pg_user_get(void *be, const char *net, const char *jid, struct store_user *out)
{
	PGresult *res = pg_run(be, P_USER_GET, "ss", net, jid);
	int r;

	if (res == NULL)
		return -1;
	if ((r = PQntuples(res) > 0) && out != NULL) {
		out->net = xstrdup(net);
		out->jid = xstrdup(jid);
		out->disabled = col_i64(res, 0, 0) != 0;
		out->created = (time_t)col_i64(res, 0, 1);
	}
	PQclear(res);
	return r;
}

static int
pg_user_set_disabled(void *be, const char *net, const char *jid, bool disabled)
{
	long n = pg_changes(pg_run(be, P_USER_DISABLE, "ssi", net, jid, disabled ? 1 : 0));

	return n == -1 ? -1 : n > 0;
}

static int
pg_user_foreach(void *be, const char *net, int (*cb)(const struct store_user *, void *), void *arg)
{
	PGresult *res = net ? pg_run(be, P_USER_NET, "s", net) : pg_run(be, P_USER_ALL, "");
	struct store_user u;
	int i;

	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res); i++) {
		u.net = PQgetvalue(res, i, 0);
		u.jid = PQgetvalue(res, i, 1);
		u.disabled = col_i64(res, i, 2) != 0;
		u.created = (time_t)col_i64(res, i, 3);
		if (cb(&u, arg) != 0)
			break;
	}
	PQclear(res);
	return 0;
}

static long
pg_user_count(void *be, const char *net)
{
	if (net == NULL)
		return pg_long(pg_run(be, P_USER_COUNT_ALL, ""));
	return pg_long(pg_run(be, P_USER_COUNT_NET, "s", net));
}

/* ---- Settings ---- */

static int
pg_setting_get(void *be, const char *net, const char *jid, const char *scope, const char *key,
               bool secret, char **val, size_t *len)
{
	PGresult *res = pg_run(be, P_SET_GET, "ssssi", net, jid, scope, key, secret ? 1 : 0);
	int r;

	if (res == NULL)
		return -1;
	if ((r = PQntuples(res) > 0))
		*val = col_bytes(res, 0, 0, len);
	PQclear(res);
	return r;
}

static int
pg_setting_set(void *be, const char *net, const char *jid, const char *scope, const char *key,
               bool secret, const void *val, size_t len)
{
	PGresult *res;

	if (val == NULL)
		res = pg_run(be, P_SET_DEL, "ssssi", net, jid, scope, key, secret ? 1 : 0);
	else
		res = pg_run(be, P_SET_PUT, "ssssib", net, jid, scope, key, secret ? 1 : 0, val,
		             len);
	return pg_changes(res) == -1 ? -1 : 0;
}

static int
pg_setting_foreach(void *be, const char *net, const char *jid, const char *scope,
                   int (*cb)(const char *, const void *, size_t, bool, void *), void *arg)
{
	PGresult *res = pg_run(be, P_SET_ALL, "sss", net, jid, scope);
	size_t len;
	char *v;
	int i, stop = 0;

	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res) && !stop; i++) {
		v = col_bytes(res, i, 1, &len);
		stop = cb(PQgetvalue(res, i, 0), v, len, col_i64(res, i, 2) != 0, arg);
		free(v);
	}
	PQclear(res);
	return 0;
}

static int
pg_setting_find(void *be, const char *net, const char *key,
                int (*cb)(const char *, const char *, const char *, void *), void *arg)
{
	PGresult *res = pg_run(be, P_SET_FIND, "ss", net, key);
	size_t len;
	char *v;
	int i, stop = 0;

	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res) && !stop; i++) {
		v = col_bytes(res, i, 2, &len);
		stop = cb(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), v, arg);
		free(v);
	}
	PQclear(res);
	return 0;
}

static long
pg_secret_count(void *be)
{
	return pg_long(pg_run(be, P_SECRET_COUNT, ""));
}

/* ---- Contacts ---- */

static int
pg_contact_set(void *be, const char *net, const char *jid, const char *address, const char *name,
               enum store_sub sub)
{
	return pg_changes(pg_run(be, P_CONTACT_PUT, "ssssi", net, jid, address, name, (int)sub)) ==
	                       -1
	               ? -1
	               : 0;
}

static int
pg_contact_get(void *be, const char *net, const char *jid, const char *address, enum store_sub *sub,
               char **name)
{
	PGresult *res = pg_run(be, P_CONTACT_GET, "sss", net, jid, address);
	int r;

	if (res == NULL)
		return -1;
	if ((r = PQntuples(res) > 0)) {
		if (name != NULL)
			*name = col_dup(res, 0, 0);
		if (sub != NULL)
			*sub = (enum store_sub)col_i64(res, 0, 1);
	}
	PQclear(res);
	return r;
}

static int
pg_contact_remove(void *be, const char *net, const char *jid, const char *address)
{
	return pg_changes(pg_run(be, P_CONTACT_DEL, "sss", net, jid, address)) == -1 ? -1 : 0;
}

static int
pg_contact_foreach(void *be, const char *net, const char *jid,
                   int (*cb)(const char *, const char *, enum store_sub, void *), void *arg)
{
	PGresult *res = pg_run(be, P_CONTACT_ALL, "ss", net, jid);
	int i;

	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res); i++)
		if (cb(PQgetvalue(res, i, 0), col_str(res, i, 1),
		       (enum store_sub)col_i64(res, i, 2), arg) != 0)
			break;
	PQclear(res);
	return 0;
}

static int
pg_contact_unregistered(void *be, const char *net, int (*cb)(const char *, const char *, void *),
                        void *arg)
{
	PGresult *res = pg_run(be, P_CONTACT_UNREG, "s", net);
	int i;

	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res); i++)
		if (cb(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), arg) != 0)
			break;
	PQclear(res);
	return 0;
}

/* ---- Room archive ---- */

static int
pg_archive_add(void *be, const char *net, const char *jid, const char *room, time_t stamp,
               const char *nick, const char *body, const char *uid, int64_t *id)
{
	long v = pg_long(
	        pg_run(be, P_ARCH_ADD, "sssIsss", net, jid, room, (int64_t)stamp, nick, body, uid));

	if (v <= 0)
		return -1;
	if (id != NULL)
		*id = v;
	return 0;
}

static int
pg_archive_query(void *be, const char *net, const char *jid, const char *room,
                 const struct store_archive_query *q,
                 int (*cb)(const struct store_archive_row *, void *), void *arg)
{
	enum pg_stmt id = q->newest_first ? P_ARCH_DESC : P_ARCH_ASC;
	PGresult *res;
	char lim[16];
	int i, n = 0;

	/* LIMIT NULL is no limit. */
	snprintf(lim, sizeof(lim), "%d", q->limit);
	res = pg_run(be, id, "sssIIIIs", net, jid, room, (int64_t)q->start,
	             (int64_t)(q->end ? q->end : INT64_MAX), q->after_id,
	             q->before_id ? q->before_id : INT64_MAX, q->limit > 0 ? lim : NULL);
	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res); i++) {
		struct store_archive_row row = {
		        col_i64(res, i, 0),    (time_t)col_i64(res, i, 1), PQgetvalue(res, i, 2),
		        PQgetvalue(res, i, 3), col_str(res, i, 4),
		};

		n++;
		if (cb(&row, arg) != 0)
			break;
	}
	PQclear(res);
	return n;
}

/* ---- Queues ---- */

/* Row i of a queue query (Q_COLS) into m. */
static void
row_msg(const PGresult *res, int i, struct store_msg *m)
{
	m->id = col_i64(res, i, 0);
	m->dir = (enum store_dir)col_i64(res, i, 1);
	m->net = col_dup(res, i, 2);
	m->user = col_dup(res, i, 3);
	m->resource = col_dup(res, i, 4);
	m->peer = col_dup(res, i, 5);
	m->body = col_dup(res, i, 6);
	m->xmpp_id = col_dup(res, i, 7);
	m->dedup_key = col_dup(res, i, 8);
	m->extra = col_dup(res, i, 9);
	m->flags = (unsigned)col_i64(res, i, 10);
	m->attempts = (int)col_i64(res, i, 11);
	m->created = (time_t)col_i64(res, i, 12);
	m->next_try = (time_t)col_i64(res, i, 13);
	m->held = col_i64(res, i, 14) != 0;
}

static int
pg_queue_push(void *be, struct store_msg *m, int64_t id, time_t tomb_after)
{
	PGresult *res;
	int r;

	res = pg_run(be, P_Q_INSERT, "issssssssIiIIiII", (int)m->dir, m->net, m->user, m->resource,
	             m->peer, m->body, m->xmpp_id, m->dedup_key, m->extra, (int64_t)m->flags,
	             m->attempts, (int64_t)m->created, (int64_t)m->next_try, m->held ? 1 : 0,
	             (int64_t)tomb_after, id);
	if (res == NULL)
		return -1;
	if ((r = PQntuples(res) == 0 ? 1 : 0) == 0)
		m->id = col_i64(res, 0, 0);
	PQclear(res);
	return r;
}

/* Every row of a queue query into *out (*n of them); clears res. */
static int
read_msgs(PGresult *res, struct store_msg **out, size_t *n)
{
	int i;

	*out = NULL;
	*n = 0;
	if (res == NULL)
		return -1;
	if (PQntuples(res) > 0) {
		*out = xcalloc((size_t)PQntuples(res), sizeof(**out));
		for (i = 0; i < PQntuples(res); i++)
			row_msg(res, i, &(*out)[i]);
		*n = (size_t)PQntuples(res);
	}
	PQclear(res);
	return 0;
}

static int
pg_queue_due(void *be, enum store_dir dir, const char *net, time_t now, int limit,
             struct store_msg **out, size_t *n)
{
	char lim[16];

	snprintf(lim, sizeof(lim), "%d", limit);
	return read_msgs(
	        pg_run(be, P_Q_DUE, "isIs", (int)dir, net, (int64_t)now, limit > 0 ? lim : NULL),
	        out, n);
}

static int
pg_queue_held(void *be, enum store_dir dir, const char *net, const char *user,
              struct store_msg **out, size_t *n)
{
	return read_msgs(pg_run(be, P_Q_HELD, "iss", (int)dir, net, user), out, n);
}

static int
pg_queue_get(void *be, int64_t id, struct store_msg *out)
{
	PGresult *res = pg_run(be, P_Q_GET, "I", id);
	int r;

	if (res == NULL)
		return -1;
	if ((r = PQntuples(res) > 0))
		row_msg(res, 0, out);
	PQclear(res);
	return r;
}

static int
pg_queue_retry(void *be, int64_t id, int attempts, time_t next_try)
{
	long n = pg_changes(pg_run(be, P_Q_RETRY, "IiI", id, attempts, (int64_t)next_try));

	return n == -1 ? -1 : n > 0;
}

static int
pg_queue_hold(void *be, int64_t id, bool held)
{
	long n = pg_changes(pg_run(be, P_Q_HOLD, "Ii", id, held ? 1 : 0));

	return n == -1 ? -1 : n > 0;
}

static int
pg_queue_release_user(void *be, enum store_dir dir, const char *net, const char *user, time_t now)
{
	return pg_changes(pg_run(be, P_Q_RELEASE, "issI", (int)dir, net, user, (int64_t)now)) == -1
	               ? -1
	               : 0;
}

static int
pg_queue_delete(void *be, int64_t id, time_t now)
{
	(void)now; /* the trigger stamps the tombstone */
	return pg_changes(pg_run(be, P_Q_DELETE, "I", id)) == -1 ? -1 : 0;
}

static int
pg_queue_seen(void *be, enum store_dir dir, const char *net, const char *jid, const char *key,
              time_t tomb_after)
{
	return (int)pg_long(
	        pg_run(be, P_Q_SEEN, "isssI", (int)dir, net, jid, key, (int64_t)tomb_after));
}

static int
pg_queue_tombstone(void *be, enum store_dir dir, const char *net, const char *jid, const char *key,
                   time_t now)
{
	return pg_changes(pg_run(be, P_Q_TOMB, "isssI", (int)dir, net, jid, key, (int64_t)now)) ==
	                       -1
	               ? -1
	               : 0;
}

static int
pg_queue_reserve(void *be, int n, int64_t *last)
{
	long v = pg_long(pg_run(be, P_Q_RESERVE, "i", n));

	if (v <= 0)
		return -1;
	*last = v;
	return 0;
}

static long
pg_queue_count(void *be, enum store_dir dir, const char *net)
{
	if (net == NULL)
		return pg_long(pg_run(be, P_Q_COUNT_ALL, "i", (int)dir));
	return pg_long(pg_run(be, P_Q_COUNT_NET, "is", (int)dir, net));
}

/* A time one statement of (dir, net) answers: -1, 0 for none (no row or NULL), 1. */
static int
pg_queue_time(void *be, enum pg_stmt id, enum store_dir dir, const char *net, time_t *when)
{
	PGresult *res = pg_run(be, id, "is", (int)dir, net);
	int r = 0;

	if (res == NULL)
		return -1;
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
		*when = (time_t)col_i64(res, 0, 0);
		r = 1;
	}
	PQclear(res);
	return r;
}

static int
pg_queue_next_due(void *be, enum store_dir dir, const char *net, time_t *when)
{
	return pg_queue_time(be, P_Q_NEXT_DUE, dir, net, when);
}

static int
pg_queue_oldest(void *be, enum store_dir dir, const char *net, time_t *created)
{
	return pg_queue_time(be, P_Q_OLDEST, dir, net, created);
}

static long
pg_queue_prune(void *be, time_t before)
{
	return pg_changes(pg_run(be, P_Q_PRUNE, "I", (int64_t)before));
}

const struct store_ops store_pg_ops = {
        .scheme = "postgresql",
        .open = pg_open,
        .close = pg_close,
        .schema_version = pg_version,
        .schema_latest = pg_schema_latest,
        .begin = pg_begin,
        .commit = pg_commit,
        .rollback = pg_rollback,
        .user_add = pg_user_add,
        .user_remove = pg_user_remove,
        .user_get = pg_user_get,
        .user_set_disabled = pg_user_set_disabled,
        .user_foreach = pg_user_foreach,
        .user_count = pg_user_count,
        .setting_get = pg_setting_get,
        .setting_set = pg_setting_set,
        .setting_foreach = pg_setting_foreach,
        .setting_find = pg_setting_find,
        .secret_count = pg_secret_count,
        .contact_set = pg_contact_set,
        .contact_get = pg_contact_get,
        .contact_remove = pg_contact_remove,
        .contact_foreach = pg_contact_foreach,
        .contact_unregistered = pg_contact_unregistered,
        .queue_push = pg_queue_push,
        .queue_due = pg_queue_due,
        .queue_held = pg_queue_held,
        .queue_get = pg_queue_get,
        .queue_retry = pg_queue_retry,
        .queue_hold = pg_queue_hold,
        .queue_release_user = pg_queue_release_user,
        .queue_delete = pg_queue_delete,
        .queue_seen = pg_queue_seen,
        .queue_tombstone = pg_queue_tombstone,
        .queue_reserve = pg_queue_reserve,
        .queue_count = pg_queue_count,
        .queue_oldest = pg_queue_oldest,
        .queue_next_due = pg_queue_next_due,
        .queue_prune = pg_queue_prune,
        .archive_add = pg_archive_add,
        .archive_query = pg_archive_query,
};
