/*
 * The SQLite store's schema: numbered migrations recorded in
 * PRAGMA user_version. Never edit a released migration; add a new one.
 */
#ifndef SG_STORE_SQLITE_SCHEMA_H
#define SG_STORE_SQLITE_SCHEMA_H

#include <sqlite3.h>

/* The number of the last migration. */
int sqlite_schema_latest(void);

/* The database's migration number (PRAGMA user_version), or -1. */
int sqlite_schema_version(sqlite3 *db);

/*
 * Apply the migrations after the current version up to target (-1: the
 * latest), all in one transaction. A database newer than this build is
 * refused. Returns 0, or -1 with *err (one line naming path, caller frees).
 */
int sqlite_schema_migrate(sqlite3 *db, const char *path, int target, char **err);

#endif
