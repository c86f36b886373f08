#!/usr/bin/env python3
"""`sluice replay`: after a full run, `replay --to earliest` moves the ledger
and the group's Kafka offsets to the low watermarks, and the next
`run --exit-at-end` re-applies everything and leaves the table exactly as it
was.  --to latest / OFFSET / TIMESTAMP land where they should.  Replay refuses
while the group may have live members (librdkafka's mock cluster answers
neither DescribeGroups nor ListGroups, so there replay cannot tell and always
asks for --force; a real cluster reports the members), and with --force a
running worker notices the moved ledger on its next batch and replays.

Timestamps: the mock cluster of librdkafka 2.0.2 answers ListOffsets by
timestamp with "no such offset" (-1) for every time, which replay maps to the
end of the partition (as a real broker does for a time after the last
message).  So the test checks a time in the future lands at the end and that
a malformed time is a usage error; the lookup itself is librdkafka's
rd_kafka_offsets_for_times."""
import os
import subprocess
import time

import streamlib
from streamlib import gen_stream, st

GROUP = "replay-cli"
DUMP = "SELECT to_jsonb(t)::text FROM %s t ORDER BY id" % streamlib.TABLE


def replay(w, *args):
    r = subprocess.run([st.sluice_bin(), "replay", "-c", w.cfgfile] + list(args),
                       capture_output=True, text=True, timeout=180)
    return r.returncode, r.stdout, r.stderr


def ledger(env, topic):
    return {p: o for (t, p), o in st.ledger(env.pg, GROUP).items() if t == topic}


def test(env):
    st.require_sluice()
    s = streamlib.load(env, events=6_000, keys=600, partitions=4, audit=False)
    w = env.sluice("w", group=GROUP, topics=[s.topic])
    rc, err = w.run_to_end(timeout=600)
    st.assert_true(rc == 0, "first run exited %s:\n%s" % (rc, err[-3000:]))
    streamlib.check_final(env, s, GROUP, audit=False)
    before = env.pg.lines(DUMP)
    wm = env.kafka.watermarks(s.topic)
    his = {p: hi for p, (_, hi) in wm.items()}

    # usage errors
    rc, out, err = replay(w, "--to", "yesterday")
    st.assert_true(rc == 2 and "not earliest, latest, an offset or an ISO-8601" in err, err)
    rc, out, err = replay(w)
    st.assert_true(rc == 2 and "--to is missing" in err, err)
    rc, out, err = replay(w, "--to", "earliest", "--topics", "no.such.topic", "--force")
    st.assert_true(rc == 2 and "does not exist" in err, err)

    # refuses while a worker may be running
    w.start()
    time.sleep(3)
    rc, out, err = replay(w, "--to", "earliest")
    st.assert_true(rc == 1 and "--force" in err,
                   "replay next to a running worker: rc %d\n%s" % (rc, err))
    st.assert_true(ledger(env, s.topic) == his, "a refused replay changed the ledger")
    w.stop()

    # --dry-run changes nothing
    rc, out, err = replay(w, "--to", "earliest", "--force", "--dry-run")
    st.assert_true(rc == 0 and "dry run" in out, err)
    st.assert_true(ledger(env, s.topic) == his, "dry run changed the ledger")

    # earliest: both the ledger and Kafka's committed offsets move, per partition
    rc, out, err = replay(w, "--to", "earliest", "--force")
    st.assert_true(rc == 0, "replay earliest: %s" % err)
    for p, hi in sorted(his.items()):
        line = "  %s [%d]: ledger %d -> 0, kafka %d -> 0" % (s.topic, p, hi, hi)
        st.assert_true(line in out.splitlines(), "missing %r in:\n%s" % (line, out))
    st.assert_true(ledger(env, s.topic) == {p: 0 for p in his}, "ledger not at 0")
    st.assert_true(env.kafka.committed(GROUP, s.topic) == {p: 0 for p in his},
                   "Kafka offsets not at 0: %s" % env.kafka.committed(GROUP, s.topic))
    rc, err = w.run_to_end(timeout=600)
    st.assert_true(rc == 0, "replay run exited %s:\n%s" % (rc, err[-3000:]))
    st.assert_lines_equal(before, env.pg.lines(DUMP), "table after replay from earliest")
    st.assert_true(ledger(env, s.topic) == his, "ledger after the replay run")

    # an offset (clamped to what is retained) and latest
    rc, out, err = replay(w, "--to", "100", "--force")
    st.assert_true(rc == 0, err)
    st.assert_true(ledger(env, s.topic) == {p: min(100, hi) for p, hi in his.items()},
                   "ledger after --to 100: %s" % ledger(env, s.topic))
    rc, err = w.run_to_end(timeout=600)
    st.assert_true(rc == 0, err[-2000:])
    st.assert_lines_equal(before, env.pg.lines(DUMP), "table after replay from 100")
    rc, out, err = replay(w, "--to", "latest", "--force")
    st.assert_true(rc == 0 and "(unchanged)" in out, out + err)
    st.assert_true(ledger(env, s.topic) == his, "latest")

    # a time after the last message: the end of every partition
    rc, out, err = replay(w, "--to", "2999-01-01T00:00:00Z", "--force", "--topics", s.topic)
    st.assert_true(rc == 0, err)
    st.assert_true(ledger(env, s.topic) == his and
                   env.kafka.committed(GROUP, s.topic) == his, "future time")
    rc, out, err = replay(w, "--to", "2024-05-01T12:00:00.250+02:00", "--force")
    st.assert_true(rc == 0, "a zoned timestamp: %s" % err)

    # --force next to a running worker: its next batch finds the ledger moved,
    # it re-reads it and replays from there
    w.start()
    time.sleep(3)
    rc, out, err = replay(w, "--to", "earliest", "--force")
    st.assert_true(rc == 0, "replay --force next to a worker: %s" % err)
    key, value = next(m for m in reversed(s.msgs) if m[1] is not None)
    env.kafka.produce_lines(s.topic, [(key, value)])  # same position: a no-op write
    wm2 = env.kafka.watermarks(s.topic)
    want = {p: hi for p, (_, hi) in wm2.items()}
    st.wait_until(lambda: ledger(env, s.topic) == want, 300,
                  "the running worker to replay to the end")
    w.stop()
    st.assert_lines_equal(before, env.pg.lines(DUMP), "table after a forced replay")
    st.assert_lines_equal(s.truth, env.pg.lines(gen_stream.truth_query(streamlib.TABLE)),
                          "rows after the forced replay")


st.run(test)
