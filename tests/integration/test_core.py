"""Core behaviour of the gateway as an XMPP user and an operator see it,
using the echo network (SPEC sections 3, 4, 6 and 9)."""

import signal

import pytest

IqError = pytest.importorskip(
    "slixmpp.exceptions", reason="needs slixmpp: run with Debian's /usr/bin/python3"
).IqError

import sgtest

ECHO = "echo.localhost"
REG = "jabber:iq:register"


# -- command line and configuration (no Prosody needed) --------------------


def test_version_and_help(stanzagate_bin):
    r = sgtest.run_binary(stanzagate_bin, "--version")
    assert r.returncode == 0, r.stderr
    assert "stanzagate" in (r.stdout + r.stderr)
    r = sgtest.run_binary(stanzagate_bin, "--help")
    assert r.returncode == 0, r.stderr
    assert "-c" in (r.stdout + r.stderr)


def _config_lines(tmp_path):
    return [
        "[xmpp]",
        "server = 127.0.0.1",
        "port = 5347",
        "admins = admin@localhost",
        "allowed_domains = localhost",
        "",
        "[storage]",
        f"url = sqlite:{tmp_path}/stanzagate.db",
        f"key_file = {tmp_path}/secret.key",
        "",
        "[echo]",
        "jid = echo.localhost",
        "secret = s3cret",
    ]


def test_check_config_accepts_valid_config(tmp_path, stanzagate_bin):
    cfg = tmp_path / "ok.conf"
    cfg.write_text("\n".join(_config_lines(tmp_path)) + "\n")
    r = sgtest.run_binary(stanzagate_bin, "-n", "-c", cfg)
    assert r.returncode == 0, f"stderr: {r.stderr}"


def test_check_config_names_file_line_and_unknown_key(tmp_path, stanzagate_bin):
    lines = _config_lines(tmp_path)
    lines.insert(3, "colour = blue")  # line 4, in [xmpp]
    cfg = tmp_path / "bad.conf"
    cfg.write_text("\n".join(lines) + "\n")
    r = sgtest.run_binary(stanzagate_bin, "-n", "-c", cfg)
    assert r.returncode == 1, f"exit {r.returncode}, stderr: {r.stderr}"
    assert f"{cfg}:4: colour:" in r.stderr, r.stderr


def test_check_config_refuses_a_nameserver_that_is_not_an_address(tmp_path, stanzagate_bin):
    lines = _config_lines(tmp_path) + ["", "[dns]", "nameservers = 127.0.0.1:5353 dns.example"]
    cfg = tmp_path / "dns.conf"
    cfg.write_text("\n".join(lines) + "\n")
    r = sgtest.run_binary(stanzagate_bin, "-n", "-c", cfg)
    assert r.returncode == 1, f"exit {r.returncode}, stderr: {r.stderr}"
    assert "nameservers" in r.stderr and "'dns.example' is not an address" in r.stderr, r.stderr
    lines[-1] = "nameservers = 127.0.0.1:5353, [::1]:53"
    cfg.write_text("\n".join(lines) + "\n")
    r = sgtest.run_binary(stanzagate_bin, "-n", "-c", cfg)
    assert r.returncode == 0, f"stderr: {r.stderr}"


def test_config_without_a_backend_exits_3_with_the_reason(tmp_path, stanzagate_bin):
    # The packaged config enables nothing: status 3 lets the systemd unit
    # skip the start instead of failing (contrib/systemd/stanzagate.service).
    cfg = tmp_path / "none.conf"
    cfg.write_text("\n".join(_config_lines(tmp_path)[:-3]) + "\n")
    for args in (("-n",), ("-d",)):
        r = sgtest.run_binary(stanzagate_bin, *args, "-c", cfg)
        assert r.returncode == 3, f"{args}: exit {r.returncode}, stderr: {r.stderr}"
        assert f"{cfg}: no backend is enabled" in r.stderr, r.stderr
    assert not (tmp_path / "stanzagate.db").exists(), "the database was opened anyway"


def test_unopenable_database_exits_with_one_line_reason(tmp_path, stanzagate_bin):
    lines = _config_lines(tmp_path)
    lines[7] = "url = sqlite:/nonexistent-dir/sub/stanzagate.db"
    cfg = tmp_path / "nodb.conf"
    cfg.write_text("\n".join(lines) + "\n")
    try:
        r = sgtest.run_binary(stanzagate_bin, "-d", "-c", cfg, timeout=15)
    except sgtest.subprocess.TimeoutExpired:
        pytest.fail("the daemon kept running with a database it cannot open")
    assert r.returncode != 0
    assert r.stderr.strip(), "no reason given on stderr"


# -- XMPP basics --------------------------------------------------------------


def test_disco_info_shows_a_gateway(gateway, client):
    alice = client("alice")
    info = alice.disco_info(ECHO)["disco_info"]
    cats = {(cat, typ) for cat, typ, _lang, _name in info["identities"]}
    assert any(cat == "gateway" for cat, _ in cats), cats
    features = set(info["features"])
    for f in (REG, "jabber:iq:gateway", "jid\\20escaping",
              "http://jabber.org/protocol/commands",
              "http://jabber.org/protocol/disco#info"):
        assert f in features, f"{f} missing from {sorted(features)}"


def test_version_names_stanzagate(gateway, client):
    v = client("alice").version(ECHO)["software_version"]
    assert v["name"] == "stanzagate"
    assert v["version"]


def test_ping(gateway, client):
    reply = client("alice").ping(ECHO)
    assert reply is not None


def test_echo_round_trip(gateway, client):
    alice = client("alice")
    reply = alice.send_message_and_wait("foo@echo.localhost", "hello, echo")
    assert reply["type"] != "error", reply
    assert reply["from"].bare == "foo@echo.localhost"
    assert reply["body"] == "hello, echo"


def test_echo_keeps_unicode_and_order(gateway, client):
    alice = client("alice")
    bodies = [f"n°{i} — ünïcødé ✓" for i in range(5)]
    for b in bodies:
        alice.send_message("bar@echo.localhost", b)
    got = [alice.wait_for_message(lambda m: m["from"].bare == "bar@echo.localhost")["body"]
           for _ in bodies]
    assert got == bodies


def test_echo_room_reaches_every_occupant(gateway, client):
    room = "#test@echo.localhost"
    alice, bob = client("alice"), client("bob")
    alice.join_muc(room, "alice")
    bob.join_muc(room, "bob")
    alice.send_message(room, "hi room", mtype="groupchat")
    for c in (alice, bob):
        m = c.wait_for_message(lambda m: m["type"] == "groupchat" and m["body"] == "hi room")
        assert m["from"].bare == room


def test_help_text_command(gateway, client):
    reply = client("alice").send_message_and_wait(ECHO, "help")
    assert reply["type"] != "error", reply
    assert "help" in reply["body"].lower()


# -- registration (XEP-0077) --------------------------------------------------


def test_register_then_remove(gateway, client):
    alice = client("alice")
    assert not alice.is_registered(ECHO)
    res = alice.register_with_defaults(ECHO)
    assert res["type"] == "result"
    assert alice.is_registered(ECHO)
    res = alice.unregister(ECHO)
    assert res["type"] == "result"
    assert not alice.is_registered(ECHO)


def test_registration_asks_for_subscription(gateway, client):
    """XEP-0100: after registering, the gateway asks to be in the roster."""
    alice = client("alice")
    alice.register_with_defaults(ECHO)
    alice.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "subscribe")


def test_register_refused_outside_allowed_domains(make_gateway, client):
    make_gateway(extra={"xmpp": {"allowed_domains": "example.org"}})
    alice = client("alice")
    with pytest.raises(IqError) as e:
        alice.register_with_defaults(ECHO)
    assert e.value.iq["error"]["condition"] in ("forbidden", "not-allowed",
                                                "registration-required")


# -- life cycle ---------------------------------------------------------------


def test_survives_prosody_restart(gateway, prosody, client):
    alice = client("alice")
    assert alice.send_message_and_wait("foo@echo.localhost", "before")["body"] == "before"
    before = {ECHO: prosody.component_auth_count(ECHO)}

    prosody.kill()
    gateway.check_alive()
    prosody.start()
    # The daemon reconnects with backoff by itself; nobody restarts it.
    gateway.wait_connected(before, timeout=30)

    alice = client("alice", resource="after")
    # SPEC section 7 allows the one message in flight when the server died
    # ("before", if its barrier had not come back) to arrive a second time.
    reply = alice.send_message_and_wait("foo@echo.localhost", "after", timeout=15,
                                        predicate=lambda m: m["body"] == "after")
    assert reply["body"] == "after"
    assert gateway.running()


def test_sigterm_shuts_down_cleanly(gateway, prosody, client):
    alice = client("alice")
    alice.send_message_and_wait("foo@echo.localhost", "x")
    assert gateway.kill(signal.SIGTERM) == 0
    # Prosody now answers for the component host itself.
    with pytest.raises(IqError):
        alice.disco_info(ECHO, timeout=5)


def test_restart_keeps_registration(gateway, client):
    alice = client("alice")
    alice.register_with_defaults(ECHO)
    gateway.restart()
    assert alice.is_registered(ECHO)


def test_server_has_carbons_and_upload(gateway, client):
    """The test server is like a real one: carbons and XEP-0363 uploads."""
    import urllib.request
    import xml.etree.ElementTree as ET

    alice = client("alice")
    r = alice.iq(f"alice@{sgtest.DOMAIN}", ET.fromstring('<enable xmlns="urn:xmpp:carbons:2"/>'), "set")
    assert r["type"] == "result"
    req = ET.fromstring('<request xmlns="urn:xmpp:http:upload:0" filename="a.txt" size="5"'
                        ' content-type="text/plain"/>')
    slot = alice.iq(sgtest.UPLOAD, req, "get").xml.find(".//{urn:xmpp:http:upload:0}slot")
    put_el = slot.find("{urn:xmpp:http:upload:0}put")
    put = put_el.get("url")
    headers = {h.get("name"): h.text for h in put_el.findall("{urn:xmpp:http:upload:0}header")}
    get = slot.find("{urn:xmpp:http:upload:0}get").get("url")
    urllib.request.urlopen(urllib.request.Request(put, data=b"hello", method="PUT",
                                                  headers={"Content-Type": "text/plain", **headers}),
                           timeout=10)
    assert urllib.request.urlopen(get, timeout=10).read() == b"hello"


def test_second_resource_gets_carbons_of_gateway_messages(gateway, client):
    import xml.etree.ElementTree as ET

    phone = client("alice", resource="phone")
    laptop = client("alice", resource="laptop")
    for c in (phone, laptop):
        c.iq(f"alice@{sgtest.DOMAIN}", ET.fromstring('<enable xmlns="urn:xmpp:carbons:2"/>'), "set")
    phone.send_message_and_wait("foo@echo.localhost", "carbon me")

    def carbon(m):
        fwd = m.xml.find(".//{urn:xmpp:forward:0}forwarded/{jabber:client}message")
        return fwd is not None and "carbon me" in (fwd.findtext("{jabber:client}body") or "")
    laptop.wait_for_message(carbon, 10, "a carbon copy of the echo's reply")


def test_users_archive_has_gateway_messages(gateway, client):
    first = client("alice", resource="first")
    first.send_message_and_wait("foo@echo.localhost", "archive me")
    later = client("alice", resource="later")  # another connection, as after a reconnect
    later.send_raw(f'<iq type="set" id="mam1" to="alice@{sgtest.DOMAIN}">'
                   '<query xmlns="urn:xmpp:mam:2" queryid="q1"/></iq>')

    def archived(m):
        fwd = m.xml.find(".//{urn:xmpp:mam:2}result/{urn:xmpp:forward:0}forwarded/"
                         "{jabber:client}message")
        return (fwd is not None and fwd.get("from", "").startswith("foo@echo.localhost")
                and "archive me" in (fwd.findtext("{jabber:client}body") or ""))
    later.wait_for_message(archived, 10, "the echo's reply from the archive")


def test_shipped_unit_is_confined():
    """The systemd unit an operator installs (contrib/, and the Debian
    package's) rates at most 2.0 ("OK") in systemd-analyze security, as
    docs/security.md says: no capability, a read-only system, the syscall
    filter, only internet and local sockets."""
    import re
    import shutil
    import subprocess
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = sgtest.REPO / "contrib" / "systemd" / "stanzagate.service"
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)],
                         capture_output=True, text=True, timeout=60).stdout
    m = re.search(r"Overall exposure level for stanzagate.service: ([\d.]+) (\w+)", out)
    assert m, out[-2000:]
    assert float(m.group(1)) <= 2.0 and m.group(2) == "OK", m.group(0)
    for confined in ("CapabilityBoundingSet=~CAP_SYS_ADMIN", "ProtectSystem=",
                     "NoNewPrivileges=", "SystemCallFilter=~@privileged"):
        assert any(l.startswith("✓ " + confined) for l in out.splitlines()), confined
