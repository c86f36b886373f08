-- Target tables of the inventory example worker, in the mirror's schema
-- (mirror.schema, "inventory" in sluice.json). Create them before the first
-- run; Sluice adds the mirror's _sluice_pos column to orders itself.
CREATE SCHEMA IF NOT EXISTS inventory;

-- The mirror of the source's orders table (Debezium topic
-- <prefix>.inventory.orders). The source needs REPLICA IDENTITY FULL
-- (ALTER TABLE inventory.orders REPLICA IDENTITY FULL) so that updates and
-- deletes carry the whole old row, which order_totals subtracts.
CREATE TABLE IF NOT EXISTS inventory.orders (
    id          integer PRIMARY KEY,
    customer_id integer,
    amount      numeric(12,2)
);

-- Kept by order_totals with increments: c adds, d subtracts, u moves the
-- difference (or the whole order to its new customer).
CREATE TABLE IF NOT EXISTS inventory.customer_totals (
    customer_id integer PRIMARY KEY,
    total       numeric NOT NULL,
    orders      integer NOT NULL
);

-- One row per applied c/u/d event of orders, written by order_audit. No
-- unique key on the Kafka coordinates on purpose: an event applied twice
-- would show as two rows (Sluice's ledger guarantees it never is).
CREATE TABLE IF NOT EXISTS inventory.order_audit (
    id              bigserial PRIMARY KEY,
    topic           text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    op              char(1) NOT NULL,
    order_id        integer NOT NULL,
    source_pos      bigint[],
    applied_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS order_audit_kafka
    ON inventory.order_audit (topic, kafka_partition, kafka_offset);
