"""Self-test of the integration harness: the fixtures work without the real
daemon (Prosody, clients, the Gateway class, ngircd)."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import sgtest


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


def test_gateway_crash_is_reported(make_gateway, tmp_path):
    gw = make_gateway()
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


LEAKY_C = r"""
#include <stdlib.h>
#include <string.h>
static char *volatile sink;
__attribute__((noinline)) static char *kept_by_a_library(void) { return strdup("theirs"); }
__attribute__((noinline)) static char *forgotten_by_us(void) { return strdup("ours"); }
int main(int argc, char **argv) {
	sink = argc > 1 ? kept_by_a_library() : forgotten_by_us();
	sink = NULL;
	return 0;
}
"""

INNER_TESTS = """
import subprocess
import pytest

def test_our_leak(tmp_path):
    subprocess.run([{leaky!r}])

@pytest.mark.lsan_suppressions("extra.supp")
def test_a_library_leak(tmp_path):
    subprocess.run([{leaky!r}, "library"])
"""


def test_sanitizer_report_fails_the_test(tmp_path):
    """conftest.py's SanitizerReport check: a sanitized process that leaks
    fails the test that ran it, with the report; a leak in a test's
    lsan_suppressions does not."""
    if shutil.which("clang") is None:
        pytest.fail("clang not installed (scripts/install-deps.sh)")
    leaky = tmp_path / "leaky"
    (tmp_path / "leaky.c").write_text(LEAKY_C)
    subprocess.run(["clang", "-g", "-O0", "-fsanitize=address,undefined", "-o", str(leaky),
                    str(tmp_path / "leaky.c")], check=True)
    inner = tmp_path / "inner"
    inner.mkdir()
    here = Path(__file__).parent
    for f in ("conftest.py", "sgtest.py", "lsan.supp"):
        shutil.copy(here / f, inner / f)
    (inner / "extra.supp").write_text("leak:kept_by_a_library\n")
    (inner / "test_inner.py").write_text(INNER_TESTS.format(leaky=str(leaky)))
    env = {k: v for k, v in os.environ.items() if not k.endswith("SAN_OPTIONS")}
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                        str(inner)], capture_output=True, text=True, cwd=inner, env=env,
                       timeout=120)
    # pytest counts a test whose teardown failed both as passed and as an error.
    assert "2 passed, 1 error" in r.stdout, r.stdout + r.stderr
    assert "ERROR at teardown of test_our_leak" in r.stdout, r.stdout
    assert "SanitizerReport: 1 sanitizer report(s)" in r.stdout, r.stdout
    assert "in forgotten_by_us" in r.stdout, r.stdout
    assert "kept_by_a_library" not in r.stdout, r.stdout
