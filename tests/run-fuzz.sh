#!/bin/bash
# Fuzz smoke test: build the libFuzzer targets with clang in their own build
# directory and run each tests/fuzz/fuzz_* for a short while.
#
#   tests/run-fuzz.sh [seconds-per-target]     (default $FUZZ_TIME or 10)
#
# A target's seed corpus is tests/fuzz/corpus/<name>/ when present (read
# only: new inputs go to the build directory) and its dictionary
# tests/fuzz/<name>.dict. Crashes are saved as build-fuzz/artifacts/<name>/.
# Prints "fuzz: N passed, N failed" last; exits non-zero on any failure.
set -uo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/../scripts/common.sh"

seconds=${1:-${FUZZ_TIME:-10}}
builddir=${FUZZ_BUILD_DIR:-$sg_srcdir/build-fuzz}
srcdir=$sg_srcdir

fail() {
	echo "run-fuzz.sh: $*" >&2
	echo "fuzz: 0 passed, 1 failed"
	exit 1
}

mapfile -t sources < <(cd "$srcdir" && ls tests/fuzz/fuzz_*.c tests/fuzz/fuzz_*.cc 2>/dev/null)
if [ "${#sources[@]}" -eq 0 ]; then
	echo "run-fuzz.sh: no fuzz targets (tests/fuzz/fuzz_*.c) yet"
	echo "fuzz: 0 passed, 0 failed"
	exit 0
fi
targets=()
for s in "${sources[@]}"; do
	targets+=("${s%.*}")
done

command -v clang >/dev/null || fail "clang not installed (scripts/install-deps.sh)"

if [ -e "$srcdir/config.status" ]; then
	# The sources are configured in-tree, so automake refuses an out-of-tree
	# build of them: build a copy of the tree instead.
	copy=$builddir/src
	echo "run-fuzz.sh: source tree configured in-tree; building a copy in $copy"
	mkdir -p "$copy"
	(cd "$srcdir" && git ls-files -co --exclude-standard -z 2>/dev/null |
		tar --null -T - -cf -) | (cd "$copy" && tar -xf -) ||
		fail "could not copy the source tree"
	(cd "$copy" && { [ -x configure ] || ./autogen.sh; }) || fail "autogen failed"
	(cd "$copy" && { [ -e config.status ] || CC=clang CXX=clang++ ./configure --enable-fuzzing; }) ||
		fail "configure --enable-fuzzing failed"
	objdir=$copy
else
	sg_autogen_if_needed || fail "autogen failed"
	sg_configure "$builddir" CC=clang CXX=clang++ --enable-fuzzing || fail "configure --enable-fuzzing failed"
	objdir=$builddir
fi

echo "run-fuzz.sh: building ${targets[*]}"
make -C "$objdir" -j"$(nproc 2>/dev/null || echo 2)" "${targets[@]}" || fail "building the fuzzers failed"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

passed=0
failed=0
failed_names=()
for t in "${targets[@]}"; do
	name=$(basename "$t")
	bin=$objdir/$t
	work=$builddir/corpus/$name
	art=$builddir/artifacts/$name
	mkdir -p "$work" "$art"
	args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$art/" "$work")
	[ -d "$srcdir/tests/fuzz/corpus/$name" ] && args+=("$srcdir/tests/fuzz/corpus/$name")
	[ -f "$srcdir/tests/fuzz/$name.dict" ] && args=(-dict="$srcdir/tests/fuzz/$name.dict" "${args[@]}")
	echo "---- $name (${seconds}s)"
	if "$bin" "${args[@]}" >"$builddir/$name.log" 2>&1; then
		passed=$((passed + 1))
		echo "PASS: $name ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$builddir/$name.log" | grep -Eo '[0-9]+$' || echo '?') runs)"
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		echo "FAIL: $name; its output ($builddir/$name.log) ends:"
		tail -n 60 "$builddir/$name.log"
		ls "$art"
	fi
done

echo "run-fuzz.sh: ${#targets[@]} targets, ${seconds}s each${failed_names[*]:+; failed: ${failed_names[*]}}"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
