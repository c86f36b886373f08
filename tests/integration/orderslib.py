"""Shared set-up for the tests that run the example worker
(examples/inventory_worker) on the generated orders stream
(tests/tools/gen_orders.py): load it into a fresh mock-broker topic, create
the worker's tables, and check the exact end state."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

import gen_orders  # noqa: E402
import sluicetest as st  # noqa: E402

SCHEMA = "inventory"  # the worker's mirror.schema: orders + its tables

THROTTLE_SQL = """
CREATE TABLE IF NOT EXISTS public.throttle (t float8 NOT NULL);
INSERT INTO public.throttle VALUES (0);
CREATE OR REPLACE FUNCTION public.throttle() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t float8;
BEGIN
    -- crash tests: a 1 ms sleep on a fraction t of the audit writes, so
    -- that a kill lands while the worker applies
    SELECT throttle.t INTO t FROM public.throttle;
    IF t > 0 AND random() < t THEN
        PERFORM pg_sleep(0.001);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER throttle BEFORE INSERT ON inventory.order_audit
    FOR EACH ROW EXECUTE FUNCTION public.throttle();
"""


def example_bin():
    b = os.environ.get("SLUICE_EXAMPLE_BIN")
    if not b or not os.access(b, os.X_OK):
        raise st.Skip("SLUICE_EXAMPLE_BIN is not set or not executable (%r)"
                      % b)
    return b


class Stream:
    def __init__(self, topic, msgs, orders, totals, stats):
        self.topic, self.msgs = topic, msgs
        self.orders, self.totals, self.stats = orders, totals, stats
        self.total = stats["messages"]


def load(env, events=100_000, partitions=16, seed=7, prefix="shop",
         throttle=0.0):
    """PostgreSQL + mock broker + the orders stream preloaded and verified
    + the worker's tables."""
    pg = env.postgres()
    topic = "%s.inventory.orders" % prefix
    env.broker(["%s:%d" % (topic, partitions)])
    msgs, orders, totals, stats = gen_orders.generate(seed, events,
                                                      prefix=prefix)
    path = os.path.join(env.dir, "orders.tsv")
    gen_orders.write_messages(msgs, path)
    env.kafka.produce_file(topic, path)
    env.kafka.assert_retained(topic, stats["messages"])
    pg.execute(gen_orders.ddl())
    pg.execute(THROTTLE_SQL)
    set_throttle(pg, throttle)
    print("loaded %s: %s" % (topic, stats), flush=True)
    return Stream(topic, msgs, orders, totals, stats)


def set_throttle(pg, fraction):
    pg.execute("UPDATE public.throttle SET t = %f" % fraction)


def worker(env, group, stream, **kw):
    """The example worker with the standard test config."""
    w = env.sluice("w", group=group, topics=[stream.topic],
                   mirror={"schema": SCHEMA}, **kw)
    w.binary = example_bin()
    return w


def check_final(env, stream, group):
    """customer_totals and orders exact, one audit row per c/u/d event,
    ledger and Kafka's committed offsets at the high watermarks."""
    pg, kafka = env.pg, env.kafka
    st.assert_lines_equal(stream.totals,
                          pg.lines(gen_orders.totals_query(SCHEMA)),
                          "rows of customer_totals (a double or lost apply "
                          "of a non-idempotent handler shows here)")
    st.assert_lines_equal(stream.orders,
                          pg.lines(gen_orders.orders_query(SCHEMA)),
                          "rows of the mirrored orders")
    dups = pg.psql("SELECT kafka_partition, kafka_offset, count(*) FROM "
                   "%s.order_audit GROUP BY 1, 2 HAVING count(*) > 1 "
                   "ORDER BY 1, 2 LIMIT 20" % SCHEMA)
    st.assert_true(not dups, "events audited more than once (partition, "
                   "offset, times):\n" + "\n".join("\t".join(r)
                                                   for r in dups))
    st.assert_lines_equal(
        gen_orders.audit_truth(kafka.consume(stream.topic), stream.topic),
        pg.lines(gen_orders.audit_query(SCHEMA, stream.topic)),
        "order_audit rows")
    wm = kafka.assert_retained(stream.topic, stream.total)
    want = {p: hi for p, (_, hi) in wm.items() if hi > 0}
    got = {p: off for (t, p), off in st.ledger(pg, group).items()
           if t == stream.topic}
    st.assert_true(got == want, "ledger %s != high watermarks %s"
                   % (got, want))
    committed = kafka.committed(group, stream.topic)
    st.assert_true(all(committed.get(p) == hi for p, hi in want.items()),
                   "Kafka committed offsets %s != high watermarks %s after "
                   "a clean exit" % (committed, want))
