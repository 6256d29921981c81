"""The email gateway against a real, private Dovecot (IMAP with IDLE, LMTP)
and a real SMTP submission server (aiosmtpd with AUTH and STARTTLS that
delivers into Dovecot by LMTP), both started by the test
(mailservers.py). What is asserted is what the XMPP user sees and what
lands in the mailboxes."""

import base64
import email
import email.policy
import re
import signal
import time
import urllib.request
import uuid

import pytest
from slixmpp.exceptions import IqError

import sgtest
from dnsserver import DnsServer

MAIL = "mail.localhost"
RECEIVED = "{urn:xmpp:receipts}received"


def jid_of(addr):
    return addr.replace("@", "\\40") + "@" + MAIL


def mail_gateway(make_gateway, mailservers, **extra):
    sec = {"imap": mailservers.imaps_url, "smtp": mailservers.smtp_url,
           "ca_file": mailservers.ca_file, "poll_interval": "30"}
    sec.update(extra)
    return make_gateway(backends=("mail.localhost",), extra={"email": sec})


def register(client, who, password, **fields):
    values = {"email": f"{who}@localhost", "password": password}
    values.update(fields)
    return client.register(MAIL, values, timeout=40)


def wait_status(client, text, what, timeout=30):
    """Until the status command's answer has text."""
    sgtest.wait_until(lambda: text in client.send_message_and_wait(MAIL, "status")["body"],
                      timeout, what, interval=0.5)


def raw_mail(frm, to, subject, body, msgid=None, refs=None):
    msgid = msgid or f"<{uuid.uuid4().hex}@example.net>"
    head = (f"From: Sender <{frm}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: {msgid}\r\nDate: Mon, 07 Dec 2026 04:00:00 +0000\r\n")
    if refs:
        head += f"References: {refs}\r\nIn-Reply-To: {refs}\r\n"
    return (head + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + body + "\r\n").encode()


def oob_url(m):
    u = m.xml.find("{jabber:x:oob}x/{jabber:x:oob}url")
    return u.text if u is not None else None


def from_mail(m, addr):
    return m["from"].bare == jid_of(addr) and m["body"]


@pytest.fixture
def accounts(mailservers):
    mailservers.add_user("alice", "alice-mail")
    mailservers.add_user("bob", "bob-mail")
    return mailservers


def test_disco_identity_and_address_prompt(make_gateway, mailservers, client):
    mail_gateway(make_gateway, mailservers)
    alice = client("alice")
    info = alice.disco_info(MAIL)
    ids = [(i[0], i[1]) for i in info["disco_info"]["identities"]]
    assert ("gateway", "smtp") in ids

    def prompt(text):
        return alice.gateway_prompt(MAIL, text).xml.find("{jabber:iq:gateway}query/"
                                                          "{jabber:iq:gateway}jid").text
    assert prompt("Bob <Bob@Example.NET>") == jid_of("Bob@example.net")
    assert prompt("mailto:bob@example.net") == jid_of("bob@example.net")
    assert prompt("bob%example.net") == jid_of("bob@example.net")


def test_wrong_password_is_named_and_nothing_is_stored(make_gateway, accounts, client):
    gw = mail_gateway(make_gateway, accounts)
    alice = client("alice")
    with pytest.raises(IqError) as e:
        register(alice, "alice", "wrong")
    text = e.value.iq["error"]["text"]
    assert "IMAP" in text and "SMTP" in text and "refused" in text
    # Nothing stored: a message is refused as from an unregistered user.
    alice.send_message(jid_of("bob@localhost"), "hello")
    err = alice.wait_for_message(lambda m: m["type"] == "error", 10, "an error")
    assert err["error"]["condition"] == "registration-required"
    gw.check_alive()


def adhoc_register(client, password):
    """Registers as profanity and poezio do, through the ad-hoc command
    (they have no XEP-0077 for a gateway); returns the command's note."""
    ns = "{http://jabber.org/protocol/commands}"
    r = client.execute(MAIL, "register")
    sid = r.xml.find(f"{ns}command").get("sessionid")
    r = client.command_step(MAIL, "register", sid,
                            {"email": "alice@localhost", "password": password}, timeout=40)
    c = r.xml.find(f"{ns}command")
    assert c.get("status") == "completed"
    return " ".join(n.text or "" for n in c.findall(f"{ns}note"))


def test_adhoc_registration_is_verified_like_xep_0077(make_gateway, accounts, client):
    """A wrong password through the ad-hoc command is not stored as if it
    had worked: the mail servers are tried, and the user told."""
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    assert "Checking your account" in adhoc_register(alice, "wrong")
    m = alice.wait_for_message(lambda m: m["from"].bare == MAIL and m["body"], 40, "the verdict")
    assert m["body"].startswith("Your registration with Email gateway failed: ")
    assert "IMAP" in m["body"] and "refused" in m["body"], m["body"]
    alice.send_message(jid_of("bob@localhost"), "hello")
    err = alice.wait_for_message(lambda m: m["type"] == "error", 10, "an error")
    assert err["error"]["condition"] == "registration-required"

    assert "Checking your account" in adhoc_register(alice, "alice-mail")
    m = alice.wait_for_message(lambda m: m["from"].bare == MAIL and m["body"] and
                               "failed" not in m["body"], 40, "the verdict")
    assert m["body"] == "You are registered with Email gateway."
    wait_status(alice, "Address: alice@localhost", "the account up")


def test_unreachable_server_is_named(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts, smtp=f"smtp://127.0.0.1:{sgtest.free_port()}")
    alice = client("alice")
    with pytest.raises(IqError) as e:
        register(alice, "alice", "alice-mail")
    text = e.value.iq["error"]["text"]
    assert "SMTP" in text and "reached" in text and "IMAP" not in text


def test_chat_message_becomes_mail_with_receipt_and_sent_copy(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail", name="Alice Liddell")
    alice.send_raw(f'<message to="{jid_of("bob@localhost")}" type="chat" id="m-1">'
                   '<body>Tea at five?\nWith the Hatter. — ünïcode</body>'
                   '<request xmlns="urn:xmpp:receipts"/></message>')
    alice.wait_for_message(lambda m: m.xml.find(RECEIVED) is not None, 30, "a receipt")
    got = sgtest.wait_until(lambda: accounts.fetch("bob"), 20, "mail in bob's INBOX")
    msg = email.message_from_bytes(got[0], policy=email.policy.default)
    assert msg["From"].addresses[0].addr_spec == "alice@localhost"
    assert msg["From"].addresses[0].display_name == "Alice Liddell"
    assert msg["Subject"] == "Tea at five?"
    assert msg["Message-ID"]
    assert "ünïcode" in msg.get_content()
    sent = sgtest.wait_until(lambda: accounts.fetch("alice", "Sent"), 20, "a copy in Sent")
    assert b"Tea at five?" in sent[0]
    # Bob, written to, is now a correspondent: he asks to be in alice's roster,
    # named by his address (XEP-0172), which clients show instead of the
    # escaped JID (bob\40localhost@mail.localhost).
    sub = alice.wait_for_presence(lambda p: p["from"].bare == jid_of("bob@localhost") and
                                  p["type"] == "subscribe", 10, "bob as a contact")
    assert sub.xml.findtext("{http://jabber.org/protocol/nick}nick") == "bob@localhost"


def test_new_mail_arrives_as_chat_and_reply_stays_in_thread(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    time.sleep(1)  # the INBOX watch is up: mail from now on is new
    accounts.deliver("alice", raw_mail("carol@example.net", "alice@localhost", "Croquet",
                                       "Bring a flamingo.", msgid="<root-1@example.net>"))
    m = alice.wait_for_message(lambda m: from_mail(m, "carol@example.net"), 30, "the mail")
    assert m["subject"] == "Croquet"
    assert "Bring a flamingo." in m["body"]
    assert m["thread"] == "root-1@example.net"
    assert m.xml.find("{urn:xmpp:delay}delay") is not None
    alice.send_raw(f'<message to="{jid_of("bob@localhost")}" type="chat" id="m-2">'
                   '<body>Re: croquet</body><thread>root-1@example.net</thread></message>')
    got = sgtest.wait_until(lambda: accounts.fetch("bob"), 20, "the reply in bob's INBOX")
    msg = email.message_from_bytes(got[0], policy=email.policy.default)
    assert "root-1@example.net" in msg["References"]


def test_full_loop_alice_to_bob(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts)
    alice, bob = client("alice"), client("bob")
    register(alice, "alice", "alice-mail")
    register(bob, "bob", "bob-mail")
    time.sleep(1)
    alice.send_message(jid_of("bob@localhost"), "Hello Bob, by mail")
    m = bob.wait_for_message(lambda m: from_mail(m, "alice@localhost"), 30, "alice's mail")
    assert "Hello Bob, by mail" in m["body"]


def test_only_new_mail_on_registration_and_fetch_last(make_gateway, accounts, client):
    accounts.deliver("alice", raw_mail("old@example.net", "alice@localhost", "Old", "old news"))
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    alice.no_message(lambda m: from_mail(m, "old@example.net"), 3)
    alice.send_message(MAIL, "fetch count=1")
    m = alice.wait_for_message(lambda m: from_mail(m, "old@example.net"), 30, "the old mail")
    assert "old news" in m["body"]


def test_sigkill_loses_and_duplicates_nothing(make_gateway, accounts, client):
    gw = mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    time.sleep(1)
    n = 12
    for i in range(n):
        accounts.deliver("alice", raw_mail("many@example.net", "alice@localhost", f"n{i}",
                                           f"mail number {i}"))
        if i == 5:
            gw.kill(signal.SIGKILL)
            gw.start()
    seen = []

    def count():
        while True:
            try:
                m = alice.wait_for_message(lambda m: from_mail(m, "many@example.net"), 0.5)
            except AssertionError:
                break
            seen.append(m["subject"])
        return len(set(seen)) >= n
    sgtest.wait_until(count, 60, f"{n} mails")
    alice.no_message(lambda m: from_mail(m, "many@example.net"), 3)
    assert sorted(seen) == sorted(f"n{i}" for i in range(n)), seen


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_conversation_needs_nothing_after_a_restart(make_gateway, accounts, client, sig):
    """alice writes with bob; the gateway restarts (alice's session stays,
    she does nothing): bob's mail of the gap arrives once, the mail she saw
    before is not shown again (the IMAP UID state), her next message goes
    out once and bob's answer arrives (issue 16)."""
    gw = mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    bob = jid_of("bob@localhost")

    def mails(subject):
        return [m for m in alice.all_stanzas if m.name == "message" and m["type"] != "error"
                and from_mail(m, "bob@localhost") and m["subject"] == subject]
    time.sleep(1)
    accounts.deliver("alice", raw_mail("bob@localhost", "alice@localhost", "first", "hello"))
    sgtest.wait_until(lambda: mails("first"), 30, "bob's first mail")
    alice.send_message(bob, "my answer")
    sgtest.wait_until(lambda: len(accounts.fetch("bob")) == 1, 30, "alice's answer sent")
    gw.kill(sig)
    accounts.deliver("alice", raw_mail("bob@localhost", "alice@localhost", "gap", "meanwhile"))
    gw.start()
    sgtest.wait_until(lambda: mails("gap"), 30, "bob's mail of the gap")
    alice.send_message(bob, "after the restart")
    sgtest.wait_until(lambda: len(accounts.fetch("bob")) == 2, 30, "alice's mail sent")
    accounts.deliver("alice", raw_mail("bob@localhost", "alice@localhost", "last", "bye"))
    sgtest.wait_until(lambda: mails("last"), 30, "bob's last mail")
    time.sleep(sgtest.scaled(2))
    assert [len(mails(s)) for s in ("first", "gap", "last")] == [1, 1, 1]
    sent = accounts.fetch("bob")
    assert sum(b"my answer" in m for m in sent) == 1
    assert sum(b"after the restart" in m for m in sent) == 1
    # No message refused. (Presences alice's client sent while the gateway
    # was down, answers to its subscription requests, come back from Prosody
    # as errors: not messages, and not the gateway's.)
    assert [m for m in alice.all_stanzas if m.name == "message" and m["type"] == "error"] == []


def test_smtp_down_then_up_is_retried(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    accounts.stop_smtp()
    alice.send_raw(f'<message to="{jid_of("bob@localhost")}" type="chat" id="m-3">'
                   '<body>while down</body><request xmlns="urn:xmpp:receipts"/></message>')
    alice.no_message(lambda m: m.xml.find(RECEIVED) is not None, 3)
    accounts.start_smtp()
    alice.wait_for_message(lambda m: m.xml.find(RECEIVED) is not None, 60, "a receipt")
    got = sgtest.wait_until(lambda: accounts.fetch("bob"), 20, "mail in bob's INBOX")
    assert len(got) == 1 and b"while down" in got[0]


def test_unknown_recipient_is_an_error(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    alice.send_message(jid_of("nobody@localhost"), "anyone there?")
    err = alice.wait_for_message(lambda m: m["type"] == "error", 30, "an error")
    assert "refused" in err["error"]["text"]


def test_imap_dropped_mid_idle_then_mail_still_arrives(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    time.sleep(1)
    accounts.kick("alice")
    accounts.deliver("alice", raw_mail("late@example.net", "alice@localhost", "Late",
                                       "after the drop"))
    m = alice.wait_for_message(lambda m: from_mail(m, "late@example.net"), 40, "the mail")
    assert "after the drop" in m["body"]


def test_bounce_is_an_error_on_that_conversation(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    time.sleep(1)
    to = jid_of("ghost@bounce.invalid")
    alice.send_raw(f'<message to="{to}" type="chat" id="b-1"><body>hello?</body></message>')
    err = alice.wait_for_message(lambda m: m["type"] == "error" and m["from"].bare == to, 40,
                                 "the bounce as an error")
    assert "5.1.1" in err["error"]["text"]
    alice.no_message(lambda m: m["type"] == "chat" and "MAILER-DAEMON" in str(m["from"]), 2)


def test_html_only_mail_and_attachments(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    time.sleep(1)
    raw = ("From: h@example.net\r\nTo: alice@localhost\r\nSubject: =?UTF-8?B?w6lsw6h2ZQ==?=\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           "<html><body><p>Hello &amp; <b>welcome</b></p><script>evil()</script></body></html>\r\n"
           "--b\r\nContent-Type: application/pdf; name=report.pdf\r\n"
           "Content-Disposition: attachment; filename=report.pdf\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n")
    accounts.deliver("alice", raw)
    m = alice.wait_for_message(lambda m: from_mail(m, "h@example.net"), 30, "the mail")
    assert m["subject"] == "élève"
    assert "Hello & welcome" in m["body"] and "evil" not in m["body"]
    # The PDF went to alice's own server's upload service (XEP-0363): a link.
    f = alice.wait_for_message(lambda m: from_mail(m, "h@example.net") and oob_url(m), 30,
                               "the attachment's link")
    url = oob_url(f)
    assert f["body"] == url and url.startswith("http://127.0.0.1:")
    assert f.xml.find("{jabber:x:oob}x/{jabber:x:oob}desc").text == "report.pdf"
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"%PDF-1.4\n"
        assert r.headers["Content-Type"].startswith("application/pdf")
    assert "report.pdf" not in m["body"]  # shown as the link, not as a line


def test_attachment_too_big_for_upload_is_a_line(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    time.sleep(1)
    big = base64.encodebytes(b"x" * (1536 * 1024)).decode().replace("\n", "\r\n")
    raw = ("From: h@example.net\r\nTo: alice@localhost\r\nSubject: big\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           "--b\r\nContent-Type: text/plain\r\n\r\nsee the file\r\n"
           "--b\r\nContent-Type: application/octet-stream; name=big.bin\r\n"
           "Content-Disposition: attachment; filename=big.bin\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n" + big + "--b--\r\n")
    accounts.deliver("alice", raw)
    # The test server takes files up to 1 MiB (sgtest.Prosody): this one stays a line.
    m = alice.wait_for_message(lambda m: from_mail(m, "h@example.net"), 30, "the mail")
    assert "see the file" in m["body"]
    assert "[attachment: big.bin, application/octet-stream, 1572864 bytes]" in m["body"]
    assert oob_url(m) is None
    # And the next mail is not held up behind it.
    accounts.deliver("alice", raw_mail("h@example.net", "alice@localhost", "next", "after"))
    alice.wait_for_message(lambda m: from_mail(m, "h@example.net") and "after" in m["body"],
                           30, "the next mail")


def test_uidvalidity_reset_delivers_nothing_twice(make_gateway, accounts, client):
    gw = mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    time.sleep(1)
    accounts.deliver("alice", raw_mail("u@example.net", "alice@localhost", "before", "one"))
    alice.wait_for_message(lambda m: from_mail(m, "u@example.net"), 30, "the first mail")
    gw.stop()
    r = accounts.doveadm("mailbox", "update", "--uid-validity", "4242", "-u",
                         "alice@localhost", "INBOX")
    assert r.returncode == 0, r.stderr
    accounts.deliver("alice", raw_mail("u@example.net", "alice@localhost", "after", "two"))
    gw.start()
    m = alice.wait_for_message(lambda m: from_mail(m, "u@example.net"), 40, "the new mail")
    assert m["subject"] == "after"
    alice.no_message(lambda m: from_mail(m, "u@example.net"), 3)


def test_starttls_imap_and_status_command(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts, imap=accounts.imap_url)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    time.sleep(1)
    m = alice.send_message_and_wait(MAIL, "status")
    assert "idle" in m["body"] and "alice@localhost" in m["body"]


def test_mails_to_one_correspondent_go_one_at_a_time(make_gateway, accounts, mailservers,
                                                     client):
    """SPEC section 7: at a crash only the mail in flight may go twice, and a
    conversation keeps its order: mails to one address reach a slow SMTP
    server one at a time, the others waiting their turn, and arrive in the
    order they were written."""
    mailservers.smtp_data_delay = 0.3
    mailservers.stop_smtp()
    mailservers.start_smtp()
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    n = 5
    for i in range(n):
        alice.send_message(jid_of("bob@localhost"), f"one at a time {i}")

    def bodies():
        return [m for m in accounts.fetch("bob") if b"one at a time" in m]
    sgtest.wait_until(lambda: len(bodies()) >= n, 60, f"{n} mails in bob's INBOX")
    at_once = [int(x) for x in re.findall(r"DATA from alice@localhost \((\d+) at once\)",
                                          mailservers.smtp_log.read_text())]
    assert len(at_once) == n and max(at_once) == 1, at_once
    order = [next(i for i in range(n) if f"one at a time {i}".encode() in m) for m in bodies()]
    assert order == list(range(n)), order


def test_sigkill_while_sending_loses_nothing(make_gateway, accounts, client):
    gw = mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    n = 8
    for i in range(n):
        alice.send_raw(f'<message to="{jid_of("bob@localhost")}" type="chat" id="k-{i}">'
                       f'<body>kill test {i}</body></message>')
    time.sleep(0.3)
    gw.kill(signal.SIGKILL)
    gw.start()

    def bodies():
        return [m for m in accounts.fetch("bob") if b"kill test" in m]
    sgtest.wait_until(lambda: len({b for b in bodies()}) >= n and
                      all(any(f"kill test {i}".encode() in m for m in bodies())
                          for i in range(n)), 60, f"{n} mails in bob's INBOX")
    time.sleep(3)
    got = bodies()
    per = [sum(f"kill test {i}\r\n".encode() in m for m in got) for i in range(n)]
    # SPEC §7: only a mail in flight at the kill (250 seen, not yet committed) may repeat.
    assert all(c >= 1 for c in per), per
    assert sum(c - 1 for c in per) <= 1, per


def test_oversized_mail_both_ways(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts, max_message_size="2048")
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    time.sleep(1)
    accounts.deliver("alice", raw_mail("big@example.net", "alice@localhost", "Big",
                                       "x" * 8000))
    m = alice.wait_for_message(lambda m: from_mail(m, "big@example.net"), 30, "the big mail")
    assert m["subject"] == "Big"
    assert "over this gateway's limit" in m["body"] and "xxxx" not in m["body"]
    alice.send_message(jid_of("bob@localhost"), "y" * 3000)
    err = alice.wait_for_message(lambda m: m["type"] == "error", 30, "an error")
    assert "max_message_size" in err["error"]["text"]
    assert accounts.fetch("bob") == []


def test_admin_commands_and_stats_cover_email_accounts(make_gateway, accounts, client):
    mail_gateway(make_gateway, accounts)
    alice, admin = client("alice"), client("admin")
    register(alice, "alice", "alice-mail")
    cmd = "{http://jabber.org/protocol/commands}command"
    xdata = "{jabber:x:data}"

    def run(node, fields=None):
        r = admin.execute(MAIL, node)
        c = r.xml.find(cmd)
        if c.get("status") == "executing":
            r = admin.command_step(MAIL, node, c.get("sessionid"), fields)
        x = r.xml.find(cmd).find(f"{xdata}x")
        return {f.get("var"): [v.text or "" for v in f.findall(f"{xdata}value")]
                for f in (x.findall(f"{xdata}field") if x is not None else [])}

    admin_ns = "http://jabber.org/protocol/admin#"
    assert run(admin_ns + "get-registered-users-list")["registereduserjids"] == [
        "alice@localhost"]

    def stats():
        return "\n".join(run("stats")["stats"])

    sgtest.wait_until(lambda: "email accounts: 1 (1 watching the INBOX" in stats(), 30,
                      "the account watching its INBOX in stats")
    # An admin deletes the account: its IMAP connection closes, no mail follows.
    run(admin_ns + "delete-user", {"accountjids": ["alice@localhost"]})
    sgtest.wait_until(lambda: "email accounts: 0" in stats(), 30, "the account gone from stats")
    accounts.deliver("alice", raw_mail("h@example.net", "alice@localhost", "late", "not shown"))
    with pytest.raises(AssertionError):
        alice.wait_for_message(lambda m: from_mail(m, "h@example.net"), 5, "no mail")


@pytest.mark.parametrize("code,said", [
    ("552", "552 5.2.2 Mailbox full: quota exceeded"),
    ("554", "554 5.7.1 Message rejected as spam"),
])
def test_refused_after_data_is_an_error_and_not_retried(make_gateway, accounts, client, code,
                                                        said):
    gw = mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    to = jid_of(f"{code}@refuse.invalid")
    alice.send_raw(f'<message to="{to}" type="chat" id="r-{code}"><body>over quota?</body>'
                   '<request xmlns="urn:xmpp:receipts"/></message>')
    err = alice.wait_for_message(lambda m: m["type"] == "error" and m["from"].bare == to, 30,
                                 "an error")
    assert said in err["error"]["text"]
    if code == "552":
        assert "quota" in err["error"]["text"]
    # Final: no receipt, and the server saw the mail once, not again after a retry delay.
    alice.no_message(lambda m: m.xml.find(RECEIVED) is not None, 8)
    assert accounts.log.count(f"refused DATA with {code}") == 1, accounts.log
    assert f"mail to {code}@refuse.invalid refused" in gw.log


def test_mail_over_the_smtp_servers_size_is_an_error(make_gateway, accounts, client):
    accounts.stop_smtp()
    accounts.smtp_max_size = 4096
    accounts.start_smtp()
    mail_gateway(make_gateway, accounts)
    alice = client("alice")
    register(alice, "alice", "alice-mail")
    alice.send_raw(f'<message to="{jid_of("bob@localhost")}" type="chat" id="big-1">'
                   f'<body>{"z" * 6000}</body><request xmlns="urn:xmpp:receipts"/></message>')
    err = alice.wait_for_message(lambda m: m["type"] == "error", 30, "an error")
    assert "552" in err["error"]["text"] and "too big" in err["error"]["text"]
    alice.no_message(lambda m: m.xml.find(RECEIVED) is not None, 5)
    assert accounts.fetch("bob") == []


def test_server_without_idle_is_polled(make_gateway, tmp_path, client):
    import mailservers as ms_mod

    ms = ms_mod.MailServers(tmp_path / "noidle", idle=False)
    try:
        ms.add_user("alice", "alice-mail")
        ms.start()
        gw = mail_gateway(make_gateway, ms, poll_interval="2")
        alice = client("alice")
        register(alice, "alice", "alice-mail")
        wait_status(alice, "polling", "the INBOX polled")
        ms.deliver("alice", raw_mail("poll@example.net", "alice@localhost", "Polled",
                                     "found by polling"))
        m = alice.wait_for_message(lambda m: from_mail(m, "poll@example.net"), 30, "the mail")
        assert "found by polling" in m["body"]
        assert "polling (no IDLE)" in alice.send_message_and_wait(MAIL, "status")["body"]
        assert "does not offer IDLE" in gw.log
    finally:
        ms.cleanup()


def srv_gateway(make_gateway, mailservers, dns):
    """A gateway whose [email] has no servers to start from: a form that
    leaves them empty makes it look them up (RFC 6186) on dns."""
    return make_gateway(backends=("mail.localhost",), extra={
        "email": {"ca_file": mailservers.ca_file, "poll_interval": "30"},
        "dns": {"nameservers": dns.address}})


def test_servers_found_by_srv_records(make_gateway, accounts, client, tmp_path):
    ms = accounts
    dns = DnsServer(tmp_path / "dns", srv=[
        ("_imaps._tcp.localhost", "localhost", ms.imaps_port, 10, 0),
        ("_imap._tcp.localhost", "localhost", ms.imap_port, 10, 0),  # a tie: TLS wins
        ("_submissions._tcp.localhost", None, 0),                     # "." : not offered
        ("_submission._tcp.localhost", "localhost", ms.smtp_port, 0, 0)])
    dns.start()
    try:
        gw = srv_gateway(make_gateway, ms, dns)
        alice = client("alice")
        register(alice, "alice", "alice-mail")
        for name in ("_imaps._tcp.localhost", "_imap._tcp.localhost",
                     "_submissions._tcp.localhost", "_submission._tcp.localhost"):
            assert dns.queried(name), dns.log
        status = alice.send_message_and_wait(MAIL, "status")["body"]
        assert f"imaps://localhost:{ms.imaps_port}" in status, status
        assert f"smtp://localhost:{ms.smtp_port}" in status, status
        # The servers found are the account's: mail arrives and leaves.
        wait_status(alice, "idle (new mail is pushed)", "the INBOX watched")
        ms.deliver("alice", raw_mail("srv@example.net", "alice@localhost", "Found",
                                     "through SRV"))
        m = alice.wait_for_message(lambda m: from_mail(m, "srv@example.net"), 30, "the mail")
        assert "through SRV" in m["body"]
        alice.send_raw(f'<message to="{jid_of("bob@localhost")}" type="chat" id="srv-1">'
                       '<body>sent through the server found</body>'
                       '<request xmlns="urn:xmpp:receipts"/></message>')
        alice.wait_for_message(lambda m: m.xml.find(RECEIVED) is not None, 30, "a receipt")
        assert "publishes imaps://localhost" in gw.log
        # A restart keeps them: nothing is looked up again.
        gw.stop()
        dns.stop()
        gw.start()
        wait_status(alice, "idle (new mail is pushed)", "the INBOX watched after a restart")
    finally:
        dns.stop()


@pytest.mark.parametrize("published", ["nothing", "no nameserver"])
def test_servers_not_published_are_named(make_gateway, accounts, client, tmp_path, published):
    dns = DnsServer(tmp_path / "dns", srv=[("_imaps._tcp.localhost", "localhost",
                                            accounts.imaps_port)])
    if published == "no nameserver":
        dns.port = sgtest.free_port()  # nobody answers there
    else:
        dns.srv = []
        dns.start()
    try:
        srv_gateway(make_gateway, accounts, dns)
        alice = client("alice")
        with pytest.raises(IqError) as e:
            register(alice, "alice", "alice-mail")
        text = e.value.iq["error"]["text"]
        assert "No IMAP or SMTP server was given" in text, text
        assert ("publishes none in DNS" if published == "nothing"
                else "could not be looked up") in text, text
        alice.send_message(jid_of("bob@localhost"), "hello")
        err = alice.wait_for_message(lambda m: m["type"] == "error", 10, "an error")
        assert err["error"]["condition"] == "registration-required"
    finally:
        dns.stop()
