#!/usr/bin/env bash
# Installs what building and testing the engine needs on Debian 12 (run as root), and checks for the
# .NET SDK. Idempotent and silent when everything is already there; when something is missing it says
# what it installs and why, runs apt-get update only then, and lets apt's progress lines through (on
# stderr, so callers that keep stdout clean still show them).
set -euo pipefail

# package -> what needs it (printed when it is installed)
declare -A why=(
  [librocksdb-dev]="RocksDB 7.8 library and headers: the engine and its native plugin link against it"
  [libssl-dev]="OpenSSL headers: the native plugin's AES-256-GCM"
  [cmake]="builds the native plugin"
  [g++]="compiles the native plugin"
  [make]="runs the native plugin's build"
  [pkg-config]="locates librocksdb and OpenSSL for CMake"
  [awscli]="the stock AWS CLI: the local KMS endpoint's tests drive it"
  [softhsm2]="a PKCS#11 token (SoftHSM2): the pkcs11: CMEK provider's tests"
  [opensc]="pkcs11-tool: creates the tests' HSM keys"
  [gdb]="gcore: the opt-in core-dump test (ENGINE_CORE_DUMP=1, Engine.Tests/Memory) dumps a locked process"
)
packages=(librocksdb-dev libssl-dev cmake g++ make pkg-config awscli softhsm2 opensc gdb)

missing=()
for pkg in "${packages[@]}"; do
  # dpkg-query is fast and needs no network; "install ok installed" is the only state that counts.
  if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ $EUID -ne 0 ]]; then
    echo "bootstrap: missing packages: ${missing[*]}; run as root: apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "bootstrap: installing ${#missing[@]} Debian package(s) with apt-get (with their dependencies; a first install can take a few minutes):" >&2
  for pkg in "${missing[@]}"; do
    echo "bootstrap:   $pkg - ${why[$pkg]}" >&2
  done
  export DEBIAN_FRONTEND=noninteractive
  started=$SECONDS
  echo "bootstrap: apt-get update ..." >&2
  apt-get update -q >&2
  echo "bootstrap: apt-get install ${missing[*]} ..." >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  echo "bootstrap: installed ${missing[*]} in $((SECONDS - started)) s" >&2
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "bootstrap: the .NET 10 SDK (dotnet) is not on PATH; install it (https://dot.net) and retry" >&2
  exit 1
fi
