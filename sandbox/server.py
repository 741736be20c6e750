"""The sandbox HTTP server: routes each request to the Autotask or QBO emulator or to the
control endpoints, applies fault rules, and logs every request.

One ``Sandbox`` object owns the state of both systems, the SMTP part and the control surface.
It can run in a thread of a test process (``Sandbox(...).start()``) or as ``python -m sandbox``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import socket
import threading
import time
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.autotask import AutotaskApi
from sandbox.core import Abort, Clock, Request, Response, SeedError, iso_utc
from sandbox.fault_rules import FaultBook
from sandbox.mail import MailServer
from sandbox.qbo import QboApi
from sandbox.request_log import RequestLog
from sandbox.seeds import load_seed
from sandbox.seeds.profiles import PROFILE_NAMES, qbo_profile

log = logging.getLogger("sandbox")

# How long a ``timeout`` fault holds a connection when the rule gives no latency_ms: past QBO's
# own 120 s request timeout, so any sane client gives up first.
DEFAULT_TIMEOUT_HOLD_S = 130.0
# How long a ``commit_later`` fault holds a request before applying it when the rule gives no
# latency_ms: long enough for a client with a short timeout (or a killed one) to have gone.
DEFAULT_COMMIT_LATER_HOLD_S = 5.0


class Sandbox:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8700,
        time_scale: float = 1.0,
        smtp_port: int | None = None,
    ):
        self.host = host
        self.port = port
        self.clock = Clock(time_scale)
        self.faults = FaultBook()
        self.requests = RequestLog()
        self.autotask = AutotaskApi(self)
        self.qbo = QboApi(self, {name: partial(qbo_profile, name) for name in PROFILE_NAMES})
        self.apis = [self.autotask, self.qbo]
        self.mail = MailServer(host, smtp_port) if smtp_port is not None else None
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Sandbox:
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self._httpd = _Server((self.host, self.port), handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="sandbox-http", daemon=True)
        self._thread.start()
        if self.mail:
            self.mail.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self.mail:
            self.mail.stop()

    # -- state -----------------------------------------------------------------------------

    def reset(self) -> None:
        self.faults.clear()
        self.faults.drop_holds()
        self.requests.clear()
        for api in self.apis:
            api.reset()
        if self.mail:
            self.mail.clear()

    def seed(self, doc: dict[str, Any]) -> None:
        """Merge a seed document into the current state, all or nothing."""
        if not isinstance(doc, dict):
            raise SeedError("a seed document is a JSON object with 'autotask' and/or 'qbo'")
        unknown = set(doc) - {"autotask", "qbo"}
        if unknown:
            raise SeedError(f"unknown top-level keys in seed: {sorted(unknown)}")
        commits = []
        for api in self.apis:
            if doc.get(api.name) is not None:
                commits.append(api.prepare_seed(doc[api.name]))
        for commit in commits:
            commit()

    def state(self) -> dict[str, Any]:
        return {api.name: api.dump_state() for api in self.apis}

    def limits(self) -> dict[str, Any]:
        return {api.name: api.limits() for api in self.apis}

    def set_limits(self, doc: dict[str, Any]) -> dict[str, Any]:
        unknown = set(doc) - {api.name for api in self.apis}
        if unknown:
            raise ValueError(f"unknown api in limits: {sorted(unknown)}")
        for api in self.apis:
            if api.name in doc:
                api.set_limits(doc[api.name])
        return self.limits()

    def connections(self) -> dict[str, dict[str, Any]]:
        """Airflow connections (as JSON documents) that point atqbo at this sandbox."""
        conns = {
            "autotask_default": self.autotask.airflow_connection(self.base_url),
            "qbo_default": self.qbo.airflow_connection(self.base_url),
            **self.qbo.company_connections(self.base_url),
        }
        if self.mail:
            conns["smtp_default"] = self.mail.airflow_connection()
        return conns

    # -- dispatch --------------------------------------------------------------------------

    def dispatch(self, req: Request) -> tuple[Response | None, dict[str, Any]]:
        """Answer one request. A ``None`` response means: close the connection, say nothing."""
        if req.path.startswith("/_sandbox"):
            if not ipaddress.ip_address(req.client).is_loopback:
                return Response.json(403, {"error": "control endpoints answer loopback only"}), {"api": "sandbox"}
            return self._control(req), {"api": "sandbox", "requestid": None}
        api = next((a for a in self.apis if a.handles(req)), None)
        if api is None:
            return Response.json(404, {"Message": f"No HTTP resource was found that matches {req.path}"}), {
                "api": "unknown",
                "requestid": None,
            }
        meta: dict[str, Any] = {"api": api.name, "requestid": api.requestid(req)}
        rule = self.faults.pick(api.name, req)
        if rule is not None:
            meta["fault"] = rule.mode
            if rule.mode == "drop_connection":
                return None, meta
            if rule.mode == "timeout":
                hold = rule.latency_ms / 1000 if rule.latency_ms is not None else DEFAULT_TIMEOUT_HOLD_S
                time.sleep(hold)
                return None, meta
            if rule.mode in ("error_500", "error_503", "throttle_429"):
                return api.fault_response(rule.mode), meta
            if rule.mode == "latency":
                time.sleep((rule.latency_ms or 0) / 1000)
            if rule.mode == "commit_later":
                # Still being processed by QBO after the client gave up (or was killed): applied
                # when the hold ends, as if it arrived then, and its answer goes nowhere.
                # A test may end the hold early (``POST /_sandbox/faults/release``); a reset meanwhile
                # drops the request (it belonged to the books the reset threw away).
                hold = rule.latency_ms / 1000 if rule.latency_ms is not None else DEFAULT_COMMIT_LATER_HOLD_S
                if not self.faults.hold(hold):
                    return None, {**meta, "dropped": True}  # not logged either: the log was reset too
        try:
            response = api.serve(req)
        except Abort as abort:
            response = abort.response
        if rule is not None and rule.mode == "commit_then_error":
            return Response.text(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"), meta
        if rule is not None and rule.mode == "commit_then_drop":
            return None, meta  # done, and the answer lost: the client sees a closed connection
        if rule is not None and rule.mode == "commit_later":
            return None, meta  # logged (with its end time) once applied: a test waits for the entry
        return response, meta

    def _control(self, req: Request) -> Response:
        route = req.path.rstrip("/").lower()
        try:
            if route == "/_sandbox/health" and req.method == "GET":
                return Response.json(200, {"status": "ok", "base_url": self.base_url})
            if route == "/_sandbox/reset" and req.method == "POST":
                self.reset()
                return Response.json(200, {"status": "reset"})
            if route == "/_sandbox/seed" and req.method == "POST":
                name = req.arg("name")
                doc = load_seed(name) if name else req.json()
                self.seed(doc)
                return Response.json(200, {"status": "seeded"})
            if route == "/_sandbox/state" and req.method == "GET":
                return Response.json(200, self.state())
            if route == "/_sandbox/requests":
                if req.method == "GET":
                    return Response.json(200, self.requests.list(req.arg("api")))
                if req.method == "DELETE":
                    self.requests.clear()
                    return Response.json(200, {"status": "cleared"})
            if route == "/_sandbox/limits":
                if req.method == "GET":
                    return Response.json(200, self.limits())
                if req.method == "POST":
                    return Response.json(200, self.set_limits(req.json() or {}))
            if route == "/_sandbox/faults/release" and req.method == "POST":
                return Response.json(200, {"status": "released", "releases": self.faults.release_holds()})
            if route == "/_sandbox/faults":
                if req.method == "GET":
                    return Response.json(200, self.faults.list())
                if req.method == "POST":
                    return Response.json(200, self.faults.add(req.json()))
                if req.method == "DELETE":
                    self.faults.clear()
                    return Response.json(200, {"status": "cleared"})
            if route == "/_sandbox/mail":
                if self.mail is None:
                    return Response.json(404, {"error": "the SMTP part is off (start with --smtp-port)"})
                if req.method == "GET":
                    return Response.json(200, self.mail.messages())
                if req.method == "DELETE":
                    self.mail.clear()
                    return Response.json(200, {"status": "cleared"})
            if route in ("/_sandbox/qbo/revoke", "/_sandbox/qbo/expire_refresh_token") and req.method == "POST":
                body = req.json() or {}
                if not isinstance(body, dict):
                    raise ValueError('the body is {"realm_id": "..."} (or empty: the default company)')
                realm_id = body.get("realm_id")
                if route.endswith("/revoke"):
                    self.qbo.revoke_realm(realm_id)
                else:
                    self.qbo.expire_refresh_token(realm_id)
                return Response.json(
                    200, {"status": route.rpartition("/")[2], "realm_id": realm_id or self.qbo.realm_id}
                )
            if route == "/_sandbox/connections" and req.method == "GET":
                return Response.json(200, self.connections())
        except (SeedError, ValueError, json.JSONDecodeError) as exc:
            return Response.json(400, {"error": str(exc)})
        return Response.json(404, {"error": f"no control endpoint {req.method} {req.path}"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    sandbox: Sandbox
    protocol_version = "HTTP/1.1"
    server_version = "atqbo-sandbox/1.0"
    # An answer is written as its headers, then its body: with Nagle's algorithm on, the body waits
    # for the client's delayed ACK of the headers (40 ms on Linux), a delay on every call that no
    # real service adds and that would dwarf the latencies the benchmarks set.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s - %s", self.address_string(), format % args)

    def _serve(self) -> None:
        started = Clock.utcnow()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request.build(self.command, self.path, dict(self.headers.items()), body, self.client_address[0])
        try:
            response, meta = self.sandbox.dispatch(req)
        except Exception as exc:  # a sandbox bug must still answer, and say what broke
            log.exception("sandbox error on %s %s", req.method, req.path)
            response, meta = Response.json(500, {"errors": [f"sandbox internal error: {exc!r}"]}), {"api": "?"}
        status = response.status if response is not None else None
        if meta.get("api") != "sandbox" and not meta.get("dropped"):
            self.sandbox.requests.add(
                {
                    "api": meta.get("api"),
                    "method": req.method,
                    "path": req.path,
                    "query": self.path.partition("?")[2],
                    "status": status,
                    "start": iso_utc(started),
                    "end": iso_utc(),
                    "requestid": meta.get("requestid"),
                    "fault": meta.get("fault"),
                }
            )
        if response is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve
