"""Bounded resources under abuse (issue 11 section 3): a hostile IRC server
or a flood does not take the daemon down, its memory stays bounded (the RSS
growth is asserted against a generous ceiling and printed with
STANZAGATE_BENCH=1), and other users go on being served meanwhile."""

import os

import pytest

import sgtest
from test_irc import GW, irc_extra, room
from test_irc_caps import FakeIrcd

ECHO = "echo.localhost"


def bench(text):
    if os.environ.get("STANZAGATE_BENCH") == "1":
        print(f"\n{text}")


@pytest.fixture
def fake():
    f = FakeIrcd()
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
    assert rss1 - rss0 < 8 * 1024, (rss0, rss1)
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
    assert max(peak, rss1) - rss0 < 64 * 1024, (rss0, peak, rss1)
    assert gw.running()
