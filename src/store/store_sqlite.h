/*
 * Inside the SQLite store backend: the connection handle, the statements
 * it runs, and the helpers that cache, bind and step them
 * (store_sqlite_stmt.c). Only store_sqlite*.c include this.
 */
#ifndef SG_STORE_SQLITE_H
#define SG_STORE_SQLITE_H

#include <stdbool.h>

#include <sqlite3.h>

/* Every statement of the backend; the SQL is in store_sqlite_stmt.c. */
enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,

	ST_USER_ADD,
	ST_USER_GET,
	ST_USER_DISABLE,
	ST_USER_ALL,
	ST_USER_NET,
	ST_USER_COUNT_ALL,
	ST_USER_COUNT_NET,
	ST_USER_DEL,
	ST_USER_DEL_SETTINGS,
	ST_USER_DEL_CONTACTS,
	ST_USER_DEL_QUEUE,
	ST_USER_DEL_TOMBS,

	ST_SET_GET,
	ST_SET_PUT,
	ST_SET_DEL,
	ST_SET_ALL,
	ST_SET_FIND,
	ST_SECRET_COUNT,

	ST_CONTACT_PUT,
	ST_CONTACT_GET,
	ST_CONTACT_DEL,
	ST_CONTACT_ALL,
	ST_CONTACT_UNREG,

	ST_Q_INSERT,
	ST_Q_DUE,
	ST_Q_HELD,
	ST_Q_GET,
	ST_Q_RETRY,
	ST_Q_HOLD,
	ST_Q_RELEASE,
	ST_Q_DELETE,
	ST_Q_COUNT_ALL,
	ST_Q_COUNT_NET,
	ST_Q_COUNT_USER,
	ST_Q_NEXT_DUE,
	ST_Q_OLDEST,
	ST_Q_PRUNE,
	ST_Q_SEEN,
	ST_Q_TOMB,
	ST_Q_SEQ_INIT,
	ST_Q_RESERVE,

	ST_ARCH_ADD,
	ST_ARCH_ASC,
	ST_ARCH_DESC,
	ST_ARCH_HAS_UID,
	ST_ARCH_UID,
	ST_ARCH_FIND_UID,
	ST_USER_DEL_ARCHIVE,

	ST_MEMBER_PUT,
	ST_MEMBER_DEL,
	ST_MEMBER_DEL_ROOM,
	ST_MEMBER_NICK,
	ST_MEMBER_ALL,
	ST_LEASE_TAKE,
	ST_LEASE_OWNER,
	ST_LEASE_DEL,
	ST_USER_DEL_LEASES,
	ST_USER_DEL_MEMBERS,

	ST_COUNT
};

struct sq {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *st[ST_COUNT];
	bool busy[ST_COUNT]; /* the cached statement is bound or stepping */
};

/* Log what failed on sq's connection, with SQLite's message. */
void sq_warn(struct sq *sq, const char *what);

/*
 * The cached statement for id, or a fresh one when the cached one is in
 * use (a callback re-entering the store); NULL (logged) on error. Give it
 * back with sq_stmt_put().
 */
sqlite3_stmt *sq_stmt_get(struct sq *sq, enum stmt_id id);
void sq_stmt_put(struct sq *sq, enum stmt_id id, sqlite3_stmt *st);

/*
 * sq_stmt_get() and bind parameters 1.. from fmt: 's' text (NULL binds
 * NULL), 'i' int, 'I' int64_t, 'b' blob (const void *, size_t; NULL binds
 * NULL). Strings are not copied: they must outlive the stepping. NULL
 * (logged) on error.
 */
sqlite3_stmt *sq_prep(struct sq *sq, enum stmt_id id, const char *fmt, ...);
/* Prepare, bind, run a statement that returns no rows: rows changed, or -1. */
long sq_exec(struct sq *sq, enum stmt_id id, const char *fmt, ...);
/* Step st for one row: 1 row, 0 none, -1 error (logged). */
int sq_step(struct sq *sq, enum stmt_id id, sqlite3_stmt *st);
/* Step st (NULL accepted) for one integer, put it back: the value, or -1. */
long sq_query_long(struct sq *sq, enum stmt_id id, sqlite3_stmt *st);
/* A text column copied (caller frees), or NULL when it is NULL. */
char *sq_col_str(sqlite3_stmt *st, int i);

#endif
