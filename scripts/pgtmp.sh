#!/bin/bash
# pgtmp.sh: a throw-away PostgreSQL server in a directory, for demos and
# manual testing.  Runs as an unprivileged user (postgres when started as
# root), listens on 127.0.0.1 on a free port, trust auth, fsync off.
#
#   scripts/pgtmp.sh start DIR   initdb (first time) + start; prints
#                                PGPORT=... PGHOST=127.0.0.1 (eval-able)
#   scripts/pgtmp.sh stop DIR    fast shutdown
#   scripts/pgtmp.sh status DIR
#
# PGBIN overrides the PostgreSQL bin directory.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|status DIR" >&2
    exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

case "$cmd" in
start)
    if [ ! -s "$data/PG_VERSION" ]; then
        [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
        as_owner "$PGBIN/initdb" -D "$data" -A trust -U postgres -E UTF8 \
            --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
        port=$(free_port)
        as_owner tee -a "$data/postgresql.conf" >/dev/null <<CONF
# pgtmp.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
CONF
    fi
    port=$(sed -n "s/^port = \([0-9]*\)$/\1/p" "$data/postgresql.conf" | tail -1)
    if ! as_owner "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$PGBIN/pg_ctl" -D "$data" -l "$dir/server.log" -w start \
            >/dev/null || {
            tail -20 "$dir/server.log" >&2
            exit 1
        }
    fi
    echo "PGPORT=$port PGHOST=127.0.0.1"
    echo "PGUSER=postgres PGDATABASE=postgres"
    ;;
stop)
    if [ -s "$data/PG_VERSION" ]; then
        as_owner "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
status)
    as_owner "$PGBIN/pg_ctl" -D "$data" status
    ;;
*)
    echo "usage: $0 start|stop|status DIR" >&2
    exit 2
    ;;
esac
