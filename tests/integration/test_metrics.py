"""GET /metrics ([metrics] listen) as Prometheus reads it: parsed with
prometheus_client's own parser, the figures following what users do, and
answering while the XMPP server is gone."""
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import sgtest

ECHO = "echo.localhost"
IRC = "irc.localhost"


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def metered(make_gateway, ngircd):
    port = sgtest.free_port()
    gw = make_gateway(backends=(ECHO, IRC), extra={
        "metrics": {"listen": f"127.0.0.1:{port}"},
        "irc": {"ports": str(ngircd.port), "tls_ports": ""}})
    return gw, port


def test_figures_follow_traffic(metered, client):
    gw, port = metered
    before = scrape(port)
    for net in ("echo", "irc"):
        assert value(before, "stanzagate_component_up", network=net) == 1
        assert value(before, "stanzagate_component_connects_total", network=net) == 1
    assert value(before, "stanzagate_users_online", network="echo") == 0
    assert value(before, "process_resident_memory_bytes") > 1 << 20
    assert [v for (n, _), v in before.items() if n == "stanzagate_info"] == [1]

    alice = client("alice")
    assert alice.register(ECHO, {"nick": "alice"})["type"] == "result"
    for i in range(3):
        reply = alice.send_message_and_wait("foo@echo.localhost", f"m{i}")
        assert reply["body"] == f"m{i}"
    alice.join_muc(f"#metrics%127.0.0.1@{IRC}", "alice")
    after = scrape(port)
    assert value(after, "stanzagate_messages_relayed_total", network="echo",
                 direction="to_network") == value(
        before, "stanzagate_messages_relayed_total", network="echo", direction="to_network") + 3
    assert value(after, "stanzagate_messages_relayed_total", network="echo",
                 direction="to_xmpp") >= 3
    assert value(after, "stanzagate_stanzas_total", network="echo", direction="in") > value(
        before, "stanzagate_stanzas_total", network="echo", direction="in")
    assert value(after, "stanzagate_users_registered", network="echo") == 1
    sgtest.wait_until(lambda: value(scrape(port), "stanzagate_users_online", network="echo") == 1,
                      20, "alice online")
    assert value(after, "stanzagate_rooms_joined", network="irc") == 1
    assert value(after, "stanzagate_network_links", network="irc", state="up") == 1
    assert value(after, "stanzagate_network_links", network="irc", state="down") == 0
    assert value(after, "stanzagate_queue_messages", network="echo", direction="to_xmpp") == 0
    assert value(after, "stanzagate_queue_oldest_age_seconds", network="echo",
                 direction="to_xmpp") == 0
    assert value(after, "stanzagate_store_commit_seconds_count") > value(
        before, "stanzagate_store_commit_seconds_count")
    assert value(after, "process_cpu_seconds_total") > 0


def test_answers_while_the_xmpp_server_is_gone(metered, prosody, client):
    gw, port = metered
    alice = client("alice")
    alice.join_muc(f"#metrics%127.0.0.1@{IRC}", "alice")
    sgtest.wait_until(lambda: value(scrape(port), "stanzagate_network_links", network="irc",
                                    state="up") == 1, 20, "the IRC link up")
    prosody.kill()
    sgtest.wait_until(lambda: value(scrape(port), "stanzagate_component_up", network="echo") == 0,
                      20, "the component link down in the metrics")
    # The IRC side does not depend on the XMPP server.
    assert value(scrape(port), "stanzagate_network_links", network="irc", state="up") == 1
    prosody.start()
    sgtest.wait_until(lambda: value(scrape(port), "stanzagate_component_connects_total",
                                    network="echo") == 2, 60, "the link back (a reconnect)")
    assert value(scrape(port), "stanzagate_component_up", network="echo") == 1
    gw.check_alive()


def test_only_metrics_is_served(metered):
    gw, port = metered
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
    assert e.value.code == 404
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code in (405, 501)


def test_a_port_in_use_is_a_clear_error(make_gateway):
    with sgtest.socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        gw = make_gateway(extra={"metrics": {"listen": f"127.0.0.1:{port}"}}, start=False)
        r = sgtest.run_binary(gw.binary, "-d", "-c", gw.config_file, timeout=15)
    assert r.returncode != 0
    assert "[metrics] listen" in r.stderr, r.stderr
