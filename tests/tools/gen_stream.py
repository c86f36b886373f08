#!/usr/bin/env python3
"""Deterministic Debezium PostgreSQL-connector change stream for tests.

Writes what Debezium (JSON converter, schemas.enable=false,
decimal.handling.mode=string, time.precision.mode=adaptive) would put on the
topic `<prefix>.public.accounts` for the table

    accounts(id int4 PRIMARY KEY, name text, balance numeric(12,2),
             counter int8, updated_at timestamptz, active bool, note text)

with REPLICA IDENTITY DEFAULT: first a snapshot of part of the keys (op r),
then a c/u/d mix (~40/45/15) in transactions of 1-5 events.  Every event has
a unique, strictly increasing lsn; source.sequence is
["<commit lsn of the previous transaction>", "<lsn>"] (snapshot events:
[null, "<lsn>"]), so (sequence[0], sequence[1]) increases along the stream.
u events have before=null, d events before={"id":N} and are followed by a
tombstone.

Outputs
  messages file: one Kafka record per line, `KEY<TAB>VALUE`, KEY `{"id":N}`;
                 a tombstone is `KEY<TAB>` (what sluice-kafkatool produce reads)
  truth file:    the final table, one row per line sorted by id, in the text
                 form that TRUTH_QUERY prints with `psql -X -At -F '\\t'`.

Comparison scheme (robust against psql's escaping): TRUTH_QUERY renders text
columns with to_json(col)::text (a JSON string literal, or `null` for NULL;
no raw tab/newline can appear), numeric and int8 with ::text, the timestamp
with to_char(... AT TIME ZONE 'UTC') at microsecond precision and booleans as
`true`/`false`.  gen_stream renders the same way with json.dumps(...,
ensure_ascii=False), which escapes exactly like PostgreSQL's to_json.

Usage: gen_stream.py --seed S --events N --keys K MESSAGES TRUTH
Import: truth_query(table) gives the query; generate(...) the data.
"""
import argparse
import datetime
import json
import random
import sys

TRUTH_QUERY = (
    "SELECT id, to_json(name)::text, balance::text, counter::text, "
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), "
    "active::text, coalesce(to_json(note)::text, 'null') "
    "FROM {table} ORDER BY id")

DDL = """CREATE TABLE {table} (
    id         int4 PRIMARY KEY,
    name       text,
    balance    numeric(12,2),
    counter    int8,
    updated_at timestamptz,
    active     bool,
    note       text)"""

NAME_PARTS = [
    "Zoë", "李", "O'Brien", 'say "hi"', "back\\slash", "tab\there",
    "Ångström", "🙂", "semi;colon", "it''s", "plain", "Müller-Lüdenscheidt",
    "日本語", "a,b", "{brace}", "[1,2]", "null", "",
]

NOTES = ["", "vip", "line1\nline2", "comma, quote \" and \\", "ünïcödé",
         "carriage\rreturn", "€100", "NULL", "\\N"]

EPOCH = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)


def truth_query(table):
    return TRUTH_QUERY.format(table=table)


def ddl(table):
    return DDL.format(table=table)


def _jdump(v):
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def _zoned(us):
    """Debezium ZonedTimestamp text (fraction trimmed like Java's ISO form)."""
    t = EPOCH + datetime.timedelta(microseconds=us)
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        # Java's ISO_OFFSET_DATE_TIME drops trailing zeros of the fraction.
        s += "." + ("%06d" % t.microsecond).rstrip("0")
    return s + "Z"


def _pg_ts(us):
    t = EPOCH + datetime.timedelta(microseconds=us)
    return t.strftime("%Y-%m-%d %H:%M:%S") + ".%06d" % t.microsecond


def _money(cents):
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return "%s%d.%02d" % (sign, cents // 100, cents % 100)


class _KeySet:
    """A set with O(1) random choice and removal."""

    def __init__(self):
        self.items, self.pos = [], {}

    def __len__(self):
        return len(self.items)

    def __contains__(self, k):
        return k in self.pos

    def add(self, k):
        if k not in self.pos:
            self.pos[k] = len(self.items)
            self.items.append(k)

    def remove(self, k):
        i = self.pos.pop(k)
        last = self.items.pop()
        if i < len(self.items):
            self.items[i] = last
            self.pos[last] = i

    def choice(self, rnd):
        return self.items[rnd.randrange(len(self.items))]


def generate(seed, events, keys, prefix="stream", snapshot_fraction=0.5):
    """Returns (messages, truth, stats).

    messages: list of (key_text, value_text_or_None) in produce order;
    truth: list of TSV lines (TRUTH_QUERY form), sorted by id.
    """
    rnd = random.Random(seed)
    topic = "%s.public.accounts" % prefix
    table = {}
    present, absent = _KeySet(), _KeySet()
    for k in range(1, keys + 1):
        absent.add(k)
    msgs = []
    stats = {"r": 0, "c": 0, "u": 0, "d": 0, "tombstones": 0}
    lsn = 24_000_000
    clock_us = 0
    prev_commit = None
    txid = 700

    def row_for(k):
        nonlocal clock_us
        clock_us += rnd.randrange(1, 5_000_000)
        name = "%s %s #%d" % (rnd.choice(NAME_PARTS), rnd.choice(NAME_PARTS), k)
        r = {
            "id": k,
            "name": name,
            "balance": _money(rnd.randrange(-99_999_999, 999_999_999)),
            "counter": rnd.randrange(-(2**62), 2**62),
            "updated_at": clock_us,
            "active": rnd.random() < 0.7,
            "note": None if rnd.random() < 0.03 else
                    (rnd.choice(NOTES) if rnd.random() < 0.2 else
                     "n%d" % rnd.randrange(10**6)),
        }
        return r

    def wire_after(r):
        return {
            "id": r["id"], "name": r["name"], "balance": r["balance"],
            "counter": r["counter"], "updated_at": _zoned(r["updated_at"]),
            "active": r["active"], "note": r["note"],
        }

    def source(snapshot, seq0, this_lsn, tx):
        ts = 1735689600000 + clock_us // 1000
        return {
            "version": "2.5.4.Final", "connector": "postgresql",
            "name": prefix, "ts_ms": ts, "snapshot": snapshot, "db": "app",
            "sequence": _jdump([seq0, str(this_lsn)]), "schema": "public",
            "table": "accounts", "txId": tx, "lsn": this_lsn, "xmin": None,
        }

    def emit(key, before, after, op, src):
        value = {"before": before, "after": after, "source": src, "op": op,
                 "ts_ms": src["ts_ms"] + 7, "transaction": None}
        msgs.append((_jdump({"id": key}), _jdump(value)))
        stats[op] += 1

    # Snapshot: one transaction-less read of part of the keys, ids ascending.
    n_snap = min(events, int(keys * snapshot_fraction))
    snap_keys = sorted(rnd.sample(range(1, keys + 1), n_snap))
    txid += 1
    for i, k in enumerate(snap_keys):
        lsn += rnd.randrange(40, 400)
        r = row_for(k)
        table[k] = r
        absent.remove(k)
        present.add(k)
        emit(k, None, wire_after(r), "r",
             source("last" if i == n_snap - 1 else "true", None, lsn, txid))
    prev_commit = lsn + 8
    lsn = prev_commit

    remaining = events - n_snap
    while remaining > 0:
        txid += rnd.randrange(1, 4)
        for _ in range(min(remaining, rnd.randrange(1, 6))):
            x = rnd.random()
            op = "c" if x < 0.40 else ("u" if x < 0.85 else "d")
            if op == "c" and not absent:
                op = "u"
            if op != "c" and not present:
                op = "c"
            lsn += rnd.randrange(40, 400)
            src = source("false", str(prev_commit), lsn, txid)
            if op == "c":
                k = absent.choice(rnd)
                absent.remove(k)
                present.add(k)
                r = table[k] = row_for(k)
                emit(k, None, wire_after(r), "c", src)
            elif op == "u":
                k = present.choice(rnd)
                r = table[k] = row_for(k)
                emit(k, None, wire_after(r), "u", src)
            else:
                k = present.choice(rnd)
                present.remove(k)
                absent.add(k)
                del table[k]
                emit(k, {"id": k}, None, "d", src)
                msgs.append((_jdump({"id": k}), None))
                stats["tombstones"] += 1
            remaining -= 1
        prev_commit = lsn + 8
        lsn = prev_commit

    truth = []
    for k in sorted(table):
        r = table[k]
        truth.append("\t".join([
            str(k), _jdump(r["name"]), r["balance"], str(r["counter"]),
            _pg_ts(r["updated_at"]), "true" if r["active"] else "false",
            "null" if r["note"] is None else _jdump(r["note"]),
        ]))
    assert truth == truth_from_messages(msgs), "generator self-check failed"
    stats["events"] = events
    stats["messages"] = len(msgs)
    stats["rows"] = len(truth)
    stats["topic"] = topic
    return msgs, truth, stats


def _pg_ts_from_zoned(z):
    """'2025-01-01T00:00:03.3Z' -> '2025-01-01 00:00:03.300000'."""
    assert z.endswith("Z")
    date, _, frac = z[:-1].replace("T", " ").partition(".")
    return date + "." + (frac + "000000")[:6]


def truth_from_messages(msgs):
    """Final table (TRUTH_QUERY form) after applying messages in order:
    c/u/r upsert `after`, d delete, tombstones ignored.  Independent of
    generate()'s bookkeeping, so each checks the other."""
    table = {}
    for key, value in msgs:
        if value is None:
            continue
        v = json.loads(value)
        k = json.loads(key)["id"]
        if v["op"] == "d":
            table.pop(k, None)
        else:
            table[k] = v["after"]
    out = []
    for k in sorted(table):
        a = table[k]
        out.append("\t".join([
            str(k), _jdump(a["name"]), a["balance"], str(a["counter"]),
            _pg_ts_from_zoned(a["updated_at"]),
            "true" if a["active"] else "false",
            "null" if a["note"] is None else _jdump(a["note"]),
        ]))
    return out


def write_messages(msgs, path):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for k, v in msgs:
            f.write(k + "\t" + (v if v is not None else "") + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--keys", type=int, default=10_000)
    ap.add_argument("--prefix", default="stream")
    ap.add_argument("messages")
    ap.add_argument("truth")
    a = ap.parse_args(argv)
    msgs, truth, stats = generate(a.seed, a.events, a.keys, a.prefix)
    write_messages(msgs, a.messages)
    with open(a.truth, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(line + "\n" for line in truth)
    print(json.dumps(stats), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
