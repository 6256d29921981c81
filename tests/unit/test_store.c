/*
 * Unit tests of the store (store.h): every function, its errors, the
 * migrations from each earlier schema version, crash safety under SIGKILL,
 * and start-up time with 100 000 users. The engine-independent cases run
 * on SQLite and again on PostgreSQL, in a private cluster this program
 * starts (skipped with a message when PostgreSQL 15 is not installed).
 */
#define _GNU_SOURCE /* memmem */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef WITH_POSTGRESQL
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#endif

#include "log.h"
#include "store.h"
#include "store_backend.h"
#include "xmalloc.h"
#include "unit.h"

static char tmpdir[] = "/tmp/sg-store-XXXXXX";
static char *db_path, *url, *key_path;
static struct store *s;
static bool on_pg; /* this test case runs on PostgreSQL */

static void pg_fresh_database(void);

static void
setup(void)
{
	char *err = NULL;

	log_init(1, 0, "test_store");
	strcpy(tmpdir, "/tmp/sg-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	db_path = xasprintf("%s/stanzagate.db", tmpdir);
	key_path = xasprintf("%s/secret.key", tmpdir);
	if (on_pg)
		pg_fresh_database();
	else
		url = xasprintf("sqlite:%s", db_path);
	s = store_open(url, key_path, &err);
	ck_assert_msg(s != NULL, "store_open: %s", err ? err : "?");
}

static void
setup_pg(void)
{
	on_pg = true;
	setup();
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	store_close(s);
	s = NULL;
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(db_path);
	free(url);
	free(key_path);
}

static void
reopen(void)
{
	char *err = NULL;

	store_close(s);
	s = store_open(url, key_path, &err);
	ck_assert_msg(s != NULL, "store_open: %s", err ? err : "?");
}

#ifdef WITH_POSTGRESQL
/* ---- The private PostgreSQL cluster ---- */

#define PG_BIN "/usr/lib/postgresql/15/bin"

static char pg_dir[] = "/tmp/sg-store-pg-XXXXXX";
static int pg_port;

/* A TCP port nothing listens on now: it names the cluster's unix socket. */
static int
free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) == -1)
		return -1;
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Run a cluster command, as nobody when we are root (initdb refuses root). */
static int
pg_ctl_run(const char *args)
{
	char *cmd;
	int r;

	if (geteuid() == 0)
		cmd = xasprintf("cd %s && runuser -u nobody -- " PG_BIN "/%s >>%s/setup.log 2>&1",
		                pg_dir, args, pg_dir);
	else
		cmd = xasprintf("cd %s && " PG_BIN "/%s >>%s/setup.log 2>&1", pg_dir, args, pg_dir);
	r = system(cmd);
	free(cmd);
	return r;
}

/*
 * Start the cluster: initdb in a temporary directory, trust authentication,
 * no TCP, the socket in that directory, fsync off (the tests kill clients,
 * not the machine). 0, or -1 with a message on stderr.
 */
static int
pg_cluster_start(void)
{
	struct passwd *pw;
	char *args;
	int r;

	if (access(PG_BIN "/initdb", X_OK) != 0) {
		fprintf(stderr, "test_store: SKIP the PostgreSQL cases: " PG_BIN
		                "/initdb is missing (apt-get install postgresql-15)\n");
		return -1;
	}
	if (mkdtemp(pg_dir) == NULL || (pg_port = free_port()) == -1)
		return -1;
	if (geteuid() == 0 &&
	    ((pw = getpwnam("nobody")) == NULL || chown(pg_dir, pw->pw_uid, pw->pw_gid) == -1))
		return -1;
	r = pg_ctl_run("initdb -D data -U postgres --auth=trust -E UTF8 --no-locale --no-sync");
	if (r == 0) {
		args = xasprintf("pg_ctl -D data -l postgres.log -w -t 60 -o \"-p %d -k %s"
		                 " -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
		                 " -c full_page_writes=off\" start",
		                 pg_port, pg_dir);
		r = pg_ctl_run(args);
		free(args);
	}
	if (r != 0) {
		fprintf(stderr, "test_store: PostgreSQL did not start; see %s/setup.log\n", pg_dir);
		return -1;
	}
	return 0;
}

static void
pg_cluster_stop(void)
{
	char *cmd;

	pg_ctl_run("pg_ctl -D data -m immediate stop");
	cmd = xasprintf("rm -rf '%s'", pg_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_store: could not remove %s\n", pg_dir);
	free(cmd);
}

static char *
pg_url(const char *db)
{
	return xasprintf("postgresql:///%s?host=%s&port=%d&user=postgres", db, pg_dir, pg_port);
}

/* Run sql on db through libpq; the result (caller clears), checked. */
static PGresult *
pg_raw(const char *db_url, const char *sql)
{
	PGconn *c = PQconnectdb(db_url);
	PGresult *res;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	/* kill_backend() tells these apart: one closed a moment ago may still be listed. */
	PQclear(PQexec(c, "SET application_name = 'sg-raw'"));
	res = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
	                      PQresultStatus(res) == PGRES_TUPLES_OK,
	              "%s: %s", sql, PQresultErrorMessage(res));
	PQfinish(c);
	return res;
}

/* Each test gets an empty database "sg" (and url naming it). */
static void
pg_fresh_database(void)
{
	char *admin = pg_url("postgres");

	PQclear(pg_raw(admin, "DROP DATABASE IF EXISTS sg WITH (FORCE)"));
	PQclear(pg_raw(admin, "CREATE DATABASE sg"));
	free(admin);
	url = pg_url("sg");
}
#else
static void
pg_fresh_database(void)
{
}
#endif

/* A second connection, as an attacker or an older release would use. */
static void
raw_exec(const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

#ifdef WITH_POSTGRESQL
	if (on_pg) {
		PQclear(pg_raw(url, sql));
		return;
	}
#endif
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql,
	              msg ? msg : "");
	sqlite3_close(db);
}

static long
raw_long(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long v = -1;

#ifdef WITH_POSTGRESQL
	if (on_pg) {
		PGresult *res = pg_raw(url, sql);

		if (PQntuples(res) > 0)
			v = atol(PQgetvalue(res, 0, 0));
		PQclear(res);
		return v;
	}
#endif
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* GET (store_setting_get or store_secret_get) finds KEY and its value is WANT. */
static void
stored_is(int (*get)(struct store *, const char *, const char *, const char *, const char *,
                     char **),
          const char *net, const char *jid, const char *scope, const char *key, const char *want)
{
	char *v = NULL;

	ck_assert_msg(get(s, net, jid, scope, key, &v) == 1, "%s %s %s \"%s\" not found", net, jid,
	              scope, key);
	ck_assert_str_eq(v, want);
	free(v);
}

static char *
open_err(const char *u, const char *k)
{
	char *err = NULL;
	struct store *t = store_open(u, k, &err);

	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_null(strchr(err, '\n'));
	return err;
}

#define ASSERT_HAS(hay, needle)                                                                    \
	ck_assert_msg(strstr((hay), (needle)) != NULL, "\"%s\" lacks \"%s\"", (hay), (needle))

static void
remove_db(void)
{
	char *p;

	unlink(db_path);
	p = xasprintf("%s-wal", db_path);
	unlink(p);
	free(p);
	p = xasprintf("%s-shm", db_path);
	unlink(p);
	free(p);
}

/* ---- Opening ---- */

START_TEST(open_bad_urls)
{
	char *err;

	err = open_err("", key_path);
	ASSERT_HAS(err, "no storage url");
	free(err);
	err = open_err("/var/lib/x.db", key_path);
	ASSERT_HAS(err, "no scheme");
	free(err);
	err = open_err("mysql://db/x", key_path);
	ASSERT_HAS(err, "unknown scheme \"mysql:\"");
	free(err);
#ifdef WITH_POSTGRESQL
	/* Nothing listens on port 1: a clear error, and never the password. */
	err = open_err("postgresql://gw:hunter2@127.0.0.1:1/gw?connect_timeout=5", key_path);
	ASSERT_HAS(err, "cannot connect to the PostgreSQL store");
	ck_assert_ptr_null(strstr(err, "hunter2"));
	free(err);
	err = open_err("postgres://gw@127.0.0.1:1/gw", key_path);
	ASSERT_HAS(err, "cannot connect to the PostgreSQL store");
	free(err);
#else
	err = open_err("postgresql://gw:hunter2@db.example/gw", key_path);
	ASSERT_HAS(err, "built without the PostgreSQL store");
	ck_assert_ptr_null(strstr(err, "hunter2"));
	free(err);
	err = open_err("postgres://db/gw", key_path);
	ASSERT_HAS(err, "built without the PostgreSQL store");
	free(err);
#endif
	err = open_err("sqlite:", key_path);
	ASSERT_HAS(err, "no database file");
	free(err);
	err = open_err("sqlite://host/x.db", key_path);
	ASSERT_HAS(err, "no host part");
	free(err);
	/* NULL url */
	ck_assert_ptr_null(store_open(NULL, key_path, &err));
	free(err);
}
END_TEST

START_TEST(open_uncreatable_paths)
{
	char *u, *err, *file;
	int status;
	pid_t pid;

	u = xasprintf("sqlite:%s/no/such/dir/x.db", tmpdir);
	err = open_err(u, key_path);
	ASSERT_HAS(err, "cannot open database");
	ASSERT_HAS(err, "/no/such/dir/x.db");
	ASSERT_HAS(err, "No such file or directory");
	free(err);
	free(u);

	/* A path through a regular file. */
	u = xasprintf("sqlite:%s/x.db", key_path);
	err = open_err(u, key_path);
	ASSERT_HAS(err, "Not a directory");
	free(err);
	free(u);

	/* A directory the daemon's user may not write: checked as nobody. */
	file = xasprintf("%s/locked", tmpdir);
	ck_assert_int_eq(mkdir(file, 0755), 0);
	u = xasprintf("sqlite:%s/x.db", file);
	if ((pid = fork()) == 0) {
		struct store *t;
		int root = geteuid() == 0;

		if (root && setuid(65534) == -1)
			_exit(2);
		if (!root && chmod(file, 0555) == -1)
			_exit(3);
		t = store_open(u, NULL, &err);
		if (t != NULL)
			_exit(4);
		_exit(strstr(err, "Permission denied") && strstr(err, file) ? 0 : 5);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	free(u);
	free(file);
}
END_TEST

START_TEST(open_not_a_database)
{
	char *u, *path, *err;
	FILE *f;

	path = xasprintf("%s/junk.db", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database at all. ", f);
	fclose(f);
	u = xasprintf("sqlite:%s", path);
	err = open_err(u, key_path);
	ASSERT_HAS(err, path);
	ASSERT_HAS(err, "not a database");
	free(err);
	free(u);
	free(path);
}
END_TEST

START_TEST(open_newer_schema_refused)
{
	char *err;

	store_close(s);
	s = NULL;
	raw_exec("PRAGMA user_version = 99");
	err = open_err(url, key_path);
	ASSERT_HAS(err, "schema version 99");
	ASSERT_HAS(err, "newer");
	ASSERT_HAS(err, db_path);
	free(err);
}
END_TEST

START_TEST(open_bad_key_file)
{
	char *u, *k, *err;
	int fd;

	u = xasprintf("sqlite:%s/other.db", tmpdir);
	k = xasprintf("%s/bad.key", tmpdir);
	fd = open(k, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, "short", 5), 5);
	close(fd);
	err = open_err(u, k);
	ASSERT_HAS(err, k);
	ASSERT_HAS(err, "5 bytes, expected 32");
	free(err);
	ck_assert_int_eq(chmod(k, 0644), 0);
	err = open_err(u, k);
	ASSERT_HAS(err, "group or others");
	free(err);
	free(u);
	free(k);
}
END_TEST

START_TEST(open_creates_private_files)
{
	struct store *t;
	struct stat st;
	char *u, *path, *k, *wal, *err = NULL;

	umask(022);
	path = xasprintf("%s/fresh.db", tmpdir);
	wal = xasprintf("%s-wal", path);
	k = xasprintf("%s/fresh.key", tmpdir);
	u = xasprintf("sqlite:///%s", path + 1);
	t = store_open(u, k, &err);
	ck_assert_msg(t != NULL, "%s", err ? err : "");
	ck_assert_int_eq(store_user_add(t, "echo", "a@example.org"), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(wal, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(k, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, 32);
	ck_assert_int_eq(store_schema_version(t), store_schema_latest(t));
	ck_assert_int_ge(store_schema_latest(t), 2);
	store_close(t);
	free(u);
	free(path);
	free(wal);
	free(k);

	/* The pragmas the daemon relies on. */
	ck_assert_int_eq(raw_long("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	store_close(NULL);
}
END_TEST

START_TEST(open_in_memory_and_without_key)
{
	struct store *t;
	char *err = NULL, *v;

	t = store_open("sqlite::memory:", NULL, &err);
	ck_assert_msg(t != NULL, "%s", err ? err : "");
	ck_assert_int_eq(store_setting_set(t, "echo", "a@x", "", "k", "v"), 0);
	ck_assert_int_eq(store_setting_get(t, "echo", "a@x", "", "k", &v), 1);
	ck_assert_str_eq(v, "v");
	free(v);
	/* Without a key file, secrets fail and say so; settings work. */
	ck_assert_int_eq(store_secret_set(t, "echo", "a@x", "", "pw", "x"), -1);
	ck_assert_int_eq(store_secret_get(t, "echo", "a@x", "", "pw", &v), -1);
	store_close(t);
}
END_TEST

/* ---- Users ---- */

static int
collect_users(const struct store_user *u, void *arg)
{
	char *buf = arg;

	strcat(buf, u->net);
	strcat(buf, "/");
	strcat(buf, u->jid);
	strcat(buf, u->disabled ? "(d) " : " ");
	return 0;
}

static int
stop_after_one(const struct store_user *u, void *arg)
{
	(*(int *)arg)++;
	return 1;
}

START_TEST(users)
{
	struct store_user u;
	char buf[512] = "";
	time_t before = time(NULL);
	int n = 0;

	ck_assert_int_eq(store_user_get(s, "echo", "alice@example.org", &u), 0);
	ck_assert_int_eq(store_user_add(s, "echo", "alice@example.org"), 0);
	ck_assert_int_eq(store_user_add(s, "echo", "bob@example.org"), 0);
	ck_assert_int_eq(store_user_add(s, "irc", "alice@example.org"), 0);
	ck_assert_int_eq(store_user_get(s, "echo", "alice@example.org", &u), 1);
	ck_assert_str_eq(u.net, "echo");
	ck_assert_str_eq(u.jid, "alice@example.org");
	ck_assert(!u.disabled);
	ck_assert_int_ge(u.created, before);
	ck_assert_int_le(u.created, time(NULL));
	store_user_free_fields(&u);
	ck_assert_ptr_null(u.net);
	ck_assert_int_eq(store_user_get(s, "echo", "alice@example.org", NULL), 1);
	ck_assert_int_eq(store_user_get(s, "sms", "alice@example.org", NULL), 0);

	/* Idempotent, and it does not re-enable. */
	ck_assert_int_eq(store_user_set_disabled(s, "echo", "bob@example.org", true), 0);
	ck_assert_int_eq(store_user_add(s, "echo", "bob@example.org"), 0);
	ck_assert_int_eq(store_user_get(s, "echo", "bob@example.org", &u), 1);
	ck_assert(u.disabled);
	store_user_free_fields(&u);
	ck_assert_int_eq(store_user_set_disabled(s, "echo", "nobody@example.org", true), -1);

	ck_assert_int_eq(store_user_count(s, "echo"), 2);
	ck_assert_int_eq(store_user_count(s, "irc"), 1);
	ck_assert_int_eq(store_user_count(s, "sms"), 0);
	ck_assert_int_eq(store_user_count(s, NULL), 3);

	ck_assert_int_eq(store_user_foreach(s, "echo", collect_users, buf), 0);
	ck_assert_str_eq(buf, "echo/alice@example.org echo/bob@example.org(d) ");
	buf[0] = '\0';
	ck_assert_int_eq(store_user_foreach(s, NULL, collect_users, buf), 0);
	ck_assert_str_eq(buf, "echo/alice@example.org echo/bob@example.org(d) "
	                      "irc/alice@example.org ");
	ck_assert_int_eq(store_user_foreach(s, NULL, stop_after_one, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_user_foreach(s, NULL, NULL, NULL), -1);

	ck_assert_int_eq(store_user_set_disabled(s, "echo", "bob@example.org", false), 0);
	ck_assert_int_eq(store_user_get(s, "echo", "bob@example.org", &u), 1);
	ck_assert(!u.disabled);
	store_user_free_fields(&u);

	ck_assert_int_eq(store_user_remove(s, "echo", "bob@example.org"), 0);
	ck_assert_int_eq(store_user_remove(s, "echo", "bob@example.org"), 0);
	ck_assert_int_eq(store_user_get(s, "echo", "bob@example.org", NULL), 0);
	ck_assert_int_eq(store_user_count(s, NULL), 2);

	/* Survives a reopen. */
	reopen();
	ck_assert_int_eq(store_user_count(s, NULL), 2);
	ck_assert_int_eq(store_user_add(s, NULL, "x"), -1);
	ck_assert_int_eq(store_user_get(s, "echo", NULL, NULL), -1);
}
END_TEST

/* A callback that re-enters the store, the same statement included. */
static int
nested_walk(const struct store_user *u, void *arg)
{
	int *n = arg, inner = 0;

	ck_assert_int_eq(store_user_get(s, u->net, u->jid, NULL), 1);
	ck_assert_int_eq(store_user_foreach(s, NULL, stop_after_one, &inner), 0);
	ck_assert_int_eq(inner, 1);
	ck_assert_int_eq(store_setting_set(s, u->net, u->jid, "", "seen", "yes"), 0);
	(*n)++;
	return 0;
}

START_TEST(foreach_reentrant)
{
	int n = 0;

	ck_assert_int_eq(store_user_add(s, "echo", "a@x"), 0);
	ck_assert_int_eq(store_user_add(s, "echo", "b@x"), 0);
	ck_assert_int_eq(store_user_add(s, "echo", "c@x"), 0);
	ck_assert_int_eq(store_user_foreach(s, "echo", nested_walk, &n), 0);
	ck_assert_int_eq(n, 3);
	stored_is(store_setting_get, "echo", "c@x", "", "seen", "yes");
	/* Writes made from a walk are committed when the walk ends. */
	ck_assert_int_eq(raw_long("SELECT count(*) FROM settings WHERE key = 'seen'"), 3);
}
END_TEST

static struct store_msg
msg(enum store_dir dir, const char *net, const char *user, const char *body)
{
	struct store_msg m = {0};

	m.dir = dir;
	m.net = (char *)net;
	m.user = (char *)user;
	m.peer = (char *)"+15551234567";
	m.body = (char *)body;
	return m;
}

START_TEST(user_remove_cascades)
{
	struct store_msg m;
	const char *nets[] = {"echo", "irc"}, *jids[] = {"gone@x", "stays@x"};
	int i, j;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < 2; j++) {
			ck_assert_int_eq(store_user_add(s, nets[i], jids[j]), 0);
			ck_assert_int_eq(store_setting_set(s, nets[i], jids[j], "", "nick", "n"),
			                 0);
			ck_assert_int_eq(store_setting_set(s, nets[i], jids[j], "#c%irc", "k", "v"),
			                 0);
			ck_assert_int_eq(store_secret_set(s, nets[i], jids[j], "", "pw", "p"), 0);
			ck_assert_int_eq(
			        store_contact_set(s, nets[i], jids[j], "bob", NULL, STORE_SUB_BOTH),
			        0);
			m = msg(STORE_TO_NET, nets[i], jids[j], "out");
			m.dedup_key = (char *)"d1";
			ck_assert_int_eq(store_queue_push(s, &m), 0);
			ck_assert_int_eq(store_queue_delete(s, m.id), 0);
			m = msg(STORE_TO_NET, nets[i], jids[j], "out");
			ck_assert_int_eq(store_queue_push(s, &m), 0);
			m = msg(STORE_TO_XMPP, nets[i], jids[j], "in");
			m.held = true;
			ck_assert_int_eq(store_queue_push(s, &m), 0);
		}
	}
	ck_assert_int_eq(store_user_remove(s, "echo", "gone@x"), 0);
	ck_assert_int_eq(store_user_get(s, "echo", "gone@x", NULL), 0);
	ck_assert_int_eq(store_setting_get(s, "echo", "gone@x", "", "nick", NULL), 0);
	ck_assert_int_eq(store_setting_get(s, "echo", "gone@x", "#c%irc", "k", NULL), 0);
	ck_assert_int_eq(store_secret_get(s, "echo", "gone@x", "", "pw", NULL), 0);
	ck_assert_int_eq(store_contact_get(s, "echo", "gone@x", "bob", NULL, NULL), 0);
	ck_assert_int_eq(raw_long("SELECT count(*) FROM queue WHERE net = 'echo'"
	                          " AND jid = 'gone@x'"),
	                 0);
	ck_assert_int_eq(raw_long("SELECT count(*) FROM queue_tombstones WHERE net = 'echo'"
	                          " AND jid = 'gone@x'"),
	                 0);
	/* The same JID elsewhere, and others, keep everything. */
	ck_assert_int_eq(store_user_get(s, "irc", "gone@x", NULL), 1);
	ck_assert_int_eq(store_secret_get(s, "irc", "gone@x", "", "pw", NULL), 1);
	ck_assert_int_eq(store_contact_get(s, "echo", "stays@x", "bob", NULL, NULL), 1);
	ck_assert_int_eq(store_setting_get(s, "echo", "stays@x", "#c%irc", "k", NULL), 1);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_NET, NULL), 3);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_XMPP, NULL), 3);
	ck_assert_int_eq(raw_long("SELECT count(*) FROM queue_tombstones"), 3);
}
END_TEST

/* ---- Settings and secrets ---- */

START_TEST(settings)
{
	char *v = NULL;

	ck_assert_int_eq(store_setting_get(s, "irc", "a@x", "", "nick", &v), 0);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", "", "nick", "alice"), 0);
	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", "irc.libera.chat", "nick", "al"), 0);
	stored_is(store_setting_get, "irc", "a@x", "", "nick", "alice");
	stored_is(store_setting_get, "irc", "a@x", "irc.libera.chat", "nick", "al");
	ck_assert_int_eq(store_setting_get(s, "irc", "a@x", "", "nick", NULL), 1);
	ck_assert_int_eq(store_setting_get(s, "irc", "b@x", "", "nick", NULL), 0);
	ck_assert_int_eq(store_setting_get(s, "sms", "a@x", "", "nick", NULL), 0);

	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", "", "nick", "alice2"), 0);
	stored_is(store_setting_get, "irc", "a@x", "", "nick", "alice2");
	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", "", "empty", ""), 0);
	stored_is(store_setting_get, "irc", "a@x", "", "empty", "");

	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", "", "nick", NULL), 0);
	ck_assert_int_eq(store_setting_get(s, "irc", "a@x", "", "nick", NULL), 0);
	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", "", "nick", NULL), 0);

	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", NULL, "nick", "x"), -1);
	ck_assert_int_eq(store_setting_get(s, "irc", "a@x", "", NULL, &v), -1);

	reopen();
	stored_is(store_setting_get, "irc", "a@x", "irc.libera.chat", "nick", "al");
}
END_TEST

START_TEST(secrets)
{
	char *v = NULL;

	ck_assert_int_eq(store_secret_get(s, "email", "a@x", "", "password", &v), 0);
	ck_assert_int_eq(store_secret_set(s, "email", "a@x", "", "password", "hunter2-imap"), 0);
	stored_is(store_secret_get, "email", "a@x", "", "password", "hunter2-imap");
	/* At rest it is not readable. */
	ck_assert_int_eq(raw_long(on_pg ? "SELECT count(*) FROM settings WHERE key = 'password'"
	                                  " AND secret = 1"
	                                  " AND position('hunter2'::bytea IN value) = 0"
	                                : "SELECT count(*) FROM settings WHERE key = 'password'"
	                                  " AND typeof(value) = 'blob'"
	                                  " AND instr(value, CAST('hunter2' AS BLOB)) = 0"),
	                 1);
	/* A secret and a setting are different kinds of the same key. */
	ck_assert_int_eq(store_setting_get(s, "email", "a@x", "", "password", &v), 0);
	ck_assert_int_eq(store_setting_set(s, "email", "a@x", "", "password", NULL), 0);
	ck_assert_int_eq(store_secret_get(s, "email", "a@x", "", "password", NULL), 1);

	ck_assert_int_eq(store_secret_set(s, "email", "a@x", "", "password", "new"), 0);
	stored_is(store_secret_get, "email", "a@x", "", "password", "new");
	ck_assert_int_eq(store_secret_set(s, "email", "a@x", "", "empty", ""), 0);
	stored_is(store_secret_get, "email", "a@x", "", "empty", "");

	/* The same key file opens them after a restart. */
	reopen();
	stored_is(store_secret_get, "email", "a@x", "", "password", "new");

	ck_assert_int_eq(store_secret_set(s, "email", "a@x", "", "password", NULL), 0);
	ck_assert_int_eq(store_secret_get(s, "email", "a@x", "", "password", NULL), 0);
	ck_assert_int_eq(store_secret_set(s, NULL, "a@x", "", "password", "x"), -1);
}
END_TEST

/* Flip one byte of a stored value through a second connection. */
static void
tamper(const char *key, int offset)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	unsigned char buf[256];
	char *sql;
	int n;

	if (on_pg) {
		/* get_byte() counts from 0, like offset. */
		sql = offset < 0
		              ? xasprintf("UPDATE settings SET value = set_byte(value,"
		                          " length(value) + %d, get_byte(value, length(value) + %d)"
		                          " # 32) WHERE key = '%s'",
		                          offset, offset, key)
		              : xasprintf("UPDATE settings SET value = set_byte(value, %d,"
		                          " get_byte(value, %d) # 32) WHERE key = '%s'",
		                          offset, offset, key);
		raw_exec(sql);
		free(sql);
		return;
	}
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(
	        sqlite3_prepare_v2(db, "SELECT value FROM settings WHERE key = ?1", -1, &st, NULL),
	        SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_bytes(st, 0);
	ck_assert_int_lt(n, (int)sizeof(buf));
	memcpy(buf, sqlite3_column_blob(st, 0), (size_t)n);
	sqlite3_finalize(st);
	buf[offset < 0 ? n + offset : offset] ^= 0x20;
	ck_assert_int_eq(sqlite3_prepare_v2(db, "UPDATE settings SET value = ?2 WHERE key = ?1", -1,
	                                    &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, buf, n, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int
collect_settings(const char *key, const char *value, bool secret, void *arg)
{
	char *buf = arg;

	strcat(buf, key);
	strcat(buf, secret ? "=*" : "=");
	strcat(buf, value);
	strcat(buf, " ");
	return 0;
}

START_TEST(secrets_tampered_or_moved)
{
	char *v = (char *)"untouched", *err = NULL, *k2;
	char buf[256] = "";
	struct store *t;

	ck_assert_int_eq(store_secret_set(s, "email", "a@x", "", "body", "password-one"), 0);
	ck_assert_int_eq(store_secret_set(s, "email", "a@x", "", "tag", "password-two"), 0);
	ck_assert_int_eq(store_secret_set(s, "email", "a@x", "", "moved", "password-3"), 0);
	ck_assert_int_eq(store_secret_set(s, "email", "b@x", "", "moved", "password-4"), 0);
	ck_assert_int_eq(store_setting_set(s, "email", "a@x", "", "plain", "visible"), 0);

	tamper("body", 1 + 12 + 2); /* a ciphertext byte */
	tamper("tag", -1);          /* the last byte of the tag */
	ck_assert_int_eq(store_secret_get(s, "email", "a@x", "", "body", &v), -1);
	ck_assert_str_eq(v, "untouched");
	ck_assert_int_eq(store_secret_get(s, "email", "a@x", "", "tag", &v), -1);

	/* b's ciphertext copied into a's row: it is bound to b's row. */
	raw_exec("UPDATE settings SET value = (SELECT value FROM settings WHERE jid = 'b@x')"
	         " WHERE jid = 'a@x' AND key = 'moved'");
	ck_assert_int_eq(store_secret_get(s, "email", "a@x", "", "moved", &v), -1);
	stored_is(store_secret_get, "email", "b@x", "", "moved", "password-4");

	/* The walk passes what is good and reports the rest. */
	ck_assert_int_eq(store_setting_foreach(s, "email", "a@x", "", collect_settings, buf), -1);
	ck_assert_str_eq(buf, "plain=visible ");

	/* A lost key file: a new one is made (and logged), old secrets stay shut. */
	store_close(s);
	ck_assert_int_eq(unlink(key_path), 0);
	s = store_open(url, key_path, &err);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(store_secret_get(s, "email", "b@x", "", "moved", &v), -1);
	ck_assert_int_eq(store_setting_get(s, "email", "a@x", "", "plain", NULL), 1);

	/* Another key file opens the store but none of its secrets. */
	k2 = xasprintf("%s/other.key", tmpdir);
	t = store_open(url, k2, &err);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(store_secret_get(t, "email", "b@x", "", "moved", &v), -1);
	ck_assert_int_eq(store_setting_get(t, "email", "a@x", "", "plain", NULL), 1);
	store_close(t);
	free(k2);
}
END_TEST

static int
stop_settings(const char *key, const char *value, bool secret, void *arg)
{
	(*(int *)arg)++;
	return 1;
}

START_TEST(setting_foreach)
{
	char buf[256] = "";
	int n = 0;

	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", "", "nick", "alice"), 0);
	ck_assert_int_eq(store_secret_set(s, "irc", "a@x", "", "sasl", "pw"), 0);
	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", "", "anick", "al"), 0);
	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", "other", "x", "y"), 0);
	ck_assert_int_eq(store_setting_set(s, "irc", "b@x", "", "nick", "bob"), 0);
	ck_assert_int_eq(store_setting_foreach(s, "irc", "a@x", "", collect_settings, buf), 0);
	ck_assert_str_eq(buf, "anick=al nick=alice sasl=*pw ");
	buf[0] = '\0';
	ck_assert_int_eq(store_setting_foreach(s, "irc", "c@x", "", collect_settings, buf), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(store_setting_foreach(s, "irc", "a@x", "", stop_settings, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_setting_foreach(s, "irc", "a@x", NULL, stop_settings, &n), -1);
}
END_TEST

static int
collect_found(const char *jid, const char *scope, const char *value, void *arg)
{
	char *buf = arg;
	size_t n = strlen(buf);

	snprintf(buf + n, 256 - n, "%s|%s=%s ", jid, scope, value);
	return 0;
}

START_TEST(setting_find)
{
	char buf[256] = "";

	/* Any user, registered or not, any scope; never a secret, never another net. */
	ck_assert_int_eq(store_setting_set(s, "irc", "b@x", "#a%srv", "persistent", "yes"), 0);
	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", "#z%srv", "persistent", "no"), 0);
	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", "#b%srv", "persistent", "yes"), 0);
	ck_assert_int_eq(store_setting_set(s, "irc", "a@x", "#b%srv", "encoding", "cp1251"), 0);
	ck_assert_int_eq(store_secret_set(s, "irc", "c@x", "#c%srv", "persistent", "yes"), 0);
	ck_assert_int_eq(store_setting_set(s, "sms", "a@x", "#d%srv", "persistent", "yes"), 0);
	ck_assert_int_eq(store_setting_find(s, "irc", "persistent", collect_found, buf), 0);
	ck_assert_str_eq(buf, "a@x|#b%srv=yes a@x|#z%srv=no b@x|#a%srv=yes ");
	buf[0] = '\0';
	ck_assert_int_eq(store_setting_find(s, "irc", "nothing", collect_found, buf), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

/* ---- Contacts ---- */

static int
collect_contacts(const char *address, const char *name, enum store_sub sub, void *arg)
{
	char *buf = arg, tmp[128];

	snprintf(tmp, sizeof(tmp), "%s(%s)%d ", address, name ? name : "-", (int)sub);
	strcat(buf, tmp);
	return strcmp(address, "stop") == 0;
}

static int
collect_unregistered(const char *jid, const char *address, void *arg)
{
	char *buf = arg, tmp[128];

	snprintf(tmp, sizeof(tmp), "%s:%s ", jid, address);
	strcat(buf, tmp);
	return 0;
}

START_TEST(contacts)
{
	enum store_sub sub = STORE_SUB_NONE;
	char *name = (char *)"x", buf[256] = "";

	ck_assert_int_eq(store_contact_get(s, "sms", "a@x", "+1555", &sub, &name), 0);
	ck_assert_int_eq(store_contact_set(s, "sms", "a@x", "+1555", "Mum", STORE_SUB_TO), 0);
	ck_assert_int_eq(store_contact_get(s, "sms", "a@x", "+1555", &sub, &name), 1);
	ck_assert_int_eq(sub, STORE_SUB_TO);
	ck_assert_str_eq(name, "Mum");
	free(name);
	ck_assert_int_eq(store_contact_set(s, "sms", "a@x", "+1555", NULL, STORE_SUB_BOTH), 0);
	ck_assert_int_eq(store_contact_get(s, "sms", "a@x", "+1555", &sub, &name), 1);
	ck_assert_int_eq(sub, STORE_SUB_BOTH);
	ck_assert_ptr_null(name);
	ck_assert_int_eq(store_contact_get(s, "sms", "a@x", "+1555", NULL, NULL), 1);
	ck_assert_int_eq(store_contact_get(s, "sms", "b@x", "+1555", NULL, NULL), 0);

	ck_assert_int_eq(store_contact_set(s, "sms", "a@x", "+1444", "Dad", STORE_SUB_FROM), 0);
	ck_assert_int_eq(store_contact_set(s, "sms", "a@x", "stop", NULL, STORE_SUB_NONE), 0);
	ck_assert_int_eq(store_contact_set(s, "sms", "a@x", "zed", NULL, STORE_SUB_NONE), 0);
	ck_assert_int_eq(store_contact_set(s, "sms", "b@x", "+1000", NULL, STORE_SUB_NONE), 0);
	ck_assert_int_eq(store_contact_foreach(s, "sms", "a@x", collect_contacts, buf), 0);
	ck_assert_str_eq(buf, "+1444(Dad)2 +1555(-)3 stop(-)0 ");
	/* Users with contacts who did not register, each once with its first contact. */
	buf[0] = '\0';
	ck_assert_int_eq(store_contact_unregistered(s, "sms", collect_unregistered, buf), 0);
	ck_assert_str_eq(buf, "a@x:+1444 b@x:+1000 ");
	ck_assert_int_eq(store_user_add(s, "sms", "a@x"), 0);
	buf[0] = '\0';
	ck_assert_int_eq(store_contact_unregistered(s, "sms", collect_unregistered, buf), 0);
	ck_assert_str_eq(buf, "b@x:+1000 ");
	ck_assert_int_eq(store_contact_unregistered(s, "sms", NULL, NULL), -1);

	ck_assert_int_eq(store_contact_remove(s, "sms", "a@x", "+1555"), 0);
	ck_assert_int_eq(store_contact_remove(s, "sms", "a@x", "+1555"), 0);
	ck_assert_int_eq(store_contact_get(s, "sms", "a@x", "+1555", NULL, NULL), 0);

	ck_assert_int_eq(store_contact_set(s, "sms", "a@x", "bad", NULL, (enum store_sub)7), -1);
	ck_assert_int_eq(store_contact_set(s, "sms", "a@x", NULL, NULL, STORE_SUB_NONE), -1);
	ck_assert_int_eq(store_contact_remove(s, "sms", NULL, "x"), -1);
	ck_assert_int_eq(store_contact_foreach(s, "sms", "a@x", NULL, NULL), -1);
}
END_TEST

/* ---- Room memberships ---- */

static int
collect_members(const char *jid, const char *room, const char *nick, const char *resource,
                void *arg)
{
	char *buf = arg;
	size_t n = strlen(buf);

	snprintf(buf + n, 512 - n, "%s:%s:%s:%s ", jid, room, nick, resource);
	return 0;
}

/* Writes from the callback, as the core's restore does when a resource is gone. */
static int
remove_each_member(const char *jid, const char *room, const char *nick, const char *resource,
                   void *arg)
{
	(void)nick;
	(void)arg;
	ck_assert_int_eq(store_member_remove(s, "irc", jid, room, resource), 0);
	return 0;
}

START_TEST(room_members)
{
	char buf[512] = "";

	ck_assert_int_eq(store_member_foreach(s, "irc", collect_members, buf), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(store_member_add(s, "irc", "a@x", "#c%irc.x", "al", "phone"), 0);
	ck_assert_int_eq(store_member_add(s, "irc", "a@x", "#c%irc.x", "al", "laptop"), 0);
	ck_assert_int_eq(store_member_add(s, "irc", "a@x", "#d%irc.x", "al2", "phone"), 0);
	ck_assert_int_eq(store_member_add(s, "irc", "b@x", "#c%irc.x", "bo", "r"), 0);
	ck_assert_int_eq(store_member_add(s, "echo", "a@x", "room", "al", "phone"), 0);
	/* Adding again only renames. */
	ck_assert_int_eq(store_member_add(s, "irc", "b@x", "#c%irc.x", "bob", "r"), 0);
	ck_assert_int_eq(store_member_foreach(s, "irc", collect_members, buf), 0);
	ck_assert_str_eq(buf, "a@x:#c%irc.x:al:laptop a@x:#c%irc.x:al:phone a@x:#d%irc.x:al2:phone "
	                      "b@x:#c%irc.x:bob:r ");
	/* A nick change covers every resource of the room, and only that room. */
	ck_assert_int_eq(store_member_set_nick(s, "irc", "a@x", "#c%irc.x", "alice"), 0);
	ck_assert_int_eq(store_member_remove(s, "irc", "a@x", "#c%irc.x", "laptop"), 0);
	ck_assert_int_eq(store_member_remove(s, "irc", "a@x", "#c%irc.x", "laptop"), 0);
	buf[0] = '\0';
	ck_assert_int_eq(store_member_foreach(s, "irc", collect_members, buf), 0);
	ck_assert_str_eq(buf,
	                 "a@x:#c%irc.x:alice:phone a@x:#d%irc.x:al2:phone b@x:#c%irc.x:bob:r ");
	/* Every resource of one room. */
	ck_assert_int_eq(store_member_remove(s, "irc", "a@x", "#d%irc.x", NULL), 0);
	/* Removing the user removes their memberships, not others'. */
	ck_assert_int_eq(store_user_add(s, "irc", "b@x"), 0);
	ck_assert_int_eq(store_user_remove(s, "irc", "b@x"), 0);
	buf[0] = '\0';
	ck_assert_int_eq(store_member_foreach(s, "irc", collect_members, buf), 0);
	ck_assert_str_eq(buf, "a@x:#c%irc.x:alice:phone ");
	ck_assert_int_eq(store_member_foreach(s, "irc", remove_each_member, NULL), 0);
	buf[0] = '\0';
	ck_assert_int_eq(store_member_foreach(s, "irc", collect_members, buf), 0);
	ck_assert_str_eq(buf, "");
	buf[0] = '\0';
	ck_assert_int_eq(store_member_foreach(s, "echo", collect_members, buf), 0);
	ck_assert_str_eq(buf, "a@x:room:al:phone ");

	ck_assert_int_eq(store_member_add(s, "irc", "a@x", "#c", NULL, "r"), -1);
	ck_assert_int_eq(store_member_remove(s, "irc", "a@x", NULL, NULL), -1);
	ck_assert_int_eq(store_member_foreach(s, "irc", NULL, NULL), -1);
}
END_TEST

/* Take, renew, refuse, expire, release; gone with the user. */
START_TEST(leases)
{
	char *holder = (char *)"unset";

	ck_assert_int_eq(store_lease_take(s, "irc", "a@x", "gw1", 60, &holder), 1);
	ck_assert_ptr_null(holder);
	/* A renewal; then another instance is refused, told who holds it. */
	ck_assert_int_eq(store_lease_take(s, "irc", "a@x", "gw1", 60, NULL), 1);
	ck_assert_int_eq(store_lease_take(s, "irc", "a@x", "gw2", 60, &holder), 0);
	ck_assert_str_eq(holder, "gw1");
	free(holder);
	/* Per user and per network. */
	ck_assert_int_eq(store_lease_take(s, "irc", "b@x", "gw2", 60, NULL), 1);
	ck_assert_int_eq(store_lease_take(s, "sms", "a@x", "gw2", 60, NULL), 1);
	/* Only the owner releases; then anyone takes it. */
	ck_assert_int_eq(store_lease_release(s, "irc", "a@x", "gw2"), 0);
	ck_assert_int_eq(store_lease_release(s, "irc", "a@x", "gw1"), 1);
	ck_assert_int_eq(store_lease_release(s, "irc", "a@x", "gw1"), 0);
	ck_assert_int_eq(store_lease_take(s, "irc", "a@x", "gw2", 60, NULL), 1);
	/* Expired (a ttl of 0 ends now): taken over; the old owner's renewal then fails. */
	ck_assert_int_eq(store_lease_take(s, "irc", "a@x", "gw2", 0, NULL), 1);
	ck_assert_int_eq(store_lease_take(s, "irc", "a@x", "gw3", 60, NULL), 1);
	ck_assert_int_eq(store_lease_take(s, "irc", "a@x", "gw2", 60, &holder), 0);
	ck_assert_str_eq(holder, "gw3");
	free(holder);
	ck_assert_int_eq(store_lease_release(s, "irc", "a@x", "gw2"), 0);
	/* Removing the user frees their lease. */
	ck_assert_int_eq(store_user_add(s, "irc", "a@x"), 0);
	ck_assert_int_eq(store_user_remove(s, "irc", "a@x"), 0);
	ck_assert_int_eq(store_lease_take(s, "irc", "a@x", "gw1", 60, NULL), 1);
	ck_assert_int_eq(store_lease_take(s, "irc", "b@x", "gw1", 60, NULL), 0);

	ck_assert_int_eq(store_lease_take(s, "irc", "a@x", "gw1", -1, NULL), -1);
	ck_assert_int_eq(store_lease_take(s, "irc", "a@x", NULL, 60, NULL), -1);
	ck_assert_int_eq(store_lease_release(s, "irc", NULL, "gw1"), -1);
}
END_TEST

/* ---- Queues ---- */

struct ids {
	int64_t id[64];
	int n;
	int stop_at;    /* stop after this many (0: never) */
	bool delete_it; /* delete each message from the callback */
	bool retry_it;  /* push each one's next_try far ahead from the callback */
};

static int
collect_ids(const struct store_msg *m, void *arg)
{
	struct ids *ids = arg;

	ids->id[ids->n++] = m->id;
	if (ids->delete_it)
		ck_assert_int_eq(store_queue_delete(s, m->id), 0);
	if (ids->retry_it)
		ck_assert_int_eq(store_queue_retry(s, m->id, m->attempts + 1, m->next_try + 3600),
		                 0);
	return ids->stop_at && ids->n >= ids->stop_at;
}

START_TEST(queue_push_get)
{
	struct store_msg m, out;
	time_t before = time(NULL);

	m = msg(STORE_TO_XMPP, "irc", "a@x", "hello\nworld");
	m.resource = (char *)"phone";
	m.xmpp_id = (char *)"id-1";
	m.dedup_key = (char *)"irc-msgid-1";
	m.extra = (char *)"{\"subject\":\"s\"}";
	m.flags = 0x80000005u;
	m.attempts = 2;
	m.created = 1700000000;
	m.next_try = 1700000100;
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	ck_assert_int_gt(m.id, 0);

	ck_assert_int_eq(store_queue_get(s, m.id, &out), 1);
	ck_assert_int_eq(out.id, m.id);
	ck_assert_int_eq(out.dir, STORE_TO_XMPP);
	ck_assert_str_eq(out.net, "irc");
	ck_assert_str_eq(out.user, "a@x");
	ck_assert_str_eq(out.resource, "phone");
	ck_assert_str_eq(out.peer, "+15551234567");
	ck_assert_str_eq(out.body, "hello\nworld");
	ck_assert_str_eq(out.xmpp_id, "id-1");
	ck_assert_str_eq(out.dedup_key, "irc-msgid-1");
	ck_assert_str_eq(out.extra, "{\"subject\":\"s\"}");
	ck_assert_uint_eq(out.flags, 0x80000005u);
	ck_assert_int_eq(out.attempts, 2);
	ck_assert_int_eq(out.created, 1700000000);
	ck_assert_int_eq(out.next_try, 1700000100);
	ck_assert(!out.held);
	store_msg_free_fields(&out);
	ck_assert_ptr_null(out.body);

	/* Defaults: created = now, next_try = created, nullable fields NULL. */
	m = msg(STORE_TO_NET, "irc", "a@x", "");
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	ck_assert_int_ge(m.created, before);
	ck_assert_int_eq(m.next_try, m.created);
	ck_assert_int_eq(store_queue_get(s, m.id, &out), 1);
	ck_assert_ptr_null(out.resource);
	ck_assert_ptr_null(out.xmpp_id);
	ck_assert_ptr_null(out.dedup_key);
	ck_assert_ptr_null(out.extra);
	ck_assert_str_eq(out.body, "");
	ck_assert_int_eq(out.next_try, m.created);
	store_msg_free_fields(&out);

	ck_assert_int_eq(store_queue_get(s, 999999, &out), 0);
	ck_assert_int_eq(store_queue_get(s, m.id, NULL), -1);

	/* Required fields and a sane direction. */
	m = msg(STORE_TO_NET, "irc", "a@x", NULL);
	ck_assert_int_eq(store_queue_push(s, &m), -1);
	m = msg(STORE_TO_NET, "irc", "a@x", "b");
	m.peer = NULL;
	ck_assert_int_eq(store_queue_push(s, &m), -1);
	m = msg((enum store_dir)5, "irc", "a@x", "b");
	ck_assert_int_eq(store_queue_push(s, &m), -1);
	ck_assert_int_eq(store_queue_push(s, NULL), -1);
}
END_TEST

START_TEST(queue_due_order_limit_and_filters)
{
	struct store_msg m;
	struct ids ids = {0};
	int64_t id[6];
	int i;

	for (i = 0; i < 6; i++) {
		m = msg(STORE_TO_NET, "sms", i % 2 ? "a@x" : "b@x", "x");
		m.next_try = 1000 + (6 - i) * 10; /* later pushes are due earlier */
		ck_assert_int_eq(store_queue_push(s, &m), 0);
		id[i] = m.id;
		if (i > 0)
			ck_assert_int_gt(id[i], id[i - 1]);
	}
	/* Not seen: other direction, other net, held, not yet due. */
	m = msg(STORE_TO_XMPP, "sms", "a@x", "x");
	m.next_try = 1;
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	m = msg(STORE_TO_NET, "irc", "a@x", "x");
	m.next_try = 1;
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	m = msg(STORE_TO_NET, "sms", "a@x", "x");
	m.next_try = 1;
	m.held = true;
	ck_assert_int_eq(store_queue_push(s, &m), 0);

	ck_assert_int_eq(store_queue_due(s, STORE_TO_NET, "sms", 1039, 0, collect_ids, &ids), 3);
	ck_assert_int_eq(ids.n, 3);
	ck_assert_int_eq(ids.id[0], id[3]);
	ck_assert_int_eq(ids.id[1], id[4]);
	ck_assert_int_eq(ids.id[2], id[5]);

	memset(&ids, 0, sizeof(ids));
	ck_assert_int_eq(store_queue_due(s, STORE_TO_NET, "sms", 5000, 4, collect_ids, &ids), 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(ids.id[i], id[i]);

	memset(&ids, 0, sizeof(ids));
	ids.stop_at = 2;
	ck_assert_int_eq(store_queue_due(s, STORE_TO_NET, "sms", 5000, 0, collect_ids, &ids), 2);

	memset(&ids, 0, sizeof(ids));
	ck_assert_int_eq(store_queue_due(s, STORE_TO_NET, "sms", 999, 0, collect_ids, &ids), 0);
	ck_assert_int_eq(store_queue_due(s, STORE_TO_NET, "email", 5000, 0, collect_ids, &ids), 0);

	ck_assert_int_eq(store_queue_next_due(s, STORE_TO_NET, "sms"), 1010);
	ck_assert_int_eq(store_queue_next_due(s, STORE_TO_XMPP, "sms"), 1);
	ck_assert_int_eq(store_queue_next_due(s, STORE_TO_XMPP, "email"), 0);
	ck_assert_int_eq(store_queue_next_due(s, STORE_TO_XMPP, NULL), 0);

	ck_assert_int_eq(store_queue_count(s, STORE_TO_NET, "sms"), 7);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_NET, NULL), 8);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_XMPP, NULL), 1);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_XMPP, "irc"), 0);
	ck_assert_int_eq(store_queue_count(s, (enum store_dir)3, NULL), -1);

	ck_assert_int_eq(store_queue_due(s, STORE_TO_NET, NULL, 0, 0, collect_ids, &ids), -1);
	ck_assert_int_eq(store_queue_due(s, STORE_TO_NET, "sms", 0, 0, NULL, NULL), -1);
}
END_TEST

START_TEST(queue_due_callback_changes_queue)
{
	struct store_msg m;
	struct ids ids = {0};
	int i;

	for (i = 0; i < 10; i++) {
		m = msg(STORE_TO_XMPP, "echo", "a@x", "x");
		m.next_try = 100;
		ck_assert_int_eq(store_queue_push(s, &m), 0);
	}
	/* Retrying from the callback moves rows ahead: each is seen once. */
	ids.retry_it = true;
	ck_assert_int_eq(store_queue_due(s, STORE_TO_XMPP, "echo", 100, 0, collect_ids, &ids), 10);
	ck_assert_int_eq(store_queue_next_due(s, STORE_TO_XMPP, "echo"), 3700);
	memset(&ids, 0, sizeof(ids));
	ids.delete_it = true;
	ck_assert_int_eq(store_queue_due(s, STORE_TO_XMPP, "echo", 5000, 0, collect_ids, &ids), 10);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_XMPP, "echo"), 0);
	ck_assert_int_eq(store_queue_next_due(s, STORE_TO_XMPP, "echo"), 0);
}
END_TEST

START_TEST(queue_retry_hold_release_delete)
{
	struct store_msg m, out;
	struct ids ids = {0};
	int64_t a, b, c;
	time_t before;

	m = msg(STORE_TO_XMPP, "sms", "a@x", "one");
	m.next_try = 100;
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	a = m.id;
	m = msg(STORE_TO_XMPP, "sms", "a@x", "two");
	m.next_try = 100;
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	b = m.id;
	m = msg(STORE_TO_XMPP, "sms", "b@x", "three");
	m.next_try = 100;
	m.held = true;
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	c = m.id;

	ck_assert_int_eq(store_queue_retry(s, a, 3, 500), 0);
	ck_assert_int_eq(store_queue_get(s, a, &out), 1);
	ck_assert_int_eq(out.attempts, 3);
	ck_assert_int_eq(out.next_try, 500);
	store_msg_free_fields(&out);
	ck_assert_int_eq(store_queue_retry(s, 424242, 1, 1), -1);

	/* Held: out of due, in held, until released. */
	ck_assert_int_eq(store_queue_hold(s, b, true), 0);
	ck_assert_int_eq(store_queue_hold(s, a, true), 0);
	ck_assert_int_eq(store_queue_due(s, STORE_TO_XMPP, "sms", 9999, 0, collect_ids, &ids), 0);
	ck_assert_int_eq(store_queue_next_due(s, STORE_TO_XMPP, "sms"), 0);
	ck_assert_int_eq(store_queue_held(s, STORE_TO_XMPP, "sms", "a@x", collect_ids, &ids), 2);
	ck_assert_int_eq(ids.id[0], a);
	ck_assert_int_eq(ids.id[1], b);
	ck_assert_int_eq(store_queue_held(s, STORE_TO_NET, "sms", "a@x", collect_ids, &ids), 0);
	ck_assert_int_eq(store_queue_held(s, STORE_TO_XMPP, "irc", "a@x", collect_ids, &ids), 0);
	ck_assert_int_eq(store_queue_hold(s, 424242, true), -1);
	ck_assert_int_eq(store_queue_held(s, STORE_TO_XMPP, "sms", NULL, collect_ids, &ids), -1);

	/* Un-holding one keeps its next_try. */
	ck_assert_int_eq(store_queue_hold(s, a, false), 0);
	ck_assert_int_eq(store_queue_next_due(s, STORE_TO_XMPP, "sms"), 500);
	ck_assert_int_eq(store_queue_hold(s, a, true), 0);

	before = time(NULL);
	ck_assert_int_eq(store_queue_release_user(s, STORE_TO_XMPP, "sms", "a@x"), 0);
	ck_assert_int_eq(store_queue_get(s, b, &out), 1);
	ck_assert(!out.held);
	ck_assert_int_ge(out.next_try, before);
	ck_assert_int_le(out.next_try, time(NULL));
	store_msg_free_fields(&out);
	memset(&ids, 0, sizeof(ids));
	ck_assert_int_eq(store_queue_due(s, STORE_TO_XMPP, "sms", time(NULL), 0, collect_ids, &ids),
	                 2);
	/* b@x is still held. */
	ck_assert_int_eq(store_queue_get(s, c, &out), 1);
	ck_assert(out.held);
	store_msg_free_fields(&out);
	ck_assert_int_eq(store_queue_release_user(s, STORE_TO_XMPP, "sms", NULL), -1);

	ck_assert_int_eq(store_queue_delete(s, a), 0);
	ck_assert_int_eq(store_queue_get(s, a, &out), 0);
	ck_assert_int_eq(store_queue_delete(s, a), 0); /* a duplicate ack */
	ck_assert_int_eq(store_queue_count(s, STORE_TO_XMPP, "sms"), 2);

	/* Ids are not reused after the newest is deleted. */
	ck_assert_int_eq(store_queue_delete(s, c), 0);
	reopen();
	m = msg(STORE_TO_XMPP, "sms", "a@x", "four");
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	ck_assert_int_gt(m.id, c);
}
END_TEST

START_TEST(queue_reserved_ids)
{
	struct store_msg m, got;
	int64_t first, again;

	ck_assert_int_eq(store_queue_reserve(s, 10, &first), 0);
	ck_assert_int_gt(first, 0);
	/* push never assigns a reserved id, also after a restart */
	m = msg(STORE_TO_NET, "irc", "a@x", "assigned");
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	ck_assert_int_gt(m.id, first + 9);
	m = msg(STORE_TO_NET, "irc", "a@x", "reserved");
	m.id = first + 3;
	ck_assert_int_eq(store_queue_push_reserved(s, &m), 0);
	ck_assert_int_eq(m.id, first + 3);
	ck_assert_int_eq(store_queue_get(s, first + 3, &got), 1);
	ck_assert_str_eq(got.body, "reserved");
	store_msg_free_fields(&got);
	reopen();
	ck_assert_int_eq(store_queue_reserve(s, 5, &again), 0);
	ck_assert_int_gt(again, first + 10);
	m = msg(STORE_TO_NET, "irc", "a@x", "after");
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	ck_assert_int_gt(m.id, again + 4);
	/* a reserved push needs an id */
	m = msg(STORE_TO_NET, "irc", "a@x", "no id");
	ck_assert_int_eq(store_queue_push_reserved(s, &m), -1);
	ck_assert_int_eq(store_queue_reserve(s, 0, &again), -1);
}
END_TEST

START_TEST(queue_seen_and_direct_tombstones)
{
	struct store_msg m;

	ck_assert_int_eq(store_queue_seen(s, STORE_TO_NET, "irc", "a@x", "r/1"), 0);
	m = msg(STORE_TO_NET, "irc", "a@x", "queued");
	m.dedup_key = (char *)"r/1";
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	ck_assert_int_eq(store_queue_seen(s, STORE_TO_NET, "irc", "a@x", "r/1"), 1);
	ck_assert_int_eq(store_queue_seen(s, STORE_TO_XMPP, "irc", "a@x", "r/1"), 0);
	ck_assert_int_eq(store_queue_seen(s, STORE_TO_NET, "irc", "b@x", "r/1"), 0);
	ck_assert_int_eq(store_queue_delete(s, m.id), 0);
	ck_assert_int_eq(store_queue_seen(s, STORE_TO_NET, "irc", "a@x", "r/1"), 1);

	/* A message taken without being queued leaves the same tombstone. */
	ck_assert_int_eq(store_queue_tombstone(s, STORE_TO_NET, "irc", "a@x", "r/2"), 0);
	ck_assert_int_eq(store_queue_seen(s, STORE_TO_NET, "irc", "a@x", "r/2"), 1);
	m.id = 0;
	m.dedup_key = (char *)"r/2";
	ck_assert_int_eq(store_queue_push(s, &m), 1);
	ck_assert_int_eq(store_queue_tombstone(s, STORE_TO_NET, "irc", "a@x", "r/2"), 0);
	ck_assert_int_eq(raw_long("SELECT count(*) FROM queue_tombstones"), 2);
	reopen();
	ck_assert_int_eq(store_queue_seen(s, STORE_TO_NET, "irc", "a@x", "r/2"), 1);
	raw_exec("UPDATE queue_tombstones SET deleted = deleted - 8 * 86400");
	ck_assert_int_eq(store_queue_seen(s, STORE_TO_NET, "irc", "a@x", "r/2"), 0);
	ck_assert_int_eq(store_queue_seen(s, STORE_TO_NET, "irc", NULL, "r/2"), -1);
	ck_assert_int_eq(store_queue_tombstone(s, STORE_TO_NET, "irc", "a@x", NULL), -1);
}
END_TEST

START_TEST(queue_dedup_and_tombstones)
{
	struct store_msg m;
	int64_t first;

	m = msg(STORE_TO_XMPP, "irc", "a@x", "hi");
	m.dedup_key = (char *)"msgid-1";
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	first = m.id;
	m.id = 0;
	ck_assert_int_eq(store_queue_push(s, &m), 1);
	ck_assert_int_eq(m.id, 0);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_XMPP, "irc"), 1);

	/* The key is per (dir, net, user). */
	m.dir = STORE_TO_NET;
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	m.dir = STORE_TO_XMPP;
	m.net = (char *)"sms";
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	m.net = (char *)"irc";
	m.user = (char *)"b@x";
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	m.user = (char *)"a@x";

	/* Delivered and deleted: the key still refuses a redelivery. */
	ck_assert_int_eq(store_queue_delete(s, first), 0);
	ck_assert_int_eq(store_queue_push(s, &m), 1);
	reopen();
	ck_assert_int_eq(store_queue_push(s, &m), 1);

	/* After seven days the tombstone no longer counts, pruned or not. */
	raw_exec("UPDATE queue_tombstones SET deleted = deleted - 8 * 86400");
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	ck_assert_int_eq(store_queue_delete(s, m.id), 0);
	ck_assert_int_eq(raw_long("SELECT count(*) FROM queue_tombstones"), 1);
	ck_assert_int_eq(store_queue_prune(s, time(NULL)), 0);
	ck_assert_int_eq(store_queue_prune(s, time(NULL) + STORE_TOMBSTONE_SECONDS + 1), 1);
	ck_assert_int_eq(raw_long("SELECT count(*) FROM queue_tombstones"), 0);
	ck_assert_int_eq(store_queue_push(s, &m), 0);

	/* No key, no dedup. */
	m.dedup_key = NULL;
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	ck_assert_int_eq(store_queue_push(s, &m), 0);
}
END_TEST

/* ---- Transactions ---- */

START_TEST(transactions)
{
	struct store_msg m;

	ck_assert_int_eq(store_commit(s), -1);
	store_rollback(s);

	ck_assert_int_eq(store_begin(s), 0);
	ck_assert_int_eq(store_user_add(s, "echo", "a@x"), 0);
	ck_assert_int_eq(store_user_add(s, "echo", "b@x"), 0);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(raw_long("SELECT count(*) FROM users"), 2);

	ck_assert_int_eq(store_begin(s), 0);
	ck_assert_int_eq(store_user_add(s, "echo", "c@x"), 0);
	ck_assert_int_eq(store_user_count(s, NULL), 3);
	store_rollback(s);
	ck_assert_int_eq(store_user_count(s, NULL), 2);

	/* Nested: an inner rollback undoes only the inner writes. */
	ck_assert_int_eq(store_begin(s), 0);
	ck_assert_int_eq(store_user_add(s, "echo", "outer@x"), 0);
	ck_assert_int_eq(store_begin(s), 0);
	ck_assert_int_eq(store_user_add(s, "echo", "inner@x"), 0);
	store_rollback(s);
	ck_assert_int_eq(store_begin(s), 0);
	ck_assert_int_eq(store_user_add(s, "echo", "inner2@x"), 0);
	ck_assert_int_eq(store_commit(s), 0);
	/* Inside the batch, functions that open their own transaction nest. */
	m = msg(STORE_TO_NET, "echo", "outer@x", "x");
	m.dedup_key = (char *)"k";
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	ck_assert_int_eq(store_queue_delete(s, m.id), 0);
	ck_assert_int_eq(store_user_remove(s, "echo", "b@x"), 0);
	/* Nothing is visible to others before the outer commit. */
	ck_assert_int_eq(raw_long("SELECT count(*) FROM users"), 2);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_user_get(s, "echo", "outer@x", NULL), 1);
	ck_assert_int_eq(store_user_get(s, "echo", "inner@x", NULL), 0);
	ck_assert_int_eq(store_user_get(s, "echo", "inner2@x", NULL), 1);
	ck_assert_int_eq(store_user_get(s, "echo", "b@x", NULL), 0);
	ck_assert_int_eq(raw_long("SELECT count(*) FROM users"), 3);
	ck_assert_int_eq(raw_long("SELECT count(*) FROM queue_tombstones"), 1);

	/* Closing inside a transaction rolls it back. */
	ck_assert_int_eq(store_begin(s), 0);
	ck_assert_int_eq(store_user_add(s, "echo", "lost@x"), 0);
	reopen();
	ck_assert_int_eq(store_user_get(s, "echo", "lost@x", NULL), 0);
	ck_assert_int_eq(store_commit(s), -1);
}
END_TEST

/* ---- Room archive ---- */

struct arch_seen {
	int64_t ids[16];
	char bodies[16][16];
	int n;
};

static int
arch_collect(const struct store_archive_row *row, void *arg)
{
	struct arch_seen *seen = arg;

	seen->ids[seen->n] = row->id;
	snprintf(seen->bodies[seen->n], sizeof(seen->bodies[0]), "%s", row->body);
	seen->n++;
	return 0;
}

START_TEST(archive_pages_and_ranges)
{
	const char *u = "alice@example.org", *room = "#c%irc.example.net";
	int64_t ids[6];
	struct store_archive_query q = {0};
	struct arch_seen seen;
	char body[8];

	for (int i = 0; i < 6; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		ck_assert_int_eq(store_archive_add(s, "irc", u, room, 1000 + i * 10, "nick", body,
		                                   i == 0 ? "uid0" : NULL, &ids[i]),
		                 0);
	}
	/* Another user's and another room's rows never mix in. */
	ck_assert_int_eq(
	        store_archive_add(s, "irc", "bob@example.org", room, 1000, "n", "x", NULL, NULL),
	        0);
	ck_assert_int_eq(store_archive_add(s, "irc", u, "#other%irc.example.net", 1000, "n", "x",
	                                   NULL, NULL),
	                 0);
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(store_archive_query(s, "irc", u, room, &q, arch_collect, &seen), 6);
	ck_assert_str_eq(seen.bodies[0], "m0");
	ck_assert_str_eq(seen.bodies[5], "m5");
	/* After an id, limited. */
	memset(&seen, 0, sizeof(seen));
	q.after_id = ids[1];
	q.limit = 2;
	ck_assert_int_eq(store_archive_query(s, "irc", u, room, &q, arch_collect, &seen), 2);
	ck_assert_str_eq(seen.bodies[0], "m2");
	ck_assert_str_eq(seen.bodies[1], "m3");
	/* The last page: newest first. */
	memset(&seen, 0, sizeof(seen));
	memset(&q, 0, sizeof(q));
	q.limit = 2;
	q.newest_first = true;
	ck_assert_int_eq(store_archive_query(s, "irc", u, room, &q, arch_collect, &seen), 2);
	ck_assert_str_eq(seen.bodies[0], "m5");
	ck_assert_str_eq(seen.bodies[1], "m4");
	/* A time range and a before id. */
	memset(&seen, 0, sizeof(seen));
	memset(&q, 0, sizeof(q));
	q.start = 1010;
	q.end = 1040;
	q.before_id = ids[4];
	ck_assert_int_eq(store_archive_query(s, "irc", u, room, &q, arch_collect, &seen), 3);
	ck_assert_str_eq(seen.bodies[0], "m1");
	ck_assert_str_eq(seen.bodies[2], "m3");
	/* Removing the user removes their history. */
	ck_assert_int_eq(store_user_add(s, "irc", u), 0);
	ck_assert_int_eq(store_user_remove(s, "irc", u), 0);
	memset(&seen, 0, sizeof(seen));
	memset(&q, 0, sizeof(q));
	ck_assert_int_eq(store_archive_query(s, "irc", u, room, &q, arch_collect, &seen), 0);
	ck_assert_int_eq(
	        store_archive_query(s, "irc", "bob@example.org", room, &q, arch_collect, &seen), 1);
}
END_TEST

/* The network's ids of archived messages: found near their stamp, mapped both ways. */
START_TEST(archive_network_ids)
{
	const char *u = "alice@example.org", *room = "#ids%irc.example.net";
	int64_t first, id = 0;
	char *uid = NULL;

	ck_assert_int_eq(store_archive_add(s, "irc", u, room, 5000, "bob", "a", "msg-a", &first),
	                 0);
	ck_assert_int_eq(store_archive_add(s, "irc", u, room, 5010, "bob", "b", NULL, NULL), 0);
	ck_assert_int_eq(store_archive_has_uid(s, "irc", u, room, "msg-a", 4700, 5300), 1);
	ck_assert_int_eq(store_archive_has_uid(s, "irc", u, room, "msg-a", 5001, 5300), 0);
	ck_assert_int_eq(
	        store_archive_has_uid(s, "irc", u, "#other%irc.example.net", "msg-a", 0, 9999), 0);
	ck_assert_int_eq(store_archive_has_uid(s, "irc", "bob@example.org", room, "msg-a", 0, 9999),
	                 0);
	ck_assert_int_eq(store_archive_uid(s, "irc", u, room, first, &uid), 1);
	ck_assert_str_eq(uid, "msg-a");
	free(uid);
	ck_assert_int_eq(store_archive_uid(s, "irc", u, room, first + 1, &uid), 1);
	ck_assert_ptr_null(uid); /* a row without a network id */
	ck_assert_int_eq(store_archive_uid(s, "irc", u, room, first + 100, &uid), 0);
	ck_assert_int_eq(store_archive_find_uid(s, "irc", u, room, "msg-a", 10, &id), 1);
	ck_assert_int_eq(id, first);
	/* Only among the last rows: one row later, a window of one misses it. */
	ck_assert_int_eq(store_archive_find_uid(s, "irc", u, room, "msg-a", 1, &id), 0);
	ck_assert_int_eq(store_archive_find_uid(s, "irc", u, room, "nope", 10, &id), 0);
}
END_TEST

/* ---- Migrations ---- */

/*
 * One fixture per earlier schema version: rows as that release wrote them.
 * A new migration needs a fixture for the version before it (the test
 * checks there is one per version).
 */
static int
count_rows(const struct store_archive_row *row, void *arg)
{
	(void)row;
	(void)arg;
	return 0;
}

static void
fixture_v0(struct store *t)
{
	(void)t;
}

static void
check_v0(void)
{
	ck_assert_int_eq(store_user_count(s, NULL), 0);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_NET, NULL), 0);
}

static void
fixture_v1(struct store *t)
{
	raw_exec("INSERT INTO users VALUES ('echo', 'alice@example.org', 0, 1700000000);"
	         "INSERT INTO users VALUES ('irc', 'bob@example.org', 1, 1700000001);"
	         "INSERT INTO settings VALUES ('irc', 'bob@example.org', '', 'nick', 0, 'bob');"
	         "INSERT INTO contacts VALUES ('echo', 'alice@example.org', 'x', 'X', 3);"
	         "INSERT INTO queue (dir, net, jid, peer, body, dedup_key, created, next_try)"
	         " VALUES (1, 'irc', 'bob@example.org', 'p', 'first', 'k1', 5, 5),"
	         "        (1, 'irc', 'bob@example.org', 'p', 'second', 'k1', 6, 6),"
	         "        (0, 'irc', 'bob@example.org', 'p', 'third', NULL, 7, 7);");
	/* The settings table is the same in v1, so the API writes a real secret. */
	ck_assert_int_eq(store_secret_set(t, "irc", "bob@example.org", "", "sasl", "pw1"), 0);
}

static void
check_v1(void)
{
	struct store_msg m, out;
	struct store_user u;
	char *v;
	int64_t first;

	ck_assert_int_eq(store_user_get(s, "irc", "bob@example.org", &u), 1);
	ck_assert(u.disabled);
	ck_assert_int_eq(u.created, 1700000001);
	store_user_free_fields(&u);
	ck_assert_int_eq(store_user_count(s, NULL), 2);
	stored_is(store_setting_get, "irc", "bob@example.org", "", "nick", "bob");
	stored_is(store_secret_get, "irc", "bob@example.org", "", "sasl", "pw1");
	ck_assert_int_eq(store_contact_get(s, "echo", "alice@example.org", "x", NULL, &v), 1);
	ck_assert_str_eq(v, "X");
	free(v);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_XMPP, "irc"), 2);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_NET, "irc"), 1);
	/* v2 made dedup keys unique: the oldest message kept its key. */
	first = raw_long("SELECT id FROM queue WHERE body = 'first'");
	ck_assert_int_eq(store_queue_get(s, first, &out), 1);
	ck_assert_str_eq(out.dedup_key, "k1");
	store_msg_free_fields(&out);
	ck_assert_int_eq(store_queue_get(s, first + 1, &out), 1);
	ck_assert_str_eq(out.body, "second");
	ck_assert_ptr_null(out.dedup_key);
	store_msg_free_fields(&out);
	m = msg(STORE_TO_XMPP, "irc", "bob@example.org", "again");
	m.dedup_key = (char *)"k1";
	ck_assert_int_eq(store_queue_push(s, &m), 1);
	ck_assert_int_eq(store_queue_delete(s, first), 0);
	ck_assert_int_eq(store_queue_push(s, &m), 1);
}

static void
fixture_v2(struct store *t)
{
	(void)t;
	raw_exec("INSERT INTO users VALUES ('irc', 'bob@example.org', 0, 1700000002);"
	         "INSERT INTO queue (dir, net, jid, peer, body, dedup_key, created, next_try)"
	         " VALUES (1, 'irc', 'bob@example.org', 'p', 'kept', 'k2', 5, 5);"
	         "INSERT INTO queue_tombstones VALUES (1, 'irc', 'bob@example.org', 'k9',"
	         " strftime('%s', 'now'));");
}

static void
check_v2(void)
{
	struct store_archive_query q = {0};
	struct store_msg m;

	ck_assert_int_eq(store_user_count(s, "irc"), 1);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_XMPP, "irc"), 1);
	/* v3 added the archive: empty, and working. */
	ck_assert_int_eq(
	        store_archive_query(s, "irc", "bob@example.org", "#c%irc.x", &q, count_rows, NULL),
	        0);
	ck_assert_int_eq(
	        store_archive_add(s, "irc", "bob@example.org", "#c%irc.x", 5, "n", "b", NULL, NULL),
	        0);
	ck_assert_int_eq(
	        store_archive_query(s, "irc", "bob@example.org", "#c%irc.x", &q, count_rows, NULL),
	        1);
	/* The tombstone written by v2 still refuses its key. */
	m = msg(STORE_TO_XMPP, "irc", "bob@example.org", "k9 again");
	m.dedup_key = (char *)"k9";
	ck_assert_int_eq(store_queue_push(s, &m), 1);
}

static void
fixture_v3(struct store *t)
{
	ck_assert_int_eq(store_archive_add(t, "irc", "bob@example.org", "#c%irc.x", 5, "n", "old",
	                                   NULL, NULL),
	                 0);
}

static void
check_v3(void)
{
	struct store_archive_query q = {0};
	char buf[512] = "";

	ck_assert_int_eq(
	        store_archive_query(s, "irc", "bob@example.org", "#c%irc.x", &q, count_rows, NULL),
	        1);
	/* v4 added the room memberships: empty, and working. */
	ck_assert_int_eq(store_member_foreach(s, "irc", collect_members, buf), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(store_member_add(s, "irc", "bob@example.org", "#c%irc.x", "bob", "r"), 0);
	ck_assert_int_eq(store_member_foreach(s, "irc", collect_members, buf), 0);
	ck_assert_str_eq(buf, "bob@example.org:#c%irc.x:bob:r ");
}

static void
fixture_v4(struct store *t)
{
	ck_assert_int_eq(store_member_add(t, "irc", "bob@example.org", "#c%irc.x", "bob", "r"), 0);
}

static void
check_v4(void)
{
	char buf[512] = "";

	ck_assert_int_eq(store_member_foreach(s, "irc", collect_members, buf), 0);
	ck_assert_str_eq(buf, "bob@example.org:#c%irc.x:bob:r ");
	/* v5 added the leases: none yet, and working. */
	ck_assert_int_eq(store_lease_take(s, "irc", "bob@example.org", "gw1", 60, NULL), 1);
	ck_assert_int_eq(store_lease_take(s, "irc", "bob@example.org", "gw2", 60, NULL), 0);
}

static const struct {
	void (*fill)(struct store *);
	void (*check)(void);
} fixtures[] = {
        {fixture_v0, check_v0}, {fixture_v1, check_v1}, {fixture_v2, check_v2},
        {fixture_v3, check_v3}, {fixture_v4, check_v4},
};

START_TEST(migrations_from_every_version)
{
	struct store *t;
	char *err = NULL;
	int k, latest = store_schema_latest(s);

	ck_assert_int_eq((int)(sizeof(fixtures) / sizeof(fixtures[0])), latest);
	store_close(s);
	s = NULL;
	for (k = 0; k < latest; k++) {
		remove_db();
		t = store_open_version(url, key_path, k, &err);
		ck_assert_msg(t != NULL, "version %d: %s", k, err ? err : "");
		ck_assert_int_eq(store_schema_version(t), k);
		fixtures[k].fill(t);
		store_close(t);
		if (k == 1)
			ck_assert_int_eq(raw_long("SELECT count(*) FROM sqlite_master"
			                          " WHERE name = 'queue_tombstones'"),
			                 0);
		s = store_open(url, key_path, &err);
		ck_assert_msg(s != NULL, "from version %d: %s", k, err ? err : "");
		ck_assert_int_eq(store_schema_version(s), latest);
		fixtures[k].check();
		store_close(s);
		s = NULL;
		/* The migrated database opens again without change. */
		s = store_open(url, key_path, &err);
		ck_assert_int_eq(store_schema_version(s), latest);
		store_close(s);
		s = NULL;
	}
	reopen();
}
END_TEST

/* ---- Crash safety ---- */

struct ack {
	int n;
	int64_t id;
};

static char *
crash_body(int n)
{
	size_t len = (size_t)(n * 37) % 3000 + 1, i;
	char *b = xmalloc(len + 1);

	for (i = 0; i < len; i++)
		b[i] = (char)('a' + (n + i) % 26);
	b[len] = '\0';
	return b;
}

static void
crash_child(int fd)
{
	struct store *t;
	struct store_msg m;
	struct ack a;
	char *err = NULL, *body, key[32];
	int n;

	if ((t = store_open(url, key_path, &err)) == NULL)
		_exit(2);
	for (n = 0;; n++) {
		body = crash_body(n);
		m = msg(n % 2 ? STORE_TO_NET : STORE_TO_XMPP, "echo", "crash@x", body);
		snprintf(key, sizeof(key), "k%d", n);
		m.dedup_key = n % 3 ? key : NULL;
		if (store_queue_push(t, &m) != 0)
			_exit(3);
		free(body);
		a.n = n;
		a.id = m.id;
		if (write(fd, &a, sizeof(a)) != (ssize_t)sizeof(a))
			_exit(4);
	}
}

START_TEST(crash_loses_no_acknowledged_push)
{
	struct store_msg out;
	struct ack *acks = NULL;
	size_t nacks = 0, cap = 0;
	int pfd[2], status, killed = 0, i;
	ssize_t r;
	pid_t pid;
	char *body;

	store_close(s);
	s = NULL;
	ck_assert_int_eq(pipe(pfd), 0);
	if ((pid = fork()) == 0) {
		close(pfd[0]);
		crash_child(pfd[1]);
	}
	close(pfd[1]);
	for (;;) {
		if (nacks == cap) {
			cap = cap ? cap * 2 : 1024;
			acks = xreallocarray(acks, cap, sizeof(*acks));
		}
		r = read(pfd[0], &acks[nacks], sizeof(*acks));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ck_assert_int_eq(r, (ssize_t)sizeof(*acks));
		nacks++;
		/* Kill it mid-stream, while it is pushing as fast as it can. */
		if (nacks == 3000 && !killed) {
			ck_assert_int_eq(kill(pid, SIGKILL), 0);
			killed = 1;
		}
	}
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	              "child ended otherwise (status %d)", status);
	ck_assert_int_ge(nacks, 3000);

	reopen();
	if (!on_pg)
		ck_assert_int_eq(
		        raw_long("SELECT integrity_check = 'ok' FROM pragma_integrity_check"), 1);
	for (i = 0; i < (int)nacks; i++) {
		ck_assert_int_eq(acks[i].n, i);
		ck_assert_msg(store_queue_get(s, acks[i].id, &out) == 1, "message %d lost", i);
		body = crash_body(i);
		ck_assert_str_eq(out.body, body);
		ck_assert_int_eq(out.dir, i % 2 ? STORE_TO_NET : STORE_TO_XMPP);
		ck_assert_str_eq(out.user, "crash@x");
		free(body);
		store_msg_free_fields(&out);
	}
	/* At most the one in flight is there beyond what was acknowledged. */
	ck_assert_int_le(store_queue_count(s, STORE_TO_NET, "echo") +
	                         store_queue_count(s, STORE_TO_XMPP, "echo"),
	                 (long)nacks + 1);
	free(acks);
}
END_TEST

/* ---- Scale ---- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
count_users(const struct store_user *u, void *arg)
{
	(*(long *)arg) += u->jid[0] != '\0';
	return 0;
}

START_TEST(startup_with_100k_users)
{
	char jid[64], *err = NULL;
	double t0, t1;
	long n = 0;
	int i;

	ck_assert_int_eq(store_begin(s), 0);
	for (i = 0; i < 100000; i++) {
		snprintf(jid, sizeof(jid), "user%06d@example.org", i);
		ck_assert_int_eq(store_user_add(s, i % 10 ? "irc" : "sms", jid), 0);
	}
	ck_assert_int_eq(store_commit(s), 0);
	store_close(s);

	t0 = now_s();
	s = store_open(url, key_path, &err);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(store_user_foreach(s, NULL, count_users, &n), 0);
	t1 = now_s();
	ck_assert_int_eq(n, 100000);
	ck_assert_int_eq(store_user_count(s, "irc"), 90000);
	fprintf(stderr, "open + walk of 100000 users: %.3f s\n", t1 - t0);
	ck_assert_msg(t1 - t0 < 0.5, "open + walk took %.3f s", t1 - t0);
}
END_TEST

static int
deliver(const struct store_msg *m, void *arg)
{
	(*(int *)arg)++;
	return store_queue_delete(s, m->id);
}

/*
 * Relay rate: push then deliver (due, delete), unbatched and in the core's
 * batches of 50. Printed for the record; the floors are far below what a
 * laptop does, to catch a lost index or a commit per statement.
 */
static double
relay(int total, int batch, double *slowest)
{
	struct store_msg m;
	char key[32];
	double t0, t1;
	int i, n = 0;

	t0 = now_s();
	for (i = 0; i < total; i++) {
		if (batch && i % batch == 0)
			ck_assert_int_eq(store_begin(s), 0);
		m = msg(STORE_TO_XMPP, "echo", "bench@x", "a message of ordinary length, say so");
		snprintf(key, sizeof(key), "id-%d-%d", batch, i);
		m.dedup_key = key;
		t1 = now_s();
		ck_assert_int_eq(store_queue_push(s, &m), 0);
		if (!batch && now_s() - t1 > *slowest)
			*slowest = now_s() - t1;
		if (i % 50 == 49)
			ck_assert_int_ge(store_queue_due(s, STORE_TO_XMPP, "echo", time(NULL), 100,
			                                 deliver, &n),
			                 0);
		if (batch && i % batch == batch - 1)
			ck_assert_int_eq(store_commit(s), 0);
	}
	ck_assert_int_eq(n, total);
	return total / (now_s() - t0);
}

START_TEST(queue_throughput)
{
	double one, batched, slowest = 0;

	one = relay(10000, 0, &slowest);
	batched = relay(50000, 50, &slowest);
	fprintf(stderr,
	        "queue relay (push, due, delete): %.0f msg/s unbatched "
	        "(slowest push %.1f ms), %.0f msg/s in batches of 50\n",
	        one, slowest * 1000, batched);
	ck_assert_msg(one > 200, "only %.0f messages/s unbatched", one);
	ck_assert_msg(batched > 1000, "only %.0f messages/s batched", batched);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_XMPP, NULL), 0);
}
END_TEST

struct drain {
	int64_t last;
	int n;
};

static int
drain_one(const struct store_msg *m, void *arg)
{
	struct drain *d = arg;

	ck_assert_int_gt(m->id, d->last);
	d->last = m->id;
	d->n++;
	return store_queue_delete(s, m->id);
}

/*
 * A backlog (the network was down) drains in id order, batch after batch,
 * at a cost per batch that does not grow with the backlog, also with
 * backed-off messages ahead of it.
 */
START_TEST(queue_backlog_drains_in_order)
{
	struct store_msg m;
	struct drain d = {0, 0};
	double t0, t1;
	int i, r, total = 30000;

	ck_assert_int_eq(store_begin(s), 0);
	for (i = 0; i < total + 2000; i++) {
		m = msg(STORE_TO_NET, "irc", "a@x", "backlog");
		/* Every 16th is backed off for an hour. */
		m.next_try = i % 16 == 0 ? 1000 + 3600 : 1000 + i / 100;
		ck_assert_int_eq(store_queue_push(s, &m), 0);
	}
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_queue_next_due(s, STORE_TO_NET, "irc"), 1000);

	t0 = now_s();
	do {
		ck_assert_int_eq(store_begin(s), 0);
		r = store_queue_due(s, STORE_TO_NET, "irc", 1000 + 3599, 100, drain_one, &d);
		ck_assert_int_ge(r, 0);
		ck_assert_int_eq(store_commit(s), 0);
	} while (r > 0);
	t1 = now_s();
	ck_assert_int_eq(d.n, total + 2000 - (total + 2000 + 15) / 16);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_NET, "irc"), (total + 2000 + 15) / 16);
	ck_assert_int_eq(store_queue_next_due(s, STORE_TO_NET, "irc"), 1000 + 3600);
	fprintf(stderr, "backlog of %d drained in batches of 100: %.2f s\n", d.n, t1 - t0);
	ck_assert_msg(t1 - t0 < 10, "draining took %.2f s", t1 - t0);
}
END_TEST

#ifdef WITH_POSTGRESQL
/* ---- PostgreSQL only ---- */

/*
 * Both engines share one migration numbering; every version opens and
 * migrates to the latest; a database newer than the build is refused.
 */
START_TEST(pg_schema_versions)
{
	char *err = NULL;
	struct store *t;
	int k, latest = store_schema_latest(s);

	ck_assert_int_eq(latest, store_sqlite_ops.schema_latest());
	ck_assert_int_eq(store_schema_version(s), latest);
	for (k = 0; k <= latest; k++) {
		store_close(s);
		s = NULL;
		raw_exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
		t = store_open_version(url, key_path, k, &err);
		ck_assert_msg(t != NULL, "version %d: %s", k, err ? err : "?");
		ck_assert_int_eq(store_schema_version(t), k);
		store_close(t);
		s = store_open(url, key_path, &err);
		ck_assert_msg(s != NULL, "from version %d: %s", k, err ? err : "?");
		ck_assert_int_eq(store_schema_version(s), latest);
	}
	store_close(s);
	s = NULL;
	raw_exec("UPDATE schema_version SET version = 99");
	err = open_err(url, key_path);
	ASSERT_HAS(err, "newer than this stanzagate knows");
	free(err);
}
END_TEST

/* Kill this store's server process, waiting until it is gone. */
static void
kill_backend(void)
{
	ck_assert_int_eq(raw_long("SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 5000)"
	                          " FROM pg_stat_activity WHERE datname = 'sg'"
	                          " AND application_name <> 'sg-raw') t"),
	                 1);
}

/*
 * The connection dies inside a transaction: what it held is not reported
 * committed; calls fail until the rollback; the next call outside a
 * transaction reconnects.
 */
START_TEST(pg_connection_lost)
{
	struct store_msg m1, m2, m3, m4, out;

	m1 = msg(STORE_TO_XMPP, "echo", "a@x", "before");
	ck_assert_int_eq(store_queue_push(s, &m1), 0);
	ck_assert_int_eq(store_begin(s), 0);
	m2 = msg(STORE_TO_XMPP, "echo", "a@x", "inside");
	ck_assert_int_eq(store_queue_push(s, &m2), 0);
	kill_backend();
	m3 = msg(STORE_TO_XMPP, "echo", "a@x", "after the loss");
	ck_assert_int_eq(store_queue_push(s, &m3), -1);
	ck_assert_int_eq(store_commit(s), -1);

	m4 = msg(STORE_TO_XMPP, "echo", "a@x", "reconnected");
	ck_assert_int_eq(store_queue_push(s, &m4), 0);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_XMPP, "echo"), 2);
	ck_assert_int_eq(store_queue_get(s, m2.id, &out), 0);
	ck_assert_int_eq(store_queue_get(s, m1.id, &out), 1);
	ck_assert_str_eq(out.body, "before");
	store_msg_free_fields(&out);

	/* Lost outside a transaction: that call fails, the next reconnects. */
	kill_backend();
	ck_assert_int_eq(store_user_add(s, "echo", "b@x"), -1);
	ck_assert_int_eq(store_user_add(s, "echo", "b@x"), 0);
	ck_assert_int_eq(store_user_get(s, "echo", "b@x", NULL), 1);
}
END_TEST

/*
 * Two gateway processes, each with its own connection, race for one lease
 * LEASE_ROUNDS times each: take it (ttl long enough never to expire here),
 * note in shared memory that it holds it, check nobody else does and that
 * it can renew it, let it go (which must find it still its own). Both must
 * win some rounds and never hold it together.
 */
#define LEASE_ROUNDS 300

START_TEST(pg_leases_two_connections)
{
	int *shared = mmap(NULL, 4 * sizeof(int), PROT_READ | PROT_WRITE,
	                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid[2];

	ck_assert_ptr_ne(shared, MAP_FAILED);
	memset(shared, 0, 4 * sizeof(int));
	for (int k = 0; k < 2; k++) {
		if ((pid[k] = fork()) == 0) {
			char *err = NULL, owner[8];
			struct store *t = store_open(url, key_path, &err);
			int won = 0, bad = 0;

			snprintf(owner, sizeof(owner), "gw%d", k);
			if (t == NULL)
				_exit(2);
			for (int i = 0; i < LEASE_ROUNDS; i++) {
				int r = store_lease_take(t, "irc", "a@x", owner, 3600, NULL);

				if (r == -1)
					_exit(3);
				if (r == 0)
					continue;
				if (__atomic_add_fetch(&shared[0], 1, __ATOMIC_SEQ_CST) != 1)
					bad++;
				won++;
				/* Still ours while held: a renewal succeeds. */
				if (store_lease_take(t, "irc", "a@x", owner, 3600, NULL) != 1)
					bad++;
				__atomic_sub_fetch(&shared[0], 1, __ATOMIC_SEQ_CST);
				if (store_lease_release(t, "irc", "a@x", owner) != 1)
					bad++;
			}
			shared[1 + k] = won;
			__atomic_add_fetch(&shared[3], bad, __ATOMIC_SEQ_CST);
			store_close(t);
			_exit(0);
		}
		ck_assert_int_ge(pid[k], 0);
	}
	for (int k = 0; k < 2; k++) {
		int st;

		ck_assert_int_eq(waitpid(pid[k], &st, 0), pid[k]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: status %d", k, st);
	}
	ck_assert_int_eq(shared[3], 0);
	ck_assert_int_gt(shared[1], 0);
	ck_assert_int_gt(shared[2], 0);
	/* The last release left it free. */
	ck_assert_int_eq(raw_long("SELECT count(*) FROM leases"), 0);
	munmap(shared, 4 * sizeof(int));
}
END_TEST

/* Fill a SQLite store with a bit of every table; *last: the highest reserved id. */
static char *
filled_sqlite_store(int64_t *last)
{
	char *lite_url = xasprintf("sqlite:%s/source.db", tmpdir), *err = NULL;
	struct store *t = store_open(lite_url, key_path, &err);
	struct store_msg m;
	int64_t first;

	ck_assert_msg(t != NULL, "%s", err ? err : "?");
	ck_assert_int_eq(store_user_add(t, "irc", "a@x"), 0);
	ck_assert_int_eq(store_user_add(t, "sms", "b@x"), 0);
	ck_assert_int_eq(store_user_set_disabled(t, "sms", "b@x", true), 0);
	ck_assert_int_eq(store_setting_set(t, "irc", "a@x", "", "nick", "alice"), 0);
	ck_assert_int_eq(store_setting_set(t, "irc", "a@x", "", "empty", ""), 0);
	ck_assert_int_eq(store_secret_set(t, "irc", "a@x", "libera", "password", "hunter2"), 0);
	ck_assert_int_eq(store_contact_set(t, "irc", "a@x", "bob", "Bob", STORE_SUB_BOTH), 0);
	m = msg(STORE_TO_XMPP, "irc", "a@x", "waiting");
	m.dedup_key = (char *)"k1";
	ck_assert_int_eq(store_queue_push(t, &m), 0);
	m = msg(STORE_TO_NET, "irc", "a@x", "held");
	m.held = true;
	ck_assert_int_eq(store_queue_push(t, &m), 0);
	m = msg(STORE_TO_XMPP, "irc", "a@x", "delivered");
	m.dedup_key = (char *)"k2";
	ck_assert_int_eq(store_queue_push(t, &m), 0);
	ck_assert_int_eq(store_queue_delete(t, m.id), 0);
	ck_assert_int_eq(store_queue_reserve(t, 100, &first), 0);
	*last = first + 99;
	ck_assert_int_eq(store_archive_add(t, "irc", "a@x", "#c", 1000, "n", "one", "u1", NULL), 0);
	ck_assert_int_eq(store_archive_add(t, "irc", "a@x", "#c", 1001, "n", "two", NULL, NULL), 0);
	store_close(t);
	return lite_url;
}

/* --migrate-store: every row arrives, secrets open with the same key, ids stay unique. */
START_TEST(pg_copy_from_sqlite)
{
	char *lite_url, *err = NULL, *v = NULL, *name = NULL, *report = NULL;
	struct store_archive_query q = {0};
	struct store_msg m;
	enum store_sub sub;
	size_t report_len = 0;
	int64_t last;
	FILE *out;

	lite_url = filled_sqlite_store(&last);
	out = open_memstream(&report, &report_len);
	ck_assert_msg(store_copy(lite_url, url, out, &err) == 0, "%s", err ? err : "?");
	fclose(out);
	ASSERT_HAS(report, "users                         2 rows in SQLite,          2 copied");
	ASSERT_HAS(report, "queue_tombstones              1 rows");
	ck_assert_ptr_null(strstr(report, "MISMATCH"));

	reopen();
	ck_assert_int_eq(store_user_count(s, NULL), 2);
	ck_assert_int_eq(store_user_get(s, "sms", "b@x", NULL), 1);
	ck_assert_int_eq(store_setting_get(s, "irc", "a@x", "", "nick", &v), 1);
	ck_assert_str_eq(v, "alice");
	free(v);
	ck_assert_int_eq(store_setting_get(s, "irc", "a@x", "", "empty", &v), 1);
	ck_assert_str_eq(v, "");
	free(v);
	ck_assert_int_eq(store_secret_get(s, "irc", "a@x", "libera", "password", &v), 1);
	ck_assert_str_eq(v, "hunter2");
	free(v);
	ck_assert_int_eq(store_contact_get(s, "irc", "a@x", "bob", &sub, &name), 1);
	ck_assert_str_eq(name, "Bob");
	ck_assert_int_eq(sub, STORE_SUB_BOTH);
	free(name);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_XMPP, "irc"), 1);
	ck_assert_int_eq(store_queue_count(s, STORE_TO_NET, "irc"), 1);
	ck_assert_int_eq(store_queue_seen(s, STORE_TO_XMPP, "irc", "a@x", "k2"), 1);
	ck_assert_int_eq(store_archive_query(s, "irc", "a@x", "#c", &q, count_rows, NULL), 2);
	/* No id handed out in SQLite, reserved ones included, is handed out again. */
	m = msg(STORE_TO_NET, "irc", "a@x", "new");
	ck_assert_int_eq(store_queue_push(s, &m), 0);
	ck_assert_int_gt(m.id, last);

	/* A second copy would merge: refused. */
	ck_assert_int_eq(store_copy(lite_url, url, stderr, &err), -1);
	ASSERT_HAS(err, "not empty");
	free(err);
	free(report);
	free(lite_url);
}
END_TEST
#endif

/* The cases that use store.h only (and the raw helpers' twins). */
static void
add_engine_cases(Suite *su, const char *prefix, void (*fixture)(void))
{
	/* Check keeps the names it is given: they live as long as the program
	 * (two engines, three cases each). */
	static char names[6][64];
	static size_t used;
	char *name;
	TCase *tc;

	name = names[used++ % 6];
	snprintf(name, sizeof(names[0]), "%sdata", prefix);
	tc = unit_tcase(su, name);
	tcase_add_checked_fixture(tc, fixture, teardown);
	unit_tests(tc, users, foreach_reentrant, user_remove_cascades, settings, secrets,
	           secrets_tampered_or_moved, setting_foreach, setting_find, contacts, room_members,
	           leases);

	name = names[used++ % 6];
	snprintf(name, sizeof(names[0]), "%squeue", prefix);
	tc = unit_tcase(su, name);
	tcase_add_checked_fixture(tc, fixture, teardown);
	unit_tests(tc, archive_pages_and_ranges, archive_network_ids, queue_push_get,
	           queue_due_order_limit_and_filters, queue_due_callback_changes_queue,
	           queue_retry_hold_release_delete, queue_dedup_and_tombstones, queue_reserved_ids,
	           queue_seen_and_direct_tombstones, transactions);

	name = names[used++ % 6];
	snprintf(name, sizeof(names[0]), "%sdurability", prefix);
	tc = unit_tcase(su, name);
	tcase_add_checked_fixture(tc, fixture, teardown);
	tcase_set_timeout(tc, 120);
	unit_tests(tc, crash_loses_no_acknowledged_push, startup_with_100k_users, queue_throughput,
	           queue_backlog_drains_in_order);
}

static Suite *
store_suite(bool with_pg)
{
	Suite *su = suite_create("store");
	TCase *tc;

	tc = unit_tcase(su, "open");
	tcase_add_checked_fixture(tc, setup, teardown);
	unit_tests(tc, open_bad_urls, open_uncreatable_paths, open_not_a_database,
	           open_newer_schema_refused, open_bad_key_file, open_creates_private_files,
	           open_in_memory_and_without_key);

	tc = unit_tcase(su, "migrations");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	unit_tests(tc, migrations_from_every_version);

	add_engine_cases(su, "", setup);
#ifdef WITH_POSTGRESQL
	if (with_pg) {
		add_engine_cases(su, "postgresql-", setup_pg);
		tc = unit_tcase(su, "postgresql");
		tcase_add_checked_fixture(tc, setup_pg, teardown);
		tcase_set_timeout(tc, 60);
		unit_tests(tc, pg_schema_versions, pg_connection_lost, pg_copy_from_sqlite,
		           pg_leases_two_connections);
	}
#else
	(void)with_pg;
#endif
	return su;
}

int
main(void)
{
	bool with_pg = false;
	int status;

#ifdef WITH_POSTGRESQL
	with_pg = pg_cluster_start() == 0;
#else
	fprintf(stderr, "test_store: SKIP the PostgreSQL cases: built without libpq\n");
#endif
	status = unit_run(store_suite(with_pg));
#ifdef WITH_POSTGRESQL
	if (with_pg)
		pg_cluster_stop();
#endif
	return status;
}
