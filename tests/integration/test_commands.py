"""Ad-hoc commands (XEP-0050) on the gateway JID and the same commands as
chat text (SPEC section 6; Slidge's commands, PEERS.md), on the echo
network: who sees which command, the multi-stage `configure` command with
its `prefix` setting, cancel and stale sessions, and text commands."""

import pytest
from slixmpp.exceptions import IqError

import sgtest

ECHO = "echo.localhost"
FOO = "foo@echo.localhost"
CMD = "http://jabber.org/protocol/commands"
XDATA = "jabber:x:data"
ADMIN_NS = "http://jabber.org/protocol/admin"
ADMIN_NODES = [ADMIN_NS + "#" + n for n in (
    "get-registered-users-num", "get-registered-users-list", "get-online-users-num",
    "get-online-users-list", "delete-user", "disable-user", "reenable-user",
    "end-user-session", "announce")] + ["stats", "reload"]


cmd_of = sgtest.command_of
form_values = sgtest.form_values


notes = sgtest.command_notes


def register(c, nick=None):
    res = c.register(ECHO, {"nick": nick or c.user})
    assert res["type"] == "result"


def registered_alice(client):
    """alice, connected and registered with the echo network."""
    alice = client("alice")
    register(alice)
    return alice


def configure_session(c):
    """The session id of the echo network's configure command, started by c."""
    return cmd_of(c.execute(ECHO, "configure")).get("sessionid")


def text(c, body, timeout=10):
    """Send `body` to the gateway JID; return the reply's text."""
    return sgtest.chat_text(c, ECHO, body, timeout)


def echo(c, body, to=FOO):
    m = c.send_message_and_wait(to, body)
    assert m["type"] == "chat", m
    return m["body"]


# -- who sees what ------------------------------------------------------------


def test_unregistered_user_sees_only_register(gateway, client):
    nodes = {n for n, _ in client("alice").commands(ECHO)}
    assert nodes == {"register"}, nodes


def test_registered_user_sees_user_commands_but_no_admin_node(gateway, client):
    alice = registered_alice(client)
    nodes = {n for n, _ in alice.commands(ECHO)}
    assert {"register", "unregister", "configure"} <= nodes, nodes
    assert not nodes & set(ADMIN_NODES), nodes
    assert not any(n.startswith(ADMIN_NS) for n in nodes), nodes


def test_admin_sees_every_admin_node(gateway, client):
    nodes = {n for n, _ in client("admin").commands(ECHO)}
    assert set(ADMIN_NODES) <= nodes, sorted(set(ADMIN_NODES) - nodes)
    # Not registered: the echo settings are not offered, even to an admin.
    assert "configure" not in nodes


def test_command_items_have_names_and_the_gateway_jid(gateway, client):
    items = client("admin").disco_items(ECHO, node=CMD)["disco_items"]["items"]
    assert items
    for jid, node, name in items:
        assert str(jid) == ECHO
        assert name, node


@pytest.mark.parametrize("node", ADMIN_NODES)
def test_non_admin_executing_an_admin_node_is_forbidden(gateway, client, node):
    bob = client("bob")
    register(bob)
    with pytest.raises(IqError) as e:
        bob.execute(ECHO, node)
    assert e.value.iq["error"]["condition"] == "forbidden"
    assert "administrators" in e.value.iq["error"]["text"]


def test_unregistered_user_cannot_configure(gateway, client):
    with pytest.raises(IqError) as e:
        client("alice").execute(ECHO, "configure")
    assert e.value.iq["error"]["condition"] == "forbidden"
    assert "register" in e.value.iq["error"]["text"]


def test_unknown_node_is_item_not_found(gateway, client):
    with pytest.raises(IqError) as e:
        client("alice").execute(ECHO, "no-such-command")
    assert e.value.iq["error"]["condition"] == "item-not-found"


# -- a multi-stage command ----------------------------------------------------


def test_configure_shows_form_then_saves_prefix(gateway, client):
    alice = registered_alice(client)
    assert echo(alice, "plain") == "plain"

    r = alice.execute(ECHO, "configure")
    c = cmd_of(r)
    assert c.get("status") == "executing"
    sid = c.get("sessionid")
    assert sid
    actions = c.find(f"{{{CMD}}}actions")
    assert actions is not None and actions.find(f"{{{CMD}}}complete") is not None
    assert form_values(r)["prefix"] == [""]

    r = alice.command_step(ECHO, "configure", sid, {"prefix": "> "})
    c = cmd_of(r)
    assert c.get("status") == "completed"
    assert c.get("sessionid") == sid
    assert "Saved." in notes(r)

    assert echo(alice, "hello") == "> hello"

    # The form shows the current value the next time.
    r = alice.execute(ECHO, "configure")
    assert form_values(r)["prefix"] == ["> "]
    alice.command_step(ECHO, "configure", cmd_of(r).get("sessionid"), action="cancel")


def test_submitting_without_a_form_keeps_the_shown_values(gateway, client):
    alice = registered_alice(client)
    sid = configure_session(alice)
    alice.command_step(ECHO, "configure", sid, {"prefix": "[x] "})
    sid = configure_session(alice)
    r = alice.command_step(ECHO, "configure", sid, None, action="complete")
    assert cmd_of(r).get("status") == "completed"
    assert echo(alice, "kept") == "[x] kept"


def test_cancel_ends_the_session_and_changes_nothing(gateway, client):
    alice = registered_alice(client)
    sid = configure_session(alice)
    r = alice.command_step(ECHO, "configure", sid, action="cancel")
    assert cmd_of(r).get("status") == "canceled"
    assert echo(alice, "unchanged") == "unchanged"
    # The session is over: using it again says so.
    with pytest.raises(IqError) as e:
        alice.command_step(ECHO, "configure", sid, {"prefix": "late "})
    assert e.value.iq["error"]["condition"] == "not-allowed"
    assert e.value.iq.xml.find(f".//{{{CMD}}}session-expired") is not None
    assert echo(alice, "still unchanged") == "still unchanged"


def test_completed_session_cannot_be_reused(gateway, client):
    alice = registered_alice(client)
    sid = configure_session(alice)
    alice.command_step(ECHO, "configure", sid, {"prefix": "1 "})
    with pytest.raises(IqError) as e:
        alice.command_step(ECHO, "configure", sid, {"prefix": "2 "})
    assert e.value.iq["error"]["condition"] == "not-allowed"
    assert echo(alice, "x") == "1 x"


def test_unknown_session_id_is_bad_sessionid(gateway, client):
    alice = registered_alice(client)
    with pytest.raises(IqError) as e:
        alice.command_step(ECHO, "configure", "0123456789abcdef", {"prefix": "x"})
    assert e.value.iq["error"]["condition"] == "bad-request"
    assert e.value.iq.xml.find(f".//{{{CMD}}}bad-sessionid") is not None


def test_session_belongs_to_the_resource_that_started_it(gateway, client):
    alice = registered_alice(client)
    other = client("alice", resource="other")
    sid = configure_session(alice)
    with pytest.raises(IqError) as e:
        other.command_step(ECHO, "configure", sid, {"prefix": "stolen "})
    assert e.value.iq["error"]["condition"] == "forbidden"
    # Someone else entirely fares no better.
    bob = client("bob")
    register(bob)
    with pytest.raises(IqError) as e:
        bob.command_step(ECHO, "configure", sid, {"prefix": "stolen "})
    assert e.value.iq["error"]["condition"] == "forbidden"
    r = alice.command_step(ECHO, "configure", sid, {"prefix": "mine "})
    assert cmd_of(r).get("status") == "completed"
    assert echo(alice, "x") == "mine x"


def test_prev_on_the_first_stage_is_refused(gateway, client):
    alice = registered_alice(client)
    sid = configure_session(alice)
    with pytest.raises(IqError) as e:
        alice.command_step(ECHO, "configure", sid, action="prev")
    assert e.value.iq["error"]["condition"] == "bad-request"
    # The session survives the refused action.
    r = alice.command_step(ECHO, "configure", sid, {"prefix": "ok "})
    assert cmd_of(r).get("status") == "completed"


def test_oversized_setting_is_refused_with_a_reason(gateway, client):
    alice = registered_alice(client)
    sid = configure_session(alice)
    with pytest.raises(IqError) as e:
        alice.command_step(ECHO, "configure", sid, {"prefix": "p" * 5000})
    assert e.value.iq["error"]["condition"] == "bad-request"
    assert "too long" in e.value.iq["error"]["text"]
    assert echo(alice, "x") == "x"


def test_unregistering_takes_configure_away(gateway, client):
    alice = registered_alice(client)
    sid = configure_session(alice)
    alice.unregister(ECHO)
    with pytest.raises(IqError) as e:
        alice.command_step(ECHO, "configure", sid, {"prefix": "gone "})
    assert e.value.iq["error"]["condition"] == "forbidden"
    assert {n for n, _ in alice.commands(ECHO)} == {"register"}


def test_register_and_unregister_commands(gateway, client):
    """Registration as a command, for clients without XEP-0077."""
    carol = client("carol")
    r = carol.execute(ECHO, "register")
    c = cmd_of(r)
    assert c.get("status") == "executing"
    assert "nick" in form_values(r)
    r = carol.command_step(ECHO, "register", c.get("sessionid"), {"nick": "carol"})
    assert cmd_of(r).get("status") == "completed"
    carol.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "subscribe")
    assert "configure" in {n for n, _ in carol.commands(ECHO)}
    r = carol.execute(ECHO, "unregister")
    assert cmd_of(r).get("status") == "completed"
    assert {n for n, _ in carol.commands(ECHO)} == {"register"}


# -- the same commands as chat text -------------------------------------------


def test_text_configure_with_arguments(gateway, client):
    alice = registered_alice(client)
    reply = text(alice, "configure prefix=>>")
    assert "Saved." in reply
    assert echo(alice, "hi") == ">>hi"


def test_text_configure_asks_then_takes_a_bare_value(gateway, client):
    alice = registered_alice(client)
    form = text(alice, "configure")
    assert "prefix" in form and "cancel" in form
    assert "Saved." in text(alice, "< ")
    assert echo(alice, "hi") == "<hi"  # a chat line is trimmed


def test_text_cancel(gateway, client):
    alice = registered_alice(client)
    text(alice, "configure")
    assert text(alice, "cancel") == "Cancelled configure."
    assert echo(alice, "untouched") == "untouched"
    # No session waits any more: "cancel" is now an unknown command.
    assert "Unknown command" in text(alice, "cancel")


def test_text_invalid_reply_keeps_the_session(gateway, client):
    alice = registered_alice(client)
    text(alice, "configure")
    reply = text(alice, "prefix=" + "p" * 5000)
    assert "too long" in reply
    assert "Saved." in text(alice, "prefix=ok:")
    assert echo(alice, "x") == "ok:x"


def test_text_help_lists_only_what_this_user_may_run(gateway, client):
    bob = client("bob")
    help_text = text(bob, "help")
    assert "register" in help_text
    for word in ("configure", "unregister", "registered-count", "announce", "stats",
                 "reload", "delete-user"):
        assert f"{word} —" not in help_text, (word, help_text)
    register(bob)
    help_text = text(bob, "help")
    assert "configure —" in help_text and "unregister —" in help_text
    assert "registered-count —" not in help_text

    admin_help = text(client("admin"), "help")
    for word in ("registered-count", "registered-list", "online-count", "online-list",
                 "delete-user", "disable-user", "enable-user", "end-session", "announce",
                 "stats", "reload"):
        assert f"{word} —" in admin_help, (word, admin_help)


def test_text_command_refusals(gateway, client):
    alice = client("alice")
    assert "register" in text(alice, "configure prefix=x")
    assert "administrators" in text(alice, "registered-count")
    assert "Unknown command" in text(alice, "frobnicate")


def test_text_register_and_unregister(gateway, client):
    carol = client("carol")
    assert "You are registered" in text(carol, "register nick=carol")
    carol.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "subscribe")
    assert "configure —" in text(carol, "help")
    assert "no longer registered" in text(carol, "unregister")
    assert "configure —" not in text(carol, "help")


def test_text_and_adhoc_sessions_are_separate(gateway, client):
    alice = registered_alice(client)
    sid = configure_session(alice)
    text(alice, "configure")
    assert "Saved." in text(alice, "prefix=t:")
    r = alice.command_step(ECHO, "configure", sid, {"prefix": "a:"})
    assert cmd_of(r).get("status") == "completed"
    assert echo(alice, "x") == "a:x"


# -- command nodes in disco (XEP-0050 section 2.3) ----------------------------


def test_disco_info_on_a_command_node(gateway, client):
    alice = registered_alice(client)
    info = alice.disco_info(ECHO, node="configure")["disco_info"]
    ids = [(cat, typ) for cat, typ, _lang, _name in info["identities"]]
    assert ids == [("automation", "command-node")], ids
    assert set(info["features"]) == {CMD, XDATA}


def test_disco_info_on_a_hidden_or_unknown_command_node(gateway, client):
    bob = client("bob")
    for node in (ADMIN_NS + "#announce", "configure", "no-such-node"):
        with pytest.raises(IqError) as e:
            bob.disco_info(ECHO, node=node)
        assert e.value.iq["error"]["condition"] == "item-not-found", node
    # The admin sees the admin node.
    info = client("admin").disco_info(ECHO, node=ADMIN_NS + "#announce")["disco_info"]
    assert [(c, t) for c, t, _l, _n in info["identities"]] == [("automation", "command-node")]


def test_text_configure_with_an_empty_value_clears_it(gateway, client):
    alice = registered_alice(client)
    assert "Saved." in text(alice, "configure prefix=[p]")
    assert echo(alice, "a") == "[p]a"
    assert "Saved." in text(alice, "configure prefix=")
    assert echo(alice, "b") == "b"


def test_text_commands_ignore_case_and_spacing(gateway, client):
    alice = registered_alice(client)
    assert "configure —" in text(alice, "  HELP  ")
    assert "Saved." in text(alice, "Configure   prefix=\u00bb ")
    assert echo(alice, "x") == "\u00bbx"


def test_text_multi_line_announce(gateway, client):
    alice = registered_alice(client)
    alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "subscribe")
    admin = client("admin")
    sgtest.wait_until(lambda: "alice@localhost" in text(admin, "online-list"), 10, "alice online")
    form = text(admin, "announce")
    assert "body" in form and "subject" in form
    reply = text(admin, "subject=Notice\nbody=first line\nsecond line")
    assert "sent to 1 online users" in reply
    m = alice.wait_for_message(lambda m: m["type"] == "headline")
    assert m["body"] == "first line\nsecond line"
    assert m["subject"] == "Notice"


def test_oversized_text_command_is_refused_with_a_reason(gateway, client):
    alice = registered_alice(client)
    reply = text(alice, "configure prefix=" + "p" * 70000, timeout=15)
    assert "too long" in reply
    # Also while a command waits for its answer.
    text(alice, "configure")
    assert "too long" in text(alice, "q" * 70000, timeout=15)
    assert "Cancelled" in text(alice, "cancel")
    assert echo(alice, "x") == "x"


def test_text_arguments_are_checked_like_a_form(gateway, client):
    """"configure prefix=…" must obey the same limits as the XEP-0050 form."""
    alice = registered_alice(client)
    reply = text(alice, "configure prefix=" + "p" * 5000)
    assert "too long" in reply and "Saved." not in reply
    # The form is shown again and waits for a better answer.
    assert "Saved." in text(alice, "prefix=ok:")
    assert echo(alice, "x") == "ok:x"


def test_text_register_arguments_are_checked(gateway, client):
    carol = client("carol")
    reply = text(carol, "register nick=" + "n" * 5000)
    assert "too long" in reply and "You are registered" not in reply
    assert "Cancelled" in text(carol, "cancel")
    q = carol.register_form(ECHO).xml.find("{jabber:iq:register}query")
    assert q.find("{jabber:iq:register}registered") is None


def test_open_sessions_per_user_are_bounded(gateway, client):
    """A client that starts commands and never finishes them does not make
    the gateway hold them all: past 16, the oldest goes."""
    alice = registered_alice(client)
    sids = [configure_session(alice) for _ in range(20)]
    assert len(set(sids)) == 20
    with pytest.raises(IqError) as e:
        alice.command_step(ECHO, "configure", sids[0], {"prefix": "old "})
    assert e.value.iq["error"]["condition"] == "not-allowed"
    r = alice.command_step(ECHO, "configure", sids[-1], {"prefix": "new "})
    assert cmd_of(r).get("status") == "completed"
    # Another user's sessions are not taken into account.
    bob = client("bob")
    register(bob)
    bsid = configure_session(bob)
    for _ in range(20):
        alice.execute(ECHO, "configure")
    assert cmd_of(bob.command_step(ECHO, "configure", bsid, {"prefix": "b "})).get(
        "status") == "completed"


def test_cancel_by_a_cancel_form(gateway, client):
    """XEP-0004: a form of type cancel ends the session like action=cancel."""
    alice = registered_alice(client)
    sid = configure_session(alice)
    r = alice.iq(ECHO, f'<command xmlns="{CMD}" node="configure" sessionid="{sid}">'
                       f'<x xmlns="{XDATA}" type="cancel"/></command>', "set")
    assert cmd_of(r).get("status") == "canceled"
    with pytest.raises(IqError) as e:
        alice.command_step(ECHO, "configure", sid, {"prefix": "late "})
    assert e.value.iq["error"]["condition"] == "not-allowed"
    assert echo(alice, "x") == "x"
