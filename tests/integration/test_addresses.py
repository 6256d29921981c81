"""Addresses (SPEC section 5) on the echo network: jabber:iq:gateway
(XEP-0100) turns a typed address into its JID, XEP-0106 escaping
round-trips through the gateway, contacts answer disco; and hostile input
(SPEC section 8) on the address side: odd localparts, a burst of messages.

`%` as the separator of an email address is a future email driver's
business (SPEC section 5), not the echo network's: not tested here."""

import pytest
from slixmpp.exceptions import IqError

ECHO = "echo.localhost"
GW = "jabber:iq:gateway"


def prompt_answer(iq):
    q = iq.xml.find(f"{{{GW}}}query")
    assert q is not None, iq
    jid = q.find(f"{{{GW}}}jid")
    prompt = q.find(f"{{{GW}}}prompt")
    return (jid.text if jid is not None else None), (prompt.text if prompt is not None else None)


def test_gateway_prompt_get(gateway, client):
    q = client("alice").gateway_prompt(ECHO).xml.find(f"{{{GW}}}query")
    desc = q.find(f"{{{GW}}}desc").text
    prompt = q.find(f"{{{GW}}}prompt").text
    assert prompt == "Any name"
    assert "echoes" in desc and "#" in desc


def test_gateway_prompt_set_escapes_an_email_like_address(gateway, client):
    jid, prompt = prompt_answer(client("alice").gateway_prompt(ECHO, "user@example.org"))
    assert jid == "user\\40example.org@echo.localhost"
    # Older clients read the answer from <prompt/>.
    assert prompt == jid


@pytest.mark.parametrize("typed,local", [
    ("plain", "plain"),
    ("two words", "two\\20words"),
    ("o'neil&co", "o\\27neil\\26co"),
    ("a/b:c", "a\\2fb\\3ac"),
    ("<x>\"y\"", "\\3cx\\3e\\22y\\22"),
    # A backslash stays unless it would read as an escape (XEP-0106 4.2).
    ("back\\slash", "back\\slash"),
    ("lit\\20eral", "lit\\5c20eral"),
    ("jos\u00e9 \u00fcml\u00e4ut@b\u00fccher.example", "jos\u00e9\\20\u00fcml\u00e4ut\\40b\u00fccher.example"),
    # A localpart never begins or ends with \20 (XEP-0106 section 3.2): what
    # the user typed around the address is no part of it.
    ("  two words\t ", "two\\20words"),
])
def test_gateway_prompt_set_xep0106(gateway, client, typed, local):
    jid, _ = prompt_answer(client("alice").gateway_prompt(ECHO, typed))
    assert jid == f"{local}@{ECHO}"


@pytest.mark.parametrize("typed", ["", "   "])
def test_gateway_prompt_set_without_text_is_bad_request(gateway, client, typed):
    with pytest.raises(IqError) as e:
        client("alice").gateway_prompt(ECHO, typed)
    assert e.value.iq["error"]["condition"] == "bad-request"


def test_gateway_prompt_is_only_on_the_gateway_jid(gateway, client):
    with pytest.raises(IqError) as e:
        client("alice").gateway_prompt("foo@echo.localhost")
    assert e.value.iq["error"]["condition"] == "service-unavailable"


@pytest.mark.parametrize("typed", [
    "user@example.org",
    "jos\u00e9 o'neil@b\u00fccher.example",
    "lit\\20eral",
    "\u65e5\u672c\u8a9e\u306e\u540d\u524d",
    "emoji \U0001F600 name",
])
def test_message_to_an_escaped_jid_comes_back_from_it(gateway, client, typed):
    alice = client("alice")
    jid, _ = prompt_answer(alice.gateway_prompt(ECHO, typed))
    body = f"to {typed}"
    m = alice.send_message_and_wait(jid, body)
    assert m["type"] == "chat", m
    assert m["body"] == body
    assert str(m["from"].bare) == jid


def test_contact_disco_info(gateway, client):
    alice = client("alice")
    jid, _ = prompt_answer(alice.gateway_prompt(ECHO, "user@example.org"))
    info = alice.disco_info(jid)["disco_info"]
    ids = [(cat, typ, name) for cat, typ, _lang, name in info["identities"]]
    # No name: every contact of a network has the same caps (XEP-0115).
    assert ids == [("client", "pc", None)], ids
    features = set(info["features"])
    assert "urn:xmpp:receipts" in features
    assert "http://jabber.org/protocol/chatstates" in features
    # A contact is not a gateway: no registration or commands there.
    assert "jabber:iq:register" not in features
    assert "jabber:iq:gateway" not in features


def test_contact_answers_ping_but_not_version(gateway, client):
    alice = client("alice")
    assert alice.ping("foo@echo.localhost") is not None
    with pytest.raises(IqError) as e:
        alice.version("foo@echo.localhost")
    assert e.value.iq["error"]["condition"] == "service-unavailable"


def test_mixed_case_address_answers_from_the_same_contact(gateway, client):
    """Localparts are case-insensitive (nodeprep): whatever case the typed
    address has, the echo comes back from the JID the prompt gave (as the
    server normalises it)."""
    alice = client("alice")
    jid, _ = prompt_answer(alice.gateway_prompt(ECHO, "Mixed.Case@Example.org"))
    assert jid == "Mixed.Case\\40Example.org@echo.localhost"
    alice.send_message(jid, "case")
    m = alice.wait_for_message(lambda m: m["body"] == "case", 10, "the echo")
    assert m["body"] == "case"
    assert str(m["from"].bare).lower() == jid.lower()


def test_burst_of_200_messages_echoes_back_in_order(gateway, client):
    alice = client("alice")
    to = "burst@echo.localhost"
    n = 200
    for i in range(n):
        alice.send_message(to, f"burst {i:03d}")
    got = []
    for _ in range(n):
        m = alice.wait_for_message(lambda m: m["from"].bare == to and m["body"], 30,
                                   f"echo {len(got) + 1} of {n}")
        got.append(m["body"])
    assert got == [f"burst {i:03d}" for i in range(n)]
    alice.no_message(lambda m: m["from"].bare == to and m["body"], 1)
    assert gateway.running()


def test_burst_to_many_addresses_keeps_each_conversation_in_order(gateway, client):
    alice = client("alice")
    addrs = [f"c{k}@echo.localhost" for k in range(5)]
    for i in range(40):
        for a in addrs:
            alice.send_message(a, f"{a} {i}")
    for a in addrs:
        got = []
        for _ in range(40):
            m = alice.wait_for_message(lambda m, a=a: m["from"].bare == a and m["body"], 30,
                                       f"echo from {a}")
            got.append(m["body"])
        assert got == [f"{a} {i}" for i in range(40)]


@pytest.mark.parametrize("typed", ["x" * 1100, "tab\there", "two\nlines", "\u00e9" * 600])
def test_gateway_prompt_refuses_what_cannot_be_a_jid(gateway, client, typed):
    """A typed address whose JID would be invalid (a localpart over 1023
    bytes, control characters) is an error (XEP-0100: item-not-found), not
    a JID that the server then refuses."""
    alice = client("alice")
    with pytest.raises(IqError) as e:
        alice.gateway_prompt(ECHO, typed)
    assert e.value.iq["error"]["condition"] == "item-not-found"
    assert e.value.iq["error"]["text"]
    assert alice.ping(ECHO) is not None


def test_longest_address_still_works(gateway, client):
    alice = client("alice")
    jid, _ = prompt_answer(alice.gateway_prompt(ECHO, "y" * 1023))
    assert jid == "y" * 1023 + "@" + ECHO
    m = alice.send_message_and_wait(jid, "long")
    assert m["body"] == "long" and str(m["from"].bare) == jid
