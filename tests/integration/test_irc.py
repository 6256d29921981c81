"""The IRC gateway against a real ngircd and a real Prosody.

The gateway is irc.localhost; ngircd listens on 127.0.0.1 (a plain port and
a TLS port with a throwaway certificate). Other IRC users are played by
sgtest.IrcClient.
"""

import re
import signal
import time

import pytest

import sgtest

GW = "irc.localhost"
SERVER = "127.0.0.1"
MUC_USER = "{http://jabber.org/protocol/muc#user}"


def room(chan):
    return f"{chan}%{SERVER}@{GW}"


def person(nick):
    return f"{nick}%{SERVER}@{GW}"


codes = sgtest.muc_codes


item = sgtest.muc_item


groupchat = sgtest.wait_groupchat


irc_extra = sgtest.irc_extra


def bob_then_alice(client, irc_client, chan):
    """bob joins chan from IRC first (its operator), then alice from XMPP;
    (bob, alice, the room's JID)."""
    bob = irc_client("bob")
    bob.join(chan)
    alice = client("alice")
    r = room(chan)
    alice.join_muc(r, "alice")
    return bob, alice, r


@pytest.fixture
def irc(irc_client):
    """An IRC client (the harness's reader has no socket timeout)."""
    return irc_client


def in_channel(irc, client, chan, irc_nick="bob", xmpp_nick="alice"):
    """An IRC user in chan, then an XMPP user joined to its room: (irc, xmpp)."""
    someone = irc(irc_nick)
    someone.join(chan)
    user = client(xmpp_nick)
    user.join_muc(room(chan), xmpp_nick)
    return someone, user


@pytest.fixture
def irc_gateway(make_gateway, ngircd):
    return make_gateway(backends=(GW,), extra=irc_extra(ngircd))


def test_join_occupants_and_self(irc_gateway, client, irc):
    bob = irc("bob")
    bob.join("#lobby")
    bob.send_and_wait_echo("TOPIC #lobby :Welcome to the lobby")
    alice = client("alice")
    me = alice.join_muc(room("#lobby"), "alice")
    assert 110 in codes(me)
    assert item(me).get("role") == "participant"
    # bob created the channel: an operator, shown as admin and moderator.
    seen = {str(p["from"]): p for p in alice.presences if p["from"].bare == room("#lobby")}
    bp = seen[f"{room('#lobby')}/bob"]
    assert item(bp).get("affiliation") == "admin"
    assert item(bp).get("role") == "moderator"
    subj = alice.wait_for_message(lambda m: m["from"].bare == room("#lobby") and m["subject"],
                                  10, "the channel topic")
    assert subj["subject"] == "Welcome to the lobby"
    # bob sees alice join.
    bob.wait_for(lambda l: l.startswith(":alice!") and " JOIN " in l, 10, "alice's JOIN")


def test_messages_both_ways(irc_gateway, client, irc):
    bob, alice = in_channel(irc, client, "#chat")
    bob.privmsg("#chat", "hello from IRC")
    groupchat(alice, "hello from IRC", f"{room('#chat')}/bob")
    alice.send_message(room("#chat"), "hello from XMPP", mtype="groupchat")
    assert bob.wait_privmsg("#chat", "hello from XMPP") == ("alice", "hello from XMPP")
    # The sender sees its own message reflected.
    groupchat(alice, "hello from XMPP", f"{room('#chat')}/alice")
    # ... with the id and origin-id it sent (XEP-0045 7.4, XEP-0359), not a new one.
    alice.send_raw(f'<message to="{room("#chat")}" type="groupchat" id="cli-7">'
                   '<body>ids kept</body><origin-id xmlns="urn:xmpp:sid:0" id="orig-7"/>'
                   '</message>')
    m = groupchat(alice, "ids kept", f"{room('#chat')}/alice")
    assert m["id"] == "cli-7"
    oid = m.xml.find("{urn:xmpp:sid:0}origin-id")
    assert oid is not None and oid.get("id") == "orig-7"


def test_two_xmpp_users_in_one_channel(irc_gateway, client, irc):
    bob = irc("bob")
    bob.join("#two")
    alice = client("alice")
    carol = client("carol")
    alice.join_muc(room("#two"), "alice")
    carol.join_muc(room("#two"), "carol")
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{room('#two')}/carol", 10,
                            "carol's arrival, seen by alice")
    alice.send_message(room("#two"), "hi carol", mtype="groupchat")
    groupchat(carol, "hi carol", f"{room('#two')}/alice")
    bob.wait_privmsg("#two", "hi carol")
    bob.privmsg("#two", "hi both")
    groupchat(alice, "hi both", f"{room('#two')}/bob")
    groupchat(carol, "hi both", f"{room('#two')}/bob")


def test_me_and_action(irc_gateway, client, irc):
    bob, alice = in_channel(irc, client, "#act")
    alice.send_message(room("#act"), "/me waves", mtype="groupchat")
    bob.wait_privmsg("#act", "\x01ACTION waves\x01")
    bob.privmsg("#act", "\x01ACTION nods\x01")
    groupchat(alice, "/me nods", f"{room('#act')}/bob")


def test_topic_both_ways(irc_gateway, client, irc):
    bob = irc("bob")
    bob.join("#topic")
    bob.send("MODE #topic -t")
    alice = client("alice")
    alice.join_muc(room("#topic"), "alice")
    bob.send("TOPIC #topic :set on IRC")
    alice.wait_for_message(lambda m: m["subject"] == "set on IRC", 10, "the new subject")
    alice.send_raw(f'<message to="{room("#topic")}" type="groupchat">'
                   '<subject>set from XMPP</subject></message>')
    bob.wait_for(lambda l: " TOPIC #topic :set from XMPP" in l, 10, "TOPIC from alice")
    alice.wait_for_message(lambda m: m["subject"] == "set from XMPP"
                           and str(m["from"]) == f"{room('#topic')}/alice", 10,
                           "the subject change reflected")


def test_kick_part_nick_from_irc(irc_gateway, client, irc):
    bob = irc("bob")
    bob.join("#ops")
    dave = irc("dave")
    dave.join("#ops")
    erin, alice = in_channel(irc, client, "#ops", "erin", "alice")
    r = room("#ops")
    dave.send("NICK david")
    gone = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/dave"
                                   and p["type"] == "unavailable", 10, "dave's nick change")
    assert 303 in codes(gone) and item(gone).get("nick") == "david"
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/david", 10, "david")
    erin.send("PART #ops :bye all")
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/erin"
                                and p["type"] == "unavailable", 10, "erin's part")
    assert 307 not in codes(p)
    bob.send("KICK #ops david :behave")
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/david"
                                and p["type"] == "unavailable", 10, "david kicked")
    assert 307 in codes(p)
    # A mode change shows as a role change.
    bob.send("MODE #ops +v alice")
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/alice"
                                and item(p) is not None and item(p).get("affiliation") == "member",
                                10, "alice voiced")
    # And alice kicked: she is out, with 307 and 110.
    bob.send("KICK #ops alice :out")
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/alice"
                                and p["type"] == "unavailable", 10, "alice kicked")
    assert {110, 307} <= codes(p)


def test_private_messages(irc_gateway, client, irc):
    bob = irc("bob")
    alice = client("alice")
    alice.send_message(person("bob"), "psst bob")
    assert bob.wait_privmsg("bob", "psst bob", timeout=15) == ("alice", "psst bob")
    bob.privmsg("alice", "psst alice")
    m = alice.wait_for_message(lambda m: m["from"].bare == person("bob") and m["body"] == "psst alice",
                               10, "bob's answer")
    assert m["type"] == "chat"


def test_private_message_from_room(irc_gateway, client, irc):
    bob, alice = in_channel(irc, client, "#pm")
    alice.send_message(f"{room('#pm')}/bob", "just to you")
    bob.wait_privmsg("bob", "just to you")


def test_ctcp_version_answered(irc_gateway, client, irc):
    bob, alice = in_channel(irc, client, "#v")
    bob.privmsg("alice", "\x01VERSION\x01")
    line = bob.wait_for(lambda l: " NOTICE bob :\x01VERSION " in l, 10, "CTCP VERSION reply")
    assert "stanzagate" in line
    bob.privmsg("alice", "\x01PING 12345\x01")
    bob.wait_for(lambda l: " NOTICE bob :\x01PING 12345\x01" in l, 10, "CTCP PING reply")


def test_server_jid_raw_lines(irc_gateway, client, irc):
    bob, alice = in_channel(irc, client, "#raw")
    alice.send_message(f"{SERVER}@{GW}", "PRIVMSG #raw :raw hello")
    bob.wait_privmsg("#raw", "raw hello")
    # An unknown numeric comes back from the server's JID.
    alice.send_message(f"{SERVER}@{GW}", "FROBNICATE")
    m = alice.wait_for_message(lambda m: str(m["from"]) == f"{SERVER}@{GW}"
                               and "FROBNICATE" in m["body"], 10, "the server's answer")
    assert m["type"] == "chat"


def test_crlf_in_body_is_text(irc_gateway, client, irc):
    bob, alice = in_channel(irc, client, "#safe")
    alice.send_message(room("#safe"), "hi\rQUIT :x", mtype="groupchat")
    # A body line break is a message break, never a command: two PRIVMSGs.
    bob.wait_privmsg("#safe", "hi")
    bob.wait_privmsg("#safe", "QUIT :x")
    alice.send_message(room("#safe"), "still here?", mtype="groupchat")
    bob.wait_privmsg("#safe", "still here?")
    assert not any(" QUIT " in l and l.startswith(":alice") for l in bob.lines)
    assert not any(" PRIVMSG #safe :a" == l[l.index(" "):] for l in bob.lines)
    # To the server's JID, a line break cannot smuggle a second command either:
    # the message is refused.
    alice.send_message(f"{SERVER}@{GW}", "PRIVMSG #safe :a\r\nQUIT :x")
    err = alice.wait_for_message(lambda m: m["type"] == "error", 10, "the refusal")
    assert "one IRC command" in err["error"]["text"]
    alice.send_message(room("#safe"), "alive", mtype="groupchat")
    bob.wait_privmsg("#safe", "alive")


def test_hostile_irc_text(irc_gateway, client, irc):
    bob, alice = in_channel(irc, client, "#bad")
    bob.sock.sendall(b"PRIVMSG #bad :ctl\x01\x02\x03\x07\x1b[31m and \xff\xfe latin \xe9t\xe9\r\n")
    m = alice.wait_for_message(lambda m: m["type"] == "groupchat" and m["body"].startswith("ctl"),
                               10, "the hostile line")
    assert "latin \u00e9t\u00e9" in m["body"]
    assert not any(ord(ch) < 32 and ch not in "\t\n" for ch in m["body"])
    bob.privmsg("#bad", "after")
    groupchat(alice, "after", f"{room('#bad')}/bob")
    assert alice.connected


def test_long_body_arrives_complete(irc_gateway, client, irc):
    bob, alice = in_channel(irc, client, "#long")
    words = " ".join(f"w{i:04d}" for i in range(400))[:2000]
    assert len(words) == 2000
    alice.send_message(room("#long"), words, mtype="groupchat")
    # Cut at spaces; ngircd drops the space that ends a part, so the parts
    # are joined back with one.
    parts = []
    while len(" ".join(parts)) < len(words):
        _, text = bob.wait_privmsg("#long", timeout=15)
        parts.append(text.strip())
    assert len(parts) > 1
    assert " ".join(parts) == words
    # The sender's own copy is the whole body, once.
    groupchat(alice, words, f"{room('#long')}/alice")


def test_tls_with_test_ca(make_gateway, ngircd, client, irc):
    make_gateway(backends=(GW,), extra=irc_extra(ngircd, ports="", tls_ports=str(ngircd.tls_port),
                                                 ca_file=str(ngircd.cert)))
    bob = irc("bob", tls=True)
    bob.join("#tls")
    alice = client("alice")
    alice.join_muc(room("#tls"), "alice")
    alice.send_message(room("#tls"), "over TLS", mtype="groupchat")
    bob.wait_privmsg("#tls", "over TLS")


def test_tls_untrusted_certificate_refused(make_gateway, ngircd, client):
    g = make_gateway(backends=(GW,), extra=irc_extra(ngircd, ports="",
                                                     tls_ports=str(ngircd.tls_port)))
    alice = client("alice")
    alice.loop.call(alice.xmpp["xep_0045"].join_muc, room("#tls"), "alice")
    p = alice.wait_for_presence(lambda p: p["from"].bare == room("#tls"), 20, "the join's answer")
    assert p["type"] == "error"
    assert "certificate" in g.log


def test_server_restart_user_told_and_rejoined(irc_gateway, ngircd, client, irc):
    bob, alice = in_channel(irc, client, "#re")
    ngircd.stop()
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{room('#re')}/alice"
                                and p["type"] == "unavailable", 15, "the loss, told")
    assert 332 in codes(p)
    ngircd.start()
    # Rejoined without the client doing anything: a fresh self-presence.
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{room('#re')}/alice"
                                and p["type"] != "unavailable" and 110 in codes(p),
                                30, "the rejoin")
    bob2 = irc("bob")
    bob2.join("#re")
    alice.send_message(room("#re"), "back again", mtype="groupchat")
    bob2.wait_privmsg("#re", "back again")


def test_queued_message_survives_sigkill(make_gateway, ngircd, client, irc):
    g = make_gateway(backends=(GW,), extra=irc_extra(ngircd))
    ngircd.stop()
    alice = client("alice")
    alice.send_message(person("bob"), "sent while IRC was down")
    sgtest.wait_until(lambda: "will be tried again" in g.log or "lost or failed" in g.log, 15,
                      "the gateway to fail to connect")
    time.sleep(0.5)
    g.kill(signal.SIGKILL)
    ngircd.start()
    bob = irc("bob")
    g.start()
    assert bob.wait_privmsg("bob", "sent while IRC was down", timeout=60)[1] == \
        "sent while IRC was down"


def test_nick_collision_appends_underscore(irc_gateway, client, irc):
    squatter = irc("alice")
    squatter.join("#nick")
    alice = client("alice")
    me = alice.join_muc_as(room("#nick"), "alice", expect_nick="alice_")
    assert 110 in codes(me)
    squatter.wait_for(lambda l: l.startswith(":alice_!") and " JOIN " in l, 10, "alice_ joins")


def test_channel_key_is_the_muc_password(irc_gateway, client, irc):
    bob = irc("bob")
    bob.join("#locked")
    bob.send_and_wait_echo("MODE #locked +k sesame")
    alice = client("alice")
    alice.loop.call(alice.xmpp["xep_0045"].join_muc, room("#locked"), "alice")
    p = alice.wait_for_presence(lambda p: p["from"].bare == room("#locked"), 15, "the refusal")
    assert p["type"] == "error"
    assert p["error"]["condition"] == "not-authorized"
    alice.loop.call(alice.xmpp["xep_0045"].join_muc, room("#locked"), "alice", password="sesame")
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{room('#locked')}/alice", 15,
                                "the join with the key")
    assert p["type"] != "error" and 110 in codes(p)


def submit(c, jid, node, sessionid, fields):
    """Submit a command's form with only `fields` (a partial form)."""
    ns = "http://jabber.org/protocol/commands"
    import xml.etree.ElementTree as ET
    cmd = ET.Element(f"{{{ns}}}command", node=node, sessionid=sessionid, action="complete")
    x = ET.SubElement(cmd, "{jabber:x:data}x", type="submit")
    for k, v in fields.items():
        f = ET.SubElement(x, "{jabber:x:data}field", var=k)
        ET.SubElement(f, "{jabber:x:data}value").text = v
    return c.iq(jid, cmd, "set")


def test_configure_server_partial_form(irc_gateway, client, irc):
    server = f"{SERVER}@{GW}"
    alice = client("alice")
    assert ("configure", "Configure") in alice.commands(server)
    res = alice.execute(server, "configure")
    form = res.xml.find(".//{jabber:x:data}x")
    values = {f.get("var"): [v.text for v in f.findall("{jabber:x:data}value")]
              for f in form.findall("{jabber:x:data}field")}
    assert values["ports"] == [str(irc_gateway.sections["irc"]["ports"])]
    sid = res.xml.find("{http://jabber.org/protocol/commands}command").get("sessionid")
    # Only the nick: the ports, TLS and the rest stay as they were.
    done = submit(alice, server, "configure", sid, {"nick": "zed"})
    assert done.xml.find("{http://jabber.org/protocol/commands}command").get("status") == "completed"
    bob = irc("bob")
    bob.join("#conf")
    alice.join_muc_as(room("#conf"), "alice", expect_nick="zed")
    bob.wait_for(lambda l: l.startswith(":zed!") and " JOIN " in l, 10, "zed joins")
    res = alice.execute(server, "configure")
    form = res.xml.find(".//{jabber:x:data}x")
    values = {f.get("var"): [v.text for v in f.findall("{jabber:x:data}value")]
              for f in form.findall("{jabber:x:data}field")}
    assert values["nick"] == ["zed"]
    assert values["ports"] == [str(irc_gateway.sections["irc"]["ports"])]


def test_configure_throttle_per_server(irc_gateway, client, irc):
    """The issue's per-server throttle: a user's own limits, checked before
    anything is saved, and in force at the next connection."""
    server = f"{SERVER}@{GW}"
    alice = client("alice")
    res = alice.execute(server, "configure")
    sid = res.xml.find("{http://jabber.org/protocol/commands}command").get("sessionid")
    bad = submit(alice, server, "configure", sid, {"throttle_burst": "many", "nick": "nope"})
    assert "whole number" in note_text(bad)
    res = alice.execute(server, "configure")
    form = res.xml.find(".//{jabber:x:data}x")
    values = {f.get("var"): [v.text for v in f.findall("{jabber:x:data}value")]
              for f in form.findall("{jabber:x:data}field")}
    assert values["nick"] != ["nope"]  # nothing of the refused form was saved
    sid = res.xml.find("{http://jabber.org/protocol/commands}command").get("sessionid")
    # One line at once, then one a minute: the rest of a burst has to wait.
    submit(alice, server, "configure", sid, {"throttle_burst": "1",
                                             "throttle_interval_ms": "60000"})
    bob = irc("bob")
    bob.join("#slow")
    r = room("#slow")
    alice.join_muc(r, "alice")
    for i in range(4):
        alice.send_message(r, f"line {i}", mtype="groupchat")

    def waiting():
        m = re.search(r"(\d+) lines waiting", note_text(alice.execute(server, "info")))
        return int(m.group(1)) if m else -1
    # At most one of the four lines can have gone out within the minute.
    sgtest.wait_until(lambda: waiting() >= 3, 15, "lines held by the user's throttle")


def test_fixed_server_addresses(make_gateway, ngircd, client, irc):
    make_gateway(backends=(GW,), extra=irc_extra(ngircd, fixed_server=SERVER))
    bob = irc("bob")
    bob.join("#fixed")
    alice = client("alice")
    alice.join_muc(f"#fixed@{GW}", "alice")
    alice.send_message(f"#fixed@{GW}", "no server in the JID", mtype="groupchat")
    bob.wait_privmsg("#fixed", "no server in the JID")
    bob.privmsg("alice", "private, fixed")
    m = alice.wait_for_message(lambda m: m["body"] == "private, fixed", 10, "bob's private message")
    assert str(m["from"].bare) == f"bob@{GW}"
    alice.send_message(f"bob@{GW}", "answer, fixed")
    bob.wait_privmsg("bob", "answer, fixed")


def test_leaving_last_channel_closes_connection(irc_gateway, client, irc):
    bob, alice = in_channel(irc, client, "#bye")
    alice.leave_muc(room("#bye"), "alice")
    bob.wait_for(lambda l: l.startswith(":alice!") and " PART #bye" in l, 10, "alice's PART")
    # Nothing else needs the connection: it goes after a few seconds.
    wait_gone(bob, "alice")


wait_gone = sgtest.wait_irc_nick_gone


def test_nick_change_from_xmpp(irc_gateway, client, irc):
    bob, alice, r = bob_then_alice(client, irc, "#rename")
    alice.send_raw(f'<presence to="{r}/alicia"/>')
    bob.wait_for(lambda l: l.startswith(":alice!") and " NICK " in l and "alicia" in l, 10,
                 "NICK alicia")
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/alice"
                                and p["type"] == "unavailable", 10, "the old nick leaving")
    assert {303, 110} <= codes(p)
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/alicia" and 110 in codes(p), 10,
                            "the new nick")
    bob.privmsg("#rename", "hi alicia")
    groupchat(alice, "hi alicia", f"{r}/bob")


def test_two_resources_one_irc_connection(irc_gateway, client, irc):
    bob = irc("bob")
    bob.join("#res")
    phone = client("alice", resource="phone")
    laptop = client("alice", resource="laptop")
    r = room("#res")
    phone.join_muc(r, "alice")
    laptop.join_muc(r, "alice")
    bob.privmsg("#res", "to both")
    groupchat(phone, "to both", f"{r}/bob")
    groupchat(laptop, "to both", f"{r}/bob")
    laptop.send_message(r, "from the laptop", mtype="groupchat")
    bob.wait_privmsg("#res", "from the laptop")
    groupchat(phone, "from the laptop", f"{r}/alice")
    # One resource leaves: the channel stays joined for the other.
    phone.leave_muc(r, "alice")
    bob.privmsg("#res", "still here")
    groupchat(laptop, "still here", f"{r}/bob")
    assert not any(" PART " in l for l in bob.lines)
    # One IRC connection for both resources.
    assert sum(1 for l in bob.lines if l.startswith(":alice!") and " JOIN " in l) <= 1


def test_no_such_nick_fails_that_message(irc_gateway, client, irc):
    bob = irc("bob")
    alice = client("alice")
    # The 401 names the nick, not the line: the gateway remembers which
    # message went to it, and that message comes back as an error (a client
    # marks it failed), once although it went as several lines.
    alice.send_message(person("nobody"), "anyone there? " + "x" * 900, id="to-nobody-1")
    m = alice.wait_for_message(lambda m: m["from"].bare == person("nobody"), 15, "the answer")
    assert m["type"] == "error" and m["id"] == "to-nobody-1", m
    assert m["error"]["condition"] == "recipient-unavailable"
    assert "No such nick" in m["error"]["text"]
    alice.send_message(person("bob"), "and you?", id="to-bob-1")
    bob.wait_privmsg("bob", "and you?")
    # The next error is the next message's: the second line's 401 said nothing.
    alice.send_message(person("nobody"), "still nobody?", id="to-nobody-2")
    m = alice.wait_for_message(lambda m: m["from"].bare == person("nobody"), 15, "the answer")
    assert m["type"] == "error" and m["id"] == "to-nobody-2", m
    assert not [x for x in alice.messages if x["type"] == "error"]


def test_no_such_nick_told_in_that_chat(irc_gateway, client, irc):
    irc("bob")
    alice = client("alice")
    # A message without an id cannot be failed by id: the numeric is told as text.
    alice.send_raw(f'<message to="{person("nobody")}" type="chat"><body>anyone there?</body>'
                   '</message>')
    m = alice.wait_for_message(lambda m: m["from"].bare == person("nobody"), 15, "the answer")
    assert "No such nick" in m["body"]


def test_invite_from_irc(irc_gateway, client, irc):
    bob = irc("bob")
    bob.join("#a")
    bob.join("#secret")
    bob.send("MODE #secret +i")
    alice = client("alice")
    alice.join_muc(room("#a"), "alice")
    bob.send("INVITE alice #secret")
    # A mediated invitation (XEP-0045 7.8.2) from the room, with a readable body.
    m = alice.wait_for_message(lambda m: str(m["from"]) == room("#secret")
                               and "invites you" in m["body"], 10, "the invitation")
    assert room("#secret") in m["body"]
    inv = m.xml.find(f"{MUC_USER}x/{MUC_USER}invite")
    assert inv is not None and inv.get("from") == person("bob")
    alice.join_muc(room("#secret"), "alice")


note_text = sgtest.note_text


def test_info_and_disconnect_commands(irc_gateway, client, irc):
    bob, alice, r = bob_then_alice(client, irc, "#cmd")
    server = f"{SERVER}@{GW}"
    text = note_text(alice.execute(server, "info"))
    assert "ready as alice" in text and "#cmd" in text and "multi-prefix" in text
    text = note_text(alice.execute(server, "disconnect"))
    assert "Disconnected" in text
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/alice"
                                and p["type"] == "unavailable", 10, "out of the room")
    assert 110 in codes(p)
    bob.wait_for(lambda l: l.startswith(":alice!") and " QUIT " in l, 10, "alice's QUIT")
    assert "not connected" in note_text(alice.execute(server, "info"))


def test_channel_list_on_server_jid(irc_gateway, client, irc):
    bob = irc("bob")
    bob.join("#one")
    bob.send("TOPIC #one :the first")
    bob.join("#two")
    alice = client("alice")
    items = alice.disco_items(f"{SERVER}@{GW}", timeout=20)["disco_items"]["items"]
    found = {str(i[0]): i[2] for i in items}
    assert room("#one") in found and room("#two") in found
    assert "the first" in found[room("#one")]
    # A channel has nothing under it.
    assert not alice.disco_items(room("#one"))["disco_items"]["items"]


def test_moderated_channel_refusal_shown_in_room(irc_gateway, client, irc):
    bob, alice = in_channel(irc, client, "#quiet")
    bob.send("MODE #quiet +m")
    alice.wait_for_message(lambda m: "+m" in (m["body"] or ""), 10, "the mode change")
    alice.send_message(room("#quiet"), "can I speak?", mtype="groupchat")
    m = alice.wait_for_message(lambda m: str(m["from"]) == room("#quiet")
                               and "annot send" in (m["body"] or ""), 10, "the refusal")
    assert m["type"] == "groupchat"


def test_tls_by_host_name_through_dns(make_gateway, ngircd, client, irc):
    """'localhost' resolved by the asynchronous resolver (::1 refused, then
    127.0.0.1), TLS verified against the host name."""
    make_gateway(backends=(GW,), extra=irc_extra(ngircd, ports="", tls_ports=str(ngircd.tls_port),
                                                 ca_file=str(ngircd.cert)))
    bob = irc("bob", tls=True)
    bob.join("#dns")
    alice = client("alice")
    r = f"#dns%localhost@{GW}"
    alice.join_muc(r, "alice")
    alice.send_message(r, "by name", mtype="groupchat")
    bob.wait_privmsg("#dns", "by name")
    bob.privmsg("alice", "back by name")
    m = alice.wait_for_message(lambda m: m["body"] == "back by name", 10, "the answer")
    assert str(m["from"].bare) == f"bob%localhost@{GW}"


def test_muc_nick_with_spaces_becomes_an_irc_nick(irc_gateway, client, irc):
    bob = irc("bob")
    bob.join("#sp")
    alice = client("alice")
    alice.join_muc_as(room("#sp"), "Alice Smith", expect_nick="AliceSmith")
    bob.wait_for(lambda l: l.startswith(":AliceSmith!") and " JOIN " in l, 10, "AliceSmith")


def test_moderator_kicks_and_voices_from_xmpp(irc_gateway, client, irc):
    alice = client("alice")
    r = room("#mine")
    me = alice.join_muc(r, "alice")
    # First in the channel: ngircd makes alice an operator.
    assert item(me).get("role") == "moderator" and item(me).get("affiliation") == "admin"
    bob = irc("bob")
    bob.join("#mine")
    carol = irc("carol")
    carol.join("#mine")
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/carol", 10, "carol")
    alice.run(lambda x: x["xep_0045"].set_role(r, "carol", "participant"))
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/carol" and item(p) is not None
                                and item(p).get("affiliation") == "member", 10, "carol voiced")
    bob.wait_for(lambda l: " MODE #mine +v carol" in l, 10, "MODE +v")
    alice.run(lambda x: x["xep_0045"].set_role(r, "bob", "none", reason="out you go"))
    bob.wait_for(lambda l: " KICK #mine bob :out you go" in l, 10, "the KICK")
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/bob"
                                and p["type"] == "unavailable", 10, "bob kicked")
    assert 307 in codes(p)


def test_channel_history_on_join_and_in_the_archive(irc_gateway, client, irc):
    """The core records what the user sees in a channel: replayed on the next
    join, and searchable with XEP-0313."""
    bob, alice = in_channel(irc, client, "#hist")
    bob.privmsg("#hist", "said while alice was there")
    alice.wait_for_message(lambda m: m["body"] == "said while alice was there", 10, "live")
    alice.leave_muc(room("#hist"), "alice")
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{room('#hist')}/alice"
                            and p["type"] == "unavailable", 10, "own exit")
    later = client("alice", resource="later")
    later.join_muc(room("#hist"), "alice")
    m = later.wait_for_message(lambda m: m["body"] == "said while alice was there", 10,
                               "the history on join")
    assert m.xml.find("{urn:xmpp:delay}delay") is not None
    assert str(m["from"]) == f"{room('#hist')}/bob"
    fin = later.iq(room("#hist"), '<query xmlns="urn:xmpp:mam:2" queryid="h"/>', "set")
    assert fin.xml.find("{urn:xmpp:mam:2}fin").get("complete") == "true"
    results = [m for m in later.messages
               if m.xml.find("{urn:xmpp:mam:2}result") is not None]
    assert any("said while alice was there" in str(m) for m in results)


def test_caps_of_gateway_and_server_match_their_disco(irc_gateway, client, irc):
    """XEP-0115: the caps in the IRC gateway's presence (a backend with
    rooms) and in an IRC server JID's presence hash to what disco#info on
    those JIDs answers, so a client's cached features are the true ones."""
    CAPS = "{http://jabber.org/protocol/caps}c"
    alice = client("alice")
    assert alice.register(GW, {"nick": "alice"})["type"] == "result"
    pres = alice.wait_for_presence(lambda p: str(p["from"]) == GW and p["type"] == "available"
                                   and p.xml.find(CAPS) is not None, 10, "the gateway's presence")
    assert pres.xml.find(CAPS).get("ver") == sgtest.caps_ver(alice.disco_info(GW)["disco_info"])
    in_channel(irc, lambda nick: alice, "#caps")
    server = f"{SERVER}@{GW}"
    pres = alice.wait_for_presence(lambda p: p["from"].bare == server and
                                   p.xml.find(CAPS) is not None, 10, "the server JID's presence")
    ver = pres.xml.find(CAPS).get("ver")
    assert ver == sgtest.caps_ver(alice.disco_info(str(pres["from"]))["disco_info"])
