"""pytest fixtures for the integration tests (see sgtest.py for the classes).

    prosody   a private Prosody on free loopback ports, accounts alice, bob,
              carol, admin (passwords in sgtest.ACCOUNTS), components
              echo/irc/sms/mail.localhost declared; .kill() / .start()
    gateway   stanzagate on that Prosody with the echo backend, started and
              connected; .kill(sig) / .restart() / .log. A test that wants
              another config uses make_gateway(backends=..., extra=...).
    client    factory: client("alice") -> connected sgtest.Client
    ngircd    a private ngircd (plain and TLS ports, self-signed cert)
    irc_client  factory: irc_client("nick", tls=False) -> sgtest.IrcClient
    inspircd  a private InspIRCd (IRCv3, SASL, TLS with CertFP) linked to
              Atheme services (NickServ, SaslServ): ircservices.py;
              .register(nick, password) makes a NickServ account,
              .add_cert(nick, password, fingerprint) adds a CertFP to it
    stanzagate_bin   path of the daemon under test
    pg_cluster  a private PostgreSQL cluster for the session (smstest.Postgres,
              no gammu schema); .new_database() / .url(name); .kill() and
              .restart() for a crash
    own_pg      the same, for one test alone (one that kills it)

SG_TEST_STORE=postgresql runs every gateway on a fresh database of that
cluster instead of SQLite (the store on both engines, issue 12);
sgtest.store_rows() reads either.

The daemon is $STANZAGATE_BIN, else build/stanzagate (scripts/build.sh).
On a failure the logs of the gateway and Prosody are attached to the report.

Every test runs with its sanitizer reports sent to <tmp_path>/sanitizer/
(see sgtest.sanitizer_environment): a daemon built with SANITIZE=1 that
reports an error or a leak fails the test that ran it, at teardown
("SanitizerReport"), with the report printed. A test whose daemon leaves a
library's memory on purpose names the extra suppressions file with
@pytest.mark.lsan_suppressions("file.supp") (next to this file).
"""

import importlib.util
import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import sgtest  # noqa: E402

HAVE_SLIXMPP = importlib.util.find_spec("slixmpp") is not None


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "lsan_suppressions(*files): extra LeakSanitizer suppressions for this test")


def pytest_collection_modifyitems(config, items):
    if HAVE_SLIXMPP:
        return
    skip = pytest.mark.skip(reason=(
        f"slixmpp is not importable by {sys.executable}: run the tests with "
        "Debian's /usr/bin/python3 (python3-slixmpp)"))
    for item in items:
        item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
    if rep.failed:
        for name, obj in getattr(item, "_sg_logs", []):
            text = obj.log
            if text:
                n = 60 if name == "prosody" else 150
                rep.sections.append((f"{name} log (last lines)", sgtest.tail(text, n)))


def _attach(request, name, obj):
    if not hasattr(request.node, "_sg_logs"):
        request.node._sg_logs = []
    request.node._sg_logs.append((name, obj))


def _running(request, name, server):
    """server started, for a fixture to yield from, and stopped after the
    test; its log goes into the test's report under name."""
    _attach(request, name, server)
    server.start()
    yield server
    server.stop()


# Reports longer than this are cut in the failure message (the file stays).
SANITIZER_REPORT_LINES = 300


@pytest.fixture(autouse=True)
def sanitizer_check(tmp_path, monkeypatch, request):
    """SanitizerReport: what the sanitized processes of this test reported."""
    report_dir = tmp_path / "sanitizer"
    report_dir.mkdir()
    here = os.path.dirname(__file__)
    extra = [os.path.join(here, f)
             for m in request.node.iter_markers("lsan_suppressions") for f in m.args]
    for var, value in sgtest.sanitizer_environment(report_dir, extra).items():
        monkeypatch.setenv(var, value)
    request.node._sg_sanitizer_dir = report_dir
    yield
    reports = sgtest.sanitizer_reports(report_dir)
    if reports:
        text = "\n".join(f"---- process {pid} ({report_dir}/report.{pid}):\n"
                         + _head(body, SANITIZER_REPORT_LINES) for pid, body in reports)
        pytest.fail(f"SanitizerReport: {len(reports)} sanitizer report(s)\n{text}", pytrace=False)


def _head(text, n):
    lines = text.splitlines()
    return "\n".join(lines[:n] + ([f"[... {len(lines) - n} more lines]"] if len(lines) > n else []))


def _sanitizer_reported(request, pid):
    d = getattr(request.node, "_sg_sanitizer_dir", None)
    return d is not None and bool(sgtest.sanitizer_reports(d, pid))


@pytest.fixture(scope="session")
def loop_thread():
    lt = sgtest.LoopThread()
    yield lt
    lt.close()


@pytest.fixture(scope="session")
def stanzagate_bin():
    return sgtest.gateway_binary()


@pytest.fixture
def prosody(tmp_path, request):
    yield from _running(request, "prosody", sgtest.Prosody(tmp_path / "prosody"))


STORE = os.environ.get("SG_TEST_STORE", "sqlite")


def private_pg(durable=False):
    """A private PostgreSQL cluster for gateways' stores (stopped by the
    caller), or the test skipped when the server is not installed."""
    from smstest import Postgres, pg_bindir
    if pg_bindir() is None:
        pytest.skip("PostgreSQL's server is not installed (apt-get install postgresql-15)")
    return Postgres(smsd_schema=False, durable=durable).start()


@pytest.fixture(scope="session")
def pg_cluster():
    pg = private_pg()
    yield pg
    pg.stop()


@pytest.fixture
def own_pg():
    """A private cluster for one test alone: one it may kill. Durable:
    with synchronous_commit off, a commit the gateway saw could vanish with
    the killed server (the WAL not written yet), the database's loss, not
    the gateway's."""
    pg = private_pg(durable=True)
    yield pg
    pg.stop()


def _on_postgresql(request, extra):
    """extra with a fresh PostgreSQL database as the store, and (cluster, name)."""
    pg = request.getfixturevalue("pg_cluster")
    name = pg.new_database()
    extra = {k: dict(v) for k, v in (extra or {}).items()}
    extra.setdefault("storage", {}).setdefault("url", pg.url(name))
    return extra, pg, name


@pytest.fixture
def make_gateway(tmp_path, prosody, request, stanzagate_bin):
    """Factory: make_gateway(backends=(...), extra={...}, start=True)."""
    made = []

    def make(backends=("echo.localhost",), extra=None, start=True, name="gateway",
             binary=None, **kw):
        binary = binary or stanzagate_bin
        if not binary.is_file():
            pytest.fail(f"stanzagate binary not found at {binary}: "
                        "run scripts/build.sh or set STANZAGATE_BIN")
        pg = None
        if STORE == "postgresql" and "url" not in (extra or {}).get("storage", {}):
            extra, pg, pg_name = _on_postgresql(request, extra)
        g = sgtest.Gateway(tmp_path / name, prosody, backends=backends, extra=extra,
                           binary=binary, **kw)
        if pg is not None:
            g.pg, g.pg_name = pg, pg_name
        made.append(g)
        _attach(request, name, g)
        if start:
            g.start()
        return g

    yield make

    # Judge the daemon's end only when the test itself passed: a test that
    # failed has already reported (with the log), once is enough.
    rep = getattr(request.node, "rep_call", None)
    judge = rep is not None and rep.passed
    problems = []
    for g in made:
        if g.proc is None:
            continue
        if not g.stopped_by_us and g.proc.poll() is not None:
            if not judge or _sanitizer_reported(request, g.proc.pid):
                continue
            problems.append(f"stanzagate exited on its own during the test "
                            f"({sgtest.describe_status(g.proc.returncode)})")
            continue
        if g.running():
            try:
                code = g.kill(signal.SIGTERM)
            except AssertionError as e:
                if judge:
                    problems.append(str(e).splitlines()[0])
                continue
            # A sanitizer's exit status: sanitizer_check prints its report.
            if code != 0 and judge and not _sanitizer_reported(request, g.proc.pid):
                problems.append("stanzagate did not shut down cleanly on SIGTERM "
                                f"({sgtest.describe_status(code)})")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()


@pytest.fixture
def ngircd(tmp_path, request):
    """A private ngircd (plain port .port, TLS port .tls_port, CA .cert)."""
    yield from _running(request, "ngircd", sgtest.Ngircd(tmp_path / "ngircd"))


@pytest.fixture
def fast_ngircd(tmp_path, request):
    """A private ngircd that takes lines as fast as they come (no flood penalty)."""
    n = sgtest.Ngircd(tmp_path / "ngircd", extra_global="[Limits]\nMaxPenaltyTime = 0\n")
    _attach(request, "ngircd", n)
    n.start()
    yield n
    n.stop()


def _irc_clients(server):
    """A factory of IRC clients on server (.port, .tls_port, .cert), for a
    fixture to yield from: the clients it made are closed at the end."""
    made = []

    def make(nick, tls=False, caps=()):
        c = sgtest.IrcClient(server.tls_port if tls else server.port, nick, tls=tls,
                             cafile=str(server.cert) if tls else None, caps=caps)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


@pytest.fixture
def irc_client(ngircd):
    """Factory: irc_client("nick", tls=False) -> registered sgtest.IrcClient."""
    yield from _irc_clients(ngircd)


def _ircservices():
    """The ircservices module, or the test fails saying what is missing."""
    import ircservices
    why = ircservices.available()
    if why:
        pytest.fail(why)
    return ircservices


@pytest.fixture
def smsd(tmp_path):
    """A running gammu-smsd on a dummy phone (smstest.Smsd); modules that
    need it otherwise (not started, on PostgreSQL) define their own."""
    from smstest import Smsd
    s = Smsd(tmp_path / "smsd").start()
    yield s
    s.stop()


@pytest.fixture
def inspircd_v3(tmp_path, request):
    """InspIRCd alone (no services) with the IRCv3 modules and chanhistory."""
    ircservices = _ircservices()
    d = ircservices.Inspircd(tmp_path / "inspircd", modules=ircservices.V3_MODULES,
                             extra_conf=ircservices.V3_CONF)
    yield from _running(request, "inspircd", d)


@pytest.fixture
def irc3_client(inspircd_v3):
    """Factory: irc3_client("nick", caps=(...)) -> an IRC client of inspircd_v3."""
    yield from _irc_clients(inspircd_v3)


@pytest.fixture
def inspircd(tmp_path, request):
    """InspIRCd (.port, .tls_port, .cert, .fingerprint) with Atheme linked."""
    ircservices = _ircservices()
    ircd = ircservices.Inspircd(tmp_path / "inspircd")
    _attach(request, "inspircd", ircd)
    ircd.start()
    services = ircservices.Atheme(tmp_path / "atheme", ircd)
    _attach(request, "atheme", services)
    services.start()
    ircd.services = services
    ircd.register = lambda nick, password: ircservices.register(ircd, nick, password)
    ircd.add_cert = lambda nick, password, fp: ircservices.add_cert(ircd, nick, password, fp)
    try:
        ircservices.wait_services(ircd, services)
        yield ircd
    finally:
        services.stop()
        ircd.stop()


@pytest.fixture
def client(loop_thread, prosody):
    """Factory: client("alice", resource="test") -> connected Client."""
    made = []

    def make(user, resource="test", **kw):
        c = sgtest.Client(loop_thread, prosody, user, resource=resource, **kw)
        made.append(c)
        c.connect()
        return c

    yield make
    for c in made:
        c.disconnect()


@pytest.fixture
def mailservers(tmp_path, request):
    """A private Dovecot (IMAP, IDLE, LMTP) and SMTP submission server
    (aiosmtpd, AUTH after STARTTLS, delivering by LMTP): mailservers.py."""
    import mailservers as ms_mod

    ms = ms_mod.MailServers(tmp_path / "mail")
    _attach(request, "mail servers", ms)
    ms.start()
    yield ms
    ms.cleanup()
