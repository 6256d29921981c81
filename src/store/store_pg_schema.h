/*
 * The PostgreSQL store's schema: migrations numbered like the SQLite
 * store's (migration n reaches the same logical schema on both engines),
 * recorded in the one-row table schema_version.
 */
#ifndef SG_STORE_PG_SCHEMA_H
#define SG_STORE_PG_SCHEMA_H

#include <libpq-fe.h>

/* The number of the last migration. */
int pgs_schema_latest(void);

/* The database's migration number (0 before the first), or -1 (logged). */
int pgs_schema_version(PGconn *conn);

/*
 * Apply the migrations after the current version up to target (-1: the
 * latest) in one transaction, under an advisory lock so that two
 * processes never migrate at once. A database newer than this build is
 * refused. Returns 0, or -1 with *err (one line, caller frees).
 */
int pgs_schema_migrate(PGconn *conn, int target, char **err);

#endif
