# Sourced by the scripts in scripts/ and tests/run-fuzz.sh: where things are.
# shellcheck shell=bash

# The source tree (the repository root).
sg_srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The main build directory: build/ (out of tree), or the source tree itself
# when someone configured it in-tree (automake then refuses a second,
# out-of-tree build of the same sources). $STANZAGATE_BUILD_DIR overrides.
sg_builddir() {
	if [ -n "${STANZAGATE_BUILD_DIR:-}" ]; then
		printf '%s\n' "$STANZAGATE_BUILD_DIR"
	elif [ -e "$sg_srcdir/config.status" ]; then
		printf '%s\n' "$sg_srcdir"
	else
		printf '%s\n' "$sg_srcdir/build"
	fi
}

# Run ./autogen.sh when configure is missing or older than its inputs.
sg_autogen_if_needed() {
	local f need=no
	if [ ! -x "$sg_srcdir/configure" ]; then
		need=yes
	else
		for f in "$sg_srcdir"/configure.ac "$sg_srcdir"/Makefile.am "$sg_srcdir"/am/*.am "$sg_srcdir"/m4/*.m4; do
			if [ -e "$f" ] && [ "$f" -nt "$sg_srcdir/configure" ]; then
				need=yes
				break
			fi
		done
	fi
	if [ "$need" = yes ]; then
		echo "autogen: (cd $sg_srcdir && ./autogen.sh)"
		(cd "$sg_srcdir" && ./autogen.sh)
	fi
}

# Configure $1 (a build directory) with the remaining arguments, unless it
# is already configured with exactly those and configure has not changed.
sg_configure() {
	local dir=$1
	shift
	local want
	want="$*"
	mkdir -p "$dir"
	local have='' was_configured=no
	if [ -e "$dir/config.status" ]; then
		was_configured=yes
		have=$(cd "$dir" && ./config.status --config | tr -d "'")
	fi
	if [ ! -e "$dir/config.status" ] || [ "$sg_srcdir/configure" -nt "$dir/config.status" ] ||
		[ "$have" != "$want" ]; then
		echo "configure: $want (in $dir)"
		(cd "$dir" && "$sg_srcdir/configure" "$@") || return 1
		# make does not track compiler flags: objects built with the
		# old arguments (say, without -Werror) must be rebuilt.
		if [ "$was_configured" = yes ] && [ "$have" != "$want" ]; then
			make -C "$dir" clean >/dev/null
		fi
	fi
}

# Debian's Python: the one with python3-slixmpp for the integration tests.
PYTHON=/usr/bin/python3

# "pass fail skip" of the last make check in build directory $1: the checks
# inside each Check program ("N%: Checks: N, Failures: N, Errors: N" in its
# .log), or the program itself when it has no such line.
sg_count_unit_tests() {
	"$PYTHON" - "$1" <<'PY'
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
}

# "pass fail skip" of a pytest JUnit XML file $1 (0 0 0 when unreadable).
sg_count_junit() {
	"$PYTHON" - "$1" <<'PY'
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
}

# Runs make check in build directory $1 (its output also into file $2) and
# sets sg_pass, sg_fail and sg_skip; a failed make check is at least one
# failure.
sg_run_unit_tests() {
	local dir=$1 out=$2 rc
	make -C "$dir" -j"$(nproc 2>/dev/null || echo 2)" check AM_COLOR_TESTS=no 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	# shellcheck disable=SC2034 # sg_pass, sg_skip: read by the caller
	read -r sg_pass sg_fail sg_skip < <(sg_count_unit_tests "$dir")
	if [ "$rc" -ne 0 ]; then
		[ -f "$dir/test-suite.log" ] && cat "$dir/test-suite.log"
		[ "$sg_fail" -eq 0 ] && sg_fail=1
	fi
}

# Runs pytest with the remaining arguments for at most $1 seconds, writing
# JUnit XML file $2, and sets sg_pass, sg_fail and sg_skip. The daemon is
# $STANZAGATE_BIN. No tests collected (status 5) is not a failure.
sg_run_pytest() {
	local limit=$1 junit=$2 rc
	shift 2
	local pyargs=(-p no:cacheprovider -ra --junitxml="$junit" -o junit_family=xunit2)
	if "$PYTHON" -c 'import pytest_timeout' 2>/dev/null; then
		pyargs+=(--timeout=300)
	fi
	rm -f "$junit"
	PYTHONDONTWRITEBYTECODE=1 timeout "$limit" "$PYTHON" -m pytest "${pyargs[@]}" "$@"
	rc=$?
	# shellcheck disable=SC2034 # sg_pass, sg_skip: read by the caller
	read -r sg_pass sg_fail sg_skip < <(sg_count_junit "$junit")
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && [ "$sg_fail" -eq 0 ]; then
		echo "pytest exited with status $rc"
		sg_fail=1
	fi
}
