/*
 * gammu-smsd's database, SQLite or PostgreSQL, behind one small interface
 * so that smsd.c has one code path for both.
 *
 * Statements take text parameters written $1..$n (both engines read them;
 * PostgreSQL needs every one used) and quoted identifiers ("ID"), and return
 * every row at once as text. They are short and run on the loop: SQLite
 * waits at most a short busy timeout; PostgreSQL connects without blocking
 * (the caller drives it, see smsdb_connecting()) and runs each statement
 * under a 2 s statement_timeout, with TCP keepalives and a 3 s
 * tcp_user_timeout, so a server that vanishes costs the loop a few seconds
 * at worst, once, before the line goes down. What differs between the
 * engines (a transaction's start, one aggregate) is behind smsdb_kind().
 */
#ifndef SG_SMSDB_H
#define SG_SMSDB_H

#include <stdbool.h>
#include <stddef.h>

enum smsdb_kind { SMSDB_SQLITE, SMSDB_PGSQL };

struct smsdb;
struct smsdb_rows;

/* Is url one we can open ("sqlite:/path", "postgresql://…")? -1 with *why (caller frees). */
int smsdb_check_url(const char *url, char **why);
/*
 * Open (the url was checked); NULL with *why (caller frees). A PostgreSQL
 * connection is only started: use it once smsdb_connecting() says 0.
 */
struct smsdb *smsdb_open(const char *url, char **why);
/*
 * How the opening goes: 0 ready; -1 failed (smsdb_error says why); 1 still
 * connecting: call smsdb_connect_step() when *fd is readable (or writable
 * with *want_write). The caller times it out (libpq does not, here).
 */
int smsdb_connecting(struct smsdb *, int *fd, bool *want_write);
/* One step of the connection, when its socket is ready; then ask smsdb_connecting(). */
void smsdb_connect_step(struct smsdb *);
void smsdb_close(struct smsdb *);
enum smsdb_kind smsdb_kind(const struct smsdb *);
/* The last error, for the log (valid until the next call). */
const char *smsdb_error(struct smsdb *);
/* The connection is gone (PostgreSQL): close and open again. */
bool smsdb_broken(struct smsdb *);

/*
 * Run sql with params[0..n-1] as $1..$n (NULL: SQL NULL). With rows, the
 * result is stored there (caller frees with smsdb_rows_free). 0, or -1.
 */
int smsdb_query(struct smsdb *, const char *sql, const char *const *params, int n,
                struct smsdb_rows **rows);
size_t smsdb_nrows(const struct smsdb_rows *);
/* Row r, column c as text: "" for NULL or out of range. */
const char *smsdb_get(const struct smsdb_rows *, size_t r, int c);
long long smsdb_get_int(const struct smsdb_rows *, size_t r, int c);
void smsdb_rows_free(struct smsdb_rows *);

/* A write transaction (SQLite: BEGIN IMMEDIATE, so a busy database fails now). */
int smsdb_begin(struct smsdb *);
int smsdb_commit(struct smsdb *);
void smsdb_rollback(struct smsdb *);

#endif
