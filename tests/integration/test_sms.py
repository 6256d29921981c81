"""The SMS gateway with driver = smsd: a real gammu-smsd on gammu's dummy
phone and its database, SQLite or PostgreSQL (every test runs on both; a
private PostgreSQL cluster is started for the module). What was sent is
read back from gammu-smsd's sentitems (text, coding and header of every
part); incoming SMS and status reports are injected into the dummy phone,
which gammu-smsd reads like a modem.
"""

import signal
import time

import pytest

import sgtest
from smstest import Postgres, Smsd, have_gammu_smsd

pytestmark = pytest.mark.skipif(not have_gammu_smsd(), reason="gammu-smsd not installed")

SMS = "sms.localhost"
NUM = "+15551234567"
PEER = "+15557654321"


@pytest.fixture(scope="module")
def postgres():
    try:
        pg = Postgres().start()
    except RuntimeError as e:
        pytest.skip(f"PostgreSQL cannot start here: {e}")
    yield pg
    pg.stop()


@pytest.fixture(params=["sqlite", "pgsql"])
def make_smsd(request, tmp_path):
    """Factory: make_smsd(name, phone_id="office") -> an Smsd (not started)
    on this test's database engine."""
    pg = request.getfixturevalue("postgres") if request.param == "pgsql" else None
    made = []

    def make(name="smsd", **kw):
        s = Smsd(tmp_path / name, postgres=pg, **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.stop()


@pytest.fixture
def smsd(make_smsd):
    return make_smsd().start()


def sms_gateway(make_gateway, smsd, users="alice@localhost", extra_lines=None, sms=None,
                start=True):
    extra = {
        "sms": {"default_country": "+1", "poll_interval": "1s", **(sms or {})},
        "sms.line.office": {"number": "+15550001111", "driver": "smsd",
                            "smsd_database": smsd.url, "users": users},
    }
    extra.update(extra_lines or {})
    return make_gateway(backends=(SMS,), extra=extra, start=start)


def from_jid(number):
    return f"{number}@{SMS}"


def failure_from(number):
    """A failure notice: an error stanza to a resource the gateway knows, or
    (none known) a chat message saying the text could not be delivered."""
    def match(m):
        return m["from"].bare == from_jid(number) and (
            m["type"] == "error" or "could not be delivered" in m["body"])
    return match


def failure_text(m):
    return m["error"]["text"] if m["type"] == "error" else m["body"]


def text_command(client, body, timeout=10):
    """Run a text command on the gateway JID; returns the reply's body."""
    return client.send_message_and_wait(SMS, body, timeout=timeout)["body"]


def outbox_and_sent(smsd):
    return (smsd.rows("SELECT count(*) AS n FROM outbox")[0]["n"],
            smsd.rows("SELECT count(*) AS n FROM sentitems")[0]["n"])


# ---- numbers ----

def test_gateway_prompt_normalises_numbers(make_gateway, smsd, client):
    sms_gateway(make_gateway, smsd)
    alice = client("alice")
    res = alice.gateway_prompt(SMS)
    q = res.xml.find("{jabber:iq:gateway}query")
    assert q.find("{jabber:iq:gateway}prompt").text == "Phone number"
    for typed, want in [("(555) 123-4567", NUM), ("+44 20 7946 0958", "+442079460958"),
                        ("011 44 20 7946 0958", "+442079460958")]:
        res = alice.gateway_prompt(SMS, typed)
        jid = res.xml.find("{jabber:iq:gateway}query").find("{jabber:iq:gateway}jid").text
        assert jid == from_jid(want)
    with pytest.raises(Exception) as e:
        alice.gateway_prompt(SMS, "call me maybe")
    assert "item-not-found" in str(e.value) or "not" in str(e.value)


# ---- sending ----

def test_short_text_goes_out_as_one_gsm7_sms(make_gateway, smsd, client):
    sms_gateway(make_gateway, smsd)
    alice = client("alice")
    alice.send_message(from_jid(NUM), "Hello from XMPP!")
    (part,) = smsd.sent(count=1)
    assert part["DestinationNumber"] == NUM
    assert part["TextDecoded"] == "Hello from XMPP!"
    assert part["Coding"] == "Default_No_Compression"
    assert part["UDH"] == ""
    assert part["Status"] == "SendingOK"


def test_long_unicode_text_goes_out_in_ucs2_parts(make_gateway, smsd, client):
    sms_gateway(make_gateway, smsd)
    alice = client("alice")
    text = "Snow ☃ " + "x" * 93  # 100 UTF-16 units: two UCS-2 parts of 67 and 33
    alice.send_message(from_jid(NUM), text)
    parts = smsd.sent(count=2)
    assert [p["Coding"] for p in parts] == ["Unicode_No_Compression"] * 2
    assert "".join(p["TextDecoded"] for p in parts) == text
    assert [len(p["TextDecoded"].encode("utf-16-be")) // 2 for p in parts] == [67, 33]
    ref = parts[0]["UDH"][6:8]
    assert [p["UDH"] for p in parts] == [f"050003{ref}0201", f"050003{ref}0202"]


def test_gsm7_extension_characters_count_double(make_gateway, smsd, client):
    sms_gateway(make_gateway, smsd)
    alice = client("alice")
    # 150 'a' and 3 '€' = 156 septets: one SMS; four '€' make 158 and still one;
    # 159 'a' and one '€' = 161 septets: two parts, both GSM 7-bit.
    alice.send_message(from_jid(NUM), "a" * 150 + "€€€")
    (one,) = smsd.sent(count=1)
    assert one["Coding"] == "Default_No_Compression" and one["UDH"] == ""
    alice.send_message(from_jid(NUM), "a" * 159 + "€")
    parts = smsd.sent(count=3)[1:]
    assert [p["Coding"] for p in parts] == ["Default_No_Compression"] * 2
    assert parts[0]["TextDecoded"] == "a" * 153
    assert parts[1]["TextDecoded"] == "a" * 6 + "€"


def test_receipt_when_every_part_is_delivered(make_gateway, smsd, client):
    sms_gateway(make_gateway, smsd)
    alice = client("alice")
    text = "r" * 200  # two parts
    mid = alice.send_message(from_jid(NUM), text, request_receipt=True)
    parts = smsd.sent(count=2)
    assert all(p["Status"] == "SendingOK" for p in parts)
    # No receipt before the network says so.
    alice.no_message(lambda m: m["receipt"] == mid, timeout=2)
    smsd.phone.report(NUM)
    sgtest.wait_until(lambda: all(r["Status"] == "DeliveryOK" for r in
                                  smsd.rows('SELECT "Status" FROM sentitems')), 15,
                      "gammu-smsd to record the status report")
    m = alice.wait_for_message(lambda m: m["receipt"] == mid, 10, "the receipt")
    assert m["from"].bare == from_jid(NUM)
    # Exactly one.
    alice.no_message(lambda m: m["receipt"] == mid, timeout=3)


def test_failed_part_is_reported_as_an_error(make_gateway, smsd, client):
    sms_gateway(make_gateway, smsd)
    alice = client("alice")
    mid = alice.send_message(from_jid(NUM), "f" * 200, request_receipt=True)
    smsd.sent(count=2)
    # The dummy phone cannot fail a report: write what gammu-smsd records
    # when a modem gives up on a part.
    smsd.execute("""UPDATE sentitems SET "Status" = 'SendingError' """
                 """WHERE "SequencePosition" = 2""")
    m = alice.wait_for_message(failure_from(NUM), 15, "the failure")
    assert "could not send" in failure_text(m)
    if m["type"] == "error":
        assert m["id"] == mid
        assert m["error"]["condition"] == "recipient-unavailable"
    # No receipt after a failure.
    alice.no_message(lambda m: m["receipt"] == mid, timeout=2)


def test_user_without_a_line_is_told(make_gateway, smsd, client):
    sms_gateway(make_gateway, smsd)
    bob = client("bob")
    bob.send_message(from_jid(NUM), "hi")
    m = bob.wait_for_message(failure_from(NUM), 10, "an error")
    assert "no SMS line" in failure_text(m)
    # Not the recipient's fault: bob may not text (XEP-0100's mapping).
    assert m["error"]["condition"] == "forbidden", m
    assert outbox_and_sent(smsd) == (0, 0)


def test_texts_wait_until_gammu_smsd_is_there(make_gateway, make_smsd, client):
    # The database is not there yet: the line is down, texts wait.
    smsd = make_smsd("late")
    if smsd.pg:
        smsd.pg.psql("postgres", f"ALTER DATABASE {smsd.pg_db} RENAME TO {smsd.pg_db}_away")
    g = sms_gateway(make_gateway, smsd)
    alice = client("alice")
    alice.send_message(from_jid(NUM), "patience")
    sgtest.wait_until(lambda: "line office: starting -> down" in g.log, 10, "the line down")
    if smsd.pg:
        smsd.pg.psql("postgres", f"ALTER DATABASE {smsd.pg_db}_away RENAME TO {smsd.pg_db}")
    smsd.start()
    (part,) = smsd.sent(count=1, timeout=40)
    assert part["TextDecoded"] == "patience"
    assert "line office: down -> up" in g.log


def test_restart_does_not_send_twice(make_gateway, smsd, client):
    g = sms_gateway(make_gateway, smsd)
    alice = client("alice")
    for i in range(3):
        alice.send_message(from_jid(NUM), f"once {i}")
    smsd.sent(count=3)
    g.kill(signal.SIGKILL)
    g.start()
    alice.send_message(from_jid(NUM), "after restart")
    smsd.sent(count=4)
    bodies = [r["TextDecoded"] for r in smsd.rows('SELECT "TextDecoded" FROM sentitems')]
    assert sorted(bodies) == sorted(["once 0", "once 1", "once 2", "after restart"])


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_conversation_needs_nothing_after_a_restart(make_gateway, smsd, client, sig):
    """alice texts with PEER; the gateway restarts (the same XMPP session on
    alice's side, she does nothing): the text that came during the gap
    arrives once, what she saw before does not come again, and her next
    text goes out once (issue 16)."""
    g = sms_gateway(make_gateway, smsd)
    alice = client("alice")
    peer = from_jid(PEER)

    def texts(body):
        return [m for m in alice.all_stanzas if m.name == "message" and m["type"] != "error"
                and m["from"].bare == peer and m["body"] == body]
    alice.send_message(peer, "before")
    smsd.sent(count=1, to=PEER)
    smsd.phone.inject(PEER, "reply before")
    sgtest.wait_until(lambda: texts("reply before"), 20, "the reply")
    g.kill(sig)
    smsd.phone.inject(PEER, "during the gap")
    sgtest.wait_until(lambda: smsd.rows("SELECT count(*) AS n FROM inbox")[0]["n"] == 1, 15,
                      "gammu-smsd to store it")
    g.start()
    sgtest.wait_until(lambda: texts("during the gap"), 20, "the text of the gap")
    alice.send_message(peer, "after")
    smsd.sent(count=2, to=PEER)
    smsd.phone.inject(PEER, "reply after")
    sgtest.wait_until(lambda: texts("reply after"), 20, "the reply after the restart")
    time.sleep(sgtest.scaled(2))
    assert [len(texts(b)) for b in ("reply before", "during the gap", "reply after")] == [1, 1, 1]
    bodies = [r["TextDecoded"] for r in smsd.rows('SELECT "TextDecoded" FROM sentitems')]
    assert sorted(bodies) == ["after", "before"]
    # No message refused. (Presences alice's client sent while the gateway
    # was down, answers to its subscription requests, come back from Prosody
    # as errors: not messages, and not the gateway's.)
    assert [m for m in alice.all_stanzas if m.name == "message" and m["type"] == "error"] == []


def test_rate_limit_holds_texts_back(make_gateway, smsd, client):
    g = sms_gateway(make_gateway, smsd, sms={"per_user_per_hour": "2"})
    alice = client("alice")
    for i in range(3):
        alice.send_message(from_jid(NUM), f"limited {i}")
    smsd.sent(count=2)
    alice.no_message(failure_from(NUM), timeout=3)
    assert outbox_and_sent(smsd)[1] == 2
    assert "hourly SMS limit" in g.log


# ---- receiving ----

def test_incoming_sms_reaches_every_user_of_the_line(make_gateway, smsd, client):
    sms_gateway(make_gateway, smsd, users="alice@localhost carol@localhost")
    alice, carol = client("alice"), client("carol")
    smsd.phone.inject(PEER, "Hi from a phone")
    for c in (alice, carol):
        m = c.wait_for_message(lambda m: m["from"].bare == from_jid(PEER) and m["body"], 20,
                               "the SMS")
        assert m["body"] == "Hi from a phone"
    # The number asks to be a contact.
    alice.wait_for_presence(lambda p: p["from"].bare == from_jid(PEER) and
                            p["type"] == "subscribe", 10, "a subscription request")
    # Taken out of gammu-smsd's inbox once stored.
    sgtest.wait_until(lambda: smsd.rows("SELECT count(*) AS n FROM inbox")[0]["n"] == 0, 10,
                      "the inbox emptied")


def test_incoming_long_sms_out_of_order_and_unicode(make_gateway, smsd, client):
    sms_gateway(make_gateway, smsd)
    alice = client("alice")
    smsd.phone.inject(PEER, "second half", udh="050003AB0202")
    smsd.phone.inject(PEER, "Ünïcödé ☃ first half, ", udh="050003AB0201",
                      coding="Unicode_No_Compression")
    m = alice.wait_for_message(lambda m: m["from"].bare == from_jid(PEER) and m["body"], 25,
                               "the joined SMS")
    assert m["body"] == "Ünïcödé ☃ first half, second half"
    alice.no_message(lambda m: m["from"].bare == from_jid(PEER) and m["body"], timeout=3)
    sgtest.wait_until(lambda: smsd.rows("SELECT count(*) AS n FROM inbox")[0]["n"] == 0, 10,
                      "the inbox emptied")


def test_incoming_waits_in_the_inbox_while_the_gateway_is_down(make_gateway, smsd, client):
    g = sms_gateway(make_gateway, smsd)
    g.kill(signal.SIGKILL)
    smsd.phone.inject(PEER, "while you were away")
    sgtest.wait_until(lambda: smsd.rows("SELECT count(*) AS n FROM inbox")[0]["n"] == 1, 15,
                      "gammu-smsd to store it")
    g.start()
    alice = client("alice")
    m = alice.wait_for_message(lambda m: m["from"].bare == from_jid(PEER) and m["body"], 20,
                               "the SMS")
    assert m["body"] == "while you were away"


def test_incoming_waits_on_the_line_while_the_store_is_down(make_gateway, smsd, own_pg,
                                                            client):
    """The gateway's own PostgreSQL store is killed: an SMS that arrives
    meanwhile cannot be stored, so it is not taken out of gammu-smsd's
    inbox; once the store is back the gateway reads it again by itself (no
    restart) and delivers it once."""
    name = own_pg.new_database()
    g = sms_gateway(make_gateway, smsd,
                    extra_lines={"storage": {"url": own_pg.url(name)}})
    alice = client("alice")
    smsd.phone.inject(PEER, "before")
    assert alice.wait_for_message(lambda m: m["from"].bare == from_jid(PEER) and m["body"],
                                  20, "the first SMS")["body"] == "before"
    own_pg.kill()
    smsd.phone.inject(PEER, "while the store is down")
    sgtest.wait_until(lambda: "store: unreachable" in g.log, 30, "the outage noticed")
    assert smsd.rows("SELECT count(*) AS n FROM inbox")[0]["n"] == 1  # still on the line
    own_pg.restart()
    m = alice.wait_for_message(lambda m: m["from"].bare == from_jid(PEER) and m["body"], 40,
                               "the SMS, once the store is back")
    assert m["body"] == "while the store is down"
    sgtest.wait_until(lambda: smsd.rows("SELECT count(*) AS n FROM inbox")[0]["n"] == 0, 20,
                      "the inbox emptied")
    alice.no_message(lambda m: m["from"].bare == from_jid(PEER) and m["body"], timeout=3)


# ---- lines and commands ----

def test_line_per_contact_and_admin_assignment(make_gateway, smsd, make_smsd, client):
    shop = make_smsd("shop", phone_id="shop")
    shop.create_db()  # no gammu-smsd: what goes to this line stays in its outbox
    sms_gateway(make_gateway, smsd, extra_lines={"sms.line.shop": {
        "number": "+15550002222", "driver": "smsd", "smsd_database": shop.url,
        "users": "alice@localhost"}})
    alice = client("alice")
    reply = text_command(alice, "lines")
    assert "office" in reply and "shop" in reply
    # As an ad-hoc command: one note with every line (clients show only the first note).
    notes = alice.execute(SMS, "lines").xml.findall(
        ".//{http://jabber.org/protocol/commands}note")
    assert len(notes) == 1 and "office" in notes[0].text and "shop" in notes[0].text

    reply = text_command(alice, f"line contact={NUM} line=shop")
    assert "shop" in reply
    alice.send_message(from_jid(NUM), "from the shop")
    sgtest.wait_until(lambda: shop.rows('SELECT "TextDecoded" FROM outbox'), 10, "shop's outbox")
    assert shop.rows('SELECT "TextDecoded" FROM outbox')[0]["TextDecoded"] == "from the shop"
    alice.send_message(from_jid(PEER), "from the office")
    (part,) = smsd.sent(count=1)
    assert part["TextDecoded"] == "from the office"

    # Admin: bob gets the office line, then loses it.
    admin, bob = client("admin"), client("bob")
    reply = text_command(admin, "lines")
    assert "office" in reply and "alice@localhost" in reply and "up" in reply
    assert "now" in text_command(admin, "assign line=office user=bob@localhost")
    bob.send_message(from_jid(NUM), "bob's text")
    smsd.sent(count=2)
    assert "no longer" in text_command(admin, "unassign line=office user=bob@localhost")
    bob.send_message(from_jid(NUM), "refused")
    m = bob.wait_for_message(failure_from(NUM), 10, "an error")
    assert "no SMS line" in failure_text(m)


def test_admin_stats_per_line(make_gateway, smsd, client):
    sms_gateway(make_gateway, smsd)
    alice, admin = client("alice"), client("admin")
    alice.send_message(from_jid(NUM), "count me")
    smsd.sent(count=1)
    reply = text_command(admin, "stats")
    assert "sms line office (smsd, up): 1 sent" in reply


def test_config_check_names_bad_line_keys(make_gateway, smsd):
    g = sms_gateway(make_gateway, smsd, start=False,
                    extra_lines={"sms.line.bad": {"driver": "smsd", "users": "x@localhost"}})
    r = g.run("-n", "-c", str(g.config_file))
    assert r.returncode != 0
    assert "[sms.line.bad]: driver = smsd needs smsd_database" in r.stdout + r.stderr
    g.start(wait=False)
    g.stopped_by_us = True
    sgtest.wait_until(lambda: not g.running(), 10, "the gateway to refuse to start")
    assert g.proc.returncode != 0


def test_text_written_before_a_crash_is_not_written_again(make_gateway, smsd, client):
    # What a crash between writing gammu-smsd's outbox and the gateway's own
    # acknowledgement leaves: the row for queue entry 1 is in the outbox, the
    # entry is still in the gateway's queue. The gateway must not write it twice.
    smsd.execute('INSERT INTO outbox ("DestinationNumber", "TextDecoded", "CreatorID") VALUES '
                 "(?, 'written before the crash', 'stanzagate/1 1 1 - alice@localhost x')",
                 (NUM,))
    g = sms_gateway(make_gateway, smsd)
    alice = client("alice")
    alice.send_message(from_jid(NUM), "written before the crash")  # queue entry 1
    alice.send_message(from_jid(NUM), "a new one")                 # queue entry 2
    smsd.sent(count=2)
    bodies = sorted(r["TextDecoded"] for r in smsd.rows('SELECT "TextDecoded" FROM sentitems'))
    assert bodies == ["a new one", "written before the crash"]
    assert "not written again" in g.log


def test_reload_applies_the_line_users_from_the_file(make_gateway, smsd, client):
    g = sms_gateway(make_gateway, smsd)
    carol = client("carol")
    g.sections["sms.line.office"]["users"] = "alice@localhost carol@localhost"
    g.write_config()
    g.proc.send_signal(signal.SIGHUP)
    sgtest.wait_until(lambda: "configuration reloaded" in g.log, 10, "the reload")
    smsd.phone.inject(PEER, "for carol too")
    m = carol.wait_for_message(lambda m: m["from"].bare == from_jid(PEER) and m["body"], 20,
                               "the SMS")
    assert m["body"] == "for carol too"


# ---- PostgreSQL only ----

@pytest.fixture
def pg_smsd(postgres, tmp_path):
    s = Smsd(tmp_path / "pg", postgres=postgres).start()
    yield s
    s.stop()


def test_pgsql_connection_lost_and_back(make_gateway, pg_smsd, client):
    smsd = pg_smsd
    g = sms_gateway(make_gateway, smsd)
    alice = client("alice")
    alice.send_message(from_jid(NUM), "before")
    smsd.sent(count=1)
    # The server ends the gateway's session (as a restart of PostgreSQL would).
    smsd.pg.psql("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 "WHERE application_name = 'stanzagate'")
    alice.send_message(from_jid(NUM), "after the connection was lost")
    sgtest.wait_until(lambda: "line office: up -> down" in g.log, 15, "the line down")
    parts = smsd.sent(count=2, timeout=40)
    assert [p["TextDecoded"] for p in parts] == ["before", "after the connection was lost"]
    assert "line office: down -> up" in g.log


def test_pgsql_unreachable_database_is_logged_without_password(make_gateway, postgres, client):
    url = (f"postgresql://postgres:hunter2@127.0.0.1:{postgres.port}/no_such_db"
           "?password=hunter3&application_name=x")
    g = make_gateway(backends=(SMS,), extra={
        "sms": {"default_country": "+1", "poll_interval": "1s"},
        "sms.line.office": {"number": "+15550001111", "driver": "smsd",
                            "smsd_database": url, "users": "alice@localhost"}})
    sgtest.wait_until(lambda: "line office: starting -> down" in g.log, 15, "the line down")
    assert "postgres:…@127.0.0.1" in g.log and "no_such_db" in g.log
    assert "hunter2" not in g.log and "hunter3" not in g.log
    assert "password=…&application_name=x" in g.log
    alice = client("alice")
    alice.send_message(from_jid(NUM), "waits in the queue")
    alice.no_message(failure_from(NUM), timeout=3)


def test_pgsql_connect_does_not_block_the_loop(make_gateway, client):
    # A "server" that accepts connections and never answers: the gateway's
    # connection stays pending (up to its 5 s timeout) while the loop goes
    # on serving XMPP. A blocking connect would answer the echo only after
    # giving up, having closed its connection.
    import socket
    import threading
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    conns = []

    def accept():
        while True:
            try:
                conns.append(listener.accept()[0])
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()
    try:
        g = make_gateway(backends=(SMS, "echo.localhost"), extra={
            "sms": {"default_country": "+1", "poll_interval": "1s"},
            "sms.line.office": {"number": "+15550001111", "driver": "smsd",
                                "smsd_database": f"postgresql://u@127.0.0.1:{port}/db",
                                "users": "alice@localhost"}})
        alice = client("alice")
        sgtest.wait_until(lambda: conns, 10, "the gateway to connect")
        latest = conns[-1]
        alice.send_message_and_wait("probe@echo.localhost", "still there?")
        latest.setblocking(False)
        gone = False
        try:
            while True:  # the startup packet, then b"" if it was closed
                if latest.recv(4096) == b"":
                    gone = True
                    break
        except BlockingIOError:
            pass  # still open: the connection is pending
        assert not gone, "the gateway gave up its connection before answering XMPP"
        sgtest.wait_until(lambda: "no answer to the connection: timed out" in g.log, 20,
                          "the connection timed out")
        assert "line office: starting -> down" in g.log
    finally:
        listener.close()
        for c in conns:
            c.close()


def test_receipt_waits_while_the_xmpp_server_is_down(make_gateway, smsd, prosody, client):
    g = sms_gateway(make_gateway, smsd)
    alice = client("alice")
    mid = alice.send_message(from_jid(NUM), "tell me later", request_receipt=True)
    smsd.sent(count=1)
    prosody.kill()
    smsd.phone.report(NUM)
    sgtest.wait_until(lambda: smsd.rows('SELECT "Status" FROM sentitems')[0]["Status"]
                      == "DeliveryOK", 15, "gammu-smsd to record the status report")
    sgtest.wait_until(lambda: "the outcome waits for the XMPP link" in g.log, 15,
                      "the gateway to see the report while the link is down")
    prosody.start()
    alice = client("alice", resource="back")
    g.wait_connected(timeout=30)
    m = alice.wait_for_message(lambda m: m["receipt"] == mid, 30, "the receipt")
    assert m["from"].bare == from_jid(NUM)
    alice.no_message(lambda m: m["receipt"] == mid, timeout=3)


def test_receipt_is_given_up_after_receipt_timeout(make_gateway, smsd, client):
    g = sms_gateway(make_gateway, smsd, sms={"receipt_timeout": "3s"})
    alice = client("alice")
    mid = alice.send_message(from_jid(NUM), "no news is good news", request_receipt=True)
    smsd.sent(count=1)
    sgtest.wait_until(lambda: "no outcome, given up" in g.log, 20, "the receipt given up")
    smsd.phone.report(NUM)  # too late
    sgtest.wait_until(lambda: smsd.rows('SELECT "Status" FROM sentitems')[0]["Status"]
                      == "DeliveryOK", 15, "gammu-smsd to record the late report")
    alice.no_message(lambda m: m["receipt"] == mid, timeout=3)
