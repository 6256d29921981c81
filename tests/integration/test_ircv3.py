"""IRCv3 against a real InspIRCd 3 with its IRCv3 modules (issue 14): one
test per feature the server offers, an IRC client with the capabilities on
the IRC side (sgtest.IrcClient, tags read raw) and slixmpp on the XMPP side.
ngIRCd, which offers none of them, shows the fallback."""

import pytest

import ircservices
import sgtest
from test_irc import GW, SERVER, groupchat, irc_extra, person, room

CHATSTATES = "http://jabber.org/protocol/chatstates"
SID = "{urn:xmpp:sid:0}"
CAPS = ("message-tags", "server-time", "echo-message", "batch")


@pytest.fixture
def irc3(irc3_client):
    return lambda nick, caps=CAPS: irc3_client(nick, caps=caps)


@pytest.fixture
def gw(make_gateway, inspircd_v3):
    return make_gateway(backends=(GW,), extra=irc_extra(inspircd_v3))


def line_of(client, pred, what):
    return client.wait_for(lambda l: pred(sgtest.IrcClient.untagged(l)), 10, what)


def history_channel(irc3, chan, said):
    """bob in chan with history on join (+H: 20 lines, a day), having said said."""
    bob = irc3("bob")
    bob.join(chan)
    bob.send(f"MODE {chan} +H 20:1d")
    line_of(bob, lambda l: f" MODE {chan} +H" in l, "the +H mode")
    bob.privmsg(chan, said)
    return bob


def test_echo_message_is_the_reflection_with_the_clients_ids(gw, client, irc3):
    bob = irc3("bob")
    bob.join("#echo")
    alice = client("alice")
    alice.join_muc(room("#echo"), "alice")
    alice.send_raw(f'<message to="{room("#echo")}" type="groupchat" id="cli-1">'
                   '<body>first line\nsecond line</body>'
                   '<origin-id xmlns="urn:xmpp:sid:0" id="orig-1"/></message>')
    first = line_of(bob, lambda l: l.endswith("PRIVMSG #echo :first line"), "line 1")
    second = line_of(bob, lambda l: l.endswith("PRIVMSG #echo :second line"), "line 2")
    # The server gave each line an id (msgid): it is the server that spoke.
    assert sgtest.IrcClient.tags(first)["msgid"] != sgtest.IrcClient.tags(second)["msgid"]
    # One reflection, once the last line came back: the whole body, the client's ids.
    m = groupchat(alice, "first line\nsecond line", f"{room('#echo')}/alice")
    assert m["id"] == "cli-1"
    assert m.xml.find(f"{SID}origin-id").get("id") == "orig-1"
    assert m.xml.find(f"{SID}stanza-id").get("by") == room("#echo")
    alice.no_message(lambda m: m["body"] in ("first line", "second line"), timeout=1)
    # bob's line arrives once, with a stanza-id and no delay (it is live).
    bob.privmsg("#echo", "from bob")
    m = groupchat(alice, "from bob", f"{room('#echo')}/bob")
    assert m.xml.find(f"{SID}stanza-id") is not None
    assert m.xml.find("{urn:xmpp:delay}delay") is None


def test_channel_history_replay_is_delayed(gw, client, irc3):
    bob = history_channel(irc3, "#hist", "said before")
    alice = client("alice")
    alice.join_muc(room("#hist"), "alice")
    # chanhistory replays it in a chathistory batch with its time: a delay,
    # even though it is only seconds old.
    m = groupchat(alice, "said before", f"{room('#hist')}/bob")
    d = m.xml.find("{urn:xmpp:delay}delay")
    assert d is not None and d.get("stamp").startswith("20")
    # After the batch, live lines are live again.
    bob.privmsg("#hist", "said after")
    m = groupchat(alice, "said after", f"{room('#hist')}/bob")
    assert m.xml.find("{urn:xmpp:delay}delay") is None


def test_typing_both_ways_in_rooms_and_private(gw, client, irc3):
    bob = irc3("bob")
    bob.join("#typing")
    alice = client("alice")
    alice.join_muc(room("#typing"), "alice")
    # IRC -> XMPP, in the room: +typing=active is composing, from bob's in-room JID.
    bob.send("@+typing=active TAGMSG #typing")
    m = alice.wait_for_message(
        lambda m: str(m["from"]) == f"{room('#typing')}/bob"
        and m.xml.find(f"{{{CHATSTATES}}}composing") is not None, 10, "bob composing")
    assert not m["body"] and m["type"] == "groupchat"
    bob.send("@+typing=done TAGMSG #typing")
    alice.wait_for_message(
        lambda m: str(m["from"]) == f"{room('#typing')}/bob"
        and m.xml.find(f"{{{CHATSTATES}}}active") is not None, 10, "bob active")
    # XMPP -> IRC, in the room.
    alice.send_raw(f'<message to="{room("#typing")}" type="groupchat">'
                   f'<composing xmlns="{CHATSTATES}"/></message>')
    t = line_of(bob, lambda l: l.startswith(":alice!")
                and (l.endswith("TAGMSG #typing") or l.endswith("TAGMSG :#typing")),
                "alice's TAGMSG in the room")
    assert sgtest.IrcClient.tags(t)["+typing"] == "active"
    # Private, both ways.
    bob.send("@+typing=paused TAGMSG alice")
    alice.wait_for_message(
        lambda m: m["from"].bare == person("bob")
        and m.xml.find(f"{{{CHATSTATES}}}paused") is not None, 10, "bob paused in private")
    alice.send_raw(f'<message to="{person("bob")}" type="chat">'
                   f'<composing xmlns="{CHATSTATES}"/></message>')
    t = line_of(bob, lambda l: l.startswith(":alice!") and " TAGMSG " in l and "bob" in l,
                "alice's private TAGMSG")
    assert sgtest.IrcClient.tags(t)["+typing"] == "active"


def test_away_and_chghost_update_the_occupant(gw, client, irc3):
    bob = irc3("bob")
    bob.join("#pres")
    alice = client("alice")
    alice.join_muc(room("#pres"), "alice")
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{room('#pres')}/bob", 10, "bob")
    # away-notify: bob's AWAY reaches the gateway without a WHO poll.
    bob.send("AWAY :lunch")
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{room('#pres')}/bob"
                                and p["show"] == "away", 10, "bob away")
    bob.send("AWAY")
    back = alice.wait_for_presence(lambda p: str(p["from"]) == f"{room('#pres')}/bob"
                                   and p["show"] == "" and p["type"] != "unavailable", 10,
                                   "bob back")
    oid = back.xml.find("{urn:xmpp:occupant-id:0}occupant-id").get("id")
    # chghost: a new host is an occupant update; the occupant-id stays.
    bob.send(f"OPER {ircservices.V3_OPER[0]} {ircservices.V3_OPER[1]}")
    line_of(bob, lambda l: " 381 bob " in l, "bob an operator")
    alice.no_presence(lambda p: str(p["from"]) == f"{room('#pres')}/bob", timeout=1)
    bob.send("CHGHOST bob cloaked.example")
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{room('#pres')}/bob"
                                and p["type"] != "unavailable", 10, "bob's new host")
    assert p.xml.find("{urn:xmpp:occupant-id:0}occupant-id").get("id") == oid


def test_ngircd_fallback_reflects_without_echo(make_gateway, ngircd, client):
    """ngIRCd offers no IRCv3: the gateway reflects the message itself, whole,
    with the client's ids, and sends no typing."""
    make_gateway(backends=(GW,), extra=irc_extra(ngircd))
    bob = sgtest.IrcClient(ngircd.port, "bob")
    try:
        bob.join("#plain")
        alice = client("alice")
        alice.join_muc(room("#plain"), "alice")
        alice.send_raw(f'<message to="{room("#plain")}" type="groupchat">'
                       f'<composing xmlns="{CHATSTATES}"/></message>')
        alice.send_raw(f'<message to="{room("#plain")}" type="groupchat" id="cli-2">'
                       '<body>one\ntwo</body><origin-id xmlns="urn:xmpp:sid:0" id="orig-2"/>'
                       '</message>')
        assert bob.wait_privmsg("#plain", "one") == ("alice", "one")
        assert bob.wait_privmsg("#plain", "two") == ("alice", "two")
        m = groupchat(alice, "one\ntwo", f"{room('#plain')}/alice")
        assert m["id"] == "cli-2"
        assert m.xml.find(f"{SID}origin-id").get("id") == "orig-2"
        assert not any("TAGMSG" in l for l in bob.lines)
    finally:
        bob.close()


def test_history_replay_does_not_repeat_the_archive(gw, client, irc3):
    """chanhistory replays the channel at every JOIN; what the gateway's
    archive already holds (by msgid) is not shown again."""
    r = room("#dedup")
    bob = history_channel(irc3, "#dedup", "before")
    alice = client("alice")
    alice.join_muc(r, "alice")
    groupchat(alice, "before", f"{r}/bob")  # the first replay: recorded
    alice.leave_muc(r, "alice")
    line_of(bob, lambda l: l.startswith(":alice!") and " PART " in l, "alice's PART")
    bob.privmsg("#dedup", "meanwhile")
    with alice._cond:
        alice.messages.clear()
    alice.join_muc(r, "alice")
    line_of(bob, lambda l: l.startswith(":alice!") and " JOIN " in l, "alice's JOIN again")
    bob.privmsg("#dedup", "live after")
    groupchat(alice, "live after", f"{r}/bob")
    with alice._cond:
        bodies = [m["body"] for m in alice.messages if m["from"].bare == r and m["body"]]
    # "before" once (the archive's history on join), "meanwhile" once (the replay).
    assert bodies.count("before") == 1, bodies
    assert bodies.count("meanwhile") == 1, bodies


def test_correction_is_a_new_line_marked(gw, client, irc3):
    """XEP-0308: IRC has no edit, so a correction goes out as a new line with
    a visible "* "; the sender's reflection is the corrected text with its ids."""
    r = room("#fix")
    bob = irc3("bob")
    bob.join("#fix")
    alice = client("alice")
    alice.join_muc(r, "alice")
    alice.send_raw(f'<message to="{r}" type="groupchat" id="m-1"><body>helo</body></message>')
    assert bob.wait_privmsg("#fix", "helo") == ("alice", "helo")
    alice.send_raw(f'<message to="{r}" type="groupchat" id="m-2"><body>hello</body>'
                   '<replace xmlns="urn:xmpp:message-correct:0" id="m-1"/></message>')
    assert bob.wait_privmsg("#fix", "* hello") == ("alice", "* hello")
    m = groupchat(alice, "hello", f"{r}/alice")
    assert m["id"] == "m-2"
    # In a private chat too.
    alice.send_raw(f'<message to="{person("bob")}" type="chat" id="p-2"><body>fixed</body>'
                   '<replace xmlns="urn:xmpp:message-correct:0" id="p-1"/></message>')
    assert bob.wait_privmsg("bob", "* fixed") == ("alice", "* fixed")


def test_replies_and_reactions_both_ways(gw, client, irc3):
    """+draft/reply <-> XEP-0461 and +draft/react <-> XEP-0444 in a room:
    the IRC msgid and the stanza-id the client knows name the same message."""
    r = room("#react")
    bob = irc3("bob")
    bob.join("#react")
    alice = client("alice")
    alice.join_muc(r, "alice")
    bob.privmsg("#react", "question")
    echo = line_of(bob, lambda l: l.startswith(":bob!") and l.endswith(" :question"), "echo")
    msgid = sgtest.IrcClient.tags(echo)["msgid"]
    q = groupchat(alice, "question", f"{r}/bob")
    sid = q.xml.find(f"{SID}stanza-id").get("id")
    # IRC -> XMPP: a reply names the message by its stanza-id.
    bob.send(f"@+draft/reply={msgid} PRIVMSG #react :answer")
    a = groupchat(alice, "answer", f"{r}/bob")
    assert a.xml.find("{urn:xmpp:reply:0}reply").get("id") == sid
    # IRC -> XMPP: a reaction.
    bob.send(f"@+draft/reply={msgid};+draft/react=\U0001F44D TAGMSG #react")
    m = alice.wait_for_message(
        lambda m: str(m["from"]) == f"{r}/bob"
        and m.xml.find("{urn:xmpp:reactions:0}reactions") is not None, 10, "bob's reaction")
    rs = m.xml.find("{urn:xmpp:reactions:0}reactions")
    assert rs.get("id") == sid
    assert [e.text for e in rs] == ["\U0001F44D"]
    # XMPP -> IRC: a reply carries the msgid.
    alice.send_raw(f'<message to="{r}" type="groupchat" id="re-1"><body>re: question</body>'
                   f'<reply xmlns="urn:xmpp:reply:0" id="{sid}" to="{r}/bob"/></message>')
    line = line_of(bob, lambda l: l.startswith(":alice!") and l.endswith(" :re: question"),
                   "alice's reply")
    assert sgtest.IrcClient.tags(line)["+draft/reply"] == msgid
    # XMPP -> IRC: reactions; a client sends its whole set, IRC gets what was added.
    for emoji in (["\U0001F389"], ["\U0001F389", "\U0001F440"]):
        items = "".join(f"<reaction>{e}</reaction>" for e in emoji)
        alice.send_raw(f'<message to="{r}" type="groupchat"><reactions xmlns='
                       f'"urn:xmpp:reactions:0" id="{sid}">{items}</reactions></message>')
    sent = []
    for _ in range(2):
        t = line_of(bob, lambda l: l.startswith(":alice!") and " TAGMSG " in l, "a reaction")
        tags = sgtest.IrcClient.tags(t)
        assert tags["+draft/reply"] == msgid
        sent.append(tags["+draft/react"])
    assert sent == ["\U0001F389", "\U0001F440"]
    bob.privmsg("#react", "done")
    line_of(bob, lambda l: l.startswith(":bob!") and l.endswith(" :done"), "the last echo")
    assert not any(" TAGMSG " in l and l.split(" ", 2)[1].startswith(":alice!")
                   for l in bob.lines), "a reaction sent twice"
