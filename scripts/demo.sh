#!/usr/bin/env bash
# The Sluice demo, from a fresh clone: installs what it needs, builds, starts
# a throwaway PostgreSQL and a local Kafka-protocol broker (librdkafka's mock
# cluster), produces real Debezium events (a PostgreSQL connector's products
# table with embedded schemas, a MySQL connector's customers table without),
# runs `sluice run --exit-at-end`, and prints the mirrored tables and the
# ledger. Everything it starts is stopped and removed on exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SLUICE_BUILD_DIR:-$root/build}

bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

work=$(mktemp -d /tmp/sluice-demo.XXXXXX)
chmod 755 "$work"
broker_pid=""
cleanup() {
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    "$root/scripts/pgtmp.sh" stop "$work/pg" || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== starting PostgreSQL and the local broker"
eval "$("$root/scripts/pgtmp.sh" start "$work/pg")"
export PGPORT PGHOST PGUSER PGDATABASE
psql -X -q -v ON_ERROR_STOP=1 -f "$root/sql/demo/inventory.sql"

products=fullfillment.inventory.products
customers=dbserver1.inventory.customers
"$build/tests/tools/sluice-mockbroker" --topic "$products:3" --topic "$customers:3" \
    >"$work/broker.out" 2>"$work/broker.err" &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/broker.out" ] && break; sleep 0.1; done
bootstrap=$(head -1 "$work/broker.out")
[ -n "$bootstrap" ] || { cat "$work/broker.err" >&2; exit 1; }

echo "== producing real Debezium events to $bootstrap"
fixtures=$root/tests/fixtures/debezium
python3 "$root/scripts/keyed_stream.py" "$fixtures/flink-postgres-products-schema-include.jsonl" id \
    --with-schema >"$work/products.tsv"
python3 "$root/scripts/keyed_stream.py" "$fixtures/risingwave-mysql-customers-schema-exclude.jsonl" id \
    >"$work/customers.tsv"
"$build/tests/tools/sluice-kafkatool" produce -b "$bootstrap" -t "$products" "$work/products.tsv"
"$build/tests/tools/sluice-kafkatool" produce -b "$bootstrap" -t "$customers" "$work/customers.tsv"

cat >"$work/sluice.json" <<JSON
{
  "kafka": {"bootstrap.servers": "$bootstrap", "group.id": "sluice-demo"},
  "postgres": {"conninfo": "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE"},
  "topics": ["$products", "$customers"],
  "mirror": {"schema": "inventory"},
  "batch": {"max_events": 1000, "max_ms": 100}
}
JSON

echo "== sluice run --exit-at-end"
"$build/sluice" run -c "$work/sluice.json" --exit-at-end

echo "== the mirrored tables"
psql -X -P pager=off -c "SELECT * FROM inventory.products ORDER BY id" \
     -c "SELECT * FROM inventory.customers ORDER BY id" \
     -c "SELECT group_id, topic, partition, next_offset FROM sluice.offsets ORDER BY topic, partition"
