"""What a client shows about a gateway JID itself: its vCard (XEP-0054)
with the network's avatar, announced by hash in its presence (XEP-0153),
and the operator's contact addresses in its disco#info (XEP-0128 /
XEP-0157), covered by its caps (XEP-0115)."""
import base64
import hashlib
from pathlib import Path

import pytest
from slixmpp.exceptions import IqError

import sgtest

ECHO = "echo.localhost"
IRC = "irc.localhost"
MAIL = "mail.localhost"
AVATARS = Path(__file__).resolve().parents[2] / "data" / "avatars"
VCARD = "{vcard-temp}vCard"
UPDATE = "{vcard-temp:x:update}x"
CAPS = "{http://jabber.org/protocol/caps}c"
DATA = "{jabber:x:data}"


def vcard(c, jid):
    return c.iq(jid, '<vCard xmlns="vcard-temp"/>').xml.find(VCARD)


def text(el, path):
    found = el.find(path)
    return None if found is None else found.text


def register_and_get_presence(c, gw):
    assert c.register(gw, {"nick": c.user})["type"] == "result"
    return c.wait_for_presence(lambda p: p["from"].bare == gw and p["type"] == "available",
                               15, "the gateway's presence")


def test_each_gateway_has_a_vcard_with_its_avatar(make_gateway, client):
    # sgtest gives each section its avatar from the tree (avatar = PATH).
    make_gateway(backends=(ECHO, IRC, MAIL),
                 extra={"echo": {"url": "https://gateway.example.org/echo"}})
    alice = client("alice")
    for jid, section, name in ((ECHO, "echo", "Echo test network"),
                               (IRC, "irc", "IRC gateway"),
                               (MAIL, "email", "Email gateway")):
        card = vcard(alice, jid)
        assert card is not None, jid
        assert text(card, "{vcard-temp}FN") == name
        assert name in text(card, "{vcard-temp}DESC")
        assert text(card, "{vcard-temp}PHOTO/{vcard-temp}TYPE") == "image/png"
        photo = base64.b64decode(text(card, "{vcard-temp}PHOTO/{vcard-temp}BINVAL"))
        assert photo == (AVATARS / f"{section}.png").read_bytes(), jid
        url = text(card, "{vcard-temp}URL")
        assert url == ("https://gateway.example.org/echo" if jid == ECHO else None), jid
        assert "vcard-temp" in alice.disco_info(jid)["disco_info"]["features"]
    # Nobody but the operator changes it.
    with pytest.raises(IqError) as e:
        alice.iq(ECHO, '<vCard xmlns="vcard-temp"><FN>mine</FN></vCard>', "set")
    assert e.value.iq["error"]["condition"] == "not-allowed"


def test_the_gateways_presence_names_its_avatar(make_gateway, client):
    make_gateway(backends=(ECHO,))
    alice = client("alice")
    pres = register_and_get_presence(alice, ECHO)
    x = pres.xml.find(UPDATE)
    assert x is not None, pres
    want = hashlib.sha1((AVATARS / "echo.png").read_bytes()).hexdigest()
    assert text(x, "{vcard-temp:x:update}photo") == want
    # A new login sees the same hash, so the client's cached picture holds.
    phone = client("alice", resource="phone")
    p = phone.wait_for_presence(lambda p: p["from"].bare == ECHO and p["type"] == "available",
                                15, "the gateway's presence at login")
    assert text(p.xml.find(UPDATE), "{vcard-temp:x:update}photo") == want


def test_avatar_none_says_there_is_no_picture(make_gateway, client):
    make_gateway(backends=(ECHO,), extra={"echo": {"avatar": "none"}})
    alice = client("alice")
    card = vcard(alice, ECHO)
    assert card.find("{vcard-temp}PHOTO") is None
    assert text(card, "{vcard-temp}FN") == "Echo test network"
    pres = register_and_get_presence(alice, ECHO)
    photo = pres.xml.find(UPDATE).find("{vcard-temp:x:update}photo")
    # XEP-0153: an empty <photo/> is "no avatar", not "not known".
    assert photo is not None and not photo.text


def test_a_missing_installed_avatar_costs_only_the_picture(make_gateway, client):
    gw = make_gateway(backends=(ECHO,), extra={"echo": {"avatar": None}})
    if "echo: no avatar: cannot read" not in gw.log:
        pytest.skip("an avatar is installed where this build looks (tests/package checks it)")
    assert "/avatars/echo.png" in gw.log
    alice = client("alice")
    card = vcard(alice, ECHO)
    assert card.find("{vcard-temp}PHOTO") is None
    assert text(card, "{vcard-temp}FN") == "Echo test network"


def test_a_bad_avatar_or_url_is_refused_by_the_config_check(tmp_path, stanzagate_bin):
    base = ["[xmpp]", "admins = admin@localhost", "[storage]",
            f"url = sqlite:{tmp_path}/db", f"key_file = {tmp_path}/key",
            "[echo]", "jid = echo.localhost", "secret = s"]
    not_image = tmp_path / "avatar.png"
    not_image.write_text("hello\n")
    for line, why in ((f"avatar = {not_image}", "is not a PNG or JPEG image"),
                      (f"avatar = {tmp_path}/missing.png", "No such file"),
                      ("avatar = avatar.png", "not an absolute path"),
                      ("url = gateway.example.org", "not a web address")):
        cfg = tmp_path / "gw.conf"
        cfg.write_text("\n".join(base + [line]) + "\n")
        r = sgtest.run_binary(stanzagate_bin, "-n", "-c", cfg)
        assert r.returncode == 1, (line, r.stderr)
        assert why in r.stderr and f"{cfg}:9:" in r.stderr, (line, r.stderr)
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(60 * 1024))
    cfg.write_text("\n".join(base + [f"avatar = {big}"]) + "\n")
    r = sgtest.run_binary(stanzagate_bin, "-n", "-c", cfg)
    assert r.returncode == 1 and "larger than 48 KiB" in r.stderr, r.stderr


def serverinfo(info):
    """The XEP-0157 form of a disco#info result: var -> values."""
    for x in info.xml.findall(f"{DATA}x"):
        fields = {f.get("var"): [v.text for v in f.findall(f"{DATA}value")]
                  for f in x.findall(f"{DATA}field")}
        if fields.get("FORM_TYPE") == ["http://jabber.org/network/serverinfo"]:
            return fields
    return None


def test_disco_info_gives_the_operators_addresses(make_gateway, client):
    make_gateway(backends=(ECHO, IRC), extra={"xmpp": {
        "admins": "admin@localhost root@localhost",
        "abuse_addresses": "mailto:abuse@example.org xmpp:abuse@example.org",
        "support_addresses": "https://example.org/help"}})
    alice = client("alice")
    for jid in (ECHO, IRC):
        info = alice.disco_info(jid)["disco_info"]
        form = serverinfo(info)
        assert form is not None, info
        assert sorted(form["admin-addresses"]) == ["xmpp:admin@localhost",
                                                   "xmpp:root@localhost"]
        assert sorted(form["abuse-addresses"]) == ["mailto:abuse@example.org",
                                                   "xmpp:abuse@example.org"]
        assert form["support-addresses"] == ["https://example.org/help"]
    # The caps cover the form: a client that trusts the hash has the same addresses.
    pres = register_and_get_presence(alice, ECHO)
    c = pres.xml.find(CAPS)
    info = alice.disco_info(ECHO)["disco_info"]
    assert c.get("ver") == sgtest.caps_ver(info)
    by_node = alice.disco_info(ECHO, node=f"{c.get('node')}#{c.get('ver')}")["disco_info"]
    assert serverinfo(by_node) == serverinfo(info)
    # Contacts are not the operator's: their disco#info has no such form.
    assert serverinfo(alice.disco_info(f"bob@{ECHO}")["disco_info"]) is None


def test_a_contact_address_that_is_no_uri_is_refused(tmp_path, stanzagate_bin):
    cfg = tmp_path / "gw.conf"
    cfg.write_text("\n".join([
        "[xmpp]", "abuse_addresses = abuse@example.org", "[storage]",
        f"url = sqlite:{tmp_path}/db", f"key_file = {tmp_path}/key",
        "[echo]", "jid = echo.localhost", "secret = s"]) + "\n")
    r = sgtest.run_binary(stanzagate_bin, "-n", "-c", cfg)
    assert r.returncode == 1, r.stderr
    assert f"{cfg}:2: abuse_addresses:" in r.stderr and "xmpp:abuse@example.org" in r.stderr, \
        r.stderr
