"""Bounded resources under abuse (issue 11 section 3): a hostile IRC server
or a flood does not take the daemon down, its memory stays bounded (the RSS
growth is asserted against a generous ceiling and printed with
STANZAGATE_BENCH=1), and other users go on being served meanwhile."""

import os
import signal

import pytest

import sgtest
from test_irc import GW, SERVER, irc_extra, room
from test_irc_caps import FakeIrcd

ECHO = "echo.localhost"


def assert_rss_bounded(before, after, growth_kb):
    """The daemon's RSS grew by less than growth_kb. Not checked on a
    sanitized build (scripts/test-asan.sh --all): ASan's quarantine and
    shadow memory keep what a plain build gives back."""
    if not _sanitized():
        assert after - before < growth_kb, (before, after)


def _sanitized():
    try:
        with open(sgtest.gateway_binary(), "rb") as f:
            return b"AddressSanitizer" in f.read()
    except OSError:
        return False


def bench(text):
    if os.environ.get("STANZAGATE_BENCH") == "1":
        print(f"\n{text}")


class HostileIrcd(FakeIrcd):
    """A FakeIrcd whose NAMES has `names` nicks more (then its end), whose
    ban list has `bans` masks, and whose LIST has `channels` channels and
    never ends (no 323)."""

    names = 0
    channels = 0
    topic = "topic"
    list_end = False
    bans = 0

    def _line(self, line):
        words = line.split(" ")
        if words[0] == "JOIN" and self.names:
            chan = words[1]
            out = [f":alice!a@h JOIN {chan}"]
            for i in range(0, self.names, 50):
                nicks = " ".join(f"n{j}" for j in range(i, min(i + 50, self.names)))
                out.append(f":fake 353 alice = {chan} :{nicks}")
            out.append(f":fake 366 alice {chan} :End of NAMES")
            self.send_raw(("\r\n".join(out) + "\r\n").encode())
        elif line.startswith("MODE #") and line.endswith(" +b") and self.bans:
            chan = words[1]
            out = [f":fake 367 alice {chan} b{i}!*@* op 1" for i in range(self.bans)]
            out.append(f":fake 368 alice {chan} :End of channel ban list")
            self.send_raw(("\r\n".join(out) + "\r\n").encode())
        elif words[0] == "LIST" and self.channels:
            out = [f":fake 322 alice #c{i} 3 :{self.topic} {i}" for i in range(self.channels)]
            if self.list_end:
                out.append(":fake 323 alice :End of LIST")
            self.send_raw(("\r\n".join(out) + "\r\n").encode())
        else:
            super()._line(line)


@pytest.fixture
def fake():
    f = HostileIrcd()  # a plain FakeIrcd until a test sets names or channels
    yield f
    f.close()


@pytest.fixture
def gw(make_gateway, fake):
    return make_gateway(backends=(GW, ECHO), extra=irc_extra(fake))


def echo_still_answers(client, body):
    """Another user of the daemon is still served: the echo network answers."""
    m = client.send_message_and_wait(f"someone@{ECHO}", body, timeout=20)
    assert m["body"] == body, m


def test_irc_line_that_never_ends(gw, fake, client):
    """The server sends 8 MiB without CRLF: the gateway gives up on that
    connection once 64 KiB are buffered (the user is told, as for any lost
    connection), its memory does not follow the server's bytes, and the
    echo network goes on answering."""
    alice = client("alice")
    alice.join_muc(room("#endless"), "alice")
    rss0 = sgtest.rss_kb(gw.proc.pid)
    chunk = b"x" * 65536
    try:
        for _ in range(128):
            fake.send_raw(chunk)
    except OSError:
        pass  # the gateway closed the connection while we were still sending
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{room('#endless')}/alice"
                                and p["type"] == "unavailable", 20, "the loss, told")
    assert "never ends" in (p["status"] or "") or "never ends" in gw.log, p
    rss1 = sgtest.rss_kb(gw.proc.pid)
    bench(f"8 MiB line without CRLF: RSS {rss0} kB -> {rss1} kB")
    assert_rss_bounded(rss0, rss1, 8 * 1024)
    echo_still_answers(client("bob"), "still here")
    assert gw.running()


def test_irc_channel_flood(gw, fake, client):
    """The server floods a channel with 20 000 lines ($STANZAGATE_FLOOD_N)
    at once: every one reaches the user, in order, the daemon's memory stays
    bounded, and another user's echo is answered while the flood goes on."""
    n = int(os.environ.get("STANZAGATE_FLOOD_N", "20000"))
    alice = client("alice")
    alice.join_muc(room("#flood"), "alice")
    bob = client("bob")
    rss0 = sgtest.rss_kb(gw.proc.pid)
    lines = [f":op!o@h PRIVMSG #flood :flood {i}" for i in range(n)]
    fake.send_raw(("\r\n".join(lines) + "\r\n").encode())
    echo_still_answers(bob, "during the flood")
    peak = sgtest.rss_kb(gw.proc.pid)
    last = alice.wait_for_message(lambda m: m["type"] == "groupchat" and
                                  m["body"] == f"flood {n - 1}", max(60, n / 200),
                                  "the flood's last line")
    got = [int(m["body"].split()[1]) for m in list(alice.messages) + [last]
           if m["type"] == "groupchat" and (m["body"] or "").startswith("flood ")]
    assert got == list(range(n)), (len(got), got[:5])
    rss1 = sgtest.rss_kb(gw.proc.pid)
    bench(f"{n} flood lines: RSS {rss0} kB -> {peak} kB (during) -> {rss1} kB (after)")
    assert_rss_bounded(rss0, max(peak, rss1), 64 * 1024)
    assert gw.running()


def queued_to_net(gateway, user):
    return sgtest.store_rows(gateway, "SELECT count(*) FROM queue WHERE dir = 0 AND jid = ?",
                             (user,))[0][0]


def errors_from(client, jid):
    """The error messages from jid that client received so far (kept)."""
    return [m for m in list(client.messages) if m["type"] == "error" and m["from"].bare == jid]


def test_flood_to_a_network_that_is_down_is_capped_per_user(make_gateway, fast_ngircd, client):
    """A user floods an IRC server that is down with 3 000 messages
    ($STANZAGATE_QUEUE_FLOOD_N): the first queue_max_per_user (200 here) wait
    and reach IRC in order once it is back; every later one is answered with
    resource-constraint saying why, none silently dropped; the daemon's
    memory stays bounded, and another user still queues her own message and
    has her echo answered."""
    n, cap = int(os.environ.get("STANZAGATE_QUEUE_FLOOD_N", "3000")), 200
    fast_ngircd.stop()
    g = make_gateway(backends=(GW, ECHO), extra={"irc": {
        "ports": str(fast_ngircd.port), "tls_ports": "", "throttle_burst": "0",
        "throttle_byte_burst": "0", "queue_max_per_user": str(cap)}})
    bob = f"bob%{SERVER}@{GW}"
    alice = client("alice")
    rss0 = sgtest.rss_kb(g.proc.pid)
    ids = [alice.send_message(bob, f"flood {i}") for i in range(n)]
    sgtest.wait_until(lambda: len(errors_from(alice, bob)) >= n - cap, max(30, n / 100),
                      f"{n - cap} refusals")
    errors = errors_from(alice, bob)
    assert [m["id"] for m in errors] == ids[cap:]
    assert {m["error"]["condition"] for m in errors} == {"resource-constraint"}
    assert f"{cap} of your messages are already waiting" in errors[0]["error"]["text"]
    assert queued_to_net(g, "alice@localhost") == cap
    rss1 = sgtest.rss_kb(g.proc.pid)
    bench(f"{n} messages to a network that is down, {cap} kept: RSS {rss0} kB -> {rss1} kB")
    assert_rss_bounded(rss0, rss1, 32 * 1024)

    # Another user is served: her own message waits, her echo is answered.
    carol = client("carol")
    carol.send_message(bob, "carol's own")
    sgtest.wait_until(lambda: queued_to_net(g, "carol@localhost") == 1, 10, "carol's message kept")
    echo_still_answers(carol, "still served")
    assert not errors_from(carol, bob)

    # The server is back: what was kept goes, in order, once. The gateway
    # waits until bob is on IRC, or its retry could find no such nick.
    g.proc.send_signal(signal.SIGSTOP)
    try:
        fast_ngircd.start()
        irc_bob = sgtest.IrcClient(fast_ngircd.port, "bob")
    finally:
        g.proc.send_signal(signal.SIGCONT)
    try:
        irc_bob.sock.settimeout(None)

        def privmsgs():
            return [l.split(" :", 1)[1] for l in list(irc_bob.lines)
                    if " PRIVMSG bob :" in l and l.startswith(":alice")]
        # The gateway retries with backoff; generous, as it may be mid-wait.
        sgtest.wait_until(lambda: len(privmsgs()) >= cap, 120, f"the {cap} kept messages on IRC")
        assert privmsgs()[:cap] == [f"flood {i}" for i in range(cap)]
        irc_bob.wait_privmsg("bob", "carol's own", timeout=60)
        sgtest.wait_until(lambda: queued_to_net(g, "alice@localhost") == 0, 30, "the queue empty")
        assert len(privmsgs()) == cap
    finally:
        irc_bob.close()
    assert g.running()


IRCD_MEMBERS_MAX = 20000  # backends/irc/ircdrv.h
IRCD_LIST_MAX = 100000
IRCD_BANS_MAX = 1000


def test_irc_names_longer_than_the_cap(gw, fake, client):
    """A channel's NAMES lists 30 000 nicks ($STANZAGATE_NAMES_N): the user
    joins and sees the first 20 000 members (the rest logged, not kept), the
    daemon's memory stays bounded and the echo network goes on answering."""
    fake.names = int(os.environ.get("STANZAGATE_NAMES_N", "30000"))
    alice = client("alice")
    rss0 = sgtest.rss_kb(gw.proc.pid)
    # Not join_muc(): its wait scans every presence at each one that comes.
    alice._send_muc_join(room("#huge"), "alice")
    me = f"{room('#huge')}/alice"
    sgtest.wait_until(lambda: any(str(p["from"]) == me and p["type"] != "unavailable"
                                  for p in list(alice.presences)), 120, "the self-presence",
                      interval=0.5)
    shown = {str(p["from"]) for p in list(alice.presences)
             if p["from"].bare == room("#huge") and p["type"] == "available"} - {me}
    rss1 = sgtest.rss_kb(gw.proc.pid)
    bench(f"NAMES of {fake.names} nicks: {len(shown)} occupants shown; "
          f"RSS {rss0} kB -> {rss1} kB")
    # The user is one of the members.
    assert len(shown) == min(fake.names, IRCD_MEMBERS_MAX - 1), len(shown)
    assert (f"more than {IRCD_MEMBERS_MAX} members" in gw.log) == \
        (fake.names >= IRCD_MEMBERS_MAX)
    assert_rss_bounded(rss0, rss1, 64 * 1024)
    echo_still_answers(client("bob"), "still here")
    assert gw.running()


def test_irc_list_that_never_ends(gw, fake, client):
    """The server's LIST goes on (120 000 channels, $STANZAGATE_LIST_N) and
    never ends: disco#items on the server JID is answered with the first
    100 000 (a page, its count saying how many), memory stays bounded, and
    the echo network goes on answering."""
    fake.channels = int(os.environ.get("STANZAGATE_LIST_N", "120000"))
    alice = client("alice")
    rss0 = sgtest.rss_kb(gw.proc.pid)
    r = alice.iq(f"{SERVER}@{GW}", '<query xmlns="http://jabber.org/protocol/disco#items"/>',
                 "get", timeout=60)
    q = r.xml.find("{http://jabber.org/protocol/disco#items}query")
    items = q.findall("{http://jabber.org/protocol/disco#items}item")
    count = q.find("{http://jabber.org/protocol/rsm}set/{http://jabber.org/protocol/rsm}count")
    rss1 = sgtest.rss_kb(gw.proc.pid)
    bench(f"LIST of {fake.channels} channels without an end: {count.text} kept, "
          f"{len(items)} in the first page; RSS {rss0} kB -> {rss1} kB")
    assert int(count.text) == min(fake.channels, IRCD_LIST_MAX)
    assert items and items[0].get("jid") == room("#c0")
    assert_rss_bounded(rss0, rss1, 64 * 1024)
    echo_still_answers(client("bob"), "still here")
    assert gw.running()


def test_ten_thousand_adhoc_requests(gw, client):
    """A client sends 10 000 ad-hoc command requests at once
    ($STANZAGATE_ADHOC_N), each opening a session: every one is answered,
    only the user's 16 newest sessions are kept (the first one is expired,
    the last one goes on), memory stays bounded, another user is served."""
    from slixmpp.exceptions import IqError
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath
    n = int(os.environ.get("STANZAGATE_ADHOC_N", "10000"))
    alice = client("alice")
    answers = {}

    def on_iq(iq):
        if iq["id"].startswith("flood-"):
            answers[iq["id"]] = iq
    alice.loop.call(alice.xmpp.register_handler,
                    Callback("sgtest-flood-iqs", MatchXPath("{jabber:client}iq"), on_iq))
    rss0 = sgtest.rss_kb(gw.proc.pid)
    cmd = ('<iq type="set" to="{to}" id="flood-{i}"><command '
           'xmlns="http://jabber.org/protocol/commands" node="register" action="execute"/></iq>')
    for start in range(0, n, 500):
        alice.send_raw("".join(cmd.format(to=ECHO, i=i) for i in range(start, min(start + 500, n))))
    sgtest.wait_until(lambda: len(answers) == n, max(60, n / 100), f"{n} answers")
    rss1 = sgtest.rss_kb(gw.proc.pid)
    bench(f"{n} ad-hoc requests: RSS {rss0} kB -> {rss1} kB")
    assert {a["type"] for a in answers.values()} == {"result"}
    C = "{http://jabber.org/protocol/commands}command"
    first, last = (answers[f"flood-{i}"].xml.find(C).get("sessionid") for i in (0, n - 1))

    def next_stage(sid):
        q = ('<command xmlns="http://jabber.org/protocol/commands" node="register" '
             f'action="cancel" sessionid="{sid}"/>')
        return alice.iq(ECHO, q, "set")
    with pytest.raises(IqError) as e:
        next_stage(first)
    # session-expired while its id is remembered (the last 64), then bad-sessionid.
    assert e.value.iq["error"]["condition"] in ("not-allowed", "bad-request"), e.value.iq
    assert next_stage(last)["type"] == "result"
    assert_rss_bounded(rss0, rss1, 16 * 1024)
    echo_still_answers(client("bob"), "still here")
    assert gw.running()


def test_ten_megabyte_stanza_from_a_client(gw, client):
    """A client sends a 10 MB message to the gateway: Prosody's own limit
    (c2s_stanza_size_limit, 256 KiB) stops it first, closing the sender's
    stream (what she sees); nothing of it reaches the gateway, whose memory
    does not move. One under Prosody's limit but over the gateway's 64 KiB
    is refused with not-acceptable saying so. Another user is served."""
    alice = client("alice")
    rss0 = sgtest.rss_kb(gw.proc.pid)
    alice.send_raw(f'<message to="someone@{ECHO}" type="chat" id="huge">'
                   f'<body>{"x" * (10 * 1024 * 1024)}</body></message>')
    sgtest.wait_until(lambda: not alice.connected, 60, "alice's stream closed by her server")
    rss1 = sgtest.rss_kb(gw.proc.pid)
    bench(f"10 MB stanza: RSS {rss0} kB -> {rss1} kB")
    assert_rss_bounded(rss0, rss1, 4 * 1024)
    assert sgtest.store_rows(gw, "SELECT count(*) FROM queue")[0][0] == 0

    carol = client("carol")
    m = carol.send_message_and_wait(f"someone@{ECHO}", "y" * (200 * 1024), timeout=20)
    assert m["type"] == "error" and m["error"]["condition"] == "not-acceptable", m
    assert "too long" in m["error"]["text"]
    echo_still_answers(client("bob"), "still here")
    assert gw.running()


class RawComponent:
    """A bare XEP-0114 component on the test Prosody (one of the declared
    components the gateway does not use), to send stanzas from many JIDs of
    its domain at once, as 500 users would."""

    def __init__(self, prosody, host):
        import hashlib
        import re
        import socket
        self.sock = socket.create_connection(("127.0.0.1", prosody.component_port), timeout=30)
        self.sock.sendall(f"<stream:stream xmlns='jabber:component:accept' xmlns:stream="
                          f"'http://etherx.jabber.org/streams' to='{host}'>".encode())
        self.data = b""
        while (m := re.search(rb"\bid=['\"]([^'\"]+)['\"]", self.data)) is None:
            self.data += self.sock.recv(65536)
        digest = hashlib.sha1(m.group(1) + prosody.components[host].encode()).hexdigest()
        self.sock.sendall(f"<handshake>{digest}</handshake>".encode())
        while b"<handshake/>" not in self.data:
            self.data += self.sock.recv(65536)

    def read_until(self, predicate, timeout):
        import time as t
        deadline = t.monotonic() + sgtest.scaled(timeout)
        while not predicate(self.data):
            if t.monotonic() > deadline:
                raise AssertionError("component: timed out; last bytes:\n"
                                     + self.data[-2000:].decode(errors="replace"))
            self.data += self.sock.recv(1 << 20)

    def close(self):
        self.sock.close()


def test_five_hundred_registrations_within_a_second(make_gateway, prosody, client):
    """500 users register with the gateway at once ($STANZAGATE_REG_N): every
    registration is answered and stored, memory stays bounded, and another
    user is served meanwhile."""
    import re
    import time as t
    n = int(os.environ.get("STANZAGATE_REG_N", "500"))
    dom = "sms.localhost"  # a declared component this gateway does not use
    g = make_gateway(backends=(ECHO,), extra={"xmpp": {"allowed_domains": f"localhost {dom}"}})
    comp = RawComponent(prosody, dom)
    try:
        bob = client("bob")
        rss0 = sgtest.rss_kb(g.proc.pid)
        t0 = t.monotonic()
        comp.sock.sendall("".join(
            f"<iq type='set' from='u{i}@{dom}/r' to='{ECHO}' id='reg-{i}'>"
            f"<query xmlns='jabber:iq:register'><nick>u{i}</nick></query></iq>"
            for i in range(n)).encode())
        sent = t.monotonic() - t0
        echo_still_answers(bob, "served during the registrations")

        def results(data):
            return set(re.findall(rb"<iq[^>]*\bid=['\"]reg-(\d+)['\"][^>]*type=['\"]result",
                                  data)) | set(re.findall(
                rb"<iq[^>]*\btype=['\"]result['\"][^>]*\bid=['\"]reg-(\d+)", data))
        comp.read_until(lambda d: len(results(d)) == n, max(60, n / 10))
        took = t.monotonic() - t0
        errors = [e for e in re.findall(rb"<iq[^>]*\btype=['\"]error[^>]*>", comp.data)
                  if b"reg-" in e]
        assert not errors, errors[:3]
        stored = sgtest.store_rows(g, "SELECT count(*) FROM users WHERE net = 'echo' "
                                   "AND jid LIKE ?", (f"%@{dom}",))[0][0]
        rss1 = sgtest.rss_kb(g.proc.pid)
        bench(f"{n} registrations sent in {sent:.2f} s, all answered in {took:.1f} s: "
              f"RSS {rss0} kB -> {rss1} kB")
        assert sent < 1.0, sent
        assert stored == n
        assert_rss_bounded(rss0, rss1, 32 * 1024)
        echo_still_answers(bob, "served after the registrations")
    finally:
        comp.close()
    assert g.running()


def test_message_read_with_a_registration_is_echoed(make_gateway, prosody):
    """A message read in the same loop turn as another user's registration
    (which writes the turn's messages to the store at once, to answer only
    once they are durable) is still handed to the network: it waited for
    some later scan, for ever on a quiet gateway, before."""
    dom = "sms.localhost"
    make_gateway(backends=(ECHO,), extra={"xmpp": {"allowed_domains": f"localhost {dom}"}})
    comp = RawComponent(prosody, dom)
    try:
        # One write: the message first, then the registration that flushes it.
        comp.sock.sendall(
            f"<message type='chat' from='u1@{dom}/r' to='someone@{ECHO}' id='m1'>"
            f"<body>read with a registration</body></message>"
            f"<iq type='set' from='u0@{dom}/r' to='{ECHO}' id='reg-0'>"
            f"<query xmlns='jabber:iq:register'><nick>u0</nick></query></iq>".encode())
        comp.read_until(lambda d: b"read with a registration</body>" in d, 15)
    finally:
        comp.close()


def test_irc_ban_list_longer_than_the_cap(gw, fake, client):
    """A channel's ban list has 15 000 masks ($STANZAGATE_BANS_N): the
    outcast list is answered with the first 1 000 (servers allow a few
    hundred), memory stays bounded, the gateway's link stays up (a list of
    them all was a stanza the XMPP server refused, closing the link) and
    the echo network goes on answering."""
    fake.bans = int(os.environ.get("STANZAGATE_BANS_N", "15000"))
    alice = client("alice")
    alice.join_muc(room("#banned"), "alice")
    rss0 = sgtest.rss_kb(gw.proc.pid)
    r = alice.iq(room("#banned"), '<query xmlns="http://jabber.org/protocol/muc#admin">'
                 '<item affiliation="outcast"/></query>', "get", timeout=60)
    items = r.xml.findall("{http://jabber.org/protocol/muc#admin}query/"
                          "{http://jabber.org/protocol/muc#admin}item")
    rss1 = sgtest.rss_kb(gw.proc.pid)
    bench(f"ban list of {fake.bans} masks: {len(items)} kept; RSS {rss0} kB -> {rss1} kB")
    assert len(items) == min(fake.bans, IRCD_BANS_MAX)
    assert_rss_bounded(rss0, rss1, 32 * 1024)
    echo_still_answers(client("bob"), "still here")
    assert gw.running()


def test_irc_list_of_long_topics_comes_in_pages(gw, fake, client):
    """A LIST of 2 000 channels with 470-byte topics (a 512-byte line): a
    first page of 1 000 was a stanza bigger than the XMPP server takes from
    a component (Prosody closed the link: every user of the gateway cut off,
    the answer lost). The page is cut by size instead, its <set/> counting
    them all, and the link stays up."""
    fake.channels, fake.topic, fake.list_end = 2000, "t" * 470, True
    alice = client("alice")
    before = gw.prosody.component_auth_count(GW)
    r = alice.iq(f"{SERVER}@{GW}", '<query xmlns="http://jabber.org/protocol/disco#items"/>',
                 "get", timeout=60)
    q = r.xml.find("{http://jabber.org/protocol/disco#items}query")
    items = q.findall("{http://jabber.org/protocol/disco#items}item")
    rsm = "{http://jabber.org/protocol/rsm}"
    assert int(q.find(f"{rsm}set/{rsm}count").text) == 2000
    assert 0 < len(items) < 1000, len(items)
    # The next page follows from the last item of this one.
    nxt = alice.iq(f"{SERVER}@{GW}", '<query xmlns="http://jabber.org/protocol/disco#items">'
                   f'<set xmlns="http://jabber.org/protocol/rsm"><after>{items[-1].get("jid")}'
                   '</after></set></query>', "get", timeout=60)
    more = nxt.xml.findall("{http://jabber.org/protocol/disco#items}query/"
                           "{http://jabber.org/protocol/disco#items}item")
    assert more and more[0].get("jid") == room(f"#c{len(items)}")
    assert gw.prosody.component_auth_count(GW) == before
    assert "connection lost" not in gw.log
