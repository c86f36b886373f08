#!/usr/bin/env bash
# Installs the Debian 12 packages Sluice needs to build, test and run its demo.
# Safe to run repeatedly; skips apt entirely when everything is present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  librdkafka-dev libpq-dev libjansson-dev libavro-dev libcmocka-dev
  libcurl4-openssl-dev libyaml-dev libmicrohttpd-dev
  postgresql-15 postgresql-client-15
  python3
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
