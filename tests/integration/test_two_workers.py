#!/usr/bin/env python3
"""Two workers in one group share the stream; when about half is applied
one is killed with -9 and the survivor takes over its partitions (after the
6 s session timeout).  Once the ledger reaches the high watermarks, SIGTERM
makes the survivor drain and exit 0.  Exact state, no double writes."""
import time

import streamlib
from streamlib import st

GROUP = "two-workers"


def test(env):
    st.require_sluice()
    s = streamlib.load(env, events=100_000, keys=10_000, partitions=16)
    batch = {"max_events": 500, "max_ms": 100}
    w1 = env.sluice("w1", group=GROUP, topics=[s.topic], batch=batch)
    w2 = env.sluice("w2", group=GROUP, topics=[s.topic], batch=batch)
    w1.start()
    w2.start()

    def progress():
        for w in (w1, w2):
            st.assert_true(w.running, "%s exited (rc %s):\n%s" % (
                w.name, w.proc.returncode, w.stderr()[-3000:]))
        return streamlib.ledger_total(env.pg, GROUP, s.topic)

    st.wait_until(lambda: progress() >= s.total * 0.4, 300,
                  "the ledger to reach 40% of the stream", interval=0.05)
    at_kill = progress()
    w1.kill9()
    print("killed w1 with the ledger at %d/%d" % (at_kill, s.total),
          flush=True)
    if at_kill >= s.total:
        print("note: everything was applied before the kill", flush=True)

    def done():
        st.assert_true(w2.running, "w2 exited (rc %s):\n%s"
                       % (w2.proc.returncode, w2.stderr()[-3000:]))
        return streamlib.ledger_total(env.pg, GROUP, s.topic) >= s.total
    st.wait_until(done, 300, "the survivor to apply the whole stream",
                  interval=0.2)
    w2.terminate()
    rc = w2.wait(60)
    st.assert_true(rc == 0, "survivor exited %s after SIGTERM:\n%s"
                   % (rc, w2.stderr()[-3000:]))
    streamlib.check_final(env, s, GROUP)


st.run(test)
