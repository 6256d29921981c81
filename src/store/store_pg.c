/*
 * The PostgreSQL store backend: "postgresql://user:pw@host/db" (any libpq
 * connection URI; "postgres://" too).
 *
 * Step 1 of 2 (docs/store.md, "PostgreSQL"): one connection used
 * synchronously, every call waits for its answer. Statements are prepared
 * once per connection. A lost connection is logged once and reset at the
 * next call made outside a transaction, with backoff between attempts
 * (calls in between fail at once); inside one every call fails until
 * the caller rolls back, so nothing that was not committed is reported
 * committed. A COMMIT that PostgreSQL turns into a ROLLBACK (the
 * transaction had failed) is reported as a failure.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "store_backend.h"
#include "store_pg.h"
#include "store_pg_schema.h"
#include "xmalloc.h"

static void pgs_close(void *);

static void *
pgs_open(const char *url, int version, char **err)
{
	struct pg *pg = xcalloc(1, sizeof(*pg));
	char *line;

	pg->conn = PQconnectdb(url);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		line = pgs_first_line(PQerrorMessage(pg->conn));
		*err = xasprintf("cannot connect to the PostgreSQL store: %s", line);
		free(line);
		goto fail;
	}
	PQsetNoticeProcessor(pg->conn, pgs_notice, NULL);
	if (pgs_schema_migrate(pg->conn, version, err) == -1)
		goto fail;
	return pg;
fail:
	pgs_close(pg);
	return NULL;
}

static void
pgs_close(void *be)
{
	struct pg *pg = be;

	PQfinish(pg->conn);
	free(pg);
}

static int
pgs_version(void *be)
{
	struct pg *pg = be;

	if (pgs_usable(pg) == -1)
		return -1;
	return pgs_schema_version(pg->conn);
}

static bool
pgs_unreachable_op(void *be)
{
	return pgs_unreachable(be);
}

static int
pgs_reconnect(void *be)
{
	return pgs_usable(be);
}

/* ---- Transactions ---- */

static int
pgs_begin(void *be, int depth)
{
	struct pg *pg = be;
	PGresult *res = pgs_command(pg, depth == 1 ? "BEGIN" : "SAVEPOINT sg");

	if (res == NULL)
		return -1;
	PQclear(res);
	pg->depth = depth;
	return 0;
}

static int
pgs_rollback(void *be, int depth)
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
		pgs_warn(pg, "rolling back a savepoint", res);
		r = -1;
	}
	PQclear(res);
	return r;
}

static int
pgs_commit(void *be, int depth)
{
	struct pg *pg = be;
	PGresult *res;
	bool ok;

	res = PQexec(pg->conn, depth == 1 ? "COMMIT" : "RELEASE SAVEPOINT sg");
	/* COMMIT of a failed transaction "succeeds" as ROLLBACK. */
	ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
	     (depth > 1 || strcmp(PQcmdStatus(res), "COMMIT") == 0);
	if (!ok)
		pgs_warn(pg,
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
		pgs_rollback(pg, depth);
	if (PQstatus(pg->conn) != CONNECTION_OK)
		pgs_usable(pg);
	return -1;
}

/* ---- Users ---- */

static int
pgs_user_add(void *be, const char *net, const char *jid, time_t now)
{
	return pgs_changes(pgs_run(be, P_USER_ADD, "ssI", net, jid, (int64_t)now)) == -1 ? -1 : 0;
}

static int
pgs_user_remove(void *be, const char *net, const char *jid)
{
	static const enum pgs_stmt del[] = {
	        P_USER_DEL_SETTINGS, P_USER_DEL_CONTACTS, P_USER_DEL_QUEUE,  P_USER_DEL_TOMBS,
	        P_USER_DEL_ARCHIVE,  P_USER_DEL_MEMBERS,  P_USER_DEL_LEASES, P_USER_DEL,
	};
	size_t i;

	for (i = 0; i < sizeof(del) / sizeof(del[0]); i++)
		if (pgs_changes(pgs_run(be, del[i], "ss", net, jid)) == -1)
			return -1;
	return 0;
}

static int
pgs_user_get(void *be, const char *net, const char *jid, struct store_user *out)
{
	PGresult *res = pgs_run(be, P_USER_GET, "ss", net, jid);
	int r;

	if (res == NULL)
		return -1;
	if ((r = PQntuples(res) > 0) && out != NULL) {
		out->net = xstrdup(net);
		out->jid = xstrdup(jid);
		out->disabled = pgs_i64(res, 0, 0) != 0;
		out->created = (time_t)pgs_i64(res, 0, 1);
	}
	PQclear(res);
	return r;
}

static int
pgs_user_set_disabled(void *be, const char *net, const char *jid, bool disabled)
{
	long n = pgs_changes(pgs_run(be, P_USER_DISABLE, "ssi", net, jid, disabled ? 1 : 0));

	return n == -1 ? -1 : n > 0;
}

static int
pgs_user_foreach(void *be, const char *net, int (*cb)(const struct store_user *, void *), void *arg)
{
	PGresult *res = net ? pgs_run(be, P_USER_NET, "s", net) : pgs_run(be, P_USER_ALL, "");
	struct store_user u;
	int i;

	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res); i++) {
		u.net = PQgetvalue(res, i, 0);
		u.jid = PQgetvalue(res, i, 1);
		u.disabled = pgs_i64(res, i, 2) != 0;
		u.created = (time_t)pgs_i64(res, i, 3);
		if (cb(&u, arg) != 0)
			break;
	}
	PQclear(res);
	return 0;
}

static long
pgs_user_count(void *be, const char *net)
{
	if (net == NULL)
		return pgs_long(pgs_run(be, P_USER_COUNT_ALL, ""));
	return pgs_long(pgs_run(be, P_USER_COUNT_NET, "s", net));
}

/* ---- Settings ---- */

static int
pgs_setting_get(void *be, const char *net, const char *jid, const char *scope, const char *key,
                bool secret, char **val, size_t *len)
{
	PGresult *res = pgs_run(be, P_SET_GET, "ssssi", net, jid, scope, key, secret ? 1 : 0);
	int r;

	if (res == NULL)
		return -1;
	if ((r = PQntuples(res) > 0))
		*val = pgs_bytes(res, 0, 0, len);
	PQclear(res);
	return r;
}

static int
pgs_setting_set(void *be, const char *net, const char *jid, const char *scope, const char *key,
                bool secret, const void *val, size_t len)
{
	PGresult *res;

	if (val == NULL)
		res = pgs_run(be, P_SET_DEL, "ssssi", net, jid, scope, key, secret ? 1 : 0);
	else
		res = pgs_run(be, P_SET_PUT, "ssssib", net, jid, scope, key, secret ? 1 : 0, val,
		              len);
	return pgs_changes(res) == -1 ? -1 : 0;
}

static int
pgs_setting_foreach(void *be, const char *net, const char *jid, const char *scope,
                    int (*cb)(const char *, const void *, size_t, bool, void *), void *arg)
{
	PGresult *res = pgs_run(be, P_SET_ALL, "sss", net, jid, scope);
	size_t len;
	char *v;
	int i, stop = 0;

	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res) && !stop; i++) {
		v = pgs_bytes(res, i, 1, &len);
		stop = cb(PQgetvalue(res, i, 0), v, len, pgs_i64(res, i, 2) != 0, arg);
		free(v);
	}
	PQclear(res);
	return 0;
}

static int
pgs_setting_find(void *be, const char *net, const char *key,
                 int (*cb)(const char *, const char *, const char *, void *), void *arg)
{
	PGresult *res = pgs_run(be, P_SET_FIND, "ss", net, key);
	size_t len;
	char *v;
	int i, stop = 0;

	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res) && !stop; i++) {
		v = pgs_bytes(res, i, 2, &len);
		stop = cb(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), v, arg);
		free(v);
	}
	PQclear(res);
	return 0;
}

static long
pgs_secret_count(void *be)
{
	return pgs_long(pgs_run(be, P_SECRET_COUNT, ""));
}

/* ---- Contacts ---- */

static int
pgs_contact_set(void *be, const char *net, const char *jid, const char *address, const char *name,
                enum store_sub sub)
{
	return pgs_changes(
	               pgs_run(be, P_CONTACT_PUT, "ssssi", net, jid, address, name, (int)sub)) == -1
	               ? -1
	               : 0;
}

static int
pgs_contact_get(void *be, const char *net, const char *jid, const char *address,
                enum store_sub *sub, char **name)
{
	PGresult *res = pgs_run(be, P_CONTACT_GET, "sss", net, jid, address);
	int r;

	if (res == NULL)
		return -1;
	if ((r = PQntuples(res) > 0)) {
		if (name != NULL)
			*name = pgs_dup(res, 0, 0);
		if (sub != NULL)
			*sub = (enum store_sub)pgs_i64(res, 0, 1);
	}
	PQclear(res);
	return r;
}

static int
pgs_contact_remove(void *be, const char *net, const char *jid, const char *address)
{
	return pgs_changes(pgs_run(be, P_CONTACT_DEL, "sss", net, jid, address)) == -1 ? -1 : 0;
}

static int
pgs_contact_foreach(void *be, const char *net, const char *jid,
                    int (*cb)(const char *, const char *, enum store_sub, void *), void *arg)
{
	PGresult *res = pgs_run(be, P_CONTACT_ALL, "ss", net, jid);
	int i;

	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res); i++)
		if (cb(PQgetvalue(res, i, 0), pgs_str(res, i, 1),
		       (enum store_sub)pgs_i64(res, i, 2), arg) != 0)
			break;
	PQclear(res);
	return 0;
}

static int
pgs_contact_unregistered(void *be, const char *net, int (*cb)(const char *, const char *, void *),
                         void *arg)
{
	PGresult *res = pgs_run(be, P_CONTACT_UNREG, "s", net);
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
pgs_archive_add(void *be, const char *net, const char *jid, const char *room, time_t stamp,
                const char *nick, const char *body, const char *uid, int64_t *id)
{
	long v = pgs_long(pgs_run(be, P_ARCH_ADD, "sssIsss", net, jid, room, (int64_t)stamp, nick,
	                          body, uid));

	if (v <= 0)
		return -1;
	if (id != NULL)
		*id = v;
	return 0;
}

static int
pgs_archive_has_uid(void *be, const char *net, const char *jid, const char *room, const char *uid,
                    time_t from, time_t to)
{
	PGresult *res = pgs_run(be, P_ARCH_HAS_UID, "sssIIs", net, jid, room, (int64_t)from,
	                        (int64_t)to, uid);
	int r;

	if (res == NULL)
		return -1;
	r = PQntuples(res) > 0;
	PQclear(res);
	return r;
}

static int
pgs_archive_uid(void *be, const char *net, const char *jid, const char *room, int64_t id,
                char **uid)
{
	PGresult *res = pgs_run(be, P_ARCH_UID, "sssI", net, jid, room, id);
	int r;

	*uid = NULL;
	if (res == NULL)
		return -1;
	if ((r = PQntuples(res) > 0) && !PQgetisnull(res, 0, 0))
		*uid = pgs_dup(res, 0, 0);
	PQclear(res);
	return r;
}

static int
pgs_archive_find_uid(void *be, const char *net, const char *jid, const char *room, const char *uid,
                     int recent, int64_t *id)
{
	PGresult *res = pgs_run(be, P_ARCH_FIND_UID, "ssssi", net, jid, room, uid, recent);
	int r;

	if (res == NULL)
		return -1;
	if ((r = PQntuples(res) > 0) && id != NULL)
		*id = pgs_i64(res, 0, 0);
	PQclear(res);
	return r;
}

static int
pgs_archive_query(void *be, const char *net, const char *jid, const char *room,
                  const struct store_archive_query *q,
                  int (*cb)(const struct store_archive_row *, void *), void *arg)
{
	enum pgs_stmt id = q->newest_first ? P_ARCH_DESC : P_ARCH_ASC;
	PGresult *res;
	char lim[16];
	int i, n = 0;

	/* LIMIT NULL is no limit. */
	snprintf(lim, sizeof(lim), "%d", q->limit);
	res = pgs_run(be, id, "sssIIIIs", net, jid, room, (int64_t)q->start,
	              (int64_t)(q->end ? q->end : INT64_MAX), q->after_id,
	              q->before_id ? q->before_id : INT64_MAX, q->limit > 0 ? lim : NULL);
	if (res == NULL)
		return -1;
	for (i = 0; i < PQntuples(res); i++) {
		struct store_archive_row row = {
		        pgs_i64(res, i, 0),    (time_t)pgs_i64(res, i, 1), PQgetvalue(res, i, 2),
		        PQgetvalue(res, i, 3), pgs_str(res, i, 4),
		};

		n++;
		if (cb(&row, arg) != 0)
			break;
	}
	PQclear(res);
	return n;
}

/* ---- Room memberships ---- */

static int
pgs_member_add(void *be, const char *net, const char *jid, const char *room, const char *nick,
               const char *resource)
{
	return pgs_changes(pgs_run(be, P_MEMBER_PUT, "sssss", net, jid, room, resource, nick)) == -1
	               ? -1
	               : 0;
}

static int
pgs_member_remove(void *be, const char *net, const char *jid, const char *room,
                  const char *resource)
{
	PGresult *res = resource ? pgs_run(be, P_MEMBER_DEL, "ssss", net, jid, room, resource)
	                         : pgs_run(be, P_MEMBER_DEL_ROOM, "sss", net, jid, room);

	return pgs_changes(res) == -1 ? -1 : 0;
}

static int
pgs_member_set_nick(void *be, const char *net, const char *jid, const char *room, const char *nick)
{
	return pgs_changes(pgs_run(be, P_MEMBER_NICK, "ssss", net, jid, room, nick)) == -1 ? -1 : 0;
}

static int
pgs_member_foreach(void *be, const char *net,
                   int (*cb)(const char *, const char *, const char *, const char *, void *),
                   void *arg)
{
	PGresult *res = pgs_run(be, P_MEMBER_ALL, "s", net);

	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		if (cb(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
		       PQgetvalue(res, i, 3), arg) != 0)
			break;
	PQclear(res);
	return 0;
}

/* ---- Leases ---- */

static int
pgs_lease_take(void *be, const char *net, const char *jid, const char *owner, time_t now,
               time_t expires, char **holder)
{
	PGresult *res =
	        pgs_run(be, P_LEASE_TAKE, "sssII", net, jid, owner, (int64_t)expires, (int64_t)now);
	int n;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	if (n == 1)
		return 1;
	if (holder != NULL) {
		if ((res = pgs_run(be, P_LEASE_OWNER, "ss", net, jid)) == NULL)
			return -1;
		*holder = PQntuples(res) == 1 ? pgs_dup(res, 0, 0) : NULL;
		PQclear(res);
	}
	return 0;
}

static int
pgs_lease_release(void *be, const char *net, const char *jid, const char *owner)
{
	long n = pgs_changes(pgs_run(be, P_LEASE_DEL, "sss", net, jid, owner));

	return n == -1 ? -1 : n > 0;
}

/* ---- Queues ---- */

/* Row i of a queue query (Q_COLS) into m. */
static void
row_msg(const PGresult *res, int i, struct store_msg *m)
{
	m->id = pgs_i64(res, i, 0);
	m->dir = (enum store_dir)pgs_i64(res, i, 1);
	m->net = pgs_dup(res, i, 2);
	m->user = pgs_dup(res, i, 3);
	m->resource = pgs_dup(res, i, 4);
	m->peer = pgs_dup(res, i, 5);
	m->body = pgs_dup(res, i, 6);
	m->xmpp_id = pgs_dup(res, i, 7);
	m->dedup_key = pgs_dup(res, i, 8);
	m->extra = pgs_dup(res, i, 9);
	m->flags = (unsigned)pgs_i64(res, i, 10);
	m->attempts = (int)pgs_i64(res, i, 11);
	m->created = (time_t)pgs_i64(res, i, 12);
	m->next_try = (time_t)pgs_i64(res, i, 13);
	m->held = pgs_i64(res, i, 14) != 0;
}

static int
pgs_queue_push(void *be, struct store_msg *m, int64_t id, time_t tomb_after)
{
	PGresult *res;
	int r;

	res = pgs_run(be, P_Q_INSERT, "issssssssIiIIiII", (int)m->dir, m->net, m->user, m->resource,
	              m->peer, m->body, m->xmpp_id, m->dedup_key, m->extra, (int64_t)m->flags,
	              m->attempts, (int64_t)m->created, (int64_t)m->next_try, m->held ? 1 : 0,
	              (int64_t)tomb_after, id);
	if (res == NULL)
		return -1;
	if ((r = PQntuples(res) == 0 ? 1 : 0) == 0)
		m->id = pgs_i64(res, 0, 0);
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
pgs_queue_due(void *be, enum store_dir dir, const char *net, time_t now, int limit,
              struct store_msg **out, size_t *n)
{
	char lim[16];

	snprintf(lim, sizeof(lim), "%d", limit);
	return read_msgs(
	        pgs_run(be, P_Q_DUE, "isIs", (int)dir, net, (int64_t)now, limit > 0 ? lim : NULL),
	        out, n);
}

static int
pgs_queue_held(void *be, enum store_dir dir, const char *net, const char *user,
               struct store_msg **out, size_t *n)
{
	return read_msgs(pgs_run(be, P_Q_HELD, "iss", (int)dir, net, user), out, n);
}

static int
pgs_queue_get(void *be, int64_t id, struct store_msg *out)
{
	PGresult *res = pgs_run(be, P_Q_GET, "I", id);
	int r;

	if (res == NULL)
		return -1;
	if ((r = PQntuples(res) > 0))
		row_msg(res, 0, out);
	PQclear(res);
	return r;
}

static int
pgs_queue_retry(void *be, int64_t id, int attempts, time_t next_try)
{
	long n = pgs_changes(pgs_run(be, P_Q_RETRY, "IiI", id, attempts, (int64_t)next_try));

	return n == -1 ? -1 : n > 0;
}

static int
pgs_queue_hold(void *be, int64_t id, bool held)
{
	long n = pgs_changes(pgs_run(be, P_Q_HOLD, "Ii", id, held ? 1 : 0));

	return n == -1 ? -1 : n > 0;
}

static int
pgs_queue_release_user(void *be, enum store_dir dir, const char *net, const char *user, time_t now)
{
	return pgs_changes(pgs_run(be, P_Q_RELEASE, "issI", (int)dir, net, user, (int64_t)now)) ==
	                       -1
	               ? -1
	               : 0;
}

static int
pgs_queue_delete(void *be, int64_t id, time_t now)
{
	(void)now; /* the trigger stamps the tombstone */
	return pgs_changes(pgs_run(be, P_Q_DELETE, "I", id)) == -1 ? -1 : 0;
}

static int
pgs_queue_seen(void *be, enum store_dir dir, const char *net, const char *jid, const char *key,
               time_t tomb_after)
{
	return (int)pgs_long(
	        pgs_run(be, P_Q_SEEN, "isssI", (int)dir, net, jid, key, (int64_t)tomb_after));
}

static int
pgs_queue_tombstone(void *be, enum store_dir dir, const char *net, const char *jid, const char *key,
                    time_t now)
{
	return pgs_changes(pgs_run(be, P_Q_TOMB, "isssI", (int)dir, net, jid, key, (int64_t)now)) ==
	                       -1
	               ? -1
	               : 0;
}

static int
pgs_queue_reserve(void *be, int n, int64_t *last)
{
	long v = pgs_long(pgs_run(be, P_Q_RESERVE, "i", n));

	if (v <= 0)
		return -1;
	*last = v;
	return 0;
}

static long
pgs_queue_count(void *be, enum store_dir dir, const char *net)
{
	if (net == NULL)
		return pgs_long(pgs_run(be, P_Q_COUNT_ALL, "i", (int)dir));
	return pgs_long(pgs_run(be, P_Q_COUNT_NET, "is", (int)dir, net));
}

static long
pgs_queue_count_user(void *be, enum store_dir dir, const char *net, const char *jid)
{
	return pgs_long(pgs_run(be, P_Q_COUNT_USER, "iss", (int)dir, net, jid));
}

/* A time one statement of (dir, net) answers: -1, 0 for none (no row or NULL), 1. */
static int
pgs_queue_time(void *be, enum pgs_stmt id, enum store_dir dir, const char *net, time_t *when)
{
	PGresult *res = pgs_run(be, id, "is", (int)dir, net);
	int r = 0;

	if (res == NULL)
		return -1;
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
		*when = (time_t)pgs_i64(res, 0, 0);
		r = 1;
	}
	PQclear(res);
	return r;
}

static int
pgs_queue_next_due(void *be, enum store_dir dir, const char *net, time_t *when)
{
	return pgs_queue_time(be, P_Q_NEXT_DUE, dir, net, when);
}

static int
pgs_queue_oldest(void *be, enum store_dir dir, const char *net, time_t *created)
{
	return pgs_queue_time(be, P_Q_OLDEST, dir, net, created);
}

static long
pgs_queue_prune(void *be, time_t before)
{
	return pgs_changes(pgs_run(be, P_Q_PRUNE, "I", (int64_t)before));
}

const struct store_ops store_pg_ops = {
        .scheme = "postgresql",
        .open = pgs_open,
        .close = pgs_close,
        .schema_version = pgs_version,
        .schema_latest = pgs_schema_latest,
        .begin = pgs_begin,
        .commit = pgs_commit,
        .rollback = pgs_rollback,
        .unreachable = pgs_unreachable_op,
        .lease_take = pgs_lease_take,
        .lease_release = pgs_lease_release,
        .reconnect = pgs_reconnect,
        .user_add = pgs_user_add,
        .user_remove = pgs_user_remove,
        .user_get = pgs_user_get,
        .user_set_disabled = pgs_user_set_disabled,
        .user_foreach = pgs_user_foreach,
        .user_count = pgs_user_count,
        .setting_get = pgs_setting_get,
        .setting_set = pgs_setting_set,
        .setting_foreach = pgs_setting_foreach,
        .setting_find = pgs_setting_find,
        .secret_count = pgs_secret_count,
        .contact_set = pgs_contact_set,
        .contact_get = pgs_contact_get,
        .contact_remove = pgs_contact_remove,
        .contact_foreach = pgs_contact_foreach,
        .contact_unregistered = pgs_contact_unregistered,
        .queue_push = pgs_queue_push,
        .queue_due = pgs_queue_due,
        .queue_held = pgs_queue_held,
        .queue_get = pgs_queue_get,
        .queue_retry = pgs_queue_retry,
        .queue_hold = pgs_queue_hold,
        .queue_release_user = pgs_queue_release_user,
        .queue_delete = pgs_queue_delete,
        .queue_seen = pgs_queue_seen,
        .queue_tombstone = pgs_queue_tombstone,
        .queue_reserve = pgs_queue_reserve,
        .queue_count = pgs_queue_count,
        .queue_count_user = pgs_queue_count_user,
        .queue_oldest = pgs_queue_oldest,
        .queue_next_due = pgs_queue_next_due,
        .queue_prune = pgs_queue_prune,
        .archive_add = pgs_archive_add,
        .member_add = pgs_member_add,
        .member_remove = pgs_member_remove,
        .member_set_nick = pgs_member_set_nick,
        .member_foreach = pgs_member_foreach,
        .archive_has_uid = pgs_archive_has_uid,
        .archive_uid = pgs_archive_uid,
        .archive_find_uid = pgs_archive_find_uid,
        .archive_query = pgs_archive_query,
};
