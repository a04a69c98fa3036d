#!/usr/bin/env python3
"""Compares the package lists of Plimsoll, Syft and Trivy by (purl type, namespace/name, version).

Usage: compare_packages.py DIR   (DIR holds plimsoll.json, syft.json, trivy.json from sbom.sh)
Prints per purl type the counts, and the packages only some tools found.
"""
import json, os, sys, urllib.parse
from collections import defaultdict

def key(purl):
    if not purl or not purl.startswith("pkg:"):
        return None
    body = purl[4:].split("?")[0].split("#")[0]
    ty, rest = body.split("/", 1)
    name, _, version = rest.rpartition("@")
    if not name:
        name, version = rest, ""
    name = urllib.parse.unquote(name)
    if ty == "pypi":
        name = name.lower().replace("_", "-").replace(".", "-")
    if ty == "deb" or ty == "rpm" or ty == "apk":
        name = name.split("/", 1)[-1]  # drop the distro namespace
    return ty, name, urllib.parse.unquote(version)

def load(d):
    out = {}
    p = json.load(open(os.path.join(d, "plimsoll.json")))
    out["plimsoll"] = {key(x["purl"]) for x in p["packages"]} - {None}
    s = json.load(open(os.path.join(d, "syft.json")))
    out["syft"] = {key(x.get("purl")) for x in s.get("artifacts", [])} - {None}
    t = json.load(open(os.path.join(d, "trivy.json")))
    out["trivy"] = {key(c.get("purl")) for c in t.get("components", [])} - {None}
    return out

def main():
    sets = load(sys.argv[1])
    types = sorted({k[0] for s in sets.values() for k in s})
    print(f"{'type':10} " + " ".join(f"{n:>9}" for n in sets))
    for ty in types:
        print(f"{ty:10} " + " ".join(f"{sum(1 for k in s if k[0] == ty):9}" for s in sets.values()))
    names = list(sets)
    for a in names:
        for b in names:
            if a == b:
                continue
            missing = sorted(sets[b] - sets[a])
            by_type = defaultdict(list)
            for k in missing:
                by_type[k[0]].append(f"{k[1]}@{k[2]}")
            for ty, items in sorted(by_type.items()):
                print(f"\n{b} has, {a} lacks ({ty}, {len(items)}): " + ", ".join(items[:40]) + (" ..." if len(items) > 40 else ""))

main()
