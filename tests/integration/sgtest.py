"""Integration test harness for stanzagate.

Real servers, started by the tests on free loopback ports in a temp dir:

- Prosody: a private instance (never the system one), its own config, data
  and log; kill()/start() keep the same ports so the gateway can reconnect.
- Gateway: the built stanzagate binary with a generated config.
- Client: a slixmpp ClientXMPP whose asyncio loop runs in one background
  thread; the test thread calls synchronous helpers that wait with timeouts.

conftest.py turns these into fixtures; tests can also use them directly.
"""

import asyncio
import base64
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROSODY = os.environ.get("PROSODY_BIN", "/usr/bin/prosody")
# Valgrind and similar slow the daemon down: every wait scales with this.
TIMEOUT_SCALE = float(os.environ.get("STANZAGATE_TIMEOUT_SCALE", "1"))

DOMAIN = "localhost"
# The upload service (XEP-0363) every Prosody instance has, as real servers do.
UPLOAD = f"upload.{DOMAIN}"

# Accounts every Prosody instance has: name -> password.
ACCOUNTS = {
    "alice": "alice-pw",
    "bob": "bob-pw",
    "admin": "admin-pw",
    "carol": "carol-pw",
}
# Components every Prosody instance declares: host -> secret. Declaring a
# component that nothing connects costs nothing; a gateway config enables
# the backends it wants among these.
COMPONENTS = {
    "echo.localhost": "echo-s3cret",
    "irc.localhost": "irc-s3cret",
    "sms.localhost": "sms-s3cret",
    "mail.localhost": "mail-s3cret",
}
# Section name in stanzagate.conf for each component host.
SECTION_OF = {
    "echo.localhost": "echo",
    "irc.localhost": "irc",
    "sms.localhost": "sms",
    "mail.localhost": "email",
}

PLUGINS = [
    "xep_0030",  # disco
    "xep_0004",  # data forms
    "xep_0050",  # ad-hoc commands
    "xep_0077",  # in-band registration
    "xep_0045",  # MUC
    "xep_0092",  # version
    "xep_0199",  # ping
    "xep_0184",  # receipts
    "xep_0085",  # chat states
    "xep_0203",  # delay
    "xep_0359",  # stable ids
    # Not xep_0100: slixmpp's is the component side only (it logs an error
    # and does nothing in a client); use Client.gateway_prompt() instead.
]


def scaled(seconds):
    return seconds * TIMEOUT_SCALE


_given_ports = set()


def free_port():
    """A loopback TCP port that was free a moment ago and that this process
    has not handed out before."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port
    raise RuntimeError("no free port")


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout, what="condition", interval=0.05):
    """Poll predicate() until it is true; AssertionError naming `what` after
    timeout seconds (scaled). Returns the predicate's value."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def tail(text, lines=80):
    return "\n".join(text.splitlines()[-lines:])


def caps_ver(info):
    """The XEP-0115 verification string (section 5.1) of a disco#info
    result (slixmpp's disco_info interface), with its extended forms
    (XEP-0128) as section 5.4 adds them."""
    ids = sorted(f"{cat}/{typ}/{lang or ''}/{name or ''}"
                 for cat, typ, lang, name in info["identities"])
    s = "".join(i + "<" for i in ids) + "".join(f + "<" for f in sorted(info["features"]))
    forms = []
    for x in info.xml.findall("{jabber:x:data}x"):
        fields = {f.get("var"): sorted(v.text or "" for v in f.findall("{jabber:x:data}value"))
                  for f in x.findall("{jabber:x:data}field")}
        forms.append((fields.pop("FORM_TYPE", [""])[0], fields))
    for form_type, fields in sorted(forms):
        s += form_type + "<"
        for var in sorted(fields):
            s += var + "<" + "".join(v + "<" for v in fields[var])
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


def roster_items(c):
    """The roster of client c as its server has it: JID -> <item/> element."""
    r = c.iq(None, '<query xmlns="jabber:iq:roster"/>', "get")
    q = r.xml.find("{jabber:iq:roster}query")
    return {i.get("jid"): i for i in q.findall("{jabber:iq:roster}item")}


# --------------------------------------------------------------------------
# Prosody


class _Server:
    """What the private servers and the daemon share: a process and its log."""

    proc = None
    log_file = None

    @property
    def log(self):
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM and wait (SIGKILL after timeout). Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(scaled(timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Prosody(_Server):
    """A private Prosody 0.12 on loopback.

    Paths: <workdir>/prosody.cfg.lua, data/, prosody.log, prosody.out.
    Ports (c2s_port, component_port) are chosen once and kept across
    kill()/start(), so a gateway configured for them can reconnect.
    """

    def __init__(self, workdir, accounts=None, components=None, extra_config="",
                 c2s_port=None, component_port=None, disabled_modules=(), privileged=()):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.accounts = dict(ACCOUNTS if accounts is None else accounts)
        self.components = dict(COMPONENTS if components is None else components)
        self.extra_config = extra_config
        self.disabled_modules = ("s2s",) + tuple(disabled_modules)
        # Components granted roster access (XEP-0356, prosody-modules' mod_privilege).
        self.privileged = tuple(privileged)
        self.c2s_port = c2s_port or free_port()
        self.component_port = component_port or free_port()
        self.http_port = free_port()  # XEP-0363 uploads (mod_http_file_share)
        self.config_file = self.dir / "prosody.cfg.lua"
        self.data_dir = self.dir / "data"
        self.log_file = self.dir / "prosody.log"
        self.out_file = self.dir / "prosody.out"
        self.proc = None
        # True: run in its own session, out of reach of the terminal's
        # Ctrl-C (the demo stops it itself, after the gateway).
        self.new_session = False
        self._write_config()
        for user, password in self.accounts.items():
            self.add_account(user, password)

    def _write_config(self):
        d = self.dir
        (d / "certs").mkdir(exist_ok=True)
        comps = "".join(
            f'Component "{host}"\n\tcomponent_secret = "{secret}"\n'
            + ('\tmodules_enabled = { "privilege" }\n' if host in self.privileged else "")
            for host, secret in self.components.items()
        )
        privileges = ""
        if self.privileged:
            privileges = "privileged_entities = {\n" + "".join(
                f'\t["{host}"] = {{ roster = "both"; }};\n' for host in self.privileged) + "}\n"
        # run_as_root: CI runs as root, and Prosody otherwise refuses to
        # start (mod_posix). Unbound (lua-unbound) is only used for s2s,
        # which is off: no network is needed.
        self.config_file.write_text(f"""-- generated by tests/integration/sgtest.py
run_as_root = true
data_path = "{self.data_dir}"
pidfile = "{d}/prosody.pid"
certificates = "{d}/certs"
plugin_paths = {{}}
log = {{ {{ levels = {{ min = "debug" }}, to = "file", filename = "{self.log_file}" }} }}
modules_enabled = {{
\t"roster"; "saslauth"; "disco"; "posix"; "ping"; "version"; "time";
\t"offline"; "private"; "vcard"; "uptime"; "blocklist";
\t"carbons"; "mam"; {'"privilege";' if self.privileged else ""}
}}
modules_disabled = {{ {"".join(f'"{m}"; ' for m in self.disabled_modules)}}}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {self.c2s_port} }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_direct_tls_ports = {{}}
legacy_ssl_ports = {{}}
s2s_ports = {{}}
http_ports = {{ {self.http_port} }}
http_interfaces = {{ "127.0.0.1" }}
http_host = "127.0.0.1"
http_external_url = "http://127.0.0.1:{self.http_port}/"
https_ports = {{}}
default_archive_policy = true
archive_expires_after = "1d"
component_ports = {{ {self.component_port} }}
component_interfaces = {{ "127.0.0.1" }}
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = "internal"
allow_registration = false
limits = {{ c2s = {{ rate = "10mb/s" }}; component = {{ rate = "100mb/s" }} }}
{self.extra_config}
VirtualHost "{DOMAIN}"
disco_items = {{ {{ "{UPLOAD}", "file upload" }} }}
{privileges}{comps}
Component "{UPLOAD}" "http_file_share"
	http_file_share_size_limit = 1048576
""")

    def add_account(self, user, password):
        """Create an account by writing internal_plain's store directly
        (works whether or not Prosody runs: the store is read at login)."""
        acc = self.data_dir / DOMAIN / "accounts"
        acc.mkdir(parents=True, exist_ok=True)
        (acc / f"{user}.dat").write_text(
            "return {\n\t[\"password\"] = %s;\n};\n" % _lua_string(password)
        )
        self.accounts[user] = password

    def start(self, timeout=15):
        assert not self.running(), "prosody already running"
        out = open(self.out_file, "ab")
        self.proc = subprocess.Popen(
            [PROSODY, "--config", str(self.config_file), "-F"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.dir, env=dict(os.environ, HOME=str(self.dir)),
            start_new_session=self.new_session,
        )
        out.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"prosody exited with {self.proc.returncode}:\n"
                    + tail(self.out_file.read_text(errors="replace"))
                    + "\n" + tail(self.log))
            return port_open(self.c2s_port) and port_open(self.component_port)

        wait_until(up, timeout, "prosody to listen")
        return self

    def kill(self, sig=signal.SIGKILL):
        """Kill Prosody abruptly (default SIGKILL) and wait for it."""
        if self.running():
            self.proc.send_signal(sig)
            self.proc.wait(scaled(10))
        # Listening ports must be free again before a start() on them.
        wait_until(lambda: not port_open(self.c2s_port)
                   and not port_open(self.component_port), 10,
                   "prosody's ports to close")

    def restart(self):
        self.stop()
        return self.start()

    def component_auth_count(self, host):
        """How many times component `host` has authenticated (log lines)."""
        pat = re.compile(re.escape(host) + r":component\s+info\s+External component successfully authenticated")
        return len(pat.findall(self.log))


def _lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# --------------------------------------------------------------------------
# IRC: a private ngircd, and a minimal line-based IRC client for tests


class Ngircd(_Server):
    """A private ngircd on loopback: a plain port and, when `tls` (default),
    a TLS port with a self-signed certificate (<workdir>/cert.pem; the CA a
    gateway must trust is that same file). ngircd has no SASL.
    As root it drops to nobody, so its files are made world-readable."""

    def __init__(self, workdir, name="irc.localtest", tls=True, extra_global=""):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.name = name
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.config_file = self.dir / "ngircd.conf"
        self.log_file = self.dir / "ngircd.log"
        self.cert = self.dir / "cert.pem"
        self.key = self.dir / "key.pem"
        self.proc = None
        if tls:
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                 "-keyout", str(self.key), "-out", str(self.cert)],
                check=True, capture_output=True)
            os.chmod(self.key, 0o644)
        ssl = (f"""
[SSL]
Ports = {self.tls_port}
CertFile = {self.cert}
KeyFile = {self.key}
""" if tls else "")
        self.config_file.write_text(f"""# generated by tests/integration/sgtest.py
[Global]
Name = {name}
Info = stanzagate test server
Listen = 127.0.0.1
Ports = {self.port}
MotdPhrase = stanzagate test server
AdminInfo1 = tests
AdminInfo2 = tests
AdminEMail = tests@localhost
{extra_global}
[Limits]
MaxConnectionsIP = 0
MaxNickLength = 30
PingTimeout = 120
[Options]
PAM = no
Ident = no
DNS = no
{ssl}""")

    def start(self, timeout=10):
        out = open(self.log_file, "ab")
        self.proc = subprocess.Popen(["ngircd", "-n", "-f", str(self.config_file)],
                                     stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        out.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"ngircd exited with {self.proc.returncode}:\n{tail(self.log)}")
            return port_open(self.port) and (self.tls_port is None or port_open(self.tls_port))
        wait_until(up, timeout, "ngircd to listen")
        return self

    def kill(self, sig=signal.SIGKILL):
        if self.running():
            self.proc.send_signal(sig)
            self.proc.wait(scaled(10))


class IrcClient:
    """A plain IRC client for tests: connect, register, send lines, wait for
    lines. Lines are kept unparsed (str, without CRLF); PINGs are answered."""

    def __init__(self, port, nick, host="127.0.0.1", tls=False, cafile=None, caps=()):
        import ssl
        self.nick = nick
        sock = socket.create_connection((host, port), timeout=scaled(10))
        if tls:
            ctx = ssl.create_default_context(cafile=cafile)
            sock = ctx.wrap_socket(sock, server_hostname="localhost")
        # The timeout was for connecting: the reader waits as long as a
        # channel stays quiet (waits are bounded by wait_for instead).
        sock.settimeout(None)
        self.sock = sock
        self.lines = []
        self._cond = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if caps:
            # IRCv3 capabilities (message-tags...): asked for, ACK awaited, then CAP END.
            self.send("CAP LS 302")
        self.send(f"NICK {nick}")
        self.send(f"USER {nick} 0 * :{nick} test user")
        if caps:
            self.send("CAP REQ :" + " ".join(caps))
            ack = self.wait_for(lambda line: " CAP " in line and (" ACK " in line or " NAK " in line),
                                10, "CAP ACK")
            assert " ACK " in ack, ack
            self.send("CAP END")
        self.wait_for(lambda line: f" 001 {nick} " in line, 10, "welcome (001)")

    @staticmethod
    def tags(line):
        """The IRCv3 tags of a line as a dict (values unescaped), {} without."""
        if not line.startswith("@"):
            return {}
        out = {}
        esc = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
        for t in line[1:].split(" ", 1)[0].split(";"):
            k, _, v = t.partition("=")
            val, i = "", 0
            while i < len(v):
                if v[i] == "\\" and i + 1 < len(v):
                    val += esc.get(v[i + 1], v[i + 1])
                    i += 2
                else:
                    val += v[i]
                    i += 1
            out[k] = val
        return out

    @staticmethod
    def untagged(line):
        """The line without its tags."""
        return line.split(" ", 1)[1] if line.startswith("@") else line

    def _read(self):
        buf = b""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                buf += data
                while b"\r\n" in buf:
                    raw, buf = buf.split(b"\r\n", 1)
                    line = raw.decode("utf-8", errors="replace")
                    if line.startswith("PING "):
                        self.send("PONG " + line[5:])
                        continue
                    with self._cond:
                        self.lines.append(line)
                        self._cond.notify_all()
        except OSError:
            pass
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def wait_for(self, predicate, timeout=10, what="matching line"):
        """First unconsumed line matching predicate (consumed)."""
        deadline = time.monotonic() + scaled(timeout)
        with self._cond:
            while True:
                for i, line in enumerate(self.lines):
                    if predicate(line):
                        del self.lines[i]
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise AssertionError(f"IRC {self.nick}: no {what} within {timeout}s"
                                         f"{' (connection closed)' if self._closed else ''};"
                                         f" last lines:\n" + "\n".join(self.lines[-15:]))
                self._cond.wait(left)

    def join(self, channel):
        self.send(f"JOIN {channel}")
        self.wait_for(lambda line: f" 366 {self.nick} {channel} " in line, 10, f"end of NAMES for {channel}")

    def send_and_wait_echo(self, line):
        """Send a channel change (MODE #chan ..., TOPIC #chan :...) and wait
        until the server relays it to the channel: it is then in effect."""
        head = " ".join(line.split(" ")[:3])
        self.send(line)
        self.wait_for(lambda l: f" {head}" in l, 10, f"{head} relayed")

    def privmsg(self, target, text):
        self.send(f"PRIVMSG {target} :{text}")

    def wait_privmsg(self, target, text=None, timeout=10):
        """Wait for a PRIVMSG to `target` (a channel or our nick), optionally
        with this exact text; returns (sender nick, text)."""
        def match(line):
            parts = self.untagged(line).split(" ", 3)
            return (len(parts) == 4 and parts[1] == "PRIVMSG" and parts[2] == target
                    and (text is None or parts[3][1:] == text))
        line = self.wait_for(match, timeout, f"PRIVMSG {target} {text!r}")
        prefix, _, _, msg = self.untagged(line).split(" ", 3)
        return prefix[1:].split("!")[0], msg[1:]

    def close(self):
        try:
            self.send("QUIT :bye")
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------
# Sanitizers (a daemon built by SANITIZE=1 scripts/build.sh)

# Suppressions for leaks owned by the libraries, each with the reason.
LSAN_SUPPRESSIONS = Path(__file__).with_name("lsan.supp")


def with_sanitizer_options(options, **kv):
    """An ASAN_OPTIONS-style string with kv appended (later ones win)."""
    parts = [options] if options else []
    parts += [f"{k}={v}" for k, v in kv.items()]
    return ":".join(parts)


def sanitizer_environment(report_dir, suppressions=()):
    """The variables that send every ASan, UBSan and LSan report of the
    processes started with them to report_dir/report.<pid> (not to their
    stderr), with LSan reading lsan.supp plus the extra files named.
    Processes not built with a sanitizer ignore them."""
    report_dir = Path(report_dir)
    supp = report_dir / "lsan.supp"
    supp.write_text("".join(Path(f).read_text() for f in (LSAN_SUPPRESSIONS, *suppressions)))
    prefix = report_dir / "report"
    return {
        "ASAN_OPTIONS": with_sanitizer_options(os.environ.get("ASAN_OPTIONS", ""),
                                               log_path=prefix),
        "UBSAN_OPTIONS": with_sanitizer_options(os.environ.get("UBSAN_OPTIONS", ""),
                                                log_path=prefix),
        # print_suppressions=0: no "Suppressions used" table, alone in a
        # report file, when only suppressed leaks were found.
        "LSAN_OPTIONS": with_sanitizer_options(os.environ.get("LSAN_OPTIONS", ""),
                                               suppressions=supp, print_suppressions=0),
    }


def sanitizer_reports(report_dir, pid=None):
    """[(pid, text)] of the reports in report_dir (of that pid only)."""
    found = []
    for f in sorted(Path(report_dir).glob("report.*")):
        p = int(f.suffix[1:]) if f.suffix[1:].isdigit() else None
        text = f.read_text(errors="replace")
        if text.strip() and (pid is None or p == pid):
            found.append((p, text))
    return found


# --------------------------------------------------------------------------
# Gateway


def gateway_binary():
    """The daemon under test: $STANZAGATE_BIN, else $STANZAGATE_BUILD_DIR/
    stanzagate, else the newer of build/stanzagate (scripts/build.sh) and
    an in-tree ./stanzagate."""
    env = os.environ.get("STANZAGATE_BIN")
    if env:
        return Path(env).resolve()
    bdir = os.environ.get("STANZAGATE_BUILD_DIR")
    if bdir:
        return (Path(bdir) / "stanzagate").resolve()
    cands = [p for p in (REPO / "build" / "stanzagate", REPO / "stanzagate")
             if p.is_file() and os.access(p, os.X_OK)]
    if not cands:
        return REPO / "build" / "stanzagate"
    return max(cands, key=lambda p: p.stat().st_mtime)


class Gateway(_Server):
    """The stanzagate daemon, run in the foreground (-d) with logging to
    <workdir>/gateway.log.

    `backends` is a list of component hosts from COMPONENTS (default: just
    echo.localhost); `extra` is a dict section -> {key: value} merged into
    the generated config (None as a value drops the key).
    """

    def __init__(self, workdir, prosody, backends=("echo.localhost",), extra=None,
                 binary=None, args=("-d", "-v", "-v")):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.prosody = prosody
        self.backends = list(backends)
        self.binary = Path(binary) if binary else gateway_binary()
        self.args = list(args)
        self.config_file = self.dir / "stanzagate.conf"
        self.log_file = self.dir / "gateway.log"
        self.db_path = self.dir / "stanzagate.db"
        self.key_file = self.dir / "secret.key"
        self.proc = None
        self.stopped_by_us = False
        self.new_session = False  # as Prosody.new_session
        self.sections = self.default_sections()
        for section, kv in (extra or {}).items():
            sec = self.sections.setdefault(section, {})
            for k, v in kv.items():
                if v is None:
                    sec.pop(k, None)
                else:
                    sec[k] = v
        self.write_config()

    def default_sections(self):
        s = {
            "xmpp": {
                "server": "127.0.0.1",
                "port": str(self.prosody.component_port),
                "admins": f"admin@{DOMAIN}",
                "allowed_domains": DOMAIN,
            },
            "storage": {
                "url": f"sqlite:{self.db_path}",
                "key_file": str(self.key_file),
            },
        }
        for host in self.backends:
            section = SECTION_OF[host]
            # The daemon under test is not installed: its avatars are the tree's.
            s[section] = {"jid": host, "secret": self.prosody.components[host],
                          "avatar": str(REPO / "data" / "avatars" / f"{section}.png")}
        return s

    def write_config(self, text=None):
        if text is None:
            text = "; generated by tests/integration/sgtest.py\n"
            for section, kv in self.sections.items():
                text += f"\n[{section}]\n"
                for k, v in kv.items():
                    text += f"{k} = {v}\n"
        self.config_file.write_text(text)

    def command(self):
        wrapper = os.environ.get("STANZAGATE_WRAPPER", "").split()
        return wrapper + [str(self.binary)] + self.args + ["-c", str(self.config_file)]

    def start(self, wait=True, timeout=15):
        """Start the daemon; with wait, return once Prosody has seen every
        configured component authenticate (fails with the log if the daemon
        exits first)."""
        assert not self.running(), "gateway already running"
        if not self.binary.is_file():
            raise AssertionError(
                f"stanzagate binary not found at {self.binary}: run scripts/build.sh "
                "or set STANZAGATE_BIN")
        before = {h: self.prosody.component_auth_count(h) for h in self.backends}
        log = open(self.log_file, "ab")
        log.write(f"==== {' '.join(self.command())}\n".encode())
        log.flush()
        self.stopped_by_us = False
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=self.dir, start_new_session=self.new_session)
        log.close()
        if wait:
            self.wait_connected(before, timeout)
        return self

    def wait_connected(self, before=None, timeout=15):
        """Wait until each backend's component authenticated more often than
        in `before` (default: at least once)."""
        before = before or {h: 0 for h in self.backends}

        def ok():
            self.check_alive()
            return all(self.prosody.component_auth_count(h) > before.get(h, 0)
                       for h in self.backends)

        wait_until(ok, timeout, "the gateway's components to connect to prosody "
                   f"({', '.join(self.backends)})")

    def check_alive(self):
        """AssertionError with the log if the daemon exited on its own."""
        if self.proc is not None and not self.stopped_by_us and self.proc.poll() is not None:
            raise AssertionError(
                f"stanzagate exited unexpectedly ({describe_status(self.proc.returncode)})"
                f"; log:\n{tail(self.log, 120)}")

    def kill(self, sig=signal.SIGTERM, timeout=10):
        """Send `sig` and wait for exit; returns the exit status (negative =
        killed by that signal, as in subprocess). SIGKILL after timeout."""
        if self.proc is None:
            return None
        self.stopped_by_us = True
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(scaled(timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(
                    f"stanzagate did not exit within {timeout}s of {signal.Signals(sig).name}"
                    f"; log:\n{tail(self.log)}")
        return self.proc.returncode

    def stop(self, timeout=10):
        return self.kill(signal.SIGTERM, timeout)

    def restart(self, sig=signal.SIGTERM, wait=True):
        self.kill(sig)
        return self.start(wait=wait)

    def run(self, *args, timeout=15):
        """Run the binary once with other arguments (e.g. -n -c FILE);
        returns the CompletedProcess with text stdout/stderr."""
        return run_binary(self.binary, *args, timeout=timeout, cwd=self.dir)


def sql_literal(v):
    """v as an SQL literal (for psql, which takes no parameters)."""
    if v is None:
        return "NULL"
    if isinstance(v, (int, float)):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def store_rows(gateway, sql, params=()):
    """The rows of sql (? placeholders) in the gateway's store, read beside
    the daemon: its SQLite file, or its PostgreSQL database when the gateway
    has one (gateway.pg, gateway.pg_name: SG_TEST_STORE=postgresql).
    PostgreSQL's values come back as text, integers as int."""
    pg = getattr(gateway, "pg", None)
    if pg is None:
        import sqlite3
        with sqlite3.connect(f"file:{gateway.db_path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute(sql, params).fetchall()
    parts = sql.split("?")
    assert len(parts) == len(params) + 1, sql
    sql = parts[0] + "".join(sql_literal(a) + p for a, p in zip(params, parts[1:]))
    return [tuple(int(v) if v.lstrip("-").isdigit() else v for v in line.split("|"))
            for line in pg.psql(gateway.pg_name, sql).splitlines() if line]


def run_binary(binary, *args, timeout=15, cwd=None):
    wrapper = os.environ.get("STANZAGATE_WRAPPER", "").split()
    return subprocess.run(wrapper + [str(binary)] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=scaled(timeout),
                          stdin=subprocess.DEVNULL, cwd=cwd)


def describe_status(code):
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


# --------------------------------------------------------------------------
# Clients


class LoopThread:
    """One asyncio event loop in a daemon thread, shared by all clients."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="slixmpp-loop", daemon=True)
        self.thread.start()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro_factory, timeout=10):
        """Run coro_factory() (a coroutine function called in the loop
        thread) and return its result; raises on timeout."""
        async def wrapper():
            return await asyncio.wait_for(coro_factory(), scaled(timeout))
        fut = asyncio.run_coroutine_threadsafe(wrapper(), self.loop)
        try:
            return fut.result(scaled(timeout) + 5)
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out after {timeout}s") from None

    def call(self, fn, *args, **kwargs):
        """Call a plain function in the loop thread; returns its result."""
        async def wrapper():
            return fn(*args, **kwargs)
        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(30)

    def close(self):
        async def cancel_all():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(5)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


class Client:
    """A connected slixmpp client with synchronous helpers.

    Every message and presence received is recorded; wait_for_* take the
    first recorded stanza matching a predicate (consuming it) or wait for
    one to arrive.
    """

    def __init__(self, loop, prosody, user, password=None, resource="test",
                 plugins=PLUGINS):
        self.loop = loop
        self.prosody = prosody
        self.user = user
        self.jid = f"{user}@{DOMAIN}/{resource}"
        self.bare = f"{user}@{DOMAIN}"
        self.password = password or prosody.accounts[user]
        self.plugins = list(plugins)
        self._cond = threading.Condition()
        self.messages = []   # unconsumed message stanzas
        self.presences = []  # unconsumed presence stanzas
        self.all_stanzas = []  # everything, for debugging
        self.xmpp = None
        self.connected = False

    # -- life cycle (runs in the loop thread) --

    def connect(self, timeout=15):
        async def go():
            # Imported here so that collecting the tests does not need
            # slixmpp (the skip message in conftest is clearer).
            import slixmpp
            from slixmpp.xmlstream.handler import Callback
            from slixmpp.xmlstream.matcher import MatchXPath
            x = slixmpp.ClientXMPP(self.jid, self.password)
            x.loop = asyncio.get_running_loop()
            for p in self.plugins:
                x.register_plugin(p)
            x.init_plugins()
            # Loopback without TLS: allow PLAIN if SCRAM is not offered.
            x["feature_mechanisms"].unencrypted_plain = True
            x.auto_authorize = True
            x.auto_subscribe = True
            started = asyncio.get_running_loop().create_future()

            def on_start(_):
                if not started.done():
                    started.set_result(True)

            def on_fail(reason):
                if not started.done():
                    started.set_exception(AssertionError(f"{self.jid}: {reason}"))

            x.add_event_handler("session_start", on_start)
            x.add_event_handler("failed_auth", lambda _: on_fail("authentication failed"))
            x.add_event_handler("connection_failed", lambda e: on_fail(f"connection failed: {e}"))
            x.add_event_handler("disconnected", self._on_disconnected)
            x.add_event_handler("message", self._on_message)
            # slixmpp's "message" event needs a <body/>: receipts, chat
            # states, errors and subjects come through this handler.
            x.register_handler(Callback(
                "sgtest-bodyless", MatchXPath("{jabber:client}message"), self._on_any_message))
            # Every presence, through a raw handler: slixmpp's "presence"
            # event stops for a room after its first occupant (the MUC
            # plugin sets ignore_updates on the room's roster node), and its
            # MUC events drop a room's presences once leave_muc() ran.
            x.register_handler(Callback(
                "sgtest-presence", MatchXPath("{jabber:client}presence"), self._record_presence))
            self.xmpp = x
            x.connect(("127.0.0.1", self.prosody.c2s_port), use_ssl=False,
                      force_starttls=False, disable_starttls=True)
            await started
            self.connected = True
            await x.get_roster()
            x.send_presence()
            return True

        self.loop.run(go, timeout)
        return self

    def disconnect(self):
        if self.xmpp is None:
            return

        async def go():
            await self.xmpp.disconnect(wait=1)
        try:
            self.loop.run(go, 5)
        except Exception:
            pass
        self.connected = False

    def _on_disconnected(self, _):
        self.connected = False

    def _on_any_message(self, msg):
        if msg.xml.find("{jabber:client}body") is None:
            self._on_message(msg)

    def _on_message(self, msg):
        with self._cond:
            self.messages.append(msg)
            self.all_stanzas.append(msg)
            self._cond.notify_all()

    def _record_presence(self, pres):
        with self._cond:
            self.presences.append(pres)
            self.all_stanzas.append(pres)
            self._cond.notify_all()

    # -- waiting --

    def _wait_for(self, queue, predicate, timeout, what):
        deadline = time.monotonic() + scaled(timeout)
        with self._cond:
            while True:
                for i, st in enumerate(queue):
                    if predicate(st):
                        del queue[i]
                        return st
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "\n".join(str(s) for s in queue[-10:]) or "(nothing)"
                    raise AssertionError(
                        f"{self.bare}: no {what} within {timeout}s; unconsumed:\n{seen}")
                self._cond.wait(left)

    def wait_for_message(self, predicate=lambda m: True, timeout=10, what="matching message"):
        return self._wait_for(self.messages, predicate, timeout, what)

    def wait_for_presence(self, predicate=lambda p: True, timeout=10, what="matching presence"):
        return self._wait_for(self.presences, predicate, timeout, what)

    def no_message(self, predicate=lambda m: True, timeout=2):
        """Assert that no matching message arrives within timeout."""
        try:
            m = self.wait_for_message(predicate, timeout)
        except AssertionError:
            return
        raise AssertionError(f"{self.bare}: unexpected message {m}")

    def no_presence(self, predicate=lambda p: True, timeout=2):
        """Assert that no matching presence arrives within timeout."""
        try:
            p = self.wait_for_presence(predicate, timeout)
        except AssertionError:
            return
        raise AssertionError(f"{self.bare}: unexpected presence {p}")

    # -- sending --

    def send_message(self, to, body, mtype="chat", **extra):
        """Send a message; returns its id. `extra` are stanza interfaces,
        e.g. request_receipt=True, chat_state='active'."""
        def go():
            msg = self.xmpp.make_message(mto=to, mbody=body, mtype=mtype)
            msg["id"] = self.xmpp.new_id()
            for k, v in extra.items():
                msg[k] = v
            msg.send()
            return msg["id"]
        return self.loop.call(go)

    def send_message_and_wait(self, to, body, timeout=10, mtype="chat", predicate=None):
        """Send `body` to `to` and wait for a message with a body from `to`
        (bare-JID match unless `to` has a resource); returns it."""
        self.send_message(to, body, mtype=mtype)
        want = str(to)
        if predicate is None:
            def predicate(m):
                frm = str(m["from"])
                src = frm if "/" in want else frm.split("/")[0]
                return src == want and (m["body"] != "" or m["type"] == "error")
        return self.wait_for_message(predicate, timeout, f"reply from {to}")

    def send_raw(self, xml):
        self.loop.call(self.xmpp.send_raw, xml)

    def iq(self, to, payload=None, itype="get", timeout=10):
        """Send an iq with `payload` (XML string or Element) and return the
        result Iq; raises slixmpp.exceptions.IqError on an error reply."""
        if isinstance(payload, str):
            payload = ET.fromstring(payload)

        async def go():
            iq = self.xmpp.make_iq(ito=to, itype=itype)
            if payload is not None:
                iq.append(payload)
            return await iq.send(timeout=scaled(timeout))
        return self.loop.run(go, timeout + 2)

    def run(self, coro_fn, timeout=10):
        """Run coro_fn(xmpp) in the loop, e.g.
        c.run(lambda x: x['xep_0030'].get_info(jid='echo.localhost'))."""
        async def go():
            return await coro_fn(self.xmpp)
        return self.loop.run(go, timeout)

    # -- common queries --

    def disco_info(self, jid, node=None, timeout=10):
        return self.run(lambda x: x["xep_0030"].get_info(jid=jid, node=node, timeout=scaled(timeout)), timeout + 2)

    def disco_items(self, jid, node=None, timeout=10):
        return self.run(lambda x: x["xep_0030"].get_items(jid=jid, node=node, timeout=scaled(timeout)), timeout + 2)

    def version(self, jid, timeout=10):
        return self.run(lambda x: x["xep_0092"].get_version(jid, timeout=scaled(timeout)), timeout + 2)

    def ping(self, jid, timeout=10):
        return self.run(lambda x: x["xep_0199"].ping(jid, timeout=scaled(timeout)), timeout + 2)

    def gateway_prompt(self, jid, text=None, timeout=10):
        """XEP-0100 jabber:iq:gateway: get (no text) or set (turn `text`
        into a JID); returns the result Iq."""
        ns = "jabber:iq:gateway"
        q = ET.Element(f"{{{ns}}}query")
        if text is not None:
            ET.SubElement(q, f"{{{ns}}}prompt").text = text
        return self.iq(jid, q, "get" if text is None else "set", timeout)

    def register_form(self, jid, timeout=10):
        return self.iq(jid, '<query xmlns="jabber:iq:register"/>', "get", timeout)

    def register(self, jid, fields=None, timeout=10):
        """Register with a gateway: a data form (jabber:x:data submit) with
        `fields` (dict), or a bare <query/> when fields is None."""
        q = ET.Element("{jabber:iq:register}query")
        if fields is not None:
            x = ET.SubElement(q, "{jabber:x:data}x", type="submit")
            f = ET.SubElement(x, "{jabber:x:data}field", var="FORM_TYPE", type="hidden")
            ET.SubElement(f, "{jabber:x:data}value").text = "jabber:iq:register"
            for k, v in fields.items():
                f = ET.SubElement(x, "{jabber:x:data}field", var=k)
                for val in (v if isinstance(v, (list, tuple)) else [v]):
                    ET.SubElement(f, "{jabber:x:data}value").text = str(val)
        return self.iq(jid, q, "set", timeout)

    def is_registered(self, jid):
        """Whether the gateway's registration form says <registered/>."""
        q = self.register_form(jid).xml.find("{jabber:iq:register}query")
        return q.find("{jabber:iq:register}registered") is not None

    def register_with_defaults(self, jid):
        """Register the way a client would: the form's fields with their
        default values (enough for the echo network); the result Iq."""
        q = self.register_form(jid).xml.find("{jabber:iq:register}query")
        form = q.find("{jabber:x:data}x")
        fields = {}
        if form is not None:
            for f in form.findall("{jabber:x:data}field"):
                var = f.get("var")
                if not var or var == "FORM_TYPE" or f.get("type") == "fixed":
                    continue
                fields[var] = [v.text or "" for v in f.findall("{jabber:x:data}value")] or [""]
        return self.register(jid, fields)

    def unregister(self, jid, timeout=10):
        return self.iq(jid, '<query xmlns="jabber:iq:register"><remove/></query>', "set", timeout)

    def commands(self, jid, timeout=10):
        """Ad-hoc command nodes of jid: list of (node, name)."""
        items = self.disco_items(jid, node="http://jabber.org/protocol/commands", timeout=timeout)
        return [(i[1], i[2]) for i in items["disco_items"]["items"]]

    def execute(self, jid, node, timeout=10):
        """Start ad-hoc command `node`; returns the result Iq."""
        q = ET.Element("{http://jabber.org/protocol/commands}command", node=node, action="execute")
        return self.iq(jid, q, "set", timeout)

    def _send_muc_join(self, room, nick):
        """The join presence, as slixmpp's xep_0045.join_muc sends it (the
        room known to the plugin, history maxchars=9) but without its wait:
        that wait's future is set by every self-presence until the waiting
        task resumes, so a second one right after the first (the room lost
        at once, 332) raised InvalidStateError in slixmpp's handler, and
        slixmpp answered the room with an error presence: a user leaving."""
        def send():
            muc = self.xmpp["xep_0045"]
            muc.rooms[room] = {}
            muc.our_nicks[room] = nick
            p = self.xmpp.make_presence(pto=f"{room}/{nick}")
            p.enable("muc_join")
            p["muc_join"]["history"]["maxchars"] = "9"
            p.send()
        self.loop.call(send)

    def join_muc(self, room, nick, timeout=10):
        """Join a MUC room and wait for our own presence (status 110)."""
        self._send_muc_join(room, nick)

        def mine(p):
            # Our own presence comes from room/nick (status 110 too, but
            # matching the nick also catches an error presence); the
            # unavailable one of an earlier leave is not this join's answer.
            return str(p["from"]) == f"{room}/{nick}" and p["type"] != "unavailable"
        pres = self.wait_for_presence(mine, timeout, f"self-presence in {room}")
        if pres["type"] == "error":
            raise AssertionError(f"joining {room} failed: {pres}")
        return pres

    def join_muc_as(self, room, nick, expect_nick, timeout=10):
        """Join asking for `nick` and wait for the self-presence under
        `expect_nick` (the room may assign another nick: status 210)."""
        self._send_muc_join(room, nick)

        def mine(p):
            x = p.xml.find("{http://jabber.org/protocol/muc#user}x")
            return (str(p["from"]) == f"{room}/{expect_nick}" and x is not None and
                    any(st.get("code") == "110" for st in x))
        return self.wait_for_presence(mine, timeout, f"self-presence in {room} as {expect_nick}")

    def leave_muc(self, room, nick):
        self.loop.call(self.xmpp["xep_0045"].leave_muc, room, nick)

    def command_step(self, jid, node, sessionid, fields=None, action="complete", timeout=10):
        """Continue ad-hoc session `sessionid` of command `node`: submit
        `fields` (dict var -> value or list of values) as a jabber:x:data
        form, or send only the action (e.g. "cancel", "prev") when fields is
        None; returns the result Iq (IqError on an error reply)."""
        ns = "http://jabber.org/protocol/commands"
        q = ET.Element(f"{{{ns}}}command", node=node, action=action)
        if sessionid is not None:
            q.set("sessionid", sessionid)
        if fields is not None:
            x = ET.SubElement(q, "{jabber:x:data}x", type="submit")
            for k, v in fields.items():
                f = ET.SubElement(x, "{jabber:x:data}field", var=k)
                for val in (v if isinstance(v, (list, tuple)) else [v]):
                    ET.SubElement(f, "{jabber:x:data}value").text = str(val)
        return self.iq(jid, q, "set", timeout)


def ensure_empty_dir(path):
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def mam_query(client, jid, queryid, max_=None, before=None, after=None, fields=None):
    """One XEP-0313 query to jid: (the <fin/> element, the <result/>
    elements of this queryid, oldest first). before="" is an empty
    <before/> (the last page); fields (var -> value) fill the form."""
    import xml.etree.ElementTree as ET
    mam, rsm, xdata = "urn:xmpp:mam:2", "http://jabber.org/protocol/rsm", "jabber:x:data"
    q = ET.Element(f"{{{mam}}}query", queryid=queryid)
    if fields:
        x = ET.SubElement(q, f"{{{xdata}}}x", type="submit")
        for var, value in [("FORM_TYPE", mam)] + list(fields.items()):
            ET.SubElement(ET.SubElement(x, f"{{{xdata}}}field", var=var),
                          f"{{{xdata}}}value").text = value
    if max_ is not None or after is not None or before is not None:
        s = ET.SubElement(q, f"{{{rsm}}}set")
        for name, value in (("max", max_), ("after", after), ("before", before)):
            if value is not None:
                ET.SubElement(s, f"{{{rsm}}}{name}").text = str(value) if value != "" else None
    start = len(client.messages)
    fin = client.iq(jid, q, "set").xml.find(f"{{{mam}}}fin")
    results = [m.xml.find(f"{{{mam}}}result") for m in list(client.messages)[start:]]
    return fin, [r for r in results if r is not None and r.get("queryid") == queryid]


# ---- what a user observes in a stanza (shared by the test files)

NS_CMD = "http://jabber.org/protocol/commands"
NS_XDATA = "jabber:x:data"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"


def command_of(iq):
    """The <command/> of an ad-hoc answer (asserted present)."""
    c = iq.xml.find(f"{{{NS_CMD}}}command")
    assert c is not None, f"no <command/> in {iq}"
    return c


def form_values(stanza):
    """var -> [values] of the first data form in stanza (a command's answer,
    a registration form): what a client would show in its fields."""
    x = stanza.xml.find(f".//{{{NS_XDATA}}}x")
    assert x is not None, f"no form in {stanza}"
    return {f.get("var"): [v.text or "" for v in f.findall(f"{{{NS_XDATA}}}value")]
            for f in x.findall(f"{{{NS_XDATA}}}field")}


def command_notes(iq):
    """The texts of a command answer's <note/>s, in order."""
    return [n.text or "" for n in iq.xml.iter(f"{{{NS_CMD}}}note")]


def note_text(iq):
    """A command answer's first note ("" when there is none)."""
    notes = command_notes(iq)
    return notes[0] if notes else ""


def muc_codes(presence):
    """The XEP-0045 status codes of a room presence."""
    x = presence.xml.find(f"{{{NS_MUC_USER}}}x")
    return ({int(s.get("code")) for s in x.findall(f"{{{NS_MUC_USER}}}status")}
            if x is not None else set())


def muc_item(presence):
    """The <item/> (role, affiliation, jid) of a room presence."""
    return presence.xml.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}item")


def wait_groupchat(client, body, sender, timeout=10):
    """Until client sees `body` in a room, from the in-room JID sender."""
    return client.wait_for_message(
        lambda m: m["type"] == "groupchat" and m["body"] == body and str(m["from"]) == sender,
        timeout, f"'{body}' from {sender}")


def chat_text(client, gateway, body, timeout=10):
    """Sends a text command to a gateway JID; returns the reply's text."""
    m = client.send_message_and_wait(gateway, body, timeout=timeout)
    assert m["type"] == "chat", m
    return m["body"]


def rss_kb(pid):
    """A process's resident set size, in KiB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), 0)
    except FileNotFoundError:
        return 0


def irc_extra(server, **kw):
    """The [irc] section of a gateway that connects to server's plain port
    alone (ngircd, InspIRCd or a scripted server: anything with .port), with
    the options kw besides."""
    section = {"ports": str(server.port), "tls_ports": ""}
    section.update(kw)
    return {"irc": section}


def wait_irc_nick_gone(irc_client, nick):
    """Until nick is no longer on irc_client's IRC server (ISON)."""
    def gone():
        irc_client.send(f"ISON {nick}")
        line = irc_client.wait_for(lambda l: f" 303 {irc_client.nick} " in l, 10,
                                   "ISON's answer")
        return line.rstrip().endswith(":")
    wait_until(gone, 20, f"{nick}'s IRC connection to close", interval=1)
