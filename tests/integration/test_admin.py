"""Service administration (XEP-0133) on echo.localhost, as admin@localhost
(the admin of the harness config) sees it, through ad-hoc commands and
through the same commands as chat text (SPEC section 6)."""

import pytest
from slixmpp.exceptions import IqError

import sgtest

ECHO = "echo.localhost"
FOO = "foo@echo.localhost"
REG = "jabber:iq:register"
ADMIN = "http://jabber.org/protocol/admin#"
ALICE = "alice@localhost"
BOB = "bob@localhost"


cmd_of = sgtest.command_of
form_values = sgtest.form_values


def notes(iq):
    return " | ".join(sgtest.command_notes(iq))


def run(admin, node, fields=None):
    """Run an admin command to completion; returns the last result Iq."""
    r = admin.execute(ECHO, node)
    c = cmd_of(r)
    if c.get("status") == "executing":
        assert fields is not None, f"{node} asks for a form: {r}"
        r = admin.command_step(ECHO, node, c.get("sessionid"), fields)
    assert cmd_of(r).get("status") == "completed", r
    return r


def text(c, body, timeout=10):
    return sgtest.chat_text(c, ECHO, body, timeout)


def register(c):
    """Register, and let the subscription flow run (the client approves the
    gateway's request and subscribes back): the gateway then sees the
    client's presence."""
    assert c.register(ECHO, {"nick": c.user})["type"] == "result"
    c.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "subscribe",
                        10, "the gateway's subscription request")
    c.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "subscribed",
                        10, "the gateway's approval")
    c.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "available",
                        10, "the gateway's presence")


def is_registered(c):
    q = c.register_form(ECHO).xml.find(f"{{{REG}}}query")
    return q.find(f"{{{REG}}}registered") is not None


def online(admin):
    return set(form_values(run(admin, ADMIN + "get-online-users-list"))["onlineuserjids"])


def wait_online(admin, want, timeout=10):
    sgtest.wait_until(lambda: online(admin) == set(want), timeout, f"online users {want}")


@pytest.fixture
def users(gateway, client):
    """alice and bob registered and online for the gateway; admin connected."""
    alice, bob = client("alice"), client("bob")
    register(alice)
    register(bob)
    admin = client("admin")
    wait_online(admin, {ALICE, BOB})
    return alice, bob, admin


# -- reports ------------------------------------------------------------------


def test_registered_users_count_and_list(users):
    _alice, _bob, admin = users
    r = run(admin, ADMIN + "get-registered-users-num")
    v = form_values(r)
    assert v["FORM_TYPE"] == ["http://jabber.org/protocol/admin"]
    assert v["registeredusersnum"] == ["2"]
    r = run(admin, ADMIN + "get-registered-users-list")
    assert sorted(form_values(r)["registereduserjids"]) == [ALICE, BOB]


def test_online_users_follow_presence(users, client):
    alice, _bob, admin = users
    assert form_values(run(admin, ADMIN + "get-online-users-num"))["onlineusersnum"] == ["2"]
    # A second resource is the same user.
    client("alice", resource="phone")
    assert form_values(run(admin, ADMIN + "get-online-users-num"))["onlineusersnum"] == ["2"]
    alice.disconnect()
    wait_online(admin, {ALICE, BOB})  # the phone is still there
    # Unregistered users are not the gateway's online users.
    client("carol")
    assert online(admin) == {ALICE, BOB}


def test_user_offline_leaves_the_online_list(users):
    _alice, bob, admin = users
    bob.disconnect()
    wait_online(admin, {ALICE})
    assert form_values(run(admin, ADMIN + "get-online-users-num"))["onlineusersnum"] == ["1"]


def test_stats(users):
    alice, _bob, admin = users
    assert alice.send_message_and_wait(FOO, "count me")["body"] == "count me"
    r = run(admin, "stats")
    lines = form_values(r)["stats"]
    text_ = "\n".join(lines)
    assert "messages relayed" in text_
    assert "registered users: 2" in text_
    assert "online users: 2" in text_
    assert any(l.startswith("echo: ") and "1 messages echoed" in l for l in lines), lines
    assert "messages relayed to the network: 1" in text_, text_


# -- acting on users ----------------------------------------------------------


def test_disable_and_reenable_user(users):
    alice, _bob, admin = users
    r = admin.execute(ECHO, ADMIN + "disable-user")
    c = cmd_of(r)
    assert c.get("status") == "executing"
    assert "accountjids" in form_values(r)
    r = admin.command_step(ECHO, ADMIN + "disable-user", c.get("sessionid"),
                           {"accountjids": [ALICE]})
    assert cmd_of(r).get("status") == "completed"
    assert "done for 1 of 1" in notes(r)

    # The gateway tells alice it is gone for her, and forgets her session.
    alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "unavailable")
    assert sorted(form_values(run(admin, ADMIN + "get-registered-users-list"))
                  ["registereduserjids"]) == [f"{ALICE} (disabled)", BOB]
    assert online(admin) == {BOB}
    # Her settings commands are gone; her registration form says she is not registered.
    assert "configure" not in {n for n, _ in alice.commands(ECHO)}
    with pytest.raises(IqError) as e:
        alice.execute(ECHO, "configure")
    assert e.value.iq["error"]["condition"] == "forbidden"
    assert not is_registered(alice)
    # A disabled user is not re-added to the roster flow.
    alice.send_raw(f'<presence to="{ECHO}" type="probe"/>')
    alice.no_presence(lambda p: p["from"].bare == ECHO and p["type"] != "unavailable", 1.5)

    r = run(admin, ADMIN + "reenable-user", {"accountjids": [ALICE]})
    assert "done for 1 of 1" in notes(r)
    assert sorted(form_values(run(admin, ADMIN + "get-registered-users-list"))
                  ["registereduserjids"]) == [ALICE, BOB]
    assert is_registered(alice)
    assert "configure" in {n for n, _ in alice.commands(ECHO)}


def test_disabled_user_cannot_register_again(users):
    """A disabled user's new registration must not look like it worked
    while the account stays disabled."""
    alice, _bob, admin = users
    run(admin, ADMIN + "disable-user", {"accountjids": [ALICE]})
    with pytest.raises(IqError) as e:
        alice.register(ECHO, {"nick": "again"})
    assert e.value.iq["error"]["condition"] in ("not-allowed", "forbidden")
    assert "disabled" in e.value.iq["error"]["text"]
    assert not is_registered(alice)
    assert "disabled" in text(alice, "register nick=again")
    # Nor can she remove herself and come back fresh.
    with pytest.raises(IqError) as e:
        alice.unregister(ECHO)
    assert e.value.iq["error"]["condition"] == "not-allowed"
    assert "disabled" in e.value.iq["error"]["text"]
    assert "(disabled)" in " ".join(
        form_values(run(admin, ADMIN + "get-registered-users-list"))["registereduserjids"])


def test_unknown_and_invalid_users_are_reported(users):
    _alice, _bob, admin = users
    r = run(admin, ADMIN + "disable-user", {"accountjids": ["nobody@localhost", ALICE]})
    n = notes(r)
    assert "Not registered: nobody@localhost" in n
    assert "done for 1 of 2" in n


def test_end_user_session(users):
    alice, _bob, admin = users
    r = run(admin, ADMIN + "end-user-session", {"accountjids": [ALICE]})
    assert "done for 1 of 1" in notes(r)
    alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "unavailable")
    assert online(admin) == {BOB}
    # Still registered; a new presence brings her back.
    assert is_registered(alice)
    alice.loop.call(alice.xmpp.send_presence)
    wait_online(admin, {ALICE, BOB})


def test_delete_user(users):
    alice, _bob, admin = users
    alice.send_message_and_wait(ECHO, "configure prefix=x:")
    r = run(admin, ADMIN + "delete-user", {"accountjids": [ALICE]})
    assert "done for 1 of 1" in notes(r)
    # XEP-0100: the gateway leaves her roster.
    alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "unsubscribe")
    alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "unsubscribed")
    assert not is_registered(alice)
    assert form_values(run(admin, ADMIN + "get-registered-users-list"))[
        "registereduserjids"] == [BOB]
    assert form_values(run(admin, ADMIN + "get-registered-users-num"))[
        "registeredusersnum"] == ["1"]
    assert online(admin) == {BOB}
    # Her settings went with her.
    assert alice.send_message_and_wait(FOO, "plain")["body"] == "plain"


def test_announce_reaches_online_users(users, client):
    alice, bob, admin = users
    carol = client("carol")  # online, but not a user of this gateway
    r = admin.execute(ECHO, ADMIN + "announce")
    c = cmd_of(r)
    assert c.get("status") == "executing"
    assert {"subject", "body"} <= set(form_values(r))
    r = admin.command_step(ECHO, ADMIN + "announce", c.get("sessionid"),
                           {"subject": "Maintenance", "body": ["Down at noon.", "Back soon."]})
    assert "sent to 2 online users" in notes(r)
    for c in (alice, bob):
        m = c.wait_for_message(lambda m: m["from"].bare == ECHO and m["type"] == "headline")
        assert m["body"] == "Down at noon.\nBack soon."
        assert m["subject"] == "Maintenance"
    carol.no_message(lambda m: m["type"] == "headline", 1)


def test_reload_command_keeps_the_gateway_running(users, gateway):
    alice, _bob, admin = users
    r = run(admin, "reload")
    assert "Reloading" in notes(r)
    sgtest.wait_until(lambda: "configuration reloaded" in gateway.log, 10,
                      "the reload in the log")
    assert admin.ping(ECHO) is not None
    assert alice.send_message_and_wait(FOO, "after reload")["body"] == "after reload"
    assert online(admin) == {ALICE, BOB}


# -- the same commands as chat text -------------------------------------------


def test_text_reports(users):
    _alice, _bob, admin = users
    assert "Number of registered users: 2" in text(admin, "registered-count")
    listing = text(admin, "registered-list")
    assert ALICE in listing and BOB in listing
    assert "Number of online users: 2" in text(admin, "online-count")
    listing = text(admin, "online-list")
    assert ALICE in listing and BOB in listing
    assert "messages relayed" in text(admin, "stats")


def test_text_user_actions(users):
    alice, _bob, admin = users
    assert "done for 1 of 1" in text(admin, f"disable-user accountjids={ALICE}")
    assert f"{ALICE} (disabled)" in text(admin, "registered-list")
    assert "done for 1 of 1" in text(admin, f"enable-user accountjids={ALICE}")
    assert "(disabled)" not in text(admin, "registered-list")
    assert "done for 1 of 1" in text(admin, f"end-session accountjids={ALICE}")
    alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "unavailable")
    assert ALICE not in text(admin, "online-list")
    assert "done for 1 of 1" in text(admin, f"delete-user accountjids={ALICE}")
    alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "unsubscribed")
    assert "Number of registered users: 1" in text(admin, "registered-count")


def test_text_user_action_asks_for_the_users(users):
    _alice, _bob, admin = users
    form = text(admin, "disable-user")
    assert "accountjids" in form
    assert "done for 1 of 1" in text(admin, BOB)
    assert f"{BOB} (disabled)" in text(admin, "registered-list")


def test_text_announce(users):
    alice, bob, admin = users
    assert "sent to 2 online users" in text(admin, "announce body=Hello everyone")
    for c in (alice, bob):
        m = c.wait_for_message(lambda m: m["from"].bare == ECHO and m["type"] == "headline")
        assert m["body"] == "Hello everyone"


def test_text_reload(users, gateway):
    alice, _bob, admin = users
    assert "Reloading" in text(admin, "reload")
    sgtest.wait_until(lambda: "configuration reloaded" in gateway.log, 10,
                      "the reload in the log")
    assert alice.send_message_and_wait(FOO, "still here")["body"] == "still here"


@pytest.mark.parametrize("word", [
    "registered-count", "registered-list", "online-count", "online-list", "stats", "reload",
    f"delete-user accountjids={ALICE}", f"disable-user accountjids={ALICE}",
    f"enable-user accountjids={ALICE}", f"end-session accountjids={ALICE}",
    "announce body=spam"])
def test_text_admin_commands_refused_for_bob(users, word):
    alice, bob, admin = users
    assert "Only administrators" in text(bob, word)
    # Nothing happened.
    assert sorted(form_values(run(admin, ADMIN + "get-registered-users-list"))
                  ["registereduserjids"]) == [ALICE, BOB]
    alice.no_message(lambda m: m["type"] == "headline", 0.5)


@pytest.mark.parametrize("typed", [
    f"{ALICE} {BOB}", f"{ALICE}, {BOB}", f"{ALICE},{BOB}", "Alice@LocalHost bob@localhost"])
def test_text_user_action_on_several_users_in_one_line(users, typed):
    _alice, _bob, admin = users
    assert "done for 2 of 2" in text(admin, f"disable-user accountjids={typed}")
    listing = text(admin, "registered-list")
    assert f"{ALICE} (disabled)" in listing and f"{BOB} (disabled)" in listing


def test_lines_copied_from_the_registered_list_work(users):
    _alice, _bob, admin = users
    run(admin, ADMIN + "disable-user", {"accountjids": [ALICE, BOB]})
    copied = form_values(run(admin, ADMIN + "get-registered-users-list"))["registereduserjids"]
    assert copied == [f"{ALICE} (disabled)", f"{BOB} (disabled)"]
    r = run(admin, ADMIN + "reenable-user", {"accountjids": copied})
    assert "done for 2 of 2" in notes(r)
    assert "(disabled)" not in text(admin, "registered-list")


def test_disabled_user_does_not_come_back_online(users):
    """Disabling ends the user's session; their next presence does not open
    a new one (no announcements, not in the online list)."""
    alice, _bob, admin = users
    run(admin, ADMIN + "disable-user", {"accountjids": [ALICE]})
    alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "unavailable")
    alice.loop.call(alice.xmpp.send_presence, pstatus="back")
    alice.send_raw(f'<presence to="{ECHO}"/>')
    alice.ping(ECHO)  # the presences went before this round trip
    assert online(admin) == {BOB}
    assert "sent to 1 online users" in notes(run(admin, ADMIN + "announce", {"body": "hi"}))
    alice.no_message(lambda m: m["type"] == "headline", 1)
    # Re-enabled, her next presence brings her back.
    run(admin, ADMIN + "reenable-user", {"accountjids": [ALICE]})
    alice.loop.call(alice.xmpp.send_presence)
    wait_online(admin, {ALICE, BOB})


def test_disabled_user_is_refused_messages_and_rooms(users):
    """Disabling is for the whole gateway, also where no registration is needed."""
    alice, _bob, admin = users
    run(admin, ADMIN + "disable-user", {"accountjids": [ALICE]})
    m = alice.send_message_and_wait("foo@echo.localhost", "still there?",
                                    predicate=lambda m: m["type"] == "error")
    assert m["error"]["condition"] == "forbidden"
    assert "disabled" in m["error"]["text"]
    alice.send_raw('<presence to="#r@echo.localhost/alice">'
                   '<x xmlns="http://jabber.org/protocol/muc"/></presence>')
    err = alice.wait_for_presence(lambda p: p["from"].bare == "#r@echo.localhost"
                                  and p["type"] == "error", 10, "the refused join")
    assert err["error"]["condition"] == "forbidden"
    run(admin, ADMIN + "reenable-user", {"accountjids": [ALICE]})
    assert alice.send_message_and_wait("foo@echo.localhost", "back")["body"] == "back"
