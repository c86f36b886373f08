-- sluice.advance moves one partition's ledger row from the offset this worker
-- believes it holds to the batch's next offset, inside the batch transaction.
-- If another worker moved the row meanwhile (a rebalance this worker has not
-- seen yet, or a zombie), it raises SQLSTATE SL001 and the whole batch rolls
-- back: a partition is never applied twice, whoever holds it.
CREATE OR REPLACE FUNCTION sluice.advance(p_group text, p_topic text, p_partition integer,
                                          p_expected bigint, p_next bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_expected IS NULL THEN
        INSERT INTO sluice.offsets (group_id, topic, partition, next_offset)
        VALUES (p_group, p_topic, p_partition, p_next)
        ON CONFLICT DO NOTHING;
    ELSE
        UPDATE sluice.offsets
           SET next_offset = p_next, updated_at = now()
         WHERE group_id = p_group AND topic = p_topic AND partition = p_partition
           AND next_offset = p_expected;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger for % [%] of group % moved (expected %): another worker applied it',
                        p_topic, p_partition, p_group, coalesce(p_expected::text, 'no row')
              USING ERRCODE = 'SL001';
    END IF;
END
$$;
