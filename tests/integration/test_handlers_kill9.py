#!/usr/bin/env python3
"""The example worker (examples/inventory_worker: non-idempotent per-customer
totals, an audit row per change, the orders mirror) on 100,000 order events,
killed with -9 at random (seeded) moments at least 10 times, each followed
by a restart; then a final --exit-at-end run. customer_totals equal the
ground truth exactly (a batch applied twice or lost would show in the
increments), orders are mirrored exactly, order_audit holds exactly one row
per c/u/d message, and the ledger never moved backwards."""
import random

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
    # every kill must land while the worker applies
    streamlib.kill_loop(env, w, s, GROUP, KILLS, rnd, mid_stream=True)
    orderslib.set_throttle(env.pg, 0)
    rc, err = w.run_to_end(timeout=600)
    st.assert_true(rc == 0, "final run exited %s:\n%s" % (rc, err[-3000:]))
    orderslib.check_final(env, s, GROUP)


st.run(test)
