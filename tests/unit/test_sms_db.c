/* smsdb on SQLite: $n parameters in any order, NULLs, rows as text, URLs. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "driver.h"
#include "smsdb.h"
#include "unit.h"

static char path[64];

static struct smsdb *
open_tmp(void)
{
	char *url, *why = NULL;
	sqlite3 *raw;
	struct smsdb *db;

	strcpy(path, "/tmp/sg-smsdb-XXXXXX");
	ck_assert_int_ne(mkstemp(path), -1);
	/* smsdb opens read-write only: an empty file is a database. */
	ck_assert_int_eq(sqlite3_open(path, &raw), SQLITE_OK);
	sqlite3_close(raw);
	url = xasprintf("sqlite:%s", path);
	db = smsdb_open(url, &why);
	ck_assert_ptr_nonnull(db);
	free(url);
	return db;
}

START_TEST(parameters_rows_and_returning)
{
	struct smsdb *db = open_tmp();
	struct smsdb_rows *r;
	const char *ins[] = {"b-text", "a-text"};
	const char *one[] = {"2"};

	ck_assert_int_eq(smsdb_kind(db), SMSDB_SQLITE);
	ck_assert_int_eq(smsdb_query(db,
	                             "CREATE TABLE t (\"ID\" INTEGER PRIMARY KEY, \"A\" TEXT, "
	                             "\"B\" TEXT)",
	                             NULL, 0, NULL),
	                 0);
	/* $2 before $1: bound by name, not by position */
	ck_assert_int_eq(
	        smsdb_query(db, "INSERT INTO t (\"A\", \"B\") VALUES ($2, $1) RETURNING \"ID\"",
	                    ins, 2, &r),
	        0);
	ck_assert_uint_eq(smsdb_nrows(r), 1);
	ck_assert_int_eq(smsdb_get_int(r, 0, 0), 1);
	smsdb_rows_free(r);
	ck_assert_int_eq(smsdb_query(db, "INSERT INTO t (\"A\") VALUES ('x')", NULL, 0, NULL), 0);
	ck_assert_int_eq(smsdb_query(db,
	                             "SELECT \"A\", \"B\" FROM t WHERE \"ID\" < $1 ORDER BY "
	                             "\"ID\"",
	                             one, 1, &r),
	                 0);
	ck_assert_uint_eq(smsdb_nrows(r), 1);
	ck_assert_str_eq(smsdb_get(r, 0, 0), "a-text");
	ck_assert_str_eq(smsdb_get(r, 0, 1), "b-text");
	ck_assert_str_eq(smsdb_get(r, 0, 7), ""); /* out of range */
	ck_assert_str_eq(smsdb_get(r, 3, 0), "");
	smsdb_rows_free(r);
	ck_assert_int_eq(smsdb_query(db, "SELECT \"B\" FROM t WHERE \"ID\" = 2", NULL, 0, &r), 0);
	ck_assert_str_eq(smsdb_get(r, 0, 0), ""); /* NULL */
	smsdb_rows_free(r);
	/* a failed statement says why; a rolled back transaction leaves nothing */
	ck_assert_int_eq(smsdb_query(db, "SELECT nope FROM t", NULL, 0, &r), -1);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(strstr(smsdb_error(db), "nope"));
	ck_assert_int_eq(smsdb_begin(db), 0);
	ck_assert_int_eq(smsdb_query(db, "DELETE FROM t", NULL, 0, NULL), 0);
	smsdb_rollback(db);
	ck_assert_int_eq(smsdb_query(db, "SELECT count(*) FROM t", NULL, 0, &r), 0);
	ck_assert_int_eq(smsdb_get_int(r, 0, 0), 2);
	smsdb_rows_free(r);
	ck_assert(!smsdb_broken(db));
	smsdb_close(db);
	unlink(path);
}
END_TEST

START_TEST(urls)
{
	char *why = NULL;
	struct smsdb *db;

	ck_assert_int_eq(smsdb_check_url("sqlite:/x.db", &why), 0);
#ifdef WITH_POSTGRESQL
	ck_assert_int_eq(smsdb_check_url("postgresql://u@h/db", &why), 0);
#endif
	ck_assert_int_eq(smsdb_check_url("sqlite:", &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "postgresql://"));
	free(why);
	why = NULL;
	ck_assert_int_eq(smsdb_check_url("mysql://u@h/db", &why), -1);
	free(why);
	why = NULL;
	db = smsdb_open("sqlite:/nonexistent/dir/smsd.db", &why);
	ck_assert_ptr_null(db);
	ck_assert_ptr_nonnull(strstr(why, "cannot be opened"));
	free(why);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sms_db");
	TCase *tc = unit_tcase(s, "core");

	unit_tests(tc, parameters_rows_and_returning, urls);
	return unit_run(s);
}
