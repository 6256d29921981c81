"""A private DNS server for the tests: dnsmasq on a free loopback port,
answering only the SRV records it is given: other names under localhost
do not exist (NXDOMAIN), nothing is forwarded.

    dns = DnsServer(tmp_path / "dns", srv=[("_imaps._tcp.localhost", "localhost", 993)])
    dns.start()
    ... [dns] nameservers = dns.address ...
    dns.stop()
"""
import subprocess

import sgtest

DNSMASQ = "/usr/sbin/dnsmasq"


class DnsServer:
    def __init__(self, workdir, srv=()):
        """srv: (name, target, port[, priority[, weight]]) tuples; a target of
        None publishes "." (the service is not offered, RFC 2782)."""
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = sgtest.free_port()
        self.srv = list(srv)
        self.proc = None
        self.logfile = self.dir / "dnsmasq.log"

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    @property
    def log(self):
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def start(self, timeout=10):
        args = [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null",
                f"--port={self.port}", "--listen-address=127.0.0.1", "--bind-interfaces",
                "--no-resolv", "--no-hosts", "--user=root", "--local=/localhost/",
                f"--pid-file={self.dir / 'dnsmasq.pid'}",
                f"--log-facility={self.logfile}", "--log-queries"]
        for rec in self.srv:
            name, target, port, prio, weight = (tuple(rec) + (0, 0))[:5]
            args.append(f"--srv-host={name}" if target is None
                        else f"--srv-host={name},{target},{port},{prio},{weight}")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        sgtest.wait_until(lambda: "started, version" in self.log or self.proc.poll() is not None,
                          timeout, "dnsmasq started")
        if self.proc.poll() is not None:
            raise RuntimeError(f"dnsmasq exited: {self.proc.stderr.read().decode()}")

    def queried(self, name):
        return f"query[SRV] {name} " in self.log

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
