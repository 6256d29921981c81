/*
 * The SQL the PostgreSQL store backend runs, and the helpers that prepare
 * (once per connection), run and read it, and notice a lost connection.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "store_pg.h"
#include "xmalloc.h"

#define MAX_PARAMS 16

#define Q_COLS                                                                                     \
	"id, dir, net, jid, resource, peer, body, xmpp_id, dedup_key, extra, flags, "              \
	"attempts, created, next_try, held"

static const char *const pgs_sql[P_COUNT] = {
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
        [P_USER_DEL_MEMBERS] = "DELETE FROM room_members WHERE net = $1 AND jid = $2",
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
        [P_Q_COUNT_USER] = "SELECT count(*) FROM queue WHERE net = $2 AND jid = $3 AND dir = $1",
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
        /* As SQLite's: the stamp bounds the scan; only the room's last $5 rows. */
        [P_ARCH_HAS_UID] = "SELECT 1 FROM archive WHERE net = $1 AND jid = $2 AND room = $3"
                           " AND stamp >= $4 AND stamp <= $5 AND uid = $6 LIMIT 1",
        [P_ARCH_UID] = "SELECT uid FROM archive WHERE id = $4 AND net = $1 AND jid = $2"
                       " AND room = $3",
        [P_ARCH_FIND_UID] = "SELECT id FROM (SELECT id, uid FROM archive WHERE net = $1"
                            " AND jid = $2 AND room = $3 ORDER BY id DESC LIMIT $5) AS recent"
                            " WHERE uid = $4 LIMIT 1",

        [P_MEMBER_PUT] =
                "INSERT INTO room_members (net, jid, room, resource, nick)"
                " VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT (net, jid, room, resource) DO UPDATE SET nick = excluded.nick",
        [P_MEMBER_DEL] = "DELETE FROM room_members WHERE net = $1 AND jid = $2 AND room = $3"
                         " AND resource = $4",
        [P_MEMBER_DEL_ROOM] = "DELETE FROM room_members WHERE net = $1 AND jid = $2 AND room = $3",
        [P_MEMBER_NICK] = "UPDATE room_members SET nick = $4 WHERE net = $1 AND jid = $2"
                          " AND room = $3",
        [P_LEASE_TAKE] = "INSERT INTO leases (net, jid, owner, expires) VALUES ($1, $2, $3, $4)"
                         " ON CONFLICT (net, jid) DO UPDATE SET owner = excluded.owner,"
                         " expires = excluded.expires WHERE leases.owner = excluded.owner"
                         " OR leases.expires <= $5 RETURNING owner",
        [P_LEASE_OWNER] = "SELECT owner FROM leases WHERE net = $1 AND jid = $2",
        [P_LEASE_DEL] = "DELETE FROM leases WHERE net = $1 AND jid = $2 AND owner = $3",
        [P_USER_DEL_LEASES] = "DELETE FROM leases WHERE net = $1 AND jid = $2",
        [P_MEMBER_ALL] = "SELECT jid, room, nick, resource FROM room_members WHERE net = $1"
                         " ORDER BY jid, room, resource",
};

/* The first line of a libpq message, for a one-line log or error. */
char *
pgs_first_line(const char *msg)
{
	if (msg == NULL || *msg == '\0')
		return xstrdup("unknown error");
	return xstrndup(msg, strcspn(msg, "\n"));
}

void
pgs_warn(struct pg *pg, const char *what, const PGresult *res)
{
	char *line = pgs_first_line(res ? PQresultErrorMessage(res) : NULL);

	if (res == NULL || *PQresultErrorMessage(res) == '\0') {
		free(line);
		line = pgs_first_line(PQerrorMessage(pg->conn));
	}
	log_warnx("store: PostgreSQL: %s: %s", what, line);
	free(line);
}

/* NOTICEs (CREATE ... IF NOT EXISTS and the like) go to the debug log. */
void
pgs_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("store: PostgreSQL says: %.*s", (int)strcspn(msg, "\n"), msg);
}

#define RETRY_FIRST 0.5 /* seconds before the second reconnection attempt */
#define RETRY_MAX 8.0   /* seconds between attempts, at most */

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

bool
pgs_unreachable(struct pg *pg)
{
	return pg->lost || PQstatus(pg->conn) != CONNECTION_OK;
}

/*
 * One reconnection attempt. The first one is made at once (a backend
 * killed by an operator, a server restarted quickly); then they back off
 * from RETRY_FIRST to RETRY_MAX, so a database that stays down costs one
 * refused connection every few seconds, not one per statement. PQreset()
 * blocks up to libpq's connect_timeout: immediate when the server refuses
 * (it is down, or starting up), as on the machines this runs on.
 */
static int
reconnect(struct pg *pg)
{
	double now = mono_now(), delay;
	char *why;

	if (now < pg->retry_at)
		return -1;
	pg->attempts++;
	PQreset(pg->conn);
	if (PQstatus(pg->conn) == CONNECTION_OK) {
		memset(pg->prepared, 0, sizeof(pg->prepared));
		log_info("store: PostgreSQL connection re-established (attempt %d, %.1f s "
		         "after the loss)",
		         pg->attempts, now - pg->lost_at);
		pg->lost = false;
		pg->attempts = 0;
		pg->retry_at = 0;
		return 0;
	}
	delay = RETRY_FIRST;
	for (int i = 1; i < pg->attempts && delay < RETRY_MAX; i++)
		delay *= 2;
	if (delay > RETRY_MAX)
		delay = RETRY_MAX;
	pg->retry_at = now + delay;
	why = pgs_first_line(PQerrorMessage(pg->conn));
	log_warnx("store: PostgreSQL unreachable (%s); attempt %d failed, next in %.1f s", why,
	          pg->attempts, delay);
	free(why);
	return -1;
}

/*
 * The connection, usable: 0, or -1. Reset when it was lost outside a
 * transaction (with backoff); inside one, what it did is gone, so the calls
 * fail until the caller rolls back.
 */
int
pgs_usable(struct pg *pg)
{
	if (!pg->lost && PQstatus(pg->conn) == CONNECTION_OK)
		return 0;
	if (!pg->lost) {
		char *why = pgs_first_line(PQerrorMessage(pg->conn));

		log_warnx("store: PostgreSQL connection lost (%s); nothing of an unfinished "
		          "transaction is kept",
		          why);
		free(why);
		pg->lost = true;
		pg->attempts = 0;
		pg->lost_at = mono_now();
		pg->retry_at = 0;
	}
	if (pg->depth > 0)
		return -1;
	return reconnect(pg);
}

/* Run a fixed command (transactions): the result, or NULL (logged). */
PGresult *
pgs_command(struct pg *pg, const char *sql)
{
	PGresult *res;

	if (pg->depth == 0 && pgs_usable(pg) == -1)
		return NULL;
	res = PQexec(pg->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pgs_warn(pg, sql, res);
		PQclear(res);
		if (PQstatus(pg->conn) != CONNECTION_OK)
			pgs_usable(pg);
		return NULL;
	}
	return res;
}

/*
 * Run statement id with parameters from fmt: 's' text (NULL binds NULL),
 * 'i' int, 'I' int64_t, 'b' bytes (const void *, size_t). The result
 * (caller clears), or NULL (logged).
 */
PGresult *
pgs_run(struct pg *pg, enum pgs_stmt id, const char *fmt, ...)
{
	char num[MAX_PARAMS][24], name[16];
	const char *val[MAX_PARAMS];
	int len[MAX_PARAMS], bin[MAX_PARAMS], n = 0;
	PGresult *res;
	ExecStatusType st;
	va_list ap;

	if (pgs_usable(pg) == -1)
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
		res = PQprepare(pg->conn, name, pgs_sql[id], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pgs_warn(pg, "preparing a statement", res);
			PQclear(res);
			return NULL;
		}
		PQclear(res);
		pg->prepared[id] = true;
	}
	res = PQexecPrepared(pg->conn, name, n, val, len, bin, 0);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pgs_warn(pg, pgs_sql[id], res);
		PQclear(res);
		if (PQstatus(pg->conn) != CONNECTION_OK)
			pgs_usable(pg);
		return NULL;
	}
	return res;
}

/* A result's rows changed, or -1 for NULL; clears it. */
long
pgs_changes(PGresult *res)
{
	long n;

	if (res == NULL)
		return -1;
	n = atol(PQcmdTuples(res));
	PQclear(res);
	return n;
}

/* The integer in the first column of the first row, or -1; clears res. */
long
pgs_long(PGresult *res)
{
	long n = -1;

	if (res == NULL)
		return -1;
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		n = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

int64_t
pgs_i64(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* A text column, NULL for NULL: owned by res. */
const char *
pgs_str(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

char *
pgs_dup(const PGresult *res, int row, int col)
{
	const char *s = pgs_str(res, row, col);

	return s ? xstrdup(s) : NULL;
}

/* A BYTEA column's bytes plus a NUL not counted in *len (caller frees). */
char *
pgs_bytes(const PGresult *res, int row, int col, size_t *len)
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
