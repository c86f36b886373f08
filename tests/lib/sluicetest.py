"""Integration-test harness for sluice (python3 standard library only).

Runs the real parts: a PostgreSQL server of its own (initdb in a temporary
directory, free port, unprivileged user), the librdkafka mock cluster
(sluice-mockbroker), the Kafka client tool (sluice-kafkatool) and the real
`sluice` binary.  Everything a test starts belongs to a TestEnv and is torn
down when the `with TestEnv() as env:` block ends, however it ends: normal
exit, exception, SIGTERM/SIGINT/SIGHUP (turned into an exception), and as a
last resort atexit.  Children are started in their own process group with
PR_SET_PDEATHSIG=SIGKILL, so even a SIGKILLed test takes them down; the
temporary directory such a test leaves behind is swept by the next TestEnv
(each directory records its owner's pid).

Environment:
  SLUICE_BIN        the sluice executable (tests exit 77 = skipped without it)
  SLUICE_TOOLS_DIR  directory holding sluice-mockbroker and sluice-kafkatool
  SLUICE_PGBIN      PostgreSQL bin dir (default /usr/lib/postgresql/15/bin)
  SLUICE_KEEP_TMP=1 keep the temporary directory for post-mortem
"""
import atexit
import ctypes
import difflib
import json
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77  # ctest SKIP_RETURN_CODE
PGBIN = os.environ.get("SLUICE_PGBIN", "/usr/lib/postgresql/15/bin")
TMP_PREFIX = "sluice-it-"
_SLUICE_ENV_OVERRIDES = ("SLUICE_POSTGRES_CONNINFO",
                         "SLUICE_KAFKA_BOOTSTRAP_SERVERS",
                         "SLUICE_KAFKA_GROUP_ID")


class Skip(Exception):
    """Raised to skip a test (exit code 77)."""


class Interrupted(BaseException):
    """A termination signal arrived; unwinds so that cleanup runs."""


# ---------------------------------------------------------------- processes

_libc = None


def _child_setup():
    """preexec_fn: die with the parent (runs after any setuid)."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # parent already gone
            os._exit(1)
    except Exception:
        pass


def _spawn(argv, *, stdin=subprocess.DEVNULL, stdout=None, stderr=None,
           env=None, user=None, cwd=None):
    kw = {}
    if user is not None:
        pw = pwd.getpwnam(user)
        kw.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
    return subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr,
                            env=env, cwd=cwd, start_new_session=True,
                            preexec_fn=_child_setup, **kw)


def _killpg(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_proc(proc, sig=signal.SIGTERM, timeout=10):
    """Signal the process group, wait, escalate to SIGKILL.  Returns rc."""
    if proc is None:
        return None
    if proc.poll() is None:
        _killpg(proc, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _killpg(proc, signal.SIGKILL)
            proc.wait()
    # Stragglers of the group (e.g. PostgreSQL backends) go too.
    _killpg(proc, signal.SIGKILL)
    return proc.returncode


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, what, interval=0.1):
    """Polls pred() until it returns a truthy value, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def tail(path, lines=40):
    try:
        with open(path, "r", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------- PostgreSQL

class PgServer:
    """A private PostgreSQL 15 server: own data dir, port and socket dir."""

    def __init__(self, basedir, user=None):
        self.dir = os.path.join(basedir, "pg")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.port = None
        self.proc = None
        self.user = user if user is not None else (
            "postgres" if os.geteuid() == 0 else None)
        self._initdb()

    def _initdb(self):
        os.makedirs(self.dir)
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        with open(os.path.join(self.dir, "initdb.log"), "w") as log:
            if self.user:
                os.chown(log.name, *pwd.getpwnam(self.user)[2:4])
            p = _spawn([os.path.join(PGBIN, "initdb"), "-D", self.data,
                        "-A", "trust", "-U", "postgres", "-E", "UTF8",
                        "--locale=C.UTF-8", "--no-sync"],
                       stdout=log, stderr=subprocess.STDOUT, user=self.user)
            if p.wait(120) != 0:
                raise RuntimeError("initdb failed:\n" + tail(log.name))
        self.port = free_port()
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n# sluice test server\n"
                    "listen_addresses = '127.0.0.1'\n"
                    "port = %d\n"
                    "unix_socket_directories = '%s'\n"
                    "fsync = off\nfull_page_writes = off\n"
                    "max_connections = 60\n"
                    "shared_buffers = 64MB\n" % (self.port, self.dir))

    @property
    def conninfo(self):
        return ("host=127.0.0.1 port=%d dbname=postgres user=postgres"
                % self.port)

    def start(self, timeout=60):
        assert self.proc is None or self.proc.poll() is not None
        logf = open(self.log, "a")
        if self.user:
            os.chown(self.log, *pwd.getpwnam(self.user)[2:4])
        self.proc = _spawn([os.path.join(PGBIN, "postgres"), "-D", self.data],
                           stdout=logf, stderr=subprocess.STDOUT,
                           user=self.user)
        logf.close()

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited with %s:\n%s"
                                   % (self.proc.returncode, tail(self.log)))
            r = subprocess.run([os.path.join(PGBIN, "pg_isready"), "-q",
                                "-h", "127.0.0.1", "-p", str(self.port),
                                "-U", "postgres", "-d", "postgres"])
            return r.returncode == 0
        wait_until(ready, timeout, "PostgreSQL on port %d" % self.port)
        return self

    def stop(self, timeout=30):
        """Fast shutdown (SIGINT), as pg_ctl -m fast."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        _stop_proc(self.proc, signal.SIGKILL)

    def kill9(self):
        """Crash: SIGKILL the postmaster and every backend at once."""
        _stop_proc(self.proc, signal.SIGKILL)

    def restart(self, crash=False):
        self.kill9() if crash else self.stop()
        return self.start()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def psql_raw(self, sql, timeout=300, check=True):
        r = subprocess.run(
            [os.path.join(PGBIN, "psql"), "-X", "-q", "-At", "-F", "\t",
             "-v", "ON_ERROR_STOP=1", "-d", self.conninfo, "-f", "-"],
            input=sql, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("psql failed (%d): %s\nSQL: %s"
                                 % (r.returncode, r.stderr.strip(), sql[:2000]))
        return r

    def lines(self, sql, **kw):
        out = self.psql_raw(sql, **kw).stdout
        return out.splitlines()

    def psql(self, sql, **kw):
        """Runs sql; returns the result rows as lists of strings (NULL and
        the empty string both print as '')."""
        return [line.split("\t") for line in self.lines(sql, **kw)]

    def execute(self, sql, **kw):
        self.psql_raw(sql, **kw)

    def scalar(self, sql):
        rows = self.psql(sql)
        return rows[0][0] if rows else None


# ---------------------------------------------------------------- Kafka

def tools_dir():
    d = os.environ.get("SLUICE_TOOLS_DIR")
    if not d:
        raise Skip("SLUICE_TOOLS_DIR is not set")
    return d


class MockBroker:
    """sluice-mockbroker: a librdkafka mock cluster in a child process."""

    def __init__(self, basedir, topics=(), brokers=1, binary=None):
        self.binary = binary or os.path.join(tools_dir(), "sluice-mockbroker")
        self.log = os.path.join(basedir, "mockbroker.log")
        argv = [self.binary, "--brokers", str(brokers)]
        for t in topics:
            argv += ["--topic", t]
        with open(self.log, "w") as logf:
            self.proc = _spawn(argv, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=logf)
        line = self._readline(15)
        if not line:
            _stop_proc(self.proc)
            raise RuntimeError("sluice-mockbroker did not start:\n"
                               + tail(self.log))
        self.bootstrap = line.strip()

    def _readline(self, timeout):
        out = self.proc.stdout
        r, _, _ = select.select([out], [], [], timeout)
        return out.readline().decode() if r else ""

    def command(self, cmd, timeout=10):
        """Fault injection, e.g. 'broker-down 1', 'push-errors 8 3 7'."""
        self.proc.stdin.write((cmd + "\n").encode())
        self.proc.stdin.flush()
        reply = self._readline(timeout).strip()
        if reply != "ok":
            raise AssertionError("mockbroker %r: %r" % (cmd, reply))

    def stop(self):
        rc = _stop_proc(self.proc)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        return rc


def _unescape(s):
    """Reverses sluice-kafkatool consume's escaping; returns bytes or None."""
    if s == "\\N":
        return None
    out = bytearray()
    b = s.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x5C and i + 1 < len(b):
            n = chr(b[i + 1])
            if n == "x":
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
                continue
            out.append({"\\": 0x5C, "t": 9, "n": 10, "r": 13}[n])
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


class Kafka:
    """Wraps sluice-kafkatool against one cluster."""

    def __init__(self, bootstrap, basedir, binary=None):
        self.bootstrap = bootstrap
        self.dir = basedir
        self.binary = binary or os.path.join(tools_dir(), "sluice-kafkatool")
        self._n = 0

    def tool(self, *args, input=None, timeout=180):
        r = subprocess.run([self.binary, args[0], "-b", self.bootstrap]
                           + list(args[1:]), input=input,
                           capture_output=True, timeout=timeout,
                           preexec_fn=_child_setup)
        if r.returncode != 0:
            raise AssertionError("sluice-kafkatool %s failed (%d): %s"
                                 % (" ".join(args), r.returncode,
                                    r.stderr.decode(errors="replace").strip()))
        return r.stdout.decode("utf-8", "surrogateescape")

    def _pargs(self, partition):
        return [] if partition is None else ["-p", str(partition)]

    def produce_file(self, topic, path, partition=None, headers=()):
        """Produces a `KEY<TAB>VALUE` line file."""
        h = [a for kv in headers for a in ("-H", kv)]
        self.tool("produce", "-t", topic, *self._pargs(partition), *h, path)

    def produce_lines(self, topic, lines, partition=None, headers=()):
        """lines: strings 'KEY\\tVALUE' or (key, value) pairs; key None or ''
        is a null key, value None a tombstone."""
        self._n += 1
        path = os.path.join(self.dir, "produce-%d.tsv" % self._n)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for ln in lines:
                if not isinstance(ln, str):
                    k, v = ln
                    ln = (k or "") + "\t" + (v if v is not None else "")
                if "\n" in ln:
                    raise ValueError("produce_lines: newline inside a "
                                     "message; use produce_value")
                f.write(ln + "\n")
        self.produce_file(topic, path, partition, headers)
        return len(lines)

    def produce_value(self, topic, value_file, key=None, key_file=None,
                      partition=None, headers=()):
        """Exactly one message whose value is value_file's bytes."""
        args = ["produce", "-t", topic, *self._pargs(partition),
                "--value-file", value_file]
        if key_file:
            args += ["--key-file", key_file]
        elif key is not None:
            args += ["-k", key]
        for kv in headers:
            args += ["-H", kv]
        self.tool(*args)

    def watermarks(self, topic):
        out = {}
        for line in self.tool("watermarks", "-t", topic).splitlines():
            p, lo, hi = (int(x) for x in line.split())
            out[p] = (lo, hi)
        return out

    def total(self, topic):
        return sum(hi for _, hi in self.watermarks(topic).values())

    def committed(self, group, topic):
        out = {}
        for line in self.tool("committed", "-g", group, "-t",
                              topic).splitlines():
            p, off = (int(x) for x in line.split())
            out[p] = off
        return out

    def reset_group(self, group, topic, to="earliest"):
        self.tool("reset-group", "-g", group, "-t", topic, "--to", str(to))

    def consume(self, topic, group=None):
        """All messages up to the current high watermarks, as dicts with
        partition, offset, key, value (bytes or None), headers [(n, v)]."""
        args = ["consume", "-t", topic, "--position"]
        if group:
            args += ["-g", group]
        msgs = []
        for line in self.tool(*args).splitlines():
            f = line.split("\t")
            hdrs = []
            for h in f[4:]:
                n, _, v = h.partition("=")
                hdrs.append((_unescape(n).decode(), _unescape(v)))
            msgs.append({"partition": int(f[0]), "offset": int(f[1]),
                         "key": _unescape(f[2]), "value": _unescape(f[3]),
                         "headers": hdrs})
        return msgs

    def assert_retained(self, topic, expected_total):
        """The mock silently drops the oldest data beyond 5 MiB or 100,000
        message sets per partition: make sure nothing was dropped."""
        wm = self.watermarks(topic)
        dropped = {p: lo for p, (lo, _) in wm.items() if lo != 0}
        total = sum(hi for _, hi in wm.values())
        if dropped or total != expected_total:
            raise AssertionError(
                "topic %s lost data in the mock broker (retention is 5 MiB /"
                " 100,000 message sets per partition): low watermarks %s, "
                "sum(high)=%d, expected %d" % (topic, dropped, total,
                                               expected_total))
        return wm


# ---------------------------------------------------------------- sluice

def sluice_bin():
    b = os.environ.get("SLUICE_BIN")
    if not b or not os.access(b, os.X_OK):
        raise Skip("SLUICE_BIN is not set or not executable (%r)" % b)
    return b


class Sluice:
    """The real sluice worker, with a JSON config written to the test dir."""

    def __init__(self, env, name, config, binary=None, extra_env=None):
        self.binary = binary or sluice_bin()
        self.name = name
        self.dir = env.dir
        self.config = config
        self.cfgfile = os.path.join(self.dir, "sluice-%s.json" % name)
        with open(self.cfgfile, "w") as f:
            json.dump(config, f, indent=2)
        self.extra_env = extra_env or {}
        self.proc = None
        self.runs = 0
        self.stderr_path = None
        env._register(self)

    def _env(self):
        e = {k: v for k, v in os.environ.items()
             if k not in _SLUICE_ENV_OVERRIDES}
        e.update(self.extra_env)
        return e

    def start(self, exit_at_end=False, args=()):
        assert self.proc is None or self.proc.poll() is not None, \
            "sluice %s already running" % self.name
        self.runs += 1
        self.stderr_path = os.path.join(
            self.dir, "sluice-%s.run%d.stderr" % (self.name, self.runs))
        argv = [self.binary, "run", "-c", self.cfgfile] + list(args)
        if exit_at_end:
            argv.append("--exit-at-end")
        with open(self.stderr_path, "w") as errf:
            self.proc = _spawn(argv, stdout=errf, stderr=subprocess.STDOUT,
                               env=self._env())
        return self

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                "sluice %s still running after %.0f s; stderr tail:\n%s"
                % (self.name, timeout, tail(self.stderr_path)))

    def run_to_end(self, timeout=300, args=()):
        """`sluice run --exit-at-end`; returns (exit code, stderr text)."""
        self.start(exit_at_end=True, args=args)
        try:
            rc = self.wait(timeout)
        finally:
            self.kill9() if self.running else None
        return rc, self.stderr()

    def stderr(self):
        if not self.stderr_path:
            return ""
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        _stop_proc(self.proc, signal.SIGKILL)

    def terminate(self):
        if self.running:
            _killpg(self.proc, signal.SIGTERM)

    def stop(self):
        _stop_proc(self.proc, signal.SIGTERM, timeout=15)


# ---------------------------------------------------------------- env

_live_envs = []


def _sweep_stale_dirs():
    """Removes temp dirs of earlier test processes that died (SIGKILL)."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        if not name.startswith(TMP_PREFIX):
            continue
        path = os.path.join(base, name)
        try:
            with open(os.path.join(path, "owner.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
            continue  # still alive
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(path, ignore_errors=True)


def _on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


def _cleanup_all():
    for env in list(_live_envs):
        env.close()


atexit.register(_cleanup_all)


class TestEnv:
    """Owns every process and the temp dir of one test.

        with TestEnv("stream") as env:
            pg = env.postgres()
            broker = env.broker(["t:16"])
            kafka = env.kafka
    """

    def __init__(self, name="test"):
        self.name = name
        self._closed = False
        self._procs = []  # objects with stop()
        self.pg = None
        self.mock = None
        self._kafka = None

    def __enter__(self):
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, _on_signal)
        _sweep_stale_dirs()
        self.dir = tempfile.mkdtemp(prefix=TMP_PREFIX + self.name + "-")
        os.chmod(self.dir, 0o755)  # the postgres user must reach pg/
        with open(os.path.join(self.dir, "owner.pid"), "w") as f:
            f.write("%d\n" % os.getpid())
        _live_envs.append(self)
        return self

    def __exit__(self, etype, evalue, tb):
        if etype is not None and not issubclass(etype, Skip):
            self.dump_logs()
        self.close()
        return False

    def _register(self, obj):
        self._procs.append(obj)
        return obj

    def postgres(self):
        self.pg = self._register(PgServer(self.dir)).start()
        return self.pg

    def broker(self, topics=(), brokers=1):
        self.mock = self._register(MockBroker(self.dir, topics, brokers))
        self._kafka = Kafka(self.mock.bootstrap, self.dir)
        return self.mock

    @property
    def kafka(self):
        return self._kafka

    def sluice(self, name="w", group="sluice-test", topics=(), mirror=None,
               kafka=None, batch=None, extra=None, extra_env=None):
        """A Sluice with the standard config for this env's broker and PG."""
        cfg = {
            "kafka": {"bootstrap.servers": self.mock.bootstrap,
                      "group.id": group,
                      "session.timeout.ms": "6000",
                      "heartbeat.interval.ms": "1000"},
            "postgres": {"conninfo": self.pg.conninfo},
            "topics": list(topics),
            "mirror": mirror or {"schema": "public"},
            "batch": batch or {"max_events": 1000, "max_ms": 100},
        }
        cfg["kafka"].update(kafka or {})
        cfg.update(extra or {})
        return Sluice(self, name, cfg, extra_env=extra_env)

    def dump_logs(self):
        out = sys.stderr
        print("==== test %s failed; logs (dir %s) ====" % (self.name, self.dir),
              file=out)
        for obj in self._procs:
            path = getattr(obj, "stderr_path", None) or getattr(obj, "log",
                                                                None)
            if path:
                print("---- %s (tail) ----\n%s" % (path, tail(path, 60)),
                      file=out)

    def close(self):
        if self._closed:
            return
        self._closed = True
        # Reverse order of creation: workers, then broker, then PostgreSQL.
        for obj in reversed(self._procs):
            try:
                if isinstance(obj, Sluice):
                    obj.kill9()
                else:
                    obj.stop()
            except BaseException:
                traceback.print_exc()
        if self in _live_envs:
            _live_envs.remove(self)
        if os.environ.get("SLUICE_KEEP_TMP") == "1":
            print("kept %s" % self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- asserts

def assert_lines_equal(expected, actual, what="rows", context=3,
                       max_lines=80):
    """Compares two lists of lines; raises with a unified diff."""
    expected = list(expected)
    actual = list(actual)
    if expected == actual:
        return
    diff = list(difflib.unified_diff(expected, actual, "expected", "actual",
                                     lineterm="", n=context))
    shown = "\n".join(diff[:max_lines])
    if len(diff) > max_lines:
        shown += "\n... (%d more diff lines)" % (len(diff) - max_lines)
    raise AssertionError("%s differ: %d expected, %d actual\n%s"
                         % (what, len(expected), len(actual), shown))


def assert_rows_equal(expected, actual, what="rows"):
    """Rows as lists of strings (or TSV lines)."""
    def norm(rows):
        return [r if isinstance(r, str) else "\t".join(r) for r in rows]
    assert_lines_equal(norm(expected), norm(actual), what)


def assert_true(cond, msg):
    if not cond:
        raise AssertionError(msg)


def ledger(pg, group):
    """{(topic, partition): next_offset} from sluice.offsets."""
    rows = pg.psql("SELECT topic, partition, next_offset FROM sluice.offsets "
                   "WHERE group_id = %s" % sql_literal(group))
    return {(t, int(p)): int(o) for t, p, o in rows}


def sql_literal(s):
    return "'" + str(s).replace("'", "''") + "'"


def sql_ident(s):
    return '"' + str(s).replace('"', '""') + '"'


AUDIT_SQL = """
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE audit.writes (
    seq   bigserial PRIMARY KEY,
    tbl   text NOT NULL,
    op    text NOT NULL,
    id    text,
    pos   bigint[]);
CREATE TABLE audit.settings (throttle float8 NOT NULL DEFAULT 0);
INSERT INTO audit.settings VALUES (0);
CREATE OR REPLACE FUNCTION audit.record() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t float8;
BEGIN
    -- Optional slowdown so that crash tests can hit a worker mid-stream:
    -- a 1 ms sleep on a fraction t of the writes.
    SELECT throttle INTO t FROM audit.settings;
    IF t > 0 AND random() < t THEN
        PERFORM pg_sleep(0.001);
    END IF;
    INSERT INTO audit.writes(tbl, op, id, pos)
    VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP,
            to_jsonb(NEW)->>'id', NEW._sluice_pos);
    RETURN NEW;
END $$;
"""


def install_audit(pg, table, throttle=0.0):
    """Records every committed write attempt (INSERT and UPDATE, with the
    row's _sluice_pos) on table into audit.writes.  The audit row commits or
    rolls back with the write, so a position seen twice for the same TG_OP
    means an event was applied twice.  throttle (0..1): the fraction of
    writes that sleep 1 ms, to slow the worker down for crash tests."""
    if pg.scalar("SELECT to_regclass('audit.writes') IS NOT NULL") != "t":
        pg.execute(AUDIT_SQL)
    pg.execute("UPDATE audit.settings SET throttle = %f" % throttle)
    pg.execute("CREATE TRIGGER sluice_audit BEFORE INSERT OR UPDATE ON %s "
               "FOR EACH ROW EXECUTE FUNCTION audit.record()" % table)


def assert_no_duplicate_writes(pg, table):
    rows = pg.psql(
        "SELECT op, pos::text, count(*), string_agg(id, ',') FROM "
        "audit.writes WHERE tbl = %s GROUP BY op, pos HAVING count(*) > 1 "
        "ORDER BY 3 DESC LIMIT 20" % sql_literal(table))
    if rows:
        raise AssertionError("events applied more than once (op, position, "
                             "times, ids):\n" + "\n".join("\t".join(r)
                                                         for r in rows))
    nulls = pg.scalar("SELECT count(*) FROM audit.writes WHERE tbl = %s AND "
                      "pos IS NULL" % sql_literal(table))
    assert_true(nulls == "0", "%s writes without _sluice_pos" % nulls)


# ---------------------------------------------------------------- runner

def run(test, name=None):
    """Runs test(env) inside a TestEnv; exits 0 pass, 1 fail, 77 skip."""
    name = name or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    t0 = time.monotonic()
    try:
        with TestEnv(name) as env:
            test(env)
    except Skip as e:
        print("SKIP %s: %s" % (name, e))
        sys.exit(SKIP)
    except Interrupted as e:
        print("INTERRUPTED %s: %s" % (name, e), file=sys.stderr)
        sys.exit(1)
    except Exception:
        traceback.print_exc()
        print("FAIL %s (%.1f s)" % (name, time.monotonic() - t0))
        sys.exit(1)
    print("PASS %s (%.1f s)" % (name, time.monotonic() - t0))
    sys.exit(0)


def require_sluice():
    """Call first in a test: skips cleanly when the binary is missing."""
    sluice_bin()
    tools_dir()
