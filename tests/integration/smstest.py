"""SMS test kit: gammu's dummy phone and a real gammu-smsd on it.

- DummyPhone: a directory gammu's `dummy` model treats as a phone. Incoming
  SMS and status reports are injected as files in its inbox folder (gammu's
  SMS backup format, read by libgammu itself); what is sent is not kept by
  the phone, so sending is observed in gammu-smsd's sentitems table.
- Smsd: gammu-smsd with the SQL service on SQLite (libdbd-sqlite3) or on
  PostgreSQL (its native_pgsql driver; Postgres: a private cluster), the
  schema gammu ships, a config for the dummy phone. `rows()` reads its
  tables.
- FakeModem: a simulated GSM modem on a pty for gammu's AT driver: what is
  sent (decoded PDUs, the references given), a slow network, unplugging,
  and a SIM holding incoming SMS and status reports (PDUs built here).
"""

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

from sgtest import _Server, scaled, sql_literal as _sql_literal, tail, wait_until

SCHEMA = Path("/usr/share/doc/gammu-smsd/examples/sqlite.sql")
GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
           "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€")


def have_gammu_smsd():
    return shutil.which("gammu-smsd") is not None and SCHEMA.is_file()


def ucs2hex(s):
    return s.encode("utf-16-be").hex().upper()


class DummyPhone:
    """The dummy phone's directory: dir/sms/1 is its inbox."""

    # The dummy model answers status reports for what it sent with this
    # message reference and this SMSC number.
    REFERENCE = 255
    SMSC = "123456"

    def __init__(self, path):
        self.dir = Path(path)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.inbox = self.dir / "sms" / "1"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self._n = 0

    def _write(self, lines):
        # Atomic: the phone must never read half a file.
        self._n += 1
        tmp = self.dir / f".inject{self._n}"
        tmp.write_text("\n".join(lines) + "\n")
        loc = self._n
        while (self.inbox / str(loc)).exists():
            loc += 1
        os.rename(tmp, self.inbox / str(loc))

    def inject(self, sender, text, udh=None, coding=None, cls=-1):
        """An incoming SMS from `sender`; udh in hex for a part of a long one."""
        if coding is None:
            coding = ("Default_No_Compression" if all(c in GSM7 for c in text)
                      else "Unicode_No_Compression")
        lines = ["[SMSBackup000]", "PDU = Deliver", "SMSC = \"+15550000000\"",
                 time.strftime("DateTime = %Y%m%dT%H%M%SZ", time.gmtime()), "State = UnRead",
                 f'Number = "{sender}"', f"NumberUnicode = {ucs2hex(sender)}",
                 'Name = ""', "NameUnicode = ", f"Text00 = {ucs2hex(text)}",
                 f"Coding = {coding}", "Folder = 1", f"Length = {len(text)}",
                 f"Class = {cls}", "ReplySMSC = False", "RejectDuplicates = False",
                 "ReplaceMessage = 0", "MessageReference = 0"]
        if udh:
            lines.append(f"UDH = {udh}")
        self._write(lines)

    def report(self, number, reference=REFERENCE):
        """A status report: the SMS with `reference` to `number` was delivered
        (the dummy model reads no failure status from its files)."""
        self._write(["[SMSBackup000]", "PDU = Status_Report",
                     time.strftime("DateTime = %Y%m%dT%H%M%SZ", time.gmtime()),
                     "State = UnRead", f'Number = "{number}"',
                     f"NumberUnicode = {ucs2hex(number)}",
                     f"Text00 = {ucs2hex('Delivered')}", "Coding = Default_No_Compression",
                     "Folder = 1", "Length = 9", "Class = -1",
                     f"MessageReference = {reference}"])


PG_SCHEMA = Path("/usr/share/doc/gammu-smsd/examples/pgsql.sql")


def pg_bindir():
    """Debian's PostgreSQL server binaries (initdb, pg_ctl), or None."""
    cands = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return cands[-1].parent if cands else None


class Postgres:
    """A private PostgreSQL cluster in a temporary directory: trust
    authentication, TCP on 127.0.0.1 at a free port and a unix socket in the
    directory. initdb refuses to run as root, so as root the cluster belongs
    to `nobody`. new_database() makes a database with gammu-smsd's schema
    (copied from a template, so each test gets a fresh one quickly); with
    smsd_schema=False it makes empty ones (the gateway's own store). With
    durable=False (the tests) commits skip fsync; the benchmark keeps it."""

    USER = "postgres"

    def __init__(self, durable=False, smsd_schema=True):
        import pwd
        import tempfile
        from sgtest import free_port
        self.bindir = pg_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL's server is not installed (apt-get install "
                               "postgresql)")
        self.smsd_schema = smsd_schema
        if smsd_schema and not PG_SCHEMA.is_file():
            raise RuntimeError(f"{PG_SCHEMA} is missing (gammu-smsd's examples)")
        self.dir = Path(tempfile.mkdtemp(prefix="sg-pg-"))
        self.data = self.dir / "data"
        self.log_file = self.dir / "postgres.log"
        self.port = free_port()
        self._owner = {}
        self.durable = durable
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._owner = {"user": pw.pw_uid, "group": pw.pw_gid}
        self._n = 0

    def _run(self, *args, **kw):
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], capture_output=True,
                              text=True, timeout=scaled(60), cwd=self.dir, **self._owner,
                              **kw)

    def start(self):
        r = self._run("initdb", "-D", str(self.data), "-U", self.USER, "--auth=trust",
                      "-E", "UTF8", "--no-locale", "--no-sync")
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr.strip()[-500:]}")
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        r = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_file), "-o", opts,
                      "-w", "-t", "60", "start")
        if r.returncode != 0:
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {r.stderr.strip()} {log[-500:]}")
        self.psql("postgres", "CREATE DATABASE smsd_template")
        if self.smsd_schema:
            schema = "\n".join(line for line in PG_SCHEMA.read_text().splitlines()
                               if not line.startswith("CREATE LANGUAGE"))  # built in since 9.0
            self.psql("smsd_template", schema)
        return self

    def stop(self):
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def postmaster_pid(self):
        pidfile = self.data / "postmaster.pid"
        return int(pidfile.read_text().split()[0]) if pidfile.exists() else None

    def kill(self):
        """SIGKILL of the postmaster, as a crash would; waits until nothing
        answers on its port (its backends notice the death and exit)."""
        import signal
        import socket
        from sgtest import wait_until
        os.kill(self.postmaster_pid(), signal.SIGKILL)

        def refused():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return False
            except OSError:
                return True
        wait_until(refused, 30, "PostgreSQL to stop answering")

    def restart(self):
        """Start the killed cluster again on the same data and port; the
        start is retried while the dead one's backends still hold its
        shared memory."""
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        deadline = time.monotonic() + scaled(60)
        while True:
            r = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_file), "-o",
                          opts, "-w", "-t", "60", "start")
            if r.returncode == 0:
                return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start again: {r.stderr.strip()}")
            time.sleep(0.2)

    def psql(self, db, sql):
        """Run SQL (several statements allowed) in db; returns psql's output."""
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(self.port), "-U", self.USER,
                            "-d", db], input=sql, capture_output=True, text=True,
                           timeout=scaled(30))
        if r.returncode != 0:
            raise AssertionError(f"psql: {r.stderr.strip()}\n{sql[:300]}")
        return r.stdout

    def new_database(self):
        self._n += 1
        name = f"smsd{self._n}"
        self.psql("postgres", f"CREATE DATABASE {name} TEMPLATE smsd_template")
        return name

    def url(self, db):
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{db}"


class Smsd(_Server):
    """gammu-smsd on a dummy phone. Its database is SQLite at self.db, or,
    with `postgres` (a Postgres), a fresh database of that cluster. `url` is
    what the gateway's smsd_database takes. rows() and execute() take SQL
    with quoted identifiers ("ID") and ? parameters, for either engine."""

    def __init__(self, workdir, phone=None, phone_id="office", postgres=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.phone = phone or DummyPhone(self.dir / "phone")
        self.db = self.dir / "smsd.db"
        self.pg = postgres
        self.pg_db = postgres.new_database() if postgres else None
        self.config = self.dir / "smsdrc"
        self.log_file = self.dir / "smsd.log"
        self.proc = None
        if postgres:
            dbconf = (f"driver = native_pgsql\nhost = 127.0.0.1:{postgres.port}\n"
                      f"user = {postgres.USER}\npassword =\ndatabase = {self.pg_db}")
        else:
            dbconf = f"driver = sqlite3\ndatabase = {self.db.name}\ndbdir = {self.dir}"
        self.config.write_text(f"""[gammu]
device = {self.phone.dir}
connection = none
model = dummy

[smsd]
service = sql
{dbconf}
logfile = {self.log_file}
debuglevel = 1
loopsleep = 1
receivefrequency = 1
statusfrequency = 0
commtimeout = 1
sendtimeout = 5
multiparttimeout = 5
phoneid = {phone_id}
deliveryreport = sms
skipsmscnumber = {DummyPhone.SMSC}
""")

    @property
    def url(self):
        return self.pg.url(self.pg_db) if self.pg else f"sqlite:{self.db}"

    def create_db(self):
        if self.pg:
            return  # made with the schema already
        con = sqlite3.connect(self.db)
        con.executescript(SCHEMA.read_text())
        con.commit()
        con.close()

    def start(self):
        if not self.pg and not self.db.exists():
            self.create_db()
        self.proc = subprocess.Popen(["gammu-smsd", "-c", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"gammu-smsd exited with {self.proc.returncode}:\n"
                                     + tail(self.log))
            return "Starting phone communication" in self.log
        wait_until(up, 10, "gammu-smsd to start")
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(scaled(10))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _pg_sql(self, sql, args):
        parts = sql.split("?")
        assert len(parts) == len(args) + 1, "one argument per ?"
        return parts[0] + "".join(_sql_literal(a) + p for a, p in zip(args, parts[1:]))

    def rows(self, sql, args=()):
        """Rows of a query as dicts (the database may be busy a moment)."""
        if self.pg:
            import json
            out = self.pg.psql(self.pg_db, "SELECT coalesce(json_agg(t), '[]') FROM ("
                               + self._pg_sql(sql, args) + ") AS t")
            return json.loads(out)
        for _ in range(50):
            try:
                con = sqlite3.connect(self.db, timeout=2)
                con.row_factory = sqlite3.Row
                try:
                    return [dict(r) for r in con.execute(sql, args)]
                finally:
                    con.close()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e):
                    raise
                time.sleep(0.1)
        raise AssertionError("gammu-smsd's database stayed locked")

    def execute(self, sql, args=()):
        if self.pg:
            self.pg.psql(self.pg_db, self._pg_sql(sql, args))
            return
        con = sqlite3.connect(self.db, timeout=5)
        try:
            con.execute(sql, args)
            con.commit()
        finally:
            con.close()

    def sent(self, timeout=15, count=1, to=None):
        """Wait until sentitems holds `count` parts (to `to`); returns them in order."""
        where = 'WHERE "DestinationNumber" = ?' if to else ""
        args = (to,) if to else ()

        def got():
            r = self.rows(f'SELECT * FROM sentitems {where} ORDER BY "ID", "SequencePosition"',
                          args)
            return r if len(r) >= count else None
        return wait_until(got, timeout, f"{count} part(s) in gammu-smsd's sentitems")


# --------------------------------------------------------------------------
# A fake AT modem on a pty: a simulated GSM radio (no radio can run here).

import pty
import re
import select
import threading
import tty

GSM7_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[",
            0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€"}


def decode_submit(pdu_hex):
    """An SMS-SUBMIT TPDU (as sent after AT+CMGS in PDU mode, SMSC first)
    -> dict(to, coding "gsm7"/"ucs2", udh hex, text, report)."""
    b = bytes.fromhex(pdu_hex)
    i = 1 + b[0]                      # SMSC address
    first = b[i]; i += 1
    udhi, srr, vpf = first & 0x40, first & 0x20, (first >> 3) & 3
    i += 1                            # TP-MR
    ndigits, toa = b[i], b[i + 1]; i += 2
    digits = "".join(f"{x & 0xF:x}{x >> 4:x}" for x in b[i:i + (ndigits + 1) // 2])[:ndigits]
    i += (ndigits + 1) // 2
    to = ("+" if toa & 0x70 == 0x10 else "") + digits
    i += 1                            # TP-PID
    dcs = b[i]; i += 1
    i += {0: 0, 2: 1, 1: 7, 3: 7}[vpf]
    udl = b[i]; i += 1
    ud = b[i:]
    udh = b""
    coding = "ucs2" if dcs & 0x0C == 0x08 else "gsm7"
    if coding == "ucs2":
        if udhi:
            udh = ud[:ud[0] + 1]
        text = ud[len(udh):udl].decode("utf-16-be")
    else:
        bits = int.from_bytes(ud, "little")
        skip = 0
        if udhi:
            udh = ud[:ud[0] + 1]
            skip = (len(udh) * 8 + 6) // 7
        septets = [(bits >> (7 * k)) & 0x7F for k in range(udl)][skip:]
        out, esc = [], False
        for s in septets:
            if esc:
                out.append(GSM7_EXT.get(s, "?"))
                esc = False
            elif s == 0x1B:
                esc = True
            else:
                out.append(GSM7_BASIC[s])
        text = "".join(out)
    return {"to": to, "coding": coding, "udh": udh.hex().upper(), "text": text,
            "report": bool(srr)}


GSM7_EXT_REV = {v: k for k, v in GSM7_EXT.items()}


def _bcd_address(number):
    """A TP address (length in digits, type, BCD digits) for a number."""
    intl = number.startswith("+")
    digits = number.lstrip("+")
    padded = digits + ("F" if len(digits) % 2 else "")
    bcd = bytes(int(padded[i + 1] + padded[i], 16) for i in range(0, len(padded), 2))
    return bytes([len(digits), 0x91 if intl else 0x81]) + bcd


def _scts(t=None):
    """A service centre time stamp (UTC) in swapped semi-octets."""
    tm = time.gmtime(t)
    vals = [tm.tm_year % 100, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, 0]
    return bytes(((v % 10) << 4) | (v // 10) for v in vals)


def _gsm7_septets(text):
    out = []
    for c in text:
        if c in GSM7_EXT_REV:
            out += [0x1B, GSM7_EXT_REV[c]]
        else:
            out.append(GSM7_BASIC.index(c))
    return out


def _pack7(septets, fill):
    out, val, nbits = bytearray(), 0, fill
    for sp in septets:
        val |= sp << nbits
        nbits += 7
        while nbits >= 8:
            out.append(val & 0xFF)
            val >>= 8
            nbits -= 8
    if nbits > 0:
        out.append(val & 0xFF)
    return bytes(out)


def encode_deliver(sender, text, udh="", coding=None, cls=None, when=None):
    """An SMS-DELIVER as a modem stores it (SMSC address first, empty here):
    (hex PDU, TPDU length). udh in hex including its length byte; coding
    "gsm7", "ucs2" or "8bit" (text then holds the bytes as latin-1); cls a
    message class or None."""
    udhb = bytes.fromhex(udh)
    if coding is None:
        coding = "gsm7" if all(c in GSM7_BASIC or c in GSM7_EXT_REV for c in text) else "ucs2"
    dcs = {"gsm7": 0x00, "ucs2": 0x08, "8bit": 0x04}[coding]
    if cls is not None:
        dcs |= 0x10 | cls
    if coding == "gsm7":
        septets = _gsm7_septets(text)
        fill = (7 - len(udhb) * 8 % 7) % 7
        udl = (len(udhb) * 8 + fill) // 7 + len(septets)
        ud = udhb + _pack7(septets, fill)
    else:
        ud = udhb + (text.encode("utf-16-be") if coding == "ucs2" else text.encode("latin-1"))
        udl = len(ud)
    tpdu = (bytes([0x04 | (0x40 if udhb else 0)]) + _bcd_address(sender) + bytes([0, dcs])
            + _scts(when) + bytes([udl]) + ud)
    return "00" + tpdu.hex().upper(), len(tpdu)


def encode_status_report(recipient, reference, status=0, when=None):
    """An SMS-STATUS-REPORT for the part with TP-MR `reference`: status 0 is
    delivered, 0x20-0x3F still trying, 0x40 and up failed for good."""
    tpdu = (bytes([0x06, reference & 0xFF]) + _bcd_address(recipient) + _scts(when)
            + _scts(when) + bytes([status]))
    return "00" + tpdu.hex().upper(), len(tpdu)


class FakeModem:
    """Answers gammu's AT dialogue on a pty whose slave is reachable at
    `link` (a symlink). Texts sent with AT+CMGS are kept (decoded) in
    `sent`, and the message reference the "network" gave each part in
    `refs`; `send_delay` seconds pass before the network "accepts" each
    part. vanish() closes the pty (the modem is unplugged); appear() makes
    a new one at the same link.

    Incoming SMS and status reports: inject() and report() store a PDU in
    the SIM's memory ("SM"), which the modem lists (AT+CMGL), reads
    (AT+CMGR) and deletes (AT+CMGD) in PDU mode; `stored` is what the SIM
    holds, `deleted` the indexes deleted, in order. The phone memory
    ("ME") is empty."""

    EXACT = {
        "AT+CGMI": "FakeCorp", "AT+CGMM": "FakeModem 1", "AT+CGMR": "1.0",
        "AT+CGSN": "123456789012345", "AT+CIMI": "001010123456789",
        "AT+CPIN?": "+CPIN: READY", "AT+CMGF=?": "+CMGF: (0,1)",
        "AT+CSCS=?": '+CSCS: ("GSM","UCS2","IRA")', "AT+CSCS?": '+CSCS: "GSM"',
        "AT+CPMS=?": '+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")',
        "AT+CSCA?": '+CSCA: "+15550000000",145', "AT+CSQ": "+CSQ: 20,99",
        "AT+CREG?": "+CREG: 0,1", "AT+COPS?": '+COPS: 0,0,"FakeNet"',
    }
    OK_PREFIXES = ("ATZ", "ATE", "AT&F", "AT+CMEE", "AT+CSCS=", "AT+CMGF=", "AT+CNMI=",
                   "AT+CSDH", "AT+CSMP", "AT+COPS=", "AT+CREG=",
                   "AT+CFUN=")

    def __init__(self, link, send_delay=0.0):
        self.link = Path(link)
        self.send_delay = send_delay
        self.sent = []
        self.refs = []
        self.commands = []
        self.stored = {}   # SIM index -> [stat, hex PDU, TPDU length]
        self.deleted = []
        self._mem = "SM"
        self._ref = 0
        self._lock = threading.Lock()
        self.appear()

    CAPACITY = 30

    def _store(self, pdu_len):
        with self._lock:
            idx = next(i for i in range(1, self.CAPACITY + 1) if i not in self.stored)
            self.stored[idx] = [0, *pdu_len]  # 0: REC UNREAD
            return idx

    def inject(self, sender, text, **kw):
        """An incoming SMS (see encode_deliver) lands in the SIM; returns its index."""
        return self._store(encode_deliver(sender, text, **kw))

    def report(self, recipient, reference, status=0):
        """A status report for the part with this reference lands in the SIM."""
        return self._store(encode_status_report(recipient, reference, status))

    def _used(self):
        return len(self.stored) if self._mem == "SM" else 0

    def _cpms(self, c):
        m = re.match(r'AT\+CPMS="(\w+)"', c)
        if m:
            self._mem = m.group(1)
        n, cap = self._used(), self.CAPACITY
        return f"+CPMS: {n},{cap},{n},{cap},{n},{cap}\r\nOK"

    def _sms_command(self, c):
        """AT+CPMS?, AT+CMGL, AT+CMGR, AT+CMGD; None for anything else."""
        with self._lock:
            if c == "AT+CPMS?":
                n, m = self._used(), self._mem
                return f'+CPMS: "{m}",{n},30,"{m}",{n},30,"{m}",{n},30\r\nOK'
            if c.startswith("AT+CPMS="):
                return self._cpms(c)
            mem = self.stored if self._mem == "SM" else {}
            m = re.match(r"AT\+CMGL(?:=(\d))?$", c)
            if m:
                want = int(m.group(1) or 4)
                out = ""
                for idx in sorted(mem):
                    stat, pdu, length = mem[idx]
                    if want == 4 or want == stat:
                        out += f"+CMGL: {idx},{stat},,{length}\r\n{pdu}\r\n"
                        mem[idx][0] = 1  # REC READ
                return out + "OK"
            m = re.match(r"AT\+CMGR=(\d+)$", c)
            if m:
                idx = int(m.group(1))
                if idx not in mem:
                    return "+CMS ERROR: 321"  # invalid memory index
                stat, pdu, length = mem[idx]
                mem[idx][0] = 1
                return f"+CMGR: {stat},,{length}\r\n{pdu}\r\nOK"
            m = re.match(r"AT\+CMGD=(\d+)", c)
            if m:
                idx = int(m.group(1))
                if mem.pop(idx, None) is not None:
                    self.deleted.append(idx)
                return "OK"
        return None

    def appear(self):
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        if self.link.is_symlink() or self.link.exists():
            self.link.unlink()
        self.link.symlink_to(os.ttyname(self.slave))
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def host_crashed(self):
        """The program that had the port died: the kernel would drop its
        exclusive lock (TIOCEXCL) with its descriptor; our own descriptor
        on the pty keeps it, so drop it here."""
        import fcntl
        import termios
        fcntl.ioctl(self.slave, termios.TIOCNXCL)

    def vanish(self):
        """The modem is unplugged: it stops answering and its device node
        goes away. (The pty itself is closed later, in close(): on a pty
        hang-up libgammu waits forever, where a real port times out.)"""
        self._stop = True
        self._thread.join(5)
        self._dead = getattr(self, "_dead", []) + [self.master, self.slave]
        self.link.unlink()

    def close(self):
        if self.link.is_symlink():
            self.vanish()
        for fd in getattr(self, "_dead", []):
            try:
                os.close(fd)
            except OSError:
                pass
        self._dead = []

    def _answer(self, cmd):
        c = cmd.upper()
        if c == "AT":
            return "OK"
        if c in self.EXACT:
            return self.EXACT[c] + "\r\nOK"
        answer = self._sms_command(c)
        if answer is not None:
            return answer
        if c.startswith(self.OK_PREFIXES):
            return "OK"
        return "ERROR"

    def _write(self, s):
        os.write(self.master, s.encode())

    def _run(self):
        buf, in_pdu = b"", False
        while not self._stop:
            r, _, _ = select.select([self.master], [], [], 0.1)
            if not r:
                continue
            try:
                buf += os.read(self.master, 4096)
            except OSError:
                return
            while True:
                if in_pdu:
                    if b"\x1b" in buf and (b"\x1a" not in buf or
                                           buf.index(b"\x1b") < buf.index(b"\x1a")):
                        buf = buf.split(b"\x1b", 1)[1]  # ESC: the PDU is abandoned
                        in_pdu = False
                        self._write("\r\nOK\r\n")
                        continue
                    if b"\x1a" not in buf:
                        break
                    pdu, buf = buf.split(b"\x1a", 1)
                    if self.send_delay:
                        time.sleep(self.send_delay)
                    with self._lock:
                        self.sent.append(decode_submit(pdu.decode().strip()))
                        self._ref = (self._ref + 1) % 256
                        ref = self._ref
                        self.refs.append(ref)
                    self._write(f"\r\n+CMGS: {ref}\r\n\r\nOK\r\n")
                    in_pdu = False
                    continue
                if b"\r" not in buf:
                    break
                line, buf = buf.split(b"\r", 1)
                cmd = line.decode(errors="replace").strip()
                if not cmd:
                    continue
                self.commands.append(cmd)
                self._write(cmd + "\r")  # echo (gammu turns it on)
                if re.match(r"AT\+CMGS=\d+", cmd, re.I):
                    in_pdu = True
                    self._write("\r\n> ")
                    continue
                self._write("\r\n" + self._answer(cmd) + "\r\n")
