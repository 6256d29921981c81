#!/bin/bash
# Build stanzagate: autogen (when needed), configure, make.
#
#   scripts/build.sh [configure args...]
#
# Builds out of tree in ./build (or $STANZAGATE_BUILD_DIR); the daemon ends
# up as build/stanzagate, which is where the tests and the demo look for it.
# If the source tree was configured in-tree by hand, that build is used
# instead (see scripts/common.sh). With CI=true, --enable-werror is added.
#
# With SANITIZE=1 it builds with clang, AddressSanitizer and UBSan
# (--enable-asan) in ./build-asan instead (or $ASAN_BUILD_DIR): the
# sanitizer tier of scripts/test-all.sh runs the tests on that build.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"

args=()
if [ "${SANITIZE:-}" = 1 ]; then
	builddir=${ASAN_BUILD_DIR:-$sg_srcdir/build-asan}
	args+=(CC=clang --enable-asan)
else
	builddir=$(sg_builddir)
fi
sg_autogen_if_needed

args+=("$@")
if [ "${CI:-}" = true ]; then
	args+=(--enable-werror)
fi
# CC and friends from the environment are remembered by config.status too.
sg_configure "$builddir" "${args[@]+"${args[@]}"}"

make -C "$builddir" -j"$(nproc 2>/dev/null || echo 2)"
echo "build.sh: built $builddir/stanzagate"
