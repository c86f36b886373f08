#!/usr/bin/env python3
"""Avro through a schema registry, end to end: the demo tables'
Debezium envelopes (schemas/*.avsc, as AvroConverter registers them) are
produced Confluent-framed with sluice-avro-produce (Avro keys too), a local
registry (tests/tools/registry_server.py) serves the schemas, and the real
sluice binary mirrors them into PostgreSQL.

1. snapshot + changes + deletes with tombstones -> exact final tables;
2. registry outage while a fresh worker starts (503 for a while): the
   worker retries, commits nothing it could not decode, and ends exact;
3. registry process stopped, events written with a new schema id, worker
   started, registry restarted on the same port: nothing lost, exact;
4. a record framed with an unknown schema id: exit code 3, a message naming
   the id, the registry URL and topic/partition/offset; the ledger stops
   right before it."""
import json
import os
import random
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import sluicetest as st  # noqa: E402

ROOT = os.path.join(HERE, "..", "..")
SCHEMAS = os.path.join(ROOT, "schemas")
SERVER = os.path.join(ROOT, "tests", "tools", "registry_server.py")

PRODUCTS = "fullfillment.inventory.products"
CUSTOMERS = "dbserver1.inventory.customers"
GROUP = "avro-mirror"
# schema ids as a registry would hand them out
IDS = {(PRODUCTS, "value"): 11, (PRODUCTS, "key"): 12,
       (CUSTOMERS, "value"): 21, (CUSTOMERS, "key"): 22}
PRODUCTS_V2 = 13  # the same value schema registered again (new id)

DDL = """
CREATE SCHEMA inventory;
CREATE TABLE inventory.products (id integer PRIMARY KEY, name text NOT NULL,
    description text, weight double precision);
CREATE TABLE inventory.customers (id integer PRIMARY KEY,
    first_name text NOT NULL, last_name text NOT NULL, email text NOT NULL);
"""


class Registry:
    """registry_server.py as a child of the test (restartable, same port)."""

    def __init__(self, env, schema_dir):
        self.env = env
        self.dir = schema_dir
        self.port = st.free_port()
        self.proc = None
        self.log = os.path.join(env.dir, "registry.log")
        env._register(self)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        logf = open(self.log, "a")
        self.proc = st._spawn([sys.executable, SERVER, "--dir", self.dir,
                               "--port", str(self.port)],
                              stdout=subprocess.PIPE, stderr=logf)
        logf.close()
        line = self.proc.stdout.readline().decode().strip()
        if line != str(self.port):
            raise RuntimeError("registry_server.py did not start: %r\n%s"
                               % (line, st.tail(self.log)))
        return self

    def stop(self):
        st._stop_proc(self.proc)
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def control(self, **kw):
        import urllib.request
        req = urllib.request.Request(self.url + "/_control",
                                     data=json.dumps(kw).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()

    def stats(self):
        import urllib.request
        with urllib.request.urlopen(self.url + "/_stats", timeout=10) as r:
            return json.loads(r.read())


# ---------------------------------------------------------------- events

class Stream:
    """Generates Debezium events in Avro's JSON encoding and tracks the
    final table state they imply."""

    def __init__(self, seed):
        self.rnd = random.Random(seed)
        self.lsn = 1000
        self.binpos = 157
        self.ts = 1718000000000
        self.products = {}
        self.customers = {}

    def _tick(self):
        self.lsn += 8
        self.binpos += 317
        self.ts += 7
        return self.ts

    # -- products: PostgreSQL connector
    def _pg_source(self, snapshot):
        return {"version": "2.7.0.Final", "connector": "postgresql",
                "name": "fullfillment", "ts_ms": self.ts,
                "snapshot": {"string": snapshot}, "db": "postgres",
                "sequence": {"string": json.dumps([str(self.lsn - 4),
                                                   str(self.lsn)])},
                "ts_us": None, "ts_ns": None, "schema": "inventory",
                "table": "products", "txId": {"long": self.lsn // 8},
                "lsn": {"long": self.lsn}, "xmin": None}

    @staticmethod
    def _product(row):
        if row is None:
            return None
        return {PRODUCTS + ".Value": {
            "id": row["id"], "name": row["name"],
            "description": None if row["description"] is None
            else {"string": row["description"]},
            "weight": None if row["weight"] is None
            else {"double": row["weight"]}}}

    def product(self, op, pid, snapshot="false"):
        self._tick()
        before = self.products.get(pid)
        if op == "d":
            after = None
            del self.products[pid]
        else:
            n = self.rnd.randint(1, 999)
            after = {"id": pid, "name": "product %d v%d \u2713" % (pid, n),
                     "description": None if n % 5 == 0
                     else "größe %d" % (n * 3),
                     "weight": None if n % 7 == 0 else n / 4.0}
            self.products[pid] = after
        value = {"before": self._product(before if op in "ud" else None),
                 "after": self._product(after),
                 "source": self._pg_source(snapshot), "transaction": None,
                 "op": op, "ts_ms": {"long": self.ts + 3}, "ts_us": None,
                 "ts_ns": None}
        key = json.dumps({"id": pid})
        lines = [key + "\t" + json.dumps(value, ensure_ascii=False)]
        if op == "d":
            lines.append(key + "\t")  # tombstone
        return lines

    # -- customers: MySQL connector
    def _my_source(self, snapshot):
        return {"version": "2.7.0.Final", "connector": "mysql",
                "name": "dbserver1", "ts_ms": self.ts,
                "snapshot": {"string": snapshot}, "db": "inventory",
                "sequence": None, "ts_us": None, "ts_ns": None,
                "table": {"string": "customers"}, "server_id": 223344,
                "gtid": None, "file": "mysql-bin.000003",
                "pos": self.binpos, "row": 0, "thread": {"long": 7},
                "query": None}

    @staticmethod
    def _customer(row):
        return None if row is None else {CUSTOMERS + ".Value": dict(row)}

    def customer(self, op, cid, snapshot="false"):
        self._tick()
        before = self.customers.get(cid)
        if op == "d":
            after = None
            del self.customers[cid]
        else:
            n = self.rnd.randint(1, 999)
            after = {"id": cid, "first_name": "Anne-%d" % n,
                     "last_name": "O'Brien %d" % cid,
                     "email": "c%d.%d@example.com" % (cid, n)}
            self.customers[cid] = after
        value = {"before": self._customer(before if op in "ud" else None),
                 "after": self._customer(after),
                 "source": self._my_source(snapshot), "transaction": None,
                 "op": op, "ts_ms": {"long": self.ts + 3}, "ts_us": None,
                 "ts_ns": None}
        key = json.dumps({"id": cid})
        lines = [key + "\t" + json.dumps(value, ensure_ascii=False)]
        if op == "d":
            lines.append(key + "\t")
        return lines

    def changes(self, nproducts, ncustomers, new_products, new_customers):
        """A mix of updates, deletes and inserts on both tables."""
        p, c = [], []
        for _ in range(nproducts):
            pid = self.rnd.choice(sorted(self.products))
            p += self.product("d" if self.rnd.random() < 0.15 else "u", pid)
        for pid in new_products:
            p += self.product("c", pid)
        for _ in range(ncustomers):
            cid = self.rnd.choice(sorted(self.customers))
            c += self.customer("d" if self.rnd.random() < 0.15 else "u", cid)
        for cid in new_customers:
            c += self.customer("c", cid)
        return p, c

    def expected(self):
        def fmt(v):
            if v is None:
                return "<null>"
            if isinstance(v, float):  # as PostgreSQL prints float8
                return repr(v)[:-2] if repr(v).endswith(".0") else repr(v)
            return str(v)
        prods = ["\t".join(fmt(r[k]) for k in ("id", "name", "description",
                                               "weight"))
                 for _, r in sorted(self.products.items())]
        custs = ["\t".join(fmt(r[k]) for k in ("id", "first_name",
                                               "last_name", "email"))
                 for _, r in sorted(self.customers.items())]
        return prods, custs


def actual(pg):
    prods = pg.lines("SELECT id, name, coalesce(description, '<null>'), "
                     "coalesce(weight::text, '<null>') FROM "
                     "inventory.products ORDER BY id")
    custs = pg.lines("SELECT id, first_name, last_name, email FROM "
                     "inventory.customers ORDER BY id")
    return prods, custs


def produce(env, topic, lines, value_id, key_id, schema_topic=None):
    schema_topic = schema_topic or topic
    path = os.path.join(env.dir, "avro-%s-%d.tsv" % (topic, time.time_ns()))
    with open(path, "w", encoding="utf-8") as f:
        for ln in lines:
            f.write(ln + "\n")
    tool = os.path.join(st.tools_dir(), "sluice-avro-produce")
    if not os.access(tool, os.X_OK):
        raise st.Skip("sluice-avro-produce is not built")
    argv = [tool, "-b", env.mock.bootstrap, "-t", topic,
            "--value-schema", os.path.join(SCHEMAS, schema_topic + "-value.avsc"),
            "--value-id", str(value_id),
            "--key-schema", os.path.join(SCHEMAS, schema_topic + "-key.avsc"),
            "--key-id", str(key_id), path]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("sluice-avro-produce failed (%d): %s"
                             % (r.returncode, r.stderr))
    return len(lines)


def check_tables(pg, stream, when):
    want_p, want_c = stream.expected()
    got_p, got_c = actual(pg)
    st.assert_lines_equal(want_p, got_p, "inventory.products " + when)
    st.assert_lines_equal(want_c, got_c, "inventory.customers " + when)


def ledger_total(pg):
    return sum(st.ledger(pg, GROUP).values())


def test(env):
    st.require_sluice()
    pg = env.postgres()
    pg.execute(DDL)
    env.broker(["%s:3" % PRODUCTS, "%s:3" % CUSTOMERS])

    schema_dir = os.path.join(env.dir, "registry")
    os.makedirs(schema_dir)
    for (topic, part), sid in IDS.items():
        shutil.copy(os.path.join(SCHEMAS, "%s-%s.avsc" % (topic, part)),
                    os.path.join(schema_dir, "%d.avsc" % sid))
    reg = Registry(env, schema_dir).start()
    cfg_extra = {"format": {"key": "auto", "value": "auto"},
                 "registry": {"url": reg.url, "timeout_ms": 2000}}
    w = env.sluice("w", group=GROUP, topics=[PRODUCTS, CUSTOMERS],
                   mirror={"schema": "inventory"}, extra=cfg_extra)

    # 1. snapshot, then changes ------------------------------------------
    s = Stream(7)
    p, c = [], []
    ids = list(range(101, 161))
    for i, pid in enumerate(ids):
        p += s.product("r", pid, "last" if i == len(ids) - 1 else "true")
    cids = list(range(1001, 1041))
    for i, cid in enumerate(cids):
        c += s.customer("r", cid, "last" if i == len(cids) - 1 else "true")
    dp, dc = s.changes(120, 80, range(161, 181), range(1041, 1051))
    total = produce(env, PRODUCTS, p + dp, IDS[(PRODUCTS, "value")],
                    IDS[(PRODUCTS, "key")])
    total += produce(env, CUSTOMERS, c + dc, IDS[(CUSTOMERS, "value")],
                     IDS[(CUSTOMERS, "key")])
    rc, err = w.run_to_end(timeout=240)
    st.assert_true(rc == 0, "phase 1: exit %s:\n%s" % (rc, err[-3000:]))
    check_tables(pg, s, "after phase 1")
    st.assert_true(ledger_total(pg) == total,
                   "ledger %d != %d messages" % (ledger_total(pg), total))
    fetched = reg.stats()["by_id"]
    st.assert_true(all(fetched.get(str(i)) == 1 for i in IDS.values()),
                   "each schema id fetched once per worker: %s" % fetched)

    # 2. registry answers 503 while a fresh worker starts ----------------
    dp, dc = s.changes(60, 40, range(181, 191), range(1051, 1056))
    total += produce(env, PRODUCTS, dp, IDS[(PRODUCTS, "value")],
                     IDS[(PRODUCTS, "key")])
    total += produce(env, CUSTOMERS, dc, IDS[(CUSTOMERS, "value")],
                     IDS[(CUSTOMERS, "key")])
    before = ledger_total(pg)
    reg.control(fail=1000000, reset_stats=True)
    w.start(exit_at_end=True)
    st.wait_until(lambda: reg.stats()["failed"] >= 8, 60,
                  "the worker to hit the failing registry")
    time.sleep(2)
    st.assert_true(w.running, "worker gave up during a registry outage:\n%s"
                   % w.stderr()[-3000:])
    st.assert_true(ledger_total(pg) == before,
                   "the ledger moved while no schema could be fetched")
    reg.control(fail=0)
    rc = w.wait(240)
    err = w.stderr()
    st.assert_true(rc == 0, "phase 2: exit %s:\n%s" % (rc, err[-3000:]))
    st.assert_true("schema registry" in err and "503" in err,
                   "phase 2: the retries are not logged:\n%s" % err[-3000:])
    check_tables(pg, s, "after a registry outage (503)")
    st.assert_true(ledger_total(pg) == total, "phase 2 ledger")

    # 3. registry process down, a new schema id, registry back -----------
    shutil.copy(os.path.join(SCHEMAS, PRODUCTS + "-value.avsc"),
                os.path.join(schema_dir, "%d.avsc" % PRODUCTS_V2))
    dp, dc = s.changes(40, 0, range(191, 196), ())
    total += produce(env, PRODUCTS, dp, PRODUCTS_V2, IDS[(PRODUCTS, "key")],
                     schema_topic=PRODUCTS)
    before = ledger_total(pg)
    reg.stop()
    w.start(exit_at_end=True)
    time.sleep(6)
    st.assert_true(w.running, "worker gave up while the registry was down:\n%s"
                   % w.stderr()[-3000:])
    st.assert_true(ledger_total(pg) == before,
                   "the ledger moved while the registry was down")
    reg.start()
    rc = w.wait(240)
    err = w.stderr()
    st.assert_true(rc == 0, "phase 3: exit %s:\n%s" % (rc, err[-3000:]))
    check_tables(pg, s, "after the registry was down")
    st.assert_true(ledger_total(pg) == total, "phase 3 ledger")

    # 4. an unknown schema id: exit 3, nothing past it -------------------
    led = st.ledger(pg, GROUP)
    s_products_before = dict(s.products)
    bad = s.product("u", sorted(s.products)[0])
    produce(env, PRODUCTS, bad[:1], 999, IDS[(PRODUCTS, "key")],
            schema_topic=PRODUCTS)
    rc, err = w.run_to_end(timeout=180)
    st.assert_true(rc == 3, "phase 4: expected exit 3, got %s:\n%s"
                   % (rc, err[-3000:]))
    st.assert_true("schema id 999 not found" in err and reg.url in err,
                   "phase 4: unclear message:\n%s" % err[-3000:])
    new_led = st.ledger(pg, GROUP)
    moved = {k: v for k, v in new_led.items() if led.get(k) != v}
    st.assert_true(not moved, "phase 4: the ledger moved: %s" % moved)
    wm = env.kafka.watermarks(PRODUCTS)
    bad_part = [p for p, (lo, hi) in wm.items()
                if hi > led.get((PRODUCTS, p), 0)]
    st.assert_true(len(bad_part) == 1, "one partition holds the bad record")
    want = "topic %s partition %d offset %d" % (
        PRODUCTS, bad_part[0], led[(PRODUCTS, bad_part[0])])
    st.assert_true(want in err, "phase 4: stderr does not name %r:\n%s"
                   % (want, err[-3000:]))
    # the table did not take the bad update
    s.products = s_products_before
    check_tables(pg, s, "after the unknown schema id")


st.run(test)
