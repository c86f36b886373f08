#!/usr/bin/env python3
"""mirror.reconcile_deletes, through Kafka and the real binary.

Phase 1 streams creates of keys 1..8 and 1000..30999 (LSN < 100000). Then the
source loses rows 6, 7 and 8 without their deletes reaching Kafka, and a
blocking snapshot at LSN 100000 reads every row still there: 1..5 and
1000..30999, spread over four partitions, with the table's last read
(snapshot=last_in_data_collection) on a partition of its own. Changes
streamed after the snapshot (create 9, update 1, delete 2) interleave with
it, and an incremental-snapshot read (no position) and an older replayed
change must change nothing about what is reconciled.

Asserted, for hard and soft deletes:
  * the final table exactly (6, 7, 8 gone / flagged; 9 kept; 1 updated;
    2 deleted by its own event);
  * an audit trigger records every row the reconcile removed: exactly
    6, 7 and 8 — never a row the snapshot read, although the last read is
    applied long before the reads of the other partitions (alone on its
    partition, it comes with the first fetch; the others hold 10,000 reads
    each): the reconcile waits until the ledger has passed every
    partition's end (the log shows the end noted before the deletion);
  * sluice.reconcile is empty afterwards and the log names the count;
  * a second run does nothing more; without the option nothing is deleted;
  * a worker killed with -9 mid-batch while the noted end waits for the
    other partitions: its successor reconciles, to the same table and the
    same removed rows.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sluicetest as st  # noqa: E402

TOPIC = "srv.public.items"
PARTS = 4
SNAP_LSN = 100000
BIG = range(1000, 31000)


def envelope(op, after=None, before=None, lsn=None, snapshot="false",
             commit=None):
    source = {"version": "2.7.3.Final", "connector": "postgresql",
              "name": "srv", "ts_ms": 1735689600000, "snapshot": snapshot,
              "db": "app", "schema": "public", "table": "items",
              "txId": 700, "xmin": None}
    if lsn is not None:
        source["sequence"] = json.dumps(
            [None if commit is None else str(commit), str(lsn)])
        source["lsn"] = lsn
    return json.dumps({"before": before, "after": after, "source": source,
                       "op": op, "ts_ms": 1735689600001, "transaction": None},
                      separators=(",", ":"))


def line(key, value):
    return json.dumps({"id": key}, separators=(",", ":")) + "\t" + value


def part(key):
    return 1 + key % (PARTS - 1)  # partitions 1..3; 0 holds the last read


def produce(env, by_part):
    for p in sorted(by_part):
        env.kafka.produce_lines(TOPIC, by_part[p], partition=p)


def phase1(env):
    lines = {}
    lsn = 100
    for k in list(range(1, 9)) + list(BIG):
        lsn += 1 if k >= 1000 else 10
        lines.setdefault(part(k), []).append(
            line(k, envelope("c", {"id": k, "name": "old%d" % k}, lsn=lsn,
                             commit=lsn - 1)))
    produce(env, lines)


def phase2(env):
    lines = {}
    read = [1, 2, 3, 4, 5] + list(BIG)
    for i, k in enumerate(read):
        snap = "first_in_data_collection" if i == 0 else "true"
        lines.setdefault(part(k), []).append(
            line(k, envelope("r", {"id": k, "name": "snap%d" % k},
                             lsn=SNAP_LSN, snapshot=snap)))
    # the table's last read, alone on partition 0 (key 5 read again: Debezium
    # reads each row once, but which key ends the snapshot does not matter)
    lines[0] = [line(5, envelope("r", {"id": 5, "name": "snap5"},
                                 lsn=SNAP_LSN,
                                 snapshot="last_in_data_collection"))]
    # streamed after the snapshot
    lines[part(9)].append(line(9, envelope("c", {"id": 9, "name": "new9"},
                                           lsn=SNAP_LSN + 10, commit=SNAP_LSN + 5)))
    lines[part(1)].append(line(1, envelope("u", {"id": 1, "name": "upd1"},
                                           lsn=SNAP_LSN + 20, commit=SNAP_LSN + 15)))
    lines[part(2)].append(line(2, envelope("d", None, {"id": 2}, lsn=SNAP_LSN + 30,
                                           commit=SNAP_LSN + 25)))
    # an incremental-snapshot read of 3 (no position): not part of the full
    # snapshot, overwrites nothing positioned
    lines[part(3)].append(line(3, envelope("r", {"id": 3, "name": "inc3"},
                                           snapshot="incremental")))
    # an older change replayed: changes nothing
    lines[part(4)].append(line(4, envelope("u", {"id": 4, "name": "stale4"},
                                           lsn=50, commit=40)))
    produce(env, lines)


def expected_rows():
    rows = {k: "snap%d" % k for k in [3, 4, 5] + list(BIG)}
    rows[1] = "upd1"
    rows[9] = "new9"
    return rows


def make_table(pg, name):
    pg.execute("""
        CREATE TABLE public.%(t)s (id int PRIMARY KEY, name text);
        CREATE TABLE public.%(t)s_gone (id int, at timestamptz DEFAULT now(),
                                        how text);
        CREATE FUNCTION public.%(t)s_audit() RETURNS trigger LANGUAGE plpgsql
        AS $$ BEGIN
          IF TG_OP = 'DELETE' THEN
            INSERT INTO public.%(t)s_gone (id, how) VALUES (OLD.id, 'delete');
          ELSIF NEW._sluice_deleted AND NOT OLD._sluice_deleted THEN
            INSERT INTO public.%(t)s_gone (id, how) VALUES (OLD.id, 'soft');
          END IF;
          RETURN NULL;
        END $$;
    """ % {"t": name})


def add_audit(pg, name, soft):
    pg.execute("CREATE TRIGGER audit AFTER %s ON public.%s FOR EACH ROW "
               "EXECUTE FUNCTION public.%s_audit()"
               % ("UPDATE" if soft else "DELETE", name, name))


def check_rows(pg, name, soft):
    exp = expected_rows()
    if soft:
        got = pg.lines("SELECT id || ' ' || name || ' ' || _sluice_deleted "
                       "FROM public.%s ORDER BY id" % name)
        want = ["%d %s %s" % (k, v, "false") for k, v in sorted(exp.items())]
        want += ["2 snap2 true"]
        want += ["%d old%d true" % (k, k) for k in (6, 7, 8)]
        want.sort(key=lambda s: int(s.split()[0]))
    else:
        got = pg.lines("SELECT id || ' ' || name FROM public.%s ORDER BY id"
                       % name)
        want = ["%d %s" % (k, v) for k, v in sorted(exp.items())]
    st.assert_lines_equal(want, got, "%s: final table" % name)
    gone = pg.lines("SELECT id || ' ' || how FROM public.%s_gone ORDER BY id"
                    % name)
    how = "soft" if soft else "delete"
    # 2 is deleted by its own (streamed) event, after the snapshot
    st.assert_lines_equal(["2 " + how, "6 " + how, "7 " + how, "8 " + how],
                          gone, "%s: rows removed" % name)
    st.assert_true(pg.scalar("SELECT count(*) FROM sluice.reconcile") == "0",
                   "sluice.reconcile is not empty")


def check(pg, name, soft, err):
    check_rows(pg, name, soft)
    noted = [ln[:24] for ln in err.splitlines() if "ended at" in ln]
    done = [ln[:24] for ln in err.splitlines() if "3 row(s) it did not read" in ln]
    st.assert_true(len(noted) == 1 and len(done) == 1,
                   "reconcile log lines missing:\n" + err[-3000:])
    # the end was noted when the last read was applied, and the reconcile
    # waited for the other partitions
    st.assert_true(noted[0] < done[0], "the reconcile did not wait: %s %s"
                   % (noted, done))


def run(env, name, group, mirror):
    w = env.sluice(name, group=group, topics=[TOPIC], mirror=mirror,
                   batch={"max_events": 100, "max_ms": 50})
    rc, err = w.run_to_end(timeout=180)
    st.assert_true(rc == 0, "%s: exit %s:\n%s" % (name, rc, err[-3000:]))
    return w, err


def test(env):
    pg = env.postgres()
    env.broker(["%s:%d" % (TOPIC, PARTS)])
    for name in ("items", "items_soft", "items_off", "items_crash"):
        make_table(pg, name)

    phase1(env)
    mirrors = {
        "items": {"schema": "public", "reconcile_deletes": True},
        "items_soft": {"schema": "public", "reconcile_deletes": True,
                       "delete_mode": "soft",
                       "tables": {TOPIC: "public.items_soft"}},
        "items_off": {"schema": "public",
                      "tables": {TOPIC: "public.items_off"}},
        "items_crash": {"schema": "public", "reconcile_deletes": True,
                        "tables": {TOPIC: "public.items_crash"}},
    }
    for name, mirror in mirrors.items():
        run(env, name + "-1", "g-" + name, mirror)
        n = pg.scalar("SELECT count(*) FROM public.%s" % name)
        st.assert_true(n == str(8 + len(BIG)), "%s after phase 1: %s rows"
                       % (name, n))
        add_audit(pg, name, mirror.get("delete_mode") == "soft")

    phase2(env)
    for name in ("items", "items_soft"):
        w, err = run(env, name + "-2", "g-" + name, mirrors[name])
        check(pg, name, name == "items_soft", err)
        # nothing left to do: a second run changes nothing
        w.run_to_end(timeout=120)
        st.assert_true("row(s) it did not read" not in w.stderr(),
                       "a second run reconciled again")
        check(pg, name, name == "items_soft", err)

    # without the option the lost rows stay, and no column is added
    run(env, "items_off-2", "g-items_off", mirrors["items_off"])
    st.assert_lines_equal(["2 delete"], pg.lines(
        "SELECT id || ' ' || how FROM public.items_off_gone"),
        "items_off: rows removed")
    st.assert_true(pg.scalar(
        "SELECT count(*) FROM public.items_off WHERE id IN (6, 7, 8)")
        == "3", "items_off lost rows without the option")
    st.assert_true(pg.scalar(
        "SELECT count(*) FROM pg_attribute WHERE attrelid = "
        "'public.items_off'::regclass AND attname = '_sluice_snapshot'")
        == "0", "items_off got _sluice_snapshot")

    # kill -9 while the snapshot's end is noted and the reconcile waits for
    # the other partitions (PostgreSQL slowed down so that the window is
    # wide): the restarted worker finishes it, with the same result
    pg.execute("""
        CREATE FUNCTION public.slow() RETURNS trigger LANGUAGE plpgsql
        AS $$ BEGIN PERFORM pg_sleep(0.0003); RETURN NULL; END $$;
        CREATE TRIGGER slow AFTER INSERT OR UPDATE ON public.items_crash
        FOR EACH ROW EXECUTE FUNCTION public.slow();
    """)
    w = env.sluice("items_crash-2", group="g-items_crash", topics=[TOPIC],
                   mirror=mirrors["items_crash"],
                   batch={"max_events": 100, "max_ms": 50})
    w.start()
    st.wait_until(lambda: pg.scalar(
        "SELECT count(*) FROM sluice.reconcile WHERE group_id = "
        "'g-items_crash'") == "1", 120, "the snapshot end to be noted")
    w.kill9()
    st.assert_true("row(s) it did not read" not in w.stderr(),
                   "the reconcile ran before the kill; the test window "
                   "is too narrow:\n" + w.stderr()[-2000:])
    pg.execute("DROP TRIGGER slow ON public.items_crash")
    _, err = run(env, "items_crash-3", "g-items_crash", mirrors["items_crash"])
    check_rows(pg, "items_crash", False)
    st.assert_true("3 row(s) it did not read" in err,
                   "the restarted worker did not reconcile:\n" + err[-3000:])


st.run(test)
