#!/usr/bin/env python3
"""Median (and min) over rounds of ns.sh's per-round medians: ns_median.py FILE..."""
import re, statistics, sys
from collections import defaultdict
vals = defaultdict(list)
for path in sys.argv[1:]:
    for line in open(path):
        m = re.match(r"(\S+) (\d+) median_ns=([\d.]+)", line)
        if m:
            vals[(m.group(1), int(m.group(2)))].append(float(m.group(3)))
for (mode, size), v in sorted(vals.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    print(f"{mode:12} {size:6} median_ns={statistics.median(v):9.1f} min_ns={min(v):9.1f} rounds={len(v)}")
