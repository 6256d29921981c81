#!/bin/sh
# docs/xeps.md and stanzagate.doap say the same: the same XEPs, each with
# the same status and version (the DOAP file is what the XSF's software list
# and client authors read, so a stale one misleads them), and neither
# describes as to come what the tree already has ("in progress", "not
# yet" for a backend or store that exists). Prints each difference and fails.
#
#   tests/unit/check-xeps.sh [source tree]
top=${1:-${srcdir:-.}}
cd "$top" || exit 2
exec "${PYTHON:-python3}" - <<'PY'
import re, sys
import xml.etree.ElementTree as ET
from pathlib import Path

bad = []
md = {}
for line in Path("docs/xeps.md").read_text().splitlines():
    m = re.match(r"\| \[(\d{4})\]\([^)]*\) \| [^|]* \| ([^|]*) \| (\w+) \|", line)
    if m:
        md[m.group(1)] = (m.group(3), m.group(2).split()[0])  # "0.4 (urn:...)": 0.4

NS = {"xmpp": "https://linkmauve.fr/ns/xmpp-doap#", "doap": "http://usefulinc.com/ns/doap#",
      "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}
doap = ET.parse("stanzagate.doap").getroot()
dp = {}
for x in doap.iter(f"{{{NS['xmpp']}}}SupportedXep"):
    url = x.find("xmpp:xep", NS).get(f"{{{NS['rdf']}}}resource")
    num = re.search(r"xep-(\d{4})", url).group(1)
    dp[num] = (x.findtext("xmpp:status", "", NS), x.findtext("xmpp:version", "", NS))

for num in sorted(set(md) | set(dp)):
    if num not in dp:
        bad.append(f"XEP-{num}: in docs/xeps.md, not in stanzagate.doap")
    elif num not in md:
        bad.append(f"XEP-{num}: in stanzagate.doap, not in docs/xeps.md")
    elif md[num] != dp[num]:
        bad.append(f"XEP-{num}: docs/xeps.md says {md[num]}, stanzagate.doap {dp[num]}")

# What exists is not "in progress": each backend folder and store engine.
have = [p.name for p in Path("backends").iterdir() if p.is_dir()]
if Path("src/store/store_pg.c").exists():
    have.append("postgresql")
texts = {"docs/xeps.md": Path("docs/xeps.md").read_text(),
         "stanzagate.doap": Path("stanzagate.doap").read_text(),
         "docs/architecture.md": Path("docs/architecture.md").read_text()}
for name, text in texts.items():
    for sentence in re.split(r"(?<=[.;\n])\s", text):
        low = sentence.lower()
        if re.search(r"in progress|\bplanned\b|no \w+ yet|not in the code yet", low) is None:
            continue
        for net in have:
            key = {"email": "email", "postgresql": "postgresql"}.get(net, net)
            if key in low and "statuses:" not in low:
                bad.append(f"{name}: says {net} is to come: {sentence.strip()[:160]}")

for b in bad:
    print("check-xeps:", b)
print(f"check-xeps: {len(md)} XEPs in docs/xeps.md, {len(dp)} in stanzagate.doap, "
      f"{len(bad)} differences")
sys.exit(1 if bad else 0)
PY
