"""The QuickBooks Online emulator's HTTP surface: ``/oauth2/v1/tokens/bearer`` (and revoke and
discovery) and ``/v3/company/{realmId}/...``.

``QboApi`` owns the state (the books, the tokens, the limits) behind one lock, and does what
happens around a request: authentication, the concurrency slot and rate windows, the
``requestid`` replay, latency and the one-name-at-a-time gate (slept outside the lock), and the
``{..., "time"}`` envelope. What a path asks for is ``sandbox.qbo.routes``'.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sandbox.api import ApiEmulator
from sandbox.core import Request, Response
from sandbox.limits import Gate
from sandbox.qbo.defaults import DEFAULT_REALM_ID
from sandbox.qbo.faults import Fault, invalid_property, one_name_at_a_time, unsupported, wrong_shape
from sandbox.qbo.idempotency import Idempotency
from sandbox.qbo.limits import DEFAULT_LIMITS, RequestRates, check_limits
from sandbox.qbo.oauth import (
    DISCOVERY_PREFIX,
    REVOKE_PATH,
    TOKEN_PATH,
    OAuth,
    serve_discovery,
    unauthorized_response,
    wrong_realm_response,
)
from sandbox.qbo.responses import fault_response, injected_fault_response, ok_response, throttled_response
from sandbox.qbo.routes import is_name_write, json_body, route
from sandbox.qbo.seeding import check_seed_part, fresh_company, seed_books


class QboApi(ApiEmulator):
    """QuickBooks Online: ``/oauth2/v1/tokens/bearer`` and ``/v3/company/{realmId}/...``."""

    name = "qbo"

    def __init__(self, sandbox: Any):
        super().__init__(sandbox)
        self._lock = threading.RLock()  # guards the books and the tokens; never held while sleeping
        self._gate = Gate()  # concurrent requests per realm
        self._name_gate = Gate()  # one name-list write at a time per realm
        self._idempotency = Idempotency()
        self.reset()

    # -- ApiEmulator -------------------------------------------------------------------------------

    def handles(self, req: Request) -> bool:
        path = req.path.lower()
        return path.startswith(("/v3/company/", DISCOVERY_PREFIX)) or path.rstrip("/") in (TOKEN_PATH, REVOKE_PATH)

    def requestid(self, req: Request) -> str | None:
        return req.arg("requestid")

    def reset(self) -> None:
        with self._lock:
            self._limits = dict(DEFAULT_LIMITS)
            self._oauth = OAuth(self.clock, self._lock, self._limit)
            self._company = fresh_company(DEFAULT_REALM_ID)
            self._rates = RequestRates(self.clock)
            self._idempotency.clear()

    @property
    def realm_id(self) -> str:
        return self._company.realm_id

    def limits(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._limits)

    def set_limits(self, doc: dict[str, Any]) -> None:
        check_limits(doc)
        with self._lock:
            self._limits.update(doc)

    def _limit(self, key: str) -> float:
        """A limit as it stands now (the OAuth server reads token lifetimes through this)."""
        return self._limits[key]

    def airflow_connection(self, base_url: str) -> dict[str, Any]:
        with self._lock:
            self._oauth.live_refresh_token()
            return {
                "conn_type": "quickbooks_online",
                "host": base_url,
                "login": self._oauth.client_id,
                "password": self._oauth.client_secret,
                "extra": {
                    "realm_id": self.realm_id,
                    "refresh_token": self._oauth.refresh_token,
                    "token_url": base_url + TOKEN_PATH,
                },
            }

    def dump_state(self) -> dict[str, Any]:
        with self._lock:
            state = self._company.dump()
            state["oauth"] = self._oauth.state()
            return state

    def fault_response(self, mode: str) -> Response:
        return injected_fault_response(mode)

    def prepare_seed(self, part: dict[str, Any]) -> Callable[[], None]:
        oauth = check_seed_part(part)
        with self._lock:
            books = self._company.clone()
        seed_books(books, part)

        def commit() -> None:
            with self._lock:
                self._company = books
                self._oauth.apply_seed(oauth)

        return commit

    # -- serving -----------------------------------------------------------------------------------

    def serve(self, req: Request) -> Response:
        path = req.path.rstrip("/").lower()
        if path == TOKEN_PATH:
            return self._oauth.serve_token(req)
        if path == REVOKE_PATH:
            return self._oauth.serve_revoke(req)
        if path.startswith(DISCOVERY_PREFIX):
            return serve_discovery(req)
        return self._serve_api(req)

    def _serve_api(self, req: Request) -> Response:
        parts = req.path.rstrip("/").split("/")  # ['', 'v3', 'company', realm, resource, ...]
        if len(parts) < 5:
            return fault_response(unsupported(f"Operation {req.method} {req.path} is not supported."))
        realm, rest = parts[3], parts[4:]
        denied = self._authenticate(req, realm)
        if denied is not None:
            return denied
        is_batch = rest[0].lower() == "batch"
        with self._lock:
            concurrent = int(self._limits["concurrent"])
        if not self._gate.enter(realm, concurrent):
            return throttled_response()
        try:
            if not self._admit(is_batch):  # counted only once it has a slot: refusals never count
                return throttled_response()
            requestid = req.arg("requestid") if req.method == "POST" else None
            if not requestid:
                return self._execute(req, rest)[0]
            key = (realm, requestid)
            stored = self._idempotency.begin(key)
            if stored is not None:
                return stored
            response, replayable = None, False
            try:
                response, replayable = self._execute(req, rest)
                return response
            finally:
                self._idempotency.finish(key, response if replayable else None)
        finally:
            self._gate.leave(realm)

    def _authenticate(self, req: Request, realm: str) -> Response | None:
        """The 401 or 403 a request without a live token for this company gets; None when it has one."""
        with self._lock:
            expires, now = self._oauth.access_token_expiry(req)
            realm_ok = realm == self.realm_id
        if expires is None or expires <= now:
            return unauthorized_response(expires)
        if not realm_ok:
            return wrong_realm_response(realm)
        return None

    def _admit(self, is_batch: bool) -> bool:
        with self._lock:
            per_minute = self._limits["requests_per_minute"]
            batch_per_minute = self._limits["batch_per_minute"]
        return self._rates.admit(is_batch, per_minute, batch_per_minute)

    def _execute(self, req: Request, rest: list[str]) -> tuple[Response, bool]:
        """Run one admitted request; return the response and whether a requestid retry may replay it."""
        try:
            minor = req.arg("minorversion")
            if minor is not None and not (minor.isdigit() and int(minor) >= 1):
                raise invalid_property(f"minorversion={minor} specified is unsupported or invalid", "minorversion")
            body = json_body(req, rest)
            name_write = is_name_write(req, rest, body)
            with self._lock:
                latency_ms = float(self._limits["latency_ms"])
                name_ms = float(self._limits["name_write_ms"]) if name_write else 0.0
            holds_names = name_write and self._name_gate.enter(self.realm_id, 1)
            # A batch still runs when another name write is in flight: only its name items fault.
            names_blocked = name_write and not holds_names
            if names_blocked and rest[0].lower() != "batch":
                raise one_name_at_a_time()
            try:
                # Latency and the name hold are slept here: in the concurrency slot, outside the lock.
                pause_ms = latency_ms + (name_ms if holds_names else 0.0)
                if pause_ms > 0:
                    time.sleep(pause_ms / 1000)
                payload = self._route(req, rest, body, names_blocked)
            finally:
                if holds_names:
                    self._name_gate.leave(self.realm_id)
        except Fault as fault:
            return fault_response(fault), fault.replayable
        if isinstance(payload, Response):
            return payload, True
        return ok_response(payload), not names_blocked

    def _route(self, req: Request, rest: list[str], body: Any, names_blocked: bool) -> dict[str, Any] | Response:
        """Answer the request under the lock; a body of the wrong JSON shape is the 2010 it is on QBO."""
        with self._lock:
            try:
                return route(
                    self._company,
                    req,
                    rest,
                    body,
                    names_blocked=names_blocked,
                    max_batch_items=int(self._limits["max_batch_items"]),
                    mailbox=getattr(self.sandbox, "mail", None),
                )
            except (TypeError, AttributeError) as exc:
                raise wrong_shape(exc) from None
