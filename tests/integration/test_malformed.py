#!/usr/bin/env python3
"""A malformed message in the middle of a 1-partition topic: sluice exits 3
and names topic, partition and offset; everything before it is applied and
recorded (ledger next_offset == the bad offset), nothing after it is, and
Kafka's committed offset is not past it either."""
import re

import streamlib
from streamlib import gen_stream, st

GROUP = "malformed"
TOPIC = "bad.public.accounts"
# Truncated JSON: no decoder can read this.
BAD = ('{"id":5}', '{"before":null,"after":{"id":5,"name":"cut her')


def test(env):
    st.require_sluice()
    pg = env.postgres()
    env.broker(["%s:1" % TOPIC])
    msgs, _, _ = gen_stream.generate(3, 600, 60, prefix="bad")
    bad_at = len(msgs) // 2
    stream = msgs[:bad_at] + [BAD] + msgs[bad_at:]
    env.kafka.produce_lines(TOPIC, stream, partition=0)
    env.kafka.assert_retained(TOPIC, len(stream))
    pg.execute(gen_stream.ddl(streamlib.TABLE))

    w = env.sluice("w", group=GROUP, topics=[TOPIC])
    rc, err = w.run_to_end(timeout=180)
    st.assert_true(rc == 3, "expected exit 3, got %s:\n%s" % (rc, err[-3000:]))
    want = "topic %s partition 0 offset %d" % (TOPIC, bad_at)
    lines = [ln for ln in err.splitlines() if want in ln]
    st.assert_true(lines, "stderr does not name %r:\n%s" % (want,
                                                            err[-3000:]))
    st.assert_true(not re.search(r"offset %d\b" % (bad_at + 1), err),
                   "stderr mentions offsets past the bad message:\n%s"
                   % err[-3000:])

    led = st.ledger(pg, GROUP)
    st.assert_true(led.get((TOPIC, 0)) == bad_at,
                   "ledger next_offset %s, expected %d"
                   % (led.get((TOPIC, 0)), bad_at))
    committed = env.kafka.committed(GROUP, TOPIC)[0]
    st.assert_true(committed <= bad_at,
                   "Kafka committed offset %d is past the bad message at %d"
                   % (committed, bad_at))
    st.assert_lines_equal(
        gen_stream.truth_from_messages(msgs[:bad_at]),
        pg.lines(gen_stream.truth_query(streamlib.TABLE)),
        "rows applied before the bad message")

    # A restart stops at the same place: nothing skipped, nothing lost.
    rc, err = w.run_to_end(timeout=180)
    st.assert_true(rc == 3 and want in err,
                   "second run: exit %s, stderr:\n%s" % (rc, err[-3000:]))
    st.assert_true(st.ledger(pg, GROUP).get((TOPIC, 0)) == bad_at,
                   "second run moved the ledger")


st.run(test)
