#!/usr/bin/env python3
"""A prefetch queue far smaller than the backlog: 30,000 events on 8
partitions with kafka.queued.max.messages.kbytes = 64 and
queued.min.messages = 200, so librdkafka's queue fills again and again.
With librdkafka before 2.2 a fill stops fetching until something wakes the
fetchers (a commit answered on the same broker does too; the worker's own
wake-up is in source.c); the worker must report waking them, and the result
must be exact: table, ledger and Kafka offsets at the end, no position
written twice."""
import re

import streamlib
from streamlib import st

GROUP = "prefetch"


def test(env):
    st.require_sluice()
    s = streamlib.load(env, events=30_000, keys=3_000, partitions=8)
    w = env.sluice("w", group=GROUP, topics=[s.topic],
                   kafka={"queued.max.messages.kbytes": "64",
                          "queued.min.messages": "200"})
    rc, err = w.run_to_end(timeout=300, args=["--log-level", "debug"])
    st.assert_true(rc == 0, "sluice exited %s:\n%s" % (rc, err[-3000:]))
    streamlib.check_final(env, s, GROUP)
    if "refills its prefetch queue itself" in err:
        return  # librdkafka 2.2+: fetch.queue.backoff.ms does it
    m = re.search(r"prefetch queue refilled (\d+) times", err)
    st.assert_true(m is not None, "no refill summary in the log:\n" + err[-2000:])
    st.assert_true(int(m.group(1)) >= 1, "the fetchers were never woken")


st.run(test)
