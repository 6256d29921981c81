/*
 * stanzagate --migrate-store FROM TO: copy a SQLite store into an empty
 * PostgreSQL store, every table row for row, in one transaction, then
 * compare the row counts of each table on both sides.
 *
 * Both stores are first brought to the latest schema through store_open()
 * (the engines share the migration numbering), so the tables and columns
 * match; the list of tables and their columns is read from PostgreSQL, so a
 * new migration needs nothing here. Sealed secrets are copied as they are:
 * the same key file opens them afterwards. Sequences are moved past the
 * highest id the SQLite store ever handed out (sqlite_sequence), so no id
 * is ever given twice.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "xmalloc.h"

#ifdef WITH_POSTGRESQL
#include <libpq-fe.h>
#include <sqlite3.h>

struct copy {
	sqlite3 *lite;
	PGconn *pg;
	char *err;
	FILE *out;
};

/* Set c->err from a PostgreSQL result or connection (first line): -1. */
static int
pgs_fail(struct copy *c, const char *what, const PGresult *res)
{
	const char *m = res ? PQresultErrorMessage(res) : "";

	if (*m == '\0')
		m = PQerrorMessage(c->pg);
	c->err = xasprintf("%s: %.*s", what, (int)strcspn(m, "\n"), m);
	return -1;
}

/* Run sql on PostgreSQL: the result (caller clears), or NULL with c->err. */
static PGresult *
pgs_query(struct copy *c, const char *sql, int n, const char *const *vals)
{
	PGresult *res = PQexecParams(c->pg, sql, n, NULL, vals, NULL, NULL, 0);

	if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	pgs_fail(c, sql, res);
	PQclear(res);
	return NULL;
}

/* One integer SQLite answers for sql, or -1 with c->err. */
static long long
lite_long(struct copy *c, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(c->lite, sql, -1, &st, NULL) != SQLITE_OK) {
		c->err = xasprintf("SQLite: %s: %s", sql, sqlite3_errmsg(c->lite));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		c->err = xasprintf("SQLite: %s: %s", sql, sqlite3_errmsg(c->lite));
	sqlite3_finalize(st);
	return v;
}

struct table {
	char *name;
	int ncols;
	char **cols;
	bool *bytea;
};

static void
table_free(struct table *t)
{
	for (int i = 0; i < t->ncols; i++)
		free(t->cols[i]);
	free(t->cols);
	free(t->bytea);
	free(t->name);
}

/* The columns of PostgreSQL's table t->name, in order: 0, or -1. */
static int
table_columns(struct copy *c, struct table *t)
{
	const char *v[1] = {t->name};
	PGresult *res;

	res = pgs_query(c,
	                "SELECT column_name, data_type = 'bytea' FROM information_schema.columns"
	                " WHERE table_schema = current_schema() AND table_name = $1"
	                " ORDER BY ordinal_position",
	                1, v);
	if (res == NULL)
		return -1;
	t->ncols = PQntuples(res);
	t->cols = xcalloc((size_t)t->ncols, sizeof(*t->cols));
	t->bytea = xcalloc((size_t)t->ncols, sizeof(*t->bytea));
	for (int i = 0; i < t->ncols; i++) {
		t->cols[i] = xstrdup(PQgetvalue(res, i, 0));
		t->bytea[i] = PQgetvalue(res, i, 1)[0] == 't';
	}
	PQclear(res);
	return 0;
}

/* "SELECT a, b FROM t" and "INSERT INTO t (a, b) VALUES ($1, $2)". Caller frees. */
static void
table_sql(const struct table *t, char **sel, char **ins)
{
	size_t cap = 64 + strlen(t->name);
	char *cols, *params;

	for (int i = 0; i < t->ncols; i++)
		cap += strlen(t->cols[i]) + 12;
	cols = xcalloc(1, cap);
	params = xcalloc(1, cap);
	for (int i = 0; i < t->ncols; i++) {
		snprintf(cols + strlen(cols), cap - strlen(cols), "%s\"%s\"", i ? ", " : "",
		         t->cols[i]);
		snprintf(params + strlen(params), cap - strlen(params), "%s$%d", i ? ", " : "",
		         i + 1);
	}
	*sel = xasprintf("SELECT %s FROM \"%s\"", cols, t->name);
	*ins = xasprintf("INSERT INTO \"%s\" (%s) VALUES (%s)", t->name, cols, params);
	free(cols);
	free(params);
}

/* Copy every row of t: the number copied, or -1 with c->err. */
static long long
copy_rows(struct copy *c, const struct table *t)
{
	const char **val = xcalloc((size_t)t->ncols, sizeof(*val));
	int *len = xcalloc((size_t)t->ncols, sizeof(*len));
	int *fmt = xcalloc((size_t)t->ncols, sizeof(*fmt));
	char *sel, *ins;
	sqlite3_stmt *st = NULL;
	PGresult *res;
	long long n = -1;
	int rc;

	table_sql(t, &sel, &ins);
	res = PQprepare(c->pg, "copy_insert", ins, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pgs_fail(c, ins, res);
		PQclear(res);
		goto out;
	}
	PQclear(res);
	if (sqlite3_prepare_v2(c->lite, sel, -1, &st, NULL) != SQLITE_OK) {
		c->err = xasprintf("SQLite: %s: %s", sel, sqlite3_errmsg(c->lite));
		goto out;
	}
	n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < t->ncols; i++) {
			fmt[i] = t->bytea[i];
			val[i] = t->bytea[i] ? sqlite3_column_blob(st, i)
			                     : (const char *)sqlite3_column_text(st, i);
			len[i] = sqlite3_column_bytes(st, i);
			/* A zero-length value is a blob of no bytes, not NULL. */
			if (val[i] == NULL && sqlite3_column_type(st, i) != SQLITE_NULL)
				val[i] = "";
		}
		res = PQexecPrepared(c->pg, "copy_insert", t->ncols, val, len, fmt, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pgs_fail(c, t->name, res);
			PQclear(res);
			n = -1;
			goto out;
		}
		PQclear(res);
		n++;
	}
	if (rc != SQLITE_DONE) {
		c->err = xasprintf("SQLite: reading %s: %s", t->name, sqlite3_errmsg(c->lite));
		n = -1;
	}
out:
	sqlite3_finalize(st);
	PQclear(PQexec(c->pg, "DEALLOCATE copy_insert"));
	free(sel);
	free(ins);
	free(val);
	free(len);
	free(fmt);
	return n;
}

/* Move t's id sequence (if it has one) past every id SQLite handed out. */
static int
copy_sequence(struct copy *c, const struct table *t)
{
	char *sql, high[32];
	const char *v[2] = {t->name, high};
	long long max, seq;
	PGresult *res;

	sql = xasprintf("SELECT coalesce(max(id), 0) FROM \"%s\"", t->name);
	max = lite_long(c, sql);
	free(sql);
	sql = xasprintf("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = '%s'), 0)",
	                t->name);
	seq = lite_long(c, sql);
	free(sql);
	if (max == -1 || seq == -1)
		return -1;
	if (seq < max)
		seq = max;
	if (seq == 0)
		return 0;
	snprintf(high, sizeof(high), "%lld", seq);
	res = pgs_query(c, "SELECT setval(pg_get_serial_sequence($1, 'id'), $2::bigint)", 2, v);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* Row counts of t on both sides after the copy: 0 when they match, else -1. */
static int
verify_table(struct copy *c, const struct table *t, long long copied)
{
	char *sql = xasprintf("SELECT count(*) FROM \"%s\"", t->name);
	long long lite = lite_long(c, sql);
	PGresult *res = pgs_query(c, sql, 0, NULL);
	long long pg = -1;

	free(sql);
	if (res == NULL || lite == -1) {
		PQclear(res);
		return -1;
	}
	pg = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	fprintf(c->out, "%-20s %10lld rows in SQLite, %10lld copied, %10lld in PostgreSQL%s\n",
	        t->name, lite, copied, pg, lite == pg && pg == copied ? "" : "  MISMATCH");
	if (lite == pg && pg == copied)
		return 0;
	c->err = xasprintf("table %s: %lld rows in SQLite but %lld in PostgreSQL", t->name, lite,
	                   pg);
	return -1;
}

/* Every table of the PostgreSQL schema but its version. */
static PGresult *
table_names(struct copy *c)
{
	return pgs_query(c,
	                 "SELECT table_name FROM information_schema.tables"
	                 " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	                 " AND table_name <> 'schema_version' ORDER BY table_name",
	                 0, NULL);
}

/* Refuse a target that holds anything: a copy never merges. */
static int
check_empty(struct copy *c, PGresult *names)
{
	for (int i = 0; i < PQntuples(names); i++) {
		char *sql =
		        xasprintf("SELECT EXISTS (SELECT 1 FROM \"%s\")", PQgetvalue(names, i, 0));
		PGresult *res = pgs_query(c, sql, 0, NULL);
		bool rows = res && PQgetvalue(res, 0, 0)[0] == 't';

		free(sql);
		PQclear(res);
		if (res == NULL)
			return -1;
		if (rows) {
			c->err = xasprintf("the PostgreSQL store is not empty (table %s has rows): "
			                   "a copy goes into a new database",
			                   PQgetvalue(names, i, 0));
			return -1;
		}
	}
	return 0;
}

/* The copy itself, inside the transaction; verified afterwards by the caller. */
static int
copy_tables(struct copy *c, PGresult *names, long long *copied)
{
	for (int i = 0; i < PQntuples(names); i++) {
		struct table t = {xstrdup(PQgetvalue(names, i, 0)), 0, NULL, NULL};
		int r = table_columns(c, &t);

		if (r == 0 && (copied[i] = copy_rows(c, &t)) == -1)
			r = -1;
		if (r == 0)
			for (int k = 0; k < t.ncols; k++)
				if (strcmp(t.cols[k], "id") == 0 && copy_sequence(c, &t) == -1)
					r = -1;
		table_free(&t);
		if (r == -1)
			return -1;
	}
	return 0;
}

static int
run_copy(struct copy *c)
{
	PGresult *names, *res;
	long long *copied = NULL;
	int r = -1;

	if ((names = table_names(c)) == NULL)
		return -1;
	copied = xcalloc((size_t)PQntuples(names) + 1, sizeof(*copied));
	if ((res = pgs_query(c, "BEGIN", 0, NULL)) == NULL)
		goto out;
	PQclear(res);
	if (check_empty(c, names) == -1 || copy_tables(c, names, copied) == -1) {
		PQclear(PQexec(c->pg, "ROLLBACK"));
		goto out;
	}
	res = PQexec(c->pg, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		pgs_fail(c, "COMMIT", res);
		PQclear(res);
		goto out;
	}
	PQclear(res);
	r = 0;
	for (int i = 0; i < PQntuples(names); i++) {
		struct table t = {PQgetvalue(names, i, 0), 0, NULL, NULL};

		if (verify_table(c, &t, copied[i]) == -1)
			r = -1;
	}
out:
	free(copied);
	PQclear(names);
	return r;
}

/* Bring a store to the latest schema (creating it if need be): 0, or -1 with *err. */
static int
bring_up_to_date(const char *url, char **err)
{
	struct store *s = store_open(url, NULL, err);

	if (s == NULL)
		return -1;
	store_close(s);
	return 0;
}

int
store_copy(const char *from, const char *to, FILE *out, char **err)
{
	struct copy c = {NULL, NULL, NULL, out};
	const char *path;
	int r = -1;

	*err = NULL;
	if (strncmp(from, "sqlite:", 7) != 0 ||
	    (strncmp(to, "postgresql:", 11) != 0 && strncmp(to, "postgres:", 9) != 0)) {
		*err = xstrdup("--migrate-store copies a sqlite: store into a postgresql:// one");
		return -1;
	}
	if (bring_up_to_date(from, err) == -1 || bring_up_to_date(to, err) == -1)
		return -1;
	path = from + 7;
	if (strncmp(path, "///", 3) == 0)
		path += 2;
	if (sqlite3_open_v2(path, &c.lite, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		*err = xasprintf("cannot open %s: %s", path, sqlite3_errmsg(c.lite));
		goto out;
	}
	c.pg = PQconnectdb(to);
	if (PQstatus(c.pg) != CONNECTION_OK) {
		pgs_fail(&c, "cannot connect to the PostgreSQL store", NULL);
		goto out;
	}
	PQclear(PQexec(c.pg, "SET client_min_messages = warning"));
	r = run_copy(&c);
out:
	if (r == -1 && *err == NULL)
		*err = c.err ? c.err : xstrdup("the copy failed");
	else
		free(c.err);
	sqlite3_close(c.lite);
	PQfinish(c.pg);
	return r;
}
#else
int
store_copy(const char *from, const char *to, FILE *out, char **err)
{
	(void)from;
	(void)to;
	(void)out;
	*err = xstrdup("this stanzagate was built without the PostgreSQL store (no libpq)");
	return -1;
}
#endif
