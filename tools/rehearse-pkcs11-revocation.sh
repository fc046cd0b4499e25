#!/usr/bin/env bash
# Rehearses a PKCS#11 CMEK revocation end to end, the way an HSM operator would, with the bounds of
# tools/rehearse-revocation.sh (its sibling for AWS KMS and key files; both source the helpers and
# checks from tools/lib/rehearse-common.sh): a SoftHSM2 token and a non-extractable AES-256 key made with softhsm2-util and pkcs11-tool
# (token directory under the temp folder via SOFTHSM2_CONF), a store initialized on a pkcs11: URI, and
# `engine workload` on it; the key's CKA_DECRYPT/CKA_ENCRYPT are turned off at t≈4 s
# (`engine hsm key-usage --usage off`, C_SetAttributeValue) and on again at t≈8 s. The store must go
# Open→Locked within one check interval (+1 s) of the revocation, back to Open within one interval
# (+1 s) of the restore, and the workload's read-back must find every acknowledged write (0 missing,
# 0 wrong). Exits non-zero if any of that does not hold. See docs/hsm.md.
#
# Needs softhsm2 and opensc (tools/bootstrap.sh installs them).
# Usage: tools/rehearse-pkcs11-revocation.sh     (KEEP=1 keeps the temp directory; RATE, THREADS as in the sibling)
set -euo pipefail

rehearsal_prefix=ekv-pkcs11-rehearsal
# shellcheck source=tools/lib/rehearse-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/rehearse-common.sh"

# ---- setup -------------------------------------------------------------------------------------
module=/usr/lib/softhsm/libsofthsm2.so
for tool in softhsm2-util pkcs11-tool; do
  command -v "$tool" >/dev/null 2>&1 || { say "$tool is missing: run tools/bootstrap.sh (installs softhsm2 and opensc)"; exit 1; }
done
[[ -e "$module" ]] || { say "$module is missing: run tools/bootstrap.sh"; exit 1; }

say "rehearsal in $work"
"$engine" --help >/dev/null # build now, not in the middle of a timed step

# A token directory of our own: every process below (the tools, init, the workload) reads this config.
mkdir -m 0700 "$work/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$work/tokens" >"$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf"
token=ekv-rehearsal
pin="$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
so_pin="$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
softhsm2-util --init-token --free --label "$token" --pin "$pin" --so-pin "$so_pin" >/dev/null
pkcs11-tool --module "$module" --token-label "$token" --login --pin "$pin" \
  --keygen --key-type AES:32 --label cmek --sensitive --private 2>/dev/null | sed 's/^/  /'
(umask 077 && printf '%s\n' "$pin" >"$work/pin")
uri="pkcs11:token=$token;object=cmek?module-path=$module&pin-source=file:$work/pin"
say "CMEK $uri"
"$engine" init --store "$work/store" --cmek "$uri"

# ---- the actions ------------------------------------------------------------------------------
# Each prints the epoch time at which the change took effect: the mtime of the key's object file,
# which C_SetAttributeValue rewrites (the verb's own start-up time is not the store's reaction time).
object_mtime() { stat -c '%.9Y %n' "$work"/tokens/*/*.object | grep -v '/token.object$' | sort -n | tail -1 | cut -d' ' -f1; }
usage_off() { "$engine" hsm key-usage --cmek "$uri" --usage off >&2; object_mtime; }
usage_on() { "$engine" hsm key-usage --cmek "$uri" --usage on >&2; object_mtime; }

rehearse "pkcs11" "$work/store" "hsm key-usage --usage off" "hsm key-usage --usage on" usage_off usage_on

finish "the revocation locked and the restore unlocked within ${bound} s, nothing acknowledged lost"
