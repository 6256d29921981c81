"""Email gateway benchmarks, on one machine, through a real Dovecot and
SMTP submission server (tests/integration/mailservers.py):

  1. new-mail latency: one mail at a time delivered by LMTP, timed until
     the XMPP message reaches the client (median, p90, p99);
  2. mail -> XMPP throughput: a burst of mails by LMTP, mails/s and the
     gateway's CPU time per mail;
  3. XMPP -> mail throughput: a burst of chat messages, timed until every
     receipt (the SMTP server's 250), msgs/s and gateway CPU per mail;
  4. idle accounts: N registered accounts holding their IMAP IDLE
     connection: RSS per account beyond the base, CPU over 10 s idle.

    bench/run.sh email [--latency 50] [--burst 200] [--accounts 100]
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import benchlib
import mailservers
import sgtest

MAIL = "mail.localhost"


def raw(i, to):
    return (f"From: bench@example.net\r\nTo: {to}\r\nSubject: bench {i}\r\n"
            f"Message-ID: <bench-{i}-{time.time_ns()}@example.net>\r\n\r\n"
            f"mail number {i}\r\n").encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=int, default=50)
    ap.add_argument("--burst", type=int, default=200)
    ap.add_argument("--accounts", type=int, default=100)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sg-bench-email-"))
    n_acc = a.accounts
    accounts = {f"u{i}": f"pw{i}" for i in range(n_acc)}
    accounts.update({"alice": "alice-pw", "bob": "bob-pw"})
    prosody = sgtest.Prosody(work / "prosody", accounts=accounts,
                             components={MAIL: sgtest.COMPONENTS[MAIL]},
                             extra_config=benchlib.prosody_info_log(work / "prosody"))
    ms = mailservers.MailServers(work / "mail")
    for u, p in accounts.items():
        ms.add_user(u, p)
    lt = sgtest.LoopThread()
    gw = None
    try:
        prosody.start()
        ms.start()
        gw = sgtest.Gateway(work / "gw", prosody, backends=(MAIL,), args=("-d",), extra={
            "email": {"imap": ms.imaps_url, "smtp": ms.smtp_url, "ca_file": str(ms.ca_file)}})
        gw.start()
        pid = gw.proc.pid
        alice = sgtest.Client(lt, prosody, "alice")
        alice.connect()
        alice.register(MAIL, {"email": "alice@localhost", "password": "alice-pw"}, timeout=40)
        bob = sgtest.Client(lt, prosody, "bob")
        bob.connect()
        bob.register(MAIL, {"email": "bob@localhost", "password": "bob-pw"}, timeout=40)
        time.sleep(1)

        # 1. latency
        lat = []
        for i in range(a.latency):
            t0 = time.monotonic()
            ms.deliver("alice", raw(i, "alice@localhost"))
            alice.wait_for_message(lambda m: m["body"] and f"mail number {i}" in m["body"], 30)
            lat.append((time.monotonic() - t0) * 1000)
        lat.sort()
        print(f"new-mail latency (LMTP delivery -> XMPP message), {a.latency} mails one at a "
              f"time: median {statistics.median(lat):.1f} ms, "
              f"p90 {lat[int(len(lat) * 0.9) - 1]:.1f} ms, p99 {lat[int(len(lat) * 0.99) - 1]:.1f}"
              f" ms, max {lat[-1]:.1f} ms")

        # 2. mail -> XMPP burst
        c0 = benchlib.cpu_seconds(pid)
        t0 = time.monotonic()
        for i in range(a.burst):
            ms.deliver("alice", raw(10000 + i, "alice@localhost"))
        got = 0
        while got < a.burst:
            alice.wait_for_message(lambda m: m["body"] and "mail number 1" in m["body"], 60)
            got += 1
        dt = time.monotonic() - t0
        cpu = benchlib.cpu_seconds(pid) - c0
        print(f"mail -> XMPP: {a.burst} mails in {dt:.2f} s = {a.burst / dt:.0f} mails/s "
              f"(LMTP delivery included); gateway CPU {cpu * 1e6 / a.burst:.0f} us/mail")

        # 3. XMPP -> mail burst
        c0 = benchlib.cpu_seconds(pid)
        t0 = time.monotonic()
        for i in range(a.burst):
            alice.send_raw(f'<message to="bob\\40localhost@{MAIL}" type="chat" id="b{i}">'
                           f'<body>outgoing {i}</body><request xmlns="urn:xmpp:receipts"/>'
                           '</message>')
        for i in range(a.burst):
            alice.wait_for_message(
                lambda m: m.xml.find("{urn:xmpp:receipts}received") is not None, 120)
        dt = time.monotonic() - t0
        cpu = benchlib.cpu_seconds(pid) - c0
        print(f"XMPP -> mail: {a.burst} mails accepted by SMTP in {dt:.2f} s = "
              f"{a.burst / dt:.0f} mails/s; gateway CPU {cpu * 1e6 / a.burst:.0f} us/mail "
              "(a new SMTP connection with STARTTLS and AUTH per mail, and the Sent APPEND)")
        alice.disconnect()
        bob.disconnect()

        # 4. idle accounts
        base = benchlib.proc_status(pid, "VmRSS")
        for i in range(n_acc):
            c = sgtest.Client(lt, prosody, f"u{i}")
            c.connect()
            c.register(MAIL, {"email": f"u{i}@localhost", "password": f"pw{i}"}, timeout=40)
            c.disconnect()
        sgtest.wait_until(lambda: gw.log.count("INBOX UIDVALIDITY") >= n_acc + 2, 120,
                          "every account's INBOX watched")
        time.sleep(3)
        rss = benchlib.proc_status(pid, "VmRSS")
        c0 = benchlib.cpu_seconds(pid)
        time.sleep(10)
        idle_cpu = benchlib.cpu_seconds(pid) - c0
        print(f"idle: {n_acc} more accounts in IDLE: RSS {base:.1f} -> {rss:.1f} MiB = "
              f"{(rss - base) * 1024 / n_acc:.1f} KiB per account; CPU over 10 s idle "
              f"{idle_cpu * 1000:.0f} ms")
    finally:
        if gw:
            gw.stop()
        ms.cleanup()
        prosody.stop()
        lt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
