#!/usr/bin/env bash
# The Sluice benchmark in one command; see bench/README.md and `--help`.
# Installs what it needs first: the project's Debian packages
# (scripts/install-deps.sh) and, for the KafkaJS contender, nodejs + npm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/../scripts/install-deps.sh"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  case " $* " in
    *" --contenders "*) want_node=$(printf '%s\n' "$@" | grep -c kafkajs || true) ;;
    *) want_node=1 ;;
  esac
  if [ "${want_node:-0}" != 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "bench: installing nodejs npm for the KafkaJS contender" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
  fi
fi
exec python3 "$here/run.py" "$@"
