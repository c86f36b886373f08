#!/usr/bin/env python3
"""Replay: after a full run, forget the group's ledger rows and rewind its
Kafka offsets to the earliest; a second --exit-at-end run re-applies the
whole stream and the table (every column, _sluice_pos included) is exactly
as before."""
import streamlib
from streamlib import gen_stream, st

GROUP = "replay"
DUMP = "SELECT to_jsonb(t)::text FROM %s t ORDER BY id" % streamlib.TABLE


def test(env):
    st.require_sluice()
    s = streamlib.load(env, events=30_000, keys=3_000, partitions=8,
                       audit=False)
    w = env.sluice("w", group=GROUP, topics=[s.topic])
    rc, err = w.run_to_end(timeout=600)
    st.assert_true(rc == 0, "first run exited %s:\n%s" % (rc, err[-3000:]))
    streamlib.check_final(env, s, GROUP, audit=False)
    before = env.pg.lines(DUMP)

    env.pg.execute("DELETE FROM sluice.offsets WHERE group_id = %s"
                   % st.sql_literal(GROUP))
    env.kafka.reset_group(GROUP, s.topic, "earliest")
    st.assert_true(all(o == 0 for o in
                       env.kafka.committed(GROUP, s.topic).values()),
                   "reset-group did not rewind the group")

    rc, err = w.run_to_end(timeout=600)
    st.assert_true(rc == 0, "replay run exited %s:\n%s" % (rc, err[-3000:]))
    st.assert_lines_equal(before, env.pg.lines(DUMP),
                          "full dump before/after replay")
    st.assert_lines_equal(s.truth, env.pg.lines(
        gen_stream.truth_query(streamlib.TABLE)), "rows after replay")


st.run(test)
