"""IRCv3 against a scripted server (ngircd has no SASL, echo-message or
server-time): CAP LS 302 over several lines, SASL PLAIN, echo-message,
msgid and server-time tags, a malformed line skipped."""

import base64
import socket
import threading

import pytest

import sgtest
from test_irc import GW, SERVER, irc_extra


class FakeIrcd:
    """One client at a time; answers just enough of the protocol."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.sasl = None
        self.conn = None
        self.cond = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    def send(self, line):
        self.conn.sendall(line.encode() + b"\r\n")

    def send_raw(self, data):
        self.conn.sendall(data)

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conn = conn
            buf = b""
            try:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    buf += data
                    while b"\r\n" in buf:
                        raw, buf = buf.split(b"\r\n", 1)
                        self._line(raw.decode())
            except OSError:
                pass

    def _line(self, line):
        with self.cond:
            self.received.append(line)
            self.cond.notify_all()
        words = line.split(" ")
        cmd = words[0]
        if line == "CAP LS 302":
            self.send(":fake CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL")
            self.send(":fake CAP * LS :echo-message server-time message-tags batch")
        elif cmd == "CAP" and words[1] == "REQ":
            self.send(f":fake CAP * ACK :{line.split(' ', 2)[2].lstrip(':')}")
        elif line == "AUTHENTICATE PLAIN":
            self.send("AUTHENTICATE +")
        elif cmd == "AUTHENTICATE":
            self.sasl = base64.b64decode(words[1])
            self.send(":fake 900 alice alice!a@h alice :You are now logged in as alice")
            self.send(":fake 903 alice :SASL authentication successful")
        elif line == "CAP END":
            self.send(":fake 001 alice :Welcome alice")
            self.send(":fake 005 alice PREFIX=(ov)@+ CHANTYPES=# CASEMAPPING=rfc1459 :are supported")
            self.send(":fake 376 alice :End of MOTD")
        elif cmd == "JOIN":
            self.send(f":alice!a@h JOIN {words[1]}")
            self.send(f":fake 353 alice = {words[1]} :alice @op")
            self.send(f":fake 366 alice {words[1]} :End of NAMES")
        elif cmd == "PRIVMSG" and words[1].startswith("#"):
            text = line.split(" :", 1)[1]
            self.send(f"@msgid=echo-1;time=2026-01-01T00:00:00.000Z :alice!a@h PRIVMSG {words[1]} :{text}")
        elif cmd == "PING":
            self.send(f":fake PONG fake :{words[1]}")

    def wait_for(self, pred, timeout=10, what="line"):
        def found():
            with self.cond:
                return next((l for l in self.received if pred(l)), None)
        return sgtest.wait_until(found, timeout, what)

    def close(self):
        self.sock.close()
        if self.conn:
            self.conn.close()


@pytest.fixture
def fake():
    f = FakeIrcd()
    yield f
    f.close()


def test_sasl_echo_message_and_tags(make_gateway, fake, client):
    make_gateway(backends=(GW,), extra=irc_extra(fake))
    alice = client("alice")
    server = f"{SERVER}@{GW}"
    res = alice.execute(server, "configure")
    sid = res.xml.find("{http://jabber.org/protocol/commands}command").get("sessionid")
    from test_irc import submit
    submit(alice, server, "configure", sid, {"sasl_password": "s3cret"})
    room = f"#v3%{SERVER}@{GW}"
    alice.join_muc(room, "alice")
    # Both LS lines were read before the request; SASL went first.
    req = fake.wait_for(lambda l: l.startswith("CAP REQ"), 10, "CAP REQ")
    for cap in ("multi-prefix", "sasl", "echo-message", "server-time", "message-tags", "batch"):
        assert cap in req
    assert fake.sasl == b"alice\0alice\0s3cret"
    # The room sees op as moderator.
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{room}/op", 10, "op")
    # echo-message: our line comes back from the server, once, with its id and time.
    alice.send_message(room, "echo me", mtype="groupchat")
    fake.wait_for(lambda l: l == "PRIVMSG #v3 :echo me", 10, "the PRIVMSG")
    m = alice.wait_for_message(lambda m: m["body"] == "echo me", 10, "the echo")
    # With history on, the stable id (XEP-0359) is the archive's, which MAM
    # pages refer to; the server's msgid is kept in the archive row.
    assert m["stanza_id"]["by"] == room and m["stanza_id"]["id"].isdigit()
    assert m.xml.find("{urn:xmpp:delay}delay").get("stamp").startswith("2026-01-01T00:00:00")
    alice.no_message(lambda m: m["body"] == "echo me", timeout=1)
    # A malformed line is skipped; the next one still arrives.
    fake.send_raw(b":op!o@h PRIVMSG #v3 :bad\x00line\r\n")
    fake.send(":op!o@h PRIVMSG #v3 :good line")
    m = alice.wait_for_message(lambda m: m["body"] == "good line", 10, "the good line")
    alice.no_message(lambda m: "bad" in (m["body"] or ""), timeout=1)
    # Nicks that cannot be part of a JID: the lines are skipped, the stream stays whole.
    fake.send_raw(b":ba\xffd!o@h PRIVMSG #v3 :from a bad nick\r\n")
    fake.send_raw(b":ev\x01il!o@h PRIVMSG alice :private from a bad nick\r\n")
    fake.send_raw(b":fake 353 alice = #v3 :ok1 b\xc3\x28d @ok2\r\n")
    fake.send_raw(b":fake 366 alice #v3 :End\r\n")
    fake.send(":op!o@h JOIN #v3")
    fake.send(":op!o@h PRIVMSG #v3 :after the bad ones")
    alice.wait_for_message(lambda m: m["body"] == "after the bad ones", 10, "the last line")
    alice.no_message(lambda m: "bad nick" in (m["body"] or ""), timeout=1)
    assert alice.connected
