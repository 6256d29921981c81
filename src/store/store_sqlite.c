/*
 * The SQLite store backend: "sqlite:/path/to.db".
 *
 * One connection in WAL mode with synchronous=NORMAL: a commit survives a
 * crash of the process (the WAL is in the kernel's hands when COMMIT
 * returns) and costs no fsync; a power cut may lose the last moments.
 * The statements and their cache are in store_sqlite_stmt.c.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store_backend.h"
#include "store_sqlite.h"
#include "store_sqlite_schema.h"
#include "xmalloc.h"

#define BUSY_TIMEOUT_MS 5000

/* ---- Opening ---- */

/* The file path of url, or NULL with *err. Caller frees. */
static char *
url_path(const char *url, char **err)
{
	const char *p = url + strlen("sqlite:");

	/* sqlite:///abs/path is the same as sqlite:/abs/path. */
	if (strncmp(p, "//", 2) == 0) {
		if (p[2] != '/') {
			*err = xstrdup("storage url: a sqlite url has no host part "
			               "(expected sqlite:/path/to.db)");
			return NULL;
		}
		p += 2;
	}
	if (*p == '\0') {
		*err = xstrdup("storage url: no database file after \"sqlite:\"");
		return NULL;
	}
	return xstrdup(p);
}

/* Create the file mode 0600 before SQLite does (it would use the umask). */
static int
precreate(const char *path, char **err)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		*err = xasprintf("cannot open database %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*err = xasprintf("cannot stat database %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		*err = xasprintf("database %s is not a regular file", path);
		return -1;
	}
	if (st.st_mode & 077)
		log_warnx("database %s is accessible by group or others (mode %04o)", path,
		          (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Run one pragma: 0, or -1 with *err. If want is set, the answer must be it. */
static int
pragma(struct sq *sq, const char *sql, const char *want, char **err)
{
	sqlite3_stmt *st;
	const unsigned char *got;
	int rc;

	if (sqlite3_prepare_v2(sq->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		got = sqlite3_column_text(st, 0);
		if (want != NULL && (got == NULL || strcmp((const char *)got, want) != 0)) {
			*err = xasprintf("database %s: \"%s\" answered %s, not %s", sq->path, sql,
			                 got ? (const char *)got : "nothing", want);
			sqlite3_finalize(st);
			return -1;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto fail;
	return 0;
fail:
	*err = xasprintf("cannot open database %s: %s", sq->path, sqlite3_errmsg(sq->db));
	return -1;
}

static void sq_close(void *);

static void *
sq_open(const char *url, int version, char **err)
{
	struct sq *sq;
	bool memory;

	sq = xcalloc(1, sizeof(*sq));
	if ((sq->path = url_path(url, err)) == NULL)
		goto fail;
	memory = strcmp(sq->path, ":memory:") == 0;
	if (!memory && precreate(sq->path, err) == -1)
		goto fail;
	if (sqlite3_open_v2(sq->path, &sq->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		*err = xasprintf("cannot open database %s: %s", sq->path,
		                 sq->db ? sqlite3_errmsg(sq->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(sq->db, 1);
	sqlite3_busy_timeout(sq->db, BUSY_TIMEOUT_MS);
	/* The first statement reads the file: "not a database" shows here. */
	if (pragma(sq, "PRAGMA journal_mode = WAL", memory ? "memory" : "wal", err) == -1 ||
	    pragma(sq, "PRAGMA synchronous = NORMAL", NULL, err) == -1 ||
	    pragma(sq, "PRAGMA foreign_keys = ON", NULL, err) == -1)
		goto fail;
	if (sqlite_schema_migrate(sq->db, sq->path, version, err) == -1)
		goto fail;
	return sq;
fail:
	sq_close(sq);
	return NULL;
}

static void
sq_close(void *be)
{
	struct sq *sq = be;
	int i;

	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(sq->st[i]);
	if (sq->db != NULL && sqlite3_close(sq->db) != SQLITE_OK)
		sq_warn(sq, "closing");
	free(sq->path);
	free(sq);
}

static int
sq_schema_version(void *be)
{
	return sqlite_schema_version(((struct sq *)be)->db);
}

/* ---- Transactions ---- */

static int
sq_begin(void *be, int depth)
{
	return sq_exec(be, depth == 1 ? ST_BEGIN : ST_SAVEPOINT, "") == -1 ? -1 : 0;
}

static int
sq_rollback(void *be, int depth)
{
	struct sq *sq = be;

	if (depth == 1)
		return sq_exec(sq, ST_ROLLBACK, "") == -1 ? -1 : 0;
	/* ROLLBACK TO keeps the savepoint open; RELEASE closes it. */
	if (sq_exec(sq, ST_ROLLBACK_TO, "") == -1)
		return -1;
	return sq_exec(sq, ST_RELEASE, "") == -1 ? -1 : 0;
}

static int
sq_commit(void *be, int depth)
{
	struct sq *sq = be;

	if (sq_exec(sq, depth == 1 ? ST_COMMIT : ST_RELEASE, "") != -1)
		return 0;
	/* A failed COMMIT may leave the transaction open: end it. */
	if (depth > 1 || !sqlite3_get_autocommit(sq->db))
		sq_rollback(sq, depth);
	return -1;
}

/* ---- Users ---- */

static int
sq_user_add(void *be, const char *net, const char *jid, time_t now)
{
	return sq_exec(be, ST_USER_ADD, "ssI", net, jid, (int64_t)now) == -1 ? -1 : 0;
}

static int
sq_user_remove(void *be, const char *net, const char *jid)
{
	static const enum stmt_id del[] = {
	        ST_USER_DEL_SETTINGS, ST_USER_DEL_CONTACTS, ST_USER_DEL_QUEUE,  ST_USER_DEL_TOMBS,
	        ST_USER_DEL_ARCHIVE,  ST_USER_DEL_MEMBERS,  ST_USER_DEL_LEASES, ST_USER_DEL,
	};
	size_t i;

	for (i = 0; i < sizeof(del) / sizeof(del[0]); i++)
		if (sq_exec(be, del[i], "ss", net, jid) == -1)
			return -1;
	return 0;
}

static int
sq_user_get(void *be, const char *net, const char *jid, struct store_user *out)
{
	struct sq *sq = be;
	sqlite3_stmt *st;
	int r;

	if ((st = sq_prep(sq, ST_USER_GET, "ss", net, jid)) == NULL)
		return -1;
	if ((r = sq_step(sq, ST_USER_GET, st)) == 1 && out != NULL) {
		out->net = xstrdup(net);
		out->jid = xstrdup(jid);
		out->disabled = sqlite3_column_int(st, 0) != 0;
		out->created = (time_t)sqlite3_column_int64(st, 1);
	}
	sq_stmt_put(sq, ST_USER_GET, st);
	return r;
}

static int
sq_user_set_disabled(void *be, const char *net, const char *jid, bool disabled)
{
	long n = sq_exec(be, ST_USER_DISABLE, "ssi", net, jid, disabled ? 1 : 0);

	return n == -1 ? -1 : n > 0;
}

/* One query streamed to cb: start-up walks every user this way. */
static int
sq_user_foreach(void *be, const char *net, int (*cb)(const struct store_user *, void *), void *arg)
{
	struct sq *sq = be;
	enum stmt_id id = net ? ST_USER_NET : ST_USER_ALL;
	struct store_user u;
	sqlite3_stmt *st;
	int r;

	if ((st = sq_prep(sq, id, net ? "s" : "", net)) == NULL)
		return -1;
	while ((r = sq_step(sq, id, st)) == 1) {
		u.net = (char *)sqlite3_column_text(st, 0);
		u.jid = (char *)sqlite3_column_text(st, 1);
		u.disabled = sqlite3_column_int(st, 2) != 0;
		u.created = (time_t)sqlite3_column_int64(st, 3);
		if (cb(&u, arg) != 0) {
			r = 0;
			break;
		}
	}
	sq_stmt_put(sq, id, st);
	return r == -1 ? -1 : 0;
}

static long
sq_user_count(void *be, const char *net)
{
	struct sq *sq = be;

	if (net == NULL)
		return sq_query_long(sq, ST_USER_COUNT_ALL, sq_prep(sq, ST_USER_COUNT_ALL, ""));
	return sq_query_long(sq, ST_USER_COUNT_NET, sq_prep(sq, ST_USER_COUNT_NET, "s", net));
}

/* ---- Settings ---- */

static int
sq_setting_get(void *be, const char *net, const char *jid, const char *scope, const char *key,
               bool secret, char **val, size_t *len)
{
	struct sq *sq = be;
	sqlite3_stmt *st;
	const void *p;
	size_t n;
	int r;

	st = sq_prep(sq, ST_SET_GET, "ssssi", net, jid, scope, key, secret ? 1 : 0);
	if (st == NULL)
		return -1;
	if ((r = sq_step(sq, ST_SET_GET, st)) == 1) {
		p = sqlite3_column_blob(st, 0);
		n = (size_t)sqlite3_column_bytes(st, 0);
		*val = xmalloc(n + 1);
		if (n > 0)
			memcpy(*val, p, n);
		(*val)[n] = '\0';
		*len = n;
	}
	sq_stmt_put(sq, ST_SET_GET, st);
	return r;
}

static int
sq_setting_set(void *be, const char *net, const char *jid, const char *scope, const char *key,
               bool secret, const void *val, size_t len)
{
	long n;

	if (val == NULL)
		n = sq_exec(be, ST_SET_DEL, "ssssi", net, jid, scope, key, secret ? 1 : 0);
	else if (secret)
		n = sq_exec(be, ST_SET_PUT, "ssssib", net, jid, scope, key, 1, val, len);
	else
		n = sq_exec(be, ST_SET_PUT, "ssssis", net, jid, scope, key, 0, (const char *)val);
	return n == -1 ? -1 : 0;
}

static int
sq_setting_foreach(void *be, const char *net, const char *jid, const char *scope,
                   int (*cb)(const char *, const void *, size_t, bool, void *), void *arg)
{
	struct sq *sq = be;
	sqlite3_stmt *st;
	const void *v;
	bool secret;
	int r;

	if ((st = sq_prep(sq, ST_SET_ALL, "sss", net, jid, scope)) == NULL)
		return -1;
	while ((r = sq_step(sq, ST_SET_ALL, st)) == 1) {
		secret = sqlite3_column_int(st, 2) != 0;
		/* Plain values as text (NUL-terminated), secrets as bytes. */
		v = secret ? sqlite3_column_blob(st, 1) : (const void *)sqlite3_column_text(st, 1);
		if (cb((const char *)sqlite3_column_text(st, 0), v,
		       (size_t)sqlite3_column_bytes(st, 1), secret, arg) != 0) {
			r = 0;
			break;
		}
	}
	sq_stmt_put(sq, ST_SET_ALL, st);
	return r == -1 ? -1 : 0;
}

static int
sq_setting_find(void *be, const char *net, const char *key,
                int (*cb)(const char *, const char *, const char *, void *), void *arg)
{
	struct sq *sq = be;
	sqlite3_stmt *st;
	int r;

	if ((st = sq_prep(sq, ST_SET_FIND, "ss", net, key)) == NULL)
		return -1;
	while ((r = sq_step(sq, ST_SET_FIND, st)) == 1)
		if (cb((const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1),
		       (const char *)sqlite3_column_text(st, 2), arg) != 0) {
			r = 0;
			break;
		}
	sq_stmt_put(sq, ST_SET_FIND, st);
	return r == -1 ? -1 : 0;
}

static long
sq_secret_count(void *be)
{
	struct sq *sq = be;

	return sq_query_long(sq, ST_SECRET_COUNT, sq_prep(sq, ST_SECRET_COUNT, ""));
}

/* ---- Contacts ---- */

static int
sq_contact_set(void *be, const char *net, const char *jid, const char *address, const char *name,
               enum store_sub sub)
{
	return sq_exec(be, ST_CONTACT_PUT, "ssssi", net, jid, address, name, (int)sub) == -1 ? -1
	                                                                                     : 0;
}

static int
sq_contact_get(void *be, const char *net, const char *jid, const char *address, enum store_sub *sub,
               char **name)
{
	struct sq *sq = be;
	sqlite3_stmt *st;
	int r;

	if ((st = sq_prep(sq, ST_CONTACT_GET, "sss", net, jid, address)) == NULL)
		return -1;
	if ((r = sq_step(sq, ST_CONTACT_GET, st)) == 1) {
		if (name != NULL)
			*name = sq_col_str(st, 0);
		if (sub != NULL)
			*sub = (enum store_sub)sqlite3_column_int(st, 1);
	}
	sq_stmt_put(sq, ST_CONTACT_GET, st);
	return r;
}

static int
sq_contact_remove(void *be, const char *net, const char *jid, const char *address)
{
	return sq_exec(be, ST_CONTACT_DEL, "sss", net, jid, address) == -1 ? -1 : 0;
}

static int
sq_contact_foreach(void *be, const char *net, const char *jid,
                   int (*cb)(const char *, const char *, enum store_sub, void *), void *arg)
{
	struct sq *sq = be;
	sqlite3_stmt *st;
	int r;

	if ((st = sq_prep(sq, ST_CONTACT_ALL, "ss", net, jid)) == NULL)
		return -1;
	while ((r = sq_step(sq, ST_CONTACT_ALL, st)) == 1) {
		if (cb((const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1),
		       (enum store_sub)sqlite3_column_int(st, 2), arg) != 0) {
			r = 0;
			break;
		}
	}
	sq_stmt_put(sq, ST_CONTACT_ALL, st);
	return r == -1 ? -1 : 0;
}

static int
sq_contact_unregistered(void *be, const char *net, int (*cb)(const char *, const char *, void *),
                        void *arg)
{
	struct sq *sq = be;
	sqlite3_stmt *st;
	int r;

	if ((st = sq_prep(sq, ST_CONTACT_UNREG, "s", net)) == NULL)
		return -1;
	while ((r = sq_step(sq, ST_CONTACT_UNREG, st)) == 1) {
		if (cb((const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1), arg) != 0) {
			r = 0;
			break;
		}
	}
	sq_stmt_put(sq, ST_CONTACT_UNREG, st);
	return r == -1 ? -1 : 0;
}

/* ---- Room archive ---- */

static int
sq_archive_add(void *be, const char *net, const char *jid, const char *room, time_t stamp,
               const char *nick, const char *body, const char *uid, int64_t *id)
{
	struct sq *sq = be;

	if (sq_exec(sq, ST_ARCH_ADD, "sssIsss", net, jid, room, (int64_t)stamp, nick, body, uid) ==
	    -1)
		return -1;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(sq->db);
	return 0;
}

static int
sq_archive_has_uid(void *be, const char *net, const char *jid, const char *room, const char *uid,
                   time_t from, time_t to)
{
	struct sq *sq = be;
	sqlite3_stmt *st = sq_prep(sq, ST_ARCH_HAS_UID, "sssIIs", net, jid, room, (int64_t)from,
	                           (int64_t)to, uid);
	int r;

	if (st == NULL)
		return -1;
	r = sq_step(sq, ST_ARCH_HAS_UID, st);
	sq_stmt_put(sq, ST_ARCH_HAS_UID, st);
	return r;
}

static int
sq_archive_uid(void *be, const char *net, const char *jid, const char *room, int64_t id, char **uid)
{
	struct sq *sq = be;
	sqlite3_stmt *st = sq_prep(sq, ST_ARCH_UID, "sssI", net, jid, room, id);
	int r;

	*uid = NULL;
	if (st == NULL)
		return -1;
	if ((r = sq_step(sq, ST_ARCH_UID, st)) == 1)
		*uid = sq_col_str(st, 0);
	sq_stmt_put(sq, ST_ARCH_UID, st);
	return r;
}

static int
sq_archive_find_uid(void *be, const char *net, const char *jid, const char *room, const char *uid,
                    int recent, int64_t *id)
{
	struct sq *sq = be;
	sqlite3_stmt *st = sq_prep(sq, ST_ARCH_FIND_UID, "ssssi", net, jid, room, uid, recent);
	int r;

	if (st == NULL)
		return -1;
	if ((r = sq_step(sq, ST_ARCH_FIND_UID, st)) == 1)
		*id = sqlite3_column_int64(st, 0);
	sq_stmt_put(sq, ST_ARCH_FIND_UID, st);
	return r;
}

static int
sq_archive_query(void *be, const char *net, const char *jid, const char *room,
                 const struct store_archive_query *q,
                 int (*cb)(const struct store_archive_row *, void *), void *arg)
{
	struct sq *sq = be;
	enum stmt_id id = q->newest_first ? ST_ARCH_DESC : ST_ARCH_ASC;
	sqlite3_stmt *st;
	int r, n = 0;

	st = sq_prep(sq, id, "sssIIIIi", net, jid, room, (int64_t)q->start,
	             (int64_t)(q->end ? q->end : INT64_MAX), q->after_id,
	             q->before_id ? q->before_id : INT64_MAX, q->limit > 0 ? q->limit : -1);
	if (st == NULL)
		return -1;
	while ((r = sq_step(sq, id, st)) == 1) {
		struct store_archive_row row = {
		        sqlite3_column_int64(st, 0),
		        (time_t)sqlite3_column_int64(st, 1),
		        (const char *)sqlite3_column_text(st, 2),
		        (const char *)sqlite3_column_text(st, 3),
		        (const char *)sqlite3_column_text(st, 4),
		};

		n++;
		if (cb(&row, arg) != 0) {
			r = 0;
			break;
		}
	}
	sq_stmt_put(sq, id, st);
	return r == -1 ? -1 : n;
}

/* ---- Room memberships ---- */

static int
sq_member_add(void *be, const char *net, const char *jid, const char *room, const char *nick,
              const char *resource)
{
	return sq_exec(be, ST_MEMBER_PUT, "sssss", net, jid, room, resource, nick) == -1 ? -1 : 0;
}

static int
sq_member_remove(void *be, const char *net, const char *jid, const char *room, const char *resource)
{
	long n = resource ? sq_exec(be, ST_MEMBER_DEL, "ssss", net, jid, room, resource)
	                  : sq_exec(be, ST_MEMBER_DEL_ROOM, "sss", net, jid, room);

	return n == -1 ? -1 : 0;
}

static int
sq_member_set_nick(void *be, const char *net, const char *jid, const char *room, const char *nick)
{
	return sq_exec(be, ST_MEMBER_NICK, "ssss", net, jid, room, nick) == -1 ? -1 : 0;
}

static int
sq_lease_take(void *be, const char *net, const char *jid, const char *owner, time_t now,
              time_t expires, char **holder)
{
	struct sq *sq = be;
	sqlite3_stmt *st;
	int r;

	if ((st = sq_prep(sq, ST_LEASE_TAKE, "sssII", net, jid, owner, (int64_t)expires,
	                  (int64_t)now)) == NULL)
		return -1;
	r = sq_step(sq, ST_LEASE_TAKE, st);
	sq_stmt_put(sq, ST_LEASE_TAKE, st);
	if (r != 0 || holder == NULL)
		return r;
	if ((st = sq_prep(sq, ST_LEASE_OWNER, "ss", net, jid)) == NULL)
		return -1;
	if ((r = sq_step(sq, ST_LEASE_OWNER, st)) == 1)
		*holder = sq_col_str(st, 0);
	sq_stmt_put(sq, ST_LEASE_OWNER, st);
	return r == -1 ? -1 : 0;
}

static int
sq_lease_release(void *be, const char *net, const char *jid, const char *owner)
{
	long n = sq_exec(be, ST_LEASE_DEL, "sss", net, jid, owner);

	return n == -1 ? -1 : n > 0;
}

static int
sq_member_foreach(void *be, const char *net,
                  int (*cb)(const char *, const char *, const char *, const char *, void *),
                  void *arg)
{
	struct sq *sq = be;
	sqlite3_stmt *st;
	int r;

	if ((st = sq_prep(sq, ST_MEMBER_ALL, "s", net)) == NULL)
		return -1;
	while ((r = sq_step(sq, ST_MEMBER_ALL, st)) == 1) {
		if (cb((const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1),
		       (const char *)sqlite3_column_text(st, 2),
		       (const char *)sqlite3_column_text(st, 3), arg) != 0) {
			r = 0;
			break;
		}
	}
	sq_stmt_put(sq, ST_MEMBER_ALL, st);
	return r == -1 ? -1 : 0;
}

/* ---- Queues ---- */

/* Fill m from a row of the queue statements (Q_COLS in store_sqlite_stmt.c). */
static void
row_msg(sqlite3_stmt *st, struct store_msg *m)
{
	m->id = sqlite3_column_int64(st, 0);
	m->dir = (enum store_dir)sqlite3_column_int(st, 1);
	m->net = sq_col_str(st, 2);
	m->user = sq_col_str(st, 3);
	m->resource = sq_col_str(st, 4);
	m->peer = sq_col_str(st, 5);
	m->body = sq_col_str(st, 6);
	m->xmpp_id = sq_col_str(st, 7);
	m->dedup_key = sq_col_str(st, 8);
	m->extra = sq_col_str(st, 9);
	m->flags = (unsigned)sqlite3_column_int64(st, 10);
	m->attempts = sqlite3_column_int(st, 11);
	m->created = (time_t)sqlite3_column_int64(st, 12);
	m->next_try = (time_t)sqlite3_column_int64(st, 13);
	m->held = sqlite3_column_int(st, 14) != 0;
}

static int
sq_queue_push(void *be, struct store_msg *m, int64_t id, time_t tomb_after)
{
	struct sq *sq = be;
	long n;

	n = sq_exec(sq, ST_Q_INSERT, "issssssssIiIIiII", (int)m->dir, m->net, m->user, m->resource,
	            m->peer, m->body, m->xmpp_id, m->dedup_key, m->extra, (int64_t)m->flags,
	            m->attempts, (int64_t)m->created, (int64_t)m->next_try, m->held ? 1 : 0,
	            (int64_t)tomb_after, id);
	if (n == -1)
		return -1;
	if (n == 0)
		return 1;
	m->id = sqlite3_last_insert_rowid(sq->db);
	return 0;
}

/* Read every row of a queue query into *out (*n of them). */
static int
read_msgs(struct sq *sq, enum stmt_id id, sqlite3_stmt *st, struct store_msg **out, size_t *n)
{
	struct store_msg *v = NULL;
	size_t len = 0, cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	while ((r = sq_step(sq, id, st)) == 1) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		row_msg(st, &v[len++]);
	}
	sq_stmt_put(sq, id, st);
	if (r == -1) {
		while (len > 0)
			store_msg_free_fields(&v[--len]);
		free(v);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

static int
sq_queue_due(void *be, enum store_dir dir, const char *net, time_t now, int limit,
             struct store_msg **out, size_t *n)
{
	struct sq *sq = be;

	return read_msgs(
	        sq, ST_Q_DUE,
	        sq_prep(sq, ST_Q_DUE, "isIi", (int)dir, net, (int64_t)now, limit > 0 ? limit : -1),
	        out, n);
}

static int
sq_queue_held(void *be, enum store_dir dir, const char *net, const char *user,
              struct store_msg **out, size_t *n)
{
	struct sq *sq = be;

	return read_msgs(sq, ST_Q_HELD, sq_prep(sq, ST_Q_HELD, "iss", (int)dir, net, user), out, n);
}

static int
sq_queue_get(void *be, int64_t id, struct store_msg *out)
{
	struct sq *sq = be;
	sqlite3_stmt *st;
	int r;

	if ((st = sq_prep(sq, ST_Q_GET, "I", id)) == NULL)
		return -1;
	if ((r = sq_step(sq, ST_Q_GET, st)) == 1)
		row_msg(st, out);
	sq_stmt_put(sq, ST_Q_GET, st);
	return r;
}

static int
sq_queue_retry(void *be, int64_t id, int attempts, time_t next_try)
{
	long n = sq_exec(be, ST_Q_RETRY, "IiI", id, attempts, (int64_t)next_try);

	return n == -1 ? -1 : n > 0;
}

static int
sq_queue_hold(void *be, int64_t id, bool held)
{
	long n = sq_exec(be, ST_Q_HOLD, "Ii", id, held ? 1 : 0);

	return n == -1 ? -1 : n > 0;
}

static int
sq_queue_release_user(void *be, enum store_dir dir, const char *net, const char *user, time_t now)
{
	return sq_exec(be, ST_Q_RELEASE, "issI", (int)dir, net, user, (int64_t)now) == -1 ? -1 : 0;
}

static int
sq_queue_delete(void *be, int64_t id, time_t now)
{
	/* The queue_tombstone trigger keeps the dedup key (migration 3). */
	(void)now;
	return sq_exec(be, ST_Q_DELETE, "I", id) == -1 ? -1 : 0;
}

static int
sq_queue_seen(void *be, enum store_dir dir, const char *net, const char *jid, const char *key,
              time_t tomb_after)
{
	struct sq *sq = be;

	return (int)sq_query_long(
	        sq, ST_Q_SEEN,
	        sq_prep(sq, ST_Q_SEEN, "isssI", (int)dir, net, jid, key, (int64_t)tomb_after));
}

static int
sq_queue_tombstone(void *be, enum store_dir dir, const char *net, const char *jid, const char *key,
                   time_t now)
{
	return sq_exec(be, ST_Q_TOMB, "isssI", (int)dir, net, jid, key, (int64_t)now) == -1 ? -1
	                                                                                    : 0;
}

static int
sq_queue_reserve(void *be, int n, int64_t *last)
{
	struct sq *sq = be;
	long v;

	if (sq_exec(sq, ST_Q_SEQ_INIT, "") == -1)
		return -1;
	if ((v = sq_query_long(sq, ST_Q_RESERVE, sq_prep(sq, ST_Q_RESERVE, "i", n))) <= 0)
		return -1;
	*last = v;
	return 0;
}

static long
sq_queue_count(void *be, enum store_dir dir, const char *net)
{
	struct sq *sq = be;

	if (net == NULL)
		return sq_query_long(sq, ST_Q_COUNT_ALL,
		                     sq_prep(sq, ST_Q_COUNT_ALL, "i", (int)dir));
	return sq_query_long(sq, ST_Q_COUNT_NET, sq_prep(sq, ST_Q_COUNT_NET, "is", (int)dir, net));
}

static long
sq_queue_count_user(void *be, enum store_dir dir, const char *net, const char *jid)
{
	struct sq *sq = be;

	return sq_query_long(sq, ST_Q_COUNT_USER,
	                     sq_prep(sq, ST_Q_COUNT_USER, "iss", (int)dir, net, jid));
}

/* A time one statement of (dir, net) answers: -1, 0 for none (no row, or a NULL min()), 1. */
static int
sq_queue_time(struct sq *sq, enum stmt_id id, enum store_dir dir, const char *net, time_t *when)
{
	sqlite3_stmt *st;
	int r;

	if ((st = sq_prep(sq, id, "is", (int)dir, net)) == NULL)
		return -1;
	if ((r = sq_step(sq, id, st)) == 1) {
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			r = 0;
		else
			*when = (time_t)sqlite3_column_int64(st, 0);
	}
	sq_stmt_put(sq, id, st);
	return r;
}

static int
sq_queue_next_due(void *be, enum store_dir dir, const char *net, time_t *when)
{
	return sq_queue_time(be, ST_Q_NEXT_DUE, dir, net, when);
}

static int
sq_queue_oldest(void *be, enum store_dir dir, const char *net, time_t *created)
{
	return sq_queue_time(be, ST_Q_OLDEST, dir, net, created);
}

static long
sq_queue_prune(void *be, time_t before)
{
	return sq_exec(be, ST_Q_PRUNE, "I", (int64_t)before);
}

const struct store_ops store_sqlite_ops = {
        .scheme = "sqlite",
        .open = sq_open,
        .close = sq_close,
        .schema_version = sq_schema_version,
        .schema_latest = sqlite_schema_latest,
        .begin = sq_begin,
        .commit = sq_commit,
        .rollback = sq_rollback,
        .user_add = sq_user_add,
        .user_remove = sq_user_remove,
        .user_get = sq_user_get,
        .user_set_disabled = sq_user_set_disabled,
        .user_foreach = sq_user_foreach,
        .user_count = sq_user_count,
        .setting_get = sq_setting_get,
        .setting_set = sq_setting_set,
        .setting_foreach = sq_setting_foreach,
        .setting_find = sq_setting_find,
        .secret_count = sq_secret_count,
        .contact_set = sq_contact_set,
        .contact_get = sq_contact_get,
        .contact_remove = sq_contact_remove,
        .contact_foreach = sq_contact_foreach,
        .contact_unregistered = sq_contact_unregistered,
        .queue_push = sq_queue_push,
        .queue_due = sq_queue_due,
        .queue_held = sq_queue_held,
        .queue_get = sq_queue_get,
        .queue_retry = sq_queue_retry,
        .queue_hold = sq_queue_hold,
        .queue_release_user = sq_queue_release_user,
        .queue_delete = sq_queue_delete,
        .queue_seen = sq_queue_seen,
        .queue_tombstone = sq_queue_tombstone,
        .queue_reserve = sq_queue_reserve,
        .queue_count = sq_queue_count,
        .queue_count_user = sq_queue_count_user,
        .queue_oldest = sq_queue_oldest,
        .queue_next_due = sq_queue_next_due,
        .queue_prune = sq_queue_prune,
        .archive_add = sq_archive_add,
        .archive_has_uid = sq_archive_has_uid,
        .archive_uid = sq_archive_uid,
        .archive_find_uid = sq_archive_find_uid,
        .archive_query = sq_archive_query,
        .member_add = sq_member_add,
        .member_remove = sq_member_remove,
        .member_set_nick = sq_member_set_nick,
        .member_foreach = sq_member_foreach,
        .lease_take = sq_lease_take,
        .lease_release = sq_lease_release,
};
