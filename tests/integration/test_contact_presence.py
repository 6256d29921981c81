"""What a user's contacts on a gateway show (XEP-0100 contacts in the
roster): the answer to the probes the user's server sends at login, the
changes the network reports, XEP-0115 caps that match the contact's
disco#info, and unavailable from each contact when the gateway stops.
Echo contacts are always there; an SMS number while the user's line is
up; an email address while the account's IMAP connection is logged in;
an IRC nick as the server's ISON answers say."""

import signal

import pytest

import sgtest
from smstest import Smsd, have_gammu_smsd
from test_email import MAIL, accounts, jid_of, mail_gateway, register  # noqa: F401 (a fixture)
from test_irc import GW as IRC, irc_extra, person, room
from test_subscriptions import CAPS, FOO, from_, roster_item

SMS = "sms.localhost"
NUM = "+15551234567"
RECEIPTS = "urn:xmpp:receipts"
CHATSTATES = "http://jabber.org/protocol/chatstates"


def subscribe(c, jid):
    """Subscribes to jid through the gateway's XEP-0100 flow; the client
    (auto_authorize) approves the contact's own request."""
    c.loop.call(c.xmpp.send_presence, pto=jid, ptype="subscribe")
    c.wait_for_presence(from_(jid, "subscribed"), 10, f"{jid}'s approval")
    c.wait_for_presence(from_(jid, "subscribe"), 10, f"{jid}'s own request")


def forget(c, jid):
    """Drops what was received from jid so far: what comes next is new."""
    with c._cond:
        c.presences[:] = [p for p in c.presences if p["from"].bare != jid]


def assert_caps_match(c, pres, jid):
    """The presence's caps name exactly what the contact's disco#info
    says, on its bare JID, with a resource, and on the caps node."""
    caps = pres.xml.find(CAPS)
    assert caps is not None, pres
    assert caps.get("hash") == "sha-1"
    info = c.disco_info(jid)["disco_info"]
    assert caps.get("ver") == sgtest.caps_ver(info), (info["identities"], info["features"])
    assert sgtest.caps_ver(c.disco_info(f"{jid}/phone")["disco_info"]) == caps.get("ver")
    node = f"{caps.get('node')}#{caps.get('ver')}"
    assert sgtest.caps_ver(c.disco_info(jid, node=node)["disco_info"]) == caps.get("ver")
    return info


# ---- echo: always there ----


def test_echo_contact_is_available_with_caps_at_login(gateway, client):
    alice = client("alice")
    subscribe(alice, FOO)
    # A new login: the server probes the contact, the gateway answers.
    phone = client("alice", resource="phone")
    p = phone.wait_for_presence(from_(FOO, "available"), 10, "the contact's presence")
    info = assert_caps_match(phone, p, FOO)
    features = set(info["features"])
    assert {RECEIPTS, CHATSTATES} <= features
    assert [(i[0], i[1]) for i in info["identities"]] == [("client", "pc")]


def test_gateway_stop_and_start_tell_every_contact(gateway, client):
    alice = client("alice")
    subscribe(alice, FOO)
    alice.wait_for_presence(from_(FOO, "available"), 10, "the contact's presence")
    # Mutual, and alice's presence (sent on her approval) reached the
    # gateway: the echo comes after it on the same stream.
    sgtest.wait_until(lambda: roster_item(alice, FOO) == "both", 10, "a mutual subscription")
    alice.send_message_and_wait(FOO, "are you there?")
    assert gateway.kill(signal.SIGTERM) == 0
    alice.wait_for_presence(from_(FOO, "unavailable"), 10, "the contact going away")
    forget(alice, FOO)
    # The restarted gateway probes alice; her answer brings the contact back.
    gateway.start()
    p = alice.wait_for_presence(from_(FOO, "available"), 15, "the contact back")
    assert p.xml.find(CAPS) is not None


# ---- SMS: while the line is up ----


sms_only = pytest.mark.skipif(not have_gammu_smsd(), reason="gammu-smsd not installed")


def sms_gateway(make_gateway, smsd):
    return make_gateway(backends=(SMS,), extra={
        "sms": {"default_country": "+1", "poll_interval": "1s"},
        "sms.line.office": {"number": "+15550001111", "driver": "smsd",
                            "smsd_database": smsd.url, "users": "alice@localhost"},
    })


@pytest.fixture
def smsd(tmp_path):
    s = Smsd(tmp_path / "smsd")
    yield s
    s.stop()


@sms_only
def test_sms_contact_follows_the_line(make_gateway, smsd, client):
    # No gammu-smsd database yet: the line is down.
    g = sms_gateway(make_gateway, smsd)
    sgtest.wait_until(lambda: "line office: starting -> down" in g.log, 10, "the line down")
    alice = client("alice")
    jid = f"{NUM}@{SMS}"
    subscribe(alice, jid)
    p = alice.wait_for_presence(lambda p: p["from"].bare == jid and p["show"] == "xa", 10,
                                "the contact away while the line is down")
    assert "line office is down" in p["status"]
    smsd.start()
    p = alice.wait_for_presence(from_(jid, "available"), 40, "the contact with the line up")
    assert p["show"] == ""
    info = assert_caps_match(alice, p, jid)
    assert [(i[0], i[1]) for i in info["identities"]] == [("client", "sms")]
    # Status reports confirm delivery; SMS has no chat states.
    assert RECEIPTS in info["features"]
    assert CHATSTATES not in info["features"]
    assert g.kill(signal.SIGTERM) == 0
    alice.wait_for_presence(from_(jid, "unavailable"), 10, "the contact going away")


@sms_only
def test_sms_contact_available_at_login(make_gateway, smsd, client):
    smsd.start()
    g = sms_gateway(make_gateway, smsd)
    sgtest.wait_until(lambda: "line office: starting -> up" in g.log, 20, "the line up")
    jid = f"{NUM}@{SMS}"
    subscribe(client("alice"), jid)
    phone = client("alice", resource="phone")
    p = phone.wait_for_presence(from_(jid, "available"), 10, "the contact's presence")
    assert_caps_match(phone, p, jid)
    # bob has no line: his probe says so.
    bob = client("bob")
    bob.send_raw(f'<presence to="{jid}" type="probe"/>')
    p = bob.wait_for_presence(from_(jid, "unavailable"), 10, "the answer")
    assert "no SMS line" in p["status"]


# ---- email: while the account is logged in ----


def test_email_contact_follows_the_account(make_gateway, accounts, client):  # noqa: F811
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    bob = jid_of("bob@localhost")
    subscribe(alice, bob)
    p = alice.wait_for_presence(from_(bob, "available"), 30, "the contact's presence")
    info = assert_caps_match(alice, p, bob)
    assert RECEIPTS in info["features"]
    assert CHATSTATES not in info["features"]
    forget(alice, bob)
    assert "Paused" in alice.send_message_and_wait(MAIL, "pause")["body"]
    p = alice.wait_for_presence(from_(bob, "unavailable"), 10, "the contact while paused")
    assert "Paused" in p["status"]
    alice.send_message_and_wait(MAIL, "resume")
    alice.wait_for_presence(from_(bob, "available"), 30, "the contact after resume")
    # The mail server goes away: so does the contact.
    accounts.stop()
    p = alice.wait_for_presence(from_(bob, "unavailable"), 30, "the contact without IMAP")
    assert p["status"]


# ---- IRC: what ISON says ----


def test_irc_contact_at_login_is_what_the_server_said(make_gateway, ngircd, client,
                                                     irc_client):
    make_gateway(backends=(IRC,), extra=irc_extra(ngircd, presence_interval="1s"))
    alice = client("alice")
    bob_jid = person("bob")
    subscribe(alice, bob_jid)
    # Not connected to that server: nobody is seen there.
    p = alice.wait_for_presence(from_(bob_jid, "unavailable"), 10, "bob unknown")
    assert "Not connected" in p["status"]
    bob = irc_client("bob")
    alice.join_muc(room("#presence"), "alice")
    alice.wait_for_presence(from_(bob_jid, "available"), 15, "bob online")
    # A second login is told at once what the gateway knows.
    phone = client("alice", resource="phone")
    p = phone.wait_for_presence(from_(bob_jid, "available"), 10, "bob at login")
    caps = p.xml.find(CAPS)
    info = phone.disco_info(bob_jid)["disco_info"]
    assert caps.get("ver") == sgtest.caps_ver(info)
    # IRC confirms no delivery.
    assert RECEIPTS not in info["features"]
    bob.close()
    phone.wait_for_presence(from_(bob_jid, "unavailable"), 15, "bob gone")
