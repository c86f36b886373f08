#!/usr/bin/env python3
"""A small Confluent-compatible schema registry for tests (stdlib only).

Serves GET {prefix}/schemas/ids/{id} from a directory of schema files
({id}.avsc or {id}.json holding the Avro schema JSON), answering
{"schema": "<text>"} like Confluent's registry, and 404 with
{"error_code": 40403, ...} for ids it does not have.  Anything outside the
prefix is a bare 404 (no registry error body), like a web server that is not
a registry.

Faults, from the command line or at run time:
  --auth USER:PASS     require HTTP basic auth (401 + error_code 40101)
  --fail N             answer the next N schema requests with --fail-status
  --fail-status CODE   status for injected failures (default 503)
  --delay-ms MS        sleep before answering schema requests
  --not-found ID,...   answer 40403 for these ids even if the file exists
  POST /_control {"fail": N, "fail_status": S, "delay_ms": MS,
                  "not_found": [ids], "reset_stats": true}
  GET /_stats    {"requests": total, "schema_requests": n, "by_id": {id: n},
                  "failed": n}
/_stats and /_control are outside the prefix and need no auth.

Prints the port it listens on (one line) once ready; --port-file writes it
to a file as well.  Stops on SIGTERM/SIGINT.
"""
import argparse
import base64
import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.dir = args.dir
        self.prefix = "/" + args.prefix.strip("/") if args.prefix.strip("/") else ""
        self.auth = args.auth
        self.fail = args.fail
        self.fail_status = args.fail_status
        self.delay_ms = args.delay_ms
        self.not_found = set(int(x) for x in args.not_found.split(",") if x)
        self.reset()

    def reset(self):
        self.requests = 0
        self.schema_requests = 0
        self.failed = 0
        self.by_id = {}


STATE = None
ID_RE = re.compile(r"^/schemas/ids/(-?\d+)/?$")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sluice-test-registry/1"

    def log_message(self, fmt, *args):  # quiet unless asked
        if os.environ.get("REGISTRY_SERVER_LOG"):
            sys.stderr.write("registry: " + fmt % args + "\n")

    def _send(self, status, body, ctype="application/vnd.schemaregistry.v1+json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self):
        if not STATE.auth:
            return True
        want = "Basic " + base64.b64encode(STATE.auth.encode()).decode()
        return self.headers.get("Authorization") == want

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        with STATE.lock:
            STATE.requests += 1
        if path == "/_stats":
            with STATE.lock:
                body = {"requests": STATE.requests,
                        "schema_requests": STATE.schema_requests,
                        "failed": STATE.failed,
                        "by_id": {str(k): v for k, v in STATE.by_id.items()}}
            return self._send(200, body, "application/json")
        if not path.startswith(STATE.prefix + "/"):
            return self._send(404, b"<html>Not Found</html>", "text/html")
        m = ID_RE.match(path[len(STATE.prefix):])
        if not m:
            return self._send(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
        sid = int(m.group(1))
        with STATE.lock:
            STATE.schema_requests += 1
            STATE.by_id[sid] = STATE.by_id.get(sid, 0) + 1
            delay = STATE.delay_ms
            failing = STATE.fail > 0
            if failing:
                STATE.fail -= 1
                STATE.failed += 1
            status = STATE.fail_status
            not_found = sid in STATE.not_found
        if delay:
            time.sleep(delay / 1000.0)
        if not self._authorised():
            return self._send(401, {"error_code": 40101,
                                    "message": "Unauthorized"})
        if failing:
            return self._send(status, {"error_code": status * 100 + 1,
                                       "message": "injected failure"})
        text = None
        if not not_found:
            for ext in (".avsc", ".json"):
                p = os.path.join(STATE.dir, "%d%s" % (sid, ext))
                if os.path.exists(p):
                    with open(p, encoding="utf-8") as f:
                        text = f.read()
                    break
        if text is None:
            return self._send(404, {"error_code": 40403,
                                    "message": "Schema %d not found" % sid})
        return self._send(200, {"schema": text})

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        if path != "/_control":
            return self._send(405, {"error_code": 405, "message": "read-only"})
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            return self._send(400, {"error_code": 400, "message": "bad JSON"})
        with STATE.lock:
            if "fail" in req:
                STATE.fail = int(req["fail"])
            if "fail_status" in req:
                STATE.fail_status = int(req["fail_status"])
            if "delay_ms" in req:
                STATE.delay_ms = int(req["delay_ms"])
            if "not_found" in req:
                STATE.not_found = set(int(x) for x in req["not_found"])
            if req.get("reset_stats"):
                STATE.reset()
        return self._send(200, {"ok": True}, "application/json")


def main():
    global STATE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--prefix", default="")
    ap.add_argument("--auth")
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--fail-status", type=int, default=503)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--not-found", default="")
    args = ap.parse_args()
    STATE = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    srv.serve_forever(poll_interval=0.1)
    srv.server_close()


if __name__ == "__main__":
    main()
