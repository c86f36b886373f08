#!/usr/bin/env python3
"""Every supported type through the real sluice binary into real PostgreSQL.

A target table with one column per PostgreSQL type (numeric, numeric(38,10),
money as numeric(12,2), int2/4/8, float4/8, bool, text, varchar, bytea, date,
time, timetz, timestamp, timestamptz, interval, uuid, json, jsonb, xml, inet,
cidr, macaddr, bit varying, ltree, point, hstore data as jsonb, PostGIS
geometry as bytea, arrays), Debezium JSON change events with schema carrying
each value (edge values included: 38 digits, negative scales, BC and
post-2038 dates, infinity, +05:30 offsets, NaN, unicode, NULL elements) are
produced to the mock broker, `sluice run --exit-at-end` mirrors them, and
each stored value is compared IN PostgreSQL with the expected literal cast
to the column type (IS NOT DISTINCT FROM, ~= for point, text for xml/json),
never as strings.  A final update carries the unchanged-TOAST placeholder:
the stored text must stay.  Type mapping: docs/types.md."""
import base64
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import sluicetest as st  # noqa: E402

TOPIC = "pg.public.rt_types"
PH = "__debezium_unavailable_value"


def b64(b):
    return base64.b64encode(b).decode()


def dec(unscaled):
    n = 1
    while True:
        try:
            return b64(unscaled.to_bytes(n, "big", signed=True))
        except OverflowError:
            n += 1


def wkb_point(x, y):
    return struct.pack("<BIdd", 1, 1, x, y)


def F(field, type_, name=None, params=None, optional=True, **kw):
    f = {"type": type_, "optional": optional, "field": field}
    if name:
        f["name"] = name
    if params:
        f["parameters"] = params
    f.update(kw)
    return f


def VSD(field):
    return F(field, "struct", "io.debezium.data.VariableScaleDecimal",
             fields=[F("scale", "int32", optional=False),
                     F("value", "bytes", optional=False)])


def DEC(field, scale, precision=None):
    p = {"scale": str(scale)}
    if precision:
        p["connect.decimal.precision"] = str(precision)
    return F(field, "bytes", "org.apache.kafka.connect.data.Decimal", p)


def ARR(field, items):
    items = dict(items, optional=True)
    return F(field, "array", items=items)


# column, PostgreSQL type, field schema, [wire value per row],
# [expected literal per row (None: NULL)], comparison (%s = column, %l = literal)
EQ = "%s IS NOT DISTINCT FROM %l"
COLS = [
    ("n", "numeric", VSD("n"),
     [{"scale": 3, "value": dec(-12345)}, {"scale": 20, "value": dec(1)}, None],
     ["-12.345", "0.00000000000000000001", None], EQ),
    ("n38", "numeric(38,10)", DEC("n38", 10, 38),
     [dec(12345678901234567890123456789012345678), dec(-1), dec(0)],
     ["1234567890123456789012345678.9012345678", "-0.0000000001", "0"], EQ),
    ("nneg", "numeric", DEC("nneg", -3), [dec(-42), dec(7), None],
     ["-42000", "7000", None], EQ),
    ("money", "numeric(12,2)", DEC("money", 2), [dec(-123456789), dec(5), dec(0)],
     ["-1234567.89", "0.05", "0.00"], EQ),
    ("i2", "int2", F("i2", "int16"), [-32768, 32767, 0], ["-32768", "32767", "0"], EQ),
    ("i4", "int4", F("i4", "int32"), [-2147483648, 2147483647, None],
     ["-2147483648", "2147483647", None], EQ),
    ("i8", "int8", F("i8", "int64"), [-9223372036854775808, 9223372036854775807, 0],
     ["-9223372036854775808", "9223372036854775807", "0"], EQ),
    ("f4", "float4", F("f4", "float32"), [1.5, "NaN", "-Infinity"],
     ["1.5", "NaN", "-Infinity"], EQ),
    ("f8", "float8", F("f8", "float64"), [-2.5e-300, "Infinity", 0.1],
     ["-2.5e-300", "Infinity", "0.1"], EQ),
    ("b", "bool", F("b", "boolean"), [True, False, None], ["true", "false", None], EQ),
    ("t", "text", F("t", "string"),
     ["h\u00e9llo \u2713 \U0001F600 \u65e5\u672c", "quote \" back\\slash, {brace}", ""],
     ["h\u00e9llo \u2713 \U0001F600 \u65e5\u672c", "quote \" back\\slash, {brace}", ""], EQ),
    ("vc", "varchar(40)", F("vc", "string"), ["v", None, "NULL"], ["v", None, "NULL"], EQ),
    ("by", "bytea", F("by", "bytes"), [b64(bytes([0, 1, 0xfb, 0xff])), b64(b""), None],
     ["\\x0001fbff", "\\x", None], EQ),
    ("d", "date", F("d", "int32", "io.debezium.time.Date"), [-719893, 47482, -25567],
     ["0002-01-01 BC", "2100-01-01", "1900-01-01"], EQ),
    ("tm", "time", F("tm", "int64", "io.debezium.time.MicroTime"),
     [86399999999, 0, 45296789012], ["23:59:59.999999", "00:00:00", "12:34:56.789012"], EQ),
    ("tmms", "time(3)", F("tmms", "int32", "io.debezium.time.Time"), [45296789, None, 0],
     ["12:34:56.789", None, "00:00:00"], EQ),
    ("ttz", "timetz", F("ttz", "string", "io.debezium.time.ZonedTime"),
     ["23:59:59.999999-08:00", "11:12:51.219026Z", None],
     ["23:59:59.999999-08:00", "11:12:51.219026+00", None], EQ),
    ("ts", "timestamp", F("ts", "int64", "io.debezium.time.MicroTimestamp"),
     [4102444800123456, -2208988800000000, 9223372036825200000],
     ["2100-01-01 00:00:00.123456", "1900-01-01 00:00:00", "infinity"], EQ),
    ("tsns", "timestamp", F("tsns", "int64", "io.debezium.time.NanoTimestamp"),
     [1719400371219026789, None, -1], ["2024-06-26 11:12:51.219026", None,
                                        "1969-12-31 23:59:59.999999"], EQ),
    ("tsms", "timestamp(3)", F("tsms", "int64", "io.debezium.time.Timestamp"),
     [-1500, 2147483648000, None],
     ["1969-12-31 23:59:58.5", "2038-01-19 03:14:08", None], EQ),
    ("tstz", "timestamptz", F("tstz", "string", "io.debezium.time.ZonedTimestamp"),
     ["2024-06-26T02:12:51.219026+05:30", "2024-06-26T02:12:51.219026Z", "-infinity"],
     ["2024-06-25 20:42:51.219026+00", "2024-06-26 02:12:51.219026+00", "-infinity"], EQ),
    ("iv", "interval", F("iv", "string", "io.debezium.time.Interval"),
     ["P1Y2M3DT4H5M6.78S", "P-1Y-2M3DT-4H-5M-6.5S", "P0Y0M0DT0H0M0S"],
     ["1 year 2 mons 3 days 04:05:06.78", "-1 years -2 mons +3 days -04:05:06.5", "0"], EQ),
    ("ivus", "interval", F("ivus", "int64", "io.debezium.time.MicroDuration"),
     [90061000001, -90061000001, 0],
     ["1 day 01:01:01.000001", "-1 day -01:01:01.000001", "0"], EQ),
    ("u", "uuid", F("u", "string", "io.debezium.data.Uuid"),
     ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None, "00000000-0000-0000-0000-000000000000"],
     ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None, "00000000-0000-0000-0000-000000000000"], EQ),
    ("j", "json", F("j", "string", "io.debezium.data.Json"),
     ['{"a": [1, null, "\u00e9"]}', "[]", None], ['{"a": [1, null, "\u00e9"]}', "[]", None],
     "%s::text IS NOT DISTINCT FROM %l"),
    ("jb", "jsonb", F("jb", "string", "io.debezium.data.Json"),
     ['{"b": 1, "a": {"x": null}}', '"s"', None], ['{"a": {"x": null}, "b": 1}', '"s"', None], EQ),
    ("hs", "jsonb", F("hs", "map", keys={"type": "string", "optional": False},
                      values={"type": "string", "optional": True}),
     [{"k": "v", "n": None}, {}, None], ['{"k": "v", "n": null}', "{}", None], EQ),
    ("x", "xml", F("x", "string", "io.debezium.data.Xml"),
     ['<a b="1">t&amp;x</a>', None, "<e/>"], ['<a b="1">t&amp;x</a>', None, "<e/>"],
     "%s::text IS NOT DISTINCT FROM %l"),
    ("ip", "inet", F("ip", "string"), ["192.168.0.1/24", "::1", None],
     ["192.168.0.1/24", "::1", None], EQ),
    ("net", "cidr", F("net", "string"), ["10.0.0.0/8", None, "2001:db8::/32"],
     ["10.0.0.0/8", None, "2001:db8::/32"], EQ),
    ("mac", "macaddr", F("mac", "string"), ["08:00:2b:01:02:03", None, None],
     ["08:00:2b:01:02:03", None, None], EQ),
    ("bits", "bit varying(10)", F("bits", "bytes", "io.debezium.data.Bits", {"length": "10"}),
     [b64(bytes([5, 2])), b64(bytes([0])), None], ["1000000101", "0000000000", None], EQ),
    ("bit8", "bit(8)", F("bit8", "bytes", "io.debezium.data.Bits", {"length": "8"}),
     [b64(bytes([0x81])), b64(bytes([])), None], ["10000001", "00000000", None], EQ),
    ("lt", "ltree", F("lt", "string", "io.debezium.data.Ltree"),
     ["Top.Science.Astronomy", None, "a"], ["Top.Science.Astronomy", None, "a"], EQ),
    ("pt", "point", F("pt", "struct", "io.debezium.data.geometry.Point",
                      fields=[F("x", "float64", optional=False), F("y", "float64", optional=False),
                              F("wkb", "bytes"), F("srid", "int32")]),
     [{"x": 1.5, "y": -2.0, "wkb": None, "srid": None}, None,
      {"x": 0.1, "y": 1e300, "wkb": None, "srid": None}],
     ["(1.5,-2)", None, "(0.1,1e+300)"], "(%s ~= %l OR (%s IS NULL AND %l IS NULL))"),
    ("geom", "bytea", F("geom", "struct", "io.debezium.data.geometry.Geometry",
                        fields=[F("wkb", "bytes", optional=False), F("srid", "int32")]),
     [{"wkb": b64(wkb_point(1, 2)), "srid": 4326}, {"wkb": b64(wkb_point(1, 2)), "srid": None},
      None],
     ["\\x0101000020e6100000000000000000f03f0000000000000040",
      "\\x0101000000000000000000f03f0000000000000040", None], EQ),
    ("ai", "int4[]", ARR("ai", {"type": "int32"}), [[1, None, -3], [], None],
     ["{1,NULL,-3}", "{}", None], EQ),
    ("at", "text[]", ARR("at", {"type": "string"}),
     [["a,b", None, "q\"\\", "NULL", ""], ["\u00e9"], []],
     ['{"a,b",NULL,"q\\"\\\\","NULL",""}', "{\u00e9}", "{}"], EQ),
    ("an", "numeric[]", ARR("an", {"type": "bytes", "name": "org.apache.kafka.connect.data.Decimal",
                                   "parameters": {"scale": "2"}}),
     [[dec(-150), None], None, []], ["{-1.50,NULL}", None, "{}"], EQ),
    ("ad", "date[]", ARR("ad", {"type": "int32", "name": "io.debezium.time.Date"}),
     [[0, -719893, None], None, None], ["{1970-01-01,0002-01-01 BC,NULL}", None, None], EQ),
    ("au", "uuid[]", ARR("au", {"type": "string", "name": "io.debezium.data.Uuid"}),
     [["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"], None, []],
     ["{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", None, "{}"], EQ),
    ("atz", "timestamptz[]", ARR("atz", {"type": "string", "name": "io.debezium.time.ZonedTimestamp"}),
     [["2024-06-26T02:12:51.219026+05:30", None], None, None],
     ["{\"2024-06-25 20:42:51.219026+00\",NULL}", None, None], EQ),
    ("ab", "bytea[]", ARR("ab", {"type": "bytes"}), [[b64(b"\x00\xff"), None], None, None],
     ["{\"\\\\x00ff\",NULL}", None, None], EQ),
]

SOURCE = {"version": "2.7.0.Final", "connector": "postgresql", "name": "pg",
          "ts_ms": 1718000000000, "snapshot": "false", "db": "app", "schema": "public",
          "table": "rt_types", "txId": 1, "xmin": None}
SOURCE_SCHEMA = F("source", "struct", "io.debezium.connector.postgresql.Source", optional=False,
                  fields=[F("version", "string"), F("connector", "string"), F("name", "string"),
                          F("ts_ms", "int64"), F("snapshot", "string"), F("db", "string"),
                          F("sequence", "string"), F("schema", "string"), F("table", "string"),
                          F("txId", "int64"), F("lsn", "int64"), F("xmin", "int64")])


def fields():
    return [F("id", "int32", optional=False)] + [c[2] for c in COLS]


def event(op, row, lsn):
    value_schema = {"type": "struct", "optional": True, "name": "pg.public.rt_types.Value",
                    "fields": fields()}
    schema = {"type": "struct", "optional": False, "name": "pg.public.rt_types.Envelope",
              "fields": [dict(value_schema, field="before"), dict(value_schema, field="after"),
                         SOURCE_SCHEMA, F("op", "string", optional=False), F("ts_ms", "int64")]}
    src = dict(SOURCE, lsn=lsn, sequence=json.dumps([str(lsn - 1), str(lsn)]))
    payload = {"before": None, "after": row, "source": src, "op": op, "ts_ms": 1718000000500}
    return json.dumps({"schema": schema, "payload": payload}, ensure_ascii=False,
                      separators=(",", ":"))


def test(env):
    st.require_sluice()
    pg = env.postgres()
    pg.execute("CREATE EXTENSION IF NOT EXISTS ltree; CREATE SCHEMA rt; CREATE TABLE rt.types "
               "(id int PRIMARY KEY, %s)" % ", ".join('"%s" %s' % (c[0], c[1]) for c in COLS))
    env.broker(["%s:1" % TOPIC])
    lines = []
    nrows = len(COLS[0][3])
    for i in range(nrows):
        row = {"id": i + 1}
        row.update({c[0]: c[3][i] for c in COLS})
        lines.append((json.dumps({"id": i + 1}), event("c" if i else "r", row, 1000 + i)))
    # an update of row 1 whose text is an unchanged TOAST value: t keeps its value
    row = {"id": 1}
    row.update({c[0]: c[3][0] for c in COLS})
    row["t"] = PH
    row["i4"] = 7
    lines.append((json.dumps({"id": 1}), event("u", row, 2000)))
    env.kafka.produce_lines(TOPIC, lines)
    w = env.sluice("rt", group="rt", topics=[TOPIC],
                   mirror={"schema": "rt", "tables": {TOPIC: "rt.types"}})
    rc, err = w.run_to_end(timeout=120)
    st.assert_true(rc == 0, "sluice exited %s:\n%s" % (rc, err[-3000:]))

    checks = []
    for c in COLS:
        for i in range(nrows):
            lit = c[4][i]
            if c[0] == "i4" and i == 0:
                lit = "7"
            lit_sql = "NULL::%s" % c[1] if lit is None else "%s::%s" % (st.sql_literal(lit), c[1])
            if c[5] != EQ and "::text" in c[5]:
                lit_sql = "NULL::text" if lit is None else st.sql_literal(lit)
            cond = c[5].replace("%s", '"%s"' % c[0]).replace("%l", lit_sql)
            checks.append("SELECT %d, %s, (%s)::text, \"%s\"::text FROM rt.types WHERE id = %d"
                          % (i + 1, st.sql_literal(c[0]), cond, c[0], i + 1))
    out = pg.psql(" UNION ALL ".join(checks) + ";")
    failed = ["row %s column %s: stored %r, cmp=%s" % (r[0], r[1], r[3], r[2])
              for r in out if r[2] != "true"]
    st.assert_true(len(out) == len(COLS) * nrows,
                   "%d comparisons returned, expected %d" % (len(out), len(COLS) * nrows))
    st.assert_true(not failed, "%d of %d values differ:\n  %s"
                   % (len(failed), len(out), "\n  ".join(failed)))
    print("%d columns x %d rows compared in PostgreSQL" % (len(COLS), nrows))


st.run(test)
