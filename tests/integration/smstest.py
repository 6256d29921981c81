"""SMS test kit: gammu's dummy phone and a real gammu-smsd on it.

- DummyPhone: a directory gammu's `dummy` model treats as a phone. Incoming
  SMS and status reports are injected as files in its inbox folder (gammu's
  SMS backup format, read by libgammu itself); what is sent is not kept by
  the phone, so sending is observed in gammu-smsd's sentitems table.
- Smsd: gammu-smsd with the SQL service on SQLite (libdbd-sqlite3), the
  schema gammu ships, a config for the dummy phone. `rows()` reads its
  tables.
"""

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

from sgtest import scaled, tail, wait_until

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


class Smsd:
    """gammu-smsd on a dummy phone, its SQLite database at self.db."""

    def __init__(self, workdir, phone=None, phone_id="office"):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.phone = phone or DummyPhone(self.dir / "phone")
        self.db = self.dir / "smsd.db"
        self.config = self.dir / "smsdrc"
        self.log_file = self.dir / "smsd.log"
        self.proc = None
        self.config.write_text(f"""[gammu]
device = {self.phone.dir}
connection = none
model = dummy

[smsd]
service = sql
driver = sqlite3
database = {self.db.name}
dbdir = {self.dir}
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

    def create_db(self):
        con = sqlite3.connect(self.db)
        con.executescript(SCHEMA.read_text())
        con.commit()
        con.close()

    @property
    def log(self):
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self):
        if not self.db.exists():
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

    def rows(self, sql, args=()):
        """Rows of a query as dicts (the database may be busy a moment)."""
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
        con = sqlite3.connect(self.db, timeout=5)
        try:
            con.execute(sql, args)
            con.commit()
        finally:
            con.close()

    def sent(self, timeout=15, count=1, to=None):
        """Wait until sentitems holds `count` parts (to `to`); returns them in order."""
        where = "WHERE DestinationNumber = ?" if to else ""
        args = (to,) if to else ()

        def got():
            r = self.rows(f"SELECT * FROM sentitems {where} ORDER BY ID, SequencePosition",
                          args)
            return r if len(r) >= count else None
        return wait_until(got, timeout, f"{count} part(s) in gammu-smsd's sentitems")
