#!/usr/bin/python3
"""Run a private Prosody, ngircd, gammu-smsd and stanzagate in the
foreground until Ctrl-C.

Started by scripts/demo.sh (which installs and builds first). Reuses the
integration harness (tests/integration/sgtest.py and smstest.py) so the
demo and the tests start the servers the same way. State (accounts,
passwords, ports, the gateway's and gammu-smsd's databases, the dummy
phone) lives in --state and survives re-runs.

    demo.py --state DIR --bin build/stanzagate       run the demo
    demo.py --state DIR --sms-in NUMBER TEXT         an SMS from NUMBER
                                                     "arrives" on the demo line
"""

import argparse
import importlib.util
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import mailservers  # noqa: E402
import sgtest  # noqa: E402
import smstest  # noqa: E402

USERS = ("alice", "bob", "admin")
# Backends besides the echo network, each included when this build has it
# (`stanzagate -n` accepts a config with it) and what it needs is installed:
# IRC with a private ngircd, SMS with gammu's dummy phone (driven by
# gammu-smsd, else by the gateway's own libgammu), email with a private
# Dovecot and SMTP submission server (tests/integration/mailservers.py).
OPTIONAL = ("irc.localhost", "sms.localhost", "mail.localhost")
IRC_SERVER = "127.0.0.1"   # the server part of the room JIDs: #demo%127.0.0.1@irc.localhost
SMS_LINE = "demo"
SMS_LINE_NUMBER = "+15550001111"
SMS_USERS = "alice@localhost"
SMS_PEER = "+15557654321"   # the number used in the printed examples


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_port(preferred):
    return preferred if port_free(preferred) else sgtest.free_port()


def pidfiles(state):
    """What stop_leftovers looks at, in stopping order."""
    return (state / "gateway.pid", state / "ngircd" / "ngircd.pid",
            state / "sms" / "smsd.pid", state / "prosody" / "prosody.pid")


def stop_leftovers(state):
    """A previous demo killed hard may have left its servers or gateway
    running: stop those (only processes whose command line names our
    state directory)."""
    for pidfile in pidfiles(state):
        try:
            pid = int(pidfile.read_text().strip())
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            continue
        if str(state) in cmd:
            print(f"demo: stopping a leftover process {pid} from a previous run")
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)


def stop_child(proc, timeout=10):
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class DemoNgircd(sgtest.Ngircd):
    """The tests' ngircd (sgtest.Ngircd: its config, plain port only) on a
    chosen port, in its own session: Ctrl-C reaches only demo.py, which
    stops it after the gateway."""

    def __init__(self, workdir, port):
        super().__init__(workdir, name="irc.demo", tls=False)
        text = self.config_file.read_text()
        old = f"\nPorts = {self.port}\n"
        assert old in text, "sgtest.Ngircd's config changed: update demo.py"
        self.config_file.write_text(text.replace(old, f"\nPorts = {port}\n", 1))
        self.port = port
        self.pid_file = self.dir / "ngircd.pid"

    def start(self, timeout=10):
        out = open(self.log_file, "ab")
        self.proc = subprocess.Popen(["ngircd", "-n", "-f", str(self.config_file)],
                                     stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir,
                                     start_new_session=True)
        out.close()
        self.pid_file.write_text(f"{self.proc.pid}\n")

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"ngircd exited with {self.proc.returncode}:\n"
                                     + sgtest.tail(self.log))
            return sgtest.port_open(self.port)
        sgtest.wait_until(up, timeout, "ngircd to listen")
        return self

    def stop(self, timeout=10):
        stop_child(self.proc, timeout)
        self.pid_file.unlink(missing_ok=True)


class DemoSmsd(smstest.Smsd):
    """The tests' gammu-smsd (smstest.Smsd: SQLite service, dummy phone) in
    its own session, as DemoNgircd."""

    def __init__(self, workdir):
        super().__init__(workdir, phone_id=SMS_LINE)
        self.pid_file = self.dir / "smsd.pid"

    def start(self, timeout=10):
        if not self.db.exists():
            self.create_db()
        seen = len(self.log)  # the log is kept across runs
        self.proc = subprocess.Popen(["gammu-smsd", "-c", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, cwd=self.dir,
                                     start_new_session=True)
        self.pid_file.write_text(f"{self.proc.pid}\n")

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"gammu-smsd exited with {self.proc.returncode}:\n"
                                     + sgtest.tail(self.log[seen:]))
            return "Starting phone communication" in self.log[seen:]
        sgtest.wait_until(up, timeout, "gammu-smsd to start")
        return self

    def stop(self, timeout=10):
        stop_child(self.proc, timeout)
        self.pid_file.unlink(missing_ok=True)

    def last_sent_id(self):
        return self.rows("SELECT coalesce(max(ID), 0) AS n FROM sentitems")[0]["n"]

    def sent_since(self, last_id):
        return self.rows("SELECT ID, SequencePosition, DestinationNumber, TextDecoded"
                         " FROM sentitems WHERE ID > ? ORDER BY ID, SequencePosition",
                         (last_id,))


def phone_dir(state):
    return state / "sms" / "phone"


def sms_in_command(state, number, text):
    """The shell command that makes an SMS from `number` arrive."""
    cmd = ["/usr/bin/python3", str(Path(__file__).resolve()), "--state", str(state),
           "--sms-in", number, text]
    if os.geteuid() == 0 and os.environ.get("SUDO_USER"):
        cmd.insert(0, "sudo")  # the state belongs to root
    return shlex.join(cmd)


def sms_in(state, number, text):
    """Write an incoming SMS into the dummy phone's inbox (smstest's
    DummyPhone: gammu's SMS backup format, renamed into place); gammu-smsd
    (or the gateway's gammu driver) reads it within a second or two."""
    phone = phone_dir(state)
    if not phone.is_dir():
        print(f"demo: no dummy phone in {phone}: start the demo first", file=sys.stderr)
        return 1
    smstest.DummyPhone(phone).inject(number, text)
    print(f"demo: SMS from {number} is in the dummy phone's inbox ({phone / 'sms' / '1'})")
    return 0


def plan_backends(state, irc_port, mail):
    """Each optional backend's config sections and what it needs started:
    host -> (extra config, kind), for those whose programs are installed."""
    plans = {}
    if shutil.which("ngircd"):
        plans["irc.localhost"] = ({"irc": {"ports": str(irc_port), "tls_ports": ""}}, "ngircd")
    sms = {"default_country": "+1", "poll_interval": "1s", "parts_timeout": "10s"}
    if smstest.have_gammu_smsd():
        line = {"number": SMS_LINE_NUMBER, "driver": "smsd",
                "smsd_database": f"sqlite:{state / 'sms' / 'smsd.db'}", "users": SMS_USERS}
        plans["sms.localhost"] = ({"sms": sms, f"sms.line.{SMS_LINE}": line}, "smsd")
    else:
        line = {"number": SMS_LINE_NUMBER, "driver": "gammu", "device": str(phone_dir(state)),
                "connection": "none", "model": "dummy", "users": SMS_USERS}
        plans["sms.localhost"] = ({"sms": sms, f"sms.line.{SMS_LINE}": line}, "phone")
    if shutil.which("dovecot") and importlib.util.find_spec("aiosmtpd"):
        # Ports are new each run: the servers are locked to the config's.
        plans["mail.localhost"] = ({"email": {
            "imap": mail.imaps_url, "smtp": mail.smtp_url, "ca_file": str(mail.ca_file),
            "lock": "imap smtp"}}, "mail")
    return plans


def usable_backends(prosody, binary, state, plans):
    """echo, plus each optional backend that this build has and whose
    config it accepts (asks the binary: -n)."""
    hosts, extra = ["echo.localhost"], {}
    for host in OPTIONAL:
        if host not in plans:
            print(f"demo: leaving out {host}: a program it needs is not installed")
            continue
        probe = sgtest.Gateway(state / "probe", prosody, backends=["echo.localhost", host],
                               binary=binary, extra=plans[host][0])
        res = probe.run("-n", "-c", probe.config_file)
        if res.returncode == 0:
            hosts.append(host)
            extra.update(plans[host][0])
        else:
            why = (res.stderr or res.stdout).strip().splitlines()
            # "08:27:12.011 warning: FILE:17: [irc]: this build has no ..."
            why = re.sub(r"^\S+ \w+: \S+:\d+: ", "", why[0]) if why else "no reason given"
            print(f"demo: leaving out {host}: {why}")
    return hosts, extra


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--bin")
    ap.add_argument("--sms-in", nargs=2, metavar=("NUMBER", "TEXT"),
                    help="make an SMS from NUMBER arrive on the running demo's line")
    args = ap.parse_args()
    state = Path(args.state).resolve()
    if args.sms_in:
        return sms_in(state, *args.sms_in)
    if not args.bin:
        ap.error("--bin is needed to run the demo")
    binary = Path(args.bin).resolve()  # the gateway runs in the state directory
    state.mkdir(parents=True, exist_ok=True)
    stop_leftovers(state)

    # Passwords, secrets and ports are made once and kept, so that a client
    # configured for the demo keeps working across re-runs.
    saved_file = state / "demo.json"
    saved = json.loads(saved_file.read_text()) if saved_file.exists() else {}
    saved.setdefault("passwords", {u: secrets.token_urlsafe(9) for u in USERS})
    saved.setdefault("secrets", {})
    for host in sgtest.COMPONENTS:
        saved["secrets"].setdefault(host, secrets.token_urlsafe(18))
    c2s_port = pick_port(saved.get("c2s_port", 5222))
    comp_port = pick_port(saved.get("component_port", 5347))
    irc_port = pick_port(saved.get("irc_port", 6667))
    saved["c2s_port"], saved["component_port"], saved["irc_port"] = c2s_port, comp_port, irc_port
    saved_file.write_text(json.dumps(saved, indent=1))
    saved_file.chmod(0o600)

    prosody = sgtest.Prosody(state / "prosody", accounts=saved["passwords"],
                             components=saved["secrets"], c2s_port=c2s_port,
                             component_port=comp_port,
                             privileged=tuple(saved["secrets"]))
    mail = mailservers.MailServers(state / "mail")
    for u in ("alice", "bob"):
        mail.add_user(u, saved["passwords"][u])
    plans = plan_backends(state, irc_port, mail)
    backends, extra = usable_backends(prosody, binary, state, plans)
    needs = {plans[h][1] for h in backends if h in plans}
    if "mail" not in needs:
        mail = None
    ngircd = DemoNgircd(state / "ngircd", irc_port) if "ngircd" in needs else None
    smsd = DemoSmsd(state / "sms") if "smsd" in needs else None
    if "phone" in needs:
        smstest.DummyPhone(phone_dir(state))
    gw = sgtest.Gateway(state, prosody, backends=backends, binary=binary,
                        args=("-d", "-v"), extra=extra)

    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    # SIGHUP too: the servers are out of the terminal's reach, so closing
    # the terminal must not end this script without stopping them.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    # Ctrl-C reaches only this script (every server runs in its own
    # session), which stops the gateway first (it says goodbye to its users
    # and leaves IRC) and the servers after it.
    prosody.new_session = True
    gw.new_session = True
    try:
        print(f"demo: starting Prosody on 127.0.0.1:{c2s_port} (state in {state})")
        prosody.start()
        if ngircd:
            print(f"demo: starting ngircd on 127.0.0.1:{irc_port} (log: {ngircd.log_file})")
            ngircd.start()
        if smsd:
            print(f"demo: starting gammu-smsd on the dummy phone {smsd.phone.dir}"
                  f" (log: {smsd.log_file})")
            smsd.start()
        if mail:
            print(f"demo: starting Dovecot (IMAP {mail.imaps_url}) and an SMTP submission"
                  f" server ({mail.smtp_url})")
            mail.start()
        print("demo: starting stanzagate (log: " + str(gw.log_file) + ")")
        try:
            gw.start(timeout=20)
        except AssertionError as e:
            print(f"demo: stanzagate did not come up:\n{e}", file=sys.stderr)
            return 1
        (state / "gateway.pid").write_text(f"{gw.proc.pid}\n")
        pw = saved["passwords"]
        # Things to try: one list of lines per item.
        tries = [
            ["send a message to someone@echo.localhost: it comes back"],
            ["join the room #test@echo.localhost (as alice and as bob)"],
            ['send "help" to echo.localhost for the text commands, or run',
             "its ad-hoc commands; register with it (service discovery)"],
        ]
        logs = [gw.log_file, prosody.log_file]
        if ngircd:
            tries.append([
                f"join the room #demo%{IRC_SERVER}@irc.localhost (as alice and as",
                "bob): channel #demo on the private ngircd; IRC clients can join",
                f"it too (server 127.0.0.1, port {irc_port})"])
            logs.append(ngircd.log_file)
        if "sms.localhost" in backends:
            tries.append([
                f"text a number as alice (the user of the demo line {SMS_LINE_NUMBER}):",
                "send a message to +15551234567@sms.localhost; "
                + ("what the" if smsd else "the gateway's"),
                "dummy phone sends is printed here" if smsd
                else "log says what the dummy phone sent"])
            tries.append([
                "make an SMS arrive for alice (in another terminal):",
                sms_in_command(state, SMS_PEER, "Hello from a phone")])
            if smsd:
                logs.append(smsd.log_file)
        if mail:
            tries.append([
                "register with mail.localhost (service discovery) as alice and as bob:",
                "email alice@localhost (bob@localhost), password: the same as the",
                "XMPP account's; then send a message to bob\\40localhost@mail.localhost:",
                "it leaves by SMTP and reaches bob's INBOX, and bob's XMPP client"])
            logs.append(mail.dir / "dovecot.log")
        things = "".join("   - " + "\n     ".join(t) + "\n" for t in tries)
        logs = "\n       ".join(str(f) for f in logs)
        print(f"""
================================================================
 stanzagate demo is running. Log in with any XMPP client:
   server / host : 127.0.0.1     port: {c2s_port}
   (no TLS: allow plain-text authentication on an unencrypted
    connection in the client's account settings)
   accounts      : alice@localhost  password {pw['alice']}
                   bob@localhost    password {pw['bob']}
                   admin@localhost  password {pw['admin']}  (gateway admin)
 Gateways        : {', '.join(backends)}
 Things to try:
{things} Logs: {logs}
 Ctrl-C stops everything.
================================================================
""", flush=True)
        last_sent = smsd.last_sent_id() if smsd else 0
        while not stopping:
            if not gw.running():
                print(f"demo: stanzagate exited ({sgtest.describe_status(gw.proc.returncode)});"
                      f" last lines of its log:\n{sgtest.tail(gw.log, 30)}", file=sys.stderr)
                return 1
            if not prosody.running():
                print("demo: Prosody exited; see " + str(prosody.log_file), file=sys.stderr)
                return 1
            if ngircd and not ngircd.running():
                print("demo: ngircd exited; see " + str(ngircd.log_file), file=sys.stderr)
                return 1
            if smsd:
                if smsd.proc.poll() is not None:
                    print("demo: gammu-smsd exited; see " + str(smsd.log_file), file=sys.stderr)
                    return 1
                try:
                    for r in smsd.sent_since(last_sent):
                        last_sent = max(last_sent, r["ID"])
                        print(f"demo: the dummy phone sent to {r['DestinationNumber']}"
                              f" (part {r['SequencePosition']}): {r['TextDecoded']!r}",
                              flush=True)
                except (AssertionError, OSError, smstest.sqlite3.Error):
                    pass
            time.sleep(0.5)
        print("\ndemo: stopping")
        return 0
    finally:
        if gw.proc is not None:
            try:
                code = gw.kill(signal.SIGTERM)
                print(f"demo: stanzagate stopped ({sgtest.describe_status(code)})")
            except AssertionError as e:
                print(f"demo: {str(e).splitlines()[0]}", file=sys.stderr)
        (state / "gateway.pid").unlink(missing_ok=True)
        if ngircd and ngircd.proc is not None:
            ngircd.stop()
            print("demo: ngircd stopped")
        if smsd and smsd.proc is not None:
            smsd.stop()
            print("demo: gammu-smsd stopped")
        if mail:
            mail.cleanup()
            print("demo: the mail servers stopped")
        if prosody.proc is not None:
            prosody.stop()
            print("demo: Prosody stopped")


if __name__ == "__main__":
    sys.exit(main())
