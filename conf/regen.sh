#!/bin/sh
# Regenerates the files that come from the option tables (am/dist.am):
#   conf/stanzagate.conf.example    genconf example, whole
#   man/stanzagate.conf.5           genconf man, between the BEGIN and END
#                                   GENERATED markers; the rest is hand-written
# usage: regen.sh GENCONF SRCDIR OUTDIR   (OUTDIR = SRCDIR updates in place)
set -eu
if [ $# -ne 3 ]; then
	echo "usage: $0 GENCONF SRCDIR OUTDIR" >&2
	exit 2
fi
genconf=$1 src=$2 out=$3
mkdir -p "$out/conf" "$out/man"
tmp=$(mktemp "${TMPDIR:-/tmp}/regen.XXXXXX")
trap 'rm -f "$tmp" "$tmp.ex" "$tmp.man"' EXIT

"$genconf" example >"$tmp.ex"
"$genconf" man >"$tmp"
awk -v gen="$tmp" '
	/^\.\\" BEGIN GENERATED/ {
		print
		while ((getline line < gen) > 0)
			print line
		skip = 1
		found++
		next
	}
	/^\.\\" END GENERATED/ { skip = 0; found++ }
	!skip { print }
	END { if (found != 2) exit 3 }
' "$src/man/stanzagate.conf.5" >"$tmp.man" || {
	echo "$0: $src/man/stanzagate.conf.5 lacks the BEGIN/END GENERATED markers" >&2
	exit 1
}
cp "$tmp.ex" "$out/conf/stanzagate.conf.example"
cp "$tmp.man" "$out/man/stanzagate.conf.5"
