"""Private mail servers for the email gateway's tests and the demo:

- Dovecot 2.3 (IMAP with STARTTLS and implicit TLS, IDLE, LMTP), its own
  config, run and mail directories, a passwd-file of users with plain
  passwords, TLS from a test CA made here;
- an SMTP submission server (aiosmtpd, smtp_submission.py) with STARTTLS
  and AUTH required, delivering into Dovecot by LMTP.

Everything listens on free loopback ports. Dovecot never gives mail
access to uid 0, so mailboxes belong to `nobody`, under a directory that
user can reach.

    ms = MailServers(workdir); ms.start()
    ms.add_user("alice", "pw")          # alice@localhost
    ms.imaps_url, ms.imap_url, ms.smtp_url, ms.ca_file
    ms.deliver("alice", raw_bytes)      # new mail, by LMTP
    ms.fetch("alice", "Sent")           # raw messages in a mailbox
    ms.stop_smtp(); ms.start_smtp()     # same port
    ms.kick("alice")                    # drop alice's IMAP connections
    ms.stop()

MailServers(workdir, idle=False) hides IDLE from the IMAP capabilities (a
server to be polled); shared_login=True runs imap-login in Dovecot's
high-performance mode (a few processes for every connection instead of one
per TLS connection), for the benchmark's thousand accounts.
"""

import imaplib
import os
import pwd
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sgtest

DOMAIN = "localhost"
HERE = Path(__file__).resolve().parent


def make_ca(d):
    """A test CA and a server certificate for 127.0.0.1 and localhost."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, cwd=d)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=stanzagate test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "30", "-extfile", "san.ext")
    return d / "ca.pem", d / "server.pem", d / "server.key"


class MailServers:
    def __init__(self, workdir, smtp_max_size=10 * 1024 * 1024, idle=True, shared_login=False):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Reachable by `nobody` (the mailboxes' owner), unlike pytest's tmp_path.
        self.dir = Path(tempfile.mkdtemp(prefix="sg-mail-"))
        os.chmod(self.dir, 0o755)
        self.nobody = pwd.getpwnam("nobody")
        self.users = {}
        self.imap_port = sgtest.free_port()
        self.imaps_port = sgtest.free_port()
        self.lmtp_port = sgtest.free_port()
        self.smtp_port = sgtest.free_port()
        self.smtp_max_size = smtp_max_size
        self.smtp_data_delay = 0.0  # seconds each DATA takes (start_smtp() again to apply)
        self.idle = idle
        self.shared_login = shared_login
        self.ca_file, self.cert, self.key = make_ca(self.dir / "tls")
        for f in (self.ca_file, self.cert):
            os.chmod(f, 0o644)
        self.passwd = self.dir / "passwd"
        self.passwd.write_text("")
        self.conf = self.dir / "dovecot.conf"
        self.dovecot = None
        self.smtp = None
        self.smtp_log = self.dir / "smtp.log"
        self._write_conf()

    # ---- URLs a gateway uses
    @property
    def imaps_url(self):
        return f"imaps://127.0.0.1:{self.imaps_port}"

    @property
    def imap_url(self):
        return f"imap://127.0.0.1:{self.imap_port}"

    @property
    def smtp_url(self):
        return f"smtp://127.0.0.1:{self.smtp_port}"

    @property
    def log(self):
        text = ""
        for f in (self.dir / "dovecot.log", self.smtp_log):
            if f.exists():
                text += f"--- {f.name}\n" + f.read_text(errors="replace")
        return text

    def _write_conf(self):
        d = self.dir
        dh = "/usr/share/dovecot/dh.pem"
        # Dovecot 2.3's own list after login, without IDLE.
        caps = ("" if self.idle else
                "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT "
                "THREAD=REFERENCES MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS "
                "LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH SEARCHRES LIST-STATUS "
                "BINARY MOVE LITERAL+ SPECIAL-USE\n")
        login = ("" if not self.shared_login else
                 "  service_count = 0\n  process_min_avail = 2\n  client_limit = 2000\n")
        self.conf.write_text(f"""
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{self.key}
{"ssl_dh = <" + dh if os.path.exists(dh) else ""}
disable_plaintext_auth = yes
auth_mechanisms = plain login
first_valid_uid = 1
# One IMAP process per connection (the gateway holds one per account).
default_process_limit = 2000
default_client_limit = 4000
default_vsz_limit = 0
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {self.passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {self.passwd}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
{caps}service imap-login {{
{login}  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port}
    ssl = yes
  }}
}}
# Dovecot's own default for imap (1024) overrides default_process_limit.
service imap {{
  process_limit = 2000
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service anvil {{
  unix_listener anvil {{
    mode = 0666
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@{DOMAIN}
}}
protocol imap {{
  mail_max_userip_connections = 1000
}}
""")

    def add_user(self, name, password):
        home = self.dir / "home" / name
        home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir / "home", 0o755)
        os.chown(home, self.nobody.pw_uid, self.nobody.pw_gid)
        self.users[name] = password
        with self.passwd.open("a") as f:
            f.write(f"{name}:{{PLAIN}}{password}:{self.nobody.pw_uid}:{self.nobody.pw_gid}"
                    f"::{home}::\n")
        self._write_users()
        return f"{name}@{DOMAIN}"

    def _write_users(self):
        (self.dir / "users.txt").write_text(
            "".join(f"{u}\t{p}\n" for u, p in self.users.items()))

    # ---- Dovecot
    def start(self, timeout=15):
        (self.dir / "run").mkdir(exist_ok=True)
        (self.dir / "state").mkdir(exist_ok=True)
        self.dovecot = subprocess.Popen(["dovecot", "-F", "-c", str(self.conf)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        sgtest.wait_until(lambda: sgtest.port_open(self.imaps_port) and
                          sgtest.port_open(self.lmtp_port), timeout, "Dovecot listening")
        self.start_smtp()

    def doveadm(self, *args):
        return subprocess.run(["doveadm", "-c", str(self.conf), *args], capture_output=True,
                              text=True, timeout=30)

    def kick(self, name):
        r = self.doveadm("kick", f"{name}@{DOMAIN}")
        if r.returncode not in (0, 68):  # 68: nobody to kick
            r = self.doveadm("kick", name)
        return r

    # ---- SMTP submission
    def start_smtp(self, timeout=15):
        self._write_users()
        log = self.smtp_log.open("a")
        self.smtp = subprocess.Popen(
            [sys.executable, str(HERE / "smtp_submission.py"),
             "--port", str(self.smtp_port), "--lmtp-port", str(self.lmtp_port),
             "--cert", str(self.cert), "--key", str(self.key),
             "--users", str(self.dir / "users.txt"), "--max-size", str(self.smtp_max_size),
             "--data-delay", str(self.smtp_data_delay)],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        sgtest.wait_until(lambda: sgtest.port_open(self.smtp_port), timeout, "SMTP listening")

    def stop_smtp(self):
        if self.smtp and self.smtp.poll() is None:
            self.smtp.terminate()
            try:
                self.smtp.wait(10)
            except subprocess.TimeoutExpired:
                self.smtp.kill()
                self.smtp.wait()
        self.smtp = None

    def stop(self):
        self.stop_smtp()
        if self.dovecot and self.dovecot.poll() is None:
            self.dovecot.terminate()
            try:
                self.dovecot.wait(10)
            except subprocess.TimeoutExpired:
                self.dovecot.kill()
                self.dovecot.wait()
        self.dovecot = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- mail in, mail out
    def deliver(self, name, raw):
        """Delivers raw (bytes or str) to name's INBOX by LMTP, as an MTA would."""
        if isinstance(raw, str):
            raw = raw.encode()
        with smtplib.LMTP("127.0.0.1", self.lmtp_port) as l:
            l.sendmail("sender@example.net", [f"{name}@{DOMAIN}"], raw)

    def _imap(self, name):
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        m = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=ctx)
        m.login(f"{name}@{DOMAIN}", self.users[name])
        return m

    def fetch(self, name, mailbox="INBOX"):
        """The raw messages (bytes) in a mailbox, oldest first."""
        m = self._imap(name)
        try:
            typ, _ = m.select(mailbox, readonly=True)
            if typ != "OK":
                return []
            typ, data = m.uid("SEARCH", None, "ALL")
            out = []
            for uid in data[0].split():
                typ, parts = m.uid("FETCH", uid, "(BODY.PEEK[])")
                out += [p[1] for p in parts if isinstance(p, tuple)]
            return out
        finally:
            m.logout()
