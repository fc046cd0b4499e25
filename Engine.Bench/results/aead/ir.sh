#!/usr/bin/env bash
# Ir per frame (callgrind): total instructions of a run of N2 frames minus a run of N1 frames,
# divided by N2 - N1 (start-up, key setup and the first frame cancel out).
#   LIBDIR=<dir with libekvfs_testhooks.so> ir.sh BINARY MODE SIZE [N1 N2]
set -euo pipefail
bin=$1 mode=$2 size=$3 n1=${4:-1000} n2=${5:-3000}
tmp=$(mktemp -d)
total() {
  LD_LIBRARY_PATH=${LIBDIR:-} valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" \
    "$bin" "$mode" "$size" "$1" 0 >/dev/null 2>&1
  awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.$1"
}
a=$(total "$n1") b=$(total "$n2")
echo "$mode $size Ir_per_frame=$(( (b - a) / (n2 - n1) ))"
rm -rf "$tmp"
