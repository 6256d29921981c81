#!/usr/bin/python3
"""Chaos run: real servers, numbered messages in every direction, random
faults from a seed, then every message accounted for.

    tests/chaos/run.py --seconds S --seed N [--keep]

Starts a private Prosody, ngircd, Dovecot and SMTP submission server (the
test harness's own classes, tests/integration/sgtest.py and mailservers.py)
and the gateway with its IRC and email backends on SQLite. alice (XMPP)
talks with "peer" (IRC) in private and in #chaos, and with bob by mail;
meanwhile faults are injected: SIGKILL, SIGTERM and SIGHUP of the gateway,
SIGKILL of Prosody and ngircd (restarted), Dovecot and the SMTP server
stopped for a while. Then every server is up again, the run waits for the
queues to drain and checks each message a sender had handed over:

  delivered exactly once         what the spec promises (SPEC section 7);
  refused                        the sender was told (an error stanza, IRC
                                 401, LMTP refused): not expected;
  lost at a crash                not delivered, and a process on its path
                                 (gateway, Prosody, ngircd) was killed
                                 within a few seconds after it was sent:
                                 in flight, which no protocol here can
                                 acknowledge (XEP-0114, IRC);
  to IRC while peer was away     not delivered, sent to IRC between an
                                 ngircd kill and peer being back in IRC:
                                 IRC keeps nothing for an absent nick (a
                                 private message gets a 401, which the
                                 gateway turns into an error: refused) or
                                 for an empty channel;
  duplicated at a crash          twice, with a gateway SIGKILL between the
                                 copies (the one in flight at a crash), or
                                 a mail with the SMTP server stopped after
                                 it was sent (it took the mail, never said);
  lost / duplicated              anything else: a defect.

alice's client is one with no rejoin logic and no self-ping: it joins
#chaos once, and again only after the room refused a message or its own
XMPP session was new (a Prosody restart); a gateway restart is something
it cannot see. The run reports how many room messages were refused and,
per gateway restart, the seconds from the restarted gateway being online
to the first room message after it reaching IRC ("room usable"), and that
message's own latency (the first figure also counts the wait until the
random traffic sends one). --trace logs every IRC line the gateway sends,
with its time, to see what a late line waited behind.

The last line is "chaos: F faults, M messages, L lost, D duplicated";
exit status 1 when L or D is not 0. The log names the seed and each
fault, so a failure replays with --seed.
"""

import argparse
import random
import re
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

import mailservers  # noqa: E402
import sgtest  # noqa: E402

IRC_GW = "irc.localhost"
MAIL_GW = "mail.localhost"
SERVER = "127.0.0.1"
PEER = f"peer%{SERVER}@{IRC_GW}"
ROOM = f"#chaos%{SERVER}@{IRC_GW}"
BOB = "bob\\40localhost@" + MAIL_GW
IN_FLIGHT = 4.0     # seconds after sending during which a kill may lose a message
SETTLE = 90         # seconds the queues get to drain at the end
# Which kills can lose a message in flight on each path.
PATHS = {
    "x2i": {"gateway", "prosody", "ngircd"},   # XMPP -> IRC private
    "i2x": {"gateway", "prosody", "ngircd"},   # IRC private -> XMPP
    "x2r": {"gateway", "prosody", "ngircd"},   # XMPP -> IRC channel
    "x2m": {"gateway", "prosody"},             # XMPP -> mail (SMTP, Dovecot durable)
    "m2x": {"gateway", "prosody"},             # mail -> XMPP
}


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)


class Ledger:
    """Every message handed over, and every copy seen arriving."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = {}       # (kind, n) -> time sent
        self.refused = set()  # (kind, n)
        self.got = {}        # (kind, n) -> [times]
        self.kills = []      # (time, process)
        self.restarts = []   # times the gateway was back online after a kill or a stop
        self.faults = 0
        self.ids = {}        # XMPP id -> (kind, n)
        self.away = []       # [start, end]: peer out of IRC (ngircd killed); end None meanwhile

    def send(self, kind, n, xmpp_id=None):
        with self.lock:
            self.sent[(kind, n)] = time.time()
            if xmpp_id:
                self.ids[xmpp_id] = (kind, n)

    def unsend(self, kind, n):
        with self.lock:
            self.sent.pop((kind, n), None)

    def refuse(self, key):
        with self.lock:
            self.refused.add(key)

    def receive(self, kind, n):
        with self.lock:
            self.got.setdefault((kind, n), []).append(time.time())

    def kill(self, what):
        with self.lock:
            self.kills.append((time.time(), what))

    def restarted(self):
        with self.lock:
            self.restarts.append(time.time())

    def peer_gone(self):
        with self.lock:
            self.away.append([time.time(), None])

    def peer_back(self):
        with self.lock:
            if self.away and self.away[-1][1] is None:
                self.away[-1][1] = time.time()

    def peer_was_away(self, t):
        """Whether a message to IRC sent at t may have reached IRC while
        peer was not there: IRC keeps nothing for an absent nick or an
        empty channel (a private one gets a 401, which refuses it)."""
        return any(start - 0.5 <= t <= (end if end is not None else float("inf"))
                   for start, end in self.away)

    def room_usable(self):
        """Per restart: seconds until the first room message sent after it
        arrived, and that message's own latency (arrival - sending: the
        first figure also counts the wait for the traffic to send one)."""
        out = []
        with self.lock:
            for i, t0 in enumerate(self.restarts):
                t1 = self.restarts[i + 1] if i + 1 < len(self.restarts) else float("inf")
                after = sorted((self.sent[k], k) for k in self.sent
                               if k[0] == "x2r" and t0 <= self.sent[k] < t1)
                for _, k in after:
                    if k in self.refused:
                        continue
                    if self.got.get(k):
                        out.append((self.got[k][0] - t0, self.got[k][0] - self.sent[k]))
                    break
        return out

    def verdict(self):
        lost, dup, lost_crash, dup_crash, refused, ok, disorder = [], [], [], [], [], 0, 0
        disordered, away = [], []
        last = {}
        for key in sorted(self.sent, key=lambda k: self.sent[k]):
            kind, n = key
            t = self.sent[key]
            copies = self.got.get(key, [])
            if key in self.refused:
                refused.append(key)
                if copies:
                    lost.append((key, "arrived although refused"))
                continue
            if not copies and kind in ("x2i", "x2r") and self.peer_was_away(t):
                away.append(key)
                continue
            if not copies:
                near = [w for (tk, w) in self.kills
                        if w in PATHS[kind] and t - 0.5 <= tk <= t + IN_FLIGHT]
                (lost_crash if near else lost).append(
                    (key, f"sent {time.strftime('%H:%M:%S', time.localtime(t))}, kills: "
                          + (", ".join(f"{w} {time.strftime('%H:%M:%S', time.localtime(tk))}"
                                       for (tk, w) in self.kills if abs(tk - t) < 15)
                             or "none")))
                continue
            if len(copies) > 1:
                # A gateway SIGKILL between the copies, or the SMTP server
                # stopped after taking a mail but before saying so (it was
                # down after the mail was sent and before the last copy).
                between = [tk for (tk, w) in self.kills
                           if (w == "gateway" and copies[0] - 1 <= tk <= copies[-1])
                           or (w == "smtp" and kind == "x2m" and t <= tk <= copies[-1])]
                (dup_crash if between else dup).append((key, len(copies)))
            else:
                ok += 1
            first = copies[0]
            if kind in last and first < last[kind][1] and kind != "m2x":
                disorder += 1
                disordered.append(key)
            last[kind] = (n, max(first, last.get(kind, (0, 0))[1]))
        return dict(ok=ok, lost=lost, dup=dup, lost_crash=lost_crash, dup_crash=dup_crash,
                    refused=refused, disorder=disorder, disordered=disordered, away=away)


class World:
    """The servers, the gateway and the two users."""

    def __init__(self, base, ledger, rnd, trace=False):
        self.base = base
        self.ledger = ledger
        self.rnd = rnd
        self.loop = sgtest.LoopThread()
        self.prosody = sgtest.Prosody(base / "prosody")
        self.prosody.start()
        self.ngircd = sgtest.Ngircd(base / "ngircd")
        self.ngircd.start()
        self.mail = mailservers.MailServers(base / "mail")
        self.mail.add_user("alice", "alice-mail")
        self.mail.add_user("bob", "bob-mail")
        self.mail.start()
        self.gateway = sgtest.Gateway(
            base / "gateway", self.prosody, backends=(IRC_GW, MAIL_GW),
            extra={"irc": {"ports": str(self.ngircd.port), "tls_ports": ""},
                   "email": {"imap": self.mail.imaps_url, "smtp": self.mail.smtp_url,
                             "ca_file": str(self.mail.ca_file), "poll_interval": "30"}},
            args=("-d", "-v", "-v") if trace else ("-d", "-v"))
        self.gateway.start()
        self.alice = None
        self.peer = None
        self.in_room = False
        self.down = set()  # what a fault has stopped for now
        self.connect_alice()
        r = self.alice.register(MAIL_GW, {"email": "alice@localhost",
                                          "password": "alice-mail"}, timeout=40)
        assert r["type"] == "result", r
        self.connect_peer()
        self.seen_mail = set()

    # ---- the users
    def connect_alice(self):
        from slixmpp.xmlstream.handler import Callback
        from slixmpp.xmlstream.matcher import MatchXPath
        c = sgtest.Client(self.loop, self.prosody, "alice")
        c.connect()
        # Every message, errors (often bodyless) included.
        c.xmpp.register_handler(Callback("chaos", MatchXPath("{jabber:client}message"),
                                         self.on_alice_message))
        self.alice = c
        self.in_room = False

    def on_alice_message(self, msg):
        body = msg["body"] or ""
        if msg["type"] == "error":
            key = self.ledger.ids.get(msg["id"])
            if key:
                self.ledger.refuse(key)
                if key[0] == "x2r":
                    self.in_room = False
            return
        m = re.fullmatch(r"(i2x|m2x) (\d+)( .*)?", body.strip(), re.S)
        if m:
            self.ledger.receive(m.group(1), int(m.group(2)))

    def alice_ok(self):
        if self.alice is None or not self.alice.connected:
            if "prosody" in self.down:
                return False
            try:
                self.connect_alice()
            except Exception as e:  # noqa: BLE001 - Prosody may be starting
                log(f"alice cannot connect yet: {e}")
                return False
        return True

    def connect_peer(self):
        self.peer = sgtest.IrcClient(self.ngircd.port, "peer")
        self.peer.join("#chaos")
        self.ledger.peer_back()

    def peer_ok(self):
        if self.peer is None or self.peer._closed:
            if "ngircd" in self.down:
                return False
            try:
                self.connect_peer()
            except Exception as e:  # noqa: BLE001
                log(f"peer cannot connect yet: {e}")
                self.peer = None
                return False
        return True

    def collect_irc(self):
        """Takes the PRIVMSGs peer received off its line list."""
        if self.peer is None:
            return
        with self.peer._cond:
            keep = []
            for line in self.peer.lines:
                m = re.search(r" PRIVMSG (peer|#chaos) :(x2i|x2r) (\d+)$", line)
                if m:
                    self.ledger.receive(m.group(2), int(m.group(3)))
                else:
                    keep.append(line)
            self.peer.lines[:] = keep[-200:]

    def collect_mail(self):
        try:
            mails = self.mail.fetch("bob")
        except Exception as e:  # noqa: BLE001 - Dovecot may be down
            log(f"bob's mailbox not readable now: {e}")
            return False
        counts = {}
        for raw in mails:
            m = re.search(rb"x2m (\d+)", raw)
            if m:
                counts[int(m.group(1))] = counts.get(int(m.group(1)), 0) + 1
        with self.ledger.lock:
            for n, c in counts.items():
                self.ledger.got[("x2m", n)] = [0.0] * c
        return True

    # ---- traffic
    def send_one(self, kind, n):
        body = f"{kind} {n}"
        if kind in ("x2i", "x2r", "x2m"):
            if not self.alice_ok():
                return
            if kind == "x2r" and not self.in_room:
                if "gateway" in self.down or "ngircd" in self.down:
                    return
                try:
                    self.alice.join_muc(ROOM, "alice", timeout=15)
                    self.in_room = True
                except AssertionError as e:
                    log(f"alice cannot join the room now: {str(e).splitlines()[0][:120]}")
                    return
            to = {"x2i": PEER, "x2r": ROOM, "x2m": BOB}[kind]
            # Recorded first: a bounce can come back before send_message returns.
            mid = f"chaos-{kind}-{n}-{uuid.uuid4().hex[:6]}"
            self.ledger.send(kind, n, mid)
            try:
                self.alice.send_message(to, body, mtype="groupchat" if kind == "x2r" else "chat",
                                        id=mid)
            except Exception:  # noqa: BLE001 - the stream went away: never handed over
                self.ledger.unsend(kind, n)
        elif kind == "i2x":
            if not self.peer_ok():
                return
            token = uuid.uuid4().hex[:8]
            try:
                self.peer.privmsg("alice", body)
                self.peer.send(f"PING :{token}")
            except OSError:
                return
            self.ledger.send(kind, n)
            try:
                self.peer.wait_for(lambda l: token in l and " PONG " in l, 5, "PONG")
            except AssertionError:
                return  # ngircd went away: in flight
            with self.peer._cond:
                for i, line in enumerate(self.peer.lines):
                    if " 401 peer alice " in line:
                        del self.peer.lines[i]
                        self.ledger.refuse((kind, n))
                        break
        elif kind == "m2x":
            raw = (f"From: Carol <carol@example.net>\r\nTo: alice@localhost\r\n"
                   f"Subject: {body}\r\nMessage-ID: <{kind}-{n}-{uuid.uuid4().hex}@chaos>\r\n"
                   f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n"
                   f"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n{body}\r\n")
            try:
                self.mail.deliver("alice", raw)
            except Exception:  # noqa: BLE001 - Dovecot down: refused, the sender knows
                return
            self.ledger.send(kind, n)

    # ---- faults
    FAULTS = ("gateway-kill", "gateway-kill", "gateway-term", "gateway-hup", "prosody-kill",
              "ngircd-kill", "dovecot-stop", "smtp-stop")

    def fault(self, what, gap):
        self.ledger.faults += 1
        log(f"fault {self.ledger.faults}: {what} (back after {gap:.1f}s)")
        if what == "gateway-kill":
            self.ledger.kill("gateway")
            self.gateway.kill(signal.SIGKILL)
            self.down.add("gateway")
            time.sleep(gap)
            self.gateway.start()
            self.ledger.restarted()
            self.down.discard("gateway")
        elif what == "gateway-term":
            code = self.gateway.kill(signal.SIGTERM)
            if code != 0:
                raise AssertionError(f"the gateway exited {code} on SIGTERM")
            self.down.add("gateway")
            time.sleep(gap)
            self.gateway.start()
            self.ledger.restarted()
            self.down.discard("gateway")
        elif what == "gateway-hup":
            self.gateway.proc.send_signal(signal.SIGHUP)
        elif what == "prosody-kill":
            self.ledger.kill("prosody")
            self.down.add("prosody")
            self.prosody.kill(signal.SIGKILL)
            time.sleep(gap)
            self.prosody.start()
            self.down.discard("prosody")
        elif what == "ngircd-kill":
            self.ledger.kill("ngircd")
            self.ledger.peer_gone()
            self.down.add("ngircd")
            self.ngircd.kill(signal.SIGKILL)
            time.sleep(gap)
            self.ngircd.start()
            self.down.discard("ngircd")
            # peer comes back at once, as a person on IRC would after a netsplit.
            deadline = time.time() + 15
            while not self.peer_ok() and time.time() < deadline:
                time.sleep(0.2)
        elif what == "dovecot-stop":
            self.down.add("dovecot")
            self.mail.stop()
            time.sleep(gap)
            self.mail.start()
            self.down.discard("dovecot")
        elif what == "smtp-stop":
            self.mail.stop_smtp()
            # Noted once it is down: a transaction it cut began before this.
            self.ledger.kill("smtp")
            time.sleep(gap)
            self.mail.start_smtp()
        self.gateway.check_alive()

    def close(self):
        for f in (lambda: self.alice.disconnect(), lambda: self.peer.close(),
                  lambda: self.gateway.stop(), self.mail.cleanup, self.ngircd.stop,
                  self.prosody.stop, self.loop.close):
            try:
                f()
            except Exception:  # noqa: BLE001
                pass


def main():
    import logging
    logging.basicConfig(level=logging.CRITICAL)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--rate", type=float, default=4, help="messages per second")
    ap.add_argument("--fault-every", type=float, default=12, help="mean seconds between faults")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--trace", action="store_true",
                    help="the gateway logs every IRC line (-vv): when each left, for timings")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    # The faults are planned from the seed alone (when, what, for how long),
    # so a run replays them whatever the timing of the traffic.
    plan_rnd = random.Random(seed)
    plan, t = [], 0.0
    while True:
        t += plan_rnd.uniform(0.5, 1.5) * a.fault_every
        if t >= a.seconds - 5:
            break
        plan.append((t, plan_rnd.choice(World.FAULTS), plan_rnd.uniform(1, 6)))
    rnd = random.Random(seed + 1)
    base = Path(tempfile.mkdtemp(prefix="sg-chaos-"))
    log(f"chaos: seed {seed}, {a.seconds:.0f} s, {len(plan)} faults planned, "
        f"work directory {base}")
    ledger = Ledger()
    world = World(base, ledger, rnd, trace=a.trace)
    kinds = list(PATHS)
    counters = {k: 0 for k in kinds}
    try:
        start = time.time()
        end = start + a.seconds
        while time.time() < end:
            if plan and time.time() - start >= plan[0][0]:
                _, what, gap = plan.pop(0)
                world.fault(what, gap)
            kind = rnd.choice(kinds)
            counters[kind] += 1
            world.send_one(kind, counters[kind])
            world.collect_irc()
            time.sleep(rnd.expovariate(a.rate))
        log(f"traffic over: {len(ledger.sent)} messages handed over; waiting for the queues")
        deadline = time.time() + SETTLE
        while time.time() < deadline:
            world.alice_ok()
            world.peer_ok()
            world.collect_irc()
            world.collect_mail()
            v = ledger.verdict()
            if not v["lost"] and not v["lost_crash"]:
                break
            time.sleep(2)
        world.collect_irc()
        world.collect_mail()
        world.gateway.check_alive()
    finally:
        v = ledger.verdict()
        glog = world.gateway.log_file
        world.close()
    for key, why in v["lost"]:
        log(f"LOST {key[0]} {key[1]} (sent at {ledger.sent[key]:.1f}; {why})")
    for key, n in v["dup"]:
        log(f"DUPLICATED {key[0]} {key[1]} x{n}")
    for key, why in v["lost_crash"]:
        log(f"in flight at a crash, lost: {key[0]} {key[1]} ({why})")
    for key in v["disordered"]:
        log(f"out of order: {key[0]} {key[1]} (sent at {ledger.sent[key]:.1f})")
    pairs = ledger.room_usable()
    usable = sorted(u for u, _ in pairs)
    latency = sorted(d for _, d in pairs)

    def stats(xs):
        return ((f"median {xs[len(xs) // 2]:.1f}, max {xs[-1]:.1f}" if xs else "n/a")
                + f" [{', '.join(f'{x:.1f}' for x in xs)}]")
    room_sent = sum(1 for k in ledger.sent if k[0] == "x2r")
    room_refused = sum(1 for k in v["refused"] if k[0] == "x2r")
    log(f"room: {room_refused} of {room_sent} messages refused; {len(ledger.restarts)} gateway "
        f"restarts, room usable after (s): {stats(usable)}; that message's own latency "
        f"(s): {stats(latency)}")
    log(f"delivered once {v['ok']}, refused {len(v['refused'])}, in flight at a crash "
        f"{len(v['lost_crash'])} lost / {len(v['dup_crash'])} twice, to IRC while peer was "
        f"away {len(v['away'])}, out of order "
        f"{v['disorder']}; gateway log {glog}")
    print(f"chaos: {ledger.faults} faults, {len(ledger.sent)} messages, {len(v['lost'])} lost, "
          f"{len(v['dup'])} duplicated", flush=True)
    if not a.keep and not v["lost"] and not v["dup"]:
        import shutil
        shutil.rmtree(base, ignore_errors=True)
    return 1 if v["lost"] or v["dup"] else 0


if __name__ == "__main__":
    sys.exit(main())
