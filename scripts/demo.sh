#!/usr/bin/env bash
# The Sluice demo, from a fresh clone: installs what it needs, builds, starts
# a throwaway PostgreSQL and a local Kafka-protocol broker (librdkafka's mock
# cluster), produces real Debezium events (a PostgreSQL connector's products
# table with embedded schemas, a MySQL connector's customers table without),
# runs `sluice run --exit-at-end`, and prints the mirrored tables and the
# ledger. Everything it starts is stopped and removed on exit.
#
#   scripts/demo.sh          JSON, as Kafka Connect's JsonConverter writes it
#   scripts/demo.sh --avro   the same events as Confluent-framed Avro, with a
#                            local schema registry serving schemas/*.avsc
set -euo pipefail

avro=0
case "${1:-}" in
    --avro) avro=1 ;;
    "") ;;
    *) echo "usage: scripts/demo.sh [--avro]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SLUICE_BUILD_DIR:-$root/build}

bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

work=$(mktemp -d /tmp/sluice-demo.XXXXXX)
chmod 755 "$work"
broker_pid=""
registry_pid=""
cleanup() {
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
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

fixtures=$root/tests/fixtures/debezium
format_json='"format": {"key": "json", "value": "json"}'
if [ "$avro" = 1 ]; then
    echo "== starting a local schema registry with schemas/*.avsc"
    mkdir -p "$work/registry"
    cp "$root/schemas/$products-value.avsc" "$work/registry/11.avsc"
    cp "$root/schemas/$products-key.avsc" "$work/registry/12.avsc"
    cp "$root/schemas/$customers-value.avsc" "$work/registry/21.avsc"
    cp "$root/schemas/$customers-key.avsc" "$work/registry/22.avsc"
    python3 "$root/tests/tools/registry_server.py" --dir "$work/registry" \
        --port-file "$work/registry.port" >"$work/registry.out" 2>&1 &
    registry_pid=$!
    for _ in $(seq 100); do [ -s "$work/registry.port" ] && break; sleep 0.1; done
    registry_url="http://127.0.0.1:$(head -1 "$work/registry.port")"
    format_json='"format": {"key": "avro", "value": "avro"}, "registry": {"url": "'"$registry_url"'"}'

    echo "== producing real Debezium events, Avro-encoded, to $bootstrap"
    python3 "$root/scripts/avro_json.py" "$fixtures/flink-postgres-products-schema-exclude.jsonl" \
        "$root/schemas/$products-key.avsc" "$root/schemas/$products-value.avsc" >"$work/products.avro.tsv"
    python3 "$root/scripts/avro_json.py" "$fixtures/risingwave-mysql-customers-schema-exclude.jsonl" \
        "$root/schemas/$customers-key.avsc" "$root/schemas/$customers-value.avsc" >"$work/customers.avro.tsv"
    "$build/tests/tools/sluice-avro-produce" -b "$bootstrap" -t "$products" \
        --value-schema "$root/schemas/$products-value.avsc" --value-id 11 \
        --key-schema "$root/schemas/$products-key.avsc" --key-id 12 "$work/products.avro.tsv"
    "$build/tests/tools/sluice-avro-produce" -b "$bootstrap" -t "$customers" \
        --value-schema "$root/schemas/$customers-value.avsc" --value-id 21 \
        --key-schema "$root/schemas/$customers-key.avsc" --key-id 22 "$work/customers.avro.tsv"
else
    echo "== producing real Debezium events to $bootstrap"
    python3 "$root/scripts/keyed_stream.py" "$fixtures/flink-postgres-products-schema-include.jsonl" id \
        --with-schema >"$work/products.tsv"
    python3 "$root/scripts/keyed_stream.py" "$fixtures/risingwave-mysql-customers-schema-exclude.jsonl" id \
        >"$work/customers.tsv"
    "$build/tests/tools/sluice-kafkatool" produce -b "$bootstrap" -t "$products" "$work/products.tsv"
    "$build/tests/tools/sluice-kafkatool" produce -b "$bootstrap" -t "$customers" "$work/customers.tsv"
fi

cat >"$work/sluice.json" <<JSON
{
  "kafka": {"bootstrap.servers": "$bootstrap", "group.id": "sluice-demo"},
  "postgres": {"conninfo": "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE"},
  "topics": ["$products", "$customers"],
  "mirror": {"schema": "inventory"},
  $format_json,
  "batch": {"max_events": 1000, "max_ms": 100}
}
JSON

echo "== sluice run --exit-at-end"
"$build/sluice" run -c "$work/sluice.json" --exit-at-end

echo "== the mirrored tables"
psql -X -P pager=off -c "SELECT * FROM inventory.products ORDER BY id" \
     -c "SELECT * FROM inventory.customers ORDER BY id" \
     -c "SELECT group_id, topic, partition, next_offset FROM sluice.offsets ORDER BY topic, partition"
