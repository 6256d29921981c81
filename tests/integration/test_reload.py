"""SIGHUP reloads what can be reloaded (SPEC section 3): admins, allowed
domains, log verbosity take effect at once; a broken file keeps the running
configuration; a change that needs a restart is logged as such."""

import signal

import pytest
from slixmpp.exceptions import IqError

import sgtest

ECHO = "echo.localhost"
FOO = "foo@echo.localhost"
CMD = "http://jabber.org/protocol/commands"
COUNT = "http://jabber.org/protocol/admin#get-registered-users-num"
DISABLE = "http://jabber.org/protocol/admin#disable-user"


def hup(gateway, marker="configuration reloaded"):
    """SIGHUP, then wait for `marker` to appear once more in the log."""
    before = gateway.log.count(marker)
    gateway.proc.send_signal(signal.SIGHUP)
    sgtest.wait_until(lambda: gateway.log.count(marker) > before, 10, f"'{marker}' in the log")
    gateway.check_alive()


def set_key(gateway, section, key, value):
    gateway.sections.setdefault(section, {})[key] = value
    gateway.write_config()


def may_administer(c):
    try:
        r = c.execute(ECHO, COUNT)
    except IqError as e:
        assert e.iq["error"]["condition"] == "forbidden", e.iq
        return False
    assert r.xml.find(f"{{{CMD}}}command").get("status") == "completed"
    return True


def admin_nodes(c):
    return {n for n, _ in c.commands(ECHO) if n.startswith("http://jabber.org/protocol/admin")}


def test_new_admins_take_effect(gateway, client):
    admin, bob = client("admin"), client("bob")
    assert may_administer(admin) and not may_administer(bob)
    set_key(gateway, "xmpp", "admins", "bob@localhost")
    hup(gateway)
    assert may_administer(bob)
    assert not may_administer(admin)
    assert admin_nodes(bob) and not admin_nodes(admin)
    reply = bob.send_message_and_wait(ECHO, "registered-count")["body"]
    assert "Number of registered users" in reply
    assert "Only administrators" in admin.send_message_and_wait(ECHO, "registered-count")["body"]


def test_running_admin_session_loses_its_rights(gateway, client):
    admin = client("admin")
    r = admin.execute(ECHO, DISABLE)
    sid = r.xml.find(f"{{{CMD}}}command").get("sessionid")
    admin.send_message_and_wait(ECHO, "disable-user")  # a text session too
    set_key(gateway, "xmpp", "admins", "bob@localhost")
    hup(gateway)
    with pytest.raises(IqError) as e:
        admin.command_step(ECHO, DISABLE, sid, {"accountjids": ["alice@localhost"]})
    assert e.value.iq["error"]["condition"] == "forbidden"
    reply = admin.send_message_and_wait(ECHO, "alice@localhost")["body"]
    assert "Only administrators" in reply


def test_allowed_domains_take_effect(gateway, client):
    alice = client("alice")
    set_key(gateway, "xmpp", "allowed_domains", "example.org")
    hup(gateway)
    with pytest.raises(IqError) as e:
        alice.register(ECHO, {"nick": "alice"})
    assert e.value.iq["error"]["condition"] == "not-allowed"
    m = alice.send_message_and_wait(FOO, "refused?")
    assert m["type"] == "error" and m["error"]["condition"] == "forbidden"
    set_key(gateway, "xmpp", "allowed_domains", "localhost")
    hup(gateway)
    assert alice.register(ECHO, {"nick": "alice"})["type"] == "result"
    assert alice.send_message_and_wait(FOO, "welcome")["body"] == "welcome"


def _since(gateway, marker_count, marker="configuration reloaded"):
    """The log after the marker_count-th occurrence of marker."""
    log = gateway.log
    pos = -1
    for _ in range(marker_count):
        pos = log.index(marker, pos + 1)
    return log[pos:]


def test_log_verbosity_takes_effect(make_gateway, client):
    gateway = make_gateway(args=("-d",))
    alice = client("alice")
    alice.send_message_and_wait(FOO, "quiet")
    assert " debug: " not in gateway.log

    set_key(gateway, "log", "verbosity", "1")
    hup(gateway)
    alice.execute(ECHO, "register")  # logs "commands: ... runs ..." at debug level
    sgtest.wait_until(lambda: " debug: commands: " in _since(gateway, 1), 5, "debug lines")

    set_key(gateway, "log", "verbosity", "0")
    hup(gateway)
    alice.execute(ECHO, "register")
    alice.send_message_and_wait(FOO, "quiet again")
    after = _since(gateway, 2).split("\n", 1)[1]
    assert " debug: " not in after, after


def test_command_line_verbosity_is_a_floor(make_gateway, client):
    gateway = make_gateway(args=("-d", "-v"))
    set_key(gateway, "log", "verbosity", "0")
    hup(gateway)
    alice = client("alice")
    alice.execute(ECHO, "register")
    after = _since(gateway, 1).split("\n", 1)[1]
    assert " debug: commands: " in after, after


@pytest.mark.parametrize("broken", [
    "[xmpp]\ncolour = blue\n",
    "[xmpp\nadmins = bob@localhost\n",
    "[xmpp]\nport = not-a-number\n",
    "[nosuchsection]\nkey = 1\n",
])
def test_broken_config_keeps_the_running_one(gateway, client, broken):
    admin, bob = client("admin"), client("bob")
    good = gateway.config_file.read_text()
    gateway.write_config(broken + good.replace("admin@localhost", "bob@localhost"))
    hup(gateway, "keeping the running one")
    # Still answering, with the old admins.
    assert admin.ping(ECHO) is not None
    assert admin.send_message_and_wait(FOO, "still here")["body"] == "still here"
    assert may_administer(admin) and not may_administer(bob)
    # Fixed, the next SIGHUP applies it.
    gateway.write_config(good.replace("admin@localhost", "bob@localhost"))
    hup(gateway)
    assert may_administer(bob) and not may_administer(admin)


def test_broken_config_is_explained_in_the_log(gateway):
    good = gateway.config_file.read_text()
    gateway.write_config(good.replace("[xmpp]\n", "[xmpp]\ncolour = blue\n", 1))
    hup(gateway, "keeping the running one")
    assert f"{gateway.config_file}:" in gateway.log
    assert "colour" in gateway.log


def test_missing_config_file_keeps_the_running_one(gateway, client):
    alice = client("alice")
    good = gateway.config_file.read_text()
    gateway.config_file.unlink()
    hup(gateway, "keeping the running one")
    assert alice.send_message_and_wait(FOO, "no file")["body"] == "no file"
    gateway.write_config(good)
    hup(gateway)


def test_unreloadable_change_is_logged_and_ignored(gateway, client, tmp_path):
    alice = client("alice")
    assert alice.register(ECHO, {"nick": "alice"})["type"] == "result"
    set_key(gateway, "storage", "url", f"sqlite:{tmp_path}/other.db")
    hup(gateway)
    assert "storage.url changed but needs a restart" in gateway.log
    # The running store is kept: alice is still registered.
    q = alice.register_form(ECHO).xml.find("{jabber:iq:register}query")
    assert q.find("{jabber:iq:register}registered") is not None
    assert not (tmp_path / "other.db").exists()


def test_changed_secret_and_port_need_a_restart(gateway, client):
    set_key(gateway, "echo", "secret", "another-secret")
    set_key(gateway, "xmpp", "port", "1")
    hup(gateway)
    log = gateway.log
    assert "echo.secret changed but needs a restart" in log
    assert "xmpp.port changed but needs a restart" in log
    # Still connected on the old port with the old secret.
    assert client("alice").send_message_and_wait(FOO, "same link")["body"] == "same link"


def test_removed_backend_section_stays_until_a_restart(gateway, client):
    """The gateway keeps its section while it is gone from the file (several
    reloads in a row), takes it back when it returns, and still shuts down
    cleanly (no config left behind: the ASan build checks)."""
    echo = gateway.sections.pop("echo")
    gateway.write_config()
    hup(gateway)
    assert "[echo] was removed; it stays until a restart" in gateway.log
    alice = client("alice")
    assert alice.send_message_and_wait(FOO, "kept")["body"] == "kept"
    hup(gateway)
    assert alice.send_message_and_wait(FOO, "still kept")["body"] == "still kept"
    gateway.sections["echo"] = dict(echo, bot_nick="back")
    gateway.write_config()
    hup(gateway)
    assert alice.send_message_and_wait(FOO, "back")["body"] == "back"
    assert gateway.kill(signal.SIGTERM) == 0, sgtest.tail(gateway.log, 40)


def test_reloadable_backend_option(gateway, client):
    """echo's bot_nick is reloadable: rooms joined afterwards show the new bot."""
    set_key(gateway, "echo", "bot_nick", "robot")
    hup(gateway)
    assert "echo.bot_nick" not in gateway.log
    alice = client("alice")
    alice.join_muc("#reload@echo.localhost", "alice")
    assert any(str(p["from"]) == "#reload@echo.localhost/robot" for p in alice.all_stanzas
               if p.name == "presence")


def test_many_sighups_in_a_row(gateway, client):
    alice = client("alice")
    for _ in range(20):
        gateway.proc.send_signal(signal.SIGHUP)
    sgtest.wait_until(lambda: gateway.log.count("configuration reloaded") >= 1, 10, "a reload")
    gateway.check_alive()
    assert alice.send_message_and_wait(FOO, "after the storm")["body"] == "after the storm"


def test_user_of_a_domain_no_longer_served_cannot_run_commands(gateway, client):
    """allowed_domains applies to ad-hoc commands as it does to text commands."""
    alice = client("alice")
    assert alice.register(ECHO, {"nick": "alice"})["type"] == "result"
    set_key(gateway, "xmpp", "allowed_domains", "example.org")
    hup(gateway)
    m = alice.send_message_and_wait(ECHO, "configure prefix=x")
    assert m["type"] == "error" and m["error"]["condition"] == "forbidden"
    with pytest.raises(IqError) as e:
        alice.execute(ECHO, "configure")
    assert e.value.iq["error"]["condition"] == "forbidden"
    assert alice.commands(ECHO) == []
    # An admin is served whatever the domains.
    assert may_administer(client("admin"))


def test_command_line_v_adds_to_the_configured_verbosity(make_gateway, client):
    """stanzagate(8), stanzagate.conf(5) and docs/operating.md: each -v adds
    one to [log] verbosity; 1 + one -v gives protocol traces (level 2)."""
    gateway = make_gateway(args=("-d", "-v"), extra={"log": {"verbosity": "1"}})
    alice = client("alice")
    alice.send_message_and_wait(FOO, "traced")
    assert "libstrophe conn: SENT:" in gateway.log
    set_key(gateway, "log", "verbosity", "0")
    hup(gateway)
    alice.execute(ECHO, "register")
    after = _since(gateway, 1).split("\n", 1)[1]
    assert " debug: commands: " in after and "SENT:" not in after, after


def test_protocol_traces_hide_passwords(make_gateway, client):
    """docs/operating.md: at verbosity 2 the traces show stanzas, but not a
    password submitted in a registration form."""
    gateway = make_gateway(args=("-d", "-v", "-v"))
    alice = client("alice")
    alice.register(ECHO, {"nick": "traced-nick", "password": "hunter2-not-for-logs"})
    sgtest.wait_until(lambda: "traced-nick" in gateway.log, 10, "the form in the trace")
    assert "hunter2-not-for-logs" not in gateway.log
    assert "[hidden]" in gateway.log


def test_contact_addresses_and_avatar_reload_and_the_caps_follow(gateway, client):
    """XEP-0157's addresses and the vCard's avatar come from the config:
    a SIGHUP shows the new ones, under a new caps hash (XEP-0115)."""
    def serverinfo(c):
        info = c.disco_info(ECHO)["disco_info"]
        for x in info.xml.findall("{jabber:x:data}x"):
            return info, {f.get("var"): [v.text for v in f.findall("{jabber:x:data}value")]
                          for f in x.findall("{jabber:x:data}field")}
        return info, {}

    alice = client("alice")
    assert alice.register(ECHO, {"nick": "alice"})["type"] == "result"
    first = alice.wait_for_presence(lambda p: p["from"].bare == ECHO and
                                    p["type"] == "available", 10, "the gateway's presence")
    _, form = serverinfo(alice)
    assert "support-addresses" not in form
    set_key(gateway, "xmpp", "support_addresses", "https://example.org/help")
    set_key(gateway, "echo", "avatar", "none")
    hup(gateway)
    info, form = serverinfo(alice)
    assert form["support-addresses"] == ["https://example.org/help"]
    assert alice.iq(ECHO, '<vCard xmlns="vcard-temp"/>').xml.find(
        "{vcard-temp}vCard/{vcard-temp}PHOTO") is None
    # A new login gets the gateway's presence with the new hash and no photo.
    phone = client("alice", resource="phone")
    p = phone.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "available",
                                10, "the gateway's presence after the reload")
    caps = "{http://jabber.org/protocol/caps}c"
    assert p.xml.find(caps).get("ver") != first.xml.find(caps).get("ver")
    assert p.xml.find(caps).get("ver") == sgtest.caps_ver(info)
    assert not p.xml.find("{vcard-temp:x:update}x/{vcard-temp:x:update}photo").text
