"""The XEP-0114 link itself: how the daemon reacts to its XMPP server."""


import sgtest

ECHO = "echo.localhost"


def test_wrong_secret_is_fatal_and_names_the_component(make_gateway):
    g = make_gateway(extra={"echo": {"secret": "not-the-secret"}}, start=False)
    g.start(wait=False)
    code = g.proc.wait(timeout=sgtest.scaled(20))
    g.stopped_by_us = True  # exiting is the expected outcome here
    assert code == 1
    assert "component echo.localhost" in g.log
    assert "wrong secret" in g.log


def test_unknown_component_name_is_fatal(make_gateway):
    # Prosody declares no such component: retrying could never help.
    g = make_gateway(extra={"echo": {"jid": "nothere.localhost"}}, start=False)
    g.backends = []
    g.start(wait=False)
    code = g.proc.wait(timeout=sgtest.scaled(20))
    g.stopped_by_us = True  # exiting is the expected outcome here
    assert code == 1
    assert "nothere.localhost" in g.log


def test_server_given_by_name_is_resolved(make_gateway, client):
    # "localhost" goes through the asynchronous resolver, not libstrophe's blocking one.
    make_gateway(extra={"xmpp": {"server": "localhost"}})
    assert client("alice").send_message_and_wait(f"x@{ECHO}", "by name")["body"] == "by name"


def test_gateway_started_before_its_server_connects_when_it_comes(make_gateway, prosody, client):
    prosody.stop()
    g = make_gateway(start=False)
    g.start(wait=False)
    g.check_alive()
    prosody.start()
    g.wait_connected(timeout=30)
    assert client("alice").send_message_and_wait(f"x@{ECHO}", "late")["body"] == "late"
