#!/bin/bash
# Run the benchmarks (see bench/README.md).
#
#   bench/run.sh                 all three: echo, callgrind, startup
#   bench/run.sh echo [ARGS]     echo round trip, native     (bench/echo_throughput.py ARGS)
#   bench/run.sh callgrind [ARGS] the same under callgrind   (... --callgrind ARGS)
#   bench/run.sh startup [ARGS]  start-up with 100 000 users (bench/startup.py ARGS)
#   bench/run.sh irc [ARGS]      IRC: stanzagate and Biboumi side by side (bench/irc_vs_biboumi.py ARGS)
#   bench/run.sh sms [ARGS]      SMS: durable texts/s into gammu-smsd's outbox (SQLite,
#                                PostgreSQL), the loop while a modem is slow (bench/sms.py ARGS)
#   bench/run.sh email [ARGS]    email: new-mail latency, mails/s both ways, idle accounts,
#                                through a private Dovecot + SMTP server (bench/mail_gateway.py ARGS)
#   bench/run.sh castore [N]     libcurl: N TLS connections at once, CA store parsed per connection
#                                or shared (bench/curl_ca_store.c; needs cc, openssl)
#
# The daemon is $STANZAGATE_BIN, else the build that scripts/build.sh makes
# (built first when missing). Needs prosody, valgrind and Debian's python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/common.sh
. "$here/../scripts/common.sh"

py=/usr/bin/python3
if [ -z "${STANZAGATE_BIN:-}" ]; then
	STANZAGATE_BIN=$(sg_builddir)/stanzagate
	if [ ! -x "$STANZAGATE_BIN" ]; then
		"$here/../scripts/build.sh"
	fi
fi
export STANZAGATE_BIN
echo "bench: $STANZAGATE_BIN ($(git -C "$here" describe --always --dirty 2>/dev/null || echo '?'))"

what=${1:-all}
[ $# -gt 0 ] && shift
case $what in
echo) exec "$py" "$here/echo_throughput.py" "$@" ;;
callgrind) exec "$py" "$here/echo_throughput.py" --callgrind "$@" ;;
startup) exec "$py" "$here/startup.py" "$@" ;;
irc) exec "$py" "$here/irc_vs_biboumi.py" "$@" ;;
sms) exec "$py" "$here/sms.py" "$@" ;;
email) exec "$py" "$here/mail_gateway.py" "$@" ;;
castore)
	tmp=$(mktemp -d)
	trap 'kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
	cc -O2 -o "$tmp/curl_ca_store" "$here/curl_ca_store.c" $(pkg-config --cflags --libs libcurl)
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
		-days 1 -subj /CN=localhost 2>/dev/null
	port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	timeout 300 openssl s_server -quiet -accept "127.0.0.1:$port" -cert "$tmp/cert.pem" \
		-key "$tmp/key.pem" >/dev/null 2>&1 &
	server=$!
	sleep 1
	for off in 0 1; do
		"$tmp/curl_ca_store" "https://127.0.0.1:$port/" "${1:-200}" $off
	done
	;;
all)
	"$py" "$here/echo_throughput.py" "$@"
	echo
	"$py" "$here/echo_throughput.py" --callgrind
	echo
	"$py" "$here/startup.py"
	;;
*)
	sed -n '2,12p' "$0" >&2
	exit 2
	;;
esac
