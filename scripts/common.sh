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
	local want have
	want="$*"
	mkdir -p "$dir"
	have=
	if [ -e "$dir/config.status" ]; then
		have=$(cd "$dir" && ./config.status --config | tr -d "'")
	fi
	if [ ! -e "$dir/config.status" ] || [ "$sg_srcdir/configure" -nt "$dir/config.status" ] ||
		[ "$have" != "$want" ]; then
		echo "configure: $want (in $dir)"
		(cd "$dir" && "$sg_srcdir/configure" "$@")
	fi
}
