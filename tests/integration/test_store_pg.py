"""The gateway on the PostgreSQL store (issue 12 §1): the echo network's
messages both ways, registration surviving a restart, a database that
cannot be reached refused at start with one line, and --migrate-store. The
session's private PostgreSQL cluster (conftest's pg_cluster) serves every
test a fresh database. The last two tests kill PostgreSQL under the IRC
gateway, each on a cluster of its own (own_pg)."""

import re

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
    assert _rows(pg_gateway, "SELECT max(version) FROM schema_version") == "5"
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


# ---- PostgreSQL killed under traffic (issue 12 §1) ----

IRC_GW = "irc.localhost"


def _person(nick):
    return f"{nick}%127.0.0.1@{IRC_GW}"


@pytest.fixture
def fast_ngircd(tmp_path):
    # No flood penalty: the traffic below is faster than ngircd lets a client talk.
    n = sgtest.Ngircd(tmp_path / "ngircd", tls=False,
                      extra_global="[Limits]\nMaxPenaltyTime = 0\n")
    n.start()
    yield n
    n.stop()


def _irc_on_own_pg(make_gateway, pg, ngircd, client):
    """The IRC gateway on pg; alice (XMPP, online for the gateway) and bob
    (IRC) have talked once each way: (pg, database, gateway, alice, bob)."""
    name = pg.new_database()
    g = make_gateway(backends=(IRC_GW,), extra={
        "storage": {"url": pg.url(name)},
        "irc": {"ports": str(ngircd.port), "tls_ports": "", "throttle_burst": "0",
                "throttle_byte_burst": "0"}})
    bob = sgtest.IrcClient(ngircd.port, "bob")
    bob.sock.settimeout(None)
    alice = client("alice")
    # A directed presence: alice is online for the gateway, so it can tell her.
    alice.loop.call(lambda: alice.xmpp.send_presence(pto=IRC_GW))
    sgtest.wait_until(lambda: "alice@localhost/test available" in g.log, 15,
                      "the gateway to see alice online")
    alice.send_message(_person("bob"), "hello bob")
    bob.wait_privmsg("bob", "hello bob", timeout=20)
    bob.privmsg("alice", "hello alice")
    alice.wait_for_message(lambda m: m["from"].bare == _person("bob")
                           and m["body"] == "hello alice", 15, "bob's first message")
    return pg, name, g, alice, bob


def test_postgresql_killed_under_traffic_loses_nothing_acknowledged(make_gateway, own_pg,
                                                                    fast_ngircd, client):
    """SIGKILL of PostgreSQL's postmaster while messages flow both ways
    between alice (XMPP) and bob (IRC), then a restart on the same data and
    port. Every message is either accepted and arrives exactly once, or
    refused with an error its sender sees (an XMPP error stanza; a NOTICE on
    IRC); alice is told once that the service is degraded and once that it
    is back; the IRC connection stays up; the gateway resumes by itself."""
    import threading
    import time

    pg, name, g, alice, bob = _irc_on_own_pg(make_gateway, own_pg, fast_ngircd, client)

    sent_x = {}   # XMPP -> IRC: stanza id -> body
    sent_i = []   # IRC -> XMPP: (monotonic time sent, body)
    stop = threading.Event()

    def traffic():
        i = 0
        while not stop.is_set():
            body = f"x2i-{i}"
            sent_x[alice.send_message(_person("bob"), body)] = body
            sent_i.append((time.monotonic(), f"i2x-{i}"))
            bob.privmsg("alice", f"i2x-{i}")
            i += 1
            time.sleep(0.05)

    def delivered_to_alice():
        return [m["body"] for m in list(alice.messages)
                if m["from"].bare == _person("bob") and m["type"] == "chat"
                and (m["body"] or "").startswith("i2x-")]

    def refused_on_irc():
        out = []
        for line in list(bob.lines):
            parts = bob.untagged(line).split(" ", 3)
            if len(parts) == 4 and parts[1] == "NOTICE" and "Not delivered to alice" in line:
                out.append(parts[3].rsplit('"', 2)[-2])
        return out

    t = threading.Thread(target=traffic, daemon=True)
    t.start()
    try:
        time.sleep(1.5)
        pg.kill()
        t_killed = time.monotonic()
        sgtest.wait_until(lambda: "store: unreachable" in g.log, 30,
                          "the gateway to notice the outage")
        time.sleep(2)
        pg.restart()
        t_back = time.monotonic()

        def resumed():
            got = set(delivered_to_alice())
            return [ts for ts, b in list(sent_i) if ts > t_back and b in got]
        first = min(sgtest.wait_until(resumed, 60,
                                      "an IRC message accepted again after the restart"))
        time.sleep(1.5)
    finally:
        stop.set()
        t.join(10)

    # Everything settles: each message delivered or refused, the queue empty.
    def x_outcome():
        errors = {m["id"] for m in list(alice.messages)
                  if m["type"] == "error" and m["from"].bare == _person("bob")}
        got = [bob.untagged(line).split(" ", 3)[3][1:] for line in list(bob.lines)
               if " PRIVMSG bob :x2i-" in line]
        return errors, got

    def settled():
        errors, got = x_outcome()
        got = set(got)
        i_done = set(delivered_to_alice()) | set(refused_on_irc())
        return (all(b in got or mid in errors for mid, b in list(sent_x.items()))
                and all(b in i_done for _, b in sent_i))
    sgtest.wait_until(settled, 60, "every message delivered or refused")
    sgtest.wait_until(lambda: pg.psql(name, "SELECT count(*) FROM queue").strip() == "0", 30,
                      "the queue to drain")
    time.sleep(2)  # room for a duplicate to show up, were one sent again

    errors, got = x_outcome()
    x_errors = [b for mid, b in sent_x.items() if mid in errors]
    for b in sent_x.values():
        assert got.count(b) <= 1, f"{b} reached IRC {got.count(b)} times"
        assert (b in got) != (b in x_errors), f"{b}: delivered and refused, or neither"
    delivered, refused = delivered_to_alice(), refused_on_irc()
    for _, b in sent_i:
        assert delivered.count(b) <= 1, f"{b} reached XMPP {delivered.count(b)} times"
        assert (b in delivered) != (b in refused), f"{b}: delivered and refused, or neither"
    assert refused, "PostgreSQL was down for seconds: some IRC message must have been refused"
    # Errors say why, in words.
    for m in list(alice.messages):
        if m["type"] == "error" and m["from"].bare == _person("bob"):
            assert "could not" in m["error"]["text"], m

    # Told once each way, from the gateway's JID; its presence followed.
    notices = [m["body"] for m in list(alice.messages) if m["from"].bare == IRC_GW]
    down = [b for b in notices if "cannot reach its database" in b]
    up = [b for b in notices if "reachable again" in b]
    assert len(down) == 1 and len(up) == 1, notices
    assert notices.index(down[0]) < notices.index(up[0])
    gw_pres = [p for p in list(alice.presences) if p["from"].bare == IRC_GW]
    assert any(p["show"] == "dnd" and "database" in p["status"] for p in gw_pres), gw_pres
    assert gw_pres[-1]["show"] == "" and gw_pres[-1]["type"] != "unavailable", gw_pres[-1]

    # The IRC link stayed up: one connection, never quit.
    assert not [line for line in list(bob.lines) if " QUIT " in line and "alice" in line]
    assert "PostgreSQL connection re-established" in g.log
    assert "PostgreSQL unreachable" in g.log  # the backoff's attempts, for the operator
    print(f"\nPostgreSQL down {t_back - t_killed:.1f} s (kill to restart done); "
          f"IRC->XMPP: {len(sent_i)} sent, {len(sent_i) - len(refused)} accepted, "
          f"{len(refused)} refused; XMPP->IRC: {len(sent_x)} sent, {len(got)} delivered, "
          f"{len(x_errors)} refused; first accepted IRC message sent "
          f"{first - t_back:.2f} s after the restart")
    bob.close()


def test_delivered_while_postgresql_down_not_sent_twice(make_gateway, own_pg, fast_ngircd,
                                                        client, prosody):
    """Messages stored and sent to XMPP whose delivery is confirmed (the
    barrier) while PostgreSQL is down cannot leave the queue then; once the
    database is back they are deleted, not sent a second time. Prosody is
    paused (SIGSTOP) so the confirmation comes after the kill."""
    import signal
    import time

    pg, name, g, alice, bob = _irc_on_own_pg(make_gateway, own_pg, fast_ngircd, client)
    bodies = [f"held-{i}" for i in range(5)]
    prosody.proc.send_signal(signal.SIGSTOP)
    try:
        for b in bodies:
            bob.privmsg("alice", b)
        # Committed (and written to the paused server's socket).
        sgtest.wait_until(lambda: pg.psql(name, "SELECT count(*) FROM queue WHERE body "
                                          "LIKE 'held-%'").strip() == str(len(bodies)),
                          30, "the messages to be stored")
        pg.kill()
    finally:
        prosody.proc.send_signal(signal.SIGCONT)
    for b in bodies:
        alice.wait_for_message(lambda m, b=b: m["body"] == b, 30, f"{b} delivered")
    sgtest.wait_until(lambda: "store: unreachable" in g.log, 30, "the outage noticed")
    pg.restart()
    sgtest.wait_until(lambda: "re-established" in g.log, 30, "the store back")
    sgtest.wait_until(lambda: pg.psql(name, "SELECT count(*) FROM queue").strip() == "0", 30,
                      "the delivered messages to leave the queue")
    # (5, or 6 when the first message's confirmation was also held up by the pause)
    assert re.search(r"deleting [56] delivered messages now that the store is back", g.log)
    time.sleep(3)  # a second copy, were one sent, arrives well within this
    again = [m["body"] for m in list(alice.messages) if m["body"] in bodies]
    assert not again, f"sent a second time: {again}"
    bob.close()


def test_message_irc_cannot_take_while_postgresql_down(make_gateway, own_pg, fast_ngircd,
                                                       client):
    """With PostgreSQL down and the IRC server gone too, a message cannot be
    queued. Depending on where the IRC connection is in its reconnection,
    the driver either refuses it for now (RETRY: alice gets an error saying
    the gateway could not store it) or holds it to send on reconnection
    (PENDING: a copy in memory stands in for the row and it arrives once IRC
    is back). Either way exactly one of the two happens, never both or
    neither; what alice sends after the store is back goes through."""
    import time

    pg, name, g, alice, bob = _irc_on_own_pg(make_gateway, own_pg, fast_ngircd, client)
    bob.close()
    pg.kill()
    fast_ngircd.stop()
    sgtest.wait_until(lambda: "connection to 127.0.0.1 lost or failed" in g.log, 30,
                      "the IRC connection lost")
    body = "while everything is down"
    mid = alice.send_message(_person("bob"), body)
    sgtest.wait_until(lambda: "could not store a message from alice" in g.log, 30,
                      "the store to refuse it")
    pg.restart()
    fast_ngircd.start()
    bob = sgtest.IrcClient(fast_ngircd.port, "bob")
    bob.sock.settimeout(None)
    sgtest.wait_until(lambda: "re-established" in g.log, 30, "the store back")
    alice.send_message(_person("bob"), "sent after")
    assert bob.wait_privmsg("bob", "sent after", timeout=60)[1] == "sent after"
    time.sleep(1)
    arrived = [line for line in list(bob.lines) if f"PRIVMSG bob :{body}" in line]
    errors = [m for m in list(alice.messages) if m["type"] == "error" and m["id"] == mid]
    assert len(arrived) + len(errors) == 1, (arrived, errors)
    for m in errors:
        assert "could not store" in m["error"]["text"], m
    bob.close()
