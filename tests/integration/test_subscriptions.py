"""The XEP-0100 flow around registration (SPEC section 6): the gateway asks
to be in the user's roster, answers the user's subscription with its
presence and XEP-0115 caps, leaves the roster on unregistration, and
mirrors subscriptions to contacts; probes are answered. Also what a
registration refuses (SPEC section 8: oversized or multi-line values) and
how it keeps passwords."""

import signal
import xml.etree.ElementTree as ET

import pytest
from slixmpp.exceptions import IqError

import sgtest

ECHO = "echo.localhost"
FOO = "foo@echo.localhost"
REG = "jabber:iq:register"
CAPS = "{http://jabber.org/protocol/caps}c"
ROSTER = "jabber:iq:roster"


def from_(jid, ptype):
    def match(p):
        return p["from"].bare == jid and p["type"] == ptype
    return match


def roster_item(c, jid):
    """The subscription state of jid in c's roster on the server, or None."""
    r = c.iq(None, f'<query xmlns="{ROSTER}"/>', "get")
    for it in r.xml.find(f"{{{ROSTER}}}query").findall(f"{{{ROSTER}}}item"):
        if it.get("jid") == jid:
            return it.get("subscription")
    return None


def register_and_approve(c):
    """Register; the client (auto_authorize, auto_subscribe) approves the
    gateway's request and subscribes back. Returns the gateway's available
    presence."""
    assert c.register(ECHO, {"nick": c.user})["type"] == "result"
    c.wait_for_presence(from_(ECHO, "subscribe"), 10, "the gateway's subscription request")
    c.wait_for_presence(from_(ECHO, "subscribed"), 10, "the gateway's approval")
    return c.wait_for_presence(from_(ECHO, "available"), 10, "the gateway's presence")


# -- the gateway in the user's roster ------------------------------------------


def test_registration_flow_ends_with_presence_and_caps(gateway, client):
    alice = client("alice")
    pres = register_and_approve(alice)
    c = pres.xml.find(CAPS)
    assert c is not None, pres
    assert c.get("hash") == "sha-1"
    info = alice.disco_info(ECHO)["disco_info"]
    assert c.get("ver") == sgtest.caps_ver(info), (c.get("ver"), info["identities"],
                                                   info["features"])
    # The caps node answers with the same features.
    node = f"{c.get('node')}#{c.get('ver')}"
    by_node = alice.disco_info(ECHO, node=node)["disco_info"]
    assert sgtest.caps_ver(by_node) == c.get("ver")
    assert roster_item(alice, ECHO) == "both"


def test_subscription_request_is_sent_once(gateway, client):
    alice = client("alice")
    register_and_approve(alice)
    # Changing the registration is not a new registration.
    assert alice.register(ECHO, {"nick": "other"})["type"] == "result"
    alice.no_presence(from_(ECHO, "subscribe"), 1.5)


def test_unregistering_leaves_the_roster(gateway, client):
    alice = client("alice")
    register_and_approve(alice)
    assert alice.unregister(ECHO)["type"] == "result"
    alice.wait_for_presence(from_(ECHO, "unavailable"), 10, "the gateway going offline")
    alice.wait_for_presence(from_(ECHO, "unsubscribe"), 10, "unsubscribe")
    alice.wait_for_presence(from_(ECHO, "unsubscribed"), 10, "unsubscribed")
    assert roster_item(alice, ECHO) in (None, "none")


def test_unregistering_also_unsubscribes_contacts(gateway, client):
    alice = client("alice")
    register_and_approve(alice)
    alice.loop.call(alice.xmpp.send_presence, pto=FOO, ptype="subscribe")
    alice.wait_for_presence(from_(FOO, "subscribed"), 10, "the contact's approval")
    alice.unregister(ECHO)
    alice.wait_for_presence(from_(FOO, "unsubscribed"), 10, "the contact's unsubscribed")
    alice.wait_for_presence(from_(FOO, "unsubscribe"), 10, "the contact's unsubscribe")


def test_subscribing_to_the_gateway_unregistered_is_refused(gateway, client):
    carol = client("carol")
    carol.loop.call(carol.xmpp.send_presence, pto=ECHO, ptype="subscribe")
    carol.wait_for_presence(from_(ECHO, "unsubscribed"), 10, "the refusal")
    carol.no_presence(from_(ECHO, "available"), 1)


def test_probe_of_the_gateway(gateway, client):
    alice = client("alice")
    alice.send_raw(f'<presence to="{ECHO}" type="probe"/>')
    alice.no_presence(from_(ECHO, "available"), 1)  # not registered: nothing
    register_and_approve(alice)
    alice.send_raw(f'<presence to="{ECHO}" type="probe"/>')
    p = alice.wait_for_presence(from_(ECHO, "available"), 10, "the gateway's answer")
    assert p.xml.find(CAPS) is not None


def test_start_up_presence_and_probe(gateway, client):
    """A restarted gateway tells its registered users it is there, and
    probes them to learn who is online (the admin's online count shows it)."""
    alice = client("alice")
    register_and_approve(alice)
    gateway.restart()
    p = alice.wait_for_presence(from_(ECHO, "available"), 10, "the gateway's presence")
    assert p.xml.find(CAPS) is not None
    admin = client("admin")

    def online_count():
        r = admin.send_message_and_wait(ECHO, "online-count")
        return "Number of online users: 1" in r["body"]
    sgtest.wait_until(online_count, 10, "alice online for the restarted gateway")


def test_shutdown_tells_online_users(gateway, client):
    alice = client("alice")
    register_and_approve(alice)
    assert gateway.kill(signal.SIGTERM) == 0
    alice.wait_for_presence(from_(ECHO, "unavailable"), 10, "the gateway going offline")


# -- contacts -----------------------------------------------------------------


def test_subscribing_to_a_contact(gateway, client):
    alice = client("alice")
    alice.loop.call(alice.xmpp.send_presence, pto=FOO, ptype="subscribe")
    alice.wait_for_presence(from_(FOO, "subscribed"), 10, "the contact's approval")
    # The contact subscribes back (mirrored subscription) and is available.
    alice.wait_for_presence(from_(FOO, "subscribe"), 10, "the contact's own request")
    alice.wait_for_presence(from_(FOO, "available"), 10, "the contact's presence")
    sgtest.wait_until(lambda: roster_item(alice, FOO) == "both", 10, "a mutual subscription")
    # A second request (the server drops the repeated approval, RFC 6121
    # 3.1.6) brings no second request back.
    alice.loop.call(alice.xmpp.send_presence, pto=FOO, ptype="subscribe")
    alice.no_presence(from_(FOO, "subscribe"), 1.5)


def contacts(gateway, user):
    """The contacts the gateway keeps for user (address -> subscription)."""
    return dict(sgtest.store_rows(gateway, "SELECT address, sub FROM contacts WHERE jid = ?",
                                  (user,)))


def test_unsubscribing_from_a_contact(gateway, client):
    alice = client("alice")
    alice.loop.call(alice.xmpp.send_presence, pto=FOO, ptype="subscribe")
    alice.wait_for_presence(from_(FOO, "subscribed"), 10, "the contact's approval")
    alice.wait_for_presence(from_(FOO, "subscribe"), 10, "the contact's own request")
    sgtest.wait_until(lambda: "foo" in contacts(gateway, alice.bare), 10, "the contact stored")
    alice.loop.call(alice.xmpp.send_presence, pto=FOO, ptype="unsubscribe")
    sgtest.wait_until(lambda: roster_item(alice, FOO) in ("from", "none", None), 10,
                      "the subscription to the contact gone")
    sgtest.wait_until(lambda: "foo" not in contacts(gateway, alice.bare), 10,
                      "the contact forgotten by the gateway")
    # Subscribing again works as the first time.
    alice.loop.call(alice.xmpp.send_presence, pto=FOO, ptype="subscribe")
    sgtest.wait_until(lambda: roster_item(alice, FOO) == "both", 10, "a mutual subscription")
    sgtest.wait_until(lambda: "foo" in contacts(gateway, alice.bare), 10, "the contact stored")


def test_probe_of_a_contact_is_answered(gateway, client):
    alice = client("alice")
    alice.send_raw('<presence to="bar@echo.localhost" type="probe"/>')
    p = alice.wait_for_presence(from_("bar@echo.localhost", "available"), 10, "the answer")
    # A contact's caps, not the gateway's (test_contact_presence.py has more).
    info = alice.disco_info("bar@echo.localhost")["disco_info"]
    assert p.xml.find(CAPS).get("ver") == sgtest.caps_ver(info)


def test_escaped_contact_subscription(gateway, client):
    alice = client("alice")
    jid = "user\\40example.org@echo.localhost"
    alice.loop.call(alice.xmpp.send_presence, pto=jid, ptype="subscribe")
    alice.wait_for_presence(from_(jid, "subscribed"), 10, "the contact's approval")
    alice.wait_for_presence(from_(jid, "subscribe"), 10, "the contact's own request")


# -- what a registration refuses ---------------------------------------------


def test_oversized_field_is_refused_with_a_reason(gateway, client):
    alice = client("alice")
    with pytest.raises(IqError) as e:
        alice.register(ECHO, {"nick": "n" * 5000})
    assert e.value.iq["error"]["condition"] == "bad-request"
    assert "too long" in e.value.iq["error"]["text"]
    q = alice.register_form(ECHO).xml.find(f"{{{REG}}}query")
    assert q.find(f"{{{REG}}}registered") is None


def test_multiline_field_is_refused(gateway, client):
    alice = client("alice")
    with pytest.raises(IqError) as e:
        alice.register(ECHO, {"nick": "two\nlines"})
    assert e.value.iq["error"]["condition"] == "bad-request"
    assert "single line" in e.value.iq["error"]["text"]


def _legacy_register(c, nick):
    q = ET.Element(f"{{{REG}}}query")
    ET.SubElement(q, f"{{{REG}}}nick").text = nick
    return c.iq(ECHO, q, "set")


def test_legacy_registration_works(gateway, client):
    """Old clients send <nick/> instead of a form."""
    alice = client("alice")
    assert _legacy_register(alice, "legacy")["type"] == "result"
    q = alice.register_form(ECHO).xml.find(f"{{{REG}}}query")
    assert q.find(f"{{{REG}}}registered") is not None
    values = {f.get("var"): [v.text for v in f.findall("{jabber:x:data}value")]
              for f in q.find("{jabber:x:data}x").findall("{jabber:x:data}field")}
    assert values["nick"] == ["legacy"]


def test_legacy_registration_checks_values_like_the_form(gateway, client):
    alice = client("alice")
    with pytest.raises(IqError) as e:
        _legacy_register(alice, "n" * 100000)
    assert e.value.iq["error"]["condition"] == "bad-request"
    assert "too long" in e.value.iq["error"]["text"]
    with pytest.raises(IqError) as e:
        _legacy_register(alice, "two\nlines")
    assert e.value.iq["error"]["condition"] == "bad-request"
    q = alice.register_form(ECHO).xml.find(f"{{{REG}}}query")
    assert q.find(f"{{{REG}}}registered") is None
    assert gateway.running()


def _form_values(iq):
    q = iq.xml.find(f"{{{REG}}}query")
    return {f.get("var"): [v.text for v in f.findall("{jabber:x:data}value")]
            for f in q.find("{jabber:x:data}x").findall("{jabber:x:data}field")}


def test_password_is_stored_encrypted_and_never_shown(gateway, client):
    alice = client("alice")
    secret = "hunter2-very-secret-\u00e9"
    assert alice.register(ECHO, {"nick": "al", "password": secret})["type"] == "result"
    values = _form_values(alice.register_form(ECHO))
    assert values["nick"] == ["al"]
    assert values.get("password", []) in ([], [None], [""])
    # Not in the database files in clear (the WAL included), and the
    # database is for the daemon's eyes only.
    gateway.stop()
    for f in gateway.dir.glob("stanzagate.db*"):
        assert secret.encode() not in f.read_bytes(), f
        assert f.stat().st_mode & 0o077 == 0, (f, oct(f.stat().st_mode))
    assert gateway.key_file.stat().st_mode & 0o077 == 0


def _stored_password(gateway, user):
    return sgtest.store_rows(gateway, "SELECT value FROM settings WHERE jid = ?"
                             " AND key = 'password' AND secret = 1", (user,))


def test_update_with_an_empty_password_keeps_it(gateway, client):
    alice = client("alice")
    alice.register(ECHO, {"nick": "al", "password": "pw-one"})
    before = _stored_password(gateway, alice.bare)
    assert len(before) == 1
    assert alice.register(ECHO, {"nick": "al2", "password": ""})["type"] == "result"
    assert _form_values(alice.register_form(ECHO))["nick"] == ["al2"]
    assert _stored_password(gateway, alice.bare) == before
    assert alice.register(ECHO, {"password": "pw-two"})["type"] == "result"
    assert _stored_password(gateway, alice.bare) != before
    assert _form_values(alice.register_form(ECHO))["nick"] == ["al2"]


def test_registering_again_after_unregistering_starts_the_flow_again(gateway, client):
    alice = client("alice")
    register_and_approve(alice)
    alice.unregister(ECHO)
    alice.wait_for_presence(from_(ECHO, "unsubscribed"), 10, "unsubscribed")
    pres = register_and_approve(alice)
    assert pres.xml.find(CAPS) is not None
    sgtest.wait_until(lambda: roster_item(alice, ECHO) == "both", 10, "a mutual subscription")
