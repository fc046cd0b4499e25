#!/usr/bin/env bash
# ns per frame: median of REPS timed repetitions (each of ITERS frames), per implementation and
# size, the implementations interleaved round by round so that a change in the machine's load
# hits all of them alike. Prints one line per (round, mode, size); summarize with ns_median.py.
#   LIBDIR=<dir with libekvfs_testhooks.so> ns.sh BINARY ROUNDS
set -euo pipefail
bin=$1 rounds=${2:-5}
for r in $(seq "$rounds"); do
  for s in 150 1024 4096 16384; do
    iters=$(( 4000000 / s )); (( iters < 4000 )) && iters=4000
    for m in evp sodium nettle gcrypt frame; do
      for op in seal open; do
        LD_LIBRARY_PATH=${LIBDIR:-} "$bin" "$m-$op" "$s" "$iters" 5
      done
    done
  done
done
