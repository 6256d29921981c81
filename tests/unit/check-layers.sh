#!/bin/sh
# The core's includes run downward (docs/architecture.md, "The core's
# layers"): a file may include a header of its own layer or of a lower one,
# never of a higher one; a backend includes driver.h and nothing else of
# the core. Prints each include that breaks this and fails.
#
#   tests/unit/check-layers.sh [source tree]
top=${1:-${srcdir:-.}}
cd "$top" || exit 2
exec "${PYTHON:-python3}" - <<'PY'
import re, sys
from pathlib import Path

# Lowest first. A file's layer is its folder's, except the files named here.
LAYERS = {
    "src/util": 0,
    "src/driver.h": 1,
    "src/conf": 2, "src/store": 2,
    "src/xmpp": 3, "src/commands": 3,
    "src/core": 4,
    "src/users": 5, "src/rooms": 5,
    "src": 6,  # the daemon, the router (gateway.c), metrics
}

def layer(path):
    p = path.as_posix()
    while p:
        if p in LAYERS:
            return LAYERS[p]
        p = p.rpartition("/")[0]
    return None

headers = {}
for h in Path("src").rglob("*.h"):
    if h.name in headers:
        sys.exit(f"check-layers: two headers named {h.name}: {headers[h.name]} and {h}")
    headers[h.name] = h

bad = 0
checked = 0
for f in sorted(Path("src").rglob("*.[ch]")) + sorted(Path("backends").rglob("*.[ch]")):
    backend = f.parts[0] == "backends"
    mine = None if backend else layer(f)
    for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
        if not m or m.group(1) == "config.h":
            continue
        name = m.group(1)
        target = headers.get(name)
        if target is None:
            continue  # the file's own folder (a backend's headers)
        checked += 1
        if backend:
            if name != "driver.h":
                print(f"{f}:{n}: a backend includes {target}: it sees the core only through src/driver.h")
                bad += 1
        elif layer(target) > mine:
            print(f"{f}:{n}: includes {target} (layer {layer(target)}) from layer {mine}")
            bad += 1
print(f"check-layers: {checked} includes of core headers, {bad} upward")
sys.exit(1 if bad else 0)
PY
