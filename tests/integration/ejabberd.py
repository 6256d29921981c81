"""A private ejabberd (Debian's 23.01) on loopback, for the tests that must
see what ejabberd does (its own mod_privilege, XEP-0356). It stands in for
sgtest.Prosody where a test needs: c2s_port, component_port, components,
accounts, component_auth_count(), log, start(), stop().

As /work/shared/SCALEOUT.md section 1 found: ejabberdctl reads its own
ejabberdctl.cfg from --config-dir (Debian's would point it at
/etc/ejabberd), runs the node as the user "ejabberd" (so the directories
are that user's, in a directory it can reach: not under pytest's tmp_path,
which is root's alone), and Erlang's epmd outlives the node: this harness
starts a private epmd itself, on its own port, and stops it by its PID."""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import sgtest

EJABBERDCTL = shutil.which("ejabberdctl") or "/usr/sbin/ejabberdctl"
EPMD = shutil.which("epmd") or "/usr/bin/epmd"


def version():
    """The installed package's version as a tuple ((23, 1) for 23.01-1), or None."""
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "ejabberd"],
                       capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout:
        return None
    upstream = r.stdout.split(":")[-1].split("-")[0]
    try:
        return tuple(int(p) for p in upstream.split(".")[:2])
    except ValueError:
        return None


def available():
    """Why ejabberd cannot run here, or None."""
    if not os.path.exists(EJABBERDCTL):
        return "ejabberd is not installed (Debian package ejabberd)"
    if not os.path.exists(EPMD):
        return "epmd (erlang-base) is not installed"
    try:
        pwd.getpwnam("ejabberd")
    except KeyError:
        return "the ejabberd package's user is missing"
    if os.geteuid() != 0:
        return "ejabberdctl runs the node as the user ejabberd: needs root"
    return None


class Ejabberd(sgtest._Server):
    """roster_both: component domains granted roster access, both get and
    set (mod_privilege, XEP-0356 as ejabberd 23.01 has it)."""

    def __init__(self, workdir, accounts=None, components=None, roster_both=()):
        # workdir keeps the log once stop() removed the instance's directory.
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="sgtest-ejabberd-"))
        self.accounts = dict(sgtest.ACCOUNTS if accounts is None else accounts)
        self.components = dict(sgtest.COMPONENTS if components is None else components)
        self.roster_both = tuple(roster_both)
        self.c2s_port = sgtest.free_port()
        self.component_port = sgtest.free_port()
        self.epmd_port = sgtest.free_port()
        self.node = f"sgtest{self.c2s_port}@localhost"
        self.log_file = self.dir / "log" / "ejabberd.log"
        self.epmd = None
        self._write_config()

    def _write_config(self):
        for sub in ("etc", "spool", "log", "run"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy("/etc/ejabberd/inetrc", self.dir / "etc" / "inetrc")
        (self.dir / "etc" / "ejabberdctl.cfg").write_text(f"""\
ERLANG_NODE={self.node}
EJABBERD_CONFIG_PATH={self.dir}/etc/ejabberd.yml
EJABBERD_PID_PATH={self.dir}/run/ejabberd.pid
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 -setcookie sgtest_cookie"
INET_DIST_INTERFACE=127.0.0.1
ERL_EPMD_ADDRESS=127.0.0.1
export ERL_EPMD_PORT={self.epmd_port}
EJABBERD_BYPASS_WARNINGS=true
""")
        comps = "".join(f'      "{host}":\n        password: "{secret}"\n'
                        for host, secret in self.components.items())
        # An ACL needs one entry: a domain no component has when none is granted.
        gateways = "".join(f'      - "{h}"\n'
                           for h in self.roster_both or ("none.invalid",))
        (self.dir / "etc" / "ejabberd.yml").write_text(f"""\
loglevel: info
log_rotate_count: 0
hosts:
  - "{sgtest.DOMAIN}"
listen:
  -
    port: {self.c2s_port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
  -
    port: {self.component_port}
    ip: "127.0.0.1"
    module: ejabberd_service
    check_from: true
    global_routes: false
    hosts:
{comps}
auth_method: internal
auth_password_format: scram
acl:
  stanzagate_gateways:
    server:
{gateways}
access_rules:
  stanzagate_gateways:
    allow: stanzagate_gateways
modules:
  mod_disco: {{}}
  mod_offline: {{}}
  mod_ping: {{}}
  mod_roster: {{}}
  mod_privilege:
    roster:
      both: stanzagate_gateways
""")
        subprocess.run(["chown", "-R", "ejabberd:ejabberd", str(self.dir)], check=True)
        (self.dir / "etc").chmod(0o700)
        self.dir.chmod(0o700)

    def ctl(self, *args, check=True, timeout=60):
        return subprocess.run(
            [EJABBERDCTL, "--config-dir", str(self.dir / "etc"), "--spool",
             str(self.dir / "spool"), "--logs", str(self.dir / "log"), *args],
            capture_output=True, text=True, timeout=timeout, check=check,
            stdin=subprocess.DEVNULL)

    def component_auth_count(self, host):
        return self.log.count(f"Accepted external component handshake authentication for {host}")

    def start(self, timeout=60):
        assert not self.running(), "ejabberd already running"
        # Our own epmd, so that nothing of this instance outlives stop().
        self.epmd = subprocess.Popen([EPMD, "-port", str(self.epmd_port), "-address",
                                      "127.0.0.1"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        sgtest.wait_until(lambda: sgtest.port_open(self.epmd_port), 10, "epmd to listen")
        out = open(self.dir / "ejabberd.out", "ab")
        # In the foreground: the node is this process's child, stopped by its PID if need be.
        self.proc = subprocess.Popen(
            [EJABBERDCTL, "--config-dir", str(self.dir / "etc"), "--spool",
             str(self.dir / "spool"), "--logs", str(self.dir / "log"), "foreground"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        out.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"ejabberd exited with {self.proc.returncode}:\n"
                    + sgtest.tail((self.dir / "ejabberd.out").read_text(errors="replace"))
                    + "\n" + sgtest.tail(self.log))
            return sgtest.port_open(self.c2s_port) and sgtest.port_open(self.component_port)

        try:
            sgtest.wait_until(up, timeout, "ejabberd to listen")
            for user, password in self.accounts.items():
                self.ctl("register", user, sgtest.DOMAIN, password)
        except BaseException:
            self.stop()  # a fixture that fails to start is never stopped
            raise
        return self

    def stop(self, timeout=30):
        code = None
        if self.running():
            self.ctl("stop", check=False)
            try:
                code = self.proc.wait(sgtest.scaled(timeout))
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                code = self.proc.wait()
        if self.epmd is not None and self.epmd.poll() is None:
            self.epmd.terminate()
            self.epmd.wait(10)
        for name in ("log/ejabberd.log", "ejabberd.out"):
            if (self.dir / name).exists():
                shutil.copy(self.dir / name, self.workdir / Path(name).name)
        self.log_file = self.workdir / "ejabberd.log"
        shutil.rmtree(self.dir, ignore_errors=True)
        return code
