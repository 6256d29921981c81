#!/usr/bin/python3
"""SMS benchmarks: durable throughput into gammu-smsd's outbox, and the
loop's responsiveness while a modem is slow.

1. durable: one raw-socket XMPP client sends N texts (pipelined) to a number
   on a `driver = smsd` line; the figure is texts/s from the first send until
   N rows are committed in gammu-smsd's outbox (each text went through the
   gateway's durable queue, the driver's transaction and its commit). No
   gammu-smsd runs, so the rows stay there to be counted. On SQLite, and on
   PostgreSQL (a private cluster as in the tests, but with fsync and
   synchronous commits on) unless --no-pgsql.
2. loop: echo round trips (one message at a time, to the echo network)
   while idle, then while a `driver = gammu` line's worker thread sends a
   5-part text to a fake AT modem on a pty that takes 0.7 s per part (SPEC
   9's figure for a real one): median, p90 and max of each.

The harness (tests/integration: sgtest.py's Prosody and Gateway,
smstest.py's Smsd, Postgres and FakeModem) is used as a library. The
gateway logs at info. Figures only: nothing here asserts a timing.
"""

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402  (also puts tests/integration on sys.path)
import sgtest  # noqa: E402
import smstest  # noqa: E402

SMS = "sms.localhost"
ECHO = "echo.localhost"
NUM = "+15551234567"
USER = "alice"


def gateway(work, prosody, backends, sms_extra, line, binary):
    extra = {"sms": {"default_country": "+1", "poll_interval": "1s",
                     "per_user_per_hour": "0", **sms_extra},
             "sms.line.bench": {"number": "+15550001111", "users": f"{USER}@{sgtest.DOMAIN}",
                                **line}}
    return sgtest.Gateway(work, prosody, backends=backends, extra=extra, binary=binary,
                          args=("-d",))


def outbox_count(smsd):
    return smsd.rows("SELECT count(*) AS n FROM outbox")[0]["n"]


def durable(work, prosody, smsd, n, binary, timeout):
    """Texts/s into the outbox, and the gateway's CPU seconds per text."""
    gw = gateway(work, prosody, (SMS,), {}, {"driver": "smsd", "smsd_database": smsd.url},
                 binary)
    gw.start()
    c = None
    try:
        sgtest.wait_until(lambda: "line bench: starting -> up" in gw.log, 20, "the line up")
        c = bl.RawClient(prosody.c2s_port, USER, prosody.accounts[USER]).connect()
        stanzas = "".join(f"<message to='{NUM}@{SMS}' type='chat' id='b{i}'>"
                          f"<body>bench text {i}</body></message>" for i in range(n))
        meter = bl.CpuMeter({"gateway": gw.proc.pid, "prosody": prosody.proc.pid}).start()
        t0 = time.monotonic()
        c.send(stanzas)
        sgtest.wait_until(lambda: outbox_count(smsd) >= n, timeout, f"{n} outbox rows",
                          interval=0.1)
        wall = time.monotonic() - t0
        meter.stop()
        return {"n": outbox_count(smsd), "wall": wall, "rate": n / wall,
                "gw_cpu": meter.cpu["gateway"], "prosody_cpu": meter.cpu["prosody"],
                "machine": meter.machine_util}
    finally:
        if c:
            c.close()
        gw.stop()


def round_trips(c, count=None, until=None, start=0):
    """Echo round trips, one at a time: count of them, or until until()."""
    times = []
    seq = start
    while (count is None or len(times) < count) and (until is None or not until()):
        t0 = time.monotonic()
        c.send(f"<message to='probe@{ECHO}' type='chat'><body>ping {seq}</body></message>")
        c._read_until(re.escape(f"ping {seq}</body>").encode(), timeout=30)
        times.append(time.monotonic() - t0)
        seq += 1
    return sorted(times)


def summary(times):
    if not times:
        return "no round trips"
    ms = [t * 1000 for t in times]
    p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
    return (f"n={len(ms)}: median {statistics.median(ms):.2f} ms, p90 {p90:.2f} ms, "
            f"max {ms[-1]:.2f} ms")


def loop(work, prosody, binary, idle_n, parts, delay):
    work.mkdir(parents=True, exist_ok=True)
    modem = smstest.FakeModem(work / "ttySlow", send_delay=delay)
    gw = gateway(work / "gw", prosody, (SMS, ECHO), {"modem_timeout": "60s"},
                 {"driver": "gammu", "device": str(modem.link), "connection": "at"}, binary)
    gw.start()
    c = None
    try:
        sgtest.wait_until(lambda: "line bench: starting -> up" in gw.log, 30, "the line up")
        c = bl.RawClient(prosody.c2s_port, USER, prosody.accounts[USER]).connect()
        round_trips(c, count=20, start=-100)  # warm-up
        idle = round_trips(c, count=idle_n)
        meter = bl.CpuMeter({"gateway": gw.proc.pid}).start()
        c.send(f"<message to='{NUM}@{SMS}' type='chat'><body>{'s' * (153 * parts)}"
               "</body></message>")
        sgtest.wait_until(lambda: any(x.startswith("AT+CMGS") for x in modem.commands), 30,
                          "the modem to start sending")
        t0 = time.monotonic()
        busy = round_trips(c, until=lambda: len(modem.sent) >= parts, start=idle_n)
        wall = time.monotonic() - t0
        meter.stop()
        return {"idle": idle, "busy": busy, "wall": wall, "sent": len(modem.sent),
                "gw_cpu": meter.cpu["gateway"]}
    finally:
        if c:
            c.close()
        gw.stop()
        modem.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--texts", type=int, default=2000, help="texts for the durable run")
    ap.add_argument("--no-pgsql", action="store_true", help="skip the PostgreSQL run")
    ap.add_argument("--idle", type=int, default=300, help="idle round trips")
    ap.add_argument("--parts", type=int, default=5, help="SMS parts of the slow send")
    ap.add_argument("--delay", type=float, default=0.7, help="seconds per part at the modem")
    ap.add_argument("--timeout", type=float, default=300, help="limit of a measured phase, s")
    ap.add_argument("--binary", default=None, help="stanzagate binary (default: as the tests)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, databases)")
    a = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sgbench-sms-"))
    bl.hard_limit(int(a.timeout) * 3 + 300)
    prosody = pg = None
    try:
        comps = {h: sgtest.COMPONENTS[h] for h in (SMS, ECHO)}
        prosody = sgtest.Prosody(work / "prosody", accounts={USER: "pw"}, components=comps,
                                 extra_config=bl.prosody_info_log(work / "prosody")).start()
        print(f"sms bench: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{len(os.sched_getaffinity(0))} CPUs, work dir {work}")

        runs = [("SQLite", None)]
        if not a.no_pgsql:
            try:
                pg = smstest.Postgres(durable=True).start()
                runs.append(("PostgreSQL", pg))
            except RuntimeError as e:
                print(f"durable, PostgreSQL: skipped: {e}")
        for name, db in runs:
            smsd = smstest.Smsd(work / f"smsd-{name.lower()}", postgres=db)
            smsd.create_db()
            r = durable(work / f"gw-{name.lower()}", prosody, smsd, a.texts, a.binary,
                        a.timeout)
            print(f"durable, {name}: {r['n']} texts from XMPP into gammu-smsd's outbox in "
                  f"{r['wall']:.2f} s: {r['rate']:.0f} texts/s; gateway CPU "
                  f"{r['gw_cpu'] * 1e6 / a.texts:.0f} µs/text, Prosody "
                  f"{r['prosody_cpu'] * 1e6 / a.texts:.0f} µs/text, machine "
                  f"{r['machine']:.0%} busy")

        r = loop(work / "loop", prosody, a.binary, a.idle, a.parts, a.delay)
        print(f"loop, echo round trips idle: {summary(r['idle'])}")
        print(f"loop, while a line's worker sends {r['sent']} parts at {a.delay} s each "
              f"({r['wall']:.1f} s): {summary(r['busy'])}; gateway CPU "
              f"{r['gw_cpu']:.2f} s")
    finally:
        if pg:
            pg.stop()
        if prosody:
            prosody.stop()
        if a.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
