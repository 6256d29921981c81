#!/bin/bash
# Install every Debian package that the build, the tests and the demo need.
# Idempotent: does nothing (not even "apt-get update") when all are present.
# Runs as root, or re-executes itself through sudo.
#
# The servers among them (prosody, ngircd, biboumi, inspircd, atheme-services,
# postgresql, dovecot, ejabberd) are only used as private
# instances started by the tests and the demo, so the system services that
# their packages would start are kept stopped and disabled.
set -euo pipefail

PACKAGES=(
	# build
	build-essential autoconf automake libtool pkg-config
	libstrophe-dev libevent-dev libssl-dev libsqlite3-dev libpq-dev
	libinih-dev libsystemd-dev libc-ares-dev
	libgammu-dev libcurl4-openssl-dev libgmime-3.0-dev libphonenumber-dev
	# unit tests and fuzzers
	check clang libclang-rt-14-dev valgrind
	# integration tests
	python3-pytest python3-pytest-timeout python3-slixmpp python3-prometheus-client
	prosody lua-unbound sqlite3 ngircd biboumi openssl
	inspircd atheme-services
	gammu gammu-smsd libdbd-sqlite3
	# the email gateway's tests and demo: a private Dovecot (IMAP, LMTP) and
	# an SMTP submission server (aiosmtpd) delivering into it
	dovecot-imapd dovecot-lmtpd python3-aiosmtpd
	# XEP-0356 roster access in the test Prosody (mod_privilege), and
	# ejabberd's own mod_privilege (test_roster_ejabberd.py)
	prosody-modules ejabberd
	# a private DNS server with SRV records (RFC 6186 discovery)
	dnsmasq-base
	# private PostgreSQL clusters (gammu-smsd's pgsql service in the SMS tests,
	# the PostgreSQL store's unit and integration tests)
	postgresql postgresql-15
	# the Debian package (debian/, tests/package): build it and check it
	dpkg-dev debhelper lintian
)
SERVICES=(prosody ngircd biboumi inspircd atheme-services postgresql dovecot ejabberd)

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -- "$0" "$@"
	fi
	echo "install-deps.sh: must run as root (and sudo is not installed)" >&2
	exit 1
fi

missing() {
	local p status
	for p in "${PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$status" = installed ] || printf '%s\n' "$p"
	done
}

mapfile -t todo < <(missing)
if [ "${#todo[@]}" -eq 0 ]; then
	echo "install-deps.sh: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

echo "install-deps.sh: installing ${todo[*]}"
export DEBIAN_FRONTEND=noninteractive

# invoke-rc.d asks policy-rc.d whether a service may start; 101 = never.
# Put one in place for the duration of the install unless one exists.
own_policy=no
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	own_policy=yes
fi
cleanup() {
	if [ "$own_policy" = yes ]; then
		rm -f /usr/sbin/policy-rc.d
	fi
}
trap cleanup EXIT

# Refresh the package lists only when needed: never fetched, or a first
# install attempt fails (stale lists name versions the mirror dropped).
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
	apt-get update -q
fi
if ! apt-get install -y -q --no-install-recommends "${todo[@]}"; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${todo[@]}"
fi

# Belt and braces: if a service got started or enabled anyway (no
# policy-rc.d honoured, systemd present), stop and disable it.
for s in "${SERVICES[@]}"; do
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl disable --now "$s" >/dev/null 2>&1 || true
	else
		if [ -x "/etc/init.d/$s" ]; then
			"/etc/init.d/$s" stop >/dev/null 2>&1 || true
		fi
		update-rc.d "$s" disable >/dev/null 2>&1 || true
	fi
done

mapfile -t still < <(missing)
if [ "${#still[@]}" -ne 0 ]; then
	echo "install-deps.sh: still missing: ${still[*]}" >&2
	exit 1
fi
echo "install-deps.sh: done"
