#!/bin/bash
# Try stanzagate: install what it needs, build it, then run a private
# Prosody (loopback only, demo accounts) with the gateway in front of you
# until Ctrl-C. Safe to run again: accounts and passwords are kept in
# build/demo-state/ (or $DEMO_STATE).
#
#   sudo scripts/demo.sh
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"

"$sg_srcdir/scripts/install-deps.sh"
"$sg_srcdir/scripts/build.sh"

builddir=$(sg_builddir)
exec /usr/bin/python3 "$sg_srcdir/scripts/demo.py" \
	--state "${DEMO_STATE:-$builddir/demo-state}" \
	--bin "$builddir/stanzagate"
