#!/usr/bin/env bash
# Installs what building the engine needs on Debian 12 (run as root), and checks for the .NET SDK.
# Idempotent and silent when everything is already there; apt-get update runs only if something is missing.
set -euo pipefail

packages=(librocksdb-dev libssl-dev cmake g++ make pkg-config softhsm2 opensc)

missing=()
for pkg in "${packages[@]}"; do
  # dpkg-query is fast and needs no network; "install ok installed" is the only state that counts.
  if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ $EUID -ne 0 ]]; then
    echo "bootstrap: missing packages: ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "bootstrap: the .NET 10 SDK (dotnet) is not on PATH; install it (https://dot.net) and retry" >&2
  exit 1
fi
