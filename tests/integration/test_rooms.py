"""Rooms (XEP-0045) through the core, on the echo network's shared rooms."""

import sgtest

ROOM = "#lobby@echo.localhost"
MUC_USER = "{http://jabber.org/protocol/muc#user}"


codes = sgtest.muc_codes


item = sgtest.muc_item


groupchat = sgtest.wait_groupchat


def alice_twice_and_bob(client):
    """Three connected clients: alice on her phone and on her laptop, and bob."""
    return client("alice", resource="phone"), client("alice", resource="laptop"), client("bob")


def test_join_shows_occupants_self_and_subject(gateway, client):
    bob = client("bob")
    bob.join_muc(ROOM, "bob")
    alice = client("alice")
    me = alice.join_muc(ROOM, "alice")
    assert 110 in codes(me)
    assert item(me).get("role") == "participant"
    # Occupants came before the self-presence; the bot is the room's owner.
    seen = {str(p["from"]): p for p in alice.presences if p["from"].bare == ROOM}
    assert f"{ROOM}/bob" in seen
    assert item(seen[f"{ROOM}/echo"]).get("affiliation") == "owner"
    subj = alice.wait_for_message(lambda m: m["from"].bare == ROOM and m["subject"], 10,
                                  "the room subject")
    assert "#lobby" in subj["subject"]
    # bob sees alice arrive.
    bob.wait_for_presence(lambda p: str(p["from"]) == f"{ROOM}/alice" and p["type"] != "unavailable",
                          10, "alice's arrival")


def test_two_resources_share_one_membership(gateway, client):
    phone, laptop, bob = alice_twice_and_bob(client)
    phone.join_muc(ROOM, "alice")
    bob.join_muc(ROOM, "bob")
    # The second resource joins with another nick: it gets the user's nick (210).
    me = laptop.join_muc_as(ROOM, "alice2", expect_nick="alice")
    assert {110, 210} <= codes(me)
    laptop.wait_for_presence(lambda p: str(p["from"]) == f"{ROOM}/bob", 10,
                             "bob, replayed to the late resource")
    phone.send_message(ROOM, "from my phone", mtype="groupchat")
    for c in (phone, laptop, bob):
        groupchat(c, "from my phone", f"{ROOM}/alice")
    # One resource leaves: the other stays, and bob sees no departure.
    phone.leave_muc(ROOM, "alice")
    phone.wait_for_presence(lambda p: str(p["from"]) == f"{ROOM}/alice" and p["type"] == "unavailable",
                            10, "the phone's own exit")
    bob.send_message(ROOM, "still there?", mtype="groupchat")
    groupchat(laptop, "still there?", f"{ROOM}/bob")
    bob.no_presence(lambda p: str(p["from"]) == f"{ROOM}/alice" and p["type"] == "unavailable")


SID = "{urn:xmpp:sid:0}"


def test_reflection_keeps_the_senders_id_and_origin_id(gateway, client):
    phone, laptop, bob = alice_twice_and_bob(client)
    phone.join_muc(ROOM, "alice")
    laptop.join_muc(ROOM, "alice")
    bob.join_muc(ROOM, "bob")
    phone.send_raw(f'<message to="{ROOM}" type="groupchat" id="cli-42">'
                   '<body>match me</body><origin-id xmlns="urn:xmpp:sid:0" id="orig-42"/>'
                   '</message>')
    # Every resource of the sender gets the same id and origin-id (XEP-0045 7.4, XEP-0359).
    for c in (phone, laptop):
        m = groupchat(c, "match me", f"{ROOM}/alice")
        assert m["id"] == "cli-42"
        oid = m.xml.find(f"{SID}origin-id")
        assert oid is not None and oid.get("id") == "orig-42"
        sid = m.xml.find(f"{SID}stanza-id")
        assert sid is not None and sid.get("by") == ROOM
    # Others get the text, not the sender's ids.
    other = groupchat(bob, "match me", f"{ROOM}/alice")
    assert other.xml.find(f"{SID}origin-id") is None


def test_nick_change_and_leave_are_seen_by_others(gateway, client):
    alice, bob = client("alice"), client("bob")
    alice.join_muc(ROOM, "alice")
    bob.join_muc(ROOM, "bob")
    alice.send_raw(f'<presence to="{ROOM}/alicia"/>')
    gone = bob.wait_for_presence(lambda p: str(p["from"]) == f"{ROOM}/alice" and p["type"] == "unavailable",
                                 10, "the old nick leaving with 303")
    assert 303 in codes(gone) and item(gone).get("nick") == "alicia"
    bob.wait_for_presence(lambda p: str(p["from"]) == f"{ROOM}/alicia", 10, "the new nick")
    mine = alice.wait_for_presence(lambda p: str(p["from"]) == f"{ROOM}/alicia", 10,
                                   "my own new nick")
    assert 110 in codes(mine)
    alice.leave_muc(ROOM, "alicia")
    bob.wait_for_presence(lambda p: str(p["from"]) == f"{ROOM}/alicia" and p["type"] == "unavailable",
                          10, "alicia leaving")


def test_subject_change_reaches_everyone(gateway, client):
    alice, bob = client("alice"), client("bob")
    alice.join_muc(ROOM, "alice")
    bob.join_muc(ROOM, "bob")
    alice.send_raw(f'<message to="{ROOM}" type="groupchat"><subject>New topic</subject></message>')
    m = bob.wait_for_message(lambda m: m["from"].bare == ROOM and m["subject"] == "New topic",
                             10, "the new subject")
    assert str(m["from"]) == f"{ROOM}/alice"


def test_message_from_a_resource_not_in_the_room_is_refused(gateway, client):
    alice = client("alice")
    m = alice.send_message_and_wait(ROOM, "not joined", mtype="groupchat",
                                    predicate=lambda m: m["type"] == "error")
    assert m["error"]["condition"] == "not-acceptable"


def test_taken_nick_is_a_conflict(gateway, client):
    bob = client("bob")
    bob.join_muc(ROOM, "bob")
    alice = client("alice")
    alice.send_raw(f'<presence to="{ROOM}/bob"><x xmlns="http://jabber.org/protocol/muc"/></presence>')
    err = alice.wait_for_presence(lambda p: p["from"].bare == ROOM and p["type"] == "error", 10,
                                  "the join error")
    assert err["error"]["condition"] == "conflict"


def test_private_message_through_the_room(gateway, client):
    alice = client("alice")
    alice.join_muc(ROOM, "alice")
    m = alice.send_message_and_wait(f"{ROOM}/echo", "psst")
    assert m["body"] == "psst" and str(m["from"]) == f"{ROOM}/echo"


def test_self_ping_tells_whether_still_joined(gateway, client):
    alice = client("alice")
    alice.join_muc(ROOM, "alice")
    alice.ping(f"{ROOM}/alice")
    alice.leave_muc(ROOM, "alice")
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{ROOM}/alice" and p["type"] == "unavailable",
                            10, "my own exit")
    try:
        alice.ping(f"{ROOM}/alice")
    except Exception as e:  # IqError
        assert "not-acceptable" in str(e)
    else:
        raise AssertionError("a self-ping after leaving must fail")


def test_room_disco_info(gateway, client):
    info = client("alice").disco_info(ROOM)
    ids = info["disco_info"]["identities"]
    assert any(i[0] == "conference" and i[1] == "text" for i in ids)
    assert "http://jabber.org/protocol/muc" in info["disco_info"]["features"]


def test_going_offline_leaves_the_room(gateway, client):
    alice, bob = client("alice"), client("bob")
    alice.join_muc(ROOM, "alice")
    bob.join_muc(ROOM, "bob")
    alice.disconnect()
    bob.wait_for_presence(lambda p: str(p["from"]) == f"{ROOM}/alice" and p["type"] == "unavailable",
                          10, "alice gone when her client went offline")


def test_what_the_network_cannot_do_is_refused_readably(gateway, client):
    """The echo network has no bans, lists, configuration or invitations of
    its own: each request gets an error saying so. An invitation to another
    XMPP user is the core's, so it works on any network's rooms."""
    from slixmpp.exceptions import IqError
    admin = "http://jabber.org/protocol/muc#admin"
    alice = client("alice")
    bob = client("bob")
    alice.join_muc(ROOM, "alice")
    requests = [
        (f'<query xmlns="{admin}"><item nick="echo" affiliation="outcast"/></query>', "set"),
        (f'<query xmlns="{admin}"><item affiliation="outcast"/></query>', "get"),
        ('<query xmlns="http://jabber.org/protocol/muc#owner"/>', "get"),
    ]
    for payload, itype in requests:
        try:
            alice.iq(ROOM, payload, itype)
        except IqError as e:
            assert e.iq["error"]["condition"] == "not-allowed", payload
            assert e.iq["error"]["text"], payload
        else:
            raise AssertionError(f"{payload} was accepted")
    # Role lists are the core's: what the room shows.
    res = alice.iq(ROOM, f'<query xmlns="{admin}"><item role="participant"/></query>', "get")
    nicks = {i.get("nick") for i in res.xml.iter(f"{{{admin}}}item")}
    assert "alice" in nicks
    alice.send_raw(f'<message to="{ROOM}" id="i1"><x xmlns="http://jabber.org/protocol/muc#user">'
                   '<invite to="someone@echo.localhost"/></x></message>')
    m = alice.wait_for_message(lambda m: m["id"] == "i1" and m["type"] == "error", 10, "refusal")
    assert m["error"]["condition"] == "not-allowed"
    alice.send_raw(f'<message to="{ROOM}"><x xmlns="http://jabber.org/protocol/muc#user">'
                   '<invite to="bob@localhost"><reason>come</reason></invite></x></message>')
    inv = bob.wait_for_message(lambda m: m.xml.find(f"{MUC_USER}x/{MUC_USER}invite") is not None,
                               10, "the invitation")
    assert str(inv["from"]) == ROOM
    assert inv.xml.find(f"{MUC_USER}x/{MUC_USER}invite").get("from") == "alice@localhost"
