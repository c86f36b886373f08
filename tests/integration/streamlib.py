"""Shared set-up for the tests that run the generated accounts stream
(tests/tools/gen_stream.py) through sluice: load it into a fresh mock-broker
topic, create the target table with the write audit, and check the end state.
"""
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

import gen_stream  # noqa: E402
import sluicetest as st  # noqa: E402

TABLE = "public.accounts"


class Stream:
    def __init__(self, topic, msgs, truth, stats):
        self.topic, self.msgs, self.truth, self.stats = topic, msgs, truth, stats
        self.total = stats["messages"]


def load(env, events=100_000, keys=10_000, partitions=16, seed=42,
         prefix="stream", audit=True, throttle=0.0):
    """PostgreSQL + mock broker + the stream preloaded and verified."""
    pg = env.postgres()
    topic = "%s.public.accounts" % prefix
    env.broker(["%s:%d" % (topic, partitions)])
    msgs, truth, stats = gen_stream.generate(seed, events, keys, prefix)
    path = os.path.join(env.dir, "stream.tsv")
    gen_stream.write_messages(msgs, path)
    env.kafka.produce_file(topic, path)
    env.kafka.assert_retained(topic, stats["messages"])
    pg.execute(gen_stream.ddl(TABLE))
    if audit:
        st.install_audit(pg, TABLE, throttle)
    print("loaded %s: %s" % (topic, stats), flush=True)
    return Stream(topic, msgs, truth, stats)


def ledger_total(pg, group, topic):
    try:
        led = st.ledger(pg, group)
    except AssertionError:  # sluice.offsets not created yet
        return 0
    return sum(off for (t, _), off in led.items() if t == topic)


def kill_loop(env, w, stream, group, kills, rnd, max_delay=4.0,
              mid_stream=False):
    """Starts w and kill -9s it `kills` times, each at a random moment (rnd)
    once the restarted process applies again (not while it waits for its
    dead predecessor to leave the group). The ledger must never move
    backwards; mid_stream: every kill must land before the end of the
    stream. Returns the ledger total after the last kill."""
    last = 0
    for i in range(kills):
        w.start()
        if last < stream.total:
            st.wait_until(lambda: not w.running or ledger_total(
                env.pg, group, stream.topic) > last, 60,
                "the restarted worker to make progress", interval=0.05)
        delay = rnd.uniform(0.5, max_delay)
        time.sleep(delay)
        st.assert_true(w.running, "sluice exited on its own (rc %s):\n%s"
                       % (w.proc.returncode, w.stderr()[-3000:]))
        w.kill9()
        done = ledger_total(env.pg, group, stream.topic)
        print("kill %d after %.2f s: ledger at %d/%d" % (
            i + 1, delay, done, stream.total), flush=True)
        st.assert_true(done >= last, "ledger moved backwards: %d -> %d"
                       % (last, done))
        st.assert_true(not mid_stream or done < stream.total,
                       "kill %d landed after the end of the stream: the kills "
                       "no longer test anything (slow the worker down more)"
                       % (i + 1))
        last = done
    return last


def wait_progress(env, stream, group, w, beyond, what):
    """Until the worker has applied past `beyond` (it recovered); returns
    the ledger total."""
    st.wait_until(lambda: not w.running or ledger_total(
        env.pg, group, stream.topic) > beyond, 120, what, interval=0.2)
    st.assert_true(w.running, "sluice exited (rc %s) instead of retrying:\n%s"
                   % (w.proc.returncode, w.stderr()[-3000:]))
    return ledger_total(env.pg, group, stream.topic)


def pg_crash(env, stream, group, w, how, down_s):
    """Takes PostgreSQL down mid-stream (how: "kill -9" of the postmaster
    and all backends, or "immediate shutdown") for down_s seconds, then
    starts it again; returns the ledger total at the crash."""
    pg = env.pg
    at = ledger_total(pg, group, stream.topic)
    st.assert_true(at < stream.total, "the stream was applied before the %s: "
                   "the crash tests nothing" % how)
    if how == "kill -9":
        pg.kill9()
    else:  # pg_ctl stop -m immediate
        pg.proc.send_signal(signal.SIGQUIT)
        pg.proc.wait(30)
        pg.kill9()  # stragglers of the process group
    print("%s at ledger %d/%d; down for %.1f s" % (how, at, stream.total,
                                                   down_s), flush=True)
    time.sleep(down_s)
    st.assert_true(w.running, "sluice exited while PostgreSQL was down (rc "
                   "%s):\n%s" % (w.proc.returncode, w.stderr()[-3000:]))
    pg.start()
    return at


def check_final(env, stream, group, audit=True, kafka_committed=True):
    """Exact table, ledger at the high watermarks, no double writes."""
    pg, kafka = env.pg, env.kafka
    st.assert_lines_equal(stream.truth,
                          pg.lines(gen_stream.truth_query(TABLE)),
                          "rows of %s" % TABLE)
    wm = kafka.assert_retained(stream.topic, stream.total)
    led = st.ledger(pg, group)
    want = {p: hi for p, (_, hi) in wm.items() if hi > 0}
    got = {p: off for (t, p), off in led.items() if t == stream.topic}
    st.assert_true(got == want or
                   {p: o for p, o in got.items() if o > 0} == want,
                   "ledger %s != high watermarks %s" % (got, want))
    committed = kafka.committed(group, stream.topic)
    for p, off in committed.items():
        st.assert_true(off <= got.get(p, 0),
                       "Kafka committed offset %d of partition %d is past "
                       "the ledger's %d" % (off, p, got.get(p, 0)))
    if kafka_committed:
        st.assert_true(all(committed.get(p) == hi for p, hi in want.items()),
                       "Kafka committed offsets %s != high watermarks %s "
                       "after a clean exit" % (committed, want))
    if audit:
        st.assert_no_duplicate_writes(pg, TABLE)
