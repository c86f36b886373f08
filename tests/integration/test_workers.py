#!/usr/bin/env python3
"""workers = 2: two consumers of the group in one process, each applying
its partitions on its own PostgreSQL connection.  The process is killed -9
at random (seeded) moments, restarted each time, then run to the end with
--exit-at-end.  The end state is exact, no source position was written
twice (audited in the same transaction as each write), the ledger never
moved backwards, and both workers had partitions of their own."""
import random

import streamlib
from streamlib import st

GROUP = "workers"
KILLS = 5


def test(env):
    st.require_sluice()
    rnd = random.Random(2)
    s = streamlib.load(env, events=60_000, keys=6_000, partitions=8,
                       throttle=0.3)
    w = env.sluice("w", group=GROUP, topics=[s.topic],
                   batch={"max_events": 500, "max_ms": 100},
                   extra={"workers": 2})
    streamlib.kill_loop(env, w, s, GROUP, KILLS, rnd, max_delay=3.0)
    env.pg.execute("UPDATE audit.settings SET throttle = 0")
    rc, err = w.run_to_end(timeout=600)
    st.assert_true(rc == 0, "final run exited %s:\n%s" % (rc, err[-3000:]))
    st.assert_true("2 workers, each a consumer of the group" in err,
                   "no word of two workers:\n%s" % err[-3000:])
    # each worker logs its own assignment and its own "applied" line
    st.assert_true(err.count("every assigned partition is applied up to its "
                             "end; exiting") == 2,
                   "expected both workers to finish:\n%s" % err[-3000:])
    streamlib.check_final(env, s, GROUP)


st.run(test)
