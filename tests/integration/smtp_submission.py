"""A real SMTP submission server for the email tests and the demo
(mailservers.py starts it): aiosmtpd with STARTTLS and AUTH PLAIN/LOGIN
required, checked against Dovecot's users; accepted mail is delivered into
Dovecot by LMTP. Local recipients that do not exist are refused at RCPT
(550 5.1.1); mail for the domain bounce.invalid is accepted and then
bounced: a delivery status notification goes to the sender's mailbox, as a
real MTA would do after a remote server refused it. Mail for CODE@refuse.invalid
(a 5xx code, e.g. 552@refuse.invalid) is taken at RCPT and refused with that
code after DATA, as a server over quota or refusing the content does; mail
larger than --max-size gets aiosmtpd's own 552 after DATA. Every refusal
after DATA is logged as "refused DATA with CODE". Each DATA is logged as
"DATA from SENDER (N at once)", N the sender's transactions in DATA then;
--data-delay holds each DATA that many seconds (a slow server)."""

import argparse
import asyncio
import email.utils
import smtplib
import ssl
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

DOMAIN = "localhost"
REFUSE = "refuse.invalid"
REFUSALS = {
    "552": "552 5.2.2 Mailbox full: quota exceeded",
    "554": "554 5.7.1 Message rejected as spam",
}


def load_users(path):
    users = {}
    with open(path) as f:
        for line in f:
            if "\t" in line:
                u, p = line.rstrip("\n").split("\t", 1)
                users[u] = p
    return users


def dsn(sender, rcpt, original):
    head = original.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    boundary = uuid.uuid4().hex
    return (f"From: Mail Delivery System <MAILER-DAEMON@{DOMAIN}>\r\n"
            f"To: {sender}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Date: {email.utils.formatdate()}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@{DOMAIN}>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; "
            f"boundary=\"{boundary}\"\r\n\r\n"
            f"--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
            f"Your mail to {rcpt} could not be delivered.\r\n"
            f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; {DOMAIN}\r\n\r\n"
            f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            f"Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected\r\n"
            f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"{head}\r\n--{boundary}--\r\n").encode()


class Handler:
    def __init__(self, users, lmtp_port, data_delay=0.0):
        self.users = users
        self.lmtp_port = lmtp_port
        self.data_delay = data_delay
        self.in_data = {}  # sender -> transactions in DATA now

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local, _, domain = address.rpartition("@")
        if domain.lower() == DOMAIN and local not in self.users:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def _lmtp(self, sender, rcpts, data):
        with smtplib.LMTP("127.0.0.1", self.lmtp_port) as l:
            l.sendmail(sender, rcpts, data)

    async def handle_DATA(self, server, session, envelope):
        sender = envelope.mail_from
        self.in_data[sender] = self.in_data.get(sender, 0) + 1
        print(f"DATA from {sender} ({self.in_data[sender]} at once)", flush=True)
        try:
            if self.data_delay:
                await asyncio.sleep(self.data_delay)
            return await self._data(envelope)
        finally:
            self.in_data[sender] -= 1

    async def _data(self, envelope):
        for r in envelope.rcpt_tos:
            code, _, domain = r.rpartition("@")
            if domain.lower() == REFUSE:
                answer = REFUSALS.get(code, f"{code} 5.0.0 Refused")
                print(f"refused DATA with {answer[:3]} for {r}", flush=True)
                return answer
        local = [r for r in envelope.rcpt_tos if r.rpartition("@")[2].lower() == DOMAIN]
        bounce = [r for r in envelope.rcpt_tos if r.rpartition("@")[2].lower() == "bounce.invalid"]
        data = envelope.original_content or envelope.content
        loop = asyncio.get_running_loop()
        try:
            if local:
                await loop.run_in_executor(None, self._lmtp, envelope.mail_from, local, data)
            for r in bounce:
                await loop.run_in_executor(None, self._lmtp, "", [envelope.mail_from],
                                           dsn(envelope.mail_from, r, data))
        except Exception as e:  # noqa: BLE001 - told to the client as a temporary failure
            print(f"LMTP failed: {e}", flush=True)
            return "451 4.3.0 Local delivery failed, try again"
        print(f"accepted from {envelope.mail_from} to {envelope.rcpt_tos}", flush=True)
        return "250 2.0.0 Message accepted"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--lmtp-port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--users", required=True)
    ap.add_argument("--max-size", type=int, default=10 * 1024 * 1024)
    ap.add_argument("--data-delay", type=float, default=0.0)
    a = ap.parse_args()
    users = load_users(a.users)

    def authenticator(server, session, envelope, mechanism, auth_data):
        # Users are added while the server runs: read them again.
        users.clear()
        users.update(load_users(a.users))
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
            user = login.rpartition("@")[0] if "@" in login else login
            if users.get(user) == auth_data.password.decode():
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(a.cert, a.key)
    ctl = Controller(Handler(users, a.lmtp_port, a.data_delay), hostname="127.0.0.1", port=a.port,
                     tls_context=tls, require_starttls=True, auth_require_tls=True,
                     authenticator=authenticator, auth_required=True,
                     data_size_limit=a.max_size, server_hostname=DOMAIN)
    ctl.start()
    print(f"SMTP submission on 127.0.0.1:{a.port}", flush=True)
    try:
        asyncio.new_event_loop().run_forever()
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
