#!/bin/bash
# Try stanzagate: install what it needs, build it, then run a private
# Prosody (loopback only, demo accounts), an ngircd for the IRC gateway and
# gammu-smsd on gammu's dummy phone for the SMS gateway (each when the build
# has that backend), with the gateway in front of you until Ctrl-C. Safe to
# run again: accounts, passwords and ports are kept in build/demo-state/
# (or $DEMO_STATE).
#
#   sudo scripts/demo.sh
#
# While it runs, an SMS "arrives" for alice with the command it prints:
#   sudo /usr/bin/python3 scripts/demo.py --state build/demo-state \
#     --sms-in +15557654321 'Hello from a phone'
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"

"$sg_srcdir/scripts/install-deps.sh"
"$sg_srcdir/scripts/build.sh"

builddir=$(sg_builddir)
exec /usr/bin/python3 "$sg_srcdir/scripts/demo.py" \
	--state "${DEMO_STATE:-$builddir/demo-state}" \
	--bin "$builddir/stanzagate"
