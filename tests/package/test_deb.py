"""The Debian package (debian/, issue 13 section 1), as an operator meets it.

Builds stanzagate_*.deb from a copy of the tree with dpkg-buildpackage,
checks it with lintian, installs it on this machine with dpkg -i, checks
that the fresh install would not start (or fail) the unit, enables the echo
backend in the packaged config, runs the packaged binary as the packaged
user against a private Prosody and asks it disco#info, then purges the
package and checks that nothing is left but the database (and its key),
and that installing again gives them back to the new user.

Needs root (it installs a package) and the machine must not have
stanzagate installed already: the test would replace an operator's
install. Skipped only when dpkg-dev is missing.

    sudo /usr/bin/python3 -m pytest tests/package -q
"""

import base64
import grp
import os
import pwd
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import sgtest  # noqa: E402

if shutil.which("dpkg-buildpackage") is None:
    pytest.skip("dpkg-dev is missing (scripts/install-deps.sh installs it)",
                allow_module_level=True)

PKG = "stanzagate"
USER = "_stanzagate"
CONF = Path("/etc/stanzagate/stanzagate.conf")
STATE = Path("/var/lib/stanzagate")
UNIT = Path("/lib/systemd/system/stanzagate.service")
BIN = Path("/usr/sbin/stanzagate")
AVATARS = Path("/usr/share/stanzagate/avatars")
ECHO = "echo.localhost"
# What a purge may leave in STATE: the database the daemon made and its key.
DATA_FILES = {"stanzagate.db", "stanzagate.db-wal", "stanzagate.db-shm", "secret.key"}


def run(*cmd, check=True, timeout=600, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    if check and r.returncode != 0:
        pytest.fail(f"{shlex.join(r.args)}: exit {r.returncode}\n"
                    f"{sgtest.tail(r.stdout, 40)}\n{sgtest.tail(r.stderr, 40)}")
    return r


def installed():
    r = run("dpkg-query", "-W", "-f=${db:Status-Abbrev}", PKG, check=False)
    return r.returncode == 0 and r.stdout.strip() not in ("", "un")


def copy_tree(dest):
    """The source tree as a fresh checkout has it: tracked and untracked
    files that git does not ignore, so no build/ or configure output."""
    files = run("git", "-C", REPO, "ls-files", "-z", "--cached", "--others",
                "--exclude-standard").stdout.split("\0")
    for name in filter(None, files):
        src = REPO / name
        if not os.path.lexists(src):
            continue  # deleted in the work tree, not yet in the index
        dst = dest / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """Builds the package once; returns the .changes file."""
    if os.geteuid() != 0:
        pytest.fail("needs root to install the package: run it through sudo "
                    "(scripts/test-all.sh does)")
    if not (REPO / ".git").exists():
        pytest.fail(f"{REPO} is not a git checkout: the test copies the files git tracks")
    top = tmp_path_factory.mktemp("deb")
    src = top / PKG
    copy_tree(src)
    env = dict(os.environ, DEB_BUILD_OPTIONS=f"parallel={os.cpu_count() or 2}")
    r = run("dpkg-buildpackage", "-us", "-uc", "-b", cwd=src, env=env, check=False,
            timeout=1200)
    (top / "build.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        pytest.fail(f"dpkg-buildpackage failed (exit {r.returncode}):\n"
                    f"{sgtest.tail(r.stdout + r.stderr, 60)}")
    changes = list(top.glob(f"{PKG}_*.changes"))
    assert len(changes) == 1, f"expected one .changes in {top}: {os.listdir(top)}"
    return changes[0]


@pytest.fixture
def machine():
    """This machine without stanzagate before the test, and after it."""
    present = [str(p) for p in (CONF.parent, STATE) if os.path.lexists(p)]
    if installed() or present or user_exists():
        pytest.fail(f"stanzagate is already on this machine (package, user or {present}); "
                    "this test would replace it. Remove it first: "
                    f"dpkg --purge {PKG}; rm -r {STATE}")
    yield
    # None of these existed before: whatever a failed test left goes.
    if installed():
        run("dpkg", "--purge", PKG, check=False)
    shutil.rmtree(STATE, ignore_errors=True)
    shutil.rmtree(CONF.parent, ignore_errors=True)
    if user_exists():
        run("userdel", USER, check=False)
    if group_exists():
        run("groupdel", USER, check=False)


def user_exists():
    try:
        pwd.getpwnam(USER)
        return True
    except KeyError:
        return False


def group_exists():
    try:
        grp.getgrnam(USER)
        return True
    except KeyError:
        return False


def debs(changes):
    """The .deb files a .changes lists (once each, as its Files: field)."""
    return sorted({changes.parent / f for f in re.findall(r"\S+\.deb", changes.read_text())})


def exec_condition():
    """The unit's ExecCondition= command as systemd would run it (only $$
    is special in it: no specifiers, no variables)."""
    lines = [ln for ln in UNIT.read_text().splitlines() if ln.startswith("ExecCondition=")]
    assert len(lines) == 1, f"{UNIT}: expected one ExecCondition=, found {lines}"
    return shlex.split(lines[0].split("=", 1)[1].replace("$$", "$"))


def as_user(cmd, **kw):
    """Runs cmd as the packaged user, as the unit does (User=, Group=)."""
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd="/",
                          user=USER, group=USER, extra_groups=[],
                          stdin=subprocess.DEVNULL, **kw)


def owner(path):
    """(user, group, mode) of path; a removed user or group shows as its id."""
    st = path.stat()
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return (user, group, stat.S_IMODE(st.st_mode))


def test_lintian_reports_no_error_and_no_warning(deb):
    r = run("lintian", "--fail-on", "none", deb)
    tags = [ln for ln in r.stdout.splitlines() if re.match(r"[EW]: ", ln)]
    assert not tags, "lintian:\n" + "\n".join(tags)


def check_fresh_install():
    for path in (BIN, UNIT, Path("/usr/share/man/man8/stanzagate.8.gz"),
                 Path("/usr/share/man/man5/stanzagate.conf.5.gz")):
        assert path.is_file(), f"{path} is not installed"
    # The gateways' avatars, one per backend section, where the daemon looks.
    for section in ("echo", "irc", "sms", "email"):
        path = AVATARS / f"{section}.png"
        tree = REPO / "data" / "avatars" / f"{section}.png"
        assert path.read_bytes() == tree.read_bytes(), f"{path} is not the tree's"
    conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", PKG).stdout
    assert str(CONF) in conffiles, f"{CONF} is not a conffile: {conffiles!r}"
    assert owner(CONF) == ("root", USER, 0o640)
    assert owner(STATE) == (USER, USER, 0o700)
    assert "key_file = /var/lib/stanzagate/secret.key" in CONF.read_text().splitlines()
    # Every backend is off: the daemon says so and exits 3, which the
    # unit's condition turns into a skipped start, not a failed unit
    # (ExecCondition: 1..254 skip, 255 fail).
    r = as_user([str(BIN), "-n", "-c", str(CONF)])
    assert r.returncode == 3, f"exit {r.returncode}: {r.stderr}"
    assert "no backend is enabled" in r.stderr, r.stderr
    r = as_user([str(BIN), "-c", str(CONF)])
    assert r.returncode == 3 and "no backend is enabled" in r.stderr, (r.returncode, r.stderr)
    r = as_user(exec_condition())
    assert 1 <= r.returncode <= 254, f"ExecCondition exit {r.returncode}: a failed unit"
    if shutil.which("systemd-analyze"):
        r = run("systemd-analyze", "verify", UNIT, check=False)
        assert r.returncode == 0, r.stderr


def enable_echo(prosody):
    """What the operator does (docs/operating.md): point [xmpp] at the
    server, add a gateway whose secret is in a file beside the config."""
    secret = CONF.parent / "echo.secret"
    secret.write_text(prosody.components[ECHO] + "\n")
    os.chown(secret, 0, grp.getgrnam(USER).gr_gid)
    secret.chmod(0o640)
    text = CONF.read_text()
    text, n = re.subn(r"(?m)^#port = 5347$", f"port = {prosody.component_port}", text)
    assert n == 1, "no '#port = 5347' line in the packaged config"
    text, n = re.subn(r"(?m)^#allowed_domains =$", f"allowed_domains = {sgtest.DOMAIN}", text)
    assert n == 1, "no '#allowed_domains =' line in the packaged config"
    text += f"\n[echo]\njid = {ECHO}\nsecret_file = {secret}\n"
    CONF.write_text(text)


def run_packaged_daemon(tmp_path, prosody):
    """Starts the installed binary as the packaged user on the packaged
    config, checks that it answers disco#info, stops it with SIGTERM."""
    log = open(tmp_path / "gateway.log", "wb")
    proc = subprocess.Popen([str(BIN), "-d", "-v", "-c", str(CONF)], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd="/",
                            user=USER, group=USER, extra_groups=[])
    log.close()
    loop = sgtest.LoopThread()
    try:
        def connected():
            assert proc.poll() is None, (
                f"stanzagate exited ({sgtest.describe_status(proc.returncode)}):\n"
                + (tmp_path / "gateway.log").read_text())
            return prosody.component_auth_count(ECHO) > 0

        sgtest.wait_until(connected, 15, "the packaged gateway to connect to prosody")
        alice = sgtest.Client(loop, prosody, "alice")
        alice.connect()
        info = alice.disco_info(ECHO)["disco_info"]
        # The packaged config names no avatar: the installed one is shown.
        card = alice.iq(ECHO, '<vCard xmlns="vcard-temp"/>').xml.find("{vcard-temp}vCard")
        photo = card.find("{vcard-temp}PHOTO/{vcard-temp}BINVAL")
        assert photo is not None and base64.b64decode(photo.text) == (
            AVATARS / "echo.png").read_bytes(), "no installed avatar in the vCard"
        alice.disconnect()
        idents = {(cat, typ) for cat, typ, _lang, _name in info["identities"]}
        assert any(cat == "gateway" for cat, _ in idents), idents
    finally:
        loop.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(sgtest.scaled(15))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, f"exit on SIGTERM: {sgtest.describe_status(proc.returncode)}"
    assert owner(STATE / "stanzagate.db")[0] == USER
    assert owner(STATE / "secret.key") == (USER, USER, 0o600)


def check_purged(files):
    """Nothing of the package is left but the database, now root's."""
    assert not installed()
    assert not user_exists() and not group_exists(), "the _stanzagate user or group is left"
    left = [f for f in files if os.path.lexists(f) and not os.path.isdir(f)]
    assert not left, f"files left after purge: {left}"
    assert not os.path.lexists(CONF.parent), f"{CONF.parent} is left after purge"
    enabled = Path("/etc/systemd/system/multi-user.target.wants/stanzagate.service")
    assert not os.path.lexists(enabled), f"{enabled} is left after purge"
    kept = set(os.listdir(STATE))
    assert "stanzagate.db" in kept and kept <= DATA_FILES, f"{STATE} holds {kept}"
    assert owner(STATE) == ("root", "root", 0o700)


def test_install_run_and_purge(deb, machine, tmp_path):
    packages = debs(deb)
    main = [p for p in packages if p.name.startswith(f"{PKG}_")]
    assert len(main) == 1, packages
    run("dpkg", "-i", main[0])
    check_fresh_install()

    prosody = sgtest.Prosody(tmp_path / "prosody")
    prosody.start()
    try:
        enable_echo(prosody)
        r = as_user(exec_condition())
        assert r.returncode == 0, f"ExecCondition exit {r.returncode}: {r.stdout}{r.stderr}"
        # A mistake in the config, though, fails the unit (255), saying where.
        good = CONF.read_text()
        CONF.write_text(good + "colour = blue\n")
        r = as_user(exec_condition())
        assert r.returncode == 255 and "colour" in r.stderr, (r.returncode, r.stderr)
        CONF.write_text(good)
        run_packaged_daemon(tmp_path, prosody)
    finally:
        prosody.stop()

    files = run("dpkg-query", "-L", PKG).stdout.splitlines()
    run("dpkg", "--purge", PKG)
    check_purged(files)

    # Installing again gives the kept database back to the (new) user.
    run("dpkg", "-i", main[0])
    assert owner(STATE) == (USER, USER, 0o700)
    assert owner(STATE / "stanzagate.db")[0] == USER
    assert owner(STATE / "secret.key")[0] == USER
    run("dpkg", "--purge", PKG)
