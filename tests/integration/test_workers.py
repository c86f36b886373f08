#!/usr/bin/env python3
"""workers = 2: two consumers of the group in one process, each applying
its partitions on its own PostgreSQL connection.  The process is killed -9
at random (seeded) moments, restarted each time, then run to the end with
--exit-at-end.  The end state is exact, no source position was written
twice (audited in the same transaction as each write), the ledger never
moved backwards, and both workers had partitions of their own.  Between the
kills PostgreSQL itself is killed -9 under the two workers: both retry,
reconnect and go on applying.

Then a message that cannot be decoded, with workers = 2 and without
--exit-at-end: the worker that meets it stops with exit 3 and the other one
drains and stops with it (the process does not run on with half its
workers); the poisoned topic is applied exactly up to the bad offset, the
other exactly up to its ledger, and Kafka's commits are not past either."""
import random

import streamlib
from streamlib import gen_stream, st

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
    last = streamlib.kill_loop(env, w, s, GROUP, KILLS, rnd, max_delay=3.0)
    # PostgreSQL gone under both workers: each retries and reconnects
    w.start()
    last = streamlib.wait_progress(env, s, GROUP, w, last,
                                   "the restarted workers to apply")
    at = streamlib.pg_crash(env, s, GROUP, w, "kill -9", 1.0)
    st.assert_true(at >= last, "ledger moved backwards: %d -> %d" % (last, at))
    streamlib.wait_progress(env, s, GROUP, w, at,
                            "the workers to apply again after the crash")
    w.terminate()
    rc = w.wait(60)
    st.assert_true(rc == 0, "sluice exited %s after SIGTERM:\n%s"
                   % (rc, w.stderr()[-3000:]))
    st.assert_true("retrying" in w.stderr(), "no retry was logged: did the "
                   "crash reach the workers?\n%s" % w.stderr()[-3000:])
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
    poison_stops_all(env)


BAD = ('{"id":5}', '{"before":null,"after":{"id":5,"name":"cut her')


def poison_stops_all(env):
    pg, group = env.pg, "workers-poison"
    bad_topic, good_topic = "bad.public.accounts", "good.public.accounts"
    tables = {bad_topic: "side.bad", good_topic: "side.good"}
    pg.execute("CREATE SCHEMA side; %s; %s" % (gen_stream.ddl("side.bad"),
                                               gen_stream.ddl("side.good")))
    bad_msgs, _, _ = gen_stream.generate(3, 600, 60, prefix="bad")
    good_msgs, _, _ = gen_stream.generate(4, 6_000, 600, prefix="good")
    bad_at = len(bad_msgs) // 2
    for t, lines in ((bad_topic, bad_msgs[:bad_at] + [BAD] + bad_msgs[bad_at:]),
                     (good_topic, good_msgs)):
        env.mock.command("create-topic %s:1" % t)
        env.kafka.produce_lines(t, lines, partition=0)
        env.kafka.assert_retained(t, len(lines))  # the mock keeps 5 MiB
    w = env.sluice("poison", group=group, topics=[bad_topic, good_topic],
                   mirror={"schema": "side", "tables": tables},
                   batch={"max_events": 200, "max_ms": 50},
                   extra={"workers": 2})
    w.start()  # no --exit-at-end: only the failure stops the healthy worker
    rc = w.wait(180)
    err = w.stderr()
    st.assert_true(rc == 3, "expected exit 3, got %s:\n%s" % (rc, err[-3000:]))
    st.assert_true("topic %s partition 0 offset %d" % (bad_topic, bad_at) in err,
                   "the bad message is not named:\n%s" % err[-3000:])
    led = st.ledger(pg, group)
    st.assert_true(led.get((bad_topic, 0)) == bad_at,
                   "ledger %s, expected %d for %s" % (led, bad_at, bad_topic))
    good_at = led.get((good_topic, 0), 0)
    for t, table, msgs, at in ((bad_topic, "side.bad", bad_msgs, bad_at),
                               (good_topic, "side.good", good_msgs, good_at)):
        st.assert_lines_equal(gen_stream.truth_from_messages(msgs[:at]),
                              pg.lines(gen_stream.truth_query(table)),
                              "rows of %s up to its ledger (%d)" % (table, at))
        committed = env.kafka.committed(group, t).get(0, 0)
        st.assert_true(committed <= at, "Kafka's commit %d for %s is past the "
                       "ledger %d" % (committed, t, at))


st.run(test)
