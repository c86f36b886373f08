#!/usr/bin/env python3
"""The example worker (examples/inventory_worker: non-idempotent per-customer
totals, an audit row per change, the orders mirror) on 100,000 order events,
killed with -9 at random (seeded) moments at least 10 times, each followed
by a restart; then a final --exit-at-end run. customer_totals equal the
ground truth exactly (a batch applied twice or lost would show in the
increments), orders are mirrored exactly, order_audit holds exactly one row
per c/u/d message, and the ledger never moved backwards."""
import random
import time

import orderslib
import streamlib
from orderslib import st

GROUP = "handlers-kill9"
KILLS = 10


def test(env):
    st.require_sluice()
    orderslib.example_bin()
    rnd = random.Random(19)
    # The handlers run event by event; slow the audit writes a little more
    # so that every kill lands while the worker applies.
    s = orderslib.load(env, events=100_000, partitions=16, throttle=0.3)
    w = orderslib.worker(env, GROUP, s,
                         batch={"max_events": 500, "max_ms": 100})
    last = 0
    for i in range(KILLS):
        w.start()
        # Start the clock once the restarted worker applies again, not while
        # it waits for its dead predecessor to leave the group.
        if last < s.total:
            st.wait_until(lambda: not w.running or streamlib.ledger_total(
                env.pg, GROUP, s.topic) > last, 60,
                "the restarted worker to make progress", interval=0.05)
        delay = rnd.uniform(0.5, 4.0)
        time.sleep(delay)
        st.assert_true(w.running, "the worker exited on its own (rc %s):\n%s"
                       % (w.proc.returncode, w.stderr()[-3000:]))
        w.kill9()
        done = streamlib.ledger_total(env.pg, GROUP, s.topic)
        print("kill %d after %.2f s: ledger at %d/%d" % (i + 1, delay, done,
                                                          s.total), flush=True)
        st.assert_true(done >= last, "ledger moved backwards: %d -> %d"
                       % (last, done))
        st.assert_true(done < s.total, "kill %d landed after the end of the "
                       "stream: the kills no longer test anything (slow the "
                       "worker down more)" % (i + 1))
        last = done
    orderslib.set_throttle(env.pg, 0)
    rc, err = w.run_to_end(timeout=600)
    st.assert_true(rc == 0, "final run exited %s:\n%s" % (rc, err[-3000:]))
    orderslib.check_final(env, s, GROUP)


st.run(test)
