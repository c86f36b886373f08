#!/usr/bin/env python3
"""kill -9 of the worker at random (seeded) moments, at least 10 times,
each followed by a restart; then a final --exit-at-end run.  The end state
is exact, no source position was written twice (each write is audited in
the same transaction), and the ledger never moved backwards."""
import random
import time

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
    last = 0
    for i in range(KILLS):
        w.start()
        # Start the clock once the worker applies again, so that the kill
        # lands in its work rather than while it waits for the dead
        # predecessor to leave the group.
        if last < s.total:
            st.wait_until(lambda: not w.running or streamlib.ledger_total(
                env.pg, GROUP, s.topic) > last, 60,
                "the restarted worker to make progress", interval=0.05)
        delay = rnd.uniform(0.5, 4.0)
        time.sleep(delay)
        st.assert_true(w.running, "sluice exited on its own (rc %s):\n%s"
                       % (w.proc.returncode, w.stderr()[-3000:]))
        w.kill9()
        done = streamlib.ledger_total(env.pg, GROUP, s.topic)
        print("kill %d after %.2f s: ledger at %d/%d" % (i + 1, delay, done,
                                                          s.total), flush=True)
        st.assert_true(done >= last, "ledger moved backwards: %d -> %d"
                       % (last, done))
        last = done
    if last >= s.total:
        print("note: the stream was fully applied before the last kill; "
              "later kills hit an idle worker", flush=True)
    env.pg.execute("UPDATE audit.settings SET throttle = 0")
    rc, err = w.run_to_end(timeout=600)
    st.assert_true(rc == 0, "final run exited %s:\n%s" % (rc, err[-3000:]))
    streamlib.check_final(env, s, GROUP)


st.run(test)
