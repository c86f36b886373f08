#!/usr/bin/env python3
"""`sluice backfill`: the execute-snapshot signal Debezium documents, then the
snapshot itself.

1. Source channel: a row in the manifest's signal.data.collection table on a
   real SOURCE database (a second database on the test server), reached
   through the manifest's database.* properties: id (unique, <= 42 chars),
   type 'execute-snapshot', data = {"data-collections": [...], "type":
   "incremental", "additional-conditions": [...]} exactly.
2. Kafka channel: a message on signal.kafka.topic with key = topic.prefix and
   value {"type":"execute-snapshot","data":{"data-collections":[...],
   "type":"INCREMENTAL"}}.
3. The test then plays Debezium: incremental-snapshot `r` events (no LSN,
   source.snapshot "incremental") interleaved with streamed c/u/d events,
   while a worker runs and `backfill --wait` follows the table's topic; the
   target ends exactly in the source table's final state."""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import sluicetest as st  # noqa: E402

PREFIX = "shop"
TOPIC = "shop.public.customers"
SIGNALS = "shop-signals"
SIGNAL_DDL = ("CREATE TABLE public.debezium_signal (id VARCHAR(42) PRIMARY KEY, "
              "type VARCHAR(32) NOT NULL, data VARCHAR(2048) NULL)")
TARGET_DDL = ("CREATE TABLE public.customers (id int4 PRIMARY KEY, name text, "
              "balance numeric(12,2))")


class Source:
    """Debezium's view of the source: positions and envelopes."""

    def __init__(self):
        self.lsn = 1000
        self.commit = 900
        self.ts = 1735689600000

    def src(self, snapshot):
        self.ts += 1
        if snapshot == "incremental":
            return {"version": "2.7.0.Final", "connector": "postgresql", "name": PREFIX,
                    "ts_ms": self.ts, "snapshot": "incremental", "db": "source",
                    "sequence": None, "schema": "public", "table": "customers",
                    "txId": None, "lsn": None, "xmin": None}
        self.lsn += 40
        s = {"version": "2.7.0.Final", "connector": "postgresql", "name": PREFIX,
             "ts_ms": self.ts, "snapshot": "false", "db": "source",
             "sequence": json.dumps([str(self.commit), str(self.lsn)]),
             "schema": "public", "table": "customers", "txId": self.lsn // 10,
             "lsn": self.lsn, "xmin": None}
        self.commit = self.lsn + 8
        return s

    def event(self, op, row, key):
        snapshot = "incremental" if op == "r" else "false"
        value = {"before": {"id": key} if op == "d" else None,
                 "after": None if op == "d" else row,
                 "source": self.src(snapshot), "op": op, "ts_ms": self.ts + 5,
                 "transaction": None}
        return (json.dumps({"id": key}), json.dumps(value, separators=(",", ":")))


def row(i, name, balance):
    return {"id": i, "name": name, "balance": balance}


def backfill(cfgfile, *args, timeout=120):
    return subprocess.run([st.sluice_bin(), "backfill", "-c", cfgfile] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def test(env):
    st.require_sluice()
    pg = env.postgres()
    env.broker(["%s:2" % TOPIC, "%s:1" % SIGNALS])
    pg.execute("CREATE DATABASE source")
    src_conninfo = pg.conninfo.replace("dbname=postgres", "dbname=source")
    subprocess.run([os.path.join(st.PGBIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-d", src_conninfo, "-c", SIGNAL_DDL], check=True)
    pg.execute(TARGET_DDL)

    manifest = {"name": "shop-connector", "config": {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": "127.0.0.1", "database.port": str(pg.port),
        "database.user": "postgres", "database.dbname": "source",
        "topic.prefix": PREFIX, "table.include.list": "public.customers",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "decimal.handling.mode": "string",
        "signal.enabled.channels": "source,kafka",
        "signal.data.collection": "public.debezium_signal",
        "signal.kafka.topic": SIGNALS,
        "signal.kafka.bootstrap.servers": env.mock.bootstrap}}
    mpath = os.path.join(env.dir, "shop-connector.json")
    with open(mpath, "w") as f:
        json.dump(manifest, f)
    w = env.sluice("w", group="backfill", topics=[],
                   extra={"connectors": ["shop-connector.json"]})

    # --- 1. the source channel: the documented signal row
    r = backfill(w.cfgfile, "--table", "public.customers", "--where", "balance > '10'")
    st.assert_true(r.returncode == 0, "backfill (source): %s" % r.stderr)
    r2 = backfill(w.cfgfile, "--table", "public.customers", "--id", "ad-hoc-1")
    st.assert_true(r2.returncode == 0, "backfill --id: %s" % r2.stderr)
    rows = subprocess.run([os.path.join(st.PGBIN, "psql"), "-X", "-At", "-F", "\t", "-d",
                           src_conninfo, "-c",
                           "SELECT id, type, data FROM public.debezium_signal ORDER BY id"],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    st.assert_true(len(rows) == 2, "signal rows: %s" % rows)
    by_id = {l.split("\t")[0]: l.split("\t") for l in rows}
    st.assert_true("ad-hoc-1" in by_id, rows)
    gen = [i for i in by_id if i != "ad-hoc-1"][0]
    st.assert_true(gen.startswith("sluice-") and len(gen) <= 42 and gen in r.stdout,
                   "generated id %r" % gen)
    st.assert_true(by_id[gen][1] == "execute-snapshot", rows)
    st.assert_true(json.loads(by_id[gen][2]) == {
        "data-collections": ["public.customers"], "type": "incremental",
        "additional-conditions": [{"data-collection": "public.customers",
                                   "filter": "balance > '10'"}]},
        "signal data: %s" % by_id[gen][2])
    st.assert_true(json.loads(by_id["ad-hoc-1"][2]) == {
        "data-collections": ["public.customers"], "type": "incremental"},
        "signal data without --where: %s" % by_id["ad-hoc-1"][2])
    # the same id twice is Debezium's primary key: a clear error
    r3 = backfill(w.cfgfile, "--table", "public.customers", "--id", "ad-hoc-1")
    st.assert_true(r3.returncode == 1 and "inserting the signal row" in r3.stderr, r3.stderr)

    # --- 2. the Kafka channel
    r = backfill(w.cfgfile, "--table", "public.customers", "--channel", "kafka",
                 "--type", "blocking")
    st.assert_true(r.returncode == 0, "backfill (kafka): %s" % r.stderr)
    r = backfill(w.cfgfile, "--table", "public.customers", "--channel", "kafka")
    st.assert_true(r.returncode == 0, "backfill (kafka): %s" % r.stderr)
    msgs = env.kafka.consume(SIGNALS)
    st.assert_true(len(msgs) == 2, "signal messages: %s" % msgs)
    st.assert_true(all(m["key"] == PREFIX.encode() for m in msgs), msgs)
    st.assert_true(json.loads(msgs[0]["value"]) == {
        "type": "execute-snapshot",
        "data": {"data-collections": ["public.customers"], "type": "BLOCKING"}}, msgs[0])
    st.assert_true(json.loads(msgs[1]["value"]) == {
        "type": "execute-snapshot",
        "data": {"data-collections": ["public.customers"], "type": "INCREMENTAL"}}, msgs[1])

    # usage errors
    r = backfill(w.cfgfile, "--table", "customers")
    st.assert_true(r.returncode == 2 and "--table SCHEMA.TABLE" in r.stderr, r.stderr)
    r = backfill(w.cfgfile, "--table", "public.customers", "--type", "eager")
    st.assert_true(r.returncode == 2, r.stderr)

    # --- 3. the snapshot, interleaved with the stream
    s = Source()
    truth = {}
    history = []
    for i in range(1, 11):  # streamed before the snapshot
        truth[i] = row(i, "c%d" % i, "%d.00" % i)
        history.append(s.event("c", truth[i], i))
    env.kafka.produce_lines(TOPIC, history)
    w.start()
    follower = subprocess.Popen(
        [st.sluice_bin(), "backfill", "-c", w.cfgfile, "--table", "public.customers",
         "--wait", "--quiet", "3", "--timeout", "240"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        events = []
        truth[5] = row(5, "u5", "55.55")           # before the snapshot window
        events.append(s.event("u", truth[5], 5))
        truth[15] = row(15, "u15", "15.15")        # a row the target never had
        events.append(s.event("u", truth[15], 15))
        for i in range(11, 31):                    # rows only the snapshot knows
            truth.setdefault(i, row(i, "snap%d" % i, "%d.50" % i))
        for i in range(1, 31):                     # the chunked snapshot reads
            if i == 20:
                # changed inside the chunk window: Debezium drops the read
                # and the streamed change stands
                truth[20] = row(20, "u20", "20.20")
                events.append(s.event("u", truth[20], 20))
                continue
            events.append(s.event("r", dict(truth[i]), i))
            if i == 12:                            # the stream goes on meanwhile
                truth[3] = row(3, "u3", "3.33")
                events.append(s.event("u", truth[3], 3))
        old25 = dict(truth[25])
        truth[25] = row(25, "u25", "25.25")        # after the window
        events.append(s.event("u", truth[25], 25))
        del truth[30]                               # deleted after its read
        events.append(s.event("d", None, 30))
        events.append((json.dumps({"id": 30}), None))  # tombstone
        st.assert_true(old25 != truth[25], "test data")
        env.kafka.produce_lines(TOPIC, events)
        out, err = follower.communicate(timeout=300)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    st.assert_true(follower.returncode == 0,
                   "backfill --wait exited %s:\n%s\n%s" % (follower.returncode, out, err))
    st.assert_true("caught up: %s applied to its end" % TOPIC in out, out)
    w.stop()
    want = ["%d\t%s\t%s" % (i, r["name"], r["balance"]) for i, r in sorted(truth.items())]
    got = pg.lines("SELECT id, name, balance::text FROM public.customers ORDER BY id")
    st.assert_lines_equal(want, got, "customers after the backfill")
    # snapshot-only rows carry no position; streamed ones do
    nopos = pg.lines("SELECT id FROM public.customers WHERE _sluice_pos IS NULL ORDER BY id")
    st.assert_true([int(x) for x in nopos] ==
                   [i for i in range(11, 30) if i not in (15, 20, 25)],
                   "rows without a position: %s" % nopos)

    # --wait gives up at --timeout when nothing applies the topic
    env.kafka.produce_lines(TOPIC, [s.event("u", row(1, "late", "1.00"), 1)])
    r = backfill(w.cfgfile, "--table", "public.customers", "--channel", "kafka", "--wait",
                 "--quiet", "1", "--timeout", "3")
    st.assert_true(r.returncode == 1 and "--timeout 3 s reached" in r.stderr, r.stderr)


st.run(test)
