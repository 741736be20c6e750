"""The QuickBooks Online emulator's HTTP surface: ``/oauth2/v1/tokens/bearer`` (and revoke and
discovery) and ``/v3/company/{realmId}/...``.

``QboApi`` owns the state (the companies: their books, tokens and limits) behind one lock, and does
what happens around a request: authentication, the concurrency slot and rate windows, the
``requestid`` replay, latency and the one-name-at-a-time gate (slept outside the lock), and the
``{..., "time"}`` envelope. What a path asks for is ``sandbox.qbo.routes``'.

It serves several companies at once (``sandbox.qbo.realms``): the default one, and the extra ones a
seed's ``qbo.companies`` adds. Each has its own books, authorization, limits, rate windows,
concurrency and name-list gates and ``requestid`` answers; an access token works on its own
company's paths only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.api import ApiEmulator
from sandbox.core import Request, Response, SeedError
from sandbox.limits import Gate
from sandbox.qbo.books import Company
from sandbox.qbo.defaults import DEFAULT_REALM_ID
from sandbox.qbo.faults import Fault, invalid_property, one_name_at_a_time, unsupported, wrong_shape
from sandbox.qbo.idempotency import Idempotency
from sandbox.qbo.limits import DEFAULT_LIMITS, check_limits
from sandbox.qbo.oauth import (
    DISCOVERY_PREFIX,
    REVOKE_PATH,
    TOKEN_PATH,
    serve_discovery,
    serve_revoke,
    serve_token,
    unauthorized_response,
    wrong_realm_response,
)
from sandbox.qbo.realms import Realm, check_companies, company_error, company_seed_part
from sandbox.qbo.responses import fault_response, injected_fault_response, ok_response, throttled_response
from sandbox.qbo.routes import is_name_write, json_body, route
from sandbox.qbo.seeding import check_seed_part, fresh_company, seed_books


class QboApi(ApiEmulator):
    """QuickBooks Online: ``/oauth2/v1/tokens/bearer`` and ``/v3/company/{realmId}/...``.

    ``company_profiles`` maps a QBO company profile's name to a function that returns its document
    (a seed document with a ``qbo`` part): what a ``companies`` entry's ``profile`` starts from.
    """

    name = "qbo"

    def __init__(self, sandbox: Any, company_profiles: Mapping[str, Callable[[], dict[str, Any]]] | None = None):
        super().__init__(sandbox)
        self._lock = threading.RLock()  # guards the books and the tokens; never held while sleeping
        self._gate = Gate()  # concurrent requests per realm
        self._name_gate = Gate()  # one name-list write at a time per realm
        self._idempotency = Idempotency()
        self._profiles = dict(company_profiles or {})
        self.reset()

    # -- ApiEmulator -------------------------------------------------------------------------------

    def handles(self, req: Request) -> bool:
        path = req.path.lower()
        return path.startswith(("/v3/company/", DISCOVERY_PREFIX)) or path.rstrip("/") in (TOKEN_PATH, REVOKE_PATH)

    def requestid(self, req: Request) -> str | None:
        return req.arg("requestid")

    def reset(self) -> None:
        with self._lock:
            self._base_limits = dict(DEFAULT_LIMITS)  # what a new company starts with
            self._default = Realm(self.clock, self._lock, fresh_company(DEFAULT_REALM_ID), self._base_limits)
            self._extras: dict[str, Realm] = {}  # realm id -> an extra company, in seed order
            self._idempotency.clear()

    @property
    def realm_id(self) -> str:
        """The default company's realm id."""
        return self._default.realm_id

    def realm_ids(self) -> list[str]:
        """Every company's realm id, the default company's first."""
        with self._lock:
            return [r.realm_id for r in self._realms()]

    def _realms(self) -> list[Realm]:
        """The default company, then the extra ones (the caller holds the lock)."""
        return [self._default, *self._extras.values()]

    def _realm(self, realm_id: str) -> Realm | None:
        """The company of ``realm_id``, or None (the caller holds the lock)."""
        if realm_id == self._default.realm_id:
            return self._default
        return self._extras.get(realm_id)

    def _known_realm(self, realm_id: str | None) -> Realm:
        """The company of ``realm_id`` (None: the default one); ValueError for an unknown realm."""
        realm = self._default if realm_id is None else self._realm(str(realm_id))
        if realm is None:
            raise ValueError(f"no QBO company with realm id {realm_id!r}; the realms are {self.realm_ids()}")
        return realm

    def limits(self) -> dict[str, Any]:
        """The default company's limits; with extra companies, ``realms``: every company's."""
        with self._lock:
            out: dict[str, Any] = dict(self._default.limits)
            if self._extras:
                out["realms"] = {r.realm_id: dict(r.limits) for r in self._realms()}
            return out

    def set_limits(self, doc: dict[str, Any]) -> None:
        """Limits for every company (top-level keys; companies seeded later start with them too)
        and for one (``{"realms": {realm_id: {...}}}``, applied after)."""
        doc = dict(doc)
        per_realm = doc.pop("realms", None) or {}
        if not isinstance(per_realm, dict):
            raise ValueError("qbo limits: 'realms' must map realm ids to limits")
        check_limits(doc)
        for realm_limits in per_realm.values():
            if not isinstance(realm_limits, dict):
                raise ValueError("qbo limits: 'realms' must map realm ids to limits")
            check_limits(realm_limits)
        with self._lock:
            targets = [(self._known_realm(realm_id), realm_limits) for realm_id, realm_limits in per_realm.items()]
            self._base_limits.update(doc)
            for realm in self._realms():
                realm.limits.update(doc)
            for realm, realm_limits in targets:
                realm.limits.update(realm_limits)

    def airflow_connection(self, base_url: str) -> dict[str, Any]:
        """The default company's connection (``qbo_default``)."""
        with self._lock:
            return self._default.airflow_connection(base_url, TOKEN_PATH)

    def company_connections(self, base_url: str) -> dict[str, dict[str, Any]]:
        """Each extra company's connection, by its ``conn_id``."""
        with self._lock:
            return {r.conn_id: r.airflow_connection(base_url, TOKEN_PATH) for r in self._extras.values()}

    def revoke_realm(self, realm_id: str | None = None) -> None:
        """The user disconnected the app from one company: every token of that company dies (a
        refresh gets ``invalid_grant``, an API call 401); other companies keep theirs."""
        with self._lock:
            self._known_realm(realm_id).oauth.revoke_all()

    def expire_refresh_token(self, realm_id: str | None = None) -> None:
        """One company's refresh token reaches its end (as after 100 days unused): a refresh gets
        ``invalid_grant``; its access tokens already issued live until they expire."""
        with self._lock:
            self._known_realm(realm_id).oauth.expire_refresh_token()

    def dump_state(self) -> dict[str, Any]:
        with self._lock:
            state = self._default.dump()
            state["companies"] = [r.dump() for r in self._extras.values()]
            return state

    def fault_response(self, mode: str) -> Response:
        return injected_fault_response(mode)

    def prepare_seed(self, part: dict[str, Any]) -> Callable[[], None]:
        oauth = check_seed_part(part, frozenset({"companies"}))
        with self._lock:
            books = self._default.company.clone()
            existing = dict(self._extras)
            taken = {realm: r.company.clone() for realm, r in existing.items()}
        default_realm = str(part["realm_id"]) if part.get("realm_id") is not None else books.realm_id
        if default_realm in existing:
            raise SeedError(
                f"qbo seed: realm_id {default_realm} is an extra company's (conn_id {existing[default_realm].conn_id})"
            )
        companies = check_companies(part.get("companies") or [], default_realm, existing, tuple(self._profiles))
        seed_books(books, part)
        planned = [self._prepare_company(company, existing, taken) for company in companies]

        def commit() -> None:
            with self._lock:
                self._default.company = books
                self._default.oauth.apply_seed(oauth)
                for realm_id, conn_id, client, company_books, company_oauth in planned:
                    realm = self._extras.get(realm_id)
                    if realm is None:
                        realm = Realm(
                            self.clock,
                            self._lock,
                            company_books,
                            self._base_limits,
                            conn_id,
                            client,
                            shared_with=self._default.oauth,
                        )
                        self._extras[realm_id] = realm
                    else:
                        realm.company = company_books
                        realm.conn_id = conn_id
                    realm.oauth.apply_seed(company_oauth)

        return commit

    def _prepare_company(
        self, company: dict[str, Any], existing: dict[str, Realm], taken: dict[str, Company]
    ) -> tuple[str, str, str, Company, dict[str, Any]]:
        """One checked ``companies`` entry seeded on a copy of its books (a new company's: fresh, or
        its profile's); what the commit needs: realm id, conn_id, client, books, oauth."""
        realm_id = str(company["realm_id"])
        known = existing.get(realm_id)
        conn_id = company.get("conn_id") or known.conn_id  # check_companies: one of them is there
        client = company.get("client") or (known.client if known is not None else "own")
        part = company_seed_part(company)
        try:
            oauth = check_seed_part(part)
            if known is not None:
                books = taken[realm_id]
            else:
                books = fresh_company(realm_id)
                if company.get("profile"):
                    profile = self._profiles[company["profile"]]().get("qbo") or {}
                    check_seed_part(profile)
                    seed_books(books, {k: v for k, v in profile.items() if k not in ("realm_id", "oauth")})
            seed_books(books, part)
        except SeedError as error:
            raise company_error(realm_id, conn_id, error) from None
        return realm_id, conn_id, client, books, oauth

    # -- serving -----------------------------------------------------------------------------------

    def serve(self, req: Request) -> Response:
        path = req.path.rstrip("/").lower()
        if path in (TOKEN_PATH, REVOKE_PATH):
            with self._lock:
                oauths = [r.oauth for r in self._realms()]
            if path == TOKEN_PATH:
                return serve_token(req, oauths, self._lock)
            return serve_revoke(req, oauths, self._lock)
        if path.startswith(DISCOVERY_PREFIX):
            return serve_discovery(req)
        return self._serve_api(req)

    def _serve_api(self, req: Request) -> Response:
        parts = req.path.rstrip("/").split("/")  # ['', 'v3', 'company', realm, resource, ...]
        if len(parts) < 5:
            return fault_response(unsupported(f"Operation {req.method} {req.path} is not supported."))
        realm_id, rest = parts[3], parts[4:]
        denied, realm = self._authenticate(req, realm_id)
        if realm is None:
            return denied
        is_batch = rest[0].lower() == "batch"
        with self._lock:
            concurrent = int(realm.limits["concurrent"])
        if not self._gate.enter(realm_id, concurrent):
            return throttled_response()
        try:
            if not self._admit(realm, is_batch):  # counted only once it has a slot: refusals never count
                return throttled_response()
            requestid = req.arg("requestid") if req.method == "POST" else None
            if not requestid:
                return self._execute(req, rest, realm)[0]
            key = (realm_id, requestid)
            stored = self._idempotency.begin(key)
            if stored is not None:
                return stored
            response, replayable = None, False
            try:
                response, replayable = self._execute(req, rest, realm)
                return response
            finally:
                self._idempotency.finish(key, response if replayable else None)
        finally:
            self._gate.leave(realm_id)

    def _authenticate(self, req: Request, realm_id: str) -> tuple[Response, None] | tuple[None, Realm]:
        """The company a request with a live token of that company is for; else the 401 (no live
        token) or 403 (a live token of another company) it gets."""
        with self._lock:
            target = self._realm(realm_id)
            owner, expires, now = None, None, self.clock.seconds()
            for realm in [target] if target is not None else []:
                expires, now = realm.oauth.access_token_expiry(req)
                owner = realm if expires is not None else None
            if owner is None:
                for realm in self._realms():
                    expires, now = realm.oauth.access_token_expiry(req)
                    if expires is not None:
                        owner = realm
                        break
        if expires is None or expires <= now:
            return unauthorized_response(expires), None
        if owner is not target or target is None:
            return wrong_realm_response(realm_id), None
        return None, target

    def _admit(self, realm: Realm, is_batch: bool) -> bool:
        with self._lock:
            per_minute = realm.limits["requests_per_minute"]
            batch_per_minute = realm.limits["batch_per_minute"]
        return realm.rates.admit(is_batch, per_minute, batch_per_minute)

    def _execute(self, req: Request, rest: list[str], realm: Realm) -> tuple[Response, bool]:
        """Run one admitted request; return the response and whether a requestid retry may replay it."""
        try:
            minor = req.arg("minorversion")
            if minor is not None and not (minor.isdigit() and int(minor) >= 1):
                raise invalid_property(f"minorversion={minor} specified is unsupported or invalid", "minorversion")
            body = json_body(req, rest)
            name_write = is_name_write(req, rest, body)
            with self._lock:
                latency_ms = float(realm.limits["latency_ms"])
                name_ms = float(realm.limits["name_write_ms"]) if name_write else 0.0
                realm_id = realm.realm_id
            holds_names = name_write and self._name_gate.enter(realm_id, 1)
            # A batch still runs when another name write is in flight: only its name items fault.
            names_blocked = name_write and not holds_names
            if names_blocked and rest[0].lower() != "batch":
                raise one_name_at_a_time()
            try:
                # Latency and the name hold are slept here: in the concurrency slot, outside the lock.
                pause_ms = latency_ms + (name_ms if holds_names else 0.0)
                if pause_ms > 0:
                    time.sleep(pause_ms / 1000)
                payload = self._route(req, rest, body, names_blocked, realm)
            finally:
                if holds_names:
                    self._name_gate.leave(realm_id)
        except Fault as fault:
            return fault_response(fault), fault.replayable
        if isinstance(payload, Response):
            return payload, True
        return ok_response(payload), not names_blocked

    def _route(
        self, req: Request, rest: list[str], body: Any, names_blocked: bool, realm: Realm
    ) -> dict[str, Any] | Response:
        """Answer the request under the lock; a body of the wrong JSON shape is the 2010 it is on QBO."""
        with self._lock:
            try:
                return route(
                    realm.company,
                    req,
                    rest,
                    body,
                    names_blocked=names_blocked,
                    max_batch_items=int(realm.limits["max_batch_items"]),
                    mailbox=getattr(self.sandbox, "mail", None),
                )
            except (TypeError, AttributeError) as exc:
                raise wrong_shape(exc) from None
