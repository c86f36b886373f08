#!/usr/bin/env python3
"""A handler that answers RETRY for ever (tests/tools/retry_worker.c, for
the message whose key id is SLUICE_RETRY_ID): the worker rolls the batch
back, backs off and re-applies it until retry.max_elapsed_ms (5 s here
instead of the default 240 s) has passed, then exits 1 naming the message.
Everything before the message is applied and recorded (ledger next_offset
== its offset), nothing from it on is, and Kafka's committed offset is not
past it either. A restart stops at the same place."""
import json
import os
import time

import streamlib
from streamlib import gen_stream, st

GROUP = "retry-forever"
TOPIC = "retry.public.accounts"
STUCK_ID = 999_999


def retry_worker_bin():
    b = os.environ.get("SLUICE_RETRY_WORKER_BIN")
    if not b or not os.access(b, os.X_OK):
        raise st.Skip("SLUICE_RETRY_WORKER_BIN is not set or not executable "
                      "(%r)" % b)
    return b


def stuck_message(template):
    """A c event of id STUCK_ID, shaped like the generator's."""
    _, value = template
    v = json.loads(value)
    v["op"], v["before"] = "c", None
    v["after"] = dict(v["after"] or {}, id=STUCK_ID)
    return (json.dumps({"id": STUCK_ID}), json.dumps(v))


def test(env):
    st.require_sluice()
    binary = retry_worker_bin()
    pg = env.postgres()
    env.broker(["%s:1" % TOPIC])
    msgs, _, _ = gen_stream.generate(5, 600, 60, prefix="retry")
    k = len(msgs) // 2
    first, rest = msgs[:k], msgs[k:]
    creates = [m for m in msgs if m[1] and json.loads(m[1])["op"] == "c"]
    stuck = stuck_message(creates[-1])
    pg.execute(gen_stream.ddl(streamlib.TABLE))

    w = env.sluice("w", group=GROUP, topics=[TOPIC],
                   extra={"retry": {"max_elapsed_ms": 5000}},
                   extra_env={"SLUICE_RETRY_ID": str(STUCK_ID)})
    w.binary = binary

    # Phase 1: the messages before the stuck one are applied and committed
    # in batches of their own, so the stuck message starts a batch.
    env.kafka.produce_lines(TOPIC, first, partition=0)
    w.start()
    def applied_first():
        if not w.running:
            return True
        try:
            return st.ledger(pg, GROUP).get((TOPIC, 0)) == k
        except AssertionError:  # sluice.offsets not created yet
            return False
    st.wait_until(applied_first, 120,
                  "the worker to apply the first %d messages" % k)
    st.assert_true(w.running, "the worker exited early (rc %s):\n%s"
                   % (w.proc.returncode, w.stderr()[-3000:]))

    # Phase 2: the stuck message, then more behind it.
    env.kafka.produce_lines(TOPIC, [stuck] + rest, partition=0)
    env.kafka.assert_retained(TOPIC, len(msgs) + 1)
    t0 = time.monotonic()
    rc = w.wait(120)  # far below the 240 s default: the config key works
    err = w.stderr()
    if rc == 2 and "retry" in err:
        raise AssertionError("the worker refused the config key "
                             "retry.max_elapsed_ms (not implemented yet?):\n"
                             + err[-2000:])
    st.assert_true(rc == 1, "expected exit 1 after the retries ran out, got "
                   "%s:\n%s" % (rc, err[-3000:]))
    print("gave up after %.1f s" % (time.monotonic() - t0), flush=True)
    where = "topic %s partition 0 offset %d" % (TOPIC, k)
    st.assert_true(where in err, "stderr does not name %r:\n%s"
                   % (where, err[-3000:]))
    st.assert_true("retry_worker: not ready yet" in err,
                   "stderr does not give the handler's reason:\n%s"
                   % err[-3000:])
    st.assert_true(err.count("retrying in") >= 2,
                   "the batch was not retried with backoff:\n%s" % err[-3000:])

    def check_stopped_at_stuck(run):
        led = st.ledger(pg, GROUP).get((TOPIC, 0))
        st.assert_true(led == k, "%s: ledger next_offset %s, expected the "
                       "stuck message's offset %d" % (run, led, k))
        committed = env.kafka.committed(GROUP, TOPIC).get(0, -1)
        st.assert_true(committed <= k, "%s: Kafka committed offset %d is "
                       "past the stuck message at %d" % (run, committed, k))
        st.assert_lines_equal(
            gen_stream.truth_from_messages(first),
            pg.lines(gen_stream.truth_query(streamlib.TABLE)),
            "%s: rows applied before the stuck message" % run)

    check_stopped_at_stuck("first run")
    # A restart retries the same message and gives up the same way.
    rc, err = w.run_to_end(timeout=120)
    st.assert_true(rc == 1 and where in err,
                   "second run: exit %s, stderr:\n%s" % (rc, err[-3000:]))
    check_stopped_at_stuck("second run")


st.run(test)
