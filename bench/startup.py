#!/usr/bin/python3
"""Start-up time of the gateway with many registered users, and its
announce phase.

The store is made by the gateway itself (one start against an empty
database runs the migrations and writes the key file), then filled with
registered users by Python's sqlite3 in that same schema: one `users` row
and one `nick` setting per user, as registration leaves them. The last user
in the store's order (zzlast@localhost) is a real Prosody account, logged in
and available.

Then, from process start:
  - "online": the log line `online as` (the component is authenticated and
    the user list is read) and the first disco#info to echo.localhost that
    the gateway answers (a watcher client asks every 2 ms);
  - "announce": after connecting, the gateway sends a presence probe to
    every registered user, 100 every 10 ms and only while libstrophe's
    send queue is short; users who answer (they are online) then get the
    gateway's presence. It is over for the gateway at the log line
    `start-up probes sent`, and for Prosody when its CPU goes idle again.

A run with an empty store is done first, as the baseline. Figures only.
"""

import argparse
import os
import re
import select
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

LAST = "zzlast"  # sorts after every generated user


def prepare_store(gw, prosody, users):
    """Let the gateway create its database (schema, key), stop it, then add
    `users` registered users. Returns the seconds the insert took."""
    gw.start(timeout=30)
    gw.stop()
    t0 = time.monotonic()
    db = sqlite3.connect(gw.db_path)
    now = int(time.time())
    with db:
        rows = ((f"u{i:06d}@{bl.DOMAIN}",) for i in range(users - 1))
        db.executemany("INSERT INTO users (net, jid, disabled, created) "
                       f"VALUES ('echo', ?, 0, {now})", rows)
        db.execute("INSERT INTO users (net, jid, disabled, created) VALUES ('echo', ?, 0, ?)",
                   (f"{LAST}@{bl.DOMAIN}", now))
        rows = ((f"u{i:06d}@{bl.DOMAIN}", f"u{i:06d}") for i in range(users - 1))
        db.executemany("INSERT INTO settings (net, jid, scope, key, secret, value) "
                       "VALUES ('echo', ?, '', 'nick', 0, ?)", rows)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return time.monotonic() - t0


def log_clock(line):
    """Seconds since local midnight of a gateway log line (HH:MM:SS.mmm)."""
    m = re.match(r"(\d\d):(\d\d):(\d\d)\.(\d\d\d) ", line)
    if not m:
        return None
    h, mi, s, ms = (int(x) for x in m.groups())
    return h * 3600 + mi * 60 + s + ms / 1000


def wall_clock(t):
    lt = time.localtime(t)
    return lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec + (t % 1)


IQ_HEAD = re.compile(rb"<iq\b([^>]*)>|<iq\b([^>]*)/>")
PRES_HEAD = re.compile(rb"<presence\b([^>]*?)/?>")
ATTR = re.compile(rb"""([\w:]+)=(?:'([^']*)'|"([^"]*)")""")


def attrs(raw):
    return {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3))
            for m in ATTR.finditer(raw)}


def run(work, prosody, users, args, label):
    """One start of the gateway. Returns a dict of figures."""
    gw = bl.make_gateway(work / label, prosody, binary=args.binary)
    res = {"users": users}
    if users:
        res["fill_s"] = prepare_store(gw, prosody, users)
        res["db_mib"] = gw.db_path.stat().st_size / 2**20
    watcher = bl.RawClient(prosody.c2s_port, "watcher", "pw").connect()
    last = bl.RawClient(prosody.c2s_port, LAST, "pw").connect()
    wbuf, lbuf = watcher.buf, last.buf
    watcher.sock.setblocking(False)
    last.sock.setblocking(False)

    sent = {}       # iq id -> send time
    rtts = []       # (send time, round trip) of answered disco#info
    seq = 0
    t_answer = t_presence = None
    timeline = []   # (t, gateway cpu s, prosody cpu s)
    ppid = prosody.proc.pid

    m0 = bl.machine_busy()
    t0_wall = time.time()
    t0 = time.monotonic()
    gw.start(wait=False)
    gpid = gw.proc.pid
    p_cpu0 = bl.cpu_seconds(ppid)
    next_probe = t0
    next_sample = t0
    deadline = t0 + args.timeout
    idle_since = None
    rss_online = None
    while True:
        now = time.monotonic()
        if now > deadline:
            res["timed_out"] = True
            break
        gw.check_alive()
        if now >= next_sample:
            if t_presence is None and \
                    "start-up probes sent" in gw.log.split("\n==== ")[-1]:
                t_presence = now - t0
            timeline.append((now - t0, bl.cpu_seconds(gpid), bl.cpu_seconds(ppid) - p_cpu0))
            next_sample += 0.1
            # Over when both were idle for half a second after the presence.
            if (t_presence is not None or (users == 0 and t_answer is not None)) \
                    and len(timeline) >= 2:
                dg = timeline[-1][1] - timeline[-2][1]
                dp = timeline[-1][2] - timeline[-2][2]
                if dg + dp < 0.005:
                    idle_since = idle_since or timeline[-2][0]
                    if now - t0 - idle_since >= 0.5:
                        break
                else:
                    idle_since = None
        # Before the first answer a disco#info goes out every 2 ms; then one
        # every 50 ms measures how the gateway answers during the announce.
        if now >= next_probe:
            iq_id = f"p{seq}"
            seq += 1
            sent[iq_id.encode()] = now
            watcher.sock.send(f"<iq type='get' to='{bl.ECHO_HOST}' id='{iq_id}'>"
                              "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
                              .encode())
            next_probe = now + (0.002 if t_answer is None else 0.05)
        r, _, _ = select.select([watcher.sock, last.sock], [], [], 0.001)
        now = time.monotonic()
        if watcher.sock in r:
            wbuf += watcher.sock.recv(1 << 16)
            for m in IQ_HEAD.finditer(wbuf):
                a = attrs(m.group(1) or m.group(2))
                if a.get(b"type") == b"result" and a.get(b"id") in sent:
                    rtts.append((sent[a[b"id"]] - t0, now - sent[a[b"id"]]))
                    if t_answer is None:
                        t_answer = now - t0
                        rss_online = bl.proc_status(gpid, "VmRSS")
            wbuf = wbuf[wbuf.rfind(b">") + 1:]
        if last.sock in r:
            lbuf += last.sock.recv(1 << 16)
            for m in PRES_HEAD.finditer(lbuf):
                a = attrs(m.group(1))
                if (t_presence is None and a.get(b"from") == bl.ECHO_HOST.encode()
                        and b"type" not in a):
                    t_presence = now - t0
            lbuf = lbuf[lbuf.rfind(b">") + 1:]
    m1 = bl.machine_busy()
    res["machine"] = (m1[0] - m0[0]) / max(1, m1[1] - m0[1])
    res["rss_online"] = rss_online
    res["hwm"] = bl.proc_status(gpid, "VmHWM")
    res["rss_end"] = bl.proc_status(gpid, "VmRSS")
    res["t_answer"] = t_answer
    res["t_presence"] = t_presence
    res["timeline"] = timeline
    res["rtts"] = rtts
    watcher.close()
    last.close()
    gw.stop()
    # The log holds the store-making start too: read from the last start on.
    for line in gw.log.split("\n==== ")[-1].splitlines():
        c = log_clock(line)
        if c is None:
            continue
        if "online as" in line and "t_online" not in res:
            res["t_online"] = c - wall_clock(t0_wall)
        if " started with " in line and "t_started" not in res:
            res["t_started"] = c - wall_clock(t0_wall)
    return res


def ms(x):
    return "n/a" if x is None else f"{x * 1e3:.0f} ms"


def report(res):
    n = res["users"]
    print(f"  {n:,} registered users"
          + (f" (store {res['db_mib']:.1f} MiB, filled in {res['fill_s']:.1f} s)" if n else ""))
    print(f"    start -> store open, loop running (log 'started with'): {ms(res.get('t_started'))}")
    print(f"    start -> component online, users read (log 'online as'): {ms(res.get('t_online'))}")
    print(f"    start -> first disco#info answered by the gateway:      {ms(res['t_answer'])}")
    print(f"    RSS when answering: {bl.fmt(res['rss_online'], ' MiB')}; peak RSS (VmHWM) "
          f"{bl.fmt(res['hwm'], ' MiB')}; RSS at the end {bl.fmt(res['rss_end'], ' MiB')}")
    tl = res["timeline"]
    print(f"    machine busy over the run: {res['machine']:.0%} of {os.cpu_count()} CPUs "
          f"(other load included)")
    if res.get("timed_out"):
        print("    INCOMPLETE: the hard timeout ended the run")
    if not n or res["t_answer"] is None:
        return
    ta, tp = res["t_answer"], res["t_presence"]
    if tp is None:
        print("    announce: the log never said the start-up probes were sent")
        return

    def cpu_at(t, col):
        best = tl[0]
        for row in tl:
            if row[0] <= t:
                best = row
        return best[col]

    g_ann = cpu_at(tp, 1) - cpu_at(ta, 1)
    p_ann = cpu_at(tp, 2) - cpu_at(ta, 2)
    # Prosody is done when its CPU stops moving for good.
    p_end = ta
    for a, b in zip(tl, tl[1:]):
        if b[2] - a[2] > 0.005:
            p_end = b[0]
    p_total = cpu_at(p_end, 2) - cpu_at(ta, 2)
    print(f"    announce (a probe to each user): all sent {tp - ta:.2f} s after the first "
          f"answer ({n / max(tp - ta, 1e-9):,.0f} users/s)")
    print(f"      gateway CPU in that time {g_ann:.2f} s ({g_ann / max(tp - ta, 1e-9):.0%} of a core), "
          f"{g_ann / n * 1e6:.1f} us/user")
    print(f"      Prosody CPU in that time {p_ann:.2f} s ({p_ann / max(tp - ta, 1e-9):.0%} of a core); "
          f"Prosody busy until {p_end - ta:.2f} s after the first answer, "
          f"{p_total:.2f} s CPU, {p_total / n * 1e6:.1f} us/user")
    during = sorted(rt for st, rt in res["rtts"] if ta < st < tp)
    if during:
        print(f"      disco#info round trip during the announce: median "
              f"{during[len(during) // 2] * 1e3:.1f} ms, max {during[-1] * 1e3:.1f} ms "
              f"({len(during)} probes)")
    after = sorted(rt for st, rt in res["rtts"] if st > p_end)
    if after:
        print(f"      disco#info round trip once all is idle: median "
              f"{after[len(after) // 2] * 1e3:.1f} ms ({len(after)} probes)")
    print("    timeline, CPU share of one core (gateway / Prosody): 0.5 s steps for the "
          "first 3 s, then 5 s steps:")
    line, t = [], 0.0
    while t < tl[-1][0]:
        step = 0.5 if t < 3 else 5.0
        g = cpu_at(t + step, 1) - cpu_at(t, 1)
        p = cpu_at(t + step, 2) - cpu_at(t, 2)
        line.append(f"{t:4.1f}s {g / step:4.0%}/{p / step:4.0%}")
        t += step
    for i in range(0, len(line), 6):
        print("      " + "  ".join(line[i:i + 6]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-u", "--users", type=int, default=100000, help="registered users")
    ap.add_argument("--timeout", type=float, default=90, help="hard limit per start, s")
    ap.add_argument("--no-baseline", action="store_true", help="skip the empty-store run")
    ap.add_argument("--binary", default=None, help="stanzagate binary")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sgbench-start-"))
    bl.hard_limit(int(a.timeout) * 2 + 120)
    prosody = None
    try:
        prosody = bl.make_prosody(work / "prosody", {"watcher": "pw", LAST: "pw"}).start()
        print(f"stanzagate start-up  ({time.strftime('%Y-%m-%d %H:%M:%S %Z')}, "
              f"{os.cpu_count()} CPUs, loopback, SQLite WAL synchronous=NORMAL, warm page cache)")
        if not a.no_baseline:
            report(run(work, prosody, 0, a, "empty"))
        report(run(work, prosody, a.users, a, "full"))
    finally:
        if prosody is not None:
            prosody.stop()
        bl.keep_or_remove(work, a.keep)


if __name__ == "__main__":
    main()
