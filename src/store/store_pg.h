/*
 * Inside the PostgreSQL store backend: the connection handle, the
 * statements it runs, and the helpers that prepare, run and read them
 * (store_pg_stmt.c). Only store_pg*.c include this.
 */
#ifndef SG_STORE_PG_H
#define SG_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* Every statement of the backend; the SQL is in store_pg_stmt.c. */
enum pgs_stmt {
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
	P_USER_DEL_MEMBERS,
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
	P_Q_COUNT_USER,
	P_Q_NEXT_DUE,
	P_Q_OLDEST,
	P_Q_PRUNE,
	P_ARCH_ADD,
	P_ARCH_ASC,
	P_ARCH_DESC,
	P_ARCH_HAS_UID,
	P_ARCH_UID,
	P_ARCH_FIND_UID,
	P_MEMBER_PUT,
	P_MEMBER_DEL,
	P_MEMBER_DEL_ROOM,
	P_MEMBER_NICK,
	P_MEMBER_ALL,
	P_LEASE_TAKE,
	P_LEASE_OWNER,
	P_LEASE_DEL,
	P_USER_DEL_LEASES,
	P_COUNT
};

struct pg {
	PGconn *conn;
	int depth;              /* open transaction levels */
	bool lost;              /* the loss of the connection was logged */
	int attempts;           /* reconnections tried since the loss */
	double lost_at;         /* when it was noticed (monotonic seconds) */
	double retry_at;        /* no reconnection before this (backoff) */
	bool prepared[P_COUNT]; /* on this connection */
};

/* The first line of a libpq message (caller frees). */
char *pgs_first_line(const char *msg);
/* Log what failed, with PostgreSQL's first line (res may be NULL). */
void pgs_warn(struct pg *pg, const char *what, const PGresult *res);
/* NOTICEs go to the debug log (a PQsetNoticeProcessor callback). */
void pgs_notice(void *arg, const char *msg);
/*
 * 0 when the connection can be used. Lost outside a transaction: reset
 * (logged) if the backoff allows, else -1 at once; inside one: -1, until
 * the caller rolls back.
 */
int pgs_usable(struct pg *pg);
/* The connection was lost and is not back: no I/O. */
bool pgs_unreachable(struct pg *pg);
/* A fixed command (transactions): the result (caller clears), or NULL (logged). */
PGresult *pgs_command(struct pg *pg, const char *sql);
/*
 * Run statement id, prepared once per connection, with parameters from
 * fmt: 's' text (NULL binds NULL), 'i' int, 'I' int64_t, 'b' bytes
 * (const void *, size_t). The result (caller clears), or NULL (logged).
 */
PGresult *pgs_run(struct pg *pg, enum pgs_stmt id, const char *fmt, ...);
/* Rows changed, or -1 for a NULL result; clears res. */
long pgs_changes(PGresult *res);
/* The integer in the first column of the first row, or -1; clears res. */
long pgs_long(PGresult *res);

/* Column readers: values owned by res unless "dup" or "bytes" (caller frees). */
int64_t pgs_i64(const PGresult *res, int row, int col);
const char *pgs_str(const PGresult *res, int row, int col); /* NULL for NULL */
char *pgs_dup(const PGresult *res, int row, int col);
/* A BYTEA column's bytes plus a NUL not counted in *len. */
char *pgs_bytes(const PGresult *res, int row, int col, size_t *len);

#endif
