"""Delivery guarantees (SPEC section 7), as a user sees them.

The echo network steers the failure paths: "/retry N text" makes it refuse
the first N tries, "/delay N text" answers N seconds later, "/fail" refuses
for good, "/pending text" confirms asynchronously.
"""

import signal
import time


import sgtest

ECHO = "echo.localhost"
FOO = "foo@echo.localhost"


def queued(gateway, direction):
    """Messages waiting in the gateway's store (0: to the network, 1: to XMPP)."""
    return sgtest.store_rows(gateway, "SELECT count(*) FROM queue WHERE dir = ?",
                             (direction,))[0][0]


def bodies_from(client, jid, count, timeout=20):
    """Waits for `count` chat messages from jid; returns their bodies."""
    got = []
    for _ in range(count):
        m = client.wait_for_message(
            lambda m: m["from"].bare == jid and m["type"] == "chat" and m["body"] != "",
            timeout, f"message {len(got) + 1} of {count} from {jid}")
        got.append(m["body"])
    return got


def test_sigkill_with_queued_messages_loses_nothing_and_repeats_nothing(gateway, client):
    alice = client("alice")
    n = 12
    for i in range(n):
        # Refused once, so every message sits in the store, waiting to be retried.
        alice.send_message(FOO, f"/retry 1 queued {i}")
    sgtest.wait_until(lambda: queued(gateway, 0) == n, 15, f"{n} messages stored")

    gateway.kill(signal.SIGKILL)
    assert queued(gateway, 0) == n
    gateway.start()

    got = bodies_from(alice, FOO, n, timeout=30)
    assert sorted(got) == sorted(f"queued {i}" for i in range(n))
    # Exactly once: nothing else arrives, and the store is empty.
    alice.no_message(lambda m: m["from"].bare == FOO and m["body"], timeout=3)
    sgtest.wait_until(lambda: queued(gateway, 0) == 0 and queued(gateway, 1) == 0, 10,
                      "empty queues")


def test_network_messages_wait_while_the_xmpp_server_is_down(gateway, prosody, client):
    alice = client("alice")
    alice.send_message(FOO, "/delay 2 produced while the server was down")
    # The echo network answers in 2 s; by then Prosody is gone.
    time.sleep(0.3)
    prosody.kill()
    sgtest.wait_until(lambda: queued(gateway, 1) == 1, 15, "the answer stored for later")
    gateway.check_alive()
    prosody.start()
    gateway.wait_connected(timeout=30)

    alice = client("alice", resource="back")
    m = alice.wait_for_message(lambda m: m["from"].bare == FOO and m["body"], 30,
                               "the answer produced while the server was down")
    assert m["body"] == "produced while the server was down"
    sgtest.wait_until(lambda: queued(gateway, 1) == 0, 10, "the answer removed once routed")


def test_receipt_and_chat_state_produced_while_the_xmpp_server_is_down_follow(
        gateway, prosody, client):
    """What the network reports while the component link is down (a receipt,
    a chat state) is held like the messages and reaches the user once the
    link is back: the receipt from the store, the contact's latest state."""
    alice = client("alice")
    mid = alice.send_message(FOO, "/delay 2 answered while the server was down",
                             request_receipt=True)
    time.sleep(0.3)
    prosody.kill()
    # The answer and its receipt both wait in the store.
    sgtest.wait_until(lambda: queued(gateway, 1) == 2, 15, "the answer and its receipt stored")
    # The gateway waits while alice comes back, so that what it sends to her
    # bare JID finds her online (a chat state is never stored offline).
    before = {h: prosody.component_auth_count(h) for h in gateway.backends}
    gateway.proc.send_signal(signal.SIGSTOP)
    try:
        prosody.start()
        alice = client("alice", resource="back")
    finally:
        gateway.proc.send_signal(signal.SIGCONT)
    gateway.wait_connected(before, timeout=30)
    m = alice.wait_for_message(lambda m: m["from"].bare == FOO and m["body"], 30, "the answer")
    assert m["body"] == "answered while the server was down"
    alice.wait_for_message(lambda m: m["from"].bare == FOO and m["receipt"] == mid, 30,
                           "the receipt produced while the server was down")
    alice.wait_for_message(lambda m: m["from"].bare == FOO and m["chat_state"] == "active",
                           30, "the chat state produced while the server was down")
    sgtest.wait_until(lambda: queued(gateway, 1) == 0, 10, "the answer and receipt removed")


def test_offline_user_gets_the_answer_from_offline_storage(gateway, client):
    alice = client("alice")
    alice.send_message(FOO, "/delay 2 for later")
    alice.disconnect()
    sgtest.wait_until(lambda: queued(gateway, 1) == 0 and queued(gateway, 0) == 0, 15,
                      "the answer handed to the server")
    alice = client("alice", resource="later")
    m = alice.wait_for_message(lambda m: m["from"].bare == FOO and m["body"], 15,
                               "the answer kept by the server's offline storage")
    assert m["body"] == "for later"


def test_bounced_message_waits_until_the_user_is_online(tmp_path, loop_thread, stanzagate_bin):
    # Without offline storage (nor MAM, which counts as stored), Prosody
    # bounces a message for an offline user.
    prosody = sgtest.Prosody(tmp_path / "prosody", disabled_modules=("offline", "mam"))
    prosody.start()
    gateway = sgtest.Gateway(tmp_path / "gw", prosody, binary=stanzagate_bin)
    gateway.start()
    alice = None
    try:
        alice = sgtest.Client(loop_thread, prosody, "alice")
        alice.connect()
        # Registered and subscribed: alice's presence reaches the gateway.
        alice.register(ECHO, {"nick": "alice"})
        alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "subscribe",
                                10, "the gateway's subscription request")
        alice.send_message(FOO, "/delay 2 held for you")
        alice.disconnect()
        sgtest.wait_until(lambda: "bounced message" in gateway.log, 15, "the bounce")
        assert queued(gateway, 1) == 1

        alice = sgtest.Client(loop_thread, prosody, "alice", resource="again")
        alice.connect()
        m = alice.wait_for_message(lambda m: m["from"].bare == FOO and m["body"], 15,
                                   "the held message")
        assert m["body"] == "held for you"
        sgtest.wait_until(lambda: queued(gateway, 1) == 0, 10, "the held message removed")
    finally:
        if alice:
            alice.disconnect()
        gateway.stop()
        prosody.stop()


def test_refused_message_is_reported_to_the_sender(gateway, client):
    m = client("alice").send_message_and_wait(FOO, "/fail")
    assert m["type"] == "error"
    assert m["error"]["condition"] == "recipient-unavailable"
    assert "asked to fail" in m["error"]["text"]


def test_retried_message_is_delivered_once(gateway, client):
    alice = client("alice")
    alice.send_message(FOO, "/retry 1 second time lucky")
    assert bodies_from(alice, FOO, 1, timeout=30) == ["second time lucky"]
    alice.no_message(lambda m: m["from"].bare == FOO and m["body"], timeout=2)


def test_pending_message_is_confirmed_later(gateway, client):
    alice = client("alice")
    alice.send_message(FOO, "/pending confirmed")
    assert bodies_from(alice, FOO, 1) == ["confirmed"]
    sgtest.wait_until(lambda: queued(gateway, 0) == 0, 10, "the confirmed message removed")


def test_receipt_when_the_network_confirms(gateway, client):
    alice = client("alice")
    alice.send_raw(f'<message to="{FOO}" type="chat" id="r-1"><body>with receipt</body>'
                   '<request xmlns="urn:xmpp:receipts"/></message>')
    m = alice.wait_for_message(
        lambda m: m["from"].bare == FOO and m.xml.find("{urn:xmpp:receipts}received") is not None,
        10, "a delivery receipt")
    assert m.xml.find("{urn:xmpp:receipts}received").get("id") == "r-1"


def test_resent_stanza_id_is_not_delivered_twice(gateway, client):
    alice = client("alice")
    for _ in range(2):
        alice.send_raw(f'<message to="{FOO}" type="chat" id="same-id"><body>once</body></message>')
    assert bodies_from(alice, FOO, 1) == ["once"]
    alice.no_message(lambda m: m["from"].bare == FOO and m["body"], timeout=2)


def test_resent_after_delivery_and_restart_is_not_sent_again(gateway, client):
    """A message the network took at once never waits in the queue, yet its
    id still refuses a resend (stream resumption), also after a restart."""
    alice = client("alice")
    stanza = f'<message to="{FOO}" type="chat" id="late-resend"><body>only once</body></message>'
    alice.send_raw(stanza)
    assert bodies_from(alice, FOO, 1) == ["only once"]
    alice.send_raw(stanza)
    alice.no_message(lambda m: m["from"].bare == FOO and m["body"], timeout=2)
    assert gateway.kill(signal.SIGTERM) == 0
    gateway.start()
    alice.send_raw(stanza)
    # A fresh id after the resend proves the gateway is up and reading.
    alice.send_message(FOO, "after the restart")
    assert bodies_from(alice, FOO, 1, timeout=30) == ["after the restart"]
    alice.no_message(lambda m: m["from"].bare == FOO and m["body"], timeout=2)
    assert queued(gateway, 0) == 0


def test_oversized_body_is_refused_with_a_reason(gateway, client):
    m = client("alice").send_message_and_wait(FOO, "x" * (70 * 1024), timeout=15)
    assert m["type"] == "error"
    assert m["error"]["condition"] == "not-acceptable"
    assert "too long" in m["error"]["text"]


def test_sigterm_under_load_loses_nothing(gateway, client):
    alice = client("alice")
    n = 1000
    for i in range(n):
        # A bounce keeps the id, not always the body: the id says which.
        alice.send_raw(f'<message to="{FOO}" type="chat" id="burst-{i}">'
                       f'<body>burst {i}</body></message>')
    # Stop while the burst is still arriving: SPEC section 3, a clean shutdown.
    assert gateway.kill(signal.SIGTERM) == 0
    gateway.start()
    want = {f"burst {i}" for i in range(n)}
    echoed, bounced = [], set()
    deadline = time.time() + sgtest.scaled(60)
    while echoed_or_bounced(echoed, bounced) != want and time.time() < deadline:
        try:
            m = alice.wait_for_message(lambda m: m["from"].bare == FOO, 5)
        except AssertionError:
            continue
        if m["type"] == "error":
            # Sent while no gateway was connected: the server told the sender.
            if m["id"].startswith("burst-"):
                bounced.add("burst " + m["id"][len("burst-"):])
        elif m["body"]:
            echoed.append(m["body"])
    missing = want - echoed_or_bounced(echoed, bounced)
    assert not missing, f"{len(missing)} messages silently lost, e.g. {sorted(missing)[:3]}"
    # A clean shutdown closes the link before stopping: nothing comes twice.
    dups = len(echoed) - len(set(echoed))
    assert dups == 0, f"{dups} messages delivered twice"


def echoed_or_bounced(echoed, bounced):
    return set(echoed) | bounced
