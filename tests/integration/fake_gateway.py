#!/usr/bin/python3
"""A stand-in for stanzagate, used only by the harness self-test.

It takes the same command line (-d -v -c FILE) and config, connects the
[echo] component to Prosody with slixmpp, echoes chat messages, answers
disco/version/ping, reconnects when Prosody goes away and exits 0 on
SIGTERM. It lets test_harness.py check the fixtures (start, wait for the
component, kill, restart Prosody underneath) without the real daemon.
"""

import argparse
import asyncio
import configparser
import logging
import signal
import sys

import slixmpp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-c", dest="config", required=True)
    ap.add_argument("-d", action="store_true")
    ap.add_argument("-v", action="count", default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.v else logging.INFO,
                        format="fake-gateway %(levelname)s %(message)s", stream=sys.stderr)
    cfg = configparser.ConfigParser(inline_comment_prefixes=(";",))
    cfg.read(args.config)
    server = cfg["xmpp"].get("server", "127.0.0.1")
    port = int(cfg["xmpp"].get("port", "5347"))
    echo = cfg["echo"]

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    comp = slixmpp.ComponentXMPP(echo["jid"], echo["secret"], server, port)
    comp.loop = loop
    for p in ("xep_0030", "xep_0092", "xep_0199"):
        comp.register_plugin(p)
    comp["xep_0092"].software_name = "fake-stanzagate"
    comp["xep_0030"].add_identity(category="gateway", itype="echo", name="fake echo")

    def on_message(msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            msg.reply(msg["body"]).send()

    stopping = False

    def on_disconnected(_):
        if not stopping:
            loop.call_later(0.5, lambda: comp.connect(server, port))

    comp.add_event_handler("message", on_message)
    comp.add_event_handler("disconnected", on_disconnected)
    comp.add_event_handler("connection_failed", on_disconnected)

    def on_term():
        nonlocal stopping
        stopping = True
        comp.disconnect(wait=0.5)
        loop.call_later(1, loop.stop)

    loop.add_signal_handler(signal.SIGTERM, on_term)
    loop.add_signal_handler(signal.SIGINT, on_term)
    comp.connect(server, port)
    comp.init_plugins()
    loop.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
