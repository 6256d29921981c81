"""Self-test of the integration harness: the fixtures work without the real
daemon (Prosody, clients, and the Gateway class driving a stand-in)."""

import signal
from pathlib import Path

import pytest

import sgtest

FAKE = Path(__file__).with_name("fake_gateway.py")


def test_alice_messages_bob_through_private_prosody(prosody, client):
    alice = client("alice")
    bob = client("bob")
    alice.send_message(bob.bare, "hello bob")
    m = bob.wait_for_message(lambda m: m["body"] == "hello bob")
    assert m["from"].bare == alice.bare


def test_private_prosody_answers_disco_and_version(prosody, client):
    alice = client("alice")
    info = alice.disco_info("localhost")
    assert "urn:xmpp:ping" in info["disco_info"]["features"]
    v = alice.version("localhost")
    assert v["software_version"]["name"] == "Prosody"


def test_bad_password_is_refused(prosody, loop_thread):
    c = sgtest.Client(loop_thread, prosody, "alice", password="wrong")
    with pytest.raises(AssertionError, match="authentication failed"):
        c.connect(timeout=10)
    c.disconnect()


def test_prosody_restarts_on_the_same_ports(prosody, client):
    ports = (prosody.c2s_port, prosody.component_port)
    prosody.kill()
    assert not prosody.running()
    prosody.start()
    assert (prosody.c2s_port, prosody.component_port) == ports
    bob = client("bob")
    assert bob.ping("localhost") is not None


def test_component_not_connected_bounces(prosody, client):
    """With no gateway, Prosody answers for the component host itself:
    what a user sees when the gateway is down (Prosody 0.12 says
    remote-server-timeout, "Component unavailable")."""
    from slixmpp.exceptions import IqError
    alice = client("alice")
    with pytest.raises(IqError) as e:
        alice.disco_info("echo.localhost", timeout=5)
    assert e.value.iq["error"]["condition"] in ("remote-server-timeout",
                                                "service-unavailable")


def test_gateway_fixture_with_stand_in(make_gateway, prosody, client):
    gw = make_gateway(binary=FAKE)
    assert prosody.component_auth_count("echo.localhost") == 1
    alice = client("alice")
    reply = alice.send_message_and_wait("foo@echo.localhost", "ping 1")
    assert reply["body"] == "ping 1"

    # Prosody killed under the running "gateway": it reconnects by itself.
    prosody.kill()
    prosody.start()
    gw.wait_connected({"echo.localhost": 1}, timeout=15)
    alice = client("alice", resource="again")
    assert alice.send_message_and_wait("foo@echo.localhost", "ping 2")["body"] == "ping 2"

    assert gw.kill(signal.SIGTERM) == 0
    gw.start()
    assert gw.running()


def test_gateway_crash_is_reported(make_gateway, tmp_path):
    gw = make_gateway(binary=FAKE)
    gw.proc.send_signal(signal.SIGKILL)
    gw.proc.wait()
    with pytest.raises(AssertionError, match="killed by SIGKILL"):
        gw.check_alive()
    gw.stopped_by_us = True  # the fixture must not fail this test


def test_ngircd_and_irc_clients(ngircd, irc_client):
    a = irc_client("alice_irc")
    b = irc_client("bob_irc", tls=True)
    a.join("#chan")
    b.join("#chan")
    a.privmsg("#chan", "hello over IRC")
    assert b.wait_privmsg("#chan", "hello over IRC") == ("alice_irc", "hello over IRC")
    b.privmsg("alice_irc", "private")
    assert a.wait_privmsg("alice_irc") == ("bob_irc", "private")
