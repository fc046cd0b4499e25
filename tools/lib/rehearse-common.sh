# shellcheck shell=bash
# The shared part of the CMEK revocation rehearsals (tools/rehearse-revocation.sh for AWS KMS and key
# files, tools/rehearse-pkcs11-revocation.sh for an HSM): the timing settings and bound, the scratch
# directory and its clean-up, the bounded waits, and `rehearse` (run `engine workload`, revoke and
# restore at fixed times) with `check` (the bounds and the read-back, from the workload's JSON lines).
#
# Source it after `set -euo pipefail`, with rehearsal_prefix set (the scratch directory's name prefix).
# It defines: repo, engine, the settings below, work, pids, failures, and the functions (`finish`
# prints the verdict and exits 1 on a failed check). RATE, THREADS and KEEP=1 (keep the scratch
# directory) come from the environment.

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
engine="$repo/tools/engine"

interval=1        # --cmek-check-interval, seconds
slack=1           # the "+1 s" of the bound
seconds=12        # workload length
revoke_at=4       # seconds into the workload
restore_at=8
startup_limit=60  # bound on waiting for a server or a workload to start
rate="${RATE:-5000}"
threads="${THREADS:-4}"
bound=$((interval + slack))

work="$(mktemp -d "${TMPDIR:-/tmp}/${rehearsal_prefix:?set rehearsal_prefix before sourcing}.XXXXXX")"
pids=()
failures=0

cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  # Stores, keys and token directories here are scratch: nothing is worth keeping by default.
  if [[ "${KEEP:-0}" == 1 ]]; then
    echo "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*"; }
fail() { say "  ✗ $*"; failures=$((failures + 1)); }
pass() { say "  ✓ $*"; }
now() { date +%s.%N; }
# Float arithmetic without bc (not on a minimal Debian): awk.
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
le() { awk "BEGIN { exit !($1 <= $2) }"; }

# Waits (bounded) until FILE has a line matching REGEX while PID lives; prints the line.
wait_for_line() {
  local file=$1 regex=$2 pid=$3 deadline=$((SECONDS + startup_limit)) line
  while ((SECONDS < deadline)); do
    line="$(grep -m1 -E "$regex" "$file" 2>/dev/null || true)"
    if [[ -n "$line" ]]; then
      printf '%s\n' "$line"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# Sleeps until the absolute time $1 (epoch seconds, fractional).
sleep_until() {
  local delay
  delay="$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')"
  sleep "$delay"
}

# json_field LINE NAME: the value of a top-level number or string field of one JSON line.
json_field() { sed -nE "s/.*\"$2\":\"?([^,\"}]*)\"?[,}].*/\1/p" <<<"$1" | head -1; }

# rehearse LABEL STORE REVOKE_DESC RESTORE_DESC REVOKE_FN RESTORE_FN
# REVOKE_FN/RESTORE_FN perform the action and print the epoch time at which it took effect.
rehearse() {
  local label=$1 store=$2 revoke_desc=$3 restore_desc=$4 revoke_fn=$5 restore_fn=$6
  local out="$work/$label.jsonl" err="$work/$label.err" wl first t0 revoked restored rc
  say ""
  say "== $label: $revoke_desc at t≈${revoke_at}s, $restore_desc at t≈${restore_at}s (check interval ${interval}s, bound ${bound}s)"
  say "workload --seconds $seconds --cmek-check-interval ${interval}s --threads $threads --rate $rate"
  "$engine" workload --store "$store" --seconds "$seconds" --cmek-check-interval "${interval}s" \
    --threads "$threads" --rate "$rate" >"$out" 2>"$err" &
  wl=$!
  pids+=("$wl")
  if ! first="$(wait_for_line "$out" '"t":1,' "$wl")"; then
    fail "the workload did not start: $(cat "$err")"
    return
  fi
  # t=0 of the workload, on this machine's clock: its line t=1 carries the time it was printed.
  t0="$(calc "$(json_field "$first" unix) - 1")"

  sleep_until "$(calc "$t0 + $revoke_at")"
  revoked="$($revoke_fn)"
  sleep_until "$(calc "$t0 + $restore_at")"
  restored="$($restore_fn)"

  # The workload ends by itself (load, at most --unlock-wait 30 s, read-back); bound the wait anyway.
  local deadline=$((SECONDS + seconds + 30 + startup_limit))
  while kill -0 "$wl" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$wl" 2>/dev/null; then
    kill "$wl"
    fail "the workload did not finish in time"
  fi
  rc=0
  wait "$wl" || rc=$?

  say "workload output ($out):"
  sed 's/^/  /' "$out"
  if [[ -s "$err" ]]; then
    say "workload stderr:"
    sed 's/^/  /' "$err"
  fi
  check "$out" "$t0" "$revoked" "$restored" "$rc"
}

# check OUT T0 REVOKED RESTORED RC: the bounds, from the JSON lines.
check() {
  local out=$1 t0=$2 revoked=$3 restored=$4 rc=$5 summary transitions locked_at open_at delay states
  summary="$(grep '"summary":true' "$out" || true)"
  say "checks:"
  say "  revocation took effect at t=$(calc "$revoked - $t0") s, restore at t=$(calc "$restored - $t0") s"

  # State per second, run-length encoded: shows Open→Locked→Open at a glance.
  states="$(grep '"t":' "$out" | grep -v '"summary"' | sed -nE 's/.*"state":"([A-Za-z]+)".*/\1/p' | uniq -c | awk '{ printf "%s%s×%s", sep, $2, $1; sep = " → " }')"
  say "  per-second states: $states"
  if [[ "$states" =~ ^Open×[0-9]+\ →\ Locked×[0-9]+\ →\ Open×[0-9]+$ ]]; then
    pass "per-second lines went Open → Locked → Open"
  else
    fail "per-second lines did not go Open → Locked → Open"
  fi

  if [[ -z "$summary" ]]; then
    fail "no summary line"
    return
  fi
  # Exact transition times come from the summary (the per-second lines only sample the state).
  transitions="$(grep -oE '\{"t":[0-9.]+,"unix":[0-9.]+,"from":"[A-Za-z]+","to":"[A-Za-z]+"' <<<"$summary" | sed -E 's/.*"unix":([0-9.]+),"from":"([A-Za-z]+)","to":"([A-Za-z]+)"/\1 \2 \3/')"
  locked_at="$(awk -v r="$revoked" '$3 == "Locked" && $1 >= r { print $1; exit }' <<<"$transitions")"
  open_at="$(awk -v r="$restored" '$2 == "Locked" && $3 == "Open" && $1 >= r { print $1; exit }' <<<"$transitions")"
  if [[ -z "$locked_at" ]]; then
    fail "the store never locked after the revocation"
  else
    delay="$(calc "$locked_at - $revoked")"
    if le "$delay" "$bound"; then pass "Locked ${delay} s after the revocation (bound ${bound} s)"; else fail "Locked ${delay} s after the revocation: over the ${bound} s bound"; fi
  fi
  if [[ -z "$open_at" ]]; then
    fail "the store never unlocked after the restore"
  else
    delay="$(calc "$open_at - $restored")"
    if le "$delay" "$bound"; then pass "Open again ${delay} s after the restore (bound ${bound} s)"; else fail "Open again ${delay} s after the restore: over the ${bound} s bound"; fi
  fi

  local acknowledged verified missing wrong locked_errors
  acknowledged="$(json_field "$summary" acknowledged)"
  verified="$(json_field "$summary" verified)"
  missing="$(json_field "$summary" missing)"
  wrong="$(json_field "$summary" wrong)"
  locked_errors="$(json_field "$summary" locked_errors)"
  if [[ "$missing" == 0 && "$wrong" == 0 && "$acknowledged" == "$verified" && "$acknowledged" -gt 0 ]]; then
    pass "read-back: $verified of $acknowledged acknowledged keys intact, 0 missing, 0 wrong ($locked_errors calls refused while locked)"
  else
    fail "read-back: acknowledged $acknowledged, verified $verified, missing $missing, wrong $wrong"
  fi
  if [[ "$rc" == 0 ]]; then pass "workload exit code 0"; else fail "workload exit code $rc"; fi
}

# finish PASSED_LINE: the verdict, last; exits 1 when any check did not hold.
finish() {
  say ""
  if ((failures == 0)); then
    say "rehearsal passed: $1"
  else
    say "rehearsal FAILED: $failures check(s) did not hold"
    exit 1
  fi
}
