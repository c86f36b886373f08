#!/usr/bin/env python3
"""Every real Debezium fixture through the mirror: for each case directory
in tests/cases/mirror/ (see its README), produce the fixture's events with
Debezium-style keys into their own topic, create the target table, run
`sluice run --exit-at-end` for that topic alone, and compare the table with
the hand-written expected rows.  All cases run; failures are reported
together.  Arguments: case names to run a subset."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import sluicetest as st  # noqa: E402

CASES = os.path.join(HERE, "..", "cases", "mirror")
FIXTURES = os.path.join(HERE, "..", "fixtures", "debezium")


def merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v)
        else:
            dst[k] = v


def record_key(case, i, value):
    if str(i) in case.get("keys", {}):
        return json.dumps(case["keys"][str(i)], separators=(",", ":"))
    payload = value.get("payload", value) if "schema" in value else value
    row = payload.get("after") or payload.get("before")
    if not row:
        raise AssertionError("%s: event %d has no before/after; give its key "
                             "in case.json \"keys\"" % (case["name"], i))
    return json.dumps({c: row[c] for c in case["key"]},
                      separators=(",", ":"), ensure_ascii=False)


def produce_case(env, case):
    topic = case["topic"]
    if "fixture" in case:
        lines = []
        with open(os.path.join(FIXTURES, case["fixture"]),
                  encoding="utf-8") as f:
            raw = [ln.rstrip("\n") for ln in f if ln.strip()]
        for i, ln in enumerate(raw):
            lines.append((record_key(case, i, json.loads(ln)), ln))
        env.kafka.produce_lines(topic, lines)
        return len(lines)
    value = os.path.join(FIXTURES, case["value_file"])
    if "key_file" in case:
        env.kafka.produce_value(topic, value,
                                key_file=os.path.join(FIXTURES,
                                                      case["key_file"]))
    else:
        with open(value, encoding="utf-8") as f:
            key = record_key(case, 0, json.load(f))
        env.kafka.produce_value(topic, value, key=key)
    return 1


def run_case(env, case):
    d = os.path.join(CASES, case["name"])
    with open(os.path.join(d, "ddl.sql")) as f:
        env.pg.execute(f.read())
    n = produce_case(env, case)
    env.kafka.assert_retained(case["topic"], n)
    group = "mirror-" + case["name"]
    w = env.sluice(case["name"], group=group, topics=[case["topic"]],
                   mirror={"schema": "public",
                           "tables": {case["topic"]: case["table"]}})
    if case.get("config"):
        merge(w.config, case["config"])
        with open(w.cfgfile, "w") as f:
            json.dump(w.config, f, indent=2)
    rc, err = w.run_to_end(timeout=120)
    if rc != 0:
        raise AssertionError("sluice exited %s:\n%s" % (rc, err[-3000:]))
    with open(os.path.join(d, "expected.tsv"), encoding="utf-8") as f:
        expected = f.read().splitlines()
    st.assert_lines_equal(expected, env.pg.lines(case["query"]),
                          "%s: rows of %s" % (case["name"], case["table"]))
    led = st.ledger(env.pg, group)
    st.assert_true(led.get((case["topic"], 0)) == n,
                   "%s: ledger %s, expected next_offset %d"
                   % (case["name"], led, n))


def test(env):
    st.require_sluice()
    names = sys.argv[1:] or sorted(
        n for n in os.listdir(CASES)
        if os.path.isfile(os.path.join(CASES, n, "case.json")))
    cases = []
    for n in names:
        with open(os.path.join(CASES, n, "case.json")) as f:
            c = json.load(f)
        c["name"] = n
        cases.append(c)
    env.postgres()
    env.broker(["%s:1" % c["topic"] for c in cases])
    failed = []
    for c in cases:
        try:
            run_case(env, c)
            print("ok   %s" % c["name"], flush=True)
        except AssertionError as e:
            print("FAIL %s: %s" % (c["name"], e), flush=True)
            failed.append(c["name"])
    st.assert_true(not failed, "%d of %d cases failed: %s"
                   % (len(failed), len(cases), ", ".join(failed)))


st.run(test)
