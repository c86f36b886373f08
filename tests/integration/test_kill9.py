#!/usr/bin/env python3
"""kill -9 of the worker at random (seeded) moments, at least 10 times,
each followed by a restart; then a final --exit-at-end run.  The end state
is exact, no source position was written twice (each write is audited in
the same transaction), and the ledger never moved backwards."""
import random

import streamlib
from streamlib import st

GROUP = "kill9"
KILLS = 10


def test(env):
    st.require_sluice()
    rnd = random.Random(9)
    # Unthrottled, sluice applies the whole stream in a few seconds and
    # most kills would hit an idle worker: slow the writes (~30 s in all).
    s = streamlib.load(env, events=100_000, keys=10_000, partitions=16,
                       throttle=0.3)
    # session.timeout.ms 6000 (the mock's minimum) so a restarted worker is
    # not kept waiting 45 s for its dead predecessor to leave the group.
    w = env.sluice("w", group=GROUP, topics=[s.topic],
                   batch={"max_events": 500, "max_ms": 100})
    last = streamlib.kill_loop(env, w, s, GROUP, KILLS, rnd)
    if last >= s.total:
        print("note: the stream was fully applied before the last kill; "
              "later kills hit an idle worker", flush=True)
    env.pg.execute("UPDATE audit.settings SET throttle = 0")
    rc, err = w.run_to_end(timeout=600)
    st.assert_true(rc == 0, "final run exited %s:\n%s" % (rc, err[-3000:]))
    streamlib.check_final(env, s, GROUP)


st.run(test)
