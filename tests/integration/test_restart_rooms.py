"""A gateway restart is invisible to users in rooms (issue 16).

One test per fault: SIGKILL, SIGTERM, SIGKILL while the start-up rejoin is
under way, the IRC server gone at start-up. The XMPP clients here are
slixmpp with no rejoin logic and no XEP-0410 self-ping: they only send, so
whatever keeps them in the room is the gateway's doing. Real Prosody and
ngircd; the IRC side is played by sgtest.IrcClient.
"""

import signal
import socket
import threading
import time

import pytest

import sgtest
from test_irc import GW, SERVER, codes, irc_extra, person, room
from test_irc_persist import in_channel

ECHO_ROOM = "#lobby@echo.localhost"


@pytest.fixture
def gw(make_gateway, ngircd):
    return make_gateway(backends=(GW,), extra=irc_extra(ngircd))


def memberships(gateway):
    return sorted(sgtest.store_rows(gateway, "SELECT net, jid, room, resource, nick"
                                             " FROM room_members"))


def self_presence(client, r, nick="alice", timeout=15):
    """The next available self-presence (110) from r/nick."""
    return client.wait_for_presence(
        lambda p: str(p["from"]) == f"{r}/{nick}" and p["type"] != "unavailable"
        and 110 in codes(p), timeout, f"self-presence in {r}")


def errors(client):
    """Error stanzas the client got (refused messages, error presences)."""
    return [st for st in client.all_stanzas if st["type"] == "error"]


def irc_lines(irc, pred, settle=1.5):
    """The lines irc has not consumed that match pred, after a moment for stragglers."""
    time.sleep(sgtest.scaled(settle))
    return [line for line in list(irc.lines) if pred(line)]


def joins_of(nick, chan):
    return lambda line: line.startswith(f":{nick}!") and " JOIN " in line and chan in line


def received_in_order(irc, chan, texts, timeout=30):
    for t in texts:
        irc.wait_privmsg(chan, t, timeout)
    # Once each: nothing of it comes again.
    again = irc_lines(irc, lambda line: " PRIVMSG " in line and
                      any(line.endswith(f":{t}") for t in texts))
    assert again == [], f"delivered twice: {again}"


@pytest.fixture
def joined(gw, client, irc_client):
    """alice (XMPP) and bob (IRC) in #r on the IRC gateway."""
    def make(chan="#r"):
        alice = client("alice")
        bob = irc_client("bob")
        bob.join(chan)
        r = room(chan)
        alice.join_muc(r, "alice")
        bob.wait_for(joins_of("alice", chan), 10, "alice's JOIN")
        sgtest.wait_until(lambda: memberships(gw) == [("irc", alice.bare, f"{chan}%{SERVER}",
                                                       "test", "alice")],
                          10, "the membership stored")
        return alice, bob, r
    return make


def talk_after_restart(gw, alice, bob, r, chan, sig):
    """Restart with sig; alice, doing nothing else, talks at once."""
    gw.restart(sig)
    texts = [f"after {sig.name} {i}" for i in range(5)]
    for t in texts:
        alice.send_message(r, t, mtype="groupchat")
    received_in_order(bob, chan, texts)
    # The IRC side saw alice come back once.
    bob.wait_for(joins_of("alice", chan), 5, "alice's JOIN after the restart")
    assert irc_lines(bob, joins_of("alice", chan)) == []
    # Still in the room: the state came again, the self-ping answers, IRC reaches her.
    me = self_presence(alice, r)
    assert 110 in codes(me)
    alice.ping(f"{r}/alice")
    bob.privmsg(chan, f"welcome back after {sig.name}")
    alice.wait_for_message(lambda m: m["type"] == "groupchat" and str(m["from"]) == f"{r}/bob"
                           and m["body"] == f"welcome back after {sig.name}", 10, "bob's line")
    assert errors(alice) == []


def test_sigkill_is_invisible(gw, joined):
    alice, bob, r = joined()
    talk_after_restart(gw, alice, bob, r, "#r", signal.SIGKILL)


def test_sigterm_keeps_rooms_without_332(gw, joined):
    alice, bob, r = joined()
    talk_after_restart(gw, alice, bob, r, "#r", signal.SIGTERM)
    # A restart is not a shutdown of the room: no 332, no unavailable self-presence.
    assert not [p for p in alice.all_stanzas if p.name == "presence"
                and str(p["from"]) == f"{r}/alice" and p["type"] == "unavailable"]


def test_sigusr2_stops_for_good(gw, joined):
    alice, bob, r = joined()
    assert gw.kill(signal.SIGUSR2) == 0
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/alice"
                                and p["type"] == "unavailable", 10, "the room's shutdown")
    assert 332 in codes(p)
    assert memberships(gw) == []
    gw.start()
    # Nothing to rejoin: the IRC side does not see alice again.
    assert irc_lines(bob, joins_of("alice", "#r"), settle=3) == []


def restart_without_irc(gw, ngircd, alice, r, texts):
    """SIGKILL, the IRC server stopped, the gateway started again; alice
    sends texts, still in the room for the gateway (her self-ping answers)."""
    gw.kill(signal.SIGKILL)
    ngircd.stop()
    gw.start()
    for t in texts:
        alice.send_message(r, t, mtype="groupchat")
    alice.ping(f"{r}/alice")


def test_sigkill_during_startup_rejoin(gw, joined, ngircd, irc_client):
    """Killed again while the rejoin waits for its IRC server: what was sent
    meanwhile is neither lost nor sent twice."""
    alice, bob, r = joined()
    first = [f"held {i}" for i in range(3)]
    restart_without_irc(gw, ngircd, alice, r, first)
    sgtest.wait_until(lambda: "rejoining 1 rooms" in gw.log, 10, "the rejoin starting")
    time.sleep(sgtest.scaled(1))  # the messages are stored (group commit)
    gw.kill(signal.SIGKILL)
    ngircd.start()
    carol = irc_client("carol")
    carol.join("#r")
    gw.start()
    alice.send_message(r, "after both kills", mtype="groupchat")
    received_in_order(carol, "#r", first + ["after both kills"], timeout=40)
    assert carol.wait_for(joins_of("alice", "#r"), 5, "alice's JOIN")
    assert irc_lines(carol, joins_of("alice", "#r")) == []
    assert errors(alice) == []


class Gate:
    """A TCP forwarder to ngircd that can refuse connections: the IRC server
    as the gateway sees it, gone or back while the test's own IRC clients
    stay connected to ngircd itself."""

    def __init__(self, target_port):
        self.port = sgtest.free_port()
        self.target = target_port
        self.listener = None
        self.socks = []

    def open(self):
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def close(self):
        for s in [self.listener] + self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.socks = []

    def _accept(self, listener):
        while True:
            try:
                a, _ = listener.accept()
            except OSError:
                return
            b = socket.create_connection(("127.0.0.1", self.target))
            self.socks += [a, b]
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def test_irc_server_gone_at_startup(make_gateway, ngircd, client, irc_client):
    gate = Gate(ngircd.port)
    gate.open()
    gw = make_gateway(backends=(GW,), extra={"irc": {"ports": str(gate.port), "tls_ports": ""}})
    bob = irc_client("bob")
    bob.join("#r")
    alice = client("alice")
    r = room("#r")
    alice.join_muc(r, "alice")
    bob.wait_for(joins_of("alice", "#r"), 10, "alice's JOIN")
    sgtest.wait_until(lambda: len(memberships(gw)) == 1, 10, "the membership stored")
    gw.kill(signal.SIGKILL)
    gate.close()
    gw.start()
    texts = [f"while IRC is down {i}" for i in range(3)]
    for t in texts:
        alice.send_message(r, t, mtype="groupchat")
    # The first connection after the start fails: the join waits, it does not fail.
    sgtest.wait_until(lambda: "rejoining 1 rooms" in gw.log and
                      "lost or failed" in gw.log.rsplit("rejoining 1 rooms", 1)[1],
                      20, "the IRC server refusing the restarted gateway")
    alice.ping(f"{r}/alice")  # the room waits for its server: still joined
    gate.open()
    # The gateway reconnects by itself (backoff) and rejoins once.
    bob.wait_for(joins_of("alice", "#r"), 40, "alice's JOIN")
    received_in_order(bob, "#r", texts)
    assert irc_lines(bob, joins_of("alice", "#r")) == []
    self_presence(alice, r)
    assert errors(alice) == []
    gate.close()


def test_resource_gone_meanwhile_is_dropped(gw, joined, client):
    alice, bob, r = joined()
    gw.kill(signal.SIGKILL)
    alice.disconnect()
    gw.start()
    # Its disco#info is answered by the server with an error: out of the room.
    sgtest.wait_until(lambda: memberships(gw) == [], 20, "the membership forgotten")
    bob.wait_for(lambda line: line.startswith(":alice!") and (" PART " in line or " QUIT " in line),
                 20, "alice leaving IRC")


def test_join_overtakes_private_backlog(gw, client, irc_client):
    """200 private messages wait in the throttle; a JOIN goes before them,
    and the private messages keep their order."""
    carol = irc_client("carol")
    bob = irc_client("bob")
    bob.join("#fast")
    alice = client("alice")
    for i in range(200):
        alice.send_message(person("carol"), f"pm {i}")
    carol.wait_privmsg("carol", "pm 0", 15)
    alice.join_muc(room("#fast"), "alice", timeout=15)
    bob.wait_for(joins_of("alice", "#fast"), 5, "alice's JOIN")
    # The join completed while most of the backlog still waits its turn.
    got = [line for line in list(carol.lines) if " PRIVMSG carol " in line]
    assert len(got) < 150, f"{len(got)} private messages went before the JOIN"
    for i in range(1, 8):
        carol.wait_privmsg("carol", f"pm {i}", 15)


def test_room_line_overtakes_private_backlog(joined, irc_client):
    """120 private messages wait in the throttle (3 lines/s on ngIRCd); a
    line to the room takes its turn beside them instead of waiting 40 s,
    and the private messages keep their order."""
    alice, bob, r = joined("#fair")
    carol = irc_client("carol")
    for i in range(120):
        alice.send_message(person("carol"), f"pm {i}")
    carol.wait_privmsg("carol", "pm 0", 15)
    alice.send_message(r, "room line", mtype="groupchat")
    bob.wait_privmsg("#fair", "room line", 8)
    got = [line for line in list(carol.lines) if " PRIVMSG carol " in line]
    assert len(got) < 40, f"{len(got)} private messages went before the room line"
    for i in range(1, 8):
        carol.wait_privmsg("carol", f"pm {i}", 15)


def test_room_usable_after_restart_with_backlog(gw, joined, irc_client):
    """A SIGKILL with 100 private messages still in the throttle (they are
    sent again after the restart): the user's new lines to the room reach
    IRC within seconds, in order, while that backlog drains at the
    throttle's pace."""
    alice, bob, r = joined("#busy")
    carol = irc_client("carol")
    for i in range(100):
        alice.send_message(person("carol"), f"pm {i}")
    carol.wait_privmsg("carol", "pm 0", 15)
    gw.kill(signal.SIGKILL)
    gw.start()
    t0 = time.time()
    alice.send_message(r, "after the restart 1", mtype="groupchat")
    alice.send_message(r, "after the restart 2", mtype="groupchat")
    received_in_order(bob, "#busy", ["after the restart 1", "after the restart 2"], timeout=30)
    took = time.time() - t0
    left = [i for i in range(100) if not any(line.endswith(f":pm {i}") for line in carol.lines)]
    assert len(left) > 10, f"the private backlog was gone already ({len(left)} left): no test"
    assert took < 12, f"the room took {took:.1f}s behind the private backlog"
    # (Prosody refuses the private messages it still had for the killed
    # gateway: never handed over. The room refused nothing.)
    assert [e for e in errors(alice) if e["from"].bare == r] == []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_channel_key_rejoined_with_it(gw, client, irc_client, sig):
    """A channel joined with its key (+k, the join's MUC password) is joined
    again with that key after a restart; the key is stored sealed."""
    bob, alice, r = in_channel(client, irc_client, "#locked", key="sesame")
    sgtest.wait_until(lambda: len(memberships(gw)) == 1, 10, "the membership stored")
    rows = sgtest.store_rows(gw, "SELECT secret, value FROM settings WHERE key = 'key'"
                                 " AND scope = ?", (f"#locked%{SERVER}",))
    assert len(rows) == 1 and rows[0][0] == 1, rows
    assert b"sesame" not in bytes(rows[0][1]) if isinstance(rows[0][1], (bytes, memoryview)) \
        else "sesame" not in str(rows[0][1])
    gw.restart(sig)
    bob.wait_for(joins_of("alice", "#locked"), 15, "alice's JOIN after the restart")
    alice.send_message(r, "back with the key", mtype="groupchat")
    bob.wait_privmsg("#locked", "back with the key", 15)
    assert errors(alice) == []
    # Leaving for good forgets the key.
    alice.leave_muc(r, "alice")
    bob.wait_for(lambda line: line.startswith(":alice!") and " PART #locked" in line, 10,
                 "alice's PART")
    sgtest.wait_until(lambda: sgtest.store_rows(
        gw, "SELECT value FROM settings WHERE key = 'key' AND scope = ?",
        (f"#locked%{SERVER}",)) == [], 10, "the key forgotten")


def saved_occupants(gateway, chan):
    rows = sgtest.store_rows(gateway, "SELECT value FROM settings WHERE key = 'room_occupants'"
                                      " AND scope = ?", (f"{chan}%{SERVER}",))
    return set(str(rows[0][0]).split()) if rows else set()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_occupants_gone_during_downtime_leave(gw, joined, irc_client, sig):
    """carol quits IRC while the gateway is down, dave joins: after the
    rejoin alice's client is told carol left (no ghost) and sees dave;
    bob, still there, does not leave."""
    alice, bob, r = joined("#g")
    carol = irc_client("carol")
    carol.join("#g")
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/carol", 10, "carol in the room")
    if sig == signal.SIGKILL:
        # Saved a moment after the change; a SIGTERM saves at once.
        sgtest.wait_until(lambda: {"alice", "bob", "carol"} <= saved_occupants(gw, "#g"), 10,
                          "the occupants saved")
    gw.kill(sig)
    carol.send("QUIT :bye")
    bob.wait_for(lambda line: line.startswith(":carol!") and " QUIT " in line, 10, "carol's QUIT")
    dave = irc_client("dave")
    dave.join("#g")
    gw.start()
    bob.wait_for(joins_of("alice", "#g"), 15, "alice's JOIN after the restart")
    gone = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/carol"
                                   and p["type"] == "unavailable", 15, "carol's departure")
    assert 110 not in codes(gone)
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/dave" and p["type"] != "unavailable",
                            15, "dave in the room")
    time.sleep(sgtest.scaled(1))
    assert not [p for p in alice.all_stanzas if p.name == "presence" and p["type"] == "unavailable"
                and str(p["from"]) in (f"{r}/bob", f"{r}/alice")]
    sgtest.wait_until(lambda: saved_occupants(gw, "#g") == {"alice", "bob", "dave"}, 10,
                      "the fresh occupants saved")
    assert errors(alice) == []


def test_echo_room_survives_sigkill(make_gateway, client):
    gw = make_gateway()
    alice = client("alice")
    bob = client("bob")
    alice.join_muc(ECHO_ROOM, "alice")
    bob.join_muc(ECHO_ROOM, "bob")
    sgtest.wait_until(lambda: len(memberships(gw)) == 2, 10, "both memberships stored")
    gw.restart(signal.SIGKILL)
    alice.send_message(ECHO_ROOM, "still here", mtype="groupchat")
    bob.wait_for_message(lambda m: m["type"] == "groupchat" and m["body"] == "still here"
                         and str(m["from"]) == f"{ECHO_ROOM}/alice", 15, "alice's line")
    self_presence(alice, ECHO_ROOM)
    bob.ping(f"{ECHO_ROOM}/bob")
    assert errors(alice) == [] and errors(bob) == []
