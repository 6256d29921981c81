"""Contacts and ejabberd's built-in mod_privilege (XEP-0356 as ejabberd
has it, urn:xmpp:privilege:1), as test_roster.py checks on Prosody with
prosody-modules' mod_privilege.

ejabberd before 23.10 (Debian 12 ships 23.01) grants roster access but
fails every privileged roster set with internal-server-error: mod_roster
reads its options for the sender's domain, the component's, which is no
host (processone/ejabberd#3942, fixed in 2023-07). The gateway then falls
back as on a server without the grant: a XEP-0144 suggestion and the
XEP-0100 requests. Both behaviours are tested, each where it applies."""
import pytest

import ejabberd
import sgtest
from conftest import _attach

ECHO = "echo.localhost"
SMS = "sms.localhost"
PEER = "+15557654321"
ROSTERX = "{http://jabber.org/protocol/rosterx}"
# The first release with ejabberd#3942's fix.
PUSH_WORKS = (23, 10)
VERSION = ejabberd.version()

pytestmark = pytest.mark.skipif(ejabberd.available() is not None,
                                reason=ejabberd.available() or "")


@pytest.fixture
def prosody(tmp_path, request):
    """The XMPP server of this module's gateways and clients: ejabberd,
    granting the gateways roster access."""
    e = ejabberd.Ejabberd(tmp_path / "ejabberd", roster_both=(ECHO, SMS))
    _attach(request, "ejabberd", e)
    e.start()
    yield e
    e.stop()


def groups(item):
    return [g.text for g in item.findall("{jabber:iq:roster}group")]


def register_and_get_texted(make_gateway, smsd, client):
    """Echo and SMS gateways on ejabberd; alice registers with echo, and a
    number texts her SMS line. Returns (gateway, alice)."""
    gw = make_gateway(backends=(ECHO, SMS), extra={
        "sms": {"default_country": "+1", "poll_interval": "1s"},
        "sms.line.office": {"number": "+15550001111", "driver": "smsd",
                            "smsd_database": smsd.url, "users": "alice@localhost"}})
    # Each gateway reads its own grant: ejabberd routes each domain to its link.
    for name in ("echo", "sms"):
        sgtest.wait_until(lambda: f"{name}: localhost lets this gateway write its users' "
                          "rosters" in gw.log, 20, f"{name}'s grant read")
    alice = client("alice")
    assert alice.register(ECHO, {"nick": "alice"})["type"] == "result"
    smsd.phone.inject(PEER, "Hi from a phone")
    alice.wait_for_message(lambda m: m["from"].bare == f"{PEER}@{SMS}" and m["body"], 20,
                           "the SMS")
    return gw, alice


@pytest.mark.xfail(VERSION is not None and VERSION < PUSH_WORKS, strict=True,
                   reason="ejabberd before 23.10 fails privileged roster sets (ejabberd#3942)")
def test_the_gateway_and_a_number_land_in_the_ejabberd_roster(make_gateway, smsd, client):
    gw, alice = register_and_get_texted(make_gateway, smsd, client)
    sgtest.wait_until(lambda: {ECHO, f"{PEER}@{SMS}"} <= set(sgtest.roster_items(alice)), 20,
                      "the gateway and the number in the roster")
    assert "refused the roster push" not in gw.log
    items = sgtest.roster_items(alice)
    assert items[ECHO].get("subscription") == "both"
    assert groups(items[ECHO]) == ["Echo test network"]
    assert items[f"{PEER}@{SMS}"].get("subscription") == "both"
    assert items[f"{PEER}@{SMS}"].get("name") == PEER
    assert groups(items[f"{PEER}@{SMS}"]) == ["SMS gateway"]
    alice.no_presence(lambda p: p["type"] == "subscribe", 3)


@pytest.mark.skipif(VERSION is None or VERSION >= PUSH_WORKS,
                    reason="this ejabberd writes the roster (the test above)")
def test_where_ejabberd_refuses_the_push_the_user_is_asked(make_gateway, smsd, client):
    gw, alice = register_and_get_texted(make_gateway, smsd, client)
    # The gateway, by XEP-0100's request...
    alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "subscribe",
                            20, "the gateway's request")
    # ...the number, suggested (XEP-0144) and requested.
    m = alice.wait_for_message(lambda m: m.xml.find(f"{ROSTERX}x") is not None, 20,
                               "the suggestion")
    items = m.xml.find(f"{ROSTERX}x").findall(f"{ROSTERX}item")
    assert [(i.get("jid"), i.get("name"), [g.text for g in i.findall(f"{ROSTERX}group")])
            for i in items] == [(f"{PEER}@{SMS}", PEER, ["SMS gateway"])]
    alice.wait_for_presence(lambda p: p["from"].bare == f"{PEER}@{SMS}" and
                            p["type"] == "subscribe", 20, "the number's request")
    assert "refused the roster push" in gw.log
    # Told once per gateway, and not tried again: the next number is only suggested and asked.
    assert gw.log.count("announced roster access (XEP-0356) but fails the writes") == 2, gw.log
    smsd.phone.inject("+15550009999", "Another phone")
    m = alice.wait_for_message(lambda m: m.xml.find(f"{ROSTERX}x") is not None, 20,
                               "the second number's suggestion")
    assert m.xml.find(f"{ROSTERX}x/{ROSTERX}item").get("jid") == f"+15550009999@{SMS}"
    assert "roster push for +15550009999" not in gw.log
    # The user is told the truth.
    reply = alice.send_message_and_wait(ECHO, "roster")
    assert "does not let this gateway write your roster" in reply["body"], reply["body"]
    # Accepted (slixmpp accepts every request): both are in the roster, subscribed both ways.
    sgtest.wait_until(lambda: all(sgtest.roster_items(alice).get(j) is not None and
                                  sgtest.roster_items(alice)[j].get("subscription") == "both"
                                  for j in (ECHO, f"{PEER}@{SMS}")), 20,
                      "both in the roster")
