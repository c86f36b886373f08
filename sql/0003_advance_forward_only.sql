-- sluice.advance only ever moves a ledger row forward. A batch whose next
-- offset is not past the row's (messages fetched again after a Kafka offset
-- reset, say) was applied already: it is refused with SL001 like a moved
-- row, and the worker re-reads the ledger instead of applying it twice.
CREATE OR REPLACE FUNCTION sluice.advance(p_group text, p_topic text, p_partition integer,
                                          p_expected bigint, p_next bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_expected IS NOT NULL AND p_next <= p_expected THEN
        RAISE EXCEPTION 'ledger for % [%] of group % is at %, the batch ends at %: applied already',
                        p_topic, p_partition, p_group, p_expected, p_next
              USING ERRCODE = 'SL001';
    END IF;
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
