/* gammu-smsd's database on SQLite or PostgreSQL; see smsdb.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#ifdef WITH_POSTGRESQL
#include <libpq-fe.h>
#endif

#include "driver.h"
#include "smsdb.h"

#define BUSY_MS 200
#define PG_OPTIONS "-c statement_timeout=2000"

struct smsdb {
	enum smsdb_kind kind;
	sqlite3 *sq;
#ifdef WITH_POSTGRESQL
	PGconn *pg;
	PostgresPollingStatusType polling; /* PGRES_POLLING_OK once connected */
#endif
	char *err;
};

struct smsdb_rows {
	size_t nrows;
	int ncols;
	char **v; /* nrows * ncols, NULL for SQL NULL */
};

static void
set_err(struct smsdb *db, const char *e)
{
	char *copy = xstrdup(e ? e : "unknown error");
	size_t n = strlen(copy);

	/* libpq's messages end with a newline (sometimes two lines): keep one line. */
	while (n > 0 && (copy[n - 1] == '\n' || copy[n - 1] == ' '))
		copy[--n] = '\0';
	for (char *p = copy; *p; p++)
		if (*p == '\n')
			*p = ' ';
	free(db->err);
	db->err = copy;
}

int
smsdb_check_url(const char *url, char **why)
{
	if (url != NULL && strncmp(url, "sqlite:", 7) == 0 && url[7] != '\0')
		return 0;
	if (url != NULL &&
	    (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)) {
#ifdef WITH_POSTGRESQL
		return 0;
#else
		*why = xstrdup("smsd_database: this build has no PostgreSQL support (libpq-dev)");
		return -1;
#endif
	}
	*why = xstrdup("driver = smsd needs smsd_database = sqlite:/path/to/smsd.db or "
	               "postgresql://user@host/database");
	return -1;
}

struct smsdb *
smsdb_open(const char *url, char **why)
{
	struct smsdb *db = xcalloc(1, sizeof(*db));

	if (strncmp(url, "sqlite:", 7) == 0) {
		db->kind = SMSDB_SQLITE;
		if (sqlite3_open_v2(url + 7, &db->sq, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
			*why = xasprintf("cannot be opened: %s",
			                 db->sq ? sqlite3_errmsg(db->sq) : "out of memory");
			goto fail;
		}
		sqlite3_busy_timeout(db->sq, BUSY_MS);
		return db;
	}
#ifdef WITH_POSTGRESQL
	{
		/* Later keys win over the URL's own: a dead server is noticed in seconds. */
		static const char *const keys[] = {
		        "dbname",           "options",          "application_name",
		        "keepalives",       "keepalives_idle",  "keepalives_interval",
		        "keepalives_count", "tcp_user_timeout", NULL};
		const char *const vals[] = {url, PG_OPTIONS, "stanzagate", "1", "10",
		                            "2", "2",        "3000",       NULL};

		db->kind = SMSDB_PGSQL;
		db->pg = PQconnectStartParams(keys, vals, 1);
		if (db->pg == NULL || PQstatus(db->pg) == CONNECTION_BAD) {
			set_err(db, db->pg ? PQerrorMessage(db->pg) : "out of memory");
			*why = xasprintf("cannot connect: %s", db->err);
			goto fail;
		}
		/* libpq: after the start, as if a poll had asked to write. */
		db->polling = PGRES_POLLING_WRITING;
		return db;
	}
#endif
	*why = xstrdup("unsupported database URL");
fail:
	smsdb_close(db);
	return NULL;
}

void
smsdb_close(struct smsdb *db)
{
	if (db == NULL)
		return;
	if (db->sq)
		sqlite3_close(db->sq);
#ifdef WITH_POSTGRESQL
	if (db->pg)
		PQfinish(db->pg);
#endif
	free(db->err);
	free(db);
}

int
smsdb_connecting(struct smsdb *db, int *fd, bool *want_write)
{
#ifdef WITH_POSTGRESQL
	if (db->pg) {
		if (db->polling == PGRES_POLLING_OK)
			return 0;
		if (db->polling == PGRES_POLLING_FAILED || PQsocket(db->pg) < 0) {
			set_err(db, PQerrorMessage(db->pg));
			return -1;
		}
		*fd = PQsocket(db->pg);
		*want_write = db->polling == PGRES_POLLING_WRITING;
		return 1;
	}
#endif
	(void)db;
	(void)fd;
	(void)want_write;
	return 0;
}

void
smsdb_connect_step(struct smsdb *db)
{
#ifdef WITH_POSTGRESQL
	if (db->pg && db->polling != PGRES_POLLING_OK && db->polling != PGRES_POLLING_FAILED)
		db->polling = PQconnectPoll(db->pg);
#endif
	(void)db;
}

enum smsdb_kind
smsdb_kind(const struct smsdb *db)
{
	return db->kind;
}

const char *
smsdb_error(struct smsdb *db)
{
	return db->err ? db->err : "no error";
}

bool
smsdb_broken(struct smsdb *db)
{
#ifdef WITH_POSTGRESQL
	if (db->pg)
		return PQstatus(db->pg) != CONNECTION_OK;
#endif
	(void)db;
	return false;
}

static struct smsdb_rows *
rows_new(int ncols)
{
	struct smsdb_rows *r = xcalloc(1, sizeof(*r));

	r->ncols = ncols;
	return r;
}

static void
rows_add(struct smsdb_rows *r, const char *const *vals)
{
	size_t base = r->nrows * (size_t)r->ncols;

	r->v = xreallocarray(r->v, base + (size_t)r->ncols + 1, sizeof(*r->v));
	for (int c = 0; c < r->ncols; c++)
		r->v[base + (size_t)c] = xstrdup_or_null(vals[c]);
	r->nrows++;
}

static int
sq_query(struct smsdb *db, const char *sql, const char *const *params, int n,
         struct smsdb_rows **rows)
{
	sqlite3_stmt *st = NULL;
	struct smsdb_rows *r = NULL;
	const char **vals = NULL;
	int rc;

	if (sqlite3_prepare_v2(db->sq, sql, -1, &st, NULL) != SQLITE_OK) {
		set_err(db, sqlite3_errmsg(db->sq));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char name[16];
		int idx;

		snprintf(name, sizeof(name), "$%d", i + 1);
		if ((idx = sqlite3_bind_parameter_index(st, name)) == 0)
			continue;
		if (params[i])
			sqlite3_bind_text(st, idx, params[i], -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, idx);
	}
	if (rows) {
		r = rows_new(sqlite3_column_count(st));
		vals = xcalloc((size_t)r->ncols + 1, sizeof(*vals));
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (r == NULL)
			continue;
		for (int c = 0; c < r->ncols; c++)
			vals[c] = (const char *)sqlite3_column_text(st, c);
		rows_add(r, vals);
	}
	free(vals);
	if (rc != SQLITE_DONE) {
		set_err(db, sqlite3_errmsg(db->sq));
		sqlite3_finalize(st);
		smsdb_rows_free(r);
		return -1;
	}
	sqlite3_finalize(st);
	if (rows)
		*rows = r;
	return 0;
}

#ifdef WITH_POSTGRESQL
static int
pg_query(struct smsdb *db, const char *sql, const char *const *params, int n,
         struct smsdb_rows **rows)
{
	PGresult *res = PQexecParams(db->pg, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	struct smsdb_rows *r;
	const char **vals;

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		set_err(db, res ? PQresultErrorMessage(res) : PQerrorMessage(db->pg));
		PQclear(res);
		return -1;
	}
	if (rows) {
		r = rows_new(PQnfields(res));
		vals = xcalloc((size_t)r->ncols + 1, sizeof(*vals));
		for (int i = 0; i < PQntuples(res); i++) {
			for (int c = 0; c < r->ncols; c++)
				vals[c] = PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
			rows_add(r, vals);
		}
		free(vals);
		*rows = r;
	}
	PQclear(res);
	return 0;
}
#endif

int
smsdb_query(struct smsdb *db, const char *sql, const char *const *params, int n,
            struct smsdb_rows **rows)
{
	if (rows)
		*rows = NULL;
#ifdef WITH_POSTGRESQL
	if (db->pg)
		return pg_query(db, sql, params, n, rows);
#endif
	return sq_query(db, sql, params, n, rows);
}

size_t
smsdb_nrows(const struct smsdb_rows *r)
{
	return r ? r->nrows : 0;
}

const char *
smsdb_get(const struct smsdb_rows *r, size_t row, int c)
{
	const char *v;

	if (r == NULL || row >= r->nrows || c < 0 || c >= r->ncols)
		return "";
	v = r->v[row * (size_t)r->ncols + (size_t)c];
	return v ? v : "";
}

long long
smsdb_get_int(const struct smsdb_rows *r, size_t row, int c)
{
	return strtoll(smsdb_get(r, row, c), NULL, 10);
}

void
smsdb_rows_free(struct smsdb_rows *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nrows * (size_t)r->ncols; i++)
		free(r->v[i]);
	free(r->v);
	free(r);
}

int
smsdb_begin(struct smsdb *db)
{
	return smsdb_query(db, db->kind == SMSDB_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN", NULL, 0,
	                   NULL);
}

int
smsdb_commit(struct smsdb *db)
{
	return smsdb_query(db, "COMMIT", NULL, 0, NULL);
}

void
smsdb_rollback(struct smsdb *db)
{
	char *keep = db->err ? xstrdup(db->err) : NULL;

	smsdb_query(db, "ROLLBACK", NULL, 0, NULL);
	/* The error worth reading is what made us roll back. */
	free(db->err);
	db->err = keep;
}
