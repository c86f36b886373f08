#!/usr/bin/env python3
"""Deterministic Debezium PostgreSQL-connector change stream of an orders
table, for the example worker's tests (examples/inventory_worker).

Writes what Debezium (JSON converter, schemas.enable=false,
decimal.handling.mode=string) would put on the topic
`<prefix>.inventory.orders` for the source table

    inventory.orders(id int4 PRIMARY KEY, customer_id int4,
                     amount numeric(12,2))   -- REPLICA IDENTITY FULL

a c/u/d mix (~40/45/15) in transactions of 1-5 events, over a few dozen
customers, amounts with cents (never negative), and on about a fifth of the
updates a change of customer. REPLICA IDENTITY FULL: u and d events carry
the whole old row in `before`. Every d is followed by a tombstone. Every
event has a unique, strictly increasing lsn; source.sequence is
["<commit lsn of the previous transaction>", "<lsn>"], so the position
increases along the stream (and so within every partition).

Ground truth, in the text form of the queries below (psql -At -F '\\t'):
  ORDERS_QUERY:  the mirrored orders table, sorted by id;
  TOTALS_QUERY:  customer_totals as the example worker keeps it by
                 increments: every customer that ever had an order, with
                 total = sum of the amounts of its current orders and
                 orders = their number (0.00 and 0 once all are gone).

Usage: gen_orders.py [--seed S] [--events N] [--keys K] MESSAGES TRUTH_DIR
Import: generate(...) gives (messages, orders_truth, totals_truth, stats).
"""
import argparse
import json
import os
import random
import sys

ORDERS_QUERY = ("SELECT id, coalesce(customer_id::text, 'null'), "
                "coalesce(amount::text, 'null') FROM {schema}.orders ORDER BY id")
TOTALS_QUERY = ("SELECT customer_id, total::text, orders "
                "FROM {schema}.customer_totals ORDER BY customer_id")
# One line per applied c/u/d event, as the audit must hold it.
AUDIT_QUERY = ("SELECT kafka_partition, kafka_offset, op, order_id "
               "FROM {schema}.order_audit WHERE topic = '{topic}' "
               "ORDER BY kafka_partition, kafka_offset, id")

CUSTOMERS = 40


def orders_query(schema):
    return ORDERS_QUERY.format(schema=schema)


def totals_query(schema):
    return TOTALS_QUERY.format(schema=schema)


def audit_query(schema, topic):
    return AUDIT_QUERY.format(schema=schema, topic=topic.replace("'", "''"))


def _jdump(v):
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def _money(cents):
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return "%s%d.%02d" % (sign, cents // 100, cents % 100)


def _cents(text):
    neg = text.startswith("-")
    whole, _, frac = text.lstrip("-").partition(".")
    c = int(whole) * 100 + int((frac + "00")[:2])
    return -c if neg else c


def generate(seed, events, keys=40_000, prefix="shop"):
    """Returns (messages, orders_truth, totals_truth, stats).

    messages: (key_text, value_text_or_None) in produce order;
    orders_truth / totals_truth: TSV lines in ORDERS_QUERY / TOTALS_QUERY
    form.
    """
    rnd = random.Random(seed)
    topic = "%s.inventory.orders" % prefix
    table = {}  # id -> (customer_id, cents)
    present, absent = [], list(range(1, keys + 1))
    where = {}  # id -> index in present
    rnd.shuffle(absent)
    msgs = []
    stats = {"c": 0, "u": 0, "d": 0, "tombstones": 0,
             "customer_changes": 0}
    lsn = 33_000_000
    prev_commit = lsn
    txid = 900
    ts = 1735689600000

    def take_present():
        i = rnd.randrange(len(present))
        k = present[i]
        last = present.pop()
        if i < len(present):
            present[i] = last
            where[last] = i
        del where[k]
        return k

    def row(k, r):
        return {"id": k, "customer_id": r[0], "amount": _money(r[1])}

    def amount():
        # mostly small, some large, a few zero; always with cents
        x = rnd.random()
        if x < 0.02:
            return 0
        if x < 0.9:
            return rnd.randrange(1, 50_000)
        return rnd.randrange(50_000, 99_999_999)

    def emit(k, before, after, op, this_lsn, tx):
        src = {"version": "2.5.4.Final", "connector": "postgresql",
               "name": prefix, "ts_ms": ts, "snapshot": "false",
               "db": "inventory",
               "sequence": _jdump([str(prev_commit), str(this_lsn)]),
               "schema": "inventory", "table": "orders", "txId": tx,
               "lsn": this_lsn, "xmin": None}
        value = {"before": before, "after": after, "source": src, "op": op,
                 "ts_ms": ts + 5, "transaction": None}
        msgs.append((_jdump({"id": k}), _jdump(value)))
        stats[op] += 1

    remaining = events
    while remaining > 0:
        txid += rnd.randrange(1, 4)
        ts += rnd.randrange(1, 2000)
        for _ in range(min(remaining, rnd.randrange(1, 6))):
            x = rnd.random()
            op = "c" if x < 0.40 else ("u" if x < 0.85 else "d")
            if op == "c" and not absent:
                op = "u"
            if op != "c" and not present:
                op = "c"
            lsn += rnd.randrange(40, 400)
            if op == "c":
                k = absent.pop()
                where[k] = len(present)
                present.append(k)
                r = table[k] = (rnd.randrange(1, CUSTOMERS + 1), amount())
                emit(k, None, row(k, r), "c", lsn, txid)
            elif op == "u":
                k = present[rnd.randrange(len(present))]
                old = table[k]
                cust = old[0]
                if rnd.random() < 0.2:
                    cust = rnd.randrange(1, CUSTOMERS + 1)
                    stats["customer_changes"] += cust != old[0]
                new = table[k] = (cust, amount() if rnd.random() < 0.8
                                  else old[1])
                emit(k, row(k, old), row(k, new), "u", lsn, txid)
            else:
                k = take_present()
                old = table.pop(k)
                absent.insert(rnd.randrange(len(absent) + 1), k)
                emit(k, row(k, old), None, "d", lsn, txid)
                msgs.append((_jdump({"id": k}), None))
                stats["tombstones"] += 1
            remaining -= 1
        prev_commit = lsn + 8
        lsn = prev_commit

    orders_truth = ["%d\t%d\t%s" % (k, table[k][0], _money(table[k][1]))
                    for k in sorted(table)]
    totals = {}
    for k, (cust, cents) in table.items():
        t = totals.setdefault(cust, [0, 0])
        t[0] += cents
        t[1] += 1
    touched = {json.loads(v)["after"]["customer_id"]
               for _, v in msgs if v and json.loads(v)["after"]}
    totals_truth = ["%d\t%s\t%d" % (c, _money(totals.get(c, [0, 0])[0]),
                                    totals.get(c, [0, 0])[1])
                    for c in sorted(touched)]
    assert (orders_truth, totals_truth) == truth_from_messages(msgs), \
        "generator self-check failed"
    stats["events"] = events
    stats["messages"] = len(msgs)
    stats["orders"] = len(orders_truth)
    stats["customers"] = len(totals_truth)
    stats["topic"] = topic
    return msgs, orders_truth, totals_truth, stats


def truth_from_messages(msgs):
    """(orders_truth, totals_truth) after applying msgs in order, the way
    the example worker does: by increments from each event's before and
    after rows (tombstones ignored). Independent of generate()'s
    bookkeeping, so each checks the other; works on any prefix of a
    stream."""
    orders = {}
    totals = {}

    def add(cust, cents, n):
        t = totals.setdefault(cust, [0, 0])
        t[0] += cents
        t[1] += n

    for key, value in msgs:
        if value is None:
            continue
        v = json.loads(value)
        k = json.loads(key)["id"]
        b, a = v["before"], v["after"]
        if v["op"] == "c":
            add(a["customer_id"], _cents(a["amount"]), 1)
        elif v["op"] == "d":
            add(b["customer_id"], -_cents(b["amount"]), -1)
        else:
            moved = b["customer_id"] != a["customer_id"]
            add(b["customer_id"], -_cents(b["amount"]), -1 if moved else 0)
            add(a["customer_id"], _cents(a["amount"]), 1 if moved else 0)
        if v["op"] == "d":
            orders.pop(k, None)
        else:
            orders[k] = a
    orders_truth = ["%d\t%d\t%s" % (k, orders[k]["customer_id"],
                                    orders[k]["amount"])
                    for k in sorted(orders)]
    totals_truth = ["%d\t%s\t%d" % (c, _money(t[0]), t[1])
                    for c, t in sorted(totals.items())]
    return orders_truth, totals_truth


def audit_truth(consumed, topic):
    """Expected AUDIT_QUERY lines from the topic's messages as
    sluicetest.Kafka.consume() returns them: one per c/u/d event."""
    out = []
    for m in sorted(consumed, key=lambda m: (m["partition"], m["offset"])):
        if m["value"] is None:
            continue
        v = json.loads(m["value"])
        if v["op"] not in ("c", "u", "d"):
            continue
        k = json.loads(m["key"])["id"]
        out.append("%d\t%d\t%s\t%d" % (m["partition"], m["offset"], v["op"],
                                       k))
    return out


def ddl():
    """The example worker's tables (examples/inventory_worker/schema.sql):
    schema "inventory", the worker's mirror.schema in the tests."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "examples", "inventory_worker",
                        "schema.sql")
    with open(path) as f:
        return f.read()


def write_messages(msgs, path):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for k, v in msgs:
            f.write(k + "\t" + (v if v is not None else "") + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--keys", type=int, default=40_000)
    ap.add_argument("--prefix", default="shop")
    ap.add_argument("messages")
    ap.add_argument("truth_dir")
    a = ap.parse_args(argv)
    msgs, orders_truth, totals_truth, stats = generate(a.seed, a.events,
                                                       a.keys, a.prefix)
    write_messages(msgs, a.messages)
    os.makedirs(a.truth_dir, exist_ok=True)
    for name, lines in (("orders.tsv", orders_truth),
                        ("customer_totals.tsv", totals_truth)):
        with open(os.path.join(a.truth_dir, name), "w", encoding="utf-8",
                  newline="\n") as f:
            f.writelines(line + "\n" for line in lines)
    print(json.dumps(stats), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
