"""XEP-0045 beyond joining and talking, on IRC channels: invitations both
ways, bans and the ban list, RSM paging of the channel list, and the
presence of IRC people outside channels. Real ngircd and Prosody; other
IRC users are played by sgtest.IrcClient (see test_irc.py for the basics).
"""

import xml.etree.ElementTree as ET

import pytest
from slixmpp.exceptions import IqError

import sgtest
from test_irc import GW, SERVER, bob_then_alice, codes, irc_extra, item, person, room


MUC_USER = "{http://jabber.org/protocol/muc#user}"
MUC_ADMIN = "http://jabber.org/protocol/muc#admin"
RSM = "http://jabber.org/protocol/rsm"
DISCO_ITEMS = "http://jabber.org/protocol/disco#items"


@pytest.fixture
def gw(make_gateway, ngircd):
    """The IRC gateway on the test's ngircd (plain port)."""
    return make_gateway(backends=(GW,), extra=irc_extra(ngircd))


def alice_op_with_bob(client, irc_client, chan):
    """alice joins chan first (the operator), then bob from IRC; (alice, room, bob)."""
    alice = client("alice")
    r = room(chan)
    alice.join_muc(r, "alice")
    bob = irc_client("bob")
    bob.join(chan)
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/bob", 10, "bob")
    return alice, r, bob


def room_says(client, r, text, timeout=10):
    """A message from the room itself (no nick) containing text."""
    return client.wait_for_message(
        lambda m: str(m["from"]) == r and m["type"] == "groupchat" and text in (m["body"] or ""),
        timeout, f"room message with {text!r}")


def invite(client, r, to, reason=None):
    r_xml = f"<reason>{reason}</reason>" if reason else ""
    client.send_raw(f'<message to="{r}"><x xmlns="http://jabber.org/protocol/muc#user">'
                    f'<invite to="{to}">{r_xml}</invite></x></message>')


def admin_set(client, r, **attrs):
    q = ET.Element(f"{{{MUC_ADMIN}}}query")
    reason = attrs.pop("reason", None)
    it = ET.SubElement(q, f"{{{MUC_ADMIN}}}item", **attrs)
    if reason:
        ET.SubElement(it, f"{{{MUC_ADMIN}}}reason").text = reason
    return client.iq(r, q, "set")


def outcasts(client, r):
    res = client.iq(r, f'<query xmlns="{MUC_ADMIN}"><item affiliation="outcast"/></query>', "get")
    return res.xml.findall(f"{{{MUC_ADMIN}}}query/{{{MUC_ADMIN}}}item")


def error_condition(exc):
    return exc.iq["error"]["condition"], exc.iq["error"]["text"]


# ---- invitations from XMPP ----


def test_mediated_invite_to_irc_nick_and_in_room_jid(gw, client, irc_client):
    alice = client("alice")
    r = room("#inv")
    alice.join_muc(r, "alice")
    bob = irc_client("bob")
    invite(alice, r, person("bob"), reason="come along")
    bob.wait_for(lambda l: l.startswith(":alice!") and " INVITE bob " in l and "#inv" in l, 10,
                 "INVITE from alice")
    room_says(alice, r, "bob has been invited to #inv")
    # The in-room JID of someone in another channel names that nick.
    carol = irc_client("carol")
    carol.join("#elsewhere")
    alice.join_muc(room("#elsewhere"), "alice")
    invite(alice, r, f"{room('#elsewhere')}/carol")
    carol.wait_for(lambda l: " INVITE carol " in l and "#inv" in l, 10, "INVITE for carol")
    room_says(alice, r, "carol has been invited to #inv")
    carol.join("#inv")
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/carol", 10, "carol in #inv")
    invite(alice, r, f"{r}/carol")
    room_says(alice, r, "Cannot invite carol: is already on channel")  # 443


def test_invite_errors_reach_the_user(gw, client, irc_client):
    bob = irc_client("bob")
    bob.join("#closed")
    bob.send_and_wait_echo("MODE #closed +i")
    alice = client("alice")
    r = room("#closed")
    alice.join_muc(room("#open"), "alice")  # connected, so the invitation reaches her
    # Invite-only: alice needs bob's invitation first; she is no operator then.
    bob.send("INVITE alice #closed")
    alice.wait_for_message(lambda m: "invites you" in (m["body"] or ""), 10, "the invitation")
    alice.join_muc(r, "alice")
    invite(alice, r, person("nobody"))
    room_says(alice, r, "Cannot invite nobody: No such nick")
    invite(alice, r, room("#open"))  # a room is nobody to invite
    room_says(alice, r, "#open is not an IRC nick")
    irc_client("carol")
    invite(alice, r, person("carol"))
    room_says(alice, r, "You are not channel operator")  # 482
    # Not in the room: refused at once.
    alice.send_raw(f'<message to="{room("#notin")}" id="inv1"><x xmlns="http://jabber.org/'
                   f'protocol/muc#user"><invite to="{person("carol")}"/></x></message>')
    m = alice.wait_for_message(lambda m: m["type"] == "error" and m["id"] == "inv1", 10,
                               "the refusal")
    assert m["error"]["condition"] == "not-acceptable"


def test_invite_to_an_xmpp_user_is_forwarded_by_the_room(gw, client, irc_client):
    bob = irc_client("bob")
    bob.join("#party")
    alice = client("alice")
    carol = client("carol")
    r = room("#party")
    alice.join_muc(r, "alice")
    invite(alice, r, "carol@localhost", reason="join us")
    m = carol.wait_for_message(lambda m: m.xml.find(f"{MUC_USER}x/{MUC_USER}invite") is not None,
                               10, "the invitation")
    assert str(m["from"]) == r
    inv = m.xml.find(f"{MUC_USER}x/{MUC_USER}invite")
    assert inv.get("from") == "alice@localhost"
    assert inv.find(f"{MUC_USER}reason").text == "join us"
    carol.join_muc(r, "carol")
    bob.wait_for(lambda l: l.startswith(":carol!") and " JOIN " in l, 10, "carol's JOIN")


def test_direct_invitation_to_irc_nick(gw, client, irc_client):
    alice = client("alice")
    r = room("#direct")
    alice.join_muc(r, "alice")
    bob = irc_client("bob")
    alice.send_raw(f'<message to="{person("bob")}"><x xmlns="jabber:x:conference" jid="{r}"/>'
                   '</message>')
    bob.wait_for(lambda l: " INVITE bob " in l and "#direct" in l, 10, "INVITE from a XEP-0249")


# ---- bans ----


def test_ban_from_xmpp_list_and_lift(gw, client, irc_client):
    alice, r, bob = alice_op_with_bob(client, irc_client, "#bans")
    # The other lists come from the prefix modes: alice is the operator (admin).
    res = alice.iq(r, f'<query xmlns="{MUC_ADMIN}"><item affiliation="admin"/></query>', "get")
    admins = res.xml.findall(f"{{{MUC_ADMIN}}}query/{{{MUC_ADMIN}}}item")
    assert [(i.get("nick"), i.get("jid")) for i in admins] == [("alice", person("alice"))]
    # Role lists are what the room shows.
    for role, nicks in (("moderator", ["alice"]), ("participant", ["bob"]), ("visitor", [])):
        res = alice.iq(r, f'<query xmlns="{MUC_ADMIN}"><item role="{role}"/></query>', "get")
        got = res.xml.findall(f"{{{MUC_ADMIN}}}query/{{{MUC_ADMIN}}}item")
        assert [i.get("nick") for i in got] == nicks, role
    admin_set(alice, r, nick="bob", affiliation="outcast", reason="spam")
    # The host came with bob's JOIN: nick!*@host.
    bob.wait_for(lambda l: " MODE #bans +b bob!*@127.0.0.1" in l, 10, "the ban")
    bob.wait_for(lambda l: " KICK #bans bob :spam" in l, 10, "the kick")
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/bob"
                                and p["type"] == "unavailable", 10, "bob out")
    assert 307 in codes(p)
    # A JID of the gateway names an IRC nick too; carol is not in the channel.
    irc_client("carol")
    admin_set(alice, r, jid=person("carol"), affiliation="outcast")
    room_says(alice, r, "+b carol!*@*")
    items = outcasts(alice, r)
    jids = {i.get("jid"): i for i in items}
    bob_ban = f"bob!*\\40127.0.0.1%{SERVER}@{GW}"
    assert bob_ban in jids and f"carol!*\\40*%{SERVER}@{GW}" in jids
    assert all(i.get("affiliation") == "outcast" for i in items)
    assert "alice" in jids[bob_ban].find(f"{{{MUC_ADMIN}}}reason").text
    # Banned: bob's JOIN is refused (474).
    bob.send("JOIN #bans")
    bob.wait_for(lambda l: " 474 bob #bans " in l, 10, "474")
    # Lifted through the ban list's JID.
    admin_set(alice, r, jid=bob_ban, affiliation="none")
    room_says(alice, r, "alice sets mode -b bob!*@127.0.0.1")
    bob.join("#bans")
    assert {i.get("jid") for i in outcasts(alice, r)} == {f"carol!*\\40*%{SERVER}@{GW}"}


def test_user_banned_and_kicked_from_irc(gw, client, irc_client):
    bob, alice, r = bob_then_alice(client, irc_client, "#strict")
    bob.send("MODE #strict +b alice!*@*")
    room_says(alice, r, "bob sets mode +b alice!*@*")
    bob.send("KICK #strict alice :behave")
    p = alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/alice"
                                and p["type"] == "unavailable", 10, "alice out")
    assert {110, 301} <= codes(p)
    assert item(p).find(f"{MUC_USER}reason").text == "behave"
    # Joining again: a forbidden error with the server's reason.
    alice.loop.call(alice.xmpp["xep_0045"].join_muc, r, "alice")
    e = alice.wait_for_presence(lambda p: str(p["from"]).startswith(r)
                                and p["type"] == "error", 10, "the join refused")
    assert e["error"]["condition"] == "forbidden"
    assert "+b" in e["error"]["text"]


def test_ban_needs_an_irc_name(gw, client, irc_client):
    alice = client("alice")
    r = room("#bad")
    alice.join_muc(r, "alice")
    with pytest.raises(IqError) as ei:
        admin_set(alice, r, jid="carol@localhost", affiliation="outcast")
    assert error_condition(ei.value)[0] == "bad-request"
    with pytest.raises(IqError) as ei:
        outcasts(alice, room("#notjoined"))
    assert error_condition(ei.value)[0] == "not-acceptable"


# ---- the channel list, paged (XEP-0059) ----


def items_page(client, jid, **rsm):
    q = ET.Element(f"{{{DISCO_ITEMS}}}query")
    s = ET.SubElement(q, f"{{{RSM}}}set")
    for k, v in rsm.items():
        ET.SubElement(s, f"{{{RSM}}}{k}").text = None if v is None else str(v)
    res = client.iq(jid, q, "get", timeout=20)
    query = res.xml.find(f"{{{DISCO_ITEMS}}}query")
    got = [i.get("jid") for i in query.findall(f"{{{DISCO_ITEMS}}}item")]
    rs = query.find(f"{{{RSM}}}set")
    return got, rs


def test_channel_list_paged(gw, client, irc_client):
    bob = irc_client("bob")
    names = [f"#page{i}" for i in range(7)]
    for n in names:
        bob.join(n)
    alice = client("alice")
    server = f"{SERVER}@{GW}"
    first, rs = items_page(alice, server, max=3)
    assert len(first) == 3
    total = int(rs.find(f"{{{RSM}}}count").text)
    assert total >= 7  # ngircd lists its &SERVER channel too
    assert rs.find(f"{{{RSM}}}first").get("index") == "0"
    assert rs.find(f"{{{RSM}}}last").text == first[-1]
    # A channel made now is not in the kept list: the pages stay consistent.
    bob.join("#page7")
    seen, after = list(first), first[-1]
    while len(seen) < total:
        page, rsn = items_page(alice, server, max=3, after=after)
        assert rsn.find(f"{{{RSM}}}first").get("index") == str(len(seen))
        assert rsn.find(f"{{{RSM}}}count").text == str(total)
        assert 0 < len(page) <= 3
        seen += page
        after = page[-1]
    assert len(seen) == len(set(seen)) == total
    assert {room(n) for n in names} <= set(seen) and room("#page7") not in seen
    page, rsn = items_page(alice, server, max=3, after=after)
    assert page == [] and rsn.find(f"{{{RSM}}}count").text == str(total)
    last, _ = items_page(alice, server, max=2, before="")
    assert last == seen[-2:]
    before, _ = items_page(alice, server, max=2, before=seen[4])
    assert before == seen[2:4]
    count_only, rs0 = items_page(alice, server, max=0)
    assert count_only == [] and rs0.find(f"{{{RSM}}}count").text == str(total)
    with pytest.raises(IqError) as ei:
        items_page(alice, server, max=3, after=f"#gone%{SERVER}@{GW}")
    assert error_condition(ei.value)[0] == "item-not-found"


# ---- presence of IRC people outside channels ----


def presence_from(client, jid, ptype=None, show=None, timeout=15):
    def match(p):
        return (str(p["from"]) == jid and (ptype is None or p["type"] == ptype)
                and (show is None or p["show"] == show))
    return client.wait_for_presence(match, timeout, f"presence {ptype or show or ''} from {jid}")


def test_contact_presence_through_ison(make_gateway, ngircd, client, irc_client):
    make_gateway(backends=(GW,), extra=irc_extra(ngircd, presence_interval="1s"))
    alice = client("alice")
    bob_jid = person("bob")
    # bob becomes a contact (a roster subscription through the gateway).
    alice.send_raw(f'<presence to="{bob_jid}" type="subscribe"/>')
    alice.wait_for_presence(lambda p: str(p["from"]) == bob_jid and p["type"] == "subscribed",
                            10, "subscribed")
    # A channel brings the connection up; bob is not on IRC yet.
    alice.join_muc(room("#presence"), "alice")
    presence_from(alice, bob_jid, ptype="unavailable")
    # Earlier presences (the answer to the subscription's probe) are stale now.
    with alice._cond:
        alice.presences[:] = [p for p in alice.presences if str(p["from"]) != bob_jid]
    bob = irc_client("bob")
    p = presence_from(alice, bob_jid, ptype="available")
    assert p["show"] == ""
    # Away: the server says so when alice writes to bob (301).
    bob.send("AWAY :at lunch")
    bob.wait_for(lambda l: " 306 " in l, 10, "306")
    alice.send_message(bob_jid, "are you there?")
    bob.wait_privmsg("bob", "are you there?")
    p = presence_from(alice, bob_jid, show="away")
    assert p["status"] == "at lunch"
    bob.close()
    presence_from(alice, bob_jid, ptype="unavailable")


def test_private_chat_partner_presence(make_gateway, ngircd, client, irc_client):
    """Someone written to is watched from then on, contact or not."""
    make_gateway(backends=(GW,), extra=irc_extra(ngircd, presence_interval="1s"))
    alice = client("alice")
    dave = irc_client("dave")
    alice.send_message(person("dave"), "hello dave")
    dave.wait_privmsg("dave", "hello dave")
    presence_from(alice, person("dave"), ptype="available")
    dave.close()
    presence_from(alice, person("dave"), ptype="unavailable")


def test_contact_presence_through_monitor(make_gateway, client):
    """A server with MONITOR (a scripted one: ngircd has none) is told once,
    then tells who comes and goes; nothing is polled."""
    from test_irc_caps import FakeIrcd

    class MonitorIrcd(FakeIrcd):
        def _line(self, line):
            if line == "CAP END":
                with self.cond:
                    self.received.append(line)
                    self.cond.notify_all()
                self.send(":fake 001 alice :Welcome alice")
                self.send(":fake 005 alice MONITOR=100 CASEMAPPING=rfc1459 :are supported")
                self.send(":fake 376 alice :End of MOTD")
                return
            super()._line(line)

    fake = MonitorIrcd()
    try:
        make_gateway(backends=(GW,), extra=irc_extra(fake, presence_interval="1s"))
        alice = client("alice")
        bob_jid = person("bob")
        alice.send_raw(f'<presence to="{bob_jid}" type="subscribe"/>')
        alice.wait_for_presence(lambda p: str(p["from"]) == bob_jid
                                and p["type"] == "subscribed", 10, "subscribed")
        alice.join_muc(room("#m"), "alice")
        fake.wait_for(lambda l: l == "MONITOR + bob", 10, "MONITOR + bob")
        fake.send(":fake 731 alice :bob")
        presence_from(alice, bob_jid, ptype="unavailable")
        with alice._cond:
            alice.presences[:] = [p for p in alice.presences if str(p["from"]) != bob_jid]
        fake.send(":fake 730 alice :bob!b@h")
        presence_from(alice, bob_jid, ptype="available")
        fake.send(":bob!b@h AWAY :brb")
        assert presence_from(alice, bob_jid, show="away")["status"] == "brb"
        fake.send(":fake 731 alice :bob")
        presence_from(alice, bob_jid, ptype="unavailable")
        # A private chat partner is added to the list at once.
        alice.send_message(person("carol"), "hi")
        fake.wait_for(lambda l: l == "MONITOR + carol", 10, "MONITOR + carol")
        # A contact added or removed while connected is watched or dropped at once.
        alice.send_raw(f'<presence to="{person("dan")}" type="subscribe"/>')
        fake.wait_for(lambda l: l == "MONITOR + dan", 10, "MONITOR + dan")
        alice.send_raw(f'<presence to="{bob_jid}" type="unsubscribe"/>')
        fake.wait_for(lambda l: l == "MONITOR - bob", 10, "MONITOR - bob")
        assert not any(l.startswith("ISON") for l in fake.received)
    finally:
        fake.close()


# ---- the channel's configuration (muc#owner) ----

MUC_OWNER = "http://jabber.org/protocol/muc#owner"
XDATA = "jabber:x:data"


def config_form(client, r):
    res = client.iq(r, f'<query xmlns="{MUC_OWNER}"/>', "get")
    x = res.xml.find(f"{{{MUC_OWNER}}}query/{{{XDATA}}}x")
    assert x.get("type") == "form"
    return {f.get("var"): (f.findtext(f"{{{XDATA}}}value") or "")
            for f in x.findall(f"{{{XDATA}}}field")}


def config_submit(client, r, fields):
    q = ET.Element(f"{{{MUC_OWNER}}}query")
    x = ET.SubElement(q, f"{{{XDATA}}}x", type="submit")
    for k, v in fields.items():
        f = ET.SubElement(x, f"{{{XDATA}}}field", var=f"muc#roomconfig_{k}")
        ET.SubElement(f, f"{{{XDATA}}}value").text = v
    return client.iq(r, q, "set")


def test_channel_configuration_form(gw, client, irc_client):
    alice, r, bob = alice_op_with_bob(client, irc_client, "#conf")
    form = config_form(alice, r)
    assert form["FORM_TYPE"] == "http://jabber.org/protocol/muc#roomconfig"
    assert form["muc#roomconfig_moderatedroom"] == "0"
    assert form["muc#roomconfig_membersonly"] == "0"
    assert form["muc#roomconfig_publicroom"] == "1"
    config_submit(alice, r, {"moderatedroom": "1", "changesubject": "0", "membersonly": "1",
                             "roomsecret": "sesame", "maxusers": "5", "publicroom": "0"})
    for change in ("+m", "+t", "+i", "+k sesame", "+l 5", "+s"):
        bob.wait_for(lambda l, c=change: f" MODE #conf {c}" in l, 10, f"MODE {change}")
    form = config_form(alice, r)
    assert form["muc#roomconfig_moderatedroom"] == "1"
    assert form["muc#roomconfig_changesubject"] == "0"
    assert form["muc#roomconfig_membersonly"] == "1"
    assert form["muc#roomconfig_passwordprotectedroom"] == "1"
    assert form["muc#roomconfig_roomsecret"] == "sesame"
    assert form["muc#roomconfig_maxusers"] == "5"
    assert form["muc#roomconfig_publicroom"] == "0"
    # A partial form changes only what it carries.
    config_submit(alice, r, {"maxusers": ""})
    bob.wait_for(lambda l: " MODE #conf -l" in l, 10, "MODE -l")
    form = config_form(alice, r)
    assert form["muc#roomconfig_maxusers"] == ""
    assert form["muc#roomconfig_moderatedroom"] == "1"
    with pytest.raises(IqError) as ei:
        config_submit(alice, r, {"maxusers": "lots"})
    assert error_condition(ei.value)[0] == "bad-request"
    assert not any("MODE #conf +l lots" in l for l in bob.lines)


def test_configuration_refused_to_a_non_operator(gw, client, irc_client):
    bob, alice, r = bob_then_alice(client, irc_client, "#theirs")
    assert config_form(alice, r)["muc#roomconfig_moderatedroom"] == "0"
    config_submit(alice, r, {"moderatedroom": "1"})
    room_says(alice, r, "You are not channel operator")
    # XEP-0410: joined, the self-ping is answered; out of the room it is refused.
    alice.ping(f"{r}/alice")
    alice.leave_muc(r, "alice")
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{r}/alice"
                            and p["type"] == "unavailable", 10, "out")
    with pytest.raises(IqError) as ei:
        alice.ping(f"{r}/alice")
    assert error_condition(ei.value)[0] == "not-acceptable"
    with pytest.raises(IqError) as ei:
        config_form(alice, r)
    assert error_condition(ei.value)[0] == "not-acceptable"


rss_kb = sgtest.rss_kb


def test_large_channel_list_paged(make_gateway, client):
    """A server with many channels (a scripted one; 5 000, or
    $STANZAGATE_LIST_N): one LIST, then every page from the kept list, the
    last page reachable from the end. With STANZAGATE_BENCH=1 the times and
    the gateway's memory are printed."""
    import os
    import time

    from test_irc_caps import FakeIrcd

    n = int(os.environ.get("STANZAGATE_LIST_N", "5000"))

    class ListIrcd(FakeIrcd):
        lists = 0

        def _line(self, line):
            if line == "LIST":
                ListIrcd.lists += 1
                out = [":fake 321 alice Channel :Users Name"]
                out += [f":fake 322 alice #c{i:05d} {i % 50} :topic {i}" for i in range(n)]
                out.append(":fake 323 alice :End of LIST")
                self.send_raw(("\r\n".join(out) + "\r\n").encode())
                return
            super()._line(line)

    fake = ListIrcd()
    try:
        g = make_gateway(backends=(GW,), extra=irc_extra(fake))
        alice = client("alice")
        server = f"{SERVER}@{GW}"
        rss0 = rss_kb(g.proc.pid)
        t0 = time.monotonic()
        first, rs = items_page(alice, server, max=100)
        t_first = time.monotonic() - t0
        assert len(first) == 100 and rs.find(f"{{{RSM}}}count").text == str(n)
        assert first[0] == room("#c00000")
        rss1 = rss_kb(g.proc.pid)
        t0 = time.monotonic()
        mid, rs = items_page(alice, server, max=100, after=room(f"#c{n // 2 - 1:05d}"))
        t_mid = time.monotonic() - t0
        assert mid[0] == room(f"#c{n // 2:05d}")
        assert rs.find(f"{{{RSM}}}first").get("index") == str(n // 2)
        last, rs = items_page(alice, server, max=100, before="")
        assert last[-1] == room(f"#c{n - 1:05d}") and len(last) == 100
        # Without <set/>: the first 1 000, and a <set/> saying how many there are.
        plain, rs = items_page_plain(alice, server)
        assert len(plain) == min(n, 1000) and rs.find(f"{{{RSM}}}count").text == str(n)
        assert ListIrcd.lists == 1
        if os.environ.get("STANZAGATE_BENCH") == "1":
            print(f"\n{n} channels: first page (LIST + page) {t_first * 1000:.0f} ms, "
                  f"a page from the kept list {t_mid * 1000:.0f} ms, "
                  f"RSS {rss0} kB -> {rss1} kB ({(rss1 - rss0) * 1024 / n:.0f} B/channel)")
    finally:
        fake.close()


def items_page_plain(client, jid):
    res = client.iq(jid, f'<query xmlns="{DISCO_ITEMS}"/>', "get", timeout=20)
    query = res.xml.find(f"{{{DISCO_ITEMS}}}query")
    return query.findall(f"{{{DISCO_ITEMS}}}item"), query.find(f"{{{RSM}}}set")


def test_hostile_ban_list_and_modes(make_gateway, client):
    """What a server says in a ban list, a mode reply or an INVITE never
    breaks the XML stream: masks that could not be part of a JID are left
    out, texts are cleaned."""
    from test_irc_caps import FakeIrcd

    class HostileIrcd(FakeIrcd):
        def _line(self, line):
            if line == "MODE #h +b":
                self.send_raw(b":fake 367 alice #h bad\xff!*@* op 1\r\n"
                              b":fake 367 alice #h ctl\x01!*@* op 1\r\n"
                              b":fake 367 alice #h good!*@host op 1\r\n"
                              b":fake 368 alice #h :End of channel ban list\r\n")
                return
            if line == "MODE #h":
                self.send_raw(b":fake 324 alice #h +kl s\xffe\x02cret 12\r\n")
                return
            super()._line(line)

    fake = HostileIrcd()
    try:
        make_gateway(backends=(GW,), extra=irc_extra(fake))
        alice = client("alice")
        r = room("#h")
        alice.join_muc(r, "alice")
        jids = [i.get("jid") for i in outcasts(alice, r)]
        assert jids == [f"good!*\\40host%{SERVER}@{GW}"]
        form = config_form(alice, r)
        assert form["muc#roomconfig_passwordprotectedroom"] == "1"
        # Not UTF-8: read as CP1252 (fallback_encoding); the bold control byte dropped.
        assert form["muc#roomconfig_roomsecret"] == "s\u00ffecret"
        assert form["muc#roomconfig_maxusers"] == "12"
        fake.send_raw(b":op!o@h INVITE alice :#b\xffd\r\n")
        fake.send(":op!o@h INVITE alice :#fine")
        m = alice.wait_for_message(lambda m: str(m["from"]) == room("#fine"), 10,
                                   "the good invitation")
        assert "invites you" in m["body"]
        alice.no_message(lambda m: "#b" in str(m["from"]), timeout=1)
        assert alice.connected
    finally:
        fake.close()


def test_a_ban_list_never_ended_is_a_timeout_not_a_wait(make_gateway, client):
    """A server that sends 367s but never 368: the outcast list request gets
    remote-server-timeout instead of waiting for ever; the next one asks again."""
    from test_irc_caps import FakeIrcd

    class NoEndIrcd(FakeIrcd):
        asked = 0

        def _line(self, line):
            if line == "MODE #n +b":
                NoEndIrcd.asked += 1
                self.send(":fake 367 alice #n spam!*@* op 1")
                return
            super()._line(line)

    fake = NoEndIrcd()
    try:
        make_gateway(backends=(GW,), extra=irc_extra(fake))
        alice = client("alice")
        r = room("#n")
        alice.join_muc(r, "alice")
        q = ('<query xmlns="http://jabber.org/protocol/muc#admin">'
             '<item affiliation="outcast"/></query>')
        with pytest.raises(IqError) as e:
            alice.iq(r, q, "get", timeout=60)
        assert e.value.iq["error"]["condition"] == "remote-server-timeout"
        assert "ban list" in e.value.iq["error"]["text"]
        with pytest.raises(IqError):
            alice.iq(r, q, "get", timeout=60)
        assert NoEndIrcd.asked == 2
        assert alice.connected
    finally:
        fake.close()
