"""Shared pieces of the benchmarks: the integration harness's Prosody and
Gateway launchers (tests/integration/sgtest.py), per-process CPU and memory
from /proc, and a minimal raw-socket XMPP client.

The raw client speaks just enough c2s to log in over plain TCP on loopback
(SASL PLAIN, bind, initial presence) and then pushes prebuilt message bytes
and counts what comes back. It parses no XML after login, so it costs a few
microseconds per message and is never the bottleneck (the benchmarks print
its CPU time to show it).
"""

import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
import sgtest  # noqa: E402  (the harness: Prosody, Gateway, free ports)

DOMAIN = sgtest.DOMAIN
ECHO_HOST = "echo.localhost"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def prosody_info_log(workdir):
    """extra_config for sgtest.Prosody: log at info, not debug (the
    harness's default), so Prosody does not spend its time logging every
    stanza. Later assignments win in Prosody's global section."""
    return (f'log = {{ {{ levels = {{ min = "info" }}, to = "file", '
            f'filename = "{Path(workdir) / "prosody.log"}" }} }}\n')


def make_prosody(workdir, accounts, nagle=True):
    """The harness's Prosody with only echo.localhost declared. nagle=False
    sets Prosody's network_settings.nagle (default on: small writes wait for
    the peer's delayed ACK, up to 40 ms on Linux)."""
    extra = prosody_info_log(workdir)
    if not nagle:
        extra += "network_settings = { nagle = false }\n"
    return sgtest.Prosody(workdir, accounts=accounts,
                          components={ECHO_HOST: sgtest.COMPONENTS[ECHO_HOST]},
                          extra_config=extra)


def make_gateway(workdir, prosody, binary=None, verbose=False):
    """The daemon in the foreground, logging at info (-v adds debug, which
    costs a line per stanza)."""
    args = ("-d", "-v") if verbose else ("-d",)
    return sgtest.Gateway(workdir, prosody, backends=(ECHO_HOST,), binary=binary, args=args)


# --------------------------------------------------------------------------
# /proc


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (clock-tick resolution)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def callgrind_total(outfile):
    """The instructions counted in a callgrind dump, or None."""
    for line in Path(outfile).read_text(errors="replace").splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    return None


def callgrind_dump(pid, workdir, label):
    """Dumps a callgrind process's counters (then zeroed) into workdir;
    returns (instructions since the last zero or dump, the dump's path), or
    (None, None)."""
    before = set(Path(workdir).glob("callgrind.out.*"))
    subprocess.run(["callgrind_control", "-d", label, str(pid)], check=True,
                   capture_output=True, timeout=120)
    dumps = sorted(set(Path(workdir).glob("callgrind.out.*")) - before)
    return (callgrind_total(dumps[-1]), dumps[-1]) if dumps else (None, None)


def callgrind_zero(pid):
    subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True,
                   timeout=120)


def proc_status(pid, key):
    """A kB figure from /proc/PID/status (VmRSS, VmHWM...), in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return None


def machine_busy():
    """(busy, total) jiffies of the whole machine, for a utilisation figure."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


class CpuMeter:
    """CPU seconds of some processes (and of the whole machine) between
    start() and stop()."""

    def __init__(self, pids):
        self.pids = dict(pids)  # name -> pid

    def start(self):
        self.t0 = time.monotonic()
        self.c0 = {n: cpu_seconds(p) for n, p in self.pids.items()}
        self.m0 = machine_busy()
        self.s0 = os.times()
        return self

    def stop(self):
        self.wall = time.monotonic() - self.t0
        self.cpu = {n: cpu_seconds(p) - self.c0[n] for n, p in self.pids.items()}
        m1 = machine_busy()
        s1 = os.times()
        self.cpu["client"] = (s1.user - self.s0.user + s1.system - self.s0.system
                              + s1.children_user - self.s0.children_user
                              + s1.children_system - self.s0.children_system)
        busy, total = m1[0] - self.m0[0], m1[1] - self.m0[1]
        self.machine_util = busy / total if total else 0.0
        return self


# --------------------------------------------------------------------------
# A raw c2s client


class XmppError(Exception):
    pass


def _iq_answer(iq_id):
    """A pattern for the whole iq stanza with this id."""
    return (rb"<iq\b[^>]*?\bid=['\"]" + re.escape(iq_id) + rb"['\"][^>]*?(/>|>.*?</iq>)")


class RawClient:
    """Logged in and available on connect(); afterwards the socket is the
    caller's (non-blocking), with `pending` holding bytes already read."""

    def __init__(self, port, user, password, resource="bench", host="127.0.0.1"):
        self.port, self.user, self.password = port, user, password
        self.resource, self.host = resource, host
        self.jid = f"{user}@{DOMAIN}/{resource}"
        self.sock = None
        self.buf = b""

    def _read_until(self, pattern, timeout=10):
        rx = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                rest = self.buf[m.end():]
                got = self.buf[:m.end()]
                self.buf = rest
                return got, m
            left = deadline - time.monotonic()
            if left <= 0:
                raise XmppError(f"{self.user}: timed out waiting for {pattern!r}; "
                                f"got {self.buf[-300:]!r}")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise XmppError(f"{self.user}: connection closed; got {self.buf[-300:]!r}")
            self.buf += data

    def _open_stream(self):
        self.sock.sendall(
            f"<?xml version='1.0'?><stream:stream to='{DOMAIN}' version='1.0' "
            "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>".encode())
        self._read_until(rb"</stream:features>")

    def connect(self, timeout=10):
        self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._open_stream()
        cred = base64.b64encode(f"\0{self.user}\0{self.password}".encode()).decode()
        self.sock.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                           f"{cred}</auth>").encode())
        got, m = self._read_until(rb"<(success|failure)\b[^>]*?(/>|>.*?</\1>)")
        if m.group(1) != b"success":
            raise XmppError(f"{self.user}: authentication failed: {got!r}")
        self._open_stream()
        self.sock.sendall(("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                           f"<resource>{self.resource}</resource></bind></iq>").encode())
        got, _ = self._read_until(_iq_answer(b"bind1"))
        if b"type='result'" not in got and b'type="result"' not in got:
            raise XmppError(f"{self.user}: bind failed: {got!r}")
        # Available, so messages to the bare JID reach this resource.
        self.sock.sendall(b"<presence/>")
        return self

    def send(self, data):
        self.sock.settimeout(10)
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def iq_roundtrip(self, to, payload, iq_id, timeout=10):
        """Send an iq get and wait for its answer; returns the raw bytes of
        the answer (result or error). Blocking; for setup and probes only."""
        self.send(f"<iq type='get' to='{to}' id='{iq_id}'>{payload}</iq>")
        got, _ = self._read_until(_iq_answer(iq_id.encode()), timeout)
        return got

    def close(self):
        if self.sock is not None:
            try:
                self.sock.settimeout(2)
                self.sock.sendall(b"</stream:stream>")
            except OSError:
                pass
            self.sock.close()
            self.sock = None


def keep_or_remove(work, keep):
    """A run's temporary directory: kept, and said where, when asked for;
    removed otherwise."""
    if keep:
        print(f"  files kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def hard_limit(seconds):
    """Raise TimeoutError in the main thread after `seconds`, so that a stuck
    run still stops its servers (the callers clean up in `finally`)."""
    def expired(signum, frame):
        raise TimeoutError(f"benchmark still running after {seconds} s: stopped")
    signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)


def fmt(x, unit="", digits=3):
    if x is None:
        return "n/a"
    return f"{x:.{digits}g}{unit}" if isinstance(x, float) else f"{x}{unit}"
