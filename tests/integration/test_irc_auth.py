"""IRC authentication and TLS trust: SASL PLAIN and EXTERNAL against real
InspIRCd + Atheme services, the NickServ fallback, pinned certificate
fingerprints (against ngircd's throwaway TLS certificate).

The IRC server is 127.0.0.1 in every address; what the server says to the
user comes from its JID (127.0.0.1@irc.localhost).
"""

import hashlib
import hmac
import ipaddress
import os
import signal
import socket
import subprocess
import xml.etree.ElementTree as ET

import pytest

import sgtest
from slixmpp.exceptions import IqError
from test_irc import GW, SERVER, irc_extra, room

SERVER_JID = f"{SERVER}@{GW}"
CMD = "{http://jabber.org/protocol/commands}"
XDATA = "{jabber:x:data}"


note_text = sgtest.note_text


def configure(client, fields):
    """The server's configure command with only these fields; returns the note."""
    res = client.execute(SERVER_JID, "configure")
    sid = res.xml.find(f"{CMD}command").get("sessionid")
    cmd = ET.Element(f"{CMD}command", node="configure", sessionid=sid, action="complete")
    x = ET.SubElement(cmd, f"{XDATA}x", type="submit")
    for k, v in fields.items():
        f = ET.SubElement(x, f"{XDATA}field", var=k)
        ET.SubElement(f, f"{XDATA}value").text = v
    return client.iq(SERVER_JID, cmd, "set")


form_values = sgtest.form_values


def configured(client, fields):
    res = configure(client, fields)
    status = res.xml.find(f"{CMD}command").get("status")
    assert status == "completed" and "Saved" in note_text(res), note_text(res)


def from_server(client, text, timeout=20):
    """A message from the server's JID containing text."""
    return client.wait_for_message(
        lambda m: str(m["from"].bare) == SERVER_JID and text in (m["body"] or ""),
        timeout, f"'{text}' from {SERVER_JID}")


def from_nickserv(client, text, timeout=20):
    """A message from NickServ (a private chat) containing text (any case)."""
    return client.wait_for_message(
        lambda m: str(m["from"].bare) == f"nickserv%{SERVER}@{GW}"
        and text.lower() in (m["body"] or "").lower(), timeout, f"NickServ saying '{text}'")


def sha256_of(cert):
    out = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint",
                          "-sha256"], check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1]  # "AB:CD:..."


def irc_log(g):
    """The IRC driver's log lines (at -v -v every IRC line is traced). The
    XMPP library's own stanza trace at -v -v shows forms as submitted, so
    it is left out."""
    return "\n".join(l for l in g.log.splitlines() if " irc: " in l)


def insp_gateway(make_gateway, ircd, tls=False, **kw):
    section = {"ports": "" if tls else str(ircd.port),
               "tls_ports": str(ircd.tls_port) if tls else ""}
    section.update(kw)
    return make_gateway(backends=(GW,), extra={"irc": section})


def alice_in_auth(make_gateway, inspircd, client, account_password, settings):
    """alice registered with Atheme, the gateway on InspIRCd's plain port,
    alice's server settings configured and her joining #auth (which makes
    the connection log in); (gateway, alice)."""
    inspircd.register("alice", account_password)
    g = insp_gateway(make_gateway, inspircd)
    alice = client("alice")
    configured(alice, settings)
    alice.join_muc(room("#auth"), "alice")
    return g, alice


# ---- SASL PLAIN and NickServ against InspIRCd + Atheme ----


def test_sasl_plain_logs_in_with_atheme(make_gateway, inspircd, client):
    g, alice = alice_in_auth(make_gateway, inspircd, client, "open-sesame-1",
                             {"sasl_password": "open-sesame-1"})
    # 900 reaches the user from the server's JID, with the mechanism.
    m = from_server(alice, "You are now logged in as alice")
    assert "(SASL PLAIN)" in m["body"]
    text = note_text(alice.execute(SERVER_JID, "info"))
    assert "account: alice" in text and "sasl" in text
    # The password never reaches the log, even at -v -v (every line traced).
    assert "AUTHENTICATE <hidden>" in irc_log(g)
    assert "open-sesame-1" not in irc_log(g)


def test_sasl_failure_told_then_nickserv_fallback(make_gateway, inspircd, client):
    g, alice = alice_in_auth(make_gateway, inspircd, client, "right-pw-2",
                             {"sasl_password": "wrong-pw-2", "nickserv_password": "right-pw-2"})
    m = from_server(alice, "SASL PLAIN authentication failed")
    assert "identifying with NickServ instead" in m["body"]
    # IDENTIFY after 001 logs in: 900 again, from the server's JID, without "SASL".
    m = from_server(alice, "You are now logged in as alice")
    assert "SASL" not in m["body"]
    assert "account: alice" in note_text(alice.execute(SERVER_JID, "info"))
    assert "wrong-pw-2" not in irc_log(g) and "right-pw-2" not in irc_log(g)
    assert "IDENTIFY <hidden>" in irc_log(g)


def test_nickserv_identify_when_sasl_not_used(make_gateway, inspircd, client):
    """Only a NickServ password: SASL is not asked for, IDENTIFY follows 001."""
    g, alice = alice_in_auth(make_gateway, inspircd, client, "ns-only-3",
                             {"nickserv_password": "ns-only-3"})
    # NickServ's own answer reaches the user in a chat with NickServ.
    from_nickserv(alice, "identified")
    from_server(alice, "You are now logged in as alice")
    assert "AUTHENTICATE" not in irc_log(g)
    assert "ns-only-3" not in irc_log(g)


def test_wrong_nickserv_password_told_by_nickserv(make_gateway, inspircd, client):
    _, alice = alice_in_auth(make_gateway, inspircd, client, "good-pw-4",
                             {"nickserv_password": "bad-pw-4"})
    from_nickserv(alice, "invalid password")
    assert "account: not logged in" in note_text(alice.execute(SERVER_JID, "info"))


def test_nickserv_fallback_on_server_without_sasl(make_gateway, ngircd, client, irc_client):
    """ngircd offers no SASL: the SASL password goes to NickServ (here a
    raw client holding that nick) as IDENTIFY after 001."""
    ns = irc_client("NickServ")
    g = make_gateway(backends=(GW,), extra=irc_extra(ngircd))
    alice = client("alice")
    configured(alice, {"sasl_password": "pw with spaces-5", "sasl_account": "alice_acct"})
    alice.join_muc(room("#nosasl"), "alice")
    nick, text = ns.wait_privmsg("NickServ", timeout=20)
    assert (nick, text) == ("alice", "IDENTIFY alice_acct pw with spaces-5")
    assert "pw with spaces-5" not in irc_log(g)


def test_forgotten_password_is_not_sent(make_gateway, ngircd, client, irc_client):
    """A stored password can be removed through configure ("forget"): the
    next connection sends no IDENTIFY, while an empty password field, as
    before, keeps what is stored. A value that is no password is refused."""
    ns = irc_client("NickServ")
    bob = irc_client("bob")
    bob.join("#forget")
    make_gateway(backends=(GW,), extra=irc_extra(ngircd))
    alice = client("alice")
    configured(alice, {"nickserv_password": "keep-me-7"})
    configured(alice, {"nickserv_password": ""})
    alice.join_muc(room("#forget"), "alice")
    assert ns.wait_privmsg("NickServ", timeout=20) == ("alice", "IDENTIFY alice keep-me-7")

    res = configure(alice, {"forget": "nickserv_password"})
    assert "forgotten" in " ".join(sgtest.command_notes(res)), sgtest.command_notes(res)
    with pytest.raises(IqError):
        configure(alice, {"forget": "nick"})
    alice.leave_muc(room("#forget"), "alice")  # her last channel: the connection closes
    bob.wait_for(lambda l: l.startswith(":alice!") and " PART #forget" in l, 10, "alice's PART")
    sgtest.wait_irc_nick_gone(bob, "alice")
    alice.join_muc(room("#forget"), "alice", timeout=20)
    alice.send_message(room("#forget"), "after forget", mtype="groupchat")
    bob.wait_privmsg("#forget", "after forget")
    assert not [l for l in ns.lines if "IDENTIFY" in l], ns.lines


# ---- SASL EXTERNAL with a generated client certificate ----


def cert_command(client, action=None):
    """Runs the certificate command; returns (instructions or note, fingerprint)."""
    res = client.execute(SERVER_JID, "certificate")
    form = res.xml.find(f".//{XDATA}x")
    text = form.find(f"{XDATA}instructions").text
    sid = res.xml.find(f"{CMD}command").get("sessionid")
    cmd = ET.Element(f"{CMD}command", node="certificate", sessionid=sid, action="complete")
    x = ET.SubElement(cmd, f"{XDATA}x", type="submit")
    f = ET.SubElement(x, f"{XDATA}field", var="action")
    ET.SubElement(f, f"{XDATA}value").text = action or "show"
    done = client.iq(SERVER_JID, cmd, "set")
    if action:
        text = note_text(done)
    fp = [w.rstrip(".") for w in text.split() if len(w.rstrip(".")) == 64]
    return text, fp[0] if fp else None


def test_sasl_external_with_generated_certificate(make_gateway, inspircd, client):
    inspircd.register("alice", "cert-pw-6")
    # TLS with the server's certificate pinned (self-signed, no CA file given).
    insp_gateway(make_gateway, inspircd, tls=True)
    alice = client("alice")
    configured(alice, {"sasl_password": "cert-pw-6",
                       "tls_fingerprint": sha256_of(inspircd.cert)})
    text, fp = cert_command(alice)
    assert fp and "CERT ADD" in text
    assert cert_command(alice)[1] == fp  # kept: the same certificate
    alice.join_muc(room("#cert"), "alice")
    # The certificate is not known yet: EXTERNAL fails, PLAIN logs in.
    m = from_server(alice, "SASL EXTERNAL authentication failed")
    assert "trying SASL PLAIN" in m["body"]
    from_server(alice, "(SASL PLAIN)")
    assert "client certificate" in note_text(alice.execute(SERVER_JID, "info"))
    # As the certificate command says: a chat with NickServ.
    assert f"nickserv%{SERVER}@{GW}" in text
    alice.send_message(f"nickserv%{SERVER}@{GW}", f"CERT ADD {fp}")
    from_nickserv(alice, fp)
    note_text(alice.execute(SERVER_JID, "disconnect"))
    alice.join_muc(room("#cert"), "alice")
    m = from_server(alice, "You are now logged in as alice")
    assert "(SASL EXTERNAL)" in m["body"]


def test_sasl_external_refused_without_fallback(make_gateway, inspircd, client):
    """A certificate nobody registered and no password: told, and the
    connection goes on without an account."""
    insp_gateway(make_gateway, inspircd, tls=True, verify_cert="no")
    alice = client("alice")
    cert_command(alice)
    alice.join_muc(room("#anon"), "alice")
    m = from_server(alice, "SASL EXTERNAL authentication failed")
    assert "continuing without logging in" in m["body"]
    assert "account: not logged in" in note_text(alice.execute(SERVER_JID, "info"))


def make_cert(tmp_path, name):
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_admin_client_certificate_files(make_gateway, inspircd, client, tmp_path):
    cert, key = make_cert(tmp_path, "gatewaybot")
    inspircd.register("alice", "files-pw-7")
    inspircd.add_cert("alice", "files-pw-7", sha256_of(cert).replace(":", "").lower())
    make_gateway(backends=(GW,), extra={
        "irc": {"ports": "", "tls_ports": str(inspircd.tls_port), "verify_cert": "no"},
        f"irc.server.{SERVER}": {"client_cert": str(cert), "client_key": str(key)}})
    alice = client("alice")
    alice.join_muc(room("#files"), "alice")
    m = from_server(alice, "You are now logged in as alice")
    assert "(SASL EXTERNAL)" in m["body"]


def test_admin_client_certificate_checked_by_n(make_gateway, tmp_path):
    cert, key = make_cert(tmp_path, "one")
    _, other_key = make_cert(tmp_path, "two")
    cases = [({"client_cert": str(tmp_path / "missing.pem")}, "cannot be read"),
             ({"client_cert": str(cert), "client_key": str(other_key)}, "no private key"),
             ({"client_key": str(key)}, "without client_cert")]
    for i, (section, words) in enumerate(cases):
        g = make_gateway(backends=(GW,), start=False, name=f"gw{i}",
                         extra={"irc": {"ports": "6667"}, f"irc.server.{SERVER}": section})
        r = g.run("-n", "-c", g.config_file)
        out = r.stdout + r.stderr
        assert r.returncode == 1 and words in out and f"irc.server.{SERVER}" in out, out
    g = make_gateway(backends=(GW,), start=False, name="gwok",
                     extra={"irc": {"ports": "6667"},
                            f"irc.server.{SERVER}": {"client_cert": str(cert),
                                                     "client_key": str(key)}})
    r = g.run("-n", "-c", g.config_file)
    assert r.returncode == 0, r.stdout + r.stderr


def test_certificate_renew_and_remove(make_gateway, inspircd, client):
    insp_gateway(make_gateway, inspircd, tls=True, verify_cert="no")
    alice = client("alice")
    _, fp1 = cert_command(alice)
    text, fp2 = cert_command(alice, "new")
    assert fp2 and fp2 != fp1 and "CERT ADD" in text
    # The same as a text command on the server's JID (for clients without ad-hoc).
    m = alice.send_message_and_wait(SERVER_JID, "!certificate action=show", timeout=10)
    assert fp2 in m["body"], m["body"]
    text, _ = cert_command(alice, "remove")
    assert "No client certificate" in text
    alice.join_muc(room("#nocert"), "alice")
    text = note_text(alice.execute(SERVER_JID, "info"))
    assert "with TLS" in text and "client certificate" not in text


# ---- pinned server certificate fingerprints (ngircd's self-signed certificate) ----


def ngircd_tls(make_gateway, ngircd, sections=None, **kw):
    section = {"ports": "", "tls_ports": str(ngircd.tls_port)}
    section.update(kw)
    extra = {"irc": section}
    extra.update(sections or {})
    return make_gateway(backends=(GW,), extra=extra)


def test_pinned_fingerprint_accepts_self_signed(make_gateway, ngircd, client, irc_client):
    ngircd_tls(make_gateway, ngircd)  # no ca_file: the certificate is not trusted
    bob = irc_client("bob")
    bob.join("#pin")
    alice = client("alice")
    configured(alice, {"tls_fingerprint": sha256_of(ngircd.cert).lower()})
    alice.join_muc(room("#pin"), "alice")
    alice.send_message(room("#pin"), "pinned", mtype="groupchat")
    bob.wait_privmsg("#pin", "pinned")
    assert "pinned certificate" in note_text(alice.execute(SERVER_JID, "info"))


def test_pinned_fingerprint_mismatch_refused(make_gateway, ngircd, client):
    # Even with the certificate trusted by the CA file, a wrong pin refuses it.
    g = ngircd_tls(make_gateway, ngircd, ca_file=str(ngircd.cert))
    alice = client("alice")
    wrong = "ab" * 32
    configured(alice, {"tls_fingerprint": wrong})
    alice.loop.call(alice.xmpp["xep_0045"].join_muc, room("#pin"), "alice")
    p = alice.wait_for_presence(lambda p: p["from"].bare == room("#pin"), 30, "the join's answer")
    assert p["type"] == "error"
    why = p["error"]["text"]
    actual = sha256_of(ngircd.cert).replace(":", "").lower()
    assert "fingerprint mismatch" in why and wrong in why and actual in why, why
    assert actual in g.log


def test_pinned_server_changing_certificate_told(make_gateway, ngircd, client, irc_client):
    """Joined with a pin; the server comes back with another certificate:
    the loss (332), then the refused reconnection told with both
    fingerprints, once."""
    old = sha256_of(ngircd.cert).replace(":", "").lower()
    ngircd_tls(make_gateway, ngircd)
    alice = client("alice")
    configured(alice, {"tls_fingerprint": old})
    alice.join_muc(room("#rekey"), "alice")
    ngircd.stop()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(ngircd.key), "-out", str(ngircd.cert)],
                   check=True, capture_output=True)
    os.chmod(ngircd.key, 0o644)
    new = sha256_of(ngircd.cert).replace(":", "").lower()
    ngircd.start()
    alice.wait_for_presence(lambda p: str(p["from"]) == f"{room('#rekey')}/alice"
                            and p["type"] == "unavailable", 15, "the loss")
    m = from_server(alice, "Reconnecting to 127.0.0.1 refused", timeout=30)
    assert "fingerprint mismatch" in m["body"] and old in m["body"] and new in m["body"]
    # Told once, though the gateway keeps trying (1, 2, 4 ... s).
    alice.no_message(lambda m: "refused" in (m["body"] or ""), timeout=5)


def test_pinned_fingerprint_never_falls_back_to_plain(make_gateway, ngircd, client):
    """With a pin, a mismatch does not lead to the plain port."""
    g = ngircd_tls(make_gateway, ngircd, ports=str(ngircd.port))
    alice = client("alice")
    configured(alice, {"tls_fingerprint": "cd" * 32})
    alice.loop.call(alice.xmpp["xep_0045"].join_muc, room("#plain"), "alice")
    p = alice.wait_for_presence(lambda p: p["from"].bare == room("#plain"), 30, "the join's answer")
    assert p["type"] == "error" and "fingerprint mismatch" in p["error"]["text"]
    assert f"port {ngircd.port}" not in g.log


def test_admin_pinned_fingerprint_in_server_section(make_gateway, ngircd, client, irc_client):
    g = ngircd_tls(make_gateway, ngircd,
               sections={f"irc.server.{SERVER}": {"tls_fingerprint": sha256_of(ngircd.cert)}})
    bob = irc_client("bob")
    bob.join("#adminpin")
    alice = client("alice")
    alice.join_muc(room("#adminpin"), "alice")
    alice.send_message(room("#adminpin"), "admin pinned", mtype="groupchat")
    bob.wait_privmsg("#adminpin", "admin pinned")
    # The form shows the admin's pin; sent back as it is, it is not kept as
    # the user's own: a later change by the admin still applies.
    values = form_values(alice.execute(SERVER_JID, "configure"))
    assert values["tls_fingerprint"] == [sha256_of(ngircd.cert)]
    configured(alice, {"tls_fingerprint": values["tls_fingerprint"][0]})
    g.sections[f"irc.server.{SERVER}"]["tls_fingerprint"] = "ee" * 32
    g.write_config()
    before = g.log.count("configuration reloaded")
    g.proc.send_signal(signal.SIGHUP)
    sgtest.wait_until(lambda: g.log.count("configuration reloaded") > before, 10, "the reload")
    note_text(alice.execute(SERVER_JID, "disconnect"))
    alice.loop.call(alice.xmpp["xep_0045"].join_muc, room("#adminpin2"), "alice")
    p = alice.wait_for_presence(lambda p: p["from"].bare == room("#adminpin2"), 30,
                                "the join's answer")
    assert p["type"] == "error" and "ee" * 32 in p["error"]["text"], p


def test_bad_fingerprint_refused_nothing_saved(make_gateway, ngircd, client):
    ngircd_tls(make_gateway, ngircd)
    alice = client("alice")
    res = configure(alice, {"nick": "zed", "tls_fingerprint": "12:34:zz"})
    assert "64 hex digits" in note_text(res) and "Nothing was saved" in note_text(res)
    values = form_values(alice.execute(SERVER_JID, "configure"))
    assert values["nick"] in ([None], [""], []) and values["tls_fingerprint"] in ([None], [""], [])


def test_bad_fingerprint_in_config_refused(make_gateway, ngircd):
    g = make_gateway(backends=(GW,), start=False,
                     extra={"irc": {"ports": str(ngircd.port)},
                            f"irc.server.{SERVER}": {"tls_fingerprint": "not-a-fingerprint"}})
    r = g.run("-n", "-c", g.config_file)
    assert r.returncode == 1
    assert "tls_fingerprint" in (r.stdout + r.stderr) and "SHA-256" in (r.stdout + r.stderr)


# ---- WEBIRC and identd (InspIRCd) ----


def test_webirc_gives_each_user_an_address(make_gateway, inspircd, client):
    """InspIRCd 3 takes the address from WEBIRC (and ignores the host name,
    looking the address up itself): each user shows their own."""
    import ircservices
    make_gateway(backends=(GW,), extra={
        **irc_extra(inspircd),
        f"irc.server.{SERVER}": {"webirc_password": ircservices.WEBIRC_PASSWORD}})
    bob = sgtest.IrcClient(inspircd.port, "bob")
    try:
        bob.join("#web")
        for user in ("alice", "carol"):
            c = client(user)
            c.join_muc(room("#web"), user)
            line = bob.wait_for(lambda l: l.startswith(f":{user}!") and " JOIN " in l, 10,
                                f"{user}'s JOIN")
            md = hmac.new(ircservices.WEBIRC_PASSWORD.encode(), f"{user}@localhost".encode(),
                          hashlib.sha256).digest()
            want = ipaddress.IPv6Address(b"\xfd" + md[8:23])
            host = line.split(" ")[0].split("@")[1]
            assert ipaddress.ip_address(host) == want, line
    finally:
        bob.close()


def test_webirc_wrong_password_refused(make_gateway, inspircd, client):
    g = make_gateway(backends=(GW,), extra={
        **irc_extra(inspircd), f"irc.server.{SERVER}": {"webirc_password": "not-the-password"}})
    alice = client("alice")
    alice.loop.call(alice.xmpp["xep_0045"].join_muc, room("#web"), "alice")
    p = alice.wait_for_presence(lambda p: p["from"].bare == room("#web"), 30, "the join's answer")
    assert p["type"] == "error", p
    assert "WEBIRC" in p["error"]["text"], p["error"]["text"]
    assert "not-the-password" not in irc_log(g)


def identd_query(port, text):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(text.encode())
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(1000)
            if not chunk:
                break
            data += chunk
    return data.decode()


def local_ports_to(port):
    """Local ports of the established TCP connections to port (from
    /proc/net/tcp and tcp6: ours, and the test's own IRC clients')."""
    found = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                local, remote, state = fields[1], fields[2], fields[3]
                if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                    found.append(int(local.rsplit(":", 1)[1], 16))
    assert found, f"no connection to port {port}"
    return found


def test_identd_answers_for_irc_connections_only(make_gateway, ngircd, client, irc_client):
    port = sgtest.free_port()
    make_gateway(backends=(GW,), extra=irc_extra(ngircd, identd=str(port)))
    bob = irc_client("bob")
    bob.join("#id")
    alice = client("alice")
    configured(alice, {"username": "aliceid"})
    alice.join_muc(room("#id"), "alice")
    bob.wait_for(lambda l: l.startswith(":alice!") and " JOIN " in l, 10, "alice's JOIN")
    # The gateway's side of its connection to ngircd, as identd sees it.
    ours = local_ports_to(ngircd.port)
    answers = [identd_query(port, f"{p} , {ngircd.port}\r\n") for p in ours]
    assert f" : USERID : UNIX : aliceid\r\n" in "".join(answers), answers
    # Not one of ours, and not a query at all.
    assert identd_query(port, f"1 , {ngircd.port}\r\n") == f"1 , {ngircd.port} : ERROR : NO-USER\r\n"
    assert "ERROR : INVALID-PORT" in identd_query(port, "hello\r\n")
    assert "ERROR : INVALID-PORT" in identd_query(port, "70000 , 1\r\n")
    # At most 128 queries open at once: the next connection is closed unanswered,
    # and once they are gone the responder answers again.
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(128)]
    try:
        extra = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            extra.sendall(f"1 , {ngircd.port}\r\n".encode())
            got = extra.recv(100)
        except ConnectionError:
            got = b""  # closed with the query unread: a reset
        assert got == b"", got
        extra.close()
    finally:
        for s in idle:
            s.close()

    def answers():
        try:
            return "NO-USER" in identd_query(port, f"1 , {ngircd.port}\r\n")
        except OSError:
            return False
    sgtest.wait_until(answers, 10, "identd to answer again")


def test_identd_seen_by_inspircd(make_gateway, inspircd, client):
    """InspIRCd asks port 113: with our identd there, no '~' before the username."""
    if sgtest.port_open(113):
        pytest.fail("port 113 is taken on this machine: the test needs it for identd")
    make_gateway(backends=(GW,), extra=irc_extra(inspircd, identd="113"))
    bob = sgtest.IrcClient(inspircd.port, "bob")
    try:
        bob.join("#ident")
        alice = client("alice")
        alice.join_muc(room("#ident"), "alice")
        line = bob.wait_for(lambda l: l.startswith(":alice!") and " JOIN " in l, 10,
                            "alice's JOIN")
        assert line.startswith(":alice!alice@"), line
        # bob has no identd behind him: InspIRCd marks his username.
        bob.send("WHOIS bob")
        assert " 311 bob bob ~bob " in bob.wait_for(lambda l: " 311 bob bob " in l, 10, "WHOIS")
    finally:
        bob.close()


# ---- hostile or partial answers from a scripted server ----


class MechsIrcd:
    """test_irc_caps's scripted server, offering SASL with only EXTERNAL."""

    def __new__(cls):
        from test_irc_caps import FakeIrcd

        class Ircd(FakeIrcd):
            def _line(self, line):
                if line == "CAP LS 302":
                    with self.cond:
                        self.received.append(line)
                        self.cond.notify_all()
                    self.send(":fake CAP * LS :multi-prefix sasl=EXTERNAL")
                    return
                super()._line(line)
        return Ircd()


def test_mechanism_not_offered_then_nickserv(make_gateway, client):
    """The server takes only EXTERNAL and there is no certificate: SASL is
    not asked for, the password goes to NickServ after 001."""
    fake = MechsIrcd()
    try:
        make_gateway(backends=(GW,), extra=irc_extra(fake))
        alice = client("alice")
        configured(alice, {"sasl_password": "only-plain-8"})
        alice.join_muc(room("#mechs"), "alice")
        fake.wait_for(lambda l: l == "PRIVMSG NickServ :IDENTIFY alice only-plain-8", 10,
                      "the IDENTIFY")
        with fake.cond:
            assert not any(l.startswith("CAP REQ") and "sasl" in l for l in fake.received)
            assert not any(l.startswith("AUTHENTICATE") for l in fake.received)
    finally:
        fake.close()


def test_hostile_account_numerics_skipped(make_gateway, client):
    from test_irc_caps import FakeIrcd
    fake = FakeIrcd()
    try:
        g = make_gateway(backends=(GW,), extra=irc_extra(fake))
        alice = client("alice")
        alice.join_muc(room("#acct"), "alice")
        fake.send(":fake 901")
        fake.send(":fake 900 alice")
        fake.send_raw(b":fake 900 alice a!b@c ba\xffd :You are now logged in as ba\xffd\r\n")
        fake.send(":fake 900 alice alice!a@h alice :You are now logged in as alice")
        m = from_server(alice, "You are now logged in as alice")
        assert "SASL" not in m["body"]
        alice.no_message(lambda m: "ba" in (m["body"] or "") and "logged in as ba" in m["body"],
                         timeout=1)
        assert "account: alice" in note_text(alice.execute(SERVER_JID, "info"))
        g.check_alive()
    finally:
        fake.close()


def test_password_with_line_break_refused(make_gateway, ngircd, client):
    make_gateway(backends=(GW,), extra=irc_extra(ngircd))
    alice = client("alice")
    # The core's form check refuses it (text-private is one line).
    with pytest.raises(IqError) as e:
        configure(alice, {"nick": "zed", "nickserv_password": "two\nlines"})
    assert "single line" in e.value.iq["error"]["text"]
    values = form_values(alice.execute(SERVER_JID, "configure"))
    assert values["nick"] in ([None], [""], [])
