-- Sluice's bookkeeping schema. The ledger holds, per consumer group and
-- topic partition, the next Kafka offset to apply. It is written in the same
-- transaction as the side effects of the batch it records, which is what
-- makes apply effectively once.
CREATE SCHEMA IF NOT EXISTS sluice;

CREATE TABLE IF NOT EXISTS sluice.offsets (
    group_id    text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    next_offset bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);
