#!/usr/bin/env python3
"""Size of a wasm module by crate (cargo-bloat style), from `twiggy top` on a module that still
has its names section (build/index_bg.names.wasm, written by `make build`).

    python3 scripts/wasm-size-by-crate.py build/index_bg.names.wasm [--top N]

Each function counts for the crate its name starts with (for `<A as B>::f`, the crate of A).
After LTO and wasm-opt, inlined code counts for the function it was inlined into, so the
numbers show where bytes ended up, which is close to but not the same as who caused them.
"""
import csv, io, re, subprocess, sys
from collections import defaultdict

path = sys.argv[1]
top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 40
out = subprocess.run(["twiggy", "top", "-n", "10000000", "-f", "csv", path], capture_output=True, text=True, check=True).stdout
sizes = defaultdict(int)
total = 0
for row in csv.DictReader(io.StringIO(out)):
    name, size = row["Name"], int(row["ShallowSize"])
    total += size
    if name.startswith('"') or name.endswith("subsection"):
        crate = "(names section)" if "names" in name else "(custom sections)"
    elif name.startswith("data segment") or name.startswith("data["):
        crate = "(data: string and table constants)"
    elif name.startswith("import ") or name.startswith("export ") or name.startswith("table") or name.startswith("elem") or name.startswith("global") or name.startswith("type[") or name.startswith("code["):
        crate = "(wasm structure: imports, exports, tables, types)"
    else:
        n = name.lstrip("<&*").replace("mut ", "").replace("dyn ", "").replace("const ", "")
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)", n)
        crate = m.group(1) if m else "(other)"
        crate = re.sub(r"\[[0-9a-f]+\]$", "", crate)
        if crate in ("func", "f"):
            crate = "(unnamed functions)"
    sizes[crate] += size
w = max(len(c) for c in sizes)
print(f"{'crate'.ljust(w)}  {'bytes':>9}  {'share':>6}")
for crate, size in sorted(sizes.items(), key=lambda x: -x[1])[:top]:
    print(f"{crate.ljust(w)}  {size:>9}  {100 * size / total:5.1f}%")
print(f"{'total'.ljust(w)}  {total:>9}")
