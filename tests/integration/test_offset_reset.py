#!/usr/bin/env python3
"""Kafka resets the fetch position to the earliest offset under a running
worker (a Fetch answered OFFSET_OUT_OF_RANGE: what retention or an unclean
leader election does; the worker's auto.offset.reset is earliest), so
messages the ledger already holds are delivered again. They must not be
applied again: the example worker's non-idempotent customer_totals end
exact, order_audit has one row per message, and the ledger never moves
backwards."""
import time

import orderslib
import streamlib
from orderslib import st

GROUP = "offset-reset"
FETCH, OFFSET_OUT_OF_RANGE = 1, 1


def test(env):
    st.require_sluice()
    orderslib.example_bin()
    s = orderslib.load(env, events=30_000, partitions=4, throttle=0.3)
    w = orderslib.worker(env, GROUP, s,
                         batch={"max_events": 500, "max_ms": 100})
    w.start()

    def at():
        return streamlib.ledger_total(env.pg, GROUP, s.topic)

    st.wait_until(lambda: not w.running or at() > 5000, 120,
                  "the worker to start applying")
    before = {p: o for (t, p), o in st.ledger(env.pg, GROUP).items()}
    st.assert_true(at() < s.total, "the stream was applied before the fault")
    env.mock.command("push-errors %d 4 %d" % (FETCH, OFFSET_OUT_OF_RANGE))
    print("fetch reset at ledger %s" % before, flush=True)
    orderslib.set_throttle(env.pg, 0)
    # Until the end and a while after (the re-delivered messages may come
    # after the worker caught up): the ledger never moves backwards.
    last, end_seen = before, None
    while end_seen is None or time.monotonic() - end_seen < 10:
        time.sleep(0.2)
        st.assert_true(w.running, "the worker exited (rc %s):\n%s"
                       % (w.proc.returncode, w.stderr()[-3000:]))
        now = {p: o for (t, p), o in st.ledger(env.pg, GROUP).items()}
        back = {p: (last[p], now.get(p)) for p in last
                if now.get(p, 0) < last[p]}
        st.assert_true(not back, "ledger moved backwards (partition: "
                       "(before, now)): %s" % back)
        last = now
        if end_seen is None and sum(now.values()) >= s.total:
            end_seen = time.monotonic()
    w.terminate()
    rc = w.wait(60)
    st.assert_true(rc == 0, "the worker exited %s:\n%s"
                   % (rc, w.stderr()[-3000:]))
    orderslib.check_final(env, s, GROUP)


st.run(test)
