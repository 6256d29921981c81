"""Email gateway benchmarks, on one machine, through a real Dovecot and
SMTP submission server (tests/integration/mailservers.py):

  1. new-mail latency: one mail at a time delivered by LMTP, timed until
     the XMPP message reaches the client (median, p90, p99);
  2. mail -> XMPP throughput: a burst of mails by LMTP, mails/s and the
     gateway's CPU time per mail;
  3. XMPP -> mail throughput: a burst of chat messages, timed until every
     receipt (the SMTP server's 250), msgs/s and gateway CPU per mail;
  4. idle accounts: N registered accounts holding their IMAP IDLE
     connection: RSS per account beyond the base, CPU over --idle-time
     seconds idle;
  5. login: the gateway restarted with those N + 2 accounts: time until
     every INBOX is watched (TLS, LOGIN, CAPABILITY, SELECT, IDLE), then
     RSS and idle CPU of that fresh process.

    bench/run.sh email [--latency 50] [--burst 200] [--accounts 100] [--idle-time 60]

--latency 0 --burst 0 skips phases 1-3. With many accounts the private
Dovecot runs its login processes shared (MailServers(shared_login=True)):
one imap-login process per TLS connection would double its processes.
"""

import argparse
import concurrent.futures
import re
import resource
import shutil
import statistics
import sys
import tempfile
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
    ap.add_argument("--idle-time", type=int, default=60,
                    help="seconds over which idle CPU is measured (default 60)")
    ap.add_argument("--parallel", type=int, default=8,
                    help="registrations in flight at once (default 8)")
    a = ap.parse_args()
    benchlib.hard_limit(900 + a.accounts + 3 * a.idle_time)
    # One descriptor per IMAP connection, in the gateway and in Dovecot (inherited).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    work = Path(tempfile.mkdtemp(prefix="sg-bench-email-"))
    n_acc = a.accounts
    accounts = {f"u{i}": f"pw{i}" for i in range(n_acc)}
    accounts.update({"alice": "alice-pw", "bob": "bob-pw", "admin": "admin-pw"})
    prosody = sgtest.Prosody(work / "prosody", accounts=accounts,
                             components={MAIL: sgtest.COMPONENTS[MAIL]},
                             extra_config=benchlib.prosody_info_log(work / "prosody"))
    ms = mailservers.MailServers(work / "mail", shared_login=n_acc > 100)
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
        time.sleep(1)
        rss0 = memory(pid)  # a fresh process, no account
        alice = sgtest.Client(lt, prosody, "alice")
        alice.connect()
        alice.register(MAIL, {"email": "alice@localhost", "password": "alice-pw"}, timeout=40)
        bob = sgtest.Client(lt, prosody, "bob")
        bob.connect()
        bob.register(MAIL, {"email": "bob@localhost", "password": "bob-pw"}, timeout=40)
        time.sleep(1)

        if a.latency > 0:
            latency(a, ms, alice)
        if a.burst > 0:
            bursts(a, ms, alice, pid)
        alice.disconnect()
        bob.disconnect()
        admin = sgtest.Client(lt, prosody, "admin")
        admin.connect()

        # 4. idle accounts
        base = memory(pid)
        t0 = time.monotonic()

        def reg(i):
            c = sgtest.Client(lt, prosody, f"u{i}")
            c.connect()
            c.register(MAIL, {"email": f"u{i}@localhost", "password": f"pw{i}"}, timeout=120)
            c.disconnect()
        with concurrent.futures.ThreadPoolExecutor(a.parallel) as pool:
            list(pool.map(reg, range(n_acc)))
        watching(admin, n_acc + 2, 300)
        dt = time.monotonic() - t0
        print(f"registration: {n_acc} accounts ({a.parallel} at a time, each verified by an IMAP "
              f"and an SMTP login) in {dt:.1f} s, until every INBOX is watched")
        time.sleep(3)
        idle(f"{n_acc} more accounts in IDLE", pid, base, n_acc, a.idle_time)

        # 5. login: a fresh process with every account
        gw.stop()
        t0 = time.monotonic()
        gw.start(timeout=60)
        pid = gw.proc.pid
        watching(admin, n_acc + 2, 300)
        dt = time.monotonic() - t0
        print(f"login: {n_acc + 2} accounts, from the gateway's start until every INBOX is "
              f"watched: {dt:.1f} s ({(n_acc + 2) / dt:.0f} accounts/s)")
        time.sleep(3)
        idle(f"after a restart, {n_acc + 2} accounts in IDLE (base: a fresh process without "
             "accounts)", pid, rss0, n_acc + 2, a.idle_time)
        admin.disconnect()
    except BaseException:
        # What the servers said: a limit of the private Dovecot shows here.
        print("\n".join(l for l in ms.log.splitlines()
                        if any(w in l for w in ("Error", "Fatal", "Warning")))[-4000:])
        raise
    finally:
        if gw:
            gw.stop()
        ms.cleanup()
        prosody.stop()
        lt.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def watching(admin, n, timeout):
    """Waits until the admin's stats say n accounts watch their INBOX (IDLE or polling)."""
    def ok():
        m = admin.send_message_and_wait(MAIL, "stats", timeout=30)
        got = re.search(r"\((\d+) watching the INBOX", m["body"] or "")
        return got and int(got.group(1)) >= n
    sgtest.wait_until(ok, timeout, f"{n} INBOXes watched", interval=1)


def idle(what, pid, base, n, seconds):
    """RSS, and its anonymous part (heap: no library pages), per account beyond base."""
    rss = benchlib.proc_status(pid, "VmRSS")
    anon = benchlib.proc_status(pid, "RssAnon")
    c0 = benchlib.cpu_seconds(pid)
    time.sleep(seconds)
    cpu = benchlib.cpu_seconds(pid) - c0
    print(f"idle: {what}: RSS {base[0]:.1f} -> {rss:.1f} MiB = "
          f"{(rss - base[0]) * 1024 / n:.1f} KiB per account (anonymous {base[1]:.1f} -> "
          f"{anon:.1f} MiB = {(anon - base[1]) * 1024 / n:.1f} KiB); CPU over {seconds} s idle "
          f"{cpu * 1000:.0f} ms")


def memory(pid):
    return benchlib.proc_status(pid, "VmRSS"), benchlib.proc_status(pid, "RssAnon")


def latency(a, ms, alice):
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


def bursts(a, ms, alice, pid):
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


if __name__ == "__main__":
    sys.exit(main())
