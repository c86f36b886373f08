#!/usr/bin/env python3
"""PostgreSQL crashes and restarts under a running worker (the stock sluice
mirror on the accounts stream, no --exit-at-end): kill -9 of the postmaster
and all backends, an immediate shutdown (pg_ctl stop -m immediate: SIGQUIT)
that stays down for several backoff rounds, and a crash right after a
recovery. Each lands mid-stream. The worker retries, reconnects and goes on;
once the ledger reaches the end it gets SIGTERM and exits 0. The table is
exact, no source position was written twice, the ledger never moved
backwards, and Kafka's committed offsets are at the end."""
import streamlib
from streamlib import st

GROUP = "pg-restart"


def progress(env, s):
    return streamlib.ledger_total(env.pg, GROUP, s.topic)


def wait_progress(env, s, w, beyond, what):
    return streamlib.wait_progress(env, s, GROUP, w, beyond, what)


def test(env):
    st.require_sluice()
    # Throttled writes keep the worker busy long enough for three crashes.
    s = streamlib.load(env, events=100_000, keys=10_000, partitions=16,
                       throttle=0.3)
    w = env.sluice("w", group=GROUP, topics=[s.topic],
                   batch={"max_events": 500, "max_ms": 100})
    w.start()
    last = wait_progress(env, s, w, 2000, "the worker to start applying")

    for how, down_s in (("kill -9", 1.0), ("immediate shutdown", 8.0),
                        ("kill -9", 0.2)):
        at = streamlib.pg_crash(env, s, GROUP, w, how, down_s)
        st.assert_true(at >= last, "ledger moved backwards: %d -> %d"
                       % (last, at))
        last = wait_progress(env, s, w, at + 1000,
                             "the worker to apply again after the %s" % how)
        print("recovered: ledger at %d" % last, flush=True)

    env.pg.execute("UPDATE audit.settings SET throttle = 0")
    st.wait_until(lambda: not w.running or progress(env, s) >= s.total, 600,
                  "the ledger to reach the end of the stream", interval=0.5)
    st.assert_true(w.running, "sluice exited (rc %s) before SIGTERM:\n%s"
                   % (w.proc.returncode, w.stderr()[-3000:]))
    w.terminate()
    rc = w.wait(60)
    st.assert_true(rc == 0, "sluice exited %s after SIGTERM:\n%s"
                   % (rc, w.stderr()[-3000:]))
    log = w.stderr()
    st.assert_true("retrying" in log, "no retry was logged: did the crashes "
                   "reach the worker?\n%s" % log[-3000:])
    streamlib.check_final(env, s, GROUP)


st.run(test)
