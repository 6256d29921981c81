"""Many IRC connections in one process: descriptors far above 1024 while
the component link keeps working (libircclient's select() would abort)."""

import asyncio
import os
import threading
import time

import pytest

import sgtest

GW = "irc.localhost"
N = int(os.environ.get("STANZAGATE_IRC_SCALE_N", "1100"))


class ManyServers:
    """One listener on every loopback address (127.0.0.0/8): each address
    is another "IRC server" to the gateway."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.got = set()
        self.port = sgtest.free_port()
        started = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(
                asyncio.start_server(self._client, "0.0.0.0", self.port, backlog=4096))
            started.set()
            self.loop.run_forever()
        threading.Thread(target=run, daemon=True).start()
        started.wait(10)

    async def _client(self, reader, writer):
        host = writer.get_extra_info("sockname")[0]
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                line = line.decode(errors="replace").rstrip("\r\n")
                if line.startswith("USER "):
                    writer.write(b":fake 001 alice :Welcome\r\n")
                elif line.startswith("PRIVMSG "):
                    self.got.add(host)
                elif line.startswith("PING "):
                    writer.write(b":fake PONG fake " + line[5:].encode() + b"\r\n")
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        writer.close()

    def close(self):
        self.loop.call_soon_threadsafe(self.server.close)


rss_kb = sgtest.rss_kb


def max_fd(pid):
    return max(int(x) for x in os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.skipif(os.environ.get("STANZAGATE_SKIP_SLOW") == "1", reason="slow")
def test_many_connections_descriptors_above_1024(make_gateway, client):
    servers = ManyServers()
    try:
        g = make_gateway(backends=(GW,), extra={"irc": {"ports": str(servers.port),
                                                        "tls_ports": ""}})
        alice = client("alice")
        idle = rss_kb(g.proc.pid)
        hosts = [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(N)]
        t0 = time.monotonic()
        for h in hosts:
            alice.send_message(f"bob%{h}@{GW}", "hello")
        sgtest.wait_until(lambda: len(servers.got) >= N, 120,
                          f"{N} servers to get their message ({len(servers.got)} so far)")
        elapsed = time.monotonic() - t0
        fd = max_fd(g.proc.pid)
        loaded = rss_kb(g.proc.pid)
        print(f"\n{N} IRC connections: all messages in {elapsed:.1f} s; highest fd {fd}; "
              f"RSS idle {idle} KB, with {N} connections {loaded} KB "
              f"({(loaded - idle) / N:.1f} KB each)")
        assert fd > 1024
        # The component link still works: the gateway answers a disco query.
        info = alice.disco_info(GW)
        assert info["disco_info"]["identities"]
        g.check_alive()
    finally:
        servers.close()
