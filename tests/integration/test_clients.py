"""What real clients see of the XEPs the gateway advertises on rooms: the
status codes of a join (XEP-0045), occupant-id (XEP-0421), the room's
disco#info and muc#roominfo form, XEP-0313 paging as Conversations and
Gajim query it, and the no-store hint on chat states (XEP-0334). Real
Prosody and ngircd; IRC people are played by sgtest.IrcClient.
docs/clients.md lists which test checks what.
"""

import pytest
import sgtest
from slixmpp.exceptions import IqError

from test_irc import GW, codes, irc_extra, item, person, room

MUC_USER = "{http://jabber.org/protocol/muc#user}"


@pytest.fixture
def gw(make_gateway, ngircd):
    """The IRC gateway on the test's ngircd (plain port)."""
    return make_gateway(backends=(GW,), extra=irc_extra(ngircd))


def presence_of(client, r, nick, what=None):
    return client.wait_for_presence(
        lambda p: str(p["from"]) == f"{r}/{nick}" and p["type"] != "unavailable", 10,
        what or f"{nick}'s presence")


# ---- XEP-0045: the self-presence of a join ----


def test_join_status_codes_and_real_jids(gw, client, irc_client):
    # Someone on IRC already has the nick alice: the gateway takes another.
    squatter = irc_client("alice")
    squatter.join("#codes")
    alice = client("alice")
    r = room("#codes")
    me = alice.join_muc_as(r, "alice", expect_nick="alice_")
    # 110 self, 100 non-anonymous, 170 recorded (history is on), 210 nick changed.
    assert {110, 100, 170, 210} <= codes(me)
    assert item(me).get("jid") == alice.jid
    # Every other occupant shows its real JID: its private-chat JID.
    other = [p for p in alice.presences if str(p["from"]) == f"{r}/alice"]
    assert other and item(other[0]).get("jid") == person("alice")


def test_join_without_recording_has_no_170(make_gateway, ngircd, client, irc_client):
    make_gateway(backends=(GW,), extra={"irc": {**irc_extra(ngircd)["irc"], "history": "no"}})
    alice = client("alice")
    me = alice.join_muc(room("#quiet"), "alice")
    assert {110, 100} <= codes(me)
    assert 170 not in codes(me) and 210 not in codes(me)


# ---- XEP-0421: occupant-id ----

OID = "{urn:xmpp:occupant-id:0}occupant-id"


def occupant_id(stanza):
    el = stanza.xml.find(OID)
    assert el is not None, f"no occupant-id in {stanza}"
    return el.get("id")


def test_occupant_id_is_stable_and_opaque(gw, client, irc_client):
    alice = client("alice")
    r = room("#oid")
    me = alice.join_muc(r, "alice")
    mine = occupant_id(me)
    bob = irc_client("bob")
    bob.join("#oid")
    first = occupant_id(presence_of(alice, r, "bob"))
    assert first != mine
    assert "bob" not in first and "127.0.0.1" not in first
    bob.privmsg("#oid", "hello")
    m = alice.wait_for_message(lambda m: m["body"] == "hello", 10, "bob's message")
    assert occupant_id(m) == first
    # A nick change keeps the id: the old nick leaves (303), the new one has it.
    bob.send("NICK robert")
    gone = alice.wait_for_presence(
        lambda p: str(p["from"]) == f"{r}/bob" and p["type"] == "unavailable", 10, "303")
    assert occupant_id(gone) == first
    assert occupant_id(presence_of(alice, r, "robert")) == first
    # Leaving and coming back under the same user@host: the same id again.
    bob.send("PART #oid")
    alice.wait_for_presence(
        lambda p: str(p["from"]) == f"{r}/robert" and p["type"] == "unavailable", 10, "part")
    bob.send("NICK bob")
    bob.join("#oid")
    assert occupant_id(presence_of(alice, r, "bob", "bob back")) == first
    # The user's own messages carry the user's own id.
    alice.send_message(r, "mine", mtype="groupchat")
    m = alice.wait_for_message(lambda m: m["body"] == "mine", 10, "the reflection")
    assert occupant_id(m) == mine
    features = alice.disco_info(r)["disco_info"]["features"]
    assert "urn:xmpp:occupant-id:0" in features


# ---- XEP-0045 disco#info, muc#roominfo; XEP-0410 ----

DISCO = "{http://jabber.org/protocol/disco#info}"
XDATA = "{jabber:x:data}"


def room_info(client, r):
    """(features, {var: value} of the muc#roominfo form, or None)."""
    info = client.disco_info(r)
    features = set(info["disco_info"]["features"])
    x = info.xml.find(f"{DISCO}query/{XDATA}x")
    if x is None:
        return features, None
    return features, {f.get("var"): (f.findtext(f"{XDATA}value") or "")
                      for f in x.findall(f"{XDATA}field")}


def test_room_disco_info_says_what_the_channel_is(gw, client, irc_client):
    bob = irc_client("bob")
    bob.join("#info")
    bob.send("TOPIC #info :All about info")
    bob.send("MODE #info +mk sekrit")
    bob.wait_for(lambda l: " MODE #info +mk" in l, 10, "the modes")
    alice = client("alice")
    r = room("#info")
    alice.send_raw(f'<presence to="{r}/alice"><x xmlns="http://jabber.org/protocol/muc">'
                   '<password>sekrit</password></x></presence>')
    presence_of(alice, r, "alice", "the self-presence")
    alice.wait_for_message(lambda m: m["from"].bare == r and m["subject"], 10, "the topic")
    features, form = room_info(alice, r)
    assert {"muc_nonanonymous", "muc_moderated", "muc_passwordprotected", "muc_public",
            "muc_open", "muc_temporary", "urn:xmpp:mam:2", "urn:xmpp:occupant-id:0"} <= features
    assert not features & {"muc_semianonymous", "muc_unmoderated", "muc_unsecured", "muc_hidden"}
    assert form["FORM_TYPE"] == "http://jabber.org/protocol/muc#roominfo"
    assert form["muc#roominfo_occupants"] == "2"
    assert form["muc#roominfo_subject"] == "All about info"
    assert form["muc#roominfo_description"] == "All about info"
    # Mode changes show at once.
    bob.send("MODE #info +si-mk sekrit")
    alice.wait_for_message(lambda m: "sets mode +si-mk" in (m["body"] or ""), 10, "the change")
    features, _ = room_info(alice, r)
    assert {"muc_hidden", "muc_membersonly", "muc_unmoderated", "muc_unsecured"} <= features
    assert not features & {"muc_public", "muc_open", "muc_moderated", "muc_passwordprotected"}
    # Someone not in the room: no form, and a self-ping is not-acceptable (XEP-0410).
    carol = client("carol")
    _, form = room_info(carol, r)
    assert form is None
    with pytest.raises(IqError) as refused:
        carol.ping(f"{r}/alice")
    assert refused.value.iq["error"]["condition"] == "not-acceptable"
    alice.ping(f"{r}/alice")


def test_echo_rooms_are_semi_anonymous(gateway, client):
    alice = client("alice")
    r = "#semi@echo.localhost"
    me = alice.join_muc(r, "alice")
    assert 100 not in codes(me) and item(me).get("jid") is None
    features, form = room_info(alice, r)
    assert {"muc_semianonymous", "muc_temporary", "muc_open", "muc_unmoderated",
            "muc_unsecured", "muc_public"} <= features
    assert form["muc#roominfo_occupants"] == "2"  # alice and the echo bot


# ---- XEP-0313 on rooms, as Conversations and Gajim page them ----

RSM = "http://jabber.org/protocol/rsm"


def mam_page(client, r, queryid, max_=None, before=None, after=None, **fields):
    """One MAM query on r: (fin, [(result id, sender nick, body)]); fields
    go in the form (start, end, with)."""
    fin, results = sgtest.mam_query(client, r, queryid, max_=max_, before=before, after=after,
                                    fields=fields)
    rows = []
    for res in results:
        inner = res.find("{urn:xmpp:forward:0}forwarded/{jabber:client}message")
        rows.append((res.get("id"), inner.get("from").split("/", 1)[1],
                     inner.findtext("{jabber:client}body")))
    return fin, rows


def rsm(fin, what):
    return fin.findtext(f"{{{RSM}}}set/{{{RSM}}}{what}")


def test_mam_pages_backwards_like_conversations_and_gajim(gw, client, irc_client):
    alice = client("alice")
    r = room("#mam")
    alice.join_muc(r, "alice")
    bob, carol = irc_client("bob"), irc_client("carol")
    bob.join("#mam")
    carol.join("#mam")
    presence_of(alice, r, "carol")
    said = []
    for i in range(7):
        who, nick = (carol, "carol") if i % 3 == 0 else (bob, "bob")
        who.privmsg("#mam", f"m{i}")
        alice.wait_for_message(lambda m, i=i: m["body"] == f"m{i}", 10, f"m{i}")
        said.append((nick, f"m{i}"))
    # The last page: an empty <before/>; no complete: there is more before it.
    fin, page = mam_page(alice, r, "c1", max_=3, before="")
    assert [(n, b) for _, n, b in page] == said[4:]
    assert fin.get("complete") is None
    assert rsm(fin, "first") == page[0][0] and rsm(fin, "last") == page[-1][0]
    # Backwards from its first id, until the beginning says complete.
    fin, page = mam_page(alice, r, "c2", max_=3, before=rsm(fin, "first"))
    assert [b for _, _, b in page] == ["m1", "m2", "m3"]
    assert fin.get("complete") is None
    fin, page = mam_page(alice, r, "c3", max_=3, before=rsm(fin, "first"))
    assert [b for _, _, b in page] == ["m0"]
    assert fin.get("complete") == "true"
    # Forwards (Gajim catching up) from an id, to the end.
    fin, page = mam_page(alice, r, "g1", max_=10, after=rsm(fin, "last"))
    assert [b for _, _, b in page] == [f"m{i}" for i in range(1, 7)]
    assert fin.get("complete") == "true"
    # start/end filters.
    fin, page = mam_page(alice, r, "g2", end="2000-01-01T00:00:00Z")
    assert page == [] and fin.get("complete") == "true" and rsm(fin, "first") is None
    fin, page = mam_page(alice, r, "g3", start="2000-01-01T00:00:00Z", max_=2)
    assert [b for _, _, b in page] == ["m0", "m1"] and fin.get("complete") is None
    fin, page = mam_page(alice, r, "g4", start="2999-01-01T00:00:00Z")
    assert page == []
    # with: one occupant's messages (its in-room JID), paged like the rest.
    fin, page = mam_page(alice, r, "w1", max_=2, before="", **{"with": f"{r}/carol"})
    assert [(n, b) for _, n, b in page] == [("carol", "m3"), ("carol", "m6")]
    assert fin.get("complete") is None
    fin, page = mam_page(alice, r, "w2", max_=2, before=rsm(fin, "first"),
                         **{"with": f"{r}/carol"})
    assert [b for _, _, b in page] == ["m0"] and fin.get("complete") == "true"
    # An id that is no message of the room.
    try:
        mam_page(alice, r, "x1", before="999999")
    except IqError as e:
        assert e.iq["error"]["condition"] == "item-not-found"
    else:
        raise AssertionError("an unknown id must be item-not-found")


# ---- XEP-0085 chat states with XEP-0334 hints ----

CHATSTATES = "http://jabber.org/protocol/chatstates"


def test_chat_states_from_the_network_are_not_stored(gateway, client):
    """Echo mirrors chat states: what comes back is a standalone
    notification, which no archive or offline store should keep."""
    alice = client("alice")
    to = "bob@echo.localhost"
    for state in ("composing", "paused"):
        alice.send_raw(f'<message to="{to}" type="chat"><{state} xmlns="{CHATSTATES}"/></message>')
        m = alice.wait_for_message(
            lambda m: m["from"].bare == to and m.xml.find(f"{{{CHATSTATES}}}{state}") is not None,
            10, f"{state} mirrored")
        assert not m["body"]
        assert m.xml.find("{urn:xmpp:hints}no-store") is not None
    # A message itself is not hinted: it is kept as any other.
    m = alice.send_message_and_wait(to, "keep me")
    assert m.xml.find("{urn:xmpp:hints}no-store") is None
