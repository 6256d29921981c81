"""The gateway on the PostgreSQL store (issue 12 §1): the echo network's
messages both ways, registration surviving a restart, a database that
cannot be reached refused at start with one line, and --migrate-store. The
session's private PostgreSQL cluster (conftest's pg_cluster) serves every
test a fresh database."""

import pytest

import sgtest

ECHO = "echo.localhost"


@pytest.fixture
def pg_db(pg_cluster):
    """(cluster, database name, storage url) of a fresh, empty database."""
    name = pg_cluster.new_database()
    return pg_cluster, name, pg_cluster.url(name)


@pytest.fixture
def pg_gateway(make_gateway, pg_db):
    pg, name, url = pg_db
    g = make_gateway(extra={"storage": {"url": url}})
    g.pg, g.pg_name = pg, name
    return g


def _rows(g, sql):
    return g.pg.psql(g.pg_name, sql).strip()


def _register(c):
    res = c.register_with_defaults(ECHO)
    assert res["type"] == "result", res


def test_echo_both_ways_on_postgresql(pg_gateway, client):
    alice = client("alice")
    bodies = [f"pg n°{i} ✓" for i in range(5)]
    for b in bodies:
        alice.send_message("foo@echo.localhost", b)
    got = []
    for _ in bodies:
        m = alice.wait_for_message(lambda m: m["from"].bare == "foo@echo.localhost"
                                   and m["type"] != "error", timeout=sgtest.scaled(15))
        got.append(m["body"])
    assert got == bodies
    # The schema is PostgreSQL's, nothing went to a SQLite file, and the
    # messages delivered to XMPP left the queue.
    # (the latest version: the unit test pg_schema_versions keeps both engines' alike)
    assert _rows(pg_gateway, "SELECT max(version) FROM schema_version") == "4"
    assert not pg_gateway.db_path.exists()
    sgtest.wait_until(lambda: _rows(pg_gateway, "SELECT count(*) FROM queue") == "0",
                      sgtest.scaled(10), "the delivered messages to leave the queue")


def test_restart_keeps_registration_on_postgresql(pg_gateway, client):
    alice = client("alice")
    assert not alice.is_registered(ECHO)
    _register(alice)
    assert _rows(pg_gateway, "SELECT jid FROM users WHERE net = 'echo'") == \
        f"alice@{sgtest.DOMAIN}"
    pg_gateway.restart()
    assert alice.is_registered(ECHO)
    reply = alice.send_message_and_wait("bar@echo.localhost", "after the restart")
    assert reply["body"] == "after the restart"


def test_unreachable_postgresql_refused_at_start(tmp_path, prosody, stanzagate_bin):
    port = sgtest.free_port()  # nothing listens there
    g = sgtest.Gateway(tmp_path / "gw", prosody, binary=stanzagate_bin, extra={
        "storage": {"url": f"postgresql://gw:hunter2@127.0.0.1:{port}/gw"}})
    r = sgtest.run_binary(stanzagate_bin, "-d", "-c", g.config_file, timeout=15)
    assert r.returncode != 0
    reason = (r.stderr + r.stdout).strip()
    assert "cannot connect to the PostgreSQL store" in reason, reason
    assert "hunter2" not in reason


def test_migrate_store_moves_a_sqlite_gateway_to_postgresql(make_gateway, pg_db, client,
                                                            stanzagate_bin, tmp_path):
    pg, name, url = pg_db
    g = make_gateway(extra={"storage": {"url": f"sqlite:{tmp_path}/gateway/stanzagate.db"}})
    assert g.db_path == tmp_path / "gateway" / "stanzagate.db"
    alice = client("alice")
    _register(alice)
    g.stop()

    r = sgtest.run_binary(stanzagate_bin, "--migrate-store", f"sqlite:{g.db_path}", url,
                          timeout=60)
    assert r.returncode == 0, r.stderr
    assert "every table copied and verified" in r.stdout
    users = [line for line in r.stdout.splitlines() if line.startswith("users ")]
    assert users and "1 rows in SQLite" in users[0] and "1 in PostgreSQL" in users[0], r.stdout
    assert pg.psql(name, "SELECT jid FROM users").strip() == f"alice@{sgtest.DOMAIN}"

    # The same gateway, now on PostgreSQL, still knows alice.
    g.sections["storage"]["url"] = url
    g.write_config()
    g.db_path.unlink()
    g.start()
    assert alice.is_registered(ECHO)
    reply = alice.send_message_and_wait("foo@echo.localhost", "moved")
    assert reply["body"] == "moved"

    # A second copy into the now used database is refused.
    r = sgtest.run_binary(stanzagate_bin, "--migrate-store", f"sqlite:{g.dir}/none.db", url,
                          timeout=60)
    assert r.returncode == 1
    assert "not empty" in r.stderr
