#!/usr/bin/python3
"""Run a private Prosody and stanzagate in the foreground until Ctrl-C.

Started by scripts/demo.sh (which installs and builds first). Reuses the
integration harness (tests/integration/sgtest.py) so the demo and the tests
start the servers the same way. State (accounts, passwords, the gateway's
database) lives in --state and survives re-runs.
"""

import argparse
import json
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import sgtest  # noqa: E402

USERS = ("alice", "bob", "admin")
# Backends the demo can enable with nothing but a component: the echo
# network always; IRC and email when built (users then register their own
# servers). SMS needs a modem line in the config, so the demo leaves it out.
OPTIONAL = {"irc.localhost": "WITH_IRC", "mail.localhost": "WITH_EMAIL"}


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_port(preferred):
    return preferred if port_free(preferred) else sgtest.free_port()


def stop_leftovers(state):
    """A previous demo killed hard may have left its Prosody or gateway
    running: stop those (only processes whose command line names our
    state directory)."""
    for pidfile in (state / "prosody" / "prosody.pid", state / "gateway.pid"):
        try:
            pid = int(pidfile.read_text().strip())
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            continue
        if str(state) in cmd:
            print(f"demo: stopping a leftover process {pid} from a previous run")
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)


def built_backends(binary):
    hosts = ["echo.localhost"]
    config_h = Path(binary).parent / "config.h"
    defs = config_h.read_text() if config_h.exists() else ""
    for host, macro in OPTIONAL.items():
        if f"#define {macro} 1" in defs:
            hosts.append(host)
    return hosts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--bin", required=True)
    args = ap.parse_args()
    state = Path(args.state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    stop_leftovers(state)

    # Passwords, secrets and ports are made once and kept, so that a client
    # configured for the demo keeps working across re-runs.
    saved_file = state / "demo.json"
    saved = json.loads(saved_file.read_text()) if saved_file.exists() else {}
    saved.setdefault("passwords", {u: secrets.token_urlsafe(9) for u in USERS})
    saved.setdefault("secrets", {h: secrets.token_urlsafe(18) for h in sgtest.COMPONENTS})
    c2s_port = pick_port(saved.get("c2s_port", 5222))
    comp_port = pick_port(saved.get("component_port", 5347))
    saved["c2s_port"], saved["component_port"] = c2s_port, comp_port
    saved_file.write_text(json.dumps(saved, indent=1))
    saved_file.chmod(0o600)

    prosody = sgtest.Prosody(state / "prosody", accounts=saved["passwords"],
                             components=saved["secrets"], c2s_port=c2s_port,
                             component_port=comp_port)
    backends = built_backends(args.bin)
    gw = sgtest.Gateway(state, prosody, backends=backends, binary=args.bin,
                        args=("-d", "-v"))

    check = gw.run("-n", "-c", gw.config_file)
    if check.returncode != 0 and backends != ["echo.localhost"]:
        print("demo: the config with " + ", ".join(backends) + " does not check:\n"
              + check.stderr + "demo: falling back to the echo network only")
        gw = sgtest.Gateway(state, prosody, backends=["echo.localhost"], binary=args.bin,
                            args=("-d", "-v"))
        backends = ["echo.localhost"]

    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    print(f"demo: starting Prosody on 127.0.0.1:{c2s_port} (state in {state})")
    prosody.start()
    try:
        print("demo: starting stanzagate (log: " + str(gw.log_file) + ")")
        try:
            gw.start(timeout=20)
        except AssertionError as e:
            print(f"demo: stanzagate did not come up:\n{e}", file=sys.stderr)
            return 1
        (state / "gateway.pid").write_text(f"{gw.proc.pid}\n")
        pw = saved["passwords"]
        print(f"""
================================================================
 stanzagate demo is running. Log in with any XMPP client:
   server / host : 127.0.0.1     port: {c2s_port}
   (no TLS: allow plain-text authentication on an unencrypted
    connection in the client's account settings)
   accounts      : alice@localhost  password {pw['alice']}
                   bob@localhost    password {pw['bob']}
                   admin@localhost  password {pw['admin']}  (gateway admin)
 Gateways        : {', '.join(backends)}
 Things to try:
   - send a message to someone@echo.localhost: it comes back
   - join the room #test@echo.localhost (as alice and as bob)
   - send "help" to echo.localhost for the text commands, or run
     its ad-hoc commands; register with it (service discovery)
 Logs: {gw.log_file}
       {prosody.log_file}
 Ctrl-C stops both.
================================================================
""", flush=True)
        while not stopping:
            if not gw.running():
                print(f"demo: stanzagate exited ({sgtest.describe_status(gw.proc.returncode)});"
                      f" last lines of its log:\n{sgtest.tail(gw.log, 30)}", file=sys.stderr)
                return 1
            if not prosody.running():
                print("demo: Prosody exited; see " + str(prosody.log_file), file=sys.stderr)
                return 1
            time.sleep(0.5)
        print("\ndemo: stopping")
        return 0
    finally:
        if gw.running():
            try:
                code = gw.kill(signal.SIGTERM)
                print(f"demo: stanzagate stopped ({sgtest.describe_status(code)})")
            except AssertionError as e:
                print(f"demo: {str(e).splitlines()[0]}", file=sys.stderr)
        prosody.stop()
        print("demo: Prosody stopped")
        (state / "gateway.pid").unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
