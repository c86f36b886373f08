#!/usr/bin/env python3
"""Checks the test machinery without sluice: the generated stream, loaded
into the mock broker, read back intact, and its ground truth, loaded into
PostgreSQL by plain SQL, prints exactly as gen_stream's truth file.  If this
fails, the other stream tests cannot be trusted."""
import json

import streamlib
from streamlib import gen_stream, st


def test(env):
    s = streamlib.load(env, events=20_000, keys=2_000, partitions=4,
                       audit=False)
    # Everything produced comes back, byte for byte and in per-key order.
    got = env.kafka.consume(s.topic)
    st.assert_true(len(got) == s.total, "consumed %d of %d"
                   % (len(got), s.total))
    by_key = {}
    for m in sorted(got, key=lambda m: (m["partition"], m["offset"])):
        by_key.setdefault(m["key"], []).append(m["value"])
    want = {}
    for k, v in s.msgs:
        want.setdefault(k.encode(), []).append(
            v.encode() if v is not None else None)
    st.assert_true(by_key == want, "per-key sequences differ")
    # The truth file's text form is what TRUTH_QUERY prints.
    state = {}
    for k, v in s.msgs:
        if v is None:
            continue
        ev = json.loads(v)
        if ev["op"] == "d":
            state.pop(ev["before"]["id"], None)
        else:
            state[ev["after"]["id"]] = ev["after"]
    rows = [{k: a[k] for k in ("id", "name", "balance", "counter",
                               "updated_at", "active", "note")}
            for a in state.values()]
    path = env.dir + "/rows.json"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=False)
    env.pg.execute(
        "INSERT INTO %s SELECT * FROM json_populate_recordset(NULL::%s, "
        "convert_from(decode('%s', 'base64'), 'UTF8')::json)"
        % (streamlib.TABLE, streamlib.TABLE,
           __import__("base64").b64encode(open(path, "rb").read()).decode()))
    st.assert_lines_equal(s.truth,
                          env.pg.lines(gen_stream.truth_query(streamlib.TABLE)),
                          "ground truth vs PostgreSQL")


st.run(test)
