#!/usr/bin/env bash
# Rehearses a CMEK revocation end to end, the way an operator would, and checks the bounds the
# README promises ("What happens when the key is revoked"):
#   1. AWS KMS (the local endpoint, `engine kms serve`): a workload runs on a store protected by an
#      aws-kms: key; the key is disabled at t≈4 s and enabled again at t≈8 s.
#   2. A local key file (`init --cmek file:...`): the same, by moving the key file away and back.
# Each time the store must go Open→Locked within one check interval (+1 s) of the revocation, back
# to Open within one interval (+1 s) of the restore, and the workload's read-back must find every
# acknowledged write (0 missing, 0 wrong). Exits non-zero if any of that does not hold.
#
# The load is paced (RATE calls/s, default 5000, over THREADS threads, default 4). Unlocking reopens
# RocksDB, which replays the write-ahead log written since the last flush, so the time to unlock
# grows with the data written shortly before the lock; RATE=0 (as fast as possible, ~100k calls/s)
# shows that cost: on a busy 2-CPU machine it adds about 1 s per 30 MB of log.
#
# Usage: tools/rehearse-revocation.sh            (KEEP=1 keeps the temp directory for inspection)
# The helpers, the workload run and the checks are in tools/lib/rehearse-common.sh (shared with the
# PKCS#11 rehearsal).
set -euo pipefail

rehearsal_prefix=ekv-rehearsal
# shellcheck source=tools/lib/rehearse-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/rehearse-common.sh"

# ---- setup -------------------------------------------------------------------------------------
say "rehearsal in $work"
"$engine" --help >/dev/null # build now, not in the middle of a timed step

# Credentials come from the AWS chain, never from the CMEK URI; the local KMS checks their shape only.
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true

"$engine" kms serve --port 0 --data "$work/kms" --quiet >"$work/kms.out" 2>&1 &
kms_pid=$!
pids+=("$kms_pid")
if ! banner="$(wait_for_line "$work/kms.out" 'listening on http://127\.0\.0\.1:[0-9]+' "$kms_pid")"; then
  say "the local KMS did not start:"
  cat "$work/kms.out"
  exit 1
fi
endpoint="$(grep -oE 'http://127\.0\.0\.1:[0-9]+' <<<"$banner")"
say "$banner"

"$engine" kms create-key --data "$work/kms" --description "revocation rehearsal" | tee "$work/key.out"
key_id="$(sed -n 's/^key-id: //p' "$work/key.out")"
uri="$(sed -n 's/^cmek-uri: //p' "$work/key.out")"
[[ "$uri" == *"endpoint=$endpoint"* ]] || { say "create-key printed no usable CMEK URI"; exit 1; }
"$engine" init --store "$work/store-kms" --cmek "$uri"

mkdir -m 0700 "$work/keys"
key_file="$work/keys/store.key"
"$engine" init --store "$work/store-file" --cmek "file:$key_file"

# ---- the actions ------------------------------------------------------------------------------
# Each prints the epoch time at which the change took effect. For KMS that is when keys.json was
# replaced (its mtime): the verb's own start-up time is not the store's reaction time.
kms_change() {
  "$engine" kms "$1" --data "$work/kms" --key-id "$key_id" >&2
  stat -c '%.9Y' "$work/kms/keys.json"
}
disable_key() { kms_change disable-key; }
enable_key() { kms_change enable-key; }
# For the key file, the time just before the rename (a rename is atomic and takes microseconds).
move_key_away() { now; mv "$key_file" "$key_file.away"; echo "moved $key_file away" >&2; }
move_key_back() { now; mv "$key_file.away" "$key_file"; echo "moved $key_file back" >&2; }

rehearse "aws-kms" "$work/store-kms" "kms disable-key" "kms enable-key" disable_key enable_key
rehearse "key-file" "$work/store-file" "key file moved away" "key file moved back" move_key_away move_key_back

finish "both revocations locked and both restores unlocked within ${bound} s, nothing acknowledged lost"
