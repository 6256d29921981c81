"""Throughput through the IRC gateway, one user in one channel, throttling
off on both sides (gateway throttle 0, ngircd MaxPenaltyTime = 0).
Run with STANZAGATE_BENCH=1; prints messages/s and the gateway's CPU time
per message (user+system, from /proc)."""

import os
import time

import pytest

import sgtest

GW = "irc.localhost"
N = int(os.environ.get("STANZAGATE_BENCH_N", "2000"))
pytestmark = pytest.mark.skipif(os.environ.get("STANZAGATE_BENCH") != "1",
                                reason="benchmark: STANZAGATE_BENCH=1")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_bench_one_user(make_gateway, fast_ngircd, client):
    g = make_gateway(backends=(GW,), extra={"irc": {
        "ports": str(fast_ngircd.port), "tls_ports": "", "throttle_burst": "0",
        "throttle_byte_burst": "0"}}, args=("-d",))
    bob = sgtest.IrcClient(fast_ngircd.port, "bob")
    bob.sock.settimeout(None)
    bob.send("PING :x")
    bob.wait_for(lambda l: "PONG" in l, 10, "PONG")
    bob.join("#bench")
    alice = client("alice")
    room = f"#bench%127.0.0.1@{GW}"
    alice.join_muc(room, "alice")
    pid = g.proc.pid

    # IRC -> XMPP
    got = []
    c0, t0 = cpu_seconds(pid), time.monotonic()
    for i in range(N):
        bob.send(f"PRIVMSG #bench :in {i}")
    sgtest.wait_until(lambda: sum(1 for m in list(alice.messages)
                                  if (m["body"] or "").startswith("in ")) >= N, 120, "all in")
    t_in, c_in = time.monotonic() - t0, cpu_seconds(pid) - c0

    # XMPP -> IRC
    c0, t0 = cpu_seconds(pid), time.monotonic()
    for i in range(N):
        alice.send_message(room, f"out {i}", mtype="groupchat")
    sgtest.wait_until(lambda: sum(1 for l in list(bob.lines) if " PRIVMSG #bench :out " in l) >= N,
                      120, "all out")
    t_out, c_out = time.monotonic() - t0, cpu_seconds(pid) - c0
    print(f"\nIRC->XMPP: {N} msgs in {t_in:.2f} s = {N / t_in:.0f} msg/s, "
          f"gateway CPU {1e6 * c_in / N:.0f} us/msg")
    print(f"XMPP->IRC: {N} msgs in {t_out:.2f} s = {N / t_out:.0f} msg/s, "
          f"gateway CPU {1e6 * c_out / N:.0f} us/msg")
    bob.close()
