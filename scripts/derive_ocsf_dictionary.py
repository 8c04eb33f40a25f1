#!/usr/bin/env python3
"""Derives the compact OCSF dictionary used in prompts from the OCSF 1.1.0 reference extract.

Reads ../shared/reference/ocsf/ocsf_1.1.0_reference.md and writes core/data/ocsf/dictionary.tsv:
one row per attribute, `scope<TAB>attribute<TAB>type<TAB>description`, where scope is `class:<name>` or
`object:<name>` and description is the first sentence, cut to 110 characters. Also writes the enumerations
listed under each class (`enum:<class>` rows, attribute = the *_id name, description = "1=Create, 2=Read, …").

Usage: python3 scripts/derive_ocsf_dictionary.py [REFERENCE_MD] [OUT_TSV]
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = (
    Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/reference/ocsf/ocsf_1.1.0_reference.md"
)
OUT = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "core/data/ocsf/dictionary.tsv"


def short(desc: str) -> str:
    desc = re.sub(r"\s+", " ", desc).strip()
    m = re.match(r"(.+?[.!?])(\s|$)", desc)
    s = m.group(1) if m else desc
    if len(s) > 110:
        s = s[:107].rstrip() + "..."
    return s


def main() -> None:
    rows = []
    scope = None
    for line in SRC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^### .*\(`(\w+)`, class_uid (\d+)", line)
        if m:
            scope = f"class:{m.group(1)}"
            continue
        m = re.match(r"^#### object `(\w+)`", line)
        if m:
            scope = f"object:{m.group(1)}"
            continue
        m = re.match(r"^(\w+_id): (\d+=.*)$", line)
        if m and scope and scope.startswith("class:"):
            rows.append((f"enum:{scope[6:]}", m.group(1), "integer_t", m.group(2)))
            continue
        if (
            scope
            and line.startswith("| ")
            and not line.startswith("| attribute")
            and not line.startswith("|---")
        ):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 4:
                rows.append((scope, cells[0], cells[1], short(cells[-1])))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as f:
        f.write(
            "# Derived by scripts/derive_ocsf_dictionary.py from the OCSF 1.1.0 reference (Apache-2.0). Do not edit.\n"
        )
        for r in rows:
            f.write("\t".join(x.replace("\t", " ") for x in r) + "\n")
    print(f"{len(rows)} rows -> {OUT}")


if __name__ == "__main__":
    main()
