"""Emulator of the Autotask PSA REST API v1.0 for the sandbox server.

It answers what a client of a real tenant sends: zone discovery, header authentication, the
query grammar with id cursors, item reads, creates and updates with the real status codes and
``{"errors": [...]}`` bodies, entityInformation picklists, and the tenant's limits (a rolling
hourly request threshold with added latency, three concurrent requests per integration code
and endpoint). Where the real behaviour is unknown, the choice made is written in
sandbox/README.md ("Autotask") and next to the code that makes it.

``AutotaskApi`` does what happens around a request (zone, authentication, limits, latency) and
routes the path to ``reads``, ``writes`` and ``entity_info``. State lives in a ``Tenant`` behind
one lock, which is never held while a request sleeps, so slow requests never block others.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from sandbox.api import ApiEmulator
from sandbox.autotask.access import Caller, caller_for
from sandbox.autotask.entities import child_entity, entity_named
from sandbox.autotask.entity_info import entity_information
from sandbox.autotask.limits import RequestThreshold
from sandbox.autotask.reads import read_item, run_query
from sandbox.autotask.responses import errors_response, no_resource, not_allowed, request_base
from sandbox.autotask.seeding import prepare_seed
from sandbox.autotask.tenant import TENANT_CI, Tenant
from sandbox.autotask.writes import write_child, write_entity_root
from sandbox.core import Abort, Request, Response
from sandbox.limits import Gate

_PATH = re.compile(r"^/(?:(?P<zone>[^/]+)/)?atservicesrest(?P<rest>/.*)?$", re.IGNORECASE)


class AutotaskApi(ApiEmulator):
    """Autotask PSA: ``/atservicesrest/...`` and ``/{zone}/atservicesrest/v1.0/...``."""

    name = "autotask"

    def __init__(self, sandbox: Any):
        super().__init__(sandbox)
        self._lock = threading.RLock()
        self._gate = Gate()
        self._threshold = RequestThreshold(self.clock, self._lock)
        self._tenant = Tenant(self._lock)

    # -- ApiEmulator interface -------------------------------------------------------------

    def handles(self, req: Request) -> bool:
        return _PATH.match(req.path) is not None

    def reset(self) -> None:
        with self._lock:
            self._threshold.reset()
            self._tenant.reset()

    def fault_response(self, mode: str) -> Response:
        if mode == "error_500":
            # An unhandled server fault: ASP.NET Web API's default body, not the validation
            # ``errors`` array, so clients can tell a crash (retry) from a refusal (don't).
            return Response.json(500, {"Message": "An error has occurred."})
        if mode == "error_503":
            return Response.text(
                503,
                "<html><head><title>Service Unavailable</title></head>"
                "<body><h2>Service Unavailable</h2><p>HTTP Error 503. The service is unavailable.</p></body></html>",
                "text/html; charset=utf-8",
            )
        if mode == "throttle_429":
            return self._threshold.throttled_response()
        raise ValueError(f"no canned Autotask response for fault mode {mode!r}")

    def airflow_connection(self, base_url: str) -> dict[str, Any]:
        with self._lock:
            creds = dict(self._tenant.credentials)
        return {
            "conn_type": "autotask",
            "host": base_url,
            "login": creds["username"],
            "password": creds["secret"],
            "extra": {"integration_code": creds["integration_code"]},
        }

    def limits(self) -> dict[str, Any]:
        return self._threshold.limits()

    def set_limits(self, doc: dict[str, Any]) -> None:
        self._threshold.set_limits(doc)

    def prepare_seed(self, part: dict[str, Any]) -> Callable[[], None]:
        return prepare_seed(self._tenant, part)

    def dump_state(self) -> dict[str, Any]:
        with self._lock:
            return self._tenant.dump()

    # -- serving ---------------------------------------------------------------------------

    def serve(self, req: Request) -> Response:
        match = _PATH.match(req.path)
        assert match is not None  # handles() said yes
        zone_prefix = match.group("zone")
        segments = [unquote(s) for s in (match.group("rest") or "").split("/") if s]
        lowered = [s.lower() for s in segments]

        if lowered == ["v1.0", "zoneinformation"]:
            return self._zone_information(req)
        if lowered == ["versioninformation"]:
            return Response.json(200, {"apiVersions": ["1.0"]})

        with self._lock:
            zone = self._tenant.zone
            integration_code = self._tenant.credentials["integration_code"]
            limits = self._threshold.current()
        if zone_prefix is None or zone_prefix.lower() != zone.lower():
            # The tenant is not served by this zone URL: the real API answers 401, and clients
            # re-read zoneInformation on a 401 (a zone move).
            return errors_response(
                401,
                "Unauthorized: this database is not served at this zone URL. "
                "Look up the zone again with zoneInformation?user=<API user>.",
            )
        caller = self._authenticate(req, integration_code)

        endpoint = _endpoint_of(lowered)
        gate_key = (integration_code.lower(), endpoint)
        if not self._gate.enter(gate_key, int(limits["concurrent_per_endpoint"])):
            return errors_response(
                429,
                f"Thread threshold exceeded: at most {int(limits['concurrent_per_endpoint'])} concurrent "
                f"requests per integration code and endpoint ({endpoint}) are allowed. Retry when one finishes.",
            )
        try:
            delay_s = self._threshold.count_request(limits)
            # Sandbox seconds (usage latency) scale with the clock; the base latency is network
            # time for benchmarks, in real milliseconds. No lock is held here.
            self.clock.sleep(delay_s)
            if limits["latency_ms"]:
                time.sleep(limits["latency_ms"] / 1000)
            return self._route(req, segments, lowered, caller)
        finally:
            self._gate.leave(gate_key)

    def _zone_information(self, req: Request) -> Response:
        if req.method != "GET":
            return not_allowed(req.method)
        user = (req.arg("user") or "").strip()
        with self._lock:
            known, zone = bool(user) and self._tenant.api_user(user) is not None, self._tenant.zone
        if not known:
            return errors_response(500, "Zone information could not be determined")
        base = request_base(req, self.sandbox.base_url)
        return Response.json(
            200,
            {
                "zoneName": f"Sandbox Zone {zone}",
                "url": f"{base}/{zone}/atservicesrest/",
                "webUrl": f"{base}/{zone}/",
                "ci": TENANT_CI,
            },
        )

    def _authenticate(self, req: Request, integration_code: str) -> Caller:
        """The API user the headers name, as a ``Caller``; or the real API's status codes: bad
        user 500, bad secret 401, bad integration code 500. Messages never echo the secret."""
        username = (req.header("UserName") or "").strip()
        with self._lock:
            user = self._tenant.api_user(username) if username else None
        if user is None:
            raise Abort(
                errors_response(
                    500, "User is not authenticated: the UserName header does not name an API user of this database."
                )
            )
        secret, resource_id = user
        if req.header("Secret") != secret:
            raise Abort(errors_response(401, "Unauthorized: the Secret does not match the API user's password."))
        if (req.header("ApiIntegrationCode") or "").strip().lower() != integration_code.lower():
            raise Abort(errors_response(500, "IntegrationCode is invalid."))
        with self._lock:
            return caller_for(self._tenant, resource_id)

    def _route(self, req: Request, segments: list[str], lowered: list[str], caller: Caller) -> Response:
        if not lowered or lowered[0] != "v1.0":
            return no_resource(req)
        parts, low = segments[1:], lowered[1:]
        if low == ["thresholdinformation"]:
            if req.method != "GET":
                return not_allowed(req.method)
            return self._threshold.information()
        if not parts:
            return no_resource(req)
        spec = entity_named(parts[0])
        if spec is None:
            return no_resource(req)
        rest = low[1:]
        if not rest:
            return write_entity_root(self._tenant, req, spec, caller)
        if rest in (["query"], ["query", "count"], ["query", "next"]):
            mode = "query" if len(rest) == 1 else rest[1]
            return run_query(self._tenant, req, spec, mode, self.sandbox.base_url, caller)
        if rest[0] == "entityinformation":
            return entity_information(self._tenant, req, spec, rest[1:], caller)
        if len(rest) == 1:
            return read_item(self._tenant, req, spec, parts[1], caller)
        if len(rest) in (2, 3):
            child = child_entity(spec.name, parts[2])
            if child is not None:
                return write_child(
                    self._tenant, req, spec, parts[1], child, parts[3] if len(rest) == 3 else None, caller
                )
        return no_resource(req)


def _endpoint_of(lowered: list[str]) -> str:
    """The object endpoint a call touches, for the per-endpoint concurrency limit."""
    if len(lowered) >= 2:
        spec = entity_named(lowered[1])
        if spec is not None and len(lowered) >= 4:
            child = child_entity(spec.name, lowered[3])
            if child is not None:
                return child.name
        return spec.name if spec is not None else lowered[1]
    return lowered[0] if lowered else ""
