"""Persistent channels, per-channel and per-user settings, and the admins'
disconnect-user command of the IRC gateway, against a real ngircd and a
real Prosody (the fixtures of test_irc.py).

A raw IRC client (bob) is in the channels; alice uses the gateway.
"""

import pytest
from slixmpp.exceptions import IqError

import sgtest
from test_irc import GW, SERVER, codes, groupchat, irc_extra, note_text, room, wait_gone
from test_irc import irc, irc_gateway  # noqa: F401  (fixtures)

CMD = "http://jabber.org/protocol/commands"
DELAY = "{urn:xmpp:delay}delay"
SERVER_JID = f"{SERVER}@{GW}"


form_values = sgtest.form_values


def configure(client, jid, fields):
    """Run configure on jid, submitting only `fields` (a partial form);
    returns (values shown in the form, the completed result)."""
    res = client.execute(jid, "configure")
    shown = form_values(res)
    sid = res.xml.find(f"{{{CMD}}}command").get("sessionid")
    done = client.command_step(jid, "configure", sid, fields)
    return shown, done


def error_note(res):
    """The text of the result's error note, or None."""
    n = res.xml.find(f".//{{{CMD}}}note[@type='error']")
    return n.text if n is not None else None


def status(res):
    return res.xml.find(f"{{{CMD}}}command").get("status")


def left_room(client, r, nick="alice"):
    return client.wait_for_presence(lambda p: str(p["from"]) == f"{r}/{nick}"
                                    and p["type"] == "unavailable", 10, f"own exit from {r}")


def history_until_subject(client, r):
    """Messages of r received up to its subject (the last thing of a join:
    any history comes before it). Returns their bodies, in order."""
    subject = client.wait_for_message(
        lambda m: m["from"].bare == r and m.xml.find("{jabber:client}subject") is not None,
        10, f"the subject of {r}")
    with client._cond:
        before = client.messages[:]
    bodies = []
    for m in before:
        if m["from"].bare == r and m["body"] and m.xml.find(
                "{urn:xmpp:mam:2}result") is None and m in client.all_stanzas[
                :client.all_stanzas.index(subject)]:
            bodies.append((m["body"], m.xml.find(DELAY) is not None))
            client.messages.remove(m)
    return bodies


def mam_bodies(client, r):
    fin = client.iq(r, '<query xmlns="urn:xmpp:mam:2" queryid="q"/>', "set")
    assert fin.xml.find("{urn:xmpp:mam:2}fin").get("complete") == "true"
    out = []
    for m in list(client.messages):
        res = m.xml.find("{urn:xmpp:mam:2}result")
        if res is not None and res.get("queryid") == "q":
            body = m.xml.find(".//{jabber:client}body")
            out.append(body.text if body is not None else None)
            client.messages.remove(m)
    return out


def wait_archived(client, r, body):
    """Wait until the gateway has recorded body in r's archive (it took the
    line from IRC: a join after this gets it as history, not live)."""
    sgtest.wait_until(lambda: body in mam_bodies(client, r), 15,
                      f"'{body}' in the archive of {r}", interval=0.2)


def join_gets_history(client, r, body):
    """Once body is archived, client joins r and gets it as delayed history.
    Returns the history received (body, delayed) pairs."""
    wait_archived(client, r, body)
    client.join_muc(r, "alice")
    got = history_until_subject(client, r)
    assert (body, True) in got
    return got


def names(bob, chan):
    """The nicks in chan, as the IRC server says (NAMES)."""
    with bob._cond:  # earlier answers (bob's own JOIN) are not this one
        bob.lines[:] = [l for l in bob.lines if " 353 " not in l and " 366 " not in l]
    bob.send(f"NAMES {chan}")
    line = bob.wait_for(lambda l: f" 353 {bob.nick} " in l and f" {chan} :" in l, 10,
                        f"NAMES of {chan}")
    bob.wait_for(lambda l: f" 366 {bob.nick} {chan} " in l, 10, "end of NAMES")
    return {n.lstrip("~&@%+") for n in line.split(" :", 1)[1].split()}


def in_channel(client, irc, chan, key=None):
    """bob (IRC) and alice (XMPP) in chan (with a key: bob sets it, alice
    gives it as the MUC password); returns bob, alice and the room's JID."""
    bob = irc("bob")
    bob.join(chan)
    if key:
        bob.send(f"MODE {chan} +k {key}")
        bob.wait_for(lambda l: f" MODE {chan} +k" in l, 10, "the key set")
    alice = client("alice")
    r = room(chan)
    if key:
        alice.loop.call(alice.xmpp["xep_0045"].join_muc, r, "alice", password=key)
        alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/alice" and 110 in codes(p),
                                15, "the join with the key")
    else:
        alice.join_muc(r, "alice")
    bob.wait_for(lambda l: l.startswith(":alice!") and " JOIN " in l, 10, "alice's JOIN")
    return bob, alice, r


def test_persistent_channel_stays_joined_while_offline(irc_gateway, client, irc):
    bob, alice, r = in_channel(client, irc, "#keep")
    shown, done = configure(alice, r, {"persistent": "1"})
    assert shown == {"persistent": ["0"], "record_history": ["1"], "encoding": [""]}
    assert status(done) == "completed" and "Saved" in note_text(done)
    bob.privmsg("#keep", "before she went")
    groupchat(alice, "before she went", f"{r}/bob")
    alice.disconnect()
    # Offline, and still in the channel: what is said now is kept for her.
    bob.privmsg("#keep", "said while alice was offline")
    bob.privmsg("#keep", "\x01ACTION waves at nobody\x01")
    assert "alice" in names(bob, "#keep")
    assert not any(" PART #keep" in l or l.startswith(":alice!") and " QUIT " in l
                   for l in bob.lines)

    back = client("alice", resource="back")
    got = join_gets_history(back, r, "/me waves at nobody")
    assert ("said while alice was offline", True) in got
    assert got.index(("before she went", True)) < got.index(("said while alice was offline", True))
    # The same IRC membership: no second JOIN.
    assert not any(l.startswith(":alice!") and " JOIN " in l for l in bob.lines)
    # info shows the channel as persistent.
    assert "#keep (persistent)" in note_text(back.execute(SERVER_JID, "info"))
    back.send_message(r, "I am back", mtype="groupchat")
    bob.wait_privmsg("#keep", "I am back")


def test_persistent_channel_rejoined_after_restart(irc_gateway, client, irc):
    bob, alice, r = in_channel(client, irc, "#boot")
    # The text command on the channel's JID, for clients without ad-hoc commands.
    reply = alice.send_message_and_wait(r, "!configure persistent=yes")
    assert "Saved" in reply["body"]
    alice.disconnect()
    irc_gateway.restart()
    assert f"joining the persistent channel #boot%{SERVER}" in irc_gateway.log
    bob.wait_for(lambda l: l.startswith(":alice!") and " QUIT " in l, 15, "the gateway's QUIT")
    # Nobody is online: the gateway joins the channel by itself.
    bob.wait_for(lambda l: l.startswith(":alice!") and " JOIN " in l and "#boot" in l, 20,
                 "the gateway rejoining #boot")
    assert "alice" in names(bob, "#boot")
    bob.privmsg("#boot", "said after the restart")

    join_gets_history(client("alice", resource="back"), r, "said after the restart")


def test_persistent_channel_on_fixed_server(make_gateway, ngircd, client, irc):
    """With fixed_server the channel is #chan@gateway: it is kept and joined
    again at start-up under that address."""
    g = make_gateway(backends=(GW,), extra=irc_extra(ngircd, fixed_server=SERVER))
    bob = irc("bob")
    bob.join("#fx")
    alice = client("alice")
    r = f"#fx@{GW}"
    alice.join_muc(r, "alice")
    bob.wait_for(lambda l: l.startswith(":alice!") and " JOIN " in l, 10, "alice's JOIN")
    configure(alice, r, {"persistent": "1"})
    alice.disconnect()
    g.restart()
    bob.wait_for(lambda l: l.startswith(":alice!") and " JOIN " in l and "#fx" in l, 20,
                 "the gateway rejoining #fx")
    bob.privmsg("#fx", "fixed and kept")
    join_gets_history(client("alice", resource="back"), r, "fixed and kept")


def test_unregistering_ends_persistent_channels(irc_gateway, client, irc):
    bob, alice, r = in_channel(client, irc, "#gone")
    alice.register(GW, {"nick": "alice"})
    configure(alice, r, {"persistent": "1"})
    alice.unregister(GW)
    bob.wait_for(lambda l: l.startswith(":alice!") and " QUIT " in l, 15, "alice's QUIT")
    # Nothing of the kept membership is left: joining again joins on IRC.
    alice.join_muc(r, "alice")
    bob.wait_for(lambda l: l.startswith(":alice!") and " JOIN " in l, 15, "alice's new JOIN")
    # Its settings went with the user: the start-up (before the component
    # link is up, so done when restart() returns) joins nothing.
    irc_gateway.restart()
    assert "joining the persistent channel" not in irc_gateway.log.split("==== ")[-1]


def test_persistent_channel_with_a_key_rejoined_after_restart(irc_gateway, client, irc):
    bob, alice, r = in_channel(client, irc, "#vault", key="sesame")
    configure(alice, r, {"persistent": "1"})
    alice.disconnect()
    irc_gateway.restart()
    bob.wait_for(lambda l: l.startswith(":alice!") and " QUIT " in l, 15, "the gateway's QUIT")
    # The key was kept (encrypted) with the channel's settings: the join works.
    bob.wait_for(lambda l: l.startswith(":alice!") and " JOIN " in l and "#vault" in l, 20,
                 "the gateway rejoining #vault with its key")
    for f in irc_gateway.dir.glob("stanzagate.db*"):
        assert b"sesame" not in f.read_bytes(), f"the key in clear in {f.name}"


def test_persistent_channel_waits_for_its_server_at_start_up(irc_gateway, ngircd, client,
                                                             irc):
    bob, alice, r = in_channel(client, irc, "#wait")
    configure(alice, r, {"persistent": "1"})
    alice.disconnect()
    irc_gateway.stop()
    bob.close()
    ngircd.stop()
    irc_gateway.start()
    sgtest.wait_until(lambda: "connection to 127.0.0.1 lost or failed" in irc_gateway.log, 15,
                      "a failed connection to the stopped server")
    ngircd.start()
    bob = irc("bob")
    bob.join("#wait")
    # The gateway keeps trying (backoff) and joins once the server is back.
    sgtest.wait_until(lambda: "alice" in names(bob, "#wait"), 40,
                      "the gateway joining #wait again", interval=1)
    bob.privmsg("#wait", "welcome back")
    join_gets_history(client("alice", resource="back"), r, "welcome back")


def test_persistent_off_while_nobody_is_in_parts(irc_gateway, client, irc):
    bob, alice, r = in_channel(client, irc, "#off")
    configure(alice, r, {"persistent": "1"})
    alice.leave_muc(r, "alice")
    left_room(alice, r)
    assert "alice" in names(bob, "#off")
    # Turned off with nobody in the room: the channel is left, then the connection.
    shown, done = configure(alice, r, {"persistent": "0"})
    assert shown["persistent"] == ["1"]
    assert status(done) == "completed"
    bob.wait_for(lambda l: l.startswith(":alice!") and " PART #off" in l, 10, "alice's PART")
    wait_gone(bob, "alice")


def test_persistent_set_outside_the_channel_joins_it(irc_gateway, client, irc):
    bob = irc("bob")
    bob.join("#later")
    alice = client("alice")
    r = room("#later")
    configure(alice, r, {"persistent": "1"})
    bob.wait_for(lambda l: l.startswith(":alice!") and " JOIN " in l and "#later" in l, 15,
                 "the gateway joining #later")
    bob.privmsg("#later", "waiting for you")
    assert "alice" in names(bob, "#later")
    join_gets_history(alice, r, "waiting for you")


def test_record_history_off_partial_form(irc_gateway, client, irc):
    bob, alice, r = in_channel(client, irc, "#quiet")
    configure(alice, r, {"encoding": "ISO-8859-15"})
    bob.privmsg("#quiet", "recorded line")
    groupchat(alice, "recorded line", f"{r}/bob")
    # Only record_history: the encoding set before stays.
    shown, done = configure(alice, r, {"record_history": "0"})
    assert shown["record_history"] == ["1"] and shown["encoding"] == ["ISO-8859-15"]
    assert status(done) == "completed"
    shown, _ = configure(alice, r, {})
    assert shown == {"persistent": ["0"], "record_history": ["0"], "encoding": ["ISO-8859-15"]}
    bob.privmsg("#quiet", "unrecorded line")
    groupchat(alice, "unrecorded line", f"{r}/bob")  # still delivered live
    alice.leave_muc(r, "alice")
    left_room(alice, r)

    later = client("alice", resource="later")
    later.join_muc(r, "alice")
    got = [b for b, _ in history_until_subject(later, r)]
    assert "recorded line" in got
    assert "unrecorded line" not in got
    archived = mam_bodies(later, r)
    assert "recorded line" in archived and "unrecorded line" not in archived


def test_channel_encoding_overrides_the_fallback(make_gateway, ngircd, client, irc):
    make_gateway(backends=(GW,), extra=irc_extra(ngircd, fallback_encoding="ISO-8859-1"))
    bob = irc("bob")
    bob.join("#ru")
    bob.join("#fr")
    alice = client("alice")
    ru, fr = room("#ru"), room("#fr")
    alice.join_muc(ru, "alice")
    alice.join_muc(fr, "alice")
    # A charset iconv does not know is refused, and nothing is stored.
    _, done = configure(alice, ru, {"encoding": "no-such-charset"})
    assert "Unknown encoding: no-such-charset" in error_note(done)
    shown, done = configure(alice, ru, {"encoding": "CP1251"})
    assert shown["encoding"] == [""] and error_note(done) is None
    privet = "привет".encode("cp1251")
    bob.sock.sendall(b"PRIVMSG #ru :" + privet + b"\r\n")
    groupchat(alice, "привет", f"{ru}/bob")
    # The other channel keeps the server's fallback (Latin-1).
    bob.sock.sendall(b"PRIVMSG #fr :caf\xe9 " + privet + b"\r\n")
    groupchat(alice, "café " + privet.decode("latin-1"), f"{fr}/bob")
    # UTF-8 stays UTF-8 in both.
    bob.privmsg("#ru", "ёжик")
    groupchat(alice, "ёжик", f"{ru}/bob")


def test_server_encoding_with_a_channel_override(irc_gateway, client, irc):
    """The server's encoding (per user, configure on the server's JID) is
    the fallback of its channels; a channel's own encoding wins."""
    alice = client("alice")
    _, done = configure(alice, SERVER_JID, {"fallback_encoding": "klingon-8"})
    assert "Unknown encoding: klingon-8" in error_note(done)
    shown, done = configure(alice, SERVER_JID, {"fallback_encoding": "KOI8-R"})
    assert shown["fallback_encoding"] == ["CP1252"]  # the config's default, shown
    assert shown["ports"] == [irc_gateway.sections["irc"]["ports"]]  # unchanged by the refusal
    assert error_note(done) is None
    configure(alice, room("#lat"), {"encoding": "ISO-8859-1"})
    bob = irc("bob")
    bob.join("#koi")
    bob.join("#lat")
    koi, lat = room("#koi"), room("#lat")
    alice.join_muc(koi, "alice")
    alice.join_muc(lat, "alice")
    bob.sock.sendall(b"PRIVMSG #koi :" + "здравствуй".encode("koi8-r") + b"\r\n")
    groupchat(alice, "здравствуй", f"{koi}/bob")
    bob.sock.sendall(b"PRIVMSG #lat :gr\xfc\xdfe\r\n")
    groupchat(alice, "grüße", f"{lat}/bob")


def test_user_settings_on_the_gateway(irc_gateway, client, irc):
    bob = irc("bob")
    bob.join("#few")
    alice = client("alice")
    assert ("configure", "Configure your IRC defaults") in alice.commands(GW)
    shown, done = configure(alice, GW, {"history_join": "1"})
    assert shown == {"nick": [""], "history_join": ["20"], "record_history": ["1"]}
    assert status(done) == "completed"
    _, done = configure(alice, GW, {"history_join": "many"})
    assert "from 0 to 1000" in error_note(done)
    shown, _ = configure(alice, GW, {"nick": "ally"})
    assert shown == {"nick": [""], "history_join": ["1"], "record_history": ["1"]}
    r = room("#few")
    alice.join_muc_as(r, "alice", expect_nick="alice")
    for i in range(3):
        bob.privmsg("#few", f"line {i}")
    groupchat(alice, "line 2", f"{r}/bob")
    alice.leave_muc(r, "alice")
    left_room(alice, r)
    later = client("alice", resource="later")
    later.join_muc(r, "alice")
    # One line of history: the user's own default, not the gateway's 20.
    assert [b for b, _ in history_until_subject(later, r)] == ["line 2"]
    # The default nick names the next connection that no room join names.
    later.leave_muc(r, "alice")
    left_room(later, r)
    wait_gone(bob, "alice")
    later.send_message(f"bob%{SERVER}@{GW}", "hello from ally")
    assert bob.wait_privmsg("bob", "hello from ally")[0] == "ally"
    # Record history off by default for her channels: a new channel records nothing.
    configure(later, GW, {"record_history": "0"})
    bob.join("#nohist")
    r2 = room("#nohist")
    later.join_muc_as(r2, "alice", expect_nick="ally")  # the connection is ally's
    bob.privmsg("#nohist", "not kept")
    groupchat(later, "not kept", f"{r2}/bob")
    assert "not kept" not in mam_bodies(later, r2)


def test_admin_disconnects_a_user(irc_gateway, client, irc):
    bob, alice, r = in_channel(client, irc, "#adm")
    carol = client("carol")
    # Not for ordinary users: not listed, and refused when asked for.
    assert "disconnect-user" not in {n for n, _ in carol.commands(GW)}
    with pytest.raises(IqError) as e:
        carol.execute(GW, "disconnect-user")
    assert e.value.iq["error"]["condition"] == "forbidden"
    reply = carol.send_message_and_wait(GW, "disconnect-user jid=alice@localhost")
    assert "administrators" in reply["body"]
    assert "alice" in names(bob, "#adm")

    admin = client("admin")
    res = admin.execute(GW, "disconnect-user")
    sid = res.xml.find(f"{{{CMD}}}command").get("sessionid")
    done = admin.command_step(GW, "disconnect-user", sid,
                              {"jid": "Alice@localhost", "reason": "flooding"})
    assert "Disconnected alice@localhost from 1 IRC server" in note_text(done)
    p = left_room(alice, r)
    assert 110 in codes(p)
    m = alice.wait_for_message(lambda m: str(m["from"]) == SERVER_JID
                               and "flooding" in m["body"], 10, "the reason, from the server")
    assert "administrator" in m["body"]
    bob.wait_for(lambda l: l.startswith(":alice!") and " QUIT " in l, 10, "alice's QUIT")
    # Nothing left to disconnect.
    res = admin.execute(GW, "disconnect-user")
    sid = res.xml.find(f"{{{CMD}}}command").get("sessionid")
    done = admin.command_step(GW, "disconnect-user", sid, {"jid": "alice@localhost"})
    assert "has no IRC connection" in note_text(done)
