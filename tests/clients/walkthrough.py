#!/usr/bin/python3
"""Walk two real terminal XMPP clients, profanity and poezio, through the
demo's user flows, driven in tmux, and keep what their screens showed.

Not part of the test command (it takes a few minutes and depends on the
clients' screen layout); run it by hand after a change that a user would
see (docs/clients.md):

    sudo tests/clients/walkthrough.py [--out build/clients-walkthrough]
                                      [--bin build/stanzagate] [--install]

It starts scripts/demo.py with a fresh state directory in OUT/state (its
own ports where the usual ones are busy), then, each in a tmux window of a
private tmux server:

- profanity as alice and as bob (first resources),
- poezio as alice and as bob (second resources: carbons, a second client
  in the same rooms). poezio refuses to run as root: as root it runs as
  the user nobody, with its home in OUT.

It registers with each gateway through ad-hoc commands, texts an SMS
number and makes an SMS arrive, joins #test@echo.localhost and
#demo%127.0.0.1@irc.localhost and talks there, runs the gateways'
commands, sends mail from alice to bob and back, checks carbons on the
second client and uploads a file (XEP-0363) from each client. Every step
saves the screens it looked at to OUT/screens/NN-client-step.txt; each
check (a message shown exactly once, a command result shown in full) is a
line of OUT/summary.txt, and the script exits 1 if one failed.

--install installs profanity, poezio and python3-aiohttp (poezio's upload
plugin needs it) with apt-get when missing.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 200, 60
ROOM_ECHO = "#test@echo.localhost"
ROOM_IRC = "#demo%127.0.0.1@irc.localhost"
SMS_PEER = "+15551234567"
NOBODY = 65534
# The clients' own defects, told apart from the gateway's (not counted as failed).
KNOWN_POEZIO_MAM_RACE = ("poezio 0.14: a carbon that opens a new tab starts a MAM sync into its "
                         "local log; the echo's answer, 10 ms later, is logged live too, and "
                         "the tab shows alice's line three times (log_loader.MAMFiller)")
KNOWN_POEZIO_UPLOAD = ("poezio 0.14's /upload fails before it asks the server: Debian 12's "
                       "slixmpp 1.8.3 passes coroutines to asyncio.wait(), which Python 3.11 "
                       "refuses (TypeError)")


class Tmux:
    """A private tmux server (its own socket) with one window per program."""

    def __init__(self, socket):
        self.socket = socket
        self.started = False

    def run(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.socket, *args], check=check,
                              capture_output=True, text=True)

    def window(self, name, command):
        shell_cmd = " ".join(_quote(a) for a in command) + "; sleep 3600"
        if not self.started:
            self.run("new-session", "-d", "-s", "walk", "-n", name, "-x", str(WIDTH),
                     "-y", str(HEIGHT), shell_cmd)
            self.run("set-option", "-g", "history-limit", "20000")
            self.started = True
        else:
            self.run("new-window", "-d", "-t", "walk", "-n", name, shell_cmd)
        return f"walk:{name}"

    def kill(self):
        if self.started:
            self.run("kill-server", check=False)


def _quote(arg):
    return "'" + str(arg).replace("'", "'\\''") + "'"


class Screen:
    """One program in a tmux window: keys in, screen text out."""

    def __init__(self, tmux, target, label, out):
        self.tmux, self.target, self.label, self.out = tmux, target, label, out

    def keys(self, *keys):
        self.tmux.run("send-keys", "-t", self.target, *keys)

    def text(self, s):
        self.tmux.run("send-keys", "-t", self.target, "-l", s)

    def capture(self, history=False):
        args = ["capture-pane", "-p", "-J", "-t", self.target]
        if history:
            args += ["-S", "-"]
        return self.tmux.run(*args).stdout

    def wait_for(self, pattern, timeout=20, history=False):
        """The screen once it matches the regular expression; None on timeout."""
        end = time.monotonic() + timeout
        while True:
            screen = self.capture(history)
            if re.search(pattern, screen):
                return screen
            if time.monotonic() > end:
                return None
            time.sleep(0.3)

    def save(self, step, history=False):
        Walk.current.counter += 1
        name = f"{Walk.current.counter:02d}-{self.label}-{step}.txt"
        screen = self.capture(history)
        (self.out / name).write_text(screen)
        return screen


class Profanity(Screen):
    """profanity: /commands; messages, forms and command results in windows
    (the console is window 1; a result for a room JID goes to that room's)."""

    def type(self, line, settle=0.3):
        self.text(line)
        time.sleep(settle)
        self.keys("Enter")

    def connect(self, jid, password, port):
        self.type(f"/connect {jid} server 127.0.0.1 port {port} tls disable")
        self.wait_for(r"[Pp]assword")
        self.type(password)
        return self.wait_for(r"logged in successfully", 30)

    def console(self, clear=False):
        self.type("/win 1")
        time.sleep(0.5)
        if clear:  # what the screen shows next is new
            self.type("/clear")
            time.sleep(0.3)

    def chat(self, jid, text):
        """A message to jid; from the console, as in a room /msg means a nick."""
        self.console()
        self.type(f"/msg {jid} {text}" if text else f"/msg {jid}")

    def command(self, jid, node, fields=None, expect=r"completed|error|Form title"):
        """Runs an ad-hoc command: fields is {label prefix: value} for a form.
        The screen where the result shows: the console, or the JID's own
        window when one is open (profanity writes it there)."""
        self.console(clear=True)
        self.type(f"/cmd exec {node} {jid}")
        screen = self.wait_for(expect + "|Form title", 5)
        if fields and screen and "Form title" in screen:
            time.sleep(0.5)
            screen = self.capture()
            for label, value in fields.items():
                m = re.search(r"\[(field\d+)\] " + re.escape(label), screen)
                if m:
                    self.type(f"/{m.group(1)} {value}")
                    time.sleep(0.3)
            self.type("/form submit")
            time.sleep(2)
            self.console()  # the form's window is gone
        time.sleep(2)
        screen = self.capture()
        if not re.search(expect, screen):
            self.type(f"/msg {jid}")
            screen = self.wait_for(expect, 10) or self.capture()
        return screen


class Poezio(Screen):
    """poezio: a burst of keys is a paste (Enter becomes a new line), so a
    line is typed in two parts and Enter sent on its own."""

    def type(self, line, settle=0.4):
        self.text(line[:1])
        time.sleep(0.3)
        self.text(line[1:])
        time.sleep(settle)
        self.keys("Enter")

    def command(self, jid, node, values=(), expect=r"Adhoc command \w+: |An error occurred"):
        """Runs an ad-hoc command from /ad-hoc's list; values fill the form's
        fields from the first one down (Down moves to the next field)."""
        self.type(f"/ad-hoc {jid}")
        screen = self.wait_for(r"Ad-hoc commands of JID [^\s(]+ *\n")
        if screen is None:
            return None
        nodes = re.findall(r"^\s*\S*\s*│(\S+)\s{2,}\S", screen, re.M)
        nodes = [n for n in nodes if n != "Node"]
        if node not in nodes:
            return None
        time.sleep(1)  # keys sent before the list has the focus are lost
        for _ in range(nodes.index(node)):
            self.keys("Down")
            time.sleep(0.3)
        self.keys("Enter")
        screen = self.wait_for(r"Ctrl\+Y: send form|" + expect, 15)
        if screen and "Ctrl+Y" in screen:
            time.sleep(1)  # keys typed before the form is drawn are lost
            for i, v in enumerate(values):
                if i:
                    self.keys("Down")
                    time.sleep(0.2)
                if v:
                    self.text(v)
                    time.sleep(0.2)
            self.keys("C-y")
            screen = self.wait_for(expect, 15)
            if screen is None:  # still in the form: leave it
                self.keys("C-g")
        return screen

    def tab(self, name):
        """Goes to the tab whose name contains name (poezio's /win takes a name)."""
        self.type(f"/win {name}")
        time.sleep(0.7)


class Walk:
    current = None

    def __init__(self, out):
        self.out = out
        self.counter = 0
        self.results = []
        Walk.current = self

    def check(self, client, flow, ok, detail=""):
        """ok: True, False, or None for a known defect of the client."""
        word = "ok  " if ok else "KNOWN" if ok is None else "FAIL"
        line = f"{word:5}{client:16} {flow}" + (f": {detail}" if detail else "")
        print(line, flush=True)
        self.results.append(line)

    def count(self, screen, text):
        return sum(1 for line in (screen or "").splitlines() if text in line)

    def once(self, client, flow, screen, text):
        n = self.count(screen, text)
        self.check(client, flow, n == 1, f"{text!r} shown {n} time(s)")


def install(packages):
    missing = [p for p in packages
               if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if missing:
        subprocess.run(["apt-get", "install", "-y", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def client_home(out, name, owner_nobody):
    home = out / "homes" / name
    for d in (".config", ".local/share", ".cache"):
        (home / d).mkdir(parents=True, exist_ok=True)
    return home


def env_for(home):
    return ["env", f"HOME={home}", f"XDG_CONFIG_HOME={home}/.config",
            f"XDG_DATA_HOME={home}/.local/share", f"XDG_CACHE_HOME={home}/.cache",
            "TERM=screen-256color", "LANG=C.UTF-8"]


def start_poezio(tmux, out, user, password, port):
    home = client_home(out, f"poezio-{user}", True)
    cfg = home / ".config" / "poezio"
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "poezio.cfg").write_text(f"""[Poezio]
jid = {user}@localhost
password = {password}
custom_host = 127.0.0.1
custom_port = {port}
force_encryption = false
resource = poezio
enable_carbons = true
""")
    cmd = env_for(home) + ["poezio", "-d", str(home / "debug.log")]
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(home)], check=True)
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] + cmd
    target = tmux.window(f"poezio-{user}", cmd)
    return Poezio(tmux, target, f"poezio-{user}", out / "screens")


def start_profanity(tmux, out, user):
    home = client_home(out, f"profanity-{user}", False)
    target = tmux.window(f"profanity-{user}", env_for(home) + ["profanity"])
    return Profanity(tmux, target, f"profanity-{user}", out / "screens")


def versions():
    got = []
    for p in ("profanity", "poezio"):
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", p], capture_output=True,
                           text=True)
        got.append(f"{p} {r.stdout or 'not installed'}")
    return ", ".join(got)


def walk(tmux, out, args):
    w = Walk(out)
    state = out / "state"
    demo = Screen(tmux, tmux.window("demo", [
        "/usr/bin/python3", REPO / "scripts" / "demo.py", "--state", state, "--bin", args.bin]),
        "demo", out / "screens")
    if demo.wait_for(r"stanzagate demo is running", 180, history=True) is None:
        demo.save("start", history=True)
        w.check("demo", "start", False, "the demo did not come up (see screens)")
        return w
    saved = json.loads((state / "demo.json").read_text())
    pw, port = saved["passwords"], saved["c2s_port"]
    tok = time.strftime("%H%M%S")
    upload_file = out / f"upload-{tok}.txt"
    upload_file.write_text("a file uploaded by the walkthrough\n")
    upload_file.chmod(0o644)
    poezio_file = out / f"upload-poezio-{tok}.txt"
    poezio_file.write_text("a file uploaded by the walkthrough from poezio\n")
    poezio_file.chmod(0o644)

    pa = start_profanity(tmux, out, "alice")
    pb = start_profanity(tmux, out, "bob")
    time.sleep(3)
    for name, p in (("alice", pa), ("bob", pb)):
        w.check(p.label, "connect", p.connect(f"{name}@localhost", pw[name], port) is not None)

    # Registration: ad-hoc "register" on each gateway (profanity has no
    # XEP-0077 for components).
    for p, gw, jid, fields in (
            (pa, "Echo test network", "echo.localhost", {"Nickname": "alice"}),
            (pa, "IRC gateway", "irc.localhost", {"Default nickname": "alice"}),
            (pa, "SMS gateway", "sms.localhost", None),
            (pa, "Email gateway", "mail.localhost",
             {"Email address": "alice@localhost", "Password": pw["alice"]}),
            (pb, "Email gateway", "mail.localhost",
             {"Email address": "bob@localhost", "Password": pw["bob"]})):
        # The email gateway tries the account first: its verdict is a message.
        p.command(jid, "register", fields, expect=f"You are registered with {gw}|failed")
        screen = p.save(f"register-{jid.split('.')[0]}")
        w.check(p.label, f"register with {gw} (ad-hoc form)",
                f"You are registered with {gw}." in screen)

    # The second clients, once the gateways know the users.
    qa = start_poezio(tmux, out, "alice", pw["alice"], port)
    qb = start_poezio(tmux, out, "bob", pw["bob"], port)
    for q in (qa, qb):
        w.check(q.label, "connect", q.wait_for(r"Authentication success", 30) is not None)
    time.sleep(2)
    screen = qb.command("irc.localhost", "register", ["bob"],
                        expect=r"registered with IRC gateway|An error occurred")
    qb.save("register-irc")
    w.check(qb.label, "register with IRC gateway (ad-hoc form)",
            screen is not None and "You are registered with IRC gateway." in screen)
    screen = qb.command("echo.localhost", "register", ["bob"],
                        expect=r"registered with Echo test network|An error occurred")
    qb.save("register-echo")
    w.check(qb.label, "register with Echo test network (ad-hoc form)",
            screen is not None and "You are registered with Echo test network." in screen)

    # Echo contact: the message goes out once, comes back once; the other
    # resource gets the carbon.
    pa.chat("someone@echo.localhost", f"echo-{tok}")
    screen = pa.wait_for(f"someone@echo.localhost: echo-{tok}")
    screen = pa.save("echo-contact")
    w.check(pa.label, "echo contact: sent once, answered once",
            w.count(screen, f"echo-{tok}") == 2, f"{w.count(screen, f'echo-{tok}')} line(s)")

    # Rooms: everyone in both rooms, each says one line.
    for room in (ROOM_ECHO, ROOM_IRC):
        pa.type(f"/join {room} nick alice")
        pa.wait_for(r"You have joined the room", 20)
        pb.type(f"/join {room} nick bob")
        pb.wait_for(r"You have joined the room", 20)
        qa.type(f"/join {room}/alice")
        qa.wait_for(r"You \(alice\) joined the room", 20)
        qb.type(f"/join {room}/bob")
        qb.wait_for(r"You \(bob\) joined the room", 20)
        time.sleep(2)
        short = room.split("@")[0]
        lines = {pa: f"pa-{short}-{tok}", pb: f"pb-{short}-{tok}", qa: f"qa-{short}-{tok}"}
        # profanity: the room's window is the one just joined; poezio: its tab.
        for c in (pa, pb, qa):
            c.type(lines[c])
            time.sleep(1.5)
        time.sleep(3)
        for c in (pa, pb, qa, qb):
            screen = c.save(f"room-{short.strip('#').split('%')[0]}")
            for said in lines.values():
                w.once(c.label, f"{room}: each message once", screen, said)

    # Upload (XEP-0363 on the demo's Prosody) from each client, in the echo room.
    pa.type(f"/join {ROOM_ECHO}")
    time.sleep(1)
    pa.type(f"/sendfile {upload_file}")
    screen = pa.wait_for(r"Uploading .*100%", 20)
    pa.save("upload")
    w.check(pa.label, "upload (/sendfile)", screen is not None and
            re.search(r"http://\S+/upload-" + tok, screen) is not None)
    # SMS: out through the dummy phone, and one coming in.
    pa.chat(f"{SMS_PEER}@sms.localhost", f"sms-{tok}")
    sent = demo.wait_for(f"the dummy phone sent to \\{SMS_PEER} .*sms-{tok}", 30, history=True)
    w.check("demo", "SMS out: the dummy phone sent it", sent is not None)
    subprocess.run(["/usr/bin/python3", REPO / "scripts" / "demo.py", "--state", state,
                    "--sms-in", SMS_PEER, f"phone-{tok}"], check=True, capture_output=True)
    screen = pa.wait_for(f"{re.escape(SMS_PEER)}@sms.localhost: phone-{tok}", 30)
    screen = pa.save("sms")
    w.once(pa.label, "SMS in: shown once", screen, f"phone-{tok}")
    w.once(pa.label, "SMS out: shown once", screen, f"sms-{tok}")

    # Carbons: alice's poezio saw what her profanity sent and received. The
    # first message opened poezio's tab; a second one goes to the open tab.
    pa.chat("someone@echo.localhost", f"again-{tok}")
    pa.wait_for(f"someone@echo.localhost: again-{tok}")
    time.sleep(2)
    qa.tab("someone")
    screen = qa.save("carbons-echo")
    n = w.count(screen, f"alice> echo-{tok}")
    if n == 3 and w.count(screen, f"someone> echo-{tok}") == 1:
        w.check(qa.label, "carbons: the sent message in the tab it opened", None,
                KNOWN_POEZIO_MAM_RACE)
    else:
        w.once(qa.label, "carbons: the sent message in the tab it opened", screen,
               f"alice> echo-{tok}")
    w.once(qa.label, "carbons: a sent message in an open tab", screen, f"alice> again-{tok}")
    w.once(qa.label, "the echo's answer in an open tab", screen, f"someone> again-{tok}")
    qa.tab(SMS_PEER)
    screen = qa.save("carbons-sms")
    w.once(qa.label, "carbons: the SMS sent from profanity", screen, f"alice> sms-{tok}")
    w.once(qa.label, "the SMS received", screen, f"> phone-{tok}")

    # Commands: every result in full (its last line is there).
    ends = {
        "echo.localhost": 'A command that asks questions can be stopped with "cancel".',
        "irc.localhost": 'A command that asks questions can be stopped with "cancel".',
        "sms.localhost": 'A command that asks questions can be stopped with "cancel".',
        "mail.localhost": 'A command that asks questions can be stopped with "cancel".',
    }
    for gw, last in ends.items():
        pa.chat(gw, "help")
        screen = pa.wait_for(re.escape(last), 15)
        pa.save(f"help-{gw.split('.')[0]}")
        w.check(pa.label, f"text command help on {gw}: in full", screen is not None)
    pa.chat("sms.localhost", "lines")
    screen = pa.wait_for(r"demo \+15550001111 \(up\)", 15)
    w.check(pa.label, "text command lines on sms.localhost: in full", screen is not None)
    pa.chat("mail.localhost", "status")
    screen = pa.wait_for(r"Delivered since start", 15)
    pa.save("mail-status")
    w.check(pa.label, "text command status on mail.localhost: in full", screen is not None)
    pa.command("sms.localhost", "lines", expect=r"demo \+15550001111 \(up\)")
    screen = pa.save("adhoc-lines")
    w.check(pa.label, "ad-hoc lines on sms.localhost: in full",
            "demo +15550001111 (up)" in screen)
    pa.command("127.0.0.1@irc.localhost", "info", expect=r"lines waiting")
    screen = pa.save("adhoc-info")
    w.check(pa.label, "ad-hoc info on 127.0.0.1@irc.localhost: in full",
            "lines waiting" in screen)
    screen = qa.command("sms.localhost", "lines", expect=r"\(up\)|An error occurred")
    qa.save("adhoc-lines")
    w.check(qa.label, "ad-hoc lines on sms.localhost: in full",
            screen is not None and "demo +15550001111 (up)" in screen)

    # Mail: alice to bob and back.
    pa.chat("bob\\40localhost@mail.localhost", f"mail-{tok}")
    screen = pb.wait_for(r"<< chat message: alice\\40localhost@mail.localhost|"
                         + f"mail-{tok}", 30)
    pb.chat("alice\\40localhost@mail.localhost", "")
    screen = pb.wait_for(f"mail-{tok}", 10)
    w.once(pb.label, "mail from alice: shown once", screen, f"mail-{tok}")
    pb.type(f"reply-{tok}")
    screen = pa.wait_for(f"reply-{tok}", 30)
    pa.save("mail")
    pb.save("mail")
    w.once(pa.label, "mail reply from bob: shown once", screen, f"reply-{tok}")

    # Last: on Debian 12 poezio's upload prints a traceback over its screen.
    qa.tab(ROOM_ECHO)
    qa.type("/load upload")
    time.sleep(1)
    qa.type(f"/upload {poezio_file}")
    screen = qa.wait_for(r"alice> http://\S+upload-poezio-" + tok, 20)
    qa.save("upload")
    if screen is None and "Passing coroutines is forbidden" in qa.capture():
        w.check(qa.label, "upload (/upload plugin)", None, KNOWN_POEZIO_UPLOAD)
    else:
        w.check(qa.label, "upload (/upload plugin)", screen is not None)

    return w


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(REPO / "build" / "clients-walkthrough"))
    ap.add_argument("--bin", default=str(REPO / "build" / "stanzagate"))
    ap.add_argument("--install", action="store_true",
                    help="apt-get install profanity, poezio and python3-aiohttp if missing")
    ap.add_argument("--keep", action="store_true",
                    help="leave the clients and the demo running (tmux -L sg-walkthrough)")
    args = ap.parse_args()
    if args.install:
        install(["tmux", "profanity", "poezio", "python3-aiohttp"])
    for prog in ("tmux", "profanity", "poezio"):
        if shutil.which(prog) is None:
            sys.exit(f"walkthrough: {prog} is not installed (--install installs it)")
    out = Path(args.out).resolve()
    if out.exists():
        shutil.rmtree(out)
    (out / "screens").mkdir(parents=True)
    out.chmod(0o755)
    tmux = Tmux("sg-walkthrough")
    tmux.run("kill-server", check=False)  # a run left with --keep
    time.sleep(1)
    try:
        w = walk(tmux, out, args)
    finally:
        if not args.keep:
            try:
                # A client whose terminal is closed under it may spin (poezio
                # does): each quits first.
                for name in ("poezio-alice", "poezio-bob", "profanity-alice", "profanity-bob"):
                    for keys in (["-l", "/"], ["-l", "quit"], ["Enter"]):
                        tmux.run("send-keys", "-t", f"walk:{name}", *keys, check=False)
                        time.sleep(0.3)
                time.sleep(3)
                # The demo stops the gateway, then each server: wait for the
                # last, as closing its terminal mid-way would leave them.
                tmux.run("send-keys", "-t", "walk:demo", "C-c", check=False)
                Screen(tmux, "walk:demo", "demo", out).wait_for(r"Prosody stopped", 60,
                                                                 history=True)
            finally:
                tmux.kill()
    failed = sum(1 for r in w.results if r.startswith("FAIL"))
    known = sum(1 for r in w.results if r.startswith("KNOWN"))
    head = (f"walkthrough {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {versions()}:"
            f" {len(w.results) - failed - known} ok, {failed} failed, {known} known client"
            " defects\n")
    (out / "summary.txt").write_text(head + "\n".join(w.results) + "\n")
    print(head + f"screens in {out / 'screens'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
