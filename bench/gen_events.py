#!/usr/bin/env python3
"""Realistic Debezium 2.x PostgreSQL-connector change events for the bench.

The source table (REPLICA IDENTITY DEFAULT) is

    customers(id int4 PRIMARY KEY, first_name text, last_name text,
              email text, balance numeric(12,2), updated_at timestamptz,
              active bool, rev int8
              [, extra_1 .. extra_W text]        --width W
              [, notes text]                     --toast)

and the events are what Debezium's PostgreSQL connector writes through Kafka
Connect's JsonConverter to topic `<prefix>.public.customers`:

  * payload-only (schemas.enable=false) or, with --schemas, the
    {"schema":…,"payload":…} envelope with the full Connect schema
    (`<prefix>.public.customers.Envelope` version 2, Value structs,
    io.debezium.time.ZonedTimestamp, io.debezium.connector.postgresql.Source
    with the io.debezium.data.Enum `snapshot`, the `event.block` transaction
    struct); keys carry the `…Key` schema too;
  * decimal.handling.mode=string (`"1234.50"`) or, with --decimal precise
    (needs --schemas), Connect Decimal: base64 of the unscaled big-endian
    two's complement, scale "2" and precision "12" in the schema;
  * first a snapshot (op r, `source.snapshot` "true"/"last", sequence
    [null, lsn]), then c/u/d in transactions of 1-5 events; every event has a
    strictly increasing lsn and source.sequence = [previous commit lsn, lsn];
    u has before=null, d has before={"id":…} and is followed by a tombstone;
  * --toast: `notes` is a large (2-6 KB) text; an u event that does not
    change it carries "__debezium_unavailable_value" instead (what the
    connector sends for an unchanged TOASTed column under REPLICA IDENTITY
    DEFAULT); the sink must keep the stored value.

`rev` is the line number (0-based) of the event's message in the messages
file; the loader logs produce times by line number, so latency can be joined
back to rows (see bench/README.md).

Op mix (defaults): `--snapshot 0.05` of the events are the snapshot (r, keys
ascending), the rest c/u/d in the ratio 40:45:10.  c takes a key that is not
in the table; when every key is in the table it re-creates an existing one
(an idempotent sink upserts it).  u/d pick present keys uniformly, or with
--skew S from a Zipf(S) ranking of the key space (hot keys; falling back to
uniform when the drawn key is absent).

Outputs into OUTDIR:
  messages.tsv  `KEY<TAB>VALUE` per Kafka record (tombstone: `KEY<TAB>`)
  ops.tsv       one line per change event for the PostgreSQL ceiling:
                `OP<TAB>col1<TAB>…` in COPY text escaping (\\N = NULL),
                the placeholder kept verbatim
  truth.copy    the final table, COPY text format, columns in DDL order
  meta.json     counts, columns, DDL, topic, sizes

Import: columns(width, toast), ddl(table, width, toast).
"""
import argparse
import base64
import bisect
import datetime
import json
import os
import random
import sys

PLACEHOLDER = "__debezium_unavailable_value"
EPOCH_MS = 1735689600000  # 2025-01-01T00:00:00Z
EPOCH = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)

FIRST = ["Anne", "Zoë", "李", "O'Brien", 'Sam "the" Man', "Jürgen", "Żółć",
         "back\\slash", "tab\there", "Ångström", "José", "Mary-Jane", "🙂",
         "Olga", "Ng", "Åsa", "D'Arcy", "Jean-Luc", "نور", "Ελένη"]
LAST = ["Smith", "Müller-Lüdenscheidt", "日本語", "Kowalski", "O'Neil",
        "de la Cruz", "Nguyễn", "Ivanov", "Brown", "semi;colon", "{brace}",
        "a,b", "null", "Van Dyke", "Øster", "Ruiz", "Wang", "Ó Briain"]
DOMAINS = ["example.com", "mail.example.org", "exämple.de", "corp.test"]


def columns(width=0, toast=False):
    """[(name, pg type)] in DDL order."""
    cols = [("id", "int4"), ("first_name", "text"), ("last_name", "text"),
            ("email", "text"), ("balance", "numeric(12,2)"),
            ("updated_at", "timestamptz"), ("active", "bool"),
            ("rev", "int8")]
    cols += [("extra_%d" % i, "text") for i in range(1, width + 1)]
    if toast:
        cols.append(("notes", "text"))
    return cols


def ddl(table, width=0, toast=False):
    cols = columns(width, toast)
    body = ",\n  ".join("%s %s%s" % (n, t, " PRIMARY KEY" if n == "id" else "")
                       for n, t in cols)
    return "CREATE TABLE %s (\n  %s)" % (table, body)


def _j(s):
    return json.dumps(s, ensure_ascii=False)


def _copy(v):
    """COPY text-format field."""
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    s = str(v)
    if any(c in s for c in "\\\t\n\r"):
        s = (s.replace("\\", "\\\\").replace("\t", "\\t")
             .replace("\n", "\\n").replace("\r", "\\r"))
    return s


def _zoned(us):
    """Debezium ZonedTimestamp text: ISO-8601 UTC, fraction without trailing
    zeros (Java's ISO_OFFSET_DATE_TIME)."""
    t = EPOCH + datetime.timedelta(microseconds=us)
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        s += "." + ("%06d" % t.microsecond).rstrip("0")
    return s + "Z"


def _pg_ts(us):
    t = EPOCH + datetime.timedelta(microseconds=us)
    return t.strftime("%Y-%m-%d %H:%M:%S.") + "%06d+00" % t.microsecond


def _money(cents):
    sign = "-" if cents < 0 else ""
    c = abs(cents)
    return "%s%d.%02d" % (sign, c // 100, c % 100)


def _decimal_b64(cents):
    """Connect Decimal: Java BigInteger.toByteArray() of the unscaled value."""
    n = (cents.bit_length() + 8) // 8
    return base64.b64encode(cents.to_bytes(n, "big", signed=True)).decode()


class KeySet:
    """Set with O(1) add/remove/random choice."""

    def __init__(self, items=()):
        self.items, self.pos = [], {}
        for k in items:
            self.add(k)

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
        return self.items[int(rnd.random() * len(self.items))]


# ------------------------------------------------------------ Connect schema

def _f(typ, field, optional=True, **extra):
    d = {"type": typ, "optional": optional}
    d.update(extra)
    d["field"] = field
    return d


def value_schema_fields(width, toast, precise):
    f = [_f("int32", "id", False), _f("string", "first_name"),
         _f("string", "last_name"), _f("string", "email")]
    if precise:
        f.append(_f("bytes", "balance", name="org.apache.kafka.connect.data.Decimal",
                    version=1, parameters={"scale": "2",
                                           "connect.decimal.precision": "12"}))
    else:
        f.append(_f("string", "balance"))
    f += [_f("string", "updated_at", name="io.debezium.time.ZonedTimestamp",
             version=1),
          _f("boolean", "active"), _f("int64", "rev")]
    f += [_f("string", "extra_%d" % i) for i in range(1, width + 1)]
    if toast:
        f.append(_f("string", "notes"))
    return f


def envelope_schema(prefix, width, toast, precise):
    vname = "%s.public.customers.Value" % prefix
    vfields = value_schema_fields(width, toast, precise)
    source = {"type": "struct", "fields": [
        _f("string", "version", False), _f("string", "connector", False),
        _f("string", "name", False), _f("int64", "ts_ms", False),
        _f("string", "snapshot", True, name="io.debezium.data.Enum", version=1,
           parameters={"allowed": "true,first,first_in_data_collection,"
                       "last_in_data_collection,last,false,incremental"},
           default="false"),
        _f("string", "db", False), _f("string", "sequence"),
        _f("int64", "ts_us"), _f("int64", "ts_ns"),
        _f("string", "schema", False), _f("string", "table", False),
        _f("int64", "txId"), _f("int64", "lsn"), _f("int64", "xmin")],
        "optional": False, "name": "io.debezium.connector.postgresql.Source",
        "field": "source"}
    tx = {"type": "struct", "fields": [
        _f("string", "id", False), _f("int64", "total_order", False),
        _f("int64", "data_collection_order", False)],
        "optional": True, "name": "event.block", "version": 1,
        "field": "transaction"}
    return {"type": "struct", "fields": [
        {"type": "struct", "fields": vfields, "optional": True, "name": vname,
         "field": "before"},
        {"type": "struct", "fields": vfields, "optional": True, "name": vname,
         "field": "after"},
        source, tx, _f("string", "op", False), _f("int64", "ts_ms"),
        _f("int64", "ts_us"), _f("int64", "ts_ns")],
        "optional": False,
        "name": "%s.public.customers.Envelope" % prefix, "version": 2}


def key_schema(prefix):
    return {"type": "struct", "fields": [_f("int32", "id", False)],
            "optional": False, "name": "%s.public.customers.Key" % prefix}


# ------------------------------------------------------------ generator

class Generator:
    def __init__(self, a):
        self.a = a
        self.rnd = random.Random(a.seed)
        self.cols = columns(a.width, a.toast)
        self.names = [c for c, _ in self.cols]
        sep = (",", ":")
        if a.schemas:
            self.vpre = ('{"schema":' + json.dumps(
                envelope_schema(a.prefix, a.width, a.toast,
                                a.decimal == "precise"),
                separators=sep) + ',"payload":')
            self.vpost = "}"
            self.kpre = ('{"schema":' + json.dumps(key_schema(a.prefix),
                                                   separators=sep)
                         + ',"payload":{"id":')
            self.kpost = "}}"
        else:
            self.vpre = self.vpost = ""
            self.kpre, self.kpost = '{"id":', "}"
        self.src_fixed = ('{"version":"2.7.3.Final","connector":"postgresql",'
                          '"name":' + _j(a.prefix) + ',')
        self.blobs = None
        if a.toast:
            r = random.Random(a.seed + 1)
            words = ["lorem", "ipsum", "dolor", "sit", "amet", "ünïcödé",
                     "quote\"d", "back\\slash", "line\nbreak", "tab\tbed"]
            self.blobs = []
            for _ in range(64):
                n = r.randrange(2000, 6000)
                parts, size = [], 0
                while size < n:
                    w = r.choice(words) + str(r.randrange(10 ** 6))
                    parts.append(w)
                    size += len(w) + 1
                self.blobs.append(" ".join(parts))
        self.zipf_cdf = None
        if a.skew > 0:
            w, acc = [], 0.0
            for i in range(1, a.keys + 1):
                acc += 1.0 / (i ** a.skew)
                w.append(acc)
            self.zipf_cdf = [x / acc for x in w]
            self.zipf_map = list(range(1, a.keys + 1))
            random.Random(a.seed + 2).shuffle(self.zipf_map)

    def new_row(self, k, rev):
        rnd = self.rnd
        self.clock_us += rnd.randrange(1, 3_000_000)
        fn, ln = rnd.choice(FIRST), rnd.choice(LAST)
        email = None if rnd.random() < 0.03 else "%s.%d@%s" % (
            ln.lower().replace(" ", ""), k, rnd.choice(DOMAINS))
        cents = rnd.randrange(-99_999_999_99, 99_999_999_99)
        row = [k, fn, ln, email, cents, self.clock_us, rnd.random() < 0.7, rev]
        for i in range(self.a.width):
            row.append("x%d-%d %s" % (i + 1, rnd.randrange(10 ** 9),
                                      rnd.choice(LAST)))
        if self.a.toast:
            row.append(self.new_blob(k, rev))
        return row

    def new_blob(self, k, rev):
        return "k%d r%d %s" % (k, rev, self.blobs[int(self.rnd.random() * 64)])

    def after_json(self, row, unavailable):
        a = self.a
        bal = (_j(_decimal_b64(row[4])) if a.decimal == "precise"
               else '"' + _money(row[4]) + '"')
        parts = ['{"id":%d,"first_name":%s,"last_name":%s,"email":%s,'
                 '"balance":%s,"updated_at":"%s","active":%s,"rev":%d' % (
                     row[0], _j(row[1]), _j(row[2]),
                     "null" if row[3] is None else _j(row[3]), bal,
                     _zoned(row[5]), "true" if row[6] else "false", row[7])]
        for i in range(a.width):
            parts.append(',"extra_%d":%s' % (i + 1, _j(row[8 + i])))
        if a.toast:
            parts.append(',"notes":%s' % _j(PLACEHOLDER if unavailable
                                              else row[-1]))
        parts.append("}")
        return "".join(parts)

    def copy_row(self, row, unavailable=False):
        out = [str(row[0]), _copy(row[1]), _copy(row[2]), _copy(row[3]),
               _money(row[4]), _pg_ts(row[5]), "t" if row[6] else "f",
               str(row[7])]
        out += [_copy(v) for v in row[8:8 + self.a.width]]
        if self.a.toast:
            out.append(PLACEHOLDER if unavailable else _copy(row[-1]))
        return "\t".join(out)

    def pick_present(self, present):
        if self.zipf_cdf is not None:
            r = bisect.bisect_left(self.zipf_cdf, self.rnd.random())
            k = self.zipf_map[min(r, len(self.zipf_map) - 1)]
            if k in present:
                return k
        return present.choice(self.rnd)

    def run(self, outdir):
        a, rnd = self.a, self.rnd
        os.makedirs(outdir, exist_ok=True)
        mf = open(os.path.join(outdir, "messages.tsv"), "w", encoding="utf-8",
                  newline="\n")
        of = open(os.path.join(outdir, "ops.tsv"), "w", encoding="utf-8",
                  newline="\n")
        table = {}
        present = KeySet()
        self.clock_us = 0
        line = 0
        stats = {"r": 0, "c": 0, "u": 0, "d": 0, "tombstones": 0,
                 "unavailable": 0, "recreate": 0}
        msg_bytes = 0
        lsn = 30_000_000
        txid = 1000
        prev_commit = None

        def emit(k, before, after, op, snapshot, this_lsn, tx, ts_ms):
            nonlocal line, msg_bytes
            ts_us = ts_ms * 1000 + 123
            src = ('%s"ts_ms":%d,"snapshot":"%s","db":"shop","sequence":%s,'
                   '"ts_us":%d,"ts_ns":%d,"schema":"public","table":"customers",'
                   '"txId":%d,"lsn":%d,"xmin":null}' % (
                       self.src_fixed, ts_ms, snapshot,
                       _j(json.dumps([prev_commit if prev_commit is None
                                      else str(prev_commit), str(this_lsn)],
                                     separators=(",", ":"))),
                       ts_us, ts_us * 1000, tx, this_lsn))
            tsm = ts_ms + 5
            val = ('%s{"before":%s,"after":%s,"source":%s,"transaction":null,'
                   '"op":"%s","ts_ms":%d,"ts_us":%d,"ts_ns":%d}%s' % (
                       self.vpre, before, after, src, op, tsm, tsm * 1000 + 456,
                       (tsm * 1000 + 456) * 1000, self.vpost))
            key = "%s%d%s" % (self.kpre, k, self.kpost)
            s = key + "\t" + val + "\n"
            mf.write(s)
            msg_bytes += len(key.encode()) + len(val.encode())
            line += 1
            stats[op] += 1

        def tombstone(k):
            nonlocal line, msg_bytes
            key = "%s%d%s" % (self.kpre, k, self.kpost)
            mf.write(key + "\t\n")
            msg_bytes += len(key.encode())
            line += 1
            stats["tombstones"] += 1

        n_snap = min(a.keys, int(a.events * a.snapshot))
        snap_keys = sorted(rnd.sample(range(1, a.keys + 1), n_snap))
        snap_set = set(snap_keys)
        absent = KeySet(k for k in range(1, a.keys + 1) if k not in snap_set)
        txid += 1
        for i, k in enumerate(snap_keys):
            lsn += rnd.randrange(40, 400)
            row = self.new_row(k, line)
            table[k] = row
            present.add(k)
            of.write("r\t" + self.copy_row(row) + "\n")
            emit(k, "null", self.after_json(row, False), "r",
                 "last" if i == n_snap - 1 else "true", lsn, txid,
                 EPOCH_MS + self.clock_us // 1000)
        prev_commit = lsn + 8
        lsn = prev_commit
        remaining = a.events - n_snap
        pc, pu = a.mix[0] / sum(a.mix), (a.mix[0] + a.mix[1]) / sum(a.mix)
        while remaining > 0:
            txid += rnd.randrange(1, 4)
            for _ in range(min(remaining, rnd.randrange(1, 6))):
                x = rnd.random()
                op = "c" if x < pc else ("u" if x < pu else "d")
                if op != "c" and not present:
                    op = "c"
                lsn += rnd.randrange(40, 400)
                ts = EPOCH_MS + self.clock_us // 1000
                if op == "c":
                    if absent:
                        k = absent.choice(rnd)
                        absent.remove(k)
                        present.add(k)
                    else:
                        k = self.pick_present(present)
                        stats["recreate"] += 1
                    row = table[k] = self.new_row(k, line)
                    of.write("c\t" + self.copy_row(row) + "\n")
                    emit(k, "null", self.after_json(row, False), "c", "false",
                         lsn, txid, ts)
                elif op == "u":
                    k = self.pick_present(present)
                    old = table[k]
                    row = self.new_row(k, line)
                    unavailable = False
                    if a.toast and rnd.random() < 0.7:
                        row[-1] = old[-1]  # unchanged TOASTed value
                        unavailable = True
                        stats["unavailable"] += 1
                    table[k] = row
                    of.write("u\t" + self.copy_row(row, unavailable) + "\n")
                    emit(k, "null", self.after_json(row, unavailable), "u",
                         "false", lsn, txid, ts)
                else:
                    k = self.pick_present(present)
                    present.remove(k)
                    absent.add(k)
                    del table[k]
                    of.write("d\t%d\n" % k)
                    emit(k, '{"id":%d}' % k, "null", "d", "false", lsn, txid,
                         ts)
                    tombstone(k)
                remaining -= 1
            prev_commit = lsn + 8
            lsn = prev_commit
        mf.close()
        of.close()
        with open(os.path.join(outdir, "truth.copy"), "w", encoding="utf-8",
                  newline="\n") as tf:
            for k in sorted(table):
                tf.write(self.copy_row(table[k]) + "\n")
        meta = {
            "events": a.events, "keys": a.keys, "seed": a.seed,
            "schemas": a.schemas, "decimal": a.decimal, "width": a.width,
            "toast": a.toast, "skew": a.skew, "snapshot": a.snapshot,
            "mix": a.mix, "prefix": a.prefix,
            "topic": "%s.public.customers" % a.prefix,
            "messages": line, "message_bytes": msg_bytes,
            "rows": len(table), "columns": self.cols, "counts": stats,
        }
        with open(os.path.join(outdir, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        return meta


# ------------------------------------------------------------ self-check

def _unb64_cents(s):
    return int.from_bytes(base64.b64decode(s), "big", signed=True)


def selfcheck(outdir):
    """Re-derives the final table from messages.tsv alone (json parsing,
    placeholder = keep) and compares it with truth.copy."""
    meta = json.load(open(os.path.join(outdir, "meta.json")))
    names = [c for c, _ in meta["columns"]]
    table = {}
    with open(os.path.join(outdir, "messages.tsv"), encoding="utf-8") as f:
        for ln in f:
            key, _, val = ln.rstrip("\n").partition("\t")
            if not val:
                continue
            v = json.loads(val)
            if meta["schemas"]:
                assert "schema" in v
                v = v["payload"]
            k = json.loads(key)
            k = k["payload"]["id"] if meta["schemas"] else k["id"]
            if v["op"] == "d":
                table.pop(k, None)
                continue
            after = dict(v["after"])
            for n in names:
                if after.get(n) == PLACEHOLDER:
                    after[n] = table[k][n]
            table[k] = after
    g = Generator.__new__(Generator)
    g.a = argparse.Namespace(width=meta["width"], toast=meta["toast"])
    out = []
    for k in sorted(table):
        a = table[k]
        bal = a["balance"]
        cents = (_unb64_cents(bal) if meta["decimal"] == "precise"
                 else int(bal.replace(".", "")))
        z = a["updated_at"][:-1]
        date, _, frac = z.partition(".")
        t = datetime.datetime.strptime(date, "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc)
        us = int((t - EPOCH).total_seconds()) * 1_000_000 + int(
            (frac + "000000")[:6])
        row = [a["id"], a["first_name"], a["last_name"], a["email"], cents,
               us, a["active"], a["rev"]]
        row += [a["extra_%d" % i] for i in range(1, meta["width"] + 1)]
        if meta["toast"]:
            row.append(a["notes"])
        out.append(g.copy_row(row) + "\n")
    with open(os.path.join(outdir, "truth.copy"), encoding="utf-8") as f:
        truth = f.readlines()
    if out != truth:
        raise SystemExit("selfcheck FAILED: %d derived rows vs %d truth rows"
                         % (len(out), len(truth)))
    print("selfcheck ok: %d rows" % len(out), file=sys.stderr)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--events", type=int, default=100_000)
    ap.add_argument("-k", "--keys", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--prefix", default="bench")
    ap.add_argument("--schemas", action="store_true")
    ap.add_argument("--decimal", choices=("string", "precise"),
                    default="string")
    ap.add_argument("--width", type=int, default=0,
                    help="extra text columns")
    ap.add_argument("--toast", action="store_true",
                    help="large notes column with unchanged-TOAST placeholders")
    ap.add_argument("--skew", type=float, default=0.0,
                    help="Zipf exponent for u/d key choice (0 = uniform)")
    ap.add_argument("--snapshot", type=float, default=0.05)
    ap.add_argument("--mix", type=lambda s: [float(x) for x in s.split(":")],
                    default=[40.0, 45.0, 10.0], help="c:u:d ratio")
    ap.add_argument("--selfcheck", action="store_true",
                    help="re-derive the truth from the messages and compare")
    ap.add_argument("outdir")
    a = ap.parse_args(argv)
    if a.decimal == "precise" and not a.schemas:
        ap.error("--decimal precise needs --schemas (without the schema the "
                 "scale is unknown)")
    return a


def main(argv=None):
    a = parse_args(argv)
    meta = Generator(a).run(a.outdir)
    print(json.dumps({k: meta[k] for k in ("events", "messages",
                                           "message_bytes", "rows",
                                           "counts")}), file=sys.stderr)
    if a.selfcheck:
        selfcheck(a.outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
