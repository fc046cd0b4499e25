#!/usr/bin/env bash
# One macro-bench process of SYS under callgrind, instrumentation switched on once the runner
# prints "librocksdb:" (after the .NET start-up), as PROFILE.md's issue-13 sections do.
#   BIN=<Engine.Bench build output> callgrind_macro.sh SYS OUT_PREFIX -- <macro args>
# Writes OUT_PREFIX.$SYS (callgrind) and OUT_PREFIX.$SYS.log (the runner's output).
set -euo pipefail
sys=$1 out=$2; shift 2; [[ ${1:-} == -- ]] && shift
log=$out.$sys.log
DOTNET_EnableWriteXorExecute=0 valgrind --tool=callgrind --instr-atstart=no --smc-check=all-non-file \
  --callgrind-out-file="$out.$sys" dotnet "$BIN/Engine.Bench.dll" macro --in-process --systems "$sys" "$@" \
  >"$log" 2>&1 &
pid=$!
until grep -q "librocksdb:" "$log" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { echo "runner ended before librocksdb:" >&2; exit 1; }
  sleep 1
done
callgrind_control -i on "$pid" >/dev/null
wait "$pid"
