#!/usr/bin/python3
"""IRC gateway benchmark: stanzagate and Biboumi side by side, one run.

Same Prosody (two components: irc.localhost for stanzagate,
biboumi.localhost for Biboumi), same ngircd (MaxPenaltyTime = 0), throttling
off in both gateways (stanzagate: throttle_burst = throttle_byte_burst = 0;
Biboumi: throttle_limit = -1 per user and server, by ad-hoc command).
Archiving on and off (stanzagate: [irc] history; Biboumi: the per-user
global "configure" command, record_history).

For each archiving setting and each gateway (a fresh gateway process and
database each time):
  - RSS at start, with 1 user joined to a channel, with U users (default 50)
    joined to another channel (each its own c2s session and so its own IRC
    connection): all idle, before any load;
  - 1 user in #one with a raw IRC observer: XMPP->IRC and IRC->XMPP;
  - U users in #many (+ the IRC observer): XMPP->IRC (sent by user 0,
    received by the observer and by all U XMPP users, the sender's
    reflection included) and IRC->XMPP (sent by the observer, received by
    all U users);
  - CPU (utime+stime, /proc/PID/stat) of the gateway and of Prosody per
    relayed message; peak RSS (VmHWM) after the load.

With --callgrind both gateways run under valgrind's callgrind, and each
phase also reports the gateway's instructions per relayed message (the
counters are zeroed before the phase and dumped after it). Rates and CPU
times are then valgrind's, not native: compare only the instructions.

Clients are raw sockets (benchlib.RawClient and a minimal IRC client) that
count a per-phase marker in what they receive; no XML parsing. The sender
keeps at most --window messages ahead of the slowest receiver. Every phase
is bounded in messages (-n / --n-many) and in time (--phase-time to send,
then --drain-time to receive).
"""

import argparse
import os
import re
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

sgtest = bl.sgtest
SG_HOST = "irc.localhost"
BB_HOST = "biboumi.localhost"
BB_SECRET = "biboumi-s3cret"
IRC_SERVER = "127.0.0.1"
BIBOUMI = os.environ.get("BIBOUMI_BIN", "/usr/bin/biboumi")
MUC = "http://jabber.org/protocol/muc"
CMDS = "http://jabber.org/protocol/commands"


# --------------------------------------------------------------------------
# Clients


class Counter:
    """Counts occurrences of a byte pattern in a stream, across reads."""

    def __init__(self, pattern=b""):
        self.set(pattern)

    def set(self, pattern):
        self.pat, self.n, self.tail = pattern, 0, b""

    def feed(self, data):
        if not self.pat:
            return
        buf = self.tail + data
        self.n += buf.count(self.pat)
        k = len(self.pat) - 1
        self.tail = buf[-k:] if k else b""


class Xmpp:
    """A logged-in raw c2s session (benchlib.RawClient) with MUC join and
    ad-hoc helpers; after setup the socket is read by the pump."""

    def __init__(self, port, user):
        self.c = bl.RawClient(port, user, "pw").connect()
        self.user = user
        self.cnt = Counter()
        self.seq = 0

    def send(self, data):
        self.c.send(data)

    def join_send(self, room, nick):
        self.c.send(f"<presence to='{room}/{nick}'><x xmlns='{MUC}'>"
                    "<history maxstanzas='0'/></x></presence>")

    def join_wait(self, room, nick, timeout):
        """Wait for the self-presence (status 110) or an error presence."""
        full = re.escape(f"{room}/{nick}".encode())
        pat = (rb"<presence\b[^>]*\bfrom=['\"]" + full + rb"['\"][^>]*?(?:/>|>.*?</presence>)")
        deadline = time.monotonic() + timeout
        while True:
            got, _ = self.c._read_until(pat, max(0.1, deadline - time.monotonic()))
            if b"type='error'" in got or b'type="error"' in got:
                raise bl.XmppError(f"{self.user}: join {room} failed: {got[-400:]!r}")
            if b"code='110'" in got or b'code="110"' in got:
                return

    def iq_set(self, to, payload, timeout=15):
        self.seq += 1
        iq_id = f"s{self.seq}"
        self.c.send(f"<iq type='set' to='{to}' id='{iq_id}'>{payload}</iq>")
        got, _ = self.c._read_until(bl._iq_answer(iq_id.encode()), timeout)
        if b"type='error'" in got[:200] or b'type="error"' in got[:200]:
            raise bl.XmppError(f"{self.user}: iq to {to} failed: {got[-500:]!r}")
        return got

    def adhoc(self, to, node, fields, timeout=15):
        """Execute an ad-hoc command and submit one form with `fields`
        (var -> value, list of values, or None for an empty field)."""
        got = self.iq_set(to, f"<command xmlns='{CMDS}' node='{node}' action='execute'/>", timeout)
        m = re.search(rb"sessionid=['\"]([^'\"]+)['\"]", got)
        if not m:
            raise bl.XmppError(f"{self.user}: no ad-hoc session from {to}: {got[-500:]!r}")
        form = ""
        for var, val in fields.items():
            vals = [] if val is None else (val if isinstance(val, list) else [val])
            form += f"<field var='{var}'>" + "".join(f"<value>{v}</value>" for v in vals) + "</field>"
        return self.iq_set(to, f"<command xmlns='{CMDS}' node='{node}' action='complete' "
                               f"sessionid='{m.group(1).decode()}'><x xmlns='jabber:x:data' "
                               f"type='submit'>{form}</x></command>", timeout)

    def fileno(self):
        return self.c.sock.fileno()

    def close(self):
        self.c.close()


class Irc:
    """A raw IRC client: registered and in its channels after setup; PINGs
    answered by the pump."""

    def __init__(self, port, nick, timeout=10):
        self.nick = nick
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.cnt = Counter()
        self.send(f"NICK {nick}\r\nUSER {nick} 0 * :bench observer\r\n")
        self.wait(f" 001 {nick} ", timeout)

    def send(self, data):
        self.sock.settimeout(10)
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def wait(self, what, timeout=10):
        deadline = time.monotonic() + timeout
        what = what.encode()
        while what not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise bl.XmppError(f"IRC {self.nick}: no {what!r}; got {self.buf[-400:]!r}")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise bl.XmppError(f"IRC {self.nick}: closed; got {self.buf[-400:]!r}")
            self.buf += data
            self.pong(data)
        self.buf = self.buf[self.buf.index(what) + len(what):]

    def pong(self, data):
        for m in re.finditer(rb"(?:^|\n)PING (:?\S+)", data):
            self.sock.sendall(b"PONG " + m.group(1) + b"\r\n")

    def join(self, chan):
        self.send(f"JOIN {chan}\r\n")
        self.wait(f" 366 {self.nick} {chan} ")

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        try:
            self.send("QUIT :bye\r\n")
            self.sock.close()
        except OSError:
            pass


def pump(sender_send, receivers, n, window, send_time, drain_time):
    """Send up to n messages (sender_send(i) writes message i) while at
    most `window` are ahead of the slowest receiver; stop sending after
    send_time s; wait up to drain_time s more for the receivers. Returns
    (sent, min received, elapsed s to the last counted delivery or the
    end, complete)."""
    sel = selectors.DefaultSelector()
    for r in receivers:
        (r.c.sock if isinstance(r, Xmpp) else r.sock).setblocking(False)
        sel.register(r.fileno(), selectors.EVENT_READ, r)
    sent = 0
    t0 = time.monotonic()
    t_last = t0
    stop_send = t0 + send_time
    low = 0
    try:
        while True:
            now = time.monotonic()
            low = min(r.cnt.n for r in receivers)
            if low >= sent and (sent >= n or now >= stop_send):
                break
            if now >= stop_send + drain_time:
                break
            if sent < n and now < stop_send and sent - low < window:
                batch = min(n - sent, window - (sent - low), 50)
                for i in range(sent, sent + batch):
                    sender_send(i)
                sent += batch
            for key, _ in sel.select(0.05):
                r = key.data
                sock = r.c.sock if isinstance(r, Xmpp) else r.sock
                try:
                    data = sock.recv(262144)
                except BlockingIOError:
                    continue
                if not data:
                    raise bl.XmppError(f"{getattr(r, 'user', getattr(r, 'nick', '?'))}: closed")
                before = r.cnt.n
                r.cnt.feed(data)
                if isinstance(r, Irc) and b"PING" in data:
                    sock.setblocking(True)
                    r.pong(data)
                    sock.setblocking(False)
                if r.cnt.n != before:
                    t_last = time.monotonic()
    finally:
        sel.close()
        for r in receivers:
            (r.c.sock if isinstance(r, Xmpp) else r.sock).setblocking(True)
    low = min(r.cnt.n for r in receivers)
    return sent, low, t_last - t0, low >= sent


def drain(conns, secs=0.3):
    """Read and drop whatever is pending (presences after joins etc.)."""
    end = time.monotonic() + secs
    sel = selectors.DefaultSelector()
    for c in conns:
        sel.register(c.fileno(), selectors.EVENT_READ, c)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            sel.close()
            return
        for key, _ in sel.select(left):
            c = key.data
            sock = c.c.sock if isinstance(c, Xmpp) else c.sock
            sock.settimeout(1)
            try:
                data = sock.recv(262144)
            except (BlockingIOError, socket.timeout):
                continue
            if isinstance(c, Irc):
                c.pong(data)


# --------------------------------------------------------------------------
# Gateways


class Biboumi:
    def __init__(self, workdir, prosody, log_level=2):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.prosody = prosody
        self.conf = self.dir / "biboumi.cfg"
        self.log = self.dir / "biboumi.log"
        self.conf.write_text(f"""hostname={BB_HOST}
password={BB_SECRET}
xmpp_server_ip=127.0.0.1
port={prosody.component_port}
admin=admin@{sgtest.DOMAIN}
db_name={self.dir / 'biboumi.sqlite'}
realname_customization=true
realname_from_jid=false
log_level={log_level}
identd_port=0
ca_file=
""")
        self.proc = None
        self.wrapper = []

    def start(self, timeout=15):
        before = self.prosody.component_auth_count(BB_HOST)
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(self.wrapper + [BIBOUMI, str(self.conf)], stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=self.dir)
        out.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"biboumi exited {self.proc.returncode}:\n"
                                     + sgtest.tail(self.log.read_text(errors="replace")))
            return self.prosody.component_auth_count(BB_HOST) > before
        sgtest.wait_until(up, timeout, "biboumi to connect")
        return self

    def stop(self, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Side:
    """One gateway under test: how to start it, address rooms, prepare a
    user (per-user settings) and where its process is."""

    def __init__(self, name, host, nickp):
        self.name, self.host, self.nickp = name, host, nickp

    def room(self, chan):
        return f"{chan}%{IRC_SERVER}@{self.host}"


def callgrind_wrapper(work):
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/callgrind.out.%p"]


def start_gateway(kind, work, prosody, ngircd, archiving, binary, callgrind):
    timeout = 60 if callgrind else 15
    if kind == "stanzagate":
        saved = os.environ.get("STANZAGATE_WRAPPER")
        if callgrind:
            os.environ["STANZAGATE_WRAPPER"] = " ".join(callgrind_wrapper(work))
        g = sgtest.Gateway(work, prosody, backends=(SG_HOST,), binary=binary, args=("-d",),
                           extra={"irc": {"ports": str(ngircd.port), "tls_ports": "",
                                          "throttle_burst": "0", "throttle_byte_burst": "0",
                                          "history": "yes" if archiving else "no"}})
        try:
            g.start(timeout=timeout)
        finally:
            if saved is None:
                os.environ.pop("STANZAGATE_WRAPPER", None)
            else:
                os.environ["STANZAGATE_WRAPPER"] = saved
        return g, g.proc.pid
    b = Biboumi(work, prosody)
    if callgrind:
        b.wrapper = callgrind_wrapper(work)
    b.start(timeout=timeout)
    return b, b.proc.pid


def prepare_user(kind, x, ngircd, archiving):
    """Biboumi: per-user server settings (ports, no TLS ports, no throttle)
    and, for the off runs, record_history off. stanzagate: nothing (its
    [irc] section carries the same)."""
    if kind != "biboumi":
        return
    x.adhoc(f"{IRC_SERVER}@{BB_HOST}", "configure",
            {"ports": str(ngircd.port), "tls_ports": None, "throttle_limit": "-1"})
    if not archiving:
        x.adhoc(BB_HOST, "configure", {"record_history": "0"})


# --------------------------------------------------------------------------


def rss(pid, key="VmRSS"):
    return bl.proc_status(pid, key)


def run_gateway(kind, a, work, prosody, ngircd, archiving, xmpp_all, obs, tag):
    side = {"stanzagate": Side("stanzagate", SG_HOST, "s"),
            "biboumi": Side("biboumi", BB_HOST, "b")}[kind]
    arch = "on" if archiving else "off"
    res = {}
    gwork = work / f"{kind}-{arch}"
    g, pid = start_gateway(kind, gwork, prosody, ngircd, archiving, a.binary, a.callgrind)
    ppid = prosody.proc.pid
    try:
        time.sleep(0.5)
        res["rss_start"] = rss(pid)
        users = xmpp_all[:a.users]
        for x in users:
            prepare_user(kind, x, ngircd, archiving)
        one, many = f"#{tag}one", f"#{tag}many"
        obs.join(one)
        obs.join(many)
        u0 = users[0]
        u0.join_send(side.room(one), f"{side.nickp}0")
        u0.join_wait(side.room(one), f"{side.nickp}0", a.timeout)
        drain(users + [obs], 1.0)
        res["rss_1"] = rss(pid)
        for i, x in enumerate(users):
            x.join_send(side.room(many), f"{side.nickp}{i}")
        for i, x in enumerate(users):
            x.join_wait(side.room(many), f"{side.nickp}{i}", a.timeout)
        drain(users + [obs], 2.0)
        res["rss_many"] = rss(pid)
        res["hwm_idle"] = rss(pid, "VmHWM")

        def phase(name, sender, receivers, n, chan_room, irc_chan):
            mk = f"q{tag}{name}z"
            for r in receivers:
                r.cnt.set((b"<body>" if isinstance(r, Xmpp) else b":") + mk.encode())
            if sender is obs:
                def send(i):
                    obs.sock.setblocking(True)
                    obs.sock.sendall(f"PRIVMSG {irc_chan} :{mk} {i}\r\n".encode())
                    obs.sock.setblocking(False)
            else:
                def send(i):
                    s = sender.c.sock
                    s.setblocking(True)
                    s.sendall(f"<message to='{chan_room}' type='groupchat'>"
                              f"<body>{mk} {i}</body></message>".encode())
                    s.setblocking(False)
            if a.callgrind:
                bl.callgrind_zero(pid)
            c0, p0, m0 = bl.cpu_seconds(pid), bl.cpu_seconds(ppid), bl.machine_busy()
            sent, got, el, ok = pump(send, receivers, n, a.window, a.phase_time, a.drain_time)
            c1, p1, m1 = bl.cpu_seconds(pid), bl.cpu_seconds(ppid), bl.machine_busy()
            ir = bl.callgrind_dump(pid, gwork, name)[0] if a.callgrind else None
            busy = (m1[0] - m0[0]) / max(m1[1] - m0[1], 1)
            res[name] = {"sent": sent, "got": got, "elapsed": el, "complete": ok,
                         "rate": got / el if el > 0 else 0.0,
                         "cpu": c1 - c0, "pcpu": p1 - p0,
                         "ir_msg": ir / max(got, 1) if ir is not None else None,
                         "cpu_msg": (c1 - c0) / max(got, 1),
                         "pcpu_msg": (p1 - p0) / max(got, 1),
                         "recv": len(receivers), "busy": busy,
                         "gshare": (c1 - c0) / el if el > 0 else 0.0,
                         "pshare": (p1 - p0) / el if el > 0 else 0.0}
            drain(users + [obs], 0.5)

        phase("x2i_1", u0, [obs, u0], a.n, side.room(one), one)
        phase("i2x_1", obs, [u0], a.n, None, one)
        phase("x2i_many", u0, [obs] + users, a.n_many, side.room(many), many)
        phase("i2x_many", obs, users, a.n_many, None, many)
        res["hwm"] = rss(pid, "VmHWM")
        res["rss_end"] = rss(pid)
        big = xmpp_all[a.users:]
        if big and archiving == a.big_in:
            # More users, after the load (so the heap has grown already):
            # each its own session and IRC connection, idle, in channels
            # of U users (#bigK): one channel of 1 000 would flood
            # Prosody and the clients with 500 000 occupant presences.
            t = time.monotonic()
            for x in big:
                prepare_user(kind, x, ngircd, archiving)
            def bigc(i):
                return f"#{tag}big{i // a.users}"
            for i, x in enumerate(big, a.users):
                x.join_send(side.room(bigc(i)), f"{side.nickp}{i}")
            for i, x in enumerate(big, a.users):
                x.join_wait(side.room(bigc(i)), f"{side.nickp}{i}", a.timeout)
            res["big_join_s"] = time.monotonic() - t
            drain(xmpp_all + [obs], 3.0)
            res["rss_big"] = rss(pid)
            res["hwm_big"] = rss(pid, "VmHWM")
            res["fds_big"] = len(os.listdir(f"/proc/{pid}/fd"))
            for i, x in enumerate(big, a.users):
                x.send(f"<presence type='unavailable' to='{side.room(bigc(i))}/{side.nickp}{i}'/>")
        obs.send(f"PART {one}\r\nPART {many}\r\n")
        for i, x in enumerate(users):
            x.send(f"<presence type='unavailable' to='{side.room(one)}/{side.nickp}{i}'/>"
                   if i == 0 else "")
            x.send(f"<presence type='unavailable' to='{side.room(many)}/{side.nickp}{i}'/>")
        drain(users + [obs], 1.0)
    finally:
        g.stop()
    return res


def fmt_rate(r):
    s = f"{r['rate']:,.0f}"
    return s if r["complete"] else s + "*"


def table(results, a):
    rows = []

    def mib(v):
        return "n/a" if v is None else f"{v:.1f} MiB"

    def kib(v):
        return "n/a" if v is None else f"{v:,.0f} KiB"

    def add(label, f, ratio=True):
        s = results.get("stanzagate")
        b = results.get("biboumi")
        vs = f(s) if s else None
        vb = f(b) if b else None
        rows.append((label, vs, vb, ratio))

    U = a.users
    for key, label in (("x2i_1", "XMPP->IRC, 1 user"), ("i2x_1", "IRC->XMPP, 1 user"),
                       ("x2i_many", f"XMPP->IRC, {U} users"),
                       ("i2x_many", f"IRC->XMPP, {U} users")):
        add(f"{label}: msg/s", lambda r, k=key: (r[k]["rate"], fmt_rate(r[k])))
        add(f"{label}: gateway CPU us/msg", lambda r, k=key: (r[k]["cpu_msg"] * 1e6,
                                                               f"{r[k]['cpu_msg'] * 1e6:,.1f}"))
        if a.callgrind:
            add(f"{label}: gateway instructions/msg",
                lambda r, k=key: (r[k]["ir_msg"], "n/a" if r[k]["ir_msg"] is None
                                  else f"{r[k]['ir_msg']:,.0f}"))
        add(f"{label}: Prosody CPU us/msg", lambda r, k=key: (r[k]["pcpu_msg"] * 1e6,
                                                               f"{r[k]['pcpu_msg'] * 1e6:,.1f}"))
        add(f"{label}: gateway / Prosody % of a core",
            lambda r, k=key: (None, f"{r[k]['gshare']:.0%} / {r[k]['pshare']:.0%}"), False)
        add(f"{label}: machine busy (all CPUs)",
            lambda r, k=key: (None, f"{r[k]['busy']:.0%}"), False)
        add(f"{label}: messages", lambda r, k=key: (None, f"{r[k]['got']}/{r[k]['sent']} in "
                                                    f"{r[k]['elapsed']:.2f} s"), False)
    add("RSS at start (no user)", lambda r: (r["rss_start"], mib(r["rss_start"])))
    add("RSS idle, 1 user in a channel", lambda r: (r["rss_1"], mib(r["rss_1"])))
    add(f"RSS idle, {U} users in a channel", lambda r: (r["rss_many"], mib(r["rss_many"])))
    add("RSS per extra user (idle)",
        lambda r: ((r["rss_many"] - r["rss_1"]) * 1024 / (U - 1),
                   kib((r["rss_many"] - r["rss_1"]) * 1024 / (U - 1))))
    add(f"peak RSS idle ({U} users joined)", lambda r: (r["hwm_idle"], mib(r["hwm_idle"])))
    add("peak RSS after the load", lambda r: (r["hwm"], mib(r["hwm"])))
    add("RSS after the load", lambda r: (r["rss_end"], mib(r["rss_end"])))
    if any("rss_big" in r for r in results.values()):
        B = a.big
        add(f"then {B} users in all (idle, channels of {U}): RSS",
            lambda r: (r.get("rss_big"), mib(r.get("rss_big"))))
        add(f"  RSS per user beyond {U} (idle)",
            lambda r: ((r["rss_big"] - r["rss_end"]) * 1024 / (B - U),
                       kib((r["rss_big"] - r["rss_end"]) * 1024 / (B - U)))
            if "rss_big" in r else (None, "n/a"))
        add(f"  peak RSS with {B} users", lambda r: (r.get("hwm_big"), mib(r.get("hwm_big"))))
        add(f"  open descriptors with {B} users",
            lambda r: (r.get("fds_big"), str(r.get("fds_big", "n/a"))), False)
        add(f"  time to join {B - U} more users",
            lambda r: (r.get("big_join_s"), f"{r['big_join_s']:.1f} s"
                       if "big_join_s" in r else "n/a"))
    w = max(len(r[0]) for r in rows) + 2
    out = [f"{'':<{w}}{'stanzagate':>20}{'Biboumi':>20}{'ratio sg/bb':>13}"]
    for label, vs, vb, ratio in rows:
        ss = vs[1] if vs else "n/a"
        sb = vb[1] if vb else "n/a"
        rt = ""
        if ratio and vs and vb and vs[0] is not None and vb[0]:
            rt = f"{vs[0] / vb[0]:.2f}"
        out.append(f"{label:<{w}}{ss:>20}{sb:>20}{rt:>13}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=5000, help="messages per 1-user phase")
    ap.add_argument("--n-many", type=int, default=1000, help="messages per many-user phase")
    ap.add_argument("-u", "--users", type=int, default=50, help="XMPP users in the big channel")
    ap.add_argument("-w", "--window", type=int, default=100,
                    help="messages ahead of the slowest receiver")
    ap.add_argument("--phase-time", type=float, default=8.0, help="s of sending per phase, at most")
    ap.add_argument("--drain-time", type=float, default=10.0,
                    help="s to wait for the receivers after sending stops")
    ap.add_argument("--archiving", choices=("on", "off", "both"), default="both")
    ap.add_argument("--big", type=int, default=0,
                    help="after the load, grow to this many users in all (e.g. 1000) "
                         "for idle memory; in the first archiving setting run")
    ap.add_argument("--only", choices=("stanzagate", "biboumi"), default=None)
    ap.add_argument("--timeout", type=float, default=30, help="s for each join")
    ap.add_argument("--binary", default=None, help="stanzagate binary")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--callgrind", action="store_true",
                    help="run both gateways under valgrind --tool=callgrind and report "
                         "instructions per message (rates and CPU are then not native)")
    a = ap.parse_args()
    if a.callgrind and shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed")
    a.users = max(2, a.users)
    a.big = a.big if a.big > a.users else 0
    bl.hard_limit(600 + a.big)
    # Many sessions and IRC connections: raise the descriptor limit, for
    # this process and (inherited) for Prosody, ngircd and both gateways.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    work = Path(tempfile.mkdtemp(prefix="sgbench-irc-"))
    accounts = {f"u{i}": "pw" for i in range(max(a.users, a.big))}
    accounts["admin"] = "pw"
    prosody = ngircd = None
    conns = []
    kinds = [a.only] if a.only else ["stanzagate", "biboumi"]
    archs = {"on": [True], "off": [False], "both": [True, False]}[a.archiving]
    a.big_in = archs[0]
    all_results = {}
    try:
        ngircd = sgtest.Ngircd(work / "ngircd", tls=False,
                               extra_global="[Limits]\nMaxPenaltyTime = 0\n").start()
        prosody = sgtest.Prosody(work / "prosody", accounts=accounts,
                                 components={SG_HOST: sgtest.COMPONENTS[SG_HOST],
                                             BB_HOST: BB_SECRET},
                                 extra_config=bl.prosody_info_log(work / "prosody")).start()
        xmpp_all = [Xmpp(prosody.c2s_port, f"u{i}") for i in range(max(a.users, a.big))]
        conns += xmpp_all
        drain(xmpp_all, 0.5)
        obs = Irc(ngircd.port, "obs")
        conns.append(obs)
        run = 0
        for archiving in archs:
            res = {}
            for kind in kinds:
                run += 1
                t = time.monotonic()
                res[kind] = run_gateway(kind, a, work, prosody, ngircd, archiving,
                                        xmpp_all, obs, f"r{run}")
                print(f"  ({kind}, archiving {'on' if archiving else 'off'}: "
                      f"{time.monotonic() - t:.1f} s)", file=sys.stderr)
            all_results[archiving] = res
        print(f"IRC gateways side by side  ({time.strftime('%Y-%m-%d %H:%M:%S %Z')}, "
              f"{os.cpu_count()} CPUs, loopback)")
        print(f"  Prosody 0.12 (info log), ngircd with MaxPenaltyTime = 0; stanzagate "
              f"throttle_burst = throttle_byte_burst = 0; Biboumi throttle_limit = -1")
        print(f"  raw clients: window {a.window} ahead of the slowest receiver; phases of at "
              f"most {a.n} (1 user) / {a.n_many} ({a.users} users) messages and "
              f"{a.phase_time:g} s of sending; * = not all received within "
              f"{a.drain_time:g} s more (rate = messages received by every receiver / time)")
        print("  CPU = utime+stime from /proc/PID/stat over the phase / messages relayed; "
              "RSS from /proc/PID/status")
        if a.callgrind:
            print("  both gateways under valgrind --tool=callgrind: instructions (Ir) per "
                  "relayed message are exact; rates, CPU and RSS are valgrind's")
        for archiving, res in all_results.items():
            print(f"\n== archiving {'on' if archiving else 'off'} "
                  f"(stanzagate [irc] history = {'yes' if archiving else 'no'}; Biboumi "
                  f"record_history = {'default (true)' if archiving else 'false'})")
            print(table(res, a))
    finally:
        for c in conns:
            try:
                c.close()
            except Exception:
                pass
        if prosody is not None:
            prosody.stop()
        if ngircd is not None:
            ngircd.stop()
        bl.keep_or_remove(work, a.keep)


if __name__ == "__main__":
    main()
