"""Contacts written into the user's roster by the gateway (XEP-0356), on a
Prosody that grants it with prosody-modules' mod_privilege; without the
grant, the XEP-0100 subscription requests as before."""
import pytest

import sgtest
from conftest import _attach

ECHO = "echo.localhost"
SMS = "sms.localhost"
PEER = "+15557654321"


@pytest.fixture
def prosody(tmp_path, request):
    """This module's Prosody grants the gateways roster access, except for
    the tests whose name says 'without_the_grant'."""
    granted = "without_the_grant" not in request.node.name
    p = sgtest.Prosody(tmp_path / "prosody", privileged=(ECHO, SMS) if granted else ())
    _attach(request, "prosody", p)
    p.start()
    yield p
    p.stop()


def texts_alice(alice, smsd, number, body="Hi from a phone"):
    """A phone texts alice's line; returns once alice has the SMS."""
    smsd.phone.inject(number, body)
    alice.wait_for_message(lambda m: m["from"].bare == f"{number}@{SMS}" and m["body"], 20,
                           "the SMS")


def sms_gateway(make_gateway, smsd):
    """The SMS gateway with one line on smsd, whose user is alice."""
    return make_gateway(backends=(SMS,), extra={
        "sms": {"default_country": "+1", "poll_interval": "1s"},
        "sms.line.office": {"number": "+15550001111", "driver": "smsd",
                            "smsd_database": smsd.url, "users": "alice@localhost"}})


def test_registration_and_contacts_land_in_the_roster(make_gateway, client):
    gw = make_gateway(backends=(ECHO,))
    sgtest.wait_until(lambda: "lets this gateway write its users' rosters" in gw.log, 20,
                      "the grant seen")
    alice = client("alice")
    assert alice.register(ECHO, {"nick": "alice"})["type"] == "result"
    sgtest.wait_until(lambda: ECHO in sgtest.roster_items(alice), 20, "the gateway in the roster")
    item = sgtest.roster_items(alice)[ECHO]
    assert item.get("subscription") == "both"
    assert [g.text for g in item.findall("{jabber:iq:roster}group")] == ["Echo test network"]
    # No request to accept: the server took the item as it was written.
    alice.no_presence(lambda p: p["type"] == "subscribe", 3)
    # The gateway is seen online.
    alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "available", 10,
                            "the gateway's presence")
    # A command says so and writes them again; it also turns it off.
    reply = alice.send_message_and_wait(ECHO, "roster")
    assert "Your server lets this gateway write your roster" in reply["body"], reply["body"]
    reply = alice.send_message_and_wait(ECHO, "ok")
    assert "The gateway and 0 contacts written to your roster" in reply["body"], reply["body"]
    reply = alice.send_message_and_wait(ECHO, "roster roster=no")
    assert "requests to accept" in reply["body"], reply["body"]


def test_a_number_that_texts_lands_in_the_roster(make_gateway, smsd, client):
    sms_gateway(make_gateway, smsd)
    alice = client("alice")
    texts_alice(alice, smsd, PEER)
    sgtest.wait_until(lambda: f"{PEER}@{SMS}" in sgtest.roster_items(alice), 20,
                      "the number in the roster")
    item = sgtest.roster_items(alice)[f"{PEER}@{SMS}"]
    assert item.get("subscription") == "both"
    # Named by the number: what profanity and poezio show for the contact.
    assert item.get("name") == PEER
    assert [g.text for g in item.findall("{jabber:iq:roster}group")] == ["SMS gateway"]
    alice.no_presence(lambda p: p["type"] == "subscribe", 3)
    # Shown available, as SMS contacts are while the line is up.
    alice.wait_for_presence(lambda p: p["from"].bare == f"{PEER}@{SMS}" and
                            p["type"] == "available", 10, "the number's presence")


def test_without_the_grant_it_asks(make_gateway, client):
    gw = make_gateway(backends=(ECHO,))
    alice = client("alice")
    assert alice.register(ECHO, {"nick": "alice"})["type"] == "result"
    alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "subscribe", 10,
                            "the subscription request")
    reply = alice.send_message_and_wait(ECHO, "roster")
    assert "does not let this gateway write your roster" in reply["body"], reply["body"]
    assert "lets this gateway write" not in gw.log


ROSTERX = "{http://jabber.org/protocol/rosterx}"


def suggested_items(msg):
    """The items of a XEP-0144 roster item exchange: jid -> (action, name, groups)."""
    x = msg.xml.find(f"{ROSTERX}x")
    return {i.get("jid"): (i.get("action"), i.get("name"),
                           [g.text for g in i.findall(f"{ROSTERX}group")])
            for i in x.findall(f"{ROSTERX}item")}


def is_suggestion(m):
    return m.xml.find(f"{ROSTERX}x") is not None


def test_without_the_grant_a_number_that_texts_is_suggested(make_gateway, smsd, client):
    sms_gateway(make_gateway, smsd)
    alice = client("alice")
    texts_alice(alice, smsd, PEER)
    # The suggestion, from the gateway, for the client to offer (XEP-0144)...
    m = alice.wait_for_message(is_suggestion, 20, "the roster item exchange")
    assert m["from"].full == SMS
    assert not m["body"]
    assert suggested_items(m) == {f"{PEER}@{SMS}": ("add", PEER, ["SMS gateway"])}
    # ...and the subscription request, for the clients that ignore it.
    alice.wait_for_presence(lambda p: p["from"].bare == f"{PEER}@{SMS}" and
                            p["type"] == "subscribe", 10, "the number's request")
    # The command suggests the gateway and every contact again, in one message.
    assert alice.register(SMS)["type"] == "result"
    reply = alice.send_message_and_wait(SMS, "roster")
    assert "suggestions your client may offer to add" in reply["body"], reply["body"]
    reply = alice.send_message_and_wait(SMS, "ok")
    assert "the gateway and 1 contact were suggested" in reply["body"], reply["body"]
    m = alice.wait_for_message(is_suggestion, 10, "the command's roster item exchange")
    assert suggested_items(m) == {
        SMS: ("add", "SMS gateway", ["SMS gateway"]),
        f"{PEER}@{SMS}": ("add", PEER, ["SMS gateway"])}
    # Turned off: a new number is neither written nor suggested.
    reply = alice.send_message_and_wait(SMS, "roster roster=no")
    assert "requests to accept" in reply["body"], reply["body"]
    texts_alice(alice, smsd, "+15550009999", "Another phone")
    alice.wait_for_presence(lambda p: p["from"].bare == f"+15550009999@{SMS}" and
                            p["type"] == "subscribe", 10, "the second number's request")
    alice.no_message(is_suggestion, 3)


def test_with_the_grant_nothing_is_suggested(make_gateway, smsd, client):
    """Where the roster is written, a suggestion would only ask again."""
    gw = sms_gateway(make_gateway, smsd)
    sgtest.wait_until(lambda: "lets this gateway write its users' rosters" in gw.log, 20,
                      "the grant seen")
    alice = client("alice")
    texts_alice(alice, smsd, PEER)
    sgtest.wait_until(lambda: f"{PEER}@{SMS}" in sgtest.roster_items(alice), 20,
                      "the number in the roster")
    alice.no_message(is_suggestion, 3)
