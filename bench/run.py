#!/usr/bin/env python3
"""Sluice benchmark: one command, every contender in one run.

    bench/run.sh [-n EVENTS] [--schemas] [--contenders sluice,kafkajs,ceiling]
                 [--latency] [--memory] ...      (bench/run.sh --help)

Builds what it needs (the project with CMake in Release into bench/build/,
bench/loader.c and bench/ceiling.c, `npm ci` in bench/peer_node), generates
the events (cached), starts a private PostgreSQL 15 (tuned: see
bench/README.md) and the mock Kafka cluster, runs each contender on a
topic of its own and a fresh table, checks every table against the ground
truth, and prints the results table with the ratios.  Every process and the
temporary directory go away on exit, failure or Ctrl-C (the harness of
tests/lib/sluicetest.py does the process bookkeeping).
"""
import argparse
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, HERE)

import gen_events  # noqa: E402
import sluicetest as st  # noqa: E402

BUILD = os.path.join(HERE, "build")
CMAKE_BUILD = os.path.join(BUILD, "cmake")
PEER_DIR = os.path.join(HERE, "peer_node")
TICK = os.sysconf("SC_CLK_TCK")

PG_SETTINGS = """
# ---- sluice bench (overrides the test defaults above) ----
fsync = on
full_page_writes = on
synchronous_commit = on
shared_buffers = 1GB
max_wal_size = 4GB
max_connections = 40
checkpoint_timeout = 1h
"""


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr,
          flush=True)


def sh(argv, **kw):
    r = subprocess.run(argv, **kw)
    if r.returncode != 0:
        raise SystemExit("bench: command failed (%d): %s"
                         % (r.returncode, " ".join(argv)))
    return r


# ------------------------------------------------------------ build

def build(need_node, rev=None, sluice_bin=None):
    """rev: build that git revision (exported with git archive) instead of
    the working tree."""
    os.makedirs(BUILD, exist_ok=True)
    src, cmake_build = ROOT, CMAKE_BUILD
    if rev:
        sha = subprocess.check_output(["git", "-C", ROOT, "rev-parse",
                                       "--verify", rev + "^{commit}"],
                                      text=True).strip()
        src = os.path.join(BUILD, "src-" + sha[:12])
        cmake_build = os.path.join(BUILD, "cmake-" + sha[:12])
        if not os.path.isdir(src):
            os.makedirs(src + ".tmp", exist_ok=True)
            arch = subprocess.Popen(["git", "-C", ROOT, "archive", sha],
                                    stdout=subprocess.PIPE)
            sh(["tar", "-x", "-C", src + ".tmp"], stdin=arch.stdout)
            arch.wait()
            os.rename(src + ".tmp", src)
    log("building sluice %s(CMake, Release) into %s"
        % ("at %s " % rev if rev else "", cmake_build))
    quiet = {"stdout": subprocess.DEVNULL}
    sh(["cmake", "-S", src, "-B", cmake_build, "-DCMAKE_BUILD_TYPE=Release",
        "-DSLUICE_BUILD_TESTS=OFF"], **quiet)
    sh(["cmake", "--build", cmake_build, "-j", str(os.cpu_count() or 2),
        "--target", "sluice-mockbroker"] +
       ([] if sluice_bin else ["sluice"]), **quiet)
    rdk = subprocess.check_output(["pkg-config", "--cflags", "--libs",
                                   "rdkafka"], text=True).split()
    pqinc = subprocess.check_output(["pg_config", "--includedir"],
                                    text=True).strip()
    for src, out, extra in (("loader.c", "bench-load", rdk),
                            ("ceiling.c", "bench-ceiling",
                             ["-I" + pqinc, "-lpq"])):
        srcp, outp = os.path.join(HERE, src), os.path.join(BUILD, out)
        if (not os.path.exists(outp)
                or os.path.getmtime(outp) < os.path.getmtime(srcp)):
            sh(["cc", "-O2", "-Wall", "-Wextra", "-o", outp, srcp] + extra)
    if need_node and not os.path.isdir(os.path.join(PEER_DIR, "node_modules")):
        log("npm ci in %s" % PEER_DIR)
        sh(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
           cwd=PEER_DIR, stdout=subprocess.DEVNULL)
    return {"sluice": sluice_bin or os.path.join(cmake_build, "sluice"),
            "mockbroker": os.path.join(cmake_build, "tests", "tools",
                                       "sluice-mockbroker"),
            "load": os.path.join(BUILD, "bench-load"),
            "ceiling": os.path.join(BUILD, "bench-ceiling")}


# ------------------------------------------------------------ data

def data_for(a, events):
    """Generated events for these options, cached by their hash."""
    gargs = ["-n", str(events), "-k", str(a.keys), "--seed", str(a.seed),
             "--decimal", a.decimal, "--width", str(a.width),
             "--skew", str(a.skew)]
    if a.schemas:
        gargs.append("--schemas")
    if a.toast:
        gargs.append("--toast")
    tag = hashlib.sha1((" ".join(gargs) + " v1").encode()).hexdigest()[:12]
    d = os.path.join(a.data_dir, "n%d-%s%s" % (events, "s" if a.schemas
                                                else "p", "-" + tag))
    if not os.path.exists(os.path.join(d, "meta.json")):
        log("generating %d events into %s" % (events, d))
        t = time.monotonic()
        gen_events.main(gargs + [d + ".tmp"])
        os.rename(d + ".tmp", d)
        log("generated in %.1f s" % (time.monotonic() - t))
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    meta["dir"] = d
    return meta


# ------------------------------------------------------------ processes

def proc_cpu(pid, children=True):
    """utime+stime (+ reaped children) of one process, seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    t = int(fields[11]) + int(fields[12])
    if children:
        t += int(fields[13]) + int(fields[14])
    return t / TICK


def session_cpu(sid):
    """CPU of every live process in a session (PostgreSQL: postmaster with
    its reaped backends, plus the live backends)."""
    total = 0.0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # field 6 (session) after pid and comm
            total += proc_cpu(int(name), children=int(name) == sid)
    return total


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Child:
    """A contender or helper process; reaped with wait4 for its rusage
    (peak RSS = ru_maxrss, the number GNU time -v prints)."""

    def __init__(self, name, argv, logdir, env=None, cwd=None, stdout=None):
        self.name = name
        self.log = os.path.join(logdir, "%s.log" % name)
        self.logf = open(self.log, "w")
        self.t0 = time.monotonic()
        self.proc = st._spawn(argv, stdout=stdout or self.logf,
                              stderr=self.logf, env=env, cwd=cwd)
        self.rc = None
        self.ru = None
        self.t_end = None

    def poll(self):
        if self.rc is None:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self._reaped(status, ru)
        return self.rc

    def _reaped(self, status, ru):
        self.rc = os.waitstatus_to_exitcode(status)
        self.proc.returncode = self.rc
        self.ru = ru
        self.t_end = time.monotonic()

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)
        return self.rc

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            if self.wait(timeout) is None:
                st._killpg(self.proc, signal.SIGKILL)
                self.wait(10)
        st._killpg(self.proc, signal.SIGKILL)
        self.logf.close()
        return self.rc

    def tail(self, n=30):
        return st.tail(self.log, n)


# ------------------------------------------------------------ the bench

class Bench:
    def __init__(self, a, bins, env):
        self.a, self.bins, self.env = a, bins, env
        self.pg = None
        self.mock = None
        self.ntopic = 0
        self.ngroup = 0
        self.preloaded = {}  # data dir -> its preloaded topic

    # -- servers
    def start_servers(self, latency=False):
        pg = st.PgServer(self.env.dir)
        self.env._register(pg)
        with open(os.path.join(pg.data, "postgresql.conf"), "a") as f:
            f.write(PG_SETTINGS)
            if latency:
                f.write("track_commit_timestamp = on\n")
        pg.start()
        self.pg = pg
        self.pg_sid = os.getsid(pg.proc.pid)
        self.mock = st.MockBroker(self.env.dir, (), self.a.brokers,
                                  binary=self.bins["mockbroker"])
        self.env._register(self.mock)
        self.pgver = pg.scalar("SHOW server_version")
        log("PostgreSQL %s on port %d (%s), mock cluster %s"
            % (self.pgver, pg.port, pg.dir, self.mock.bootstrap))

    def new_topic(self, meta):
        self.ntopic += 1
        topic = "%s%d.public.customers" % (meta["prefix"], self.ntopic)
        # preloaded: every event is produced before the contender starts, so
        # the mock must keep more than its 5 MiB per partition
        self.mock.command("create-topic %s:%d%s" % (
            topic, self.a.partitions, " keep-all" if self.a.preload else ""))
        return topic

    def fresh_table(self, name, meta):
        table = "public.customers_%s" % name
        self.settle()
        self.pg.execute("DROP TABLE IF EXISTS %s; %s" % (
            table, gen_events.ddl(table, meta["width"], meta["toast"])))
        return table

    def settle(self):
        """Every contender starts on a quiet server: the earlier contenders'
        dead rows vacuumed now (not by autovacuum during this one) and a
        checkpoint now (not one due to their WAL during this one)."""
        self.pg.execute("VACUUM")
        self.pg.execute("CHECKPOINT")

    def load_expected(self, meta):
        d = meta["dir"]
        if getattr(self, "_expected_for", None) == d:
            return
        self.pg.execute("DROP TABLE IF EXISTS public.expected; %s"
                        % gen_events.ddl("public.expected", meta["width"],
                                         meta["toast"]))
        self.pg.execute("\\copy public.expected FROM '%s'"
                        % os.path.join(d, "truth.copy"))
        self.pg.execute("ANALYZE public.expected")
        self._expected_for = d

    def check(self, table, meta):
        self.load_expected(meta)
        cols = ", ".join(c for c, _ in meta["columns"])
        q = ("SELECT (SELECT count(*) FROM (SELECT {c} FROM public.expected "
             "EXCEPT ALL SELECT {c} FROM {t}) a), (SELECT count(*) FROM "
             "(SELECT {c} FROM {t} EXCEPT ALL SELECT {c} FROM "
             "public.expected) b), (SELECT count(*) FROM {t})").format(
                 c=cols, t=table)
        missing, extra, n = (int(x) for x in self.pg.psql(q)[0])
        if missing == 0 and extra == 0:
            return "yes", n
        return "WRONG (%d missing, %d extra)" % (missing, extra), n

    # -- contenders
    def sluice_argv(self, name, topic, table, group, exit_at_end):
        a = self.a
        kafka = {"bootstrap.servers": self.mock.bootstrap, "group.id": group}
        if a.fetch_wait_ms:
            kafka["fetch.wait.max.ms"] = str(a.fetch_wait_ms)
        for kv in a.sluice_kafka:
            k, _, v = kv.partition("=")
            kafka[k] = v
        cfg = {"kafka": kafka,
               "postgres": {"conninfo": self.pg.conninfo},
               "topics": [topic],
               "mirror": {"schema": "public", "tables": {topic: table}},
               "batch": {"max_events": a.batch_events,
                         "max_ms": a.batch_ms},
               "workers": a.sluice_workers}
        path = os.path.join(self.env.dir, "%s.json" % name)
        with open(path, "w") as f:
            json.dump(cfg, f, indent=1)
        argv = [self.bins["sluice"], "run", "-c", path]
        if exit_at_end:
            argv.append("--exit-at-end")
        return argv, None

    def kafkajs_argv(self, name, topic, table, group, meta):
        e = dict(os.environ)
        e.update({"BOOTSTRAP": self.mock.bootstrap, "GROUP": group,
                  "TOPIC": topic, "TABLE": table,
                  "PGURL": "postgresql://postgres@127.0.0.1:%d/postgres"
                  % self.pg.port,
                  "COLUMNS": ",".join(c for c, _ in meta["columns"]),
                  "DECIMAL": meta["decimal"]})
        if self.a.fetch_wait_ms:
            e["MAX_WAIT_MS"] = str(self.a.fetch_wait_ms)
        return ["node", os.path.join(PEER_DIR, "consumer.js")], e

    def run_consumer(self, kind, meta, rate=0, stamps=None, label=None):
        """One Kafka contender end to end; returns a result dict."""
        a = self.a
        name = label or kind
        preload = a.preload and not rate
        # a preloaded topic serves every round (each with a group of its
        # own): the mock keeps all of it in memory, 3 GB with schemas
        reuse = self.preloaded.get(meta["dir"]) if preload else None
        topic = reuse or self.new_topic(meta)
        table = self.fresh_table(name, meta)
        self.ngroup += 1
        group = "bench-%s-%d" % (name, self.ngroup)
        if rate and stamps:
            self.install_seen(table)
        msgs = os.path.join(meta["dir"], "messages.tsv")
        timeline = os.path.join(self.env.dir, "%s.timeline" % name)
        if preload:
            if not reuse:
                self.preloaded[meta["dir"]] = topic
                r = subprocess.run([self.bins["load"], "preload", "-b",
                                    self.mock.bootstrap, "-t", topic, "-f",
                                    msgs], capture_output=True, text=True)
                if r.returncode != 0:
                    raise SystemExit("bench: preload failed:\n" + r.stderr)
            lmode = ["watch"]
        else:
            lmode = ["feed", "-f", msgs, "--window", str(a.window)]
            if rate:
                lmode += ["--rate", str(rate)]
            if stamps:
                lmode += ["--stamps", stamps]
        loader = Child("%s-loader" % name,
                       [self.bins["load"]] + lmode + [
                           "-b", self.mock.bootstrap, "-t", topic, "-g", group,
                           "--timeline", timeline,
                           "--timeout", str(a.timeout)],
                       self.env.dir, stdout=subprocess.PIPE)
        if loader.proc.stdout.readline().strip() != b"ready":
            loader.stop()
            raise SystemExit("bench: loader did not start:\n" + loader.tail())
        if kind == "sluice":
            argv, cenv = self.sluice_argv(name, topic, table, group,
                                          exit_at_end=preload)
        else:
            argv, cenv = self.kafkajs_argv(name, topic, table, group, meta)
        cpu0_pg = session_cpu(self.pg_sid)
        cpu0_mock = proc_cpu(self.mock.proc.pid)
        log("%s: %d events (%d messages) on %s -> %s%s" % (
            name, meta["events"], meta["messages"], topic, table,
            " at %d events/s" % rate if rate else ""))
        con = Child(name, argv, self.env.dir, env=cenv)
        rss_samples = []
        loader_rc = None
        try:
            while True:
                if loader_rc is None:
                    loader_rc = loader.poll()
                if loader_rc is not None:
                    break
                if con.poll() is not None:
                    break
                rss_samples.append((time.monotonic() - con.t0,
                                    rss_kb(con.proc.pid)))
                time.sleep(0.25)
            if loader_rc is None:  # contender ended first
                if con.rc == 0 and preload:
                    loader_rc = loader.wait(15)  # watch sees the end
                if loader_rc is None:
                    loader.stop()
                    raise SystemExit(
                        "bench: %s exited %s before catching up:\n%s"
                        % (name, con.rc, con.tail()))
            if loader_rc != 0:
                raise SystemExit("bench: loader for %s failed (exit %d):\n%s"
                                 "\n%s stderr tail:\n%s"
                                 % (name, loader_rc, loader.tail(),
                                    name, con.tail()))
            t_caught = time.monotonic()
            rc = con.stop(signal.SIGTERM, timeout=60)  # drains, exits 0
        finally:
            con.stop(signal.SIGKILL)
            loader.stop()
        summary = json.loads(loader.proc.stdout.read().splitlines()[-1])
        loader.proc.stdout.close()
        cpu_pg = session_cpu(self.pg_sid) - cpu0_pg
        cpu_mock = proc_cpu(self.mock.proc.pid) - cpu0_mock
        correct, rows = self.check(table, meta)
        res = self.result(name, meta, con, rc, summary, timeline, t_caught,
                          rss_samples, correct, rows, cpu_pg, cpu_mock)
        res["mode"] = "preload" if preload else "feed"
        res["loader"] = summary
        return res

    def result(self, name, meta, con, rc, summary, timeline, t_caught,
               rss_samples, correct, rows, cpu_pg, cpu_mock):
        tl = []
        with open(timeline) as f:
            for line in f:
                t, m = line.split()
                tl.append((float(t), int(m)))
        total = meta["messages"]
        # steady state: from the first committed progress to lag 0
        first = next(((t, m) for t, m in tl if m > 0), None)
        last = tl[-1] if tl else None
        ev_per_msg = meta["events"] / total
        steady = None
        if first and last and last[1] == total and last[0] > first[0]:
            steady = (last[1] - first[1]) * ev_per_msg / (last[0] - first[0])
        lag0 = t_caught - con.t0
        ru = con.ru
        return {"contender": name, "events": meta["events"],
                "messages": total, "exit": rc,
                "lag0_s": round(lag0, 2),
                "steady_s": round(last[0] - first[0], 2) if steady else None,
                "events_per_s": round(steady) if steady else None,
                "events_per_s_incl_join": round(meta["events"] / lag0),
                "peak_rss_mb": round(ru.ru_maxrss / 1024, 1) if ru else None,
                "cpu_s": round(ru.ru_utime + ru.ru_stime, 2) if ru else None,
                "pg_cpu_s": round(cpu_pg, 2), "broker_cpu_s": round(cpu_mock, 2),
                "correct": correct, "rows": rows,
                "rss_mb_timeline": [(round(t, 1), round(k / 1024, 1))
                                    for t, k in rss_samples[::4]]}

    def run_ceiling(self, meta):
        table = self.fresh_table("ceiling", meta)
        cols = ["%s:%s" % (c, t) for c, t in meta["columns"]]
        cpu0_pg = session_cpu(self.pg_sid)
        log("ceiling: %d events as unnest upserts, 5000 per transaction"
            % meta["events"])
        c = Child("ceiling", [self.bins["ceiling"], self.pg.conninfo, table,
                              os.path.join(meta["dir"], "ops.tsv"), "5000"]
                  + cols, self.env.dir, stdout=subprocess.PIPE)
        out = c.proc.stdout.read()
        c.wait(3600)
        c.stop()
        if c.rc != 0:
            raise SystemExit("bench: ceiling failed:\n" + c.tail())
        r = json.loads(out.splitlines()[-1])
        correct, rows = self.check(table, meta)
        return {"contender": "ceiling", "events": meta["events"],
                "messages": meta["messages"], "exit": c.rc,
                "lag0_s": None, "steady_s": r["seconds"],
                "events_per_s": r["events_per_s"],
                "events_per_s_incl_join": None,
                "rows_per_s": r["rows_per_s"],
                "rows_upserted": r["rows_upserted"],
                "rows_deleted": r["rows_deleted"],
                "peak_rss_mb": round(c.ru.ru_maxrss / 1024, 1),
                "cpu_s": round(c.ru.ru_utime + c.ru.ru_stime, 2),
                "pg_cpu_s": round(session_cpu(self.pg_sid) - cpu0_pg, 2),
                "broker_cpu_s": None, "correct": correct, "rows": rows}

    # -- latency
    def install_seen(self, table):
        self.pg.execute("""
DROP TABLE IF EXISTS public.bench_seen;
CREATE UNLOGGED TABLE public.bench_seen (id int4, rev int8, xid xid8);
CREATE OR REPLACE FUNCTION public.bench_seen_fn() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.bench_seen VALUES (NEW.id, NEW.rev, pg_current_xact_id());
  RETURN NULL;
END $$;
CREATE TRIGGER bench_seen AFTER INSERT OR UPDATE ON %s
  FOR EACH ROW EXECUTE FUNCTION public.bench_seen_fn();""" % table)

    def latency(self, kind, meta, rate):
        import bisect
        stamps = os.path.join(self.env.dir, "%s.stamps" % kind)
        res = self.run_consumer(kind, meta, rate=rate, stamps=stamps,
                                label="%s_latency" % kind)
        seen = {}
        for id_, rev, us in self.pg.psql(
                "SELECT id, rev, (extract(epoch FROM pg_xact_commit_timestamp("
                "xid::text::xid)) * 1e6)::int8 FROM public.bench_seen"):
            seen.setdefault(int(id_), []).append((int(rev), int(us)))
        index = {}
        for k, lst in seen.items():
            lst.sort()
            revs = [r for r, _ in lst]
            suf = [0] * len(lst)
            m = None
            for i in range(len(lst) - 1, -1, -1):
                m = lst[i][1] if m is None else min(m, lst[i][1])
                suf[i] = m
            index[k] = (revs, suf)
        first_commit_wall = None
        lat, superseded, warm, slow = [], 0, 0, []
        with open(stamps) as sf, open(os.path.join(meta["dir"],
                                                   "ops.tsv")) as of:
            stamp_rows = [tuple(map(int, ln.split())) for ln in sf]
            ops = list(zip(stamp_rows, of))
        # an event followed by a delete of its key in the same batch is
        # never written (the batch folds both into the delete): it has no
        # write of its own to time, so it counts as superseded
        deletes = {}
        for (line, us), op in ops:
            if op[0] == "d":
                deletes.setdefault(int(op.split("\t", 2)[1]), []).append(line)
        for (line, us), op in ops:
            if op[0] == "d":
                continue
            k = int(op.split("\t", 2)[1])
            revs, suf = index.get(k, ([], []))
            i = bisect.bisect_left(revs, line)
            dl = deletes.get(k, [])
            j = bisect.bisect_right(dl, line)
            if i == len(revs) or (j < len(dl) and dl[j] < revs[i]):
                superseded += 1
                continue
            lat.append((us, suf[i] - us))
            if suf[i] - us > 1_000_000:
                slow.append((us, suf[i] - us, k, line, revs[i]))
        # steady state: events produced >= 2 s after the first commit
        if lat:
            t_first = min(c for _, (revs, suf) in index.items() for c in suf)
            first_commit_wall = t_first
            keep = [d for u, d in lat if u >= t_first + 2_000_000]
            warm = len(lat) - len(keep)
        else:
            keep = []
        keep.sort()

        def pct(p):
            return round(keep[min(len(keep) - 1, int(p * len(keep)))] / 1000,
                         1) if keep else None
        produced_s = (stamp_rows[-1][1] - stamp_rows[0][1]) / 1e6
        slow = [x for x in slow if first_commit_wall and
                x[0] >= first_commit_wall + 2_000_000]
        if slow:
            t0 = stamp_rows[0][1]
            log("latency: %d events took over 1 s; first ones (produced at s, "
                "latency s, key, line, first write's rev): %s" % (
                    len(slow), [(round((u - t0) / 1e6, 2), round(d / 1e6, 2),
                                 k, ln, rv) for u, d, k, ln, rv in slow[:8]]))
        res.update({"latency_events": len(keep), "latency_warmup_excluded":
                    warm, "latency_superseded": superseded,
                    "p50_ms": pct(0.50), "p90_ms": pct(0.90),
                    "p99_ms": pct(0.99), "max_ms": pct(1.0),
                    "produce_rate": round(len(stamp_rows) / produced_s)
                    if produced_s > 0 else None,
                    "first_commit_wall_us": first_commit_wall})
        return res


# ------------------------------------------------------------ report

def fmt(v, nd=0):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.*f" % (nd, v)
    return str(v)


def print_table(results, out=sys.stdout):
    hdr = ["contender", "events", "lag0 s", "steady s", "events/s",
           "peak RSS MB", "cpu s", "pg cpu s", "broker cpu s", "correct"]
    rows = []
    for r in results:
        name = r["contender"]
        if r.get("rounds", 1) > 1:
            name += " (%d)" % r["round"]
        rows.append([name, fmt(r["events"]), fmt(r["lag0_s"], 2),
                     fmt(r["steady_s"], 2), fmt(r["events_per_s"]),
                     fmt(r["peak_rss_mb"], 1), fmt(r["cpu_s"], 2),
                     fmt(r["pg_cpu_s"], 2), fmt(r.get("broker_cpu_s"), 2),
                     r["correct"]])
    print("| " + " | ".join(hdr) + " |", file=out)
    print("|" + "|".join("---" if i in (0, 9) else "---:"
                         for i in range(len(hdr))) + "|", file=out)
    for row in rows:
        print("| " + " | ".join(row) + " |", file=out)


def ratios(results):
    """The target ratios, each within one round; with several rounds, their
    median and every round's value."""
    rounds = {}
    for r in results:
        rounds.setdefault(r.get("round", 1), {})[r["contender"]] = r
    out = []

    def rate(by, name):
        r = by.get(name)
        return r["events_per_s"] if r and r["events_per_s"] else None

    def add(label, num, den, target):
        vs = [rate(by, num) / rate(by, den) for _, by in sorted(rounds.items())
              if rate(by, num) and rate(by, den)]
        if not vs:
            return
        v = statistics.median(vs)
        line = "%-34s %6.2f   (target %s: %s)" % (
            label, v, target,
            "met" if v >= float(target.lstrip(">= ")) else "NOT met")
        if len(vs) > 1:
            line += "   rounds: " + ", ".join("%.2f" % x for x in vs)
        out.append(line)
    add("sluice / kafkajs", "sluice", "kafkajs", ">= 3")
    add("sluice / ceiling", "sluice", "ceiling", ">= 0.8")
    add("sluice schemas / payload-only", "sluice_schemas", "sluice", ">= 0.8")
    add("kafkajs schemas / payload-only", "kafkajs_schemas", "kafkajs",
        ">= 0")
    return out


# ------------------------------------------------------------ main

def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        prog="bench/run.sh",
        description="Sluice vs a KafkaJS consumer vs the PostgreSQL "
        "batched-upsert ceiling, in one run.")
    ap.add_argument("-n", "--events", type=int, default=200_000)
    ap.add_argument("-k", "--keys", type=int, default=100_000)
    ap.add_argument("--schemas", action="store_true",
                    help="{schema,payload} envelopes (Debezium's default)")
    ap.add_argument("--both", action="store_true",
                    help="payload-only AND --schemas for sluice (and "
                    "kafkajs), for the schemas/payload-only ratio")
    ap.add_argument("--decimal", choices=("string", "precise"),
                    default="string")
    ap.add_argument("--width", type=int, default=0)
    ap.add_argument("--toast", action="store_true")
    ap.add_argument("--skew", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--contenders", default="sluice,kafkajs,ceiling",
                    help="comma list of sluice, kafkajs, ceiling")
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--brokers", type=int, default=3)
    ap.add_argument("--window", type=int, default=3 * 1024 * 1024,
                    help="bytes per partition the loader may run ahead of "
                    "the group's committed offset (mock keeps 5 MiB)")
    ap.add_argument("--preload", action="store_true",
                    help="produce everything before the contender starts "
                    "(a catch-up on a backlog; the mock's retention limit "
                    "is lifted for it); sluice then runs with --exit-at-end")
    ap.add_argument("--batch-events", type=int, default=5000,
                    help="sluice batch.max_events")
    ap.add_argument("--sluice-workers", type=int, default=1,
                    help="sluice workers (the config's `workers`: consumers "
                    "of the group in one process, each with its own "
                    "PostgreSQL connection)")
    ap.add_argument("--batch-ms", type=int, default=200,
                    help="sluice batch.max_ms")
    ap.add_argument("--sluice-kafka", action="append", default=[],
                    metavar="PROP=VALUE",
                    help="extra librdkafka property for sluice")
    ap.add_argument("--latency", action="store_true",
                    help="steady --rate events/s for --duration s; "
                    "produce->commit latency p50/p99")
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--memory", action="store_true",
                    help="sluice peak RSS at 1M and 5M events")
    ap.add_argument("--memory-sizes", default="1000000,5000000")
    ap.add_argument("--timeout", type=int, default=1800,
                    help="per contender, seconds")
    ap.add_argument("--data-dir", default=os.environ.get(
        "SLUICE_BENCH_DATA", os.path.join(os.path.expanduser("~"), ".cache",
                                          "sluice-bench")))
    ap.add_argument("--rev", help="benchmark this git revision (e.g. HEAD) "
                    "instead of the working tree")
    ap.add_argument("--sluice-bin", help="use this sluice binary, build "
                    "nothing of sluice")
    ap.add_argument("--fetch-wait-ms", type=int, default=10,
                    help="fetch.wait.max.ms (sluice) / maxWaitTimeInMs "
                    "(KafkaJS): the mock holds an empty Fetch for the whole "
                    "wait even when data arrives meanwhile (a real broker "
                    "answers at once); 0 = leave the clients' defaults")
    ap.add_argument("--generate-only", action="store_true",
                    help="only generate (cache) the data for these options")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run every contender this many times, in turn, "
                    "and give each ratio as the median of the rounds' "
                    "(this machine's speed drifts within a minute)")
    ap.add_argument("--json", help="also write the results as JSON here")
    return ap.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    contenders = [c.strip() for c in a.contenders.split(",") if c.strip()]
    for c in contenders:
        if c not in ("sluice", "kafkajs", "ceiling"):
            raise SystemExit("bench: unknown contender %r" % c)
    if a.rounds < 1:
        raise SystemExit("bench: --rounds must be at least 1, got %d"
                         % a.rounds)
    if a.latency and "ceiling" in contenders:
        contenders.remove("ceiling")
    if a.memory:
        contenders = ["sluice"]
    if a.generate_only:
        os.makedirs(a.data_dir, exist_ok=True)
        if a.memory:
            for n in a.memory_sizes.split(","):
                data_for(a, int(n))
        else:
            data_for(a, a.rate * a.duration if a.latency else a.events)
        return 0
    bins = build("kafkajs" in contenders, a.rev, a.sluice_bin)
    os.makedirs(a.data_dir, exist_ok=True)
    results, notes = [], []
    with st.TestEnv("bench") as env:
        b = Bench(a, bins, env)
        if a.memory:
            sizes = [int(x) for x in a.memory_sizes.split(",")]
            metas = [data_for(a, n) for n in sizes]
            b.start_servers()
            for n, meta in zip(sizes, metas):
                r = b.run_consumer("sluice", meta, label="sluice_%dk"
                                   % (n // 1000))
                results.append(r)
                tl = r["rss_mb_timeline"]
                notes.append("%s RSS MB over the run (s, MB): %s" % (
                    r["contender"], tl[:: max(1, len(tl) // 12)]))
        elif a.latency:
            meta = data_for(a, a.rate * a.duration)
            b.start_servers(latency=True)
            for c in contenders:
                if c == "ceiling":
                    continue
                r = b.latency(c, meta, a.rate)
                results.append(r)
                notes.append(
                    "%s latency produce->PG commit at %s events/s: p50 %s ms,"
                    " p90 %s ms, p99 %s ms, max %s ms over %d events "
                    "(%d warm-up excluded, %d superseded)" % (
                        c, r["produce_rate"], r["p50_ms"], r["p90_ms"],
                        r["p99_ms"], r["max_ms"], r["latency_events"],
                        r["latency_warmup_excluded"],
                        r["latency_superseded"]))
        else:
            variants = [a.schemas] if not a.both else [False, True]
            metas = {}
            for s in variants:
                a.schemas = s
                metas[s] = data_for(a, a.events)
            b.start_servers()
            for rnd in range(1, a.rounds + 1):
                for s in variants:
                    meta = metas[s]
                    suffix = "_schemas" if (s and a.both) else ""
                    for c in contenders:
                        if c == "ceiling":
                            if s and a.both:
                                continue  # same rows either way
                            r = b.run_ceiling(meta)
                        else:
                            r = b.run_consumer(c, meta, label=c + suffix)
                        r["round"], r["rounds"] = rnd, a.rounds
                        results.append(r)
        pgver, mockbs = b.pgver, b.mock.bootstrap
    print()
    print("Sluice bench: %s, keys %d, %s%s, %d partitions on %d mock "
          "brokers, PostgreSQL %s" % (
              "latency" if a.latency else "memory" if a.memory
              else "%d events" % a.events, a.keys,
              "both encodings" if a.both else
              "schemas" if a.schemas else "payload-only",
              ", decimal precise" if a.decimal == "precise" else "",
              a.partitions, a.brokers, pgver))
    print()
    print_table(results)
    print()
    for line in ratios(results):
        print(line)
    for n in notes:
        print(n)
    ce = next((r for r in results if r["contender"] == "ceiling"), None)
    if ce:
        print("ceiling: %d rows upserted + %d deleted in %.2f s = %.0f rows/s"
              " -> %d events / %.2f s = %.0f events/s" % (
                  ce["rows_upserted"], ce["rows_deleted"], ce["steady_s"],
                  ce["rows_per_s"], ce["events"], ce["steady_s"],
                  ce["events_per_s"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": vars(a), "results": results, "notes": notes,
                       "bootstrap": mockbs}, f, indent=1)
    bad = [r for r in results if r["correct"] != "yes"]
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except st.Interrupted as e:
        print("bench: interrupted (%s); cleaned up" % e, file=sys.stderr)
        sys.exit(130)
