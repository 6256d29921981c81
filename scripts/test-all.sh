#!/bin/bash
# Everything CI runs, in order: install dependencies, build, unit tests
# (make check), integration tests (pytest against a private Prosody), the
# Debian package (built, installed, run and purged), a short chaos run and a
# short fuzz run. Every tier runs even if an earlier one failed, except
# those that need a build that failed. The last line is the summary:
#     total: N passed, N failed, N skipped
# counting tests (unit, integration and package tests, fuzz targets; a
# tier that fails before it can count its tests counts as one failure).
#
#   sudo scripts/test-all.sh
#
# Environment: CI=true adds --enable-werror; FUZZ_TIME (seconds per fuzz
# target, default 10); PYTEST_ARGS (extra pytest arguments, e.g. "-k echo").
set -uo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
cd "$sg_srcdir" || exit 1

builddir=$(sg_builddir)
logdir=$builddir/test-logs
PYTHON=/usr/bin/python3 # Debian's: the one with python3-slixmpp

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
make -C "$builddir" -j"$(nproc 2>/dev/null || echo 2)" check AM_COLOR_TESTS=no 2>&1 | tee "$logdir/unit.out"
rc=${PIPESTATUS[0]}
# Count the checks inside each Check program ("N%: Checks: N, Failures: N,
# Errors: N" in its .log), or the program itself when it has no such line.
read -r u_pass u_fail u_skip < <("$PYTHON" - "$builddir" <<'PY'
import re, sys
from pathlib import Path
p = f = s = 0
for trs in Path(sys.argv[1]).glob("tests/unit/*.trs"):
    results = re.findall(r"^:test-result: (\w+)", trs.read_text(errors="replace"), re.M)
    log = trs.with_suffix(".log")
    m = re.findall(r"\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)",
                   log.read_text(errors="replace") if log.exists() else "")
    if m:
        for checks, fails, errs in m:
            p += int(checks) - int(fails) - int(errs)
            f += int(fails) + int(errs)
        if "PASS" not in results and "SKIP" not in results and not any(int(x[1]) + int(x[2]) for x in m):
            f += 1  # the program failed outside its checks (crash, leak)
    else:
        for r in results:
            if r in ("PASS", "XFAIL"):
                p += 1
            elif r == "SKIP":
                s += 1
            else:
                f += 1
print(p, f, s)
PY
)
if [ "$rc" -ne 0 ]; then
	[ -f "$builddir/test-suite.log" ] && cat "$builddir/test-suite.log"
	[ "$u_fail" -eq 0 ] && u_fail=1
fi
tier_result unit "$u_pass" "$u_fail" "$u_skip"

# A pytest tier: runs the test files under $2 with a time limit of $3
# seconds and counts their tests from the JUnit report.
pytest_tier() { # name dir timeout
	local name=$1 dir=$2 limit=$3 junit=$logdir/$1.xml rc p f s
	local pyargs=(-p no:cacheprovider -ra --junitxml="$junit" -o junit_family=xunit2)
	rm -f "$junit"
	if "$PYTHON" -c 'import pytest_timeout' 2>/dev/null; then
		pyargs+=(--timeout=300)
	fi
	# shellcheck disable=SC2086 # PYTEST_ARGS is split on purpose
	timeout "$limit" "$PYTHON" -m pytest "${pyargs[@]}" ${PYTEST_ARGS:-} "$dir"
	rc=$?
	read -r p f s < <("$PYTHON" - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 0, 0); sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = s = 0
for su in suites:
    t += int(su.get("tests", 0)); s += int(su.get("skipped", 0))
    f += int(su.get("failures", 0)) + int(su.get("errors", 0))
print(max(t - f - s, 0), f, s)
PY
)
	# 5 = no tests collected: not a failure of this tier.
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && [ "$f" -eq 0 ]; then
		echo "pytest exited with status $rc"
		f=1
	fi
	tier_result "$name" "$p" "$f" "$s"
}

# ---- integration tests
note "integration tests (pytest)"
export STANZAGATE_BIN=$builddir/stanzagate
export PYTHONDONTWRITEBYTECODE=1
pytest_tier integration tests/integration 1500

# ---- the Debian package: built from a copy of the tree, installed on this
# machine, run, purged (tests/package/test_deb.py; needs root)
note "Debian package (tests/package)"
pytest_tier package tests/package 900

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

# ---- fuzz smoke
note "fuzz smoke (tests/run-fuzz.sh)"
"$sg_srcdir/tests/run-fuzz.sh" 2>&1 | tee "$logdir/fuzz.out"
rc=${PIPESTATUS[0]}
line=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed' "$logdir/fuzz.out" | tail -n 1)
f_pass=$(echo "$line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+' || echo 0)
f_fail=$(echo "$line" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+' || echo 0)
if [ "$rc" -ne 0 ] && [ "${f_fail:-0}" -eq 0 ]; then
	f_fail=1
fi
tier_result fuzz "${f_pass:-0}" "${f_fail:-0}" 0

summary
