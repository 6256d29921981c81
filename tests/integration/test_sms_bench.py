"""SMS benchmark (prints figures, asserts none): durable throughput from
XMPP into gammu-smsd's outbox. Run with STANZAGATE_BENCH=1 (bench/run.sh sms)."""

import os

import pytest

from smstest import Smsd
from test_sms import NUM, from_jid, sms_gateway
import sgtest

pytestmark = pytest.mark.skipif(os.environ.get("STANZAGATE_BENCH") != "1",
                                reason="benchmark: STANZAGATE_BENCH=1")


def test_throughput_into_the_outbox(make_gateway, tmp_path, client):
    # No gammu-smsd: the figure is the gateway's own, from XMPP to a durable
    # outbox row (the core's queue, the driver's transaction, the commit).
    import time
    smsd = Smsd(tmp_path / "bench")
    smsd.create_db()
    sms_gateway(make_gateway, smsd, sms={"per_user_per_hour": "0"})
    alice = client("alice")
    n = 500
    t = time.monotonic()
    for i in range(n):
        alice.send_message(from_jid(NUM), f"bench {i}")
    sgtest.wait_until(lambda: smsd.rows("SELECT count(*) AS n FROM outbox")[0]["n"] == n, 60,
                      f"{n} outbox rows")
    rate = n / (time.monotonic() - t)
    print(f"\n{n} texts from XMPP into gammu-smsd's outbox: {rate:.0f} texts/s")
