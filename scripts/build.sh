#!/bin/bash
# Build stanzagate: autogen (when needed), configure, make.
#
#   scripts/build.sh [configure args...]
#
# Builds out of tree in ./build (or $STANZAGATE_BUILD_DIR); the daemon ends
# up as build/stanzagate, which is where the tests and the demo look for it.
# If the source tree was configured in-tree by hand, that build is used
# instead, since automake refuses a second, out-of-tree one.
# With CI=true, --enable-werror is added.
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
cd "$srcdir"

if [ -e "$srcdir/config.status" ]; then
	builddir=$srcdir
	echo "build.sh: source tree is configured in-tree; building there"
else
	builddir=${STANZAGATE_BUILD_DIR:-$srcdir/build}
fi

# autogen only when configure is missing or older than its inputs.
need_autogen=no
if [ ! -x configure ]; then
	need_autogen=yes
else
	for f in configure.ac Makefile.am am/*.am m4/*.m4; do
		if [ -e "$f" ] && [ "$f" -nt configure ]; then
			need_autogen=yes
			break
		fi
	done
fi
if [ "$need_autogen" = yes ]; then
	echo "build.sh: ./autogen.sh"
	./autogen.sh
fi

args=("$@")
if [ "${CI:-}" = true ]; then
	args+=(--enable-werror)
fi

mkdir -p "$builddir"
cd "$builddir"
# Reconfigure when the arguments changed (config.status remembers them) or
# configure is newer than the last run; otherwise make's own rules rerun
# what is needed.
want="${args[*]+"${args[*]}"}"
have=$( [ -e config.status ] && ./config.status --config | tr -d "'" || true)
if [ ! -e config.status ] || [ "$srcdir/configure" -nt config.status ] ||
	[ "$have" != "$want" ]; then
	echo "build.sh: configure $want (in $builddir)"
	"$srcdir/configure" "${args[@]+"${args[@]}"}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs"
echo "build.sh: built $builddir/stanzagate"
