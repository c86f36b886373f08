#!/usr/bin/env python3
"""What the mirror does with each kind of change, through Kafka and the real
binary, asserting exact table contents:

  toast      unchanged-TOAST placeholders keep the stored value (one by one
             and folded within a batch); on a row that does not exist yet the
             column is NULL and a warning is logged
  positions  an incremental-snapshot read without position never overwrites a
             row written by a positioned change; a replayed older change never
             regresses a newer row; a primary-key change (d, tombstone, c)
  control    heartbeat and transaction-metadata records advance the offsets
             and apply nothing
  truncate   op t truncates with mirror.truncate = true, is skipped otherwise
  soft       mirror.delete_mode = soft keeps deleted rows flagged
  evolution  mirror.schema_evolution = basic creates the table from the
             event schema and adds a column when the schema grows
  keyless    mirror.keyless = all_columns on a table without primary key
  dlq        dlq.enabled: a malformed message and a row the table refuses go to
             the dead-letter topic with their original bytes and the error
             headers; everything else is applied and the ledger is at the end
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sluicetest as st  # noqa: E402

_lsn = [1000]


def pos():
    _lsn[0] += 10
    return _lsn[0]


def envelope(op, table, after=None, before=None, lsn=None, snapshot="false",
             schema="public", server="srv"):
    """A Debezium PostgreSQL connector value, payload only."""
    source = {"version": "2.7.3.Final", "connector": "postgresql",
              "name": server, "ts_ms": 1735689600000, "snapshot": snapshot,
              "db": "app", "schema": schema, "table": table,
              "txId": 700, "xmin": None}
    if lsn is not None:
        source["sequence"] = json.dumps([str(lsn - 5), str(lsn)])
        source["lsn"] = lsn
    return json.dumps({"before": before, "after": after, "source": source,
                       "op": op, "ts_ms": 1735689600001, "transaction": None},
                      separators=(",", ":"))


def line(key, value):
    return (json.dumps(key, separators=(",", ":")) if key is not None else "") \
        + "\t" + (value if value is not None else "")


PH = "__debezium_unavailable_value"


def scenario_toast_positions_control(env):
    pg = env.pg
    topic = "srv.public.docs"
    pg.execute("CREATE TABLE public.docs (id int PRIMARY KEY, title text, "
               "body text)")
    lines = [
        line({"id": 1}, envelope("c", "docs", {"id": 1, "title": "A",
                                               "body": "long one"}, lsn=pos())),
        line({"id": 1}, envelope("u", "docs", {"id": 1, "title": "B",
                                               "body": PH}, lsn=pos())),
        # a row that does not exist yet: body becomes NULL, with a warning
        line({"id": 2}, envelope("u", "docs", {"id": 2, "title": "X",
                                               "body": PH}, lsn=pos())),
        # folded within one batch: the placeholder takes the earlier value
        line({"id": 3}, envelope("c", "docs", {"id": 3, "title": "T1",
                                               "body": "v1"}, lsn=pos())),
        line({"id": 3}, envelope("u", "docs", {"id": 3, "title": "T2",
                                               "body": PH}, lsn=pos())),
        # an incremental-snapshot read without position never overwrites a
        # positioned row, but fills a missing one
        line({"id": 1}, envelope("r", "docs", {"id": 1, "title": "SNAP",
                                               "body": "old"},
                                 snapshot="incremental")),
        line({"id": 4}, envelope("r", "docs", {"id": 4, "title": "S4",
                                               "body": "b4"},
                                 snapshot="incremental")),
    ]
    p5_old = pos()
    p5_new = pos()
    lines += [
        line({"id": 5}, envelope("c", "docs", {"id": 5, "title": "new",
                                               "body": "n"}, lsn=p5_new)),
        # replayed older change: must not regress the newer row
        line({"id": 5}, envelope("u", "docs", {"id": 5, "title": "old",
                                               "body": "o"}, lsn=p5_old)),
        # primary-key change 6 -> 7: d (old key), tombstone, c (new key)
        line({"id": 6}, envelope("c", "docs", {"id": 6, "title": "six",
                                               "body": "6"}, lsn=pos())),
        line({"id": 6}, envelope("d", "docs", None, {"id": 6}, lsn=pos())),
        line({"id": 6}, None),
        line({"id": 7}, envelope("c", "docs", {"id": 7, "title": "six",
                                               "body": "6"}, lsn=pos())),
    ]
    env.kafka.produce_lines(topic, lines, partition=0)

    # control records on their own topics
    hb = "__debezium-heartbeat.srv"
    env.kafka.produce_lines(hb, [line({"serverName": "srv"},
                                      json.dumps({"ts_ms": 1735689600000}))])
    tx = "srv.transaction"
    env.kafka.produce_lines(tx, [
        line({"id": "700:100"}, json.dumps(
            {"status": "BEGIN", "id": "700:100", "ts_ms": 1735689600000,
             "event_count": None, "data_collections": None})),
        line({"id": "700:100"}, json.dumps(
            {"status": "END", "id": "700:100", "ts_ms": 1735689600000,
             "event_count": 1, "data_collections": [
                 {"data_collection": "public.docs", "event_count": 1}]}))])

    w = env.sluice("base", group="semantics", topics=[topic, hb, tx],
                   batch={"max_events": 1000, "max_ms": 500})
    rc, err = w.run_to_end(timeout=120)
    st.assert_true(rc == 0, "exit %s:\n%s" % (rc, err[-3000:]))
    st.assert_lines_equal([
        "1\tB\tlong one",
        "2\tX\t<null>",
        "3\tT2\tv1",
        "4\tS4\tb4",
        "5\tnew\tn",
        "7\tsix\t6",
    ], pg.lines("SELECT id, title, coalesce(body, '<null>') FROM public.docs "
                "ORDER BY id"), "docs")
    st.assert_true("unchanged-TOAST columns set to NULL" in err,
                   "no TOAST warning in:\n%s" % err[-3000:])
    led = st.ledger(pg, "semantics")
    st.assert_true(led.get((hb, 0)) == 1 and led.get((tx, 0)) == 2,
                   "control topics not advanced: %s" % led)


def scenario_truncate(env, enabled):
    pg = env.pg
    table = "trunc_on" if enabled else "trunc_off"
    topic = "srv.public." + table
    pg.execute("CREATE TABLE public.%s (id int PRIMARY KEY, v text)" % table)
    trunc = json.dumps({"source": {"version": "2.7.3.Final",
                                   "connector": "postgresql", "name": "srv",
                                   "ts_ms": 1, "snapshot": "false",
                                   "db": "app", "schema": "public",
                                   "table": table, "txId": 1,
                                   "lsn": pos(), "xmin": None},
                        "op": "t", "ts_ms": 2}, separators=(",", ":"))
    lines = [
        line({"id": 1}, envelope("c", table, {"id": 1, "v": "a"}, lsn=pos())),
        line({"id": 2}, envelope("c", table, {"id": 2, "v": "b"}, lsn=pos())),
        line(None, trunc),
        line({"id": 3}, envelope("c", table, {"id": 3, "v": "c"}, lsn=pos())),
    ]
    env.kafka.produce_lines(topic, lines, partition=0)
    w = env.sluice("t%d" % enabled, group="trunc%d" % enabled, topics=[topic],
                   extra={"mirror": {"schema": "public",
                                     "truncate": bool(enabled)}})
    rc, err = w.run_to_end(timeout=120)
    st.assert_true(rc == 0, "exit %s:\n%s" % (rc, err[-3000:]))
    want = ["3\tc"] if enabled else ["1\ta", "2\tb", "3\tc"]
    st.assert_lines_equal(want, pg.lines(
        "SELECT id, v FROM public.%s ORDER BY id" % table), table)
    if not enabled:
        st.assert_true("mirror.truncate = true" in err,
                       "no log line about the skipped truncate:\n%s"
                       % err[-2000:])


def scenario_soft_delete(env):
    pg = env.pg
    topic = "srv.public.soft"
    pg.execute("CREATE TABLE public.soft (id int PRIMARY KEY, v text)")
    lines = [
        line({"id": 1}, envelope("c", "soft", {"id": 1, "v": "a"}, lsn=pos())),
        line({"id": 2}, envelope("c", "soft", {"id": 2, "v": "b"}, lsn=pos())),
        line({"id": 1}, envelope("d", "soft", None, {"id": 1}, lsn=pos())),
        line({"id": 1}, None),
        line({"id": 3}, envelope("c", "soft", {"id": 3, "v": "c"}, lsn=pos())),
        line({"id": 3}, envelope("d", "soft", None, {"id": 3}, lsn=pos())),
        line({"id": 3}, envelope("c", "soft", {"id": 3, "v": "again"},
                                 lsn=pos())),
    ]
    env.kafka.produce_lines(topic, lines, partition=0)
    w = env.sluice("soft", group="soft", topics=[topic],
                   extra={"mirror": {"schema": "public",
                                     "delete_mode": "soft"}})
    rc, err = w.run_to_end(timeout=120)
    st.assert_true(rc == 0, "exit %s:\n%s" % (rc, err[-3000:]))
    st.assert_lines_equal(["1\ta\tt", "2\tb\tf", "3\tagain\tf"], pg.lines(
        "SELECT id, v, _sluice_deleted FROM public.soft ORDER BY id"), "soft")


def with_schema(op, table, after, lsn, extra_field=False):
    fields = [{"type": "int32", "optional": False, "field": "id"},
              {"type": "string", "optional": True, "field": "name"},
              {"type": "bytes", "optional": True, "field": "price",
               "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
               "parameters": {"scale": "2",
                              "connect.decimal.precision": "10"}},
              {"type": "int32", "optional": True, "field": "born",
               "name": "io.debezium.time.Date", "version": 1}]
    if extra_field:
        fields.append({"type": "boolean", "optional": True, "field": "active"})
    value = {"type": "struct", "optional": True, "fields": fields,
             "name": "srv.public.%s.Value" % table, "field": "after"}
    before = dict(value, field="before")
    source = {"type": "struct", "optional": False,
              "name": "io.debezium.connector.postgresql.Source",
              "field": "source", "fields": [
                  {"type": "string", "optional": False, "field": "version"},
                  {"type": "string", "optional": False, "field": "connector"},
                  {"type": "string", "optional": False, "field": "name"},
                  {"type": "int64", "optional": False, "field": "ts_ms"},
                  {"type": "string", "optional": True, "field": "snapshot",
                   "name": "io.debezium.data.Enum", "version": 1,
                   "parameters": {"allowed": "true,last,false,incremental"}},
                  {"type": "string", "optional": False, "field": "db"},
                  {"type": "string", "optional": True, "field": "sequence"},
                  {"type": "string", "optional": False, "field": "schema"},
                  {"type": "string", "optional": False, "field": "table"},
                  {"type": "int64", "optional": True, "field": "txId"},
                  {"type": "int64", "optional": True, "field": "lsn"},
                  {"type": "int64", "optional": True, "field": "xmin"}]}
    schema = {"type": "struct", "optional": False,
              "name": "srv.public.%s.Envelope" % table, "version": 2,
              "fields": [before, value, source,
                         {"type": "string", "optional": False, "field": "op"},
                         {"type": "int64", "optional": True,
                          "field": "ts_ms"}]}
    payload = json.loads(envelope(op, table, after, lsn=lsn))
    payload.pop("transaction")
    payload["source"]["snapshot"] = "false"
    value_doc = json.dumps({"schema": schema, "payload": payload},
                           separators=(",", ":"))
    key_doc = {"schema": {"type": "struct", "optional": False,
                          "name": "srv.public.%s.Key" % table,
                          "fields": [{"type": "int32", "optional": False,
                                      "field": "id"}]},
               "payload": {"id": after["id"]}}
    return line(key_doc, value_doc)


def scenario_evolution(env):
    pg = env.pg
    topic = "srv.public.evolved"
    # price 12.34 = 1234 unscaled = 0x04D2 -> "BNI="; 19900 days = 2024-06-26
    lines = [
        with_schema("c", "evolved", {"id": 1, "name": "one", "price": "BNI=",
                                     "born": 19900}, pos()),
        with_schema("c", "evolved", {"id": 2, "name": "two", "price": None,
                                     "born": -1}, pos()),
        with_schema("u", "evolved", {"id": 1, "name": "uno", "price": "BNI=",
                                     "born": 19900, "active": True}, pos(),
                    extra_field=True),
    ]
    env.kafka.produce_lines(topic, lines, partition=0)
    w = env.sluice("evolve", group="evolve", topics=[topic],
                   extra={"mirror": {"schema": "replica",
                                     "schema_evolution": "basic"}})
    rc, err = w.run_to_end(timeout=120)
    st.assert_true(rc == 0, "exit %s:\n%s" % (rc, err[-3000:]))
    st.assert_lines_equal(
        ["1\tuno\t12.34\t2024-06-26\ttrue", "2\ttwo\t<null>\t1969-12-31\t<null>"],
        pg.lines("SELECT id, name, coalesce(price::text, '<null>'), born, "
                 "coalesce(active::text, '<null>') FROM replica.evolved "
                 "ORDER BY id"), "evolved rows")
    cols = pg.lines("SELECT attname || ' ' || format_type(atttypid, atttypmod)"
                    " FROM pg_attribute WHERE attrelid = 'replica.evolved'"
                    "::regclass AND attnum > 0 AND NOT attisdropped "
                    "AND attname NOT LIKE '\\_sluice%' ORDER BY attnum")
    st.assert_true(cols[0].startswith("id ") and cols[-1] == "active boolean"
                   and any(c.startswith("price numeric") for c in cols)
                   and "born date" in cols,
                   "unexpected columns %s" % cols)
    pk = pg.lines("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON "
                  "a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
                  "WHERE i.indrelid = 'replica.evolved'::regclass AND "
                  "i.indisprimary")
    st.assert_true(pk == ["id"], "primary key %s" % pk)


def scenario_keyless(env):
    pg = env.pg
    topic = "srv.public.nokey"
    pg.execute("CREATE TABLE public.nokey (a int, b text)")
    lines = [
        line(None, envelope("c", "nokey", {"a": 1, "b": "x"}, lsn=pos())),
        line(None, envelope("c", "nokey", {"a": 2, "b": "y"}, lsn=pos())),
        line(None, envelope("c", "nokey", {"a": 2, "b": "y"}, lsn=pos())),
        line(None, envelope("u", "nokey", {"a": 1, "b": "z"},
                            {"a": 1, "b": "x"}, lsn=pos())),
        line(None, envelope("d", "nokey", None, {"a": 2, "b": "y"},
                            lsn=pos())),
    ]
    env.kafka.produce_lines(topic, lines, partition=0)
    w = env.sluice("nokey", group="nokey", topics=[topic],
                   extra={"mirror": {"schema": "public",
                                     "keyless": "all_columns"}})
    rc, err = w.run_to_end(timeout=120)
    st.assert_true(rc == 0, "exit %s:\n%s" % (rc, err[-3000:]))
    st.assert_lines_equal(["1\tz", "2\ty"], pg.lines(
        "SELECT a, b FROM public.nokey ORDER BY a, b"), "nokey")

    # without the policy such a table is refused, naming it
    pg.execute("CREATE TABLE public.nokey2 (a int)")
    topic2 = "srv.public.nokey2"
    env.kafka.produce_lines(topic2, [line(None, envelope(
        "c", "nokey2", {"a": 1}, lsn=pos()))], partition=0)
    w2 = env.sluice("nokey2", group="nokey2", topics=[topic2])
    rc, err = w2.run_to_end(timeout=120)
    st.assert_true(rc == 3 and "public.nokey2 has no primary key" in err,
                   "exit %s:\n%s" % (rc, err[-3000:]))


def scenario_dlq(env):
    pg = env.pg
    topic = "srv.public.items"
    dlq = topic + ".dlq"
    pg.execute("CREATE TABLE public.items (id int PRIMARY KEY, "
               "qty int CHECK (qty >= 0))")
    good = [line({"id": i}, envelope("c", "items", {"id": i, "qty": i},
                                     lsn=pos())) for i in range(1, 41)]
    malformed = line({"id": 99}, '{"before":null,"after":{"id":99,"qty"')
    refused = line({"id": 98}, envelope("c", "items", {"id": 98, "qty": -1},
                                        lsn=pos()))
    lines = good[:10] + [malformed] + good[10:25] + [refused] + good[25:]
    env.kafka.produce_lines(topic, lines, partition=0,
                            headers=["origin=test"])
    w = env.sluice("dlq", group="dlq", topics=[topic],
                   extra={"dlq": {"enabled": True}},
                   batch={"max_events": 1000, "max_ms": 500})
    rc, err = w.run_to_end(timeout=180)
    st.assert_true(rc == 0, "exit %s:\n%s" % (rc, err[-3000:]))
    st.assert_lines_equal(["%d\t%d" % (i, i) for i in range(1, 41)], pg.lines(
        "SELECT id, qty FROM public.items ORDER BY id"), "items")
    st.assert_true(st.ledger(pg, "dlq").get((topic, 0)) == len(lines),
                   "ledger %s, expected %d" % (st.ledger(pg, "dlq"),
                                               len(lines)))
    dead = env.kafka.consume(dlq)
    st.assert_true(len(dead) == 2, "dead letters: %s" % dead)
    want_offsets = [10, 26]
    for msg, want_off, orig in zip(dead, want_offsets, [malformed, refused]):
        h = dict(msg["headers"])
        key, value = orig.split("\t", 1)
        st.assert_true(msg["value"] == value.encode() and
                       msg["key"] == key.encode(),
                       "dead letter bytes differ: %r" % msg)
        st.assert_true(h.get("__connect.errors.topic") == topic.encode() and
                       h.get("__connect.errors.partition") == b"0" and
                       h.get("__connect.errors.offset") ==
                       str(want_off).encode() and
                       h.get("origin") == b"test" and
                       h.get("__sluice.errors.class") == b"permanent" and
                       b"__connect.errors.exception.message" in
                       [n.encode() for n in h] and
                       "__sluice.errors.failed_at" in h,
                       "headers %s" % h)
    stages = [dict(m["headers"]).get("__sluice.errors.stage") for m in dead]
    st.assert_true(stages == [b"decode", b"apply"], "stages %s" % stages)

    # after a fix, `sluice dlq replay` re-applies what --where selects, once
    pg.execute("ALTER TABLE public.items DROP CONSTRAINT items_qty_check")
    out = st.subprocess.run(
        [w.binary, "dlq", "replay", "-c", w.cfgfile, "--topic", dlq,
         "--where", "__sluice.errors.stage=apply"],
        capture_output=True, text=True, timeout=120)
    st.assert_true(out.returncode == 0 and "replayed 1 dead-lettered" in out.stdout,
                   "dlq replay: %s %s %s" % (out.returncode, out.stdout, out.stderr))
    st.assert_true(pg.lines("SELECT qty FROM public.items WHERE id = 98") == ["-1"],
                   "the replayed row is missing")
    # the malformed one still cannot be applied: an unfiltered replay stops there
    out = st.subprocess.run(
        [w.binary, "dlq", "replay", "-c", w.cfgfile, "--topic", dlq],
        capture_output=True, text=True, timeout=120)
    st.assert_true(out.returncode == 3 and "offset 0 fails again" in out.stderr,
                   "unfiltered replay: %s %s %s" % (out.returncode, out.stdout, out.stderr))


def scenario_dlq_schemas(env):
    """JsonConverter values with schemas are held split in the worker (the
    schema once, the payload per message): a dead letter still carries the
    exact bytes that came, and the good rows around it are applied."""
    pg = env.pg
    topic = "srv.public.things"
    dlq = topic + ".dlq"
    pg.execute("CREATE TABLE public.things (id int PRIMARY KEY, name text "
               "CHECK (name <> 'refused'), price numeric(10,2), born date)")

    def thing(i, name):
        return with_schema("c", "things", {"id": i, "name": name,
                                           "price": "BNI=", "born": 19900},
                           pos())
    good = [thing(i, "n%d" % i) for i in range(1, 31)]
    # a schema it has seen, then a payload cut short: still of the
    # {"schema":S,"payload":P} layout, so it is held split
    key, value = thing(99, "cut").split("\t", 1)
    cut = value[:value.index('"payload":') + len('"payload":')] + \
        '{"before":null,"after":{"id":99,"name":}'
    assert cut.endswith("}") and cut.startswith('{"schema":{')
    malformed = key + "\t" + cut
    refused = thing(98, "refused")
    lines = good[:12] + [malformed] + good[12:20] + [refused] + good[20:]
    env.kafka.produce_lines(topic, lines, partition=0)
    w = env.sluice("dlqs", group="dlqs", topics=[topic],
                   extra={"dlq": {"enabled": True}},
                   batch={"max_events": 1000, "max_ms": 500})
    rc, err = w.run_to_end(timeout=180)
    st.assert_true(rc == 0, "exit %s:\n%s" % (rc, err[-3000:]))
    # every value of this topic, the cut one too, was held split
    held = re.search(r"\((\d+) JSON values with schemas held split", err)
    st.assert_true(held and int(held.group(1)) >= len(lines),
                   "values held split: %s" % err[-2000:])
    st.assert_lines_equal(
        ["%d\tn%d\t12.34\t2024-06-26" % (i, i) for i in range(1, 31)],
        pg.lines("SELECT id, name, price, born FROM public.things ORDER BY id"),
        "things")
    dead = env.kafka.consume(dlq)
    st.assert_true(len(dead) == 2, "dead letters: %s" % dead)
    for msg, want_off, orig in zip(dead, [12, 21], [malformed, refused]):
        k, v = orig.split("\t", 1)
        st.assert_true(msg["value"] == v.encode() and msg["key"] == k.encode(),
                       "dead letter bytes differ: %r" % msg)
        st.assert_true(dict(msg["headers"]).get("__connect.errors.offset") ==
                       str(want_off).encode(), "headers %s" % msg["headers"])
    stages = [dict(m["headers"]).get("__sluice.errors.stage") for m in dead]
    st.assert_true(stages == [b"decode", b"apply"], "stages %s" % stages)


def test(env):
    st.require_sluice()
    env.postgres()
    env.broker(["srv.public.docs:1", "__debezium-heartbeat.srv:1",
                "srv.transaction:1", "srv.public.trunc_on:1",
                "srv.public.trunc_off:1", "srv.public.soft:1",
                "srv.public.evolved:1", "srv.public.nokey:1",
                "srv.public.nokey2:1", "srv.public.items:1",
                "srv.public.items.dlq:1", "srv.public.things:1",
                "srv.public.things.dlq:1"])
    scenario_toast_positions_control(env)
    scenario_truncate(env, True)
    scenario_truncate(env, False)
    scenario_soft_delete(env)
    scenario_evolution(env)
    scenario_keyless(env)
    scenario_dlq(env)
    scenario_dlq_schemas(env)


st.run(test)
