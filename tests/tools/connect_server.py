#!/usr/bin/env python3
"""A stand-in for the Kafka Connect REST API (python3 standard library only),
for tests of `sluice connectors`.  Implements the documented endpoints the
CLI uses and their errors:

  GET  /connectors                         ["name", ...]
  PUT  /connectors/{name}/config           201 created / 200 updated, body
                                           {"name","config","tasks","type"};
                                           400 {"error_code":400,"message"}
                                           when connector.class is missing,
                                           the body's name differs, or a
                                           rejection was armed
  GET  /connectors/{name}/config           the stored config
  GET  /connectors/{name}/status           {"name","connector":{"state",
                                           "worker_id"},"tasks":[...],"type"}
  POST /connectors/{name}/restart?includeTasks=&onlyFailed=
                                           202 + status with RESTARTING
                                           instances (204 without includeTasks
                                           and onlyFailed, as Connect does)
  unknown connector: 404 {"error_code":404,"message":"Connector X not found"}

Test control (not part of Connect):
  POST /__control {"rebalance": N}         the next N API requests get 409
  POST /__control {"fail_task": {"name", "task", "trace"}}
  POST /__control {"reject": "message"}    the next PUT gets 400 message
  GET  /__requests                         [[method, path], ...] so far

Usage: connect_server.py  — prints "http://127.0.0.1:PORT" on line 1 and
serves until SIGTERM.
"""
import json
import signal
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORKER = "10.0.0.%d:8083"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.connectors = {}
        self.rebalance = 0
        self.reject = None
        self.requests = []


STATE = State()


def status_of(name, c):
    return {"name": name,
            "connector": {"state": c["state"], "worker_id": WORKER % 1},
            "tasks": [dict(t) for t in c["tasks"]],
            "type": "source"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("connect_server: " + (fmt % args) + "\n")

    def reply(self, code, obj=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(code)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def error(self, code, message):
        self.reply(code, {"error_code": code, "message": message})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw) if raw else None

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        query = urllib.parse.parse_qs(url.query)
        with STATE.lock:
            if parts[:1] == ["__control"]:
                ctl = self.body() or {}
                if "rebalance" in ctl:
                    STATE.rebalance = int(ctl["rebalance"])
                if "reject" in ctl:
                    STATE.reject = ctl["reject"]
                if "fail_task" in ctl:
                    f = ctl["fail_task"]
                    t = STATE.connectors[f["name"]]["tasks"][f["task"]]
                    t["state"] = "FAILED"
                    t["trace"] = f.get("trace", "org.apache.kafka.connect.errors."
                                       "ConnectException: boom\n\tat x.y(Z.java:1)")
                return self.reply(200, {})
            if parts[:1] == ["__requests"]:
                return self.reply(200, STATE.requests)
            STATE.requests.append([method, self.path])
            if STATE.rebalance > 0:
                STATE.rebalance -= 1
                self.body()
                return self.error(409, "Cannot complete request momentarily due to "
                                       "stale configuration (typically caused by a "
                                       "concurrent config change)")
            if parts == ["connectors"] and method == "GET":
                return self.reply(200, sorted(STATE.connectors))
            if len(parts) < 3 or parts[0] != "connectors":
                return self.error(404, "Not found")
            name, what = parts[1], parts[2]
            c = STATE.connectors.get(name)
            if what == "config" and method == "PUT":
                cfg = self.body()
                if not isinstance(cfg, dict):
                    return self.error(400, "Request body must be a JSON object")
                if STATE.reject:
                    msg, STATE.reject = STATE.reject, None
                    return self.error(400, msg)
                if "connector.class" not in cfg:
                    return self.error(400, "Connector config %s contains no connector "
                                           "type" % json.dumps(cfg))
                if cfg.get("name", name) != name:
                    return self.error(400, "Connector name configuration (%s) doesn't "
                                           "match connector name in the URL (%s)"
                                      % (cfg["name"], name))
                if any(not isinstance(v, str) for v in cfg.values()):
                    return self.error(500, "Cannot deserialize value: config values "
                                           "must be strings")
                created = c is None
                ntasks = int(cfg.get("tasks.max", "1"))
                STATE.connectors[name] = {
                    "config": cfg, "state": "RUNNING",
                    "tasks": [{"id": i, "state": "RUNNING",
                               "worker_id": WORKER % (i + 2)}
                              for i in range(ntasks)]}
                return self.reply(201 if created else 200,
                                  {"name": name, "config": cfg,
                                   "tasks": [{"connector": name, "task": i}
                                             for i in range(ntasks)],
                                   "type": "source"})
            if c is None:
                self.body()
                return self.error(404, "Connector %s not found" % name)
            if what == "config" and method == "GET":
                return self.reply(200, c["config"])
            if what == "status" and method == "GET":
                return self.reply(200, status_of(name, c))
            if what == "restart" and method == "POST":
                self.body()
                include = query.get("includeTasks", ["false"])[0] == "true"
                only_failed = query.get("onlyFailed", ["false"])[0] == "true"
                if not include and not only_failed:
                    return self.reply(204)
                st = status_of(name, c)
                if not only_failed or c["state"] == "FAILED":
                    st["connector"]["state"] = "RESTARTING"
                for t, ts in zip(c["tasks"], st["tasks"]):
                    if include and (not only_failed or t["state"] == "FAILED"):
                        ts["state"] = "RESTARTING"
                        ts.pop("trace", None)
                        t["state"] = "RUNNING"
                        t.pop("trace", None)
                return self.reply(202, st)
            return self.error(405, "HTTP method %s is not supported" % method)

    def do_GET(self):
        self.handle_any("GET")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_POST(self):
        self.handle_any("POST")


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(
        target=srv.shutdown).start())
    print("http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
