#!/usr/bin/python3
"""Round-trip throughput through Prosody, the gateway and the echo network.

    client --c2s--> Prosody --component--> stanzagate --> echo driver
    client <--c2s-- Prosody <--component-- stanzagate <--'

A private Prosody (tests/integration/sgtest.py) and the gateway (SQLite in a
temp dir, only [echo] enabled) are started on loopback; K raw-socket clients
(benchlib.RawClient, spread over P processes) each keep W messages in flight
to x@echo.localhost until N messages in all have come back.

Printed: messages/s round trip; CPU seconds of the gateway, Prosody and the
client over the measured phase, and per message; the gateway's peak RSS;
how busy the whole machine was. With --callgrind the gateway runs under
valgrind's callgrind, whose counters are zeroed after the warm-up and dumped
after the measured phase: instructions per message, and the functions that
spent them.

Figures only: nothing here asserts a timing.
"""

import argparse
import multiprocessing as mp
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

END = b"</message>"
ERR = b"type='error'"


class Tally:
    """Counts a byte pattern across reads (a match may straddle two)."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.tail = b""
        self.n = 0

    def feed(self, data):
        chunk = self.tail + data
        self.n += chunk.count(self.pattern)
        self.tail = chunk[-(len(self.pattern) - 1):]


class Conn:
    def __init__(self, client, tag):
        self.c = client
        self.tag = tag
        self.sent = 0
        self.target = 0
        self.out = bytearray()
        self.ends = Tally(END)
        self.errs = Tally(ERR)

    def stanza(self, seq):
        # Ids are unique per resource across phases: the gateway drops a
        # repeated (resource, id) as a resend.
        return (f"<message to='x@{bl.ECHO_HOST}' type='chat' id='{self.tag}-{seq}'>"
                f"<body>bench message {seq} from {self.tag}: the quick brown fox jumps over "
                f"the lazy dog</body></message>").encode()


def pump(conns, per_conn, window, timeout):
    """Send per_conn messages on every connection, W in flight at most, and
    wait for as many messages back. Returns (elapsed, received, errors)."""
    sel = selectors.DefaultSelector()
    base = {}
    for cn in conns:
        cn.c.sock.setblocking(False)
        base[cn] = (cn.ends.n, cn.errs.n)
        cn.target = cn.sent + per_conn
        sel.register(cn.c.sock, selectors.EVENT_READ, cn)

    def got(cn):
        return cn.ends.n - base[cn][0]

    def refill(cn):
        room = window - (cn.sent - (cn.target - per_conn) - got(cn))
        k = min(room, cn.target - cn.sent)
        if k > 0:
            cn.out += b"".join(cn.stanza(s) for s in range(cn.sent, cn.sent + k))
            cn.sent += k
        if cn.out:
            try:
                w = cn.c.sock.send(cn.out)
                del cn.out[:w]
            except BlockingIOError:
                pass
        sel.modify(cn.c.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if cn.out else 0),
                   cn)

    t0 = time.monotonic()
    deadline = t0 + timeout
    for cn in conns:
        refill(cn)
    left = len(conns)
    done = set()
    while left and time.monotonic() < deadline:
        for key, mask in sel.select(0.5):
            cn = key.data
            if mask & selectors.EVENT_READ:
                data = cn.c.sock.recv(1 << 18)
                if not data:
                    raise bl.XmppError(f"{cn.tag}: Prosody closed the connection")
                cn.ends.feed(data)
                cn.errs.feed(data)
            refill(cn)
            if cn not in done and got(cn) >= per_conn:
                done.add(cn)
                left -= 1
    elapsed = time.monotonic() - t0
    for cn in conns:
        sel.unregister(cn.c.sock)
        cn.c.sock.setblocking(True)
    sel.close()
    return (elapsed, sum(got(cn) for cn in conns),
            sum(cn.errs.n - base[cn][1] for cn in conns))


def client_proc(port, users, warmup_each, per_conn, window, timeout, ready_q, go, result_q):
    """One client process: log in, warm up, wait for go, run, report."""
    try:
        conns = [Conn(bl.RawClient(port, u, "pw").connect(), u) for u in users]
        for cn in conns:
            # Whatever the login left unread (presence echoes) is counted too.
            cn.ends.feed(cn.c.buf)
            cn.errs.feed(cn.c.buf)
        pump(conns, warmup_each, window, timeout)
        ready_q.put(("ready", os.getpid()))
        go.wait()
        c0 = os.times()
        t_start = time.monotonic()
        elapsed, received, errors = pump(conns, per_conn, window, timeout)
        c1 = os.times()
        result_q.put({"t_start": t_start, "t_end": t_start + elapsed, "received": received,
                      "errors": errors, "cpu": c1.user - c0.user + c1.system - c0.system})
        for cn in conns:
            cn.c.close()
    except Exception as e:  # reported to the parent, which prints it
        ready_q.put(("error", repr(e)))
        result_q.put({"error": repr(e)})


_ANNOT = re.compile(r"^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(\S.*)$")


def callgrind_table(outfile, inclusive):
    """[(instructions, percent, "file:function [object]")] from callgrind_annotate."""
    try:
        r = subprocess.run(["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}",
                            "--threshold=100", "--auto=no", str(outfile)],
                           capture_output=True, text=True, timeout=120, cwd="/")
    except (OSError, subprocess.TimeoutExpired):
        return []
    # Run from / so that file names stay absolute whatever our cwd is.
    rows, started = [], False
    for line in r.stdout.splitlines():
        if "file:function" in line:
            started = True
            continue
        m = _ANNOT.match(line) if started else None
        if m:
            rows.append((int(m.group(1).replace(",", "")), float(m.group(2)), m.group(3)))
    return rows


def short(name):
    """'/long/path/src/x.c:fn [/path/obj.so.1]' -> 'src/x.c:fn [obj.so.1]'."""
    name = re.sub(r"^.*?/((src|backends)/)", r"\1", name)
    name = re.sub(r"\[(?:.*/)?([^/\]]+)\]$", r"[\1]", name)
    return name.replace("./", "")


def callgrind_report(outfile, total, per, limit=20):
    """Self cost of the hottest functions, and inclusive cost of the
    gateway's own functions, per message. Frames that were on the stack
    when the counters were dumped (the event loop, main) show the whole
    total as their own in a mid-run dump; they are left out."""
    rows = [r for r in callgrind_table(outfile, False) if r[1] < 99.0]
    by_obj = {}
    for ir, _, name in rows:
        m = re.search(r"\[(?:.*/)?([^/\]]+?)(?:\.so[.\d]*)?\]$", name)
        obj = m.group(1) if m else "?"
        by_obj[obj] = by_obj.get(obj, 0) + ir
    out = ["  by object, self cost (instructions/message, share):"]
    for obj, ir in sorted(by_obj.items(), key=lambda x: -x[1])[:8]:
        out.append(f"    {ir / per:>9,.0f}  {ir / total:6.1%}  {obj}")
    out.append("  hottest functions, self cost (instructions/message, share):")
    for ir, pct, name in rows[:limit]:
        out.append(f"    {ir / per:>9,.0f}  {pct:5.1f}%  {short(name)}")
    out.append("  the gateway's own functions, inclusive cost (instructions/message, share):")
    rows = [r for r in callgrind_table(outfile, True)
            if r[1] < 99.0 and re.search(r"/(src|backends)/", r[2])]
    for ir, pct, name in rows[:limit]:
        out.append(f"    {ir / per:>9,.0f}  {pct:5.1f}%  {short(name)}")
    return "\n".join(out)


def latency(port, user, count, timeout):
    """One message at a time: the round trip of a single message through an
    otherwise idle gateway (group commit, barrier and all). Returns sorted
    round trips in seconds."""
    c = bl.RawClient(port, user, "pw").connect()
    cn = Conn(c, user)
    cn.ends.feed(c.buf)
    c.buf = b""
    times = []
    deadline = time.monotonic() + timeout
    try:
        for seq in range(count):
            if time.monotonic() > deadline:
                break
            want = cn.ends.n + 1
            t0 = time.monotonic()
            c.send(cn.stanza(seq))
            while cn.ends.n < want:
                c.sock.settimeout(max(0.1, deadline - time.monotonic()))
                data = c.sock.recv(65536)
                if not data:
                    raise bl.XmppError("Prosody closed the connection")
                cn.ends.feed(data)
            times.append(time.monotonic() - t0)
    finally:
        c.close()
    return sorted(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--messages", type=int, default=None,
                    help="messages in the measured phase (default 20000; 2000 with --callgrind)")
    ap.add_argument("-k", "--connections", type=int, default=4, help="XMPP client connections")
    ap.add_argument("-p", "--procs", type=int, default=1,
                    help="client processes the connections are spread over")
    ap.add_argument("-w", "--window", type=int, default=100,
                    help="messages in flight per connection")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed messages first (default 1000; 200 with --callgrind)")
    ap.add_argument("--latency", type=int, default=None,
                    help="messages sent one at a time after the run, for round-trip "
                         "latency (default 300; 50 with --callgrind; 0 = skip)")
    ap.add_argument("--timeout", type=float, default=120, help="hard limit of the measured phase, s")
    ap.add_argument("--no-nagle", action="store_true",
                    help="turn Nagle's algorithm off in Prosody (network_settings)")
    ap.add_argument("--callgrind", action="store_true",
                    help="run the gateway under valgrind --tool=callgrind")
    ap.add_argument("--binary", default=None, help="stanzagate binary (default: as the tests find it)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, database)")
    a = ap.parse_args()
    n = a.messages if a.messages is not None else (2000 if a.callgrind else 20000)
    warmup = a.warmup if a.warmup is not None else (200 if a.callgrind else 1000)
    k = max(1, a.connections)
    procs = max(1, min(a.procs, k))
    per_conn = max(1, n // k)
    n = per_conn * k
    warm_each = max(1, warmup // k)
    nlat = a.latency if a.latency is not None else (50 if a.callgrind else 300)

    work = Path(tempfile.mkdtemp(prefix="sgbench-echo-"))
    bl.hard_limit(int(a.timeout) + 240)
    users = {f"bench{i}": "pw" for i in range(k)}
    users["benchlat"] = "pw"
    wrapper_env = os.environ.get("STANZAGATE_WRAPPER")
    cg_out = work / "callgrind.out"
    if a.callgrind:
        if shutil.which("valgrind") is None:
            sys.exit("valgrind is not installed")
        os.environ["STANZAGATE_WRAPPER"] = (
            f"valgrind --tool=callgrind --callgrind-out-file={cg_out}.%p")
    prosody = gw = None
    children = []
    profile = None
    try:
        prosody = bl.make_prosody(work / "prosody", users, nagle=not a.no_nagle).start()
        gw = bl.make_gateway(work / "gateway", prosody, binary=a.binary)
        gw.start(timeout=60 if a.callgrind else 15)
        gpid, ppid = gw.proc.pid, prosody.proc.pid

        ready_q, result_q, go = mp.Queue(), mp.Queue(), mp.Event()
        names = [u for u in users if u != "benchlat"]
        for i in range(procs):
            mine = names[i::procs]
            pr = mp.Process(target=client_proc,
                            args=(prosody.c2s_port, mine, warm_each, per_conn, a.window,
                                  a.timeout, ready_q, go, result_q))
            pr.start()
            children.append(pr)
        for _ in children:
            what, info = ready_q.get(timeout=a.timeout + 60)
            if what == "error":
                raise bl.XmppError(f"client process failed: {info}")
        time.sleep(0.5)  # the warm-up's stragglers (barriers, deletes) settle
        if a.callgrind:
            bl.callgrind_zero(gpid)
        meter = bl.CpuMeter({"gateway": gpid, "prosody": ppid}).start()
        t_go = time.monotonic()
        go.set()
        results = [result_q.get(timeout=a.timeout + 60) for _ in children]
        meter.stop()
        for pr in children:
            pr.join(30)
        errs = [r["error"] for r in results if "error" in r]
        if errs:
            raise bl.XmppError("client process failed: " + "; ".join(errs))
        received = sum(r["received"] for r in results)
        errors = sum(r["errors"] for r in results)
        t_end = max(r["t_end"] for r in results)
        client_cpu = sum(r["cpu"] for r in results)
        elapsed = t_end - t_go
        ir = None
        if a.callgrind:
            ir, dump = bl.callgrind_dump(gpid, work, "measured")
        lat = latency(prosody.c2s_port, "benchlat", nlat, 60) if nlat > 0 else []
        hwm = bl.proc_status(gpid, "VmHWM")
        rss = bl.proc_status(gpid, "VmRSS")
        p_hwm = bl.proc_status(ppid, "VmHWM")

        gcpu, pcpu = meter.cpu["gateway"], meter.cpu["prosody"]
        print(f"stanzagate echo round trip  ({time.strftime('%Y-%m-%d %H:%M:%S %Z')}, "
              f"{os.cpu_count()} CPUs, loopback, SQLite WAL synchronous=NORMAL)")
        print(f"  Prosody 0.12 with default settings, logging at info"
              + (", Nagle off (network_settings)" if a.no_nagle else ""))
        print(f"  clients: {k} raw c2s connections in {procs} process(es), window "
              f"{a.window}/connection; warm-up {warm_each * k} messages")
        if a.callgrind:
            print("  gateway under valgrind --tool=callgrind (its speed is not the native one)")
        print(f"  messages:             {received}/{n} echoed back, {errors} errors, "
              f"in {elapsed:.2f} s")
        if received < n:
            print(f"  INCOMPLETE: the hard timeout ({a.timeout:g} s) ended the run")
        print(f"  round trip:           {received / elapsed:,.0f} messages/s")
        print(f"  gateway CPU:          {gcpu:.2f} s  = {gcpu / max(received, 1) * 1e6:.1f} us/message"
              f"  ({gcpu / elapsed:.0%} of one core)")
        print(f"  Prosody CPU:          {pcpu:.2f} s  = {pcpu / max(received, 1) * 1e6:.1f} us/message"
              f"  ({pcpu / elapsed:.0%} of one core)")
        print(f"  client CPU:           {client_cpu:.2f} s  = "
              f"{client_cpu / max(received, 1) * 1e6:.1f} us/message  "
              f"({client_cpu / elapsed:.0%} of one core)")
        others = meter.machine_util * os.cpu_count() - (gcpu + pcpu + client_cpu) / elapsed
        print(f"  machine busy:         {meter.machine_util:.0%} of {os.cpu_count()} CPUs; "
              f"other processes took {max(others, 0):.0%} of one core")
        print(f"  gateway memory:       peak RSS (VmHWM) {hwm:.1f} MiB, RSS now {rss:.1f} MiB"
              f"  (Prosody peak {p_hwm:.1f} MiB)")
        if lat:
            print(f"  single-message round trip ({len(lat)} one at a time): "
                  f"median {lat[len(lat) // 2] * 1e3:.2f} ms, "
                  f"p90 {lat[int(len(lat) * 0.9)] * 1e3:.2f} ms, max {lat[-1] * 1e3:.2f} ms")
        if ir is not None:
            print(f"  gateway instructions: {ir:,} in the measured phase = "
                  f"{ir / max(received, 1):,.0f} instructions/message (callgrind Ir)")
        busiest = max(("gateway", gcpu), ("Prosody", pcpu), ("client", client_cpu),
                      key=lambda x: x[1])
        print(f"  busiest process:      {busiest[0]} ({busiest[1] / elapsed:.0%} of one core)")
        if a.callgrind and ir is not None:
            profile = (dump, ir, max(received, 1))
    finally:
        for pr in children:
            if pr.is_alive():
                pr.terminate()
        if gw is not None:
            try:
                gw.stop(timeout=60 if a.callgrind else 10)
            except AssertionError as e:
                print(f"note: {e}", file=sys.stderr)
        if prosody is not None:
            prosody.stop()
        if wrapper_env is None:
            os.environ.pop("STANZAGATE_WRAPPER", None)
        bl.keep_or_remove(work, a.keep or a.callgrind)
    # Read once the daemon has exited: the dump is complete by then.
    if profile:
        print("\n  where the gateway's instructions went (measured phase only):")
        print(callgrind_report(*profile))
        print(f"\n  full profile: callgrind_annotate {profile[0]}")


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
