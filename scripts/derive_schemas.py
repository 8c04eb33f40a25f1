#!/usr/bin/env python3
"""Derive asklake's compact Security Lake schema files from the reference material.

Input (read-only, not needed at run time):
  ../shared/reference/security-lake/amazon_security_lake_table_us_east_1_<source>_2_0.json  (source version 2)
  ../shared/reference/security-lake/v1_columns_from_samples.tsv                             (source version 1)
Output:
  core/data/schema/v2.tsv and core/data/schema/v1.tsv: one row per top-level column,
  `source<TAB>column<TAB>hive type`, the type fully nested (struct<a:string,b:array<struct<...>>>).

The v1 tables are the union of the OCSF classes seen in AWS's samples for that source (CloudTrail mixes three),
plus the partition columns region, accountid and eventday. core/tests/schema_reference.rs checks the output
against the reference recursively; re-run this script when the reference changes.
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.path.join(ROOT, "..", "shared", "reference", "security-lake")
OUT = os.path.join(ROOT, "core", "data", "schema")

V2_SOURCES = [
    "cloud_trail_mgmt",
    "lambda_execution",
    "s3_data",
    "vpc_flow",
    "route53",
    "sh_findings",
    "eks_audit",
    "waf",
]
V1_SOURCES = {"cloud_trail_mgmt": "cloud_trail_mgmt_1_0", "vpc_flow": "vpc_flow_1_0"}


def v2_type(col):
    t = col["type"]
    if t == "struct":
        return "struct<" + ",".join(f"{f['name']}:{v2_type(f)}" for f in col["fields"]) + ">"
    if t == "array<struct>":
        return "array<struct<" + ",".join(f"{f['name']}:{v2_type(f)}" for f in col["fields"]) + ">>"
    return t


def v1_tree(rows):
    """rows: [(path, type)] in file order -> ordered tree {name: [type, children]}"""
    tree = {}
    for path, typ in rows:
        parts = path.replace("[]", "").split(".")
        node = tree
        for p in parts[:-1]:
            node = node[p][1]
        leaf = parts[-1]
        if leaf in node:
            if node[leaf][0] != typ:
                sys.exit(f"conflicting v1 types for {path}: {node[leaf][0]} vs {typ}")
        else:
            node[leaf] = [typ, {}]
    return tree


def v1_type(typ, children):
    if typ == "float":
        return "float"
    if typ.startswith("timestamp"):
        return "timestamp"
    if typ == "struct":
        return "struct<" + ",".join(f"{n}:{v1_type(t, c)}" for n, (t, c) in children.items()) + ">"
    if typ == "array<struct>":
        return "array<struct<" + ",".join(f"{n}:{v1_type(t, c)}" for n, (t, c) in children.items()) + ">>"
    return typ


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "v2.tsv"), "w") as out:
        out.write("# derived by scripts/derive_schemas.py from shared/reference/security-lake/*_2_0.json\n")
        for src in V2_SOURCES:
            path = os.path.join(REF, f"amazon_security_lake_table_us_east_1_{src}_2_0.json")
            with open(path) as f:
                doc = json.load(f)
            out.writelines(f"{src}\t{col['name']}\t{v2_type(col)}\n" for col in doc["columns"])

    rows_by_source = {s: [] for s in V1_SOURCES}
    with open(os.path.join(REF, "v1_columns_from_samples.tsv")) as f:
        next(f)
        for line in f:
            sample, path, typ = line.rstrip("\n").split("\t")
            for src, prefix in V1_SOURCES.items():
                if sample.startswith(prefix + " "):
                    rows_by_source[src].append((path, typ))
    with open(os.path.join(OUT, "v1.tsv"), "w") as out:
        out.write(
            "# derived by scripts/derive_schemas.py from shared/reference/security-lake/v1_columns_from_samples.tsv\n"
        )
        for src in V1_SOURCES:
            tree = v1_tree(rows_by_source[src])
            for name, (typ, children) in tree.items():
                out.write(f"{src}\t{name}\t{v1_type(typ, children)}\n")
            out.writelines(f"{src}\t{part}\tstring\n" for part in ("region", "accountid", "eventday"))


if __name__ == "__main__":
    main()
