#!/usr/bin/env python3
"""Line coverage per FlowFleet project from the Cobertura files coverlet wrote (one per test project run).
usage: coverage.py RESULTS_DIR [--markdown]
A line counts as covered when any test project's run hit it (the projects' runs are merged)."""
import glob, os, sys, xml.etree.ElementTree as ET
from collections import defaultdict

root = sys.argv[1]
lines = defaultdict(dict)  # package -> {(file, line): hit}
for path in glob.glob(f"{root}/**/coverage.cobertura.xml", recursive=True):
    tree = ET.parse(path)
    # Reports name files relative to their <source>, which differs between runs: compare absolute paths.
    base = next((e.text for e in tree.iter("source") if e.text), "/")
    for pkg in tree.iter("package"):
        name = pkg.get("name")
        seen = lines[name]
        for cls in pkg.iter("class"):
            fname = os.path.normpath(os.path.join(base, cls.get("filename")))
            for ln in cls.iter("line"):
                key = (fname, ln.get("number"))
                seen[key] = seen.get(key, False) or int(ln.get("hits", "0")) > 0
# The projects themselves, not the test projects.
rows = sorted((name, sum(h for h in seen.values()), len(seen)) for name, seen in lines.items() if seen and not name.endswith(".Tests"))
if "--markdown" in sys.argv:
    print("| project | lines covered | line coverage |\n|---|---|---|")
    for name, hit, total in rows:
        print(f"| {name} | {hit:,} / {total:,} | {100 * hit / total:.1f} % |")
else:
    for name, hit, total in rows:
        print(f"coverage {name}: {100 * hit / total:.1f}% ({hit}/{total} lines)")
