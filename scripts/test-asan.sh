#!/bin/bash
# The sanitizer tier: build with clang, AddressSanitizer and UBSan in
# build-asan/ (SANITIZE=1 scripts/build.sh), then run the unit tests and the
# integration tests on that build. An ASan or UBSan error stops the process
# that hit it (halt_on_error) and a leak at exit is an error too: the unit
# test fails, or the integration test that ran the daemon fails at teardown
# with the report printed ("SanitizerReport", tests/integration/conftest.py).
# Only leaks owned by libraries are suppressed (tests/integration/lsan.supp).
#
#   scripts/test-asan.sh              the unit tests and the subset below
#   scripts/test-asan.sh --all        the unit tests and every integration test
#   scripts/test-asan.sh -- ARGS...   the unit tests and pytest ARGS instead
#
# Prints "asan: N passed, N failed, N skipped" last (the build counts as
# one test; then the unit checks and the integration tests); exits non-zero
# on any failure. Environment: CI=true adds --enable-werror; ASAN_BUILD_DIR
# (default build-asan); ASAN_TIMEOUT (seconds for the integration tests,
# default 1200, 2400 with --all); STANZAGATE_TIMEOUT_SCALE (default 2: every wait of the
# harness doubled, as the daemon runs slower under ASan).
set -uo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
cd "$sg_srcdir" || exit 1

# The integration subset run by default (13 minutes on two busy cores):
# the core (messages, presence, rooms, commands, admin, registration,
# reload, the durable queues across restarts), IRC with its rooms, email and
# SMS (gammu-smsd on SQLite). Left out: the InspIRCd/Atheme, persistence and
# libgammu-driver files, SMS on PostgreSQL (the same daemon code) and the
# tests that mostly wait out a timeout. --all runs everything (20 minutes
# when measured; its timeout is 2400 s).
SUBSET_SKIPS=(pgsql never_ended refused_after_data smtp_down_then_up given_up_after_receipt)
skip_expr=$(printf ' and not %s' "${SUBSET_SKIPS[@]}")
SUBSET=(
	tests/integration/test_addresses.py tests/integration/test_admin.py
	tests/integration/test_clients.py tests/integration/test_commands.py
	tests/integration/test_contact_presence.py tests/integration/test_core.py
	tests/integration/test_delivery.py tests/integration/test_email.py
	tests/integration/test_harness.py tests/integration/test_history.py
	tests/integration/test_irc.py tests/integration/test_irc_caps.py
	tests/integration/test_irc_muc.py tests/integration/test_link.py
	tests/integration/test_metrics.py tests/integration/test_reload.py
	tests/integration/test_rooms.py tests/integration/test_roster.py
	tests/integration/test_sms.py tests/integration/test_subscriptions.py
	-k "${skip_expr# and }"
)

builddir=${ASAN_BUILD_DIR:-$sg_srcdir/build-asan}
logdir=$builddir/test-logs
limit=${ASAN_TIMEOUT:-1200}
case "${1:-}" in
--all) tests=(tests/integration) limit=${ASAN_TIMEOUT:-2400} ;;
--) shift; tests=("$@") ;;
'') tests=("${SUBSET[@]}") ;;
*) echo "usage: $0 [--all | -- PYTEST-ARGS...]" >&2; exit 2 ;;
esac

pass=0
fail=0
skip=0
finish() {
	echo "asan: $pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
	exit
}

echo "== asan: build ($builddir)"
if ! ASAN_BUILD_DIR=$builddir SANITIZE=1 "$sg_srcdir/scripts/build.sh"; then
	fail=1
	finish
fi
pass=1
mkdir -p "$logdir"

# halt_on_error: the first error ends the process; detect_leaks: a leak at
# exit is an error. The integration fixtures add log_path and suppressions.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export STANZAGATE_TIMEOUT_SCALE=${STANZAGATE_TIMEOUT_SCALE:-2}

echo "== asan: unit tests (make check)"
sg_run_unit_tests "$builddir" "$logdir/unit.out"
pass=$((pass + sg_pass))
fail=$((fail + sg_fail))
skip=$((skip + sg_skip))

echo "== asan: integration tests (pytest ${tests[*]})"
export STANZAGATE_BIN=$builddir/stanzagate
sg_run_pytest "$limit" "$logdir/integration.xml" "${tests[@]}"
pass=$((pass + sg_pass))
fail=$((fail + sg_fail))
skip=$((skip + sg_skip))
finish
