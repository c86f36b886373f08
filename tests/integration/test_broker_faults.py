#!/usr/bin/env python3
"""Broker faults injected through the mock cluster (3 brokers) while the
stock sluice mirror applies the accounts stream: failed Fetch requests
(retriable partition errors), failed OffsetCommit requests (coordinator
errors: the Kafka commit is best effort, the ledger decides), a broker taken
down mid-stream and brought back. The worker rides them out; once the
ledger reaches the end it gets SIGTERM and exits 0. The table is exact, no
source position was written twice, the ledger is at the high watermarks and
so are Kafka's committed offsets."""
import os
import time

import streamlib
from streamlib import gen_stream, st

GROUP = "broker-faults"
TOPIC = "faults.public.accounts"
PARTITIONS = 16

# Kafka API keys and error codes (kafka protocol)
FETCH, OFFSET_COMMIT = 1, 8
NOT_LEADER_OR_FOLLOWER = 6
REQUEST_TIMED_OUT = 7
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
UNKNOWN_TOPIC_OR_PARTITION = 3


def load(env):
    """streamlib.load with a 3-broker cluster."""
    pg = env.postgres()
    mock = env.broker(["%s:%d" % (TOPIC, PARTITIONS)], brokers=3)
    msgs, truth, stats = gen_stream.generate(11, 100_000, 10_000, "faults")
    path = os.path.join(env.dir, "stream.tsv")
    gen_stream.write_messages(msgs, path)
    env.kafka.produce_file(TOPIC, path)
    env.kafka.assert_retained(TOPIC, stats["messages"])
    pg.execute(gen_stream.ddl(streamlib.TABLE))
    st.install_audit(pg, streamlib.TABLE, throttle=0.3)
    print("loaded %s: %s" % (TOPIC, stats), flush=True)
    return mock, streamlib.Stream(TOPIC, msgs, truth, stats)


def test(env):
    st.require_sluice()
    mock, s = load(env)
    w = env.sluice("w", group=GROUP, topics=[s.topic],
                   batch={"max_events": 500, "max_ms": 100})
    w.start()

    def at():
        return streamlib.ledger_total(env.pg, GROUP, s.topic)

    def step(what, cmds, settle=3.0):
        before = at()
        st.assert_true(before < s.total, "the stream was applied before "
                       "\"%s\": the fault tests nothing" % what)
        for c in cmds:
            mock.command(c)
        print("%s at ledger %d/%d" % (what, before, s.total), flush=True)
        time.sleep(settle)
        st.assert_true(w.running, "sluice exited during \"%s\" (rc %s):\n%s"
                       % (what, w.proc.returncode, w.stderr()[-3000:]))
        # it goes on applying
        st.wait_until(lambda: not w.running or at() > before + 500, 120,
                      "progress after \"%s\"" % what, interval=0.2)
        st.assert_true(w.running, "sluice exited after \"%s\" (rc %s):\n%s"
                       % (what, w.proc.returncode, w.stderr()[-3000:]))

    st.wait_until(lambda: not w.running or at() > 2000, 120,
                  "the worker to start applying")
    step("Fetch errors", [
        "push-errors %d 20 %d" % (FETCH, NOT_LEADER_OR_FOLLOWER),
        "push-errors %d 10 %d" % (FETCH, REQUEST_TIMED_OUT),
        "push-errors %d 5 %d" % (FETCH, UNKNOWN_TOPIC_OR_PARTITION)])
    step("OffsetCommit errors", [
        "push-errors %d 10 %d" % (OFFSET_COMMIT, COORDINATOR_NOT_AVAILABLE),
        "push-errors %d 10 %d" % (OFFSET_COMMIT, NOT_COORDINATOR),
        "push-errors %d 10 %d" % (OFFSET_COMMIT, REQUEST_TIMED_OUT)])
    for broker in (1, 2):
        # down for 4 s: below session.timeout.ms (6 s) when it is the
        # coordinator, long enough for fetches and commits to fail
        before = at()
        mock.command("broker-down %d" % broker)
        print("broker %d down at ledger %d/%d" % (broker, before, s.total),
              flush=True)
        time.sleep(4)
        st.assert_true(w.running, "sluice exited with broker %d down (rc %s)"
                       ":\n%s" % (broker, w.proc.returncode,
                                  w.stderr()[-3000:]))
        mock.command("broker-up %d" % broker)
        st.wait_until(lambda: not w.running or at() > before + 500, 120,
                      "progress after broker %d came back" % broker,
                      interval=0.2)
    st.assert_true(at() < s.total, "the stream ended during the broker "
                   "faults: slow the worker down more")

    env.pg.execute("UPDATE audit.settings SET throttle = 0")
    st.wait_until(lambda: not w.running or at() >= s.total, 600,
                  "the ledger to reach the end of the stream", interval=0.5)
    st.assert_true(w.running, "sluice exited (rc %s) before SIGTERM:\n%s"
                   % (w.proc.returncode, w.stderr()[-3000:]))
    w.terminate()
    rc = w.wait(60)
    st.assert_true(rc == 0, "sluice exited %s after SIGTERM:\n%s"
                   % (rc, w.stderr()[-3000:]))
    streamlib.check_final(env, s, GROUP)


st.run(test)
