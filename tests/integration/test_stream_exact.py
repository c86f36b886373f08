#!/usr/bin/env python3
"""100,000+ events over 10,000 keys on 16 partitions, preloaded; one
`sluice run --exit-at-end`; the table equals the ground truth, the ledger
and Kafka's committed offsets sit at the high watermarks, and the audit
trigger saw no source position written twice."""
import streamlib
from streamlib import st

GROUP = "stream-exact"


def test(env):
    st.require_sluice()
    s = streamlib.load(env, events=100_000, keys=10_000, partitions=16)
    w = env.sluice("w", group=GROUP, topics=[s.topic])
    rc, err = w.run_to_end(timeout=600)
    st.assert_true(rc == 0, "sluice exited %s:\n%s" % (rc, err[-3000:]))
    streamlib.check_final(env, s, GROUP)


st.run(test)
