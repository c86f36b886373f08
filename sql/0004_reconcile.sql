-- Pending reconciles (mirror.reconcile_deletes). When the worker applies the
-- last record of a full snapshot of a table, it records the snapshot here in
-- the same transaction. A worker then fills in the end offset of every
-- partition of the topic, and once the group's ledger has passed all of them
-- (every read of the snapshot, on whatever partition and worker, is applied)
-- one worker deletes the rows of the table the snapshot did not read and
-- removes the row, in one transaction.
CREATE TABLE IF NOT EXISTS sluice.reconcile (
    id             bigserial   PRIMARY KEY,
    group_id       text        NOT NULL,
    topic          text        NOT NULL,
    target         text        NOT NULL, -- quoted "schema"."table"
    display        text        NOT NULL, -- schema.table, for messages
    snapshot_pos   bigint[]    NOT NULL, -- source position of the snapshot's reads
    soft           boolean     NOT NULL, -- mark _sluice_deleted instead of deleting
    last_partition integer     NOT NULL,
    last_offset    bigint      NOT NULL,
    partitions     integer[],            -- filled in after the commit
    end_offsets    bigint[],             -- the partitions' ends at that time
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (group_id, target, snapshot_pos)
);
