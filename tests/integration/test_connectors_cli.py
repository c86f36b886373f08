#!/usr/bin/env python3
"""`sluice connectors apply|status|restart` against a stand-in Kafka Connect
REST API (tests/tools/connect_server.py): create-or-update is idempotent,
Strimzi YAML becomes the same PUT body as Connect JSON, status shows states,
workers and failed tasks' traces, restart asks for failed instances only,
409 (rebalance) is retried, and Connect's 400/404 messages are shown."""
import json
import os
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import sluicetest as st  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SERVER = os.path.join(ROOT, "tests", "tools", "connect_server.py")


class ConnectServer:
    def __init__(self, env):
        self.log = os.path.join(env.dir, "connect_server.log")
        with open(self.log, "w") as logf:
            self.proc = st._spawn([sys.executable, SERVER], stdout=subprocess.PIPE,
                                  stderr=logf)
        self.url = self.proc.stdout.readline().decode().strip()
        if not self.url.startswith("http://"):
            raise RuntimeError("connect_server did not start:\n" + st.tail(self.log))
        env._register(self)

    def stop(self):
        st._stop_proc(self.proc)
        self.proc.stdout.close()

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def control(self, **kw):
        self.call("POST", "/__control", kw)

    def requests(self):
        return self.call("GET", "/__requests")


def sluice(env, *args, url=None):
    argv = [st.sluice_bin(), "connectors"] + list(args) + ["-c", env.cfgfile,
                                                           "--retry-delay-ms", "20"]
    if url:
        argv += ["--connect-url", url]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def test(env):
    st.require_sluice()
    srv = ConnectServer(env)
    conn_dir = os.path.join(ROOT, "connectors")
    # a JSON manifest and a Strimzi YAML manifest of a second connector
    yaml_path = os.path.join(env.dir, "orders.yaml")
    with open(yaml_path, "w") as f:
        f.write(open(os.path.join(conn_dir, "inventory-postgres.yaml")).read()
                .replace("name: inventory-connector", "name: orders-connector")
                .replace("tasksMax: 1", "tasksMax: 2")
                .replace("topic.prefix: fullfillment", "topic.prefix: orders"))
    env.cfgfile = os.path.join(env.dir, "sluice.json")
    with open(env.cfgfile, "w") as f:
        json.dump({"kafka": {"bootstrap.servers": "127.0.0.1:1", "group.id": "g"},
                   "postgres": {"conninfo": "host=127.0.0.1 port=1 dbname=x"},
                   "connectors": [os.path.join(conn_dir, "inventory-postgres.json"),
                                  "orders.yaml"]}, f)

    # status of a connector that does not exist yet: 404 explained
    rc, out, err = sluice(env, "status", url=srv.url)
    st.assert_true(rc == 1 and "connector not found" in err
                   and "Connector inventory-connector not found" in err,
                   "status before apply: rc %d\n%s" % (rc, err))

    # apply creates, apply again updates (idempotent)
    rc, out, err = sluice(env, "apply", url=srv.url + "/")
    st.assert_true(rc == 0, "apply failed: %s" % err)
    st.assert_lines_equal(["inventory-connector: created", "orders-connector: created"],
                          out.splitlines(), "first apply")
    rc, out, err = sluice(env, "apply", url=srv.url)
    st.assert_lines_equal(["inventory-connector: updated", "orders-connector: updated"],
                          out.splitlines(), "second apply")
    st.assert_true(srv.call("GET", "/connectors") ==
                   ["inventory-connector", "orders-connector"], "connector list")
    puts = [p for m, p in srv.requests() if m == "PUT"]
    st.assert_true(puts == ["/connectors/inventory-connector/config",
                            "/connectors/orders-connector/config"] * 2,
                   "PUT paths: %s" % puts)
    # the PUT body: the manifest's config as written, placeholders kept
    manifest = json.load(open(os.path.join(conn_dir, "inventory-postgres.json")))
    want = dict(manifest["config"], name="inventory-connector")
    st.assert_true(srv.call("GET", "/connectors/inventory-connector/status")
                   ["connector"]["state"] == "RUNNING", "running")

    # status: states and workers; exit 0 when nothing failed
    rc, out, err = sluice(env, "status", "--connector", "orders-connector", url=srv.url)
    st.assert_lines_equal(["orders-connector: RUNNING on 10.0.0.1:8083",
                           "  task 0: RUNNING on 10.0.0.2:8083",
                           "  task 1: RUNNING on 10.0.0.3:8083"],
                          out.splitlines(), "status output")
    st.assert_true(rc == 0, "status rc %d" % rc)

    # a failed task: status shows it with its trace and exits 1
    srv.control(fail_task={"name": "orders-connector", "task": 1,
                           "trace": "org.apache.kafka.connect.errors.ConnectException: "
                                    "slot in use\n\tat io.debezium.X(X.java:42)"})
    rc, out, err = sluice(env, "status", "--connector", "orders-connector", url=srv.url)
    st.assert_true(rc == 1, "status with a failed task exited %d" % rc)
    st.assert_lines_equal(["orders-connector: RUNNING on 10.0.0.1:8083",
                           "  task 0: RUNNING on 10.0.0.2:8083",
                           "  task 1: FAILED on 10.0.0.3:8083",
                           "      org.apache.kafka.connect.errors.ConnectException: slot in use",
                           "      \tat io.debezium.X(X.java:42)"],
                          out.splitlines(), "status with failed task")

    # restart: only failed instances
    rc, out, err = sluice(env, "restart", "--connector", "orders-connector", url=srv.url)
    st.assert_true(rc == 0, "restart failed: %s" % err)
    st.assert_lines_equal(["orders-connector: restart requested (failed instances only)",
                           "orders-connector: RUNNING on 10.0.0.1:8083",
                           "  task 0: RUNNING on 10.0.0.2:8083",
                           "  task 1: RESTARTING on 10.0.0.3:8083"],
                          out.splitlines(), "restart output")
    posts = [p for m, p in srv.requests() if m == "POST"]
    st.assert_true(posts == ["/connectors/orders-connector/restart"
                             "?includeTasks=true&onlyFailed=true"], "POST %s" % posts)
    rc, out, err = sluice(env, "status", "--connector", "orders-connector", url=srv.url)
    st.assert_true(rc == 0 and "FAILED" not in out, "after restart:\n%s" % out)

    # 409 during a rebalance: retried
    before = len(srv.requests())
    srv.control(rebalance=2)
    rc, out, err = sluice(env, "apply", "--connector", "inventory-connector", url=srv.url)
    st.assert_true(rc == 0 and out.strip() == "inventory-connector: updated",
                   "apply through a rebalance: rc %d\n%s%s" % (rc, out, err))
    st.assert_true(len(srv.requests()) - before == 3, "3 attempts expected")
    st.assert_true(err.count("answered 409 (rebalancing)") == 2, err)
    # ... but not forever
    srv.control(rebalance=10)
    rc, out, err = sluice(env, "status", "--connector", "inventory-connector",
                          "--retries", "2", url=srv.url)
    st.assert_true(rc == 1 and "still rebalancing after 2 retries (409)" in err,
                   "endless rebalance: rc %d\n%s" % (rc, err))
    srv.control(rebalance=0)

    # Connect's validation error body is shown as it is
    msg = ("Connector configuration is invalid and contains the following 1 error(s):\n"
           "A value is required\nYou can also find the above list of errors at the "
           "endpoint `/connector-plugins/{connectorType}/config/validate`")
    srv.control(reject=msg)
    rc, out, err = sluice(env, "apply", "--connector", "inventory-connector", url=srv.url)
    st.assert_true(rc == 1 and "rejected the configuration (400)" in err
                   and "contains the following 1 error(s)" in err,
                   "400: rc %d\n%s" % (rc, err))

    # what apply stored is the manifest's config as written (placeholders kept)
    stored = srv.call("GET", "/connectors/inventory-connector/config")
    st.assert_true(stored == want, "stored config %s != manifest %s" % (stored, want))
    stored = srv.call("GET", "/connectors/orders-connector/config")
    st.assert_true(stored["connector.class"] ==
                   "io.debezium.connector.postgresql.PostgresConnector"
                   and stored["tasks.max"] == "2" and stored["name"] == "orders-connector"
                   and stored["database.password"] ==
                   "${secrets:inventory/inventory-db:password}"
                   and stored["database.port"] == "5432",
                   "Strimzi manifest as stored: %s" % stored)

    # usage errors and an unreachable Connect
    rc, out, err = sluice(env, "status", url="http://127.0.0.1:1")
    st.assert_true(rc == 1 and "cannot reach Kafka Connect at http://127.0.0.1:1" in err,
                   "unreachable: rc %d\n%s" % (rc, err))
    rc, out, err = sluice(env, "status")
    st.assert_true(rc == 2 and "--connect-url is missing" in err, "no url: %s" % err)
    rc, out, err = sluice(env, "frobnicate", url=srv.url)
    st.assert_true(rc == 2 and "unknown action" in err, "bad action: %s" % err)
    rc, out, err = sluice(env, "status", "--connector", "nope", url=srv.url)
    st.assert_true(rc == 2 and "no manifest names a connector \"nope\"" in err, err)


st.run(test)
