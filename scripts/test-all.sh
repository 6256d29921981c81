#!/bin/bash
# Everything CI runs, in order: install dependencies, build, unit tests
# (make check), integration tests (pytest against a private Prosody), the
# Debian package (built, installed, run and purged), a short chaos run, the
# sanitizer tier (scripts/test-asan.sh: an ASan + UBSan build, its unit tests
# and a subset of the integration tests) and a short fuzz run. Every tier
# runs even if an earlier one failed, except those that need a build that
# failed. The last line is the summary:
#     total: N passed, N failed, N skipped
# counting tests (unit, integration and package tests, fuzz targets, the
# sanitizer tier's build, unit and integration tests; a tier that fails
# before it can count its tests counts as one failure).
#
#   sudo scripts/test-all.sh
#
# Environment: CI=true adds --enable-werror; FUZZ_TIME (seconds per fuzz
# target, default 10); PYTEST_ARGS (extra pytest arguments, e.g. "-k echo");
# ASAN_ARGS (arguments of scripts/test-asan.sh, e.g. "--all").
set -uo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
cd "$sg_srcdir" || exit 1

builddir=$(sg_builddir)
logdir=$builddir/test-logs

total_pass=0
total_fail=0
total_skip=0
tiers=()

note() { printf '\n===== %s\n' "$*"; }
tier_result() { # name pass fail skip
	tiers+=("$(printf '%-12s %s passed, %s failed, %s skipped' "$1:" "$2" "$3" "$4")")
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
	total_skip=$((total_skip + $4))
}
# A tier whose script ends with "NAME: N passed, N failed[, N skipped]":
# closing_line_result NAME EXIT-STATUS OUTPUT-FILE (a failed script that
# counted no failure counts as one).
closing_line_result() {
	local line p f s
	line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed" "$3" | tail -n 1)
	p=$(echo "$line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || echo 0)
	f=$(echo "$line" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+' || echo 0)
	s=$(echo "$line" | grep -Eo '[0-9]+ skipped' | grep -Eo '[0-9]+' || echo 0)
	if [ "$2" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
		f=1
	fi
	tier_result "$1" "${p:-0}" "${f:-0}" "${s:-0}"
}
summary() {
	note "summary"
	printf '%s\n' "${tiers[@]}"
	echo "total: $total_pass passed, $total_fail failed, $total_skip skipped"
	[ "$total_fail" -eq 0 ]
	exit
}

# ---- dependencies
note "install dependencies"
if ! "$sg_srcdir/scripts/install-deps.sh"; then
	tier_result deps 0 1 0
	summary
fi

# ---- build
note "build"
if ! "$sg_srcdir/scripts/build.sh"; then
	tier_result build 0 1 0
	summary
fi
tier_result build 1 0 0
mkdir -p "$logdir"

# ---- unit tests
note "unit tests (make check)"
sg_run_unit_tests "$builddir" "$logdir/unit.out"
tier_result unit "$sg_pass" "$sg_fail" "$sg_skip"

# ---- integration tests
note "integration tests (pytest)"
export STANZAGATE_BIN=$builddir/stanzagate
# shellcheck disable=SC2086 # PYTEST_ARGS is split on purpose
sg_run_pytest 1500 "$logdir/integration.xml" ${PYTEST_ARGS:-} tests/integration
tier_result integration "$sg_pass" "$sg_fail" "$sg_skip"

# ---- the Debian package: built from a copy of the tree, installed on this
# machine, run, purged (tests/package/test_deb.py; needs root)
note "Debian package (tests/package)"
sg_run_pytest 900 "$logdir/package.xml" tests/package
tier_result package "$sg_pass" "$sg_fail" "$sg_skip"

# ---- chaos: a short run (tests/chaos/run.py; long runs are by hand)
note "chaos (tests/chaos/run.py --seconds 120)"
"$PYTHON" "$sg_srcdir/tests/chaos/run.py" --seconds "${CHAOS_SECONDS:-120}" \
	--seed "${CHAOS_SEED:-$RANDOM}" 2>&1 | grep -v '^<delay' | tee "$logdir/chaos.out"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ] && grep -Eq '^chaos: .* 0 lost, 0 duplicated$' "$logdir/chaos.out"; then
	tier_result chaos 1 0 0
else
	tier_result chaos 0 1 0
fi

# ---- sanitizers: ASan + UBSan in build-asan/ (scripts/test-asan.sh)
note "asan (scripts/test-asan.sh: build-asan/, unit tests, integration subset)"
# shellcheck disable=SC2086 # ASAN_ARGS is split on purpose
"$sg_srcdir/scripts/test-asan.sh" ${ASAN_ARGS:-} 2>&1 | tee "$logdir/asan.out"
closing_line_result asan "${PIPESTATUS[0]}" "$logdir/asan.out"

# ---- fuzz smoke
note "fuzz smoke (tests/run-fuzz.sh)"
"$sg_srcdir/tests/run-fuzz.sh" 2>&1 | tee "$logdir/fuzz.out"
closing_line_result fuzz "${PIPESTATUS[0]}" "$logdir/fuzz.out"

summary
