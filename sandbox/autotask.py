"""Emulator of the Autotask PSA REST API v1.0 for the sandbox server.

It answers what a client of a real tenant sends: zone discovery, header authentication, the
query grammar with id cursors, item reads, creates and updates with the real status codes and
``{"errors": [...]}`` bodies, entityInformation picklists, and the tenant's limits (a rolling
hourly request threshold with added latency, three concurrent requests per integration code
and endpoint). Where the real behaviour is unknown, the choice made is written in
sandbox/README.md ("Autotask") and next to the code that makes it.

State lives in plain dicts behind ``self._lock``; the lock is never held while a request
sleeps (latency), so slow requests never block others.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from bisect import bisect_left
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, unquote

from sandbox.api import ApiEmulator
from sandbox.autotask_filter import (
    KIND_BOOLEAN,
    KIND_DOUBLE,
    KIND_INTEGER,
    FilterError,
    Query,
    coerce_scalar,
    parse_datetime,
    parse_query,
)
from sandbox.autotask_schema import (
    DATA_TYPE_KINDS,
    DEFAULT_ACTIVE,
    ENTITIES,
    PAYMENT_TERM_PICKLIST,
    PICKLISTS,
    EntitySpec,
    FieldSpec,
    child_entity,
    entity_named,
)
from sandbox.core import Abort, Request, Response, SeedError
from sandbox.limits import Gate, RollingWindow

DEFAULT_USERNAME = "atqbo-api@sandbox.local"
DEFAULT_SECRET = "sandbox-secret"
DEFAULT_INTEGRATION_CODE = "ATQBOSANDBOX"
DEFAULT_ZONE = "ws1"
# The database identifier zoneInformation reports as ``ci``.
TENANT_CI = 29680
# The API-only resource that exists after reset; records created through the API name it as
# their creator.
API_RESOURCE_ID = 29682885
LOCAL_COMPANY_ID = 0
# New ids continue from here (real tenants' ids are large ints, e.g. 29683500).
FIRST_ASSIGNED_ID = 29690000

DEFAULT_LIMITS: dict[str, Any] = {
    "request_threshold": 10_000,  # requests per rolling window, per database
    "threshold_window_s": 3600,  # sandbox seconds; ThresholdInformation reports it in minutes
    "latency_at_50pct_s": 0.5,  # added per request once usage reaches 50% of the threshold
    "latency_at_75pct_s": 1.0,  # ... and 75%
    "concurrent_per_endpoint": 3,  # per (integration code, entity endpoint)
    "latency_ms": 0,  # base latency of every API call, real milliseconds (benchmarks)
}

_PATH = re.compile(r"^/(?:(?P<zone>[^/]+)/)?atservicesrest(?P<rest>/.*)?$", re.IGNORECASE)
_ZONE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

THRESHOLD_MESSAGE = (
    "Request threshold exceeded: this database has made {count} API requests in the last "
    "{minutes} minutes (threshold {threshold}). Requests are refused until the rolling window "
    "frees capacity; read ThresholdInformation to pace calls."
)


class AutotaskApi(ApiEmulator):
    name = "autotask"

    def __init__(self, sandbox: Any):
        super().__init__(sandbox)
        self._lock = threading.RLock()
        self._gate = Gate()
        self._window = RollingWindow(self.clock, DEFAULT_LIMITS["threshold_window_s"])
        self.reset()

    # -- ApiEmulator interface -------------------------------------------------------------

    def handles(self, req: Request) -> bool:
        return _PATH.match(req.path) is not None

    def reset(self) -> None:
        with self._lock:
            self._credentials = {
                "username": DEFAULT_USERNAME,
                "secret": DEFAULT_SECRET,
                "integration_code": DEFAULT_INTEGRATION_CODE,
            }
            self._zone = DEFAULT_ZONE
            self._limits = dict(DEFAULT_LIMITS)
            self._window.window = DEFAULT_LIMITS["threshold_window_s"]
            self._window.reset()
            self._tables: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in ENTITIES}
            self._next_id = FIRST_ASSIGNED_ID
            now = _format_datetime(_utcnow())
            resource = self._blank(ENTITIES["Resources"])
            resource.update(
                id=API_RESOURCE_ID,
                firstName="API",
                lastName="atqbo sync",
                email=DEFAULT_USERNAME,
                userName="atqbo-api",
                isActive=True,
                licenseType=7,
                resourceType="Employee",
                userType="API User (system)",
            )
            company = self._blank(ENTITIES["Companies"])
            company.update(
                id=LOCAL_COMPANY_ID,
                companyName="Sandbox MSP (local company)",
                companyType=8,
                phone="555-0100",
                ownerResourceID=API_RESOURCE_ID,
                isActive=True,
                createDate=now,
            )
            self._tables["Resources"][API_RESOURCE_ID] = resource
            self._tables["Companies"][LOCAL_COMPANY_ID] = company

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
            with self._lock:
                limits = dict(self._limits)
            return _errors(429, self._threshold_message(limits["request_threshold"], limits))
        raise ValueError(f"no canned Autotask response for fault mode {mode!r}")

    def airflow_connection(self, base_url: str) -> dict[str, Any]:
        with self._lock:
            creds = dict(self._credentials)
        return {
            "conn_type": "autotask",
            "host": base_url,
            "login": creds["username"],
            "password": creds["secret"],
            "extra": {"integration_code": creds["integration_code"]},
        }

    # -- limits ----------------------------------------------------------------------------

    def limits(self) -> dict[str, Any]:
        with self._lock:
            doc = dict(self._limits)
        doc["used_requests"] = self._window.count()
        return doc

    def set_limits(self, doc: dict[str, Any]) -> None:
        """Change limits at run time. ``used_requests: n`` fills the rolling window with n
        requests made now (as if other integrations of the tenant had made them)."""
        if not isinstance(doc, dict):
            raise ValueError("autotask limits must be an object")
        unknown = set(doc) - set(DEFAULT_LIMITS) - {"used_requests"}
        if unknown:
            raise ValueError(
                f"unknown autotask limits {sorted(unknown)}; known: {sorted(DEFAULT_LIMITS)} + used_requests"
            )
        checked: dict[str, Any] = {}
        for key, value in doc.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"autotask limit {key!r} must be a non-negative number, got {value!r}")
            if key in ("request_threshold", "concurrent_per_endpoint", "threshold_window_s") and value < 1:
                raise ValueError(f"autotask limit {key!r} must be at least 1, got {value!r}")
            checked[key] = value
        used = checked.pop("used_requests", None)
        with self._lock:
            self._limits.update(checked)
            self._window.window = float(self._limits["threshold_window_s"])
            if used is not None:
                self._window.reset()
                for _ in range(int(used)):
                    self._window.add()

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
            zone = self._zone
            creds = dict(self._credentials)
            limits = dict(self._limits)
        if zone_prefix is None or zone_prefix.lower() != zone.lower():
            # The tenant is not served by this zone URL: the real API answers 401, and clients
            # re-read zoneInformation on a 401 (a zone move).
            return _errors(
                401,
                "Unauthorized: this database is not served at this zone URL. "
                "Look up the zone again with zoneInformation?user=<API user>.",
            )
        self._authenticate(req, creds)

        endpoint = _endpoint_of(lowered)
        gate_key = (creds["integration_code"].lower(), endpoint)
        if not self._gate.enter(gate_key, int(limits["concurrent_per_endpoint"])):
            return _errors(
                429,
                f"Thread threshold exceeded: at most {int(limits['concurrent_per_endpoint'])} concurrent "
                f"requests per integration code and endpoint ({endpoint}) are allowed. Retry when one finishes.",
            )
        try:
            delay_s = self._count_request(limits)
            # Sandbox seconds (usage latency) scale with the clock; the base latency is network
            # time for benchmarks, in real milliseconds. No lock is held here.
            self.clock.sleep(delay_s)
            if limits["latency_ms"]:
                time.sleep(limits["latency_ms"] / 1000)
            return self._route(req, segments, lowered)
        finally:
            self._gate.leave(gate_key)

    def _zone_information(self, req: Request) -> Response:
        if req.method != "GET":
            return _not_allowed(req.method)
        user = (req.arg("user") or "").strip()
        with self._lock:
            username, zone = self._credentials["username"], self._zone
        if not user or user.lower() != username.lower():
            return _errors(500, "Zone information could not be determined")
        base = _request_base(req, self.sandbox)
        return Response.json(
            200,
            {
                "zoneName": f"Sandbox Zone {zone}",
                "url": f"{base}/{zone}/atservicesrest/",
                "webUrl": f"{base}/{zone}/",
                "ci": TENANT_CI,
            },
        )

    def _authenticate(self, req: Request, creds: dict[str, str]) -> None:
        """The real API's status codes: bad user 500, bad secret 401, bad integration code 500.
        Messages never echo the secret."""
        username = (req.header("UserName") or "").strip()
        if not username or username.lower() != creds["username"].lower():
            raise Abort(
                _errors(
                    500, "User is not authenticated: the UserName header does not name an API user of this database."
                )
            )
        if req.header("Secret") != creds["secret"]:
            raise Abort(_errors(401, "Unauthorized: the Secret does not match the API user's password."))
        if (req.header("ApiIntegrationCode") or "").strip().lower() != creds["integration_code"].lower():
            raise Abort(_errors(500, "IntegrationCode is invalid."))

    def _count_request(self, limits: dict[str, Any]) -> float:
        """Count one request against the rolling threshold; refuse past 100% (the refused call
        is not counted, so the window clears); return the usage latency in sandbox seconds."""
        threshold = int(limits["request_threshold"])
        with self._lock:
            current = self._window.count()
            if current >= threshold:
                raise Abort(_errors(429, self._threshold_message(current, limits)))
            used = self._window.add()
        if used >= 0.75 * threshold:
            return float(limits["latency_at_75pct_s"])
        if used >= 0.5 * threshold:
            return float(limits["latency_at_50pct_s"])
        return 0.0

    @staticmethod
    def _threshold_message(count: int, limits: dict[str, Any]) -> str:
        return THRESHOLD_MESSAGE.format(
            count=count,
            minutes=_window_minutes(limits),
            threshold=int(limits["request_threshold"]),
        )

    def _route(self, req: Request, segments: list[str], lowered: list[str]) -> Response:
        if not lowered or lowered[0] != "v1.0":
            return _no_resource(req)
        parts, low = segments[1:], lowered[1:]
        if low == ["thresholdinformation"]:
            if req.method != "GET":
                return _not_allowed(req.method)
            with self._lock:
                limits = dict(self._limits)
            return Response.json(
                200,
                {
                    "externalRequestThreshold": int(limits["request_threshold"]),
                    "requestThresholdTimeframe": _window_minutes(limits),
                    "currentTimeframeRequestCount": self._window.count(),
                },
            )
        if not parts:
            return _no_resource(req)
        spec = entity_named(parts[0])
        if spec is None:
            return _no_resource(req)
        rest = low[1:]
        if not rest:
            return self._entity_root(req, spec)
        if rest == ["query"]:
            return self._query(req, spec, "query")
        if rest == ["query", "count"]:
            return self._query(req, spec, "count")
        if rest == ["query", "next"]:
            return self._query(req, spec, "next")
        if rest[0] == "entityinformation":
            return self._entity_information(req, spec, rest[1:])
        if len(rest) == 1:
            return self._item(req, spec, parts[1])
        if len(rest) in (2, 3):
            child = child_entity(spec.name, parts[2])
            if child is not None:
                return self._child(req, spec, parts[1], child, parts[3] if len(rest) == 3 else None)
        return _no_resource(req)

    # -- reads -----------------------------------------------------------------------------

    def _item(self, req: Request, spec: EntitySpec, raw_id: str) -> Response:
        if req.method != "GET":
            return _not_allowed(req.method)
        item_id = _parse_id(raw_id)
        if item_id is None:
            return _no_resource(req)
        with self._lock:
            record = self._tables[spec.name].get(item_id)
            item = copy.deepcopy(record) if record is not None else None
        return Response.json(200, {"item": item})

    def _query(self, req: Request, spec: EntitySpec, mode: str) -> Response:
        search = req.arg("search")
        if req.method == "GET":
            if search is None:
                # Without ``search`` no GET action matches; this is also what a GET of a POST
                # query's nextPageUrl gets (its cursor carries no search).
                return _not_allowed("GET")
            body = _parse_json(search, "search")
        elif req.method == "POST":
            body = _parse_json(req.body.decode("utf-8"), "request body") if req.body.strip() else None
            if body is None and search is not None:
                body = _parse_json(search, "search")
        else:
            return _not_allowed(req.method)
        try:
            query = parse_query(body, spec.filter_fields)
        except FilterError as exc:
            return _errors(500, str(exc))

        if mode == "count":
            with self._lock:
                count = sum(1 for record in self._tables[spec.name].values() if query.matches(record))
            return Response.json(200, {"queryCount": count})

        page_size, previous, start = query.max_records, [], -1
        if mode == "next":
            page_size, previous, start = _parse_paging(req.arg("paging"))
        with self._lock:
            table = self._tables[spec.name]
            found: list[dict[str, Any]] = []
            ordered = sorted(table)
            for item_id in ordered[bisect_left(ordered, start) :]:
                record = table[item_id]
                if query.matches(record):
                    found.append(record)
                    if len(found) > page_size:
                        break
            page = [_project(record, query) for record in found[:page_size]]
        next_start = found[page_size]["id"] if len(found) > page_size else None

        with self._lock:
            zone = self._zone
        base = f"{_request_base(req, self.sandbox)}/{zone}/atservicesrest/V1.0/{spec.name}/query/next"
        search_part = f"&search={quote(search, safe='')}" if req.method == "GET" and search is not None else ""

        def cursor(previous_ids: list[int], next_id: int) -> str:
            paging = json.dumps(
                {"pageSize": page_size, "previousIds": previous_ids, "nextIds": [next_id]}, separators=(",", ":")
            )
            return f"{base}?paging={quote(paging, safe='')}{search_part}"

        next_url = cursor(previous + [start], next_start) if next_start is not None else None
        prev_url = cursor(previous[:-1], previous[-1]) if previous else None
        return Response.json(
            200,
            {
                "items": page,
                "pageDetails": {
                    "count": len(page),
                    "requestCount": page_size,
                    "prevPageUrl": prev_url,
                    "nextPageUrl": next_url,
                },
            },
        )

    def _entity_information(self, req: Request, spec: EntitySpec, rest: list[str]) -> Response:
        if req.method != "GET":
            return _not_allowed(req.method)
        if not rest:
            return Response.json(
                200,
                {
                    "info": {
                        "name": spec.label,
                        "canCreate": spec.can_create,
                        "canDelete": spec.can_delete_via_parent,
                        "canQuery": True,
                        "canUpdate": spec.can_update,
                        "userAccessForCreate": "All" if spec.can_create else "None",
                        "userAccessForDelete": "All" if spec.can_delete_via_parent else "None",
                        "userAccessForQuery": "All",
                        "userAccessForUpdate": "All" if spec.can_update else "None",
                        "hasUserDefinedFields": True,
                        "supportsWebhookCallouts": spec.name in ("Companies", "Products"),
                    }
                },
            )
        if rest == ["fields"]:
            with self._lock:
                terms = sorted(self._tables["PaymentTerms"].values(), key=lambda r: r["id"])
                fields = [_field_info(f, terms) for f in spec.fields.values()]
            return Response.json(200, {"fields": fields})
        if rest == ["userdefinedfields"]:
            with self._lock:
                names: dict[str, str] = {}
                for record in self._tables[spec.name].values():
                    for udf in record.get("userDefinedFields") or []:
                        names.setdefault(udf["name"].lower(), udf["name"])
            return Response.json(
                200,
                {
                    "fields": [
                        {
                            "name": name,
                            "label": name,
                            "type": "string",
                            "length": 8000,
                            "isRequired": False,
                            "isReadOnly": False,
                            "isQueryable": True,
                            "isReference": False,
                            "isPickList": False,
                            "picklistValues": None,
                            "isActive": True,
                            "isSupportedWebhookField": False,
                        }
                        for name in sorted(names.values())
                    ]
                },
            )
        return _no_resource(req)

    # -- writes ----------------------------------------------------------------------------

    def _entity_root(self, req: Request, spec: EntitySpec) -> Response:
        if req.method == "POST" and spec.can_create and spec.parent is None:
            return self._create(spec, _body_object(req))
        if req.method in ("PATCH", "PUT") and spec.can_update and spec.parent is None:
            return self._update(spec, _body_object(req), full=req.method == "PUT")
        return _not_allowed(req.method)

    def _child(
        self, req: Request, parent: EntitySpec, raw_parent_id: str, child: EntitySpec, raw_id: str | None
    ) -> Response:
        parent_id = _parse_id(raw_parent_id)
        if parent_id is None:
            return _no_resource(req)
        if raw_id is not None:
            if req.method == "DELETE" and child.can_delete_via_parent:
                return self._delete_child(child, parent_id, raw_id)
            return _not_allowed(req.method)
        if req.method == "POST":
            return self._create(child, _body_object(req), parent_id=parent_id)
        if req.method in ("PATCH", "PUT"):
            return self._update(child, _body_object(req), full=req.method == "PUT", parent_id=parent_id)
        return _not_allowed(req.method)

    def _create(self, spec: EntitySpec, body: dict[str, Any], parent_id: int | None = None) -> Response:
        try:
            with self._lock:
                record = self._blank(spec)
                for key, value in body.items():
                    if key.lower() == "userdefinedfields":
                        record["userDefinedFields"] = _merge_udfs([], value, spec)
                        continue
                    field = spec.field(key)
                    if field is None:
                        raise _WriteError(f"Unable to find {key} in the {spec.label} Entity")
                    if field.name == "id":
                        if value not in (None, 0):
                            raise _WriteError(f"id must not be set when creating a {spec.label}; the API assigns it")
                        continue
                    normalized = _normalize(field, value, spec)
                    if field.read_only and not (spec.parent and field.name == spec.parent[2]):
                        if normalized is not None:
                            raise _WriteError(
                                f"The field {field.name} in the {spec.label} Entity is read-only and cannot be set"
                            )
                        continue
                    record[field.name] = normalized
                if spec.parent is not None:
                    parent_field = spec.parent[2]
                    if record.get(parent_field) not in (None, parent_id):
                        raise _WriteError(
                            f"{parent_field} {record[parent_field]} does not match the parent id {parent_id} in the URL"
                        )
                    if parent_id not in self._tables[spec.parent[0]]:
                        raise _WriteError(f"Value does not reference an existing entity for {parent_field} . ")
                    record[parent_field] = parent_id
                self._apply_create_defaults(spec, record, body)
                for field in spec.fields.values():
                    if field.required and record.get(field.name) is None:
                        raise _WriteError(f"Missing required field {field.name} for the {spec.label} Entity")
                self._check_values(spec, record, self._exists)
                self._check_business_rules(spec, record, None)
                record["id"] = self._allocate_id()
                self._tables[spec.name][record["id"]] = record
                return Response.json(200, {"itemId": record["id"]})
        except _WriteError as exc:
            return _errors(500, str(exc))

    def _update(self, spec: EntitySpec, body: dict[str, Any], full: bool, parent_id: int | None = None) -> Response:
        raw_id = next((v for k, v in body.items() if k.lower() == "id"), None)
        item_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else _parse_id(str(raw_id or ""))
        if item_id is None:
            return _errors(500, f"An update of a {spec.label} needs the record's id in the body")
        try:
            with self._lock:
                stored = self._tables[spec.name].get(item_id)
                if stored is None or (spec.parent and stored.get(spec.parent[2]) != parent_id):
                    raise _WriteError(
                        f"No matching records found for {spec.label} id {item_id}. "
                        "The logged in Resource may not have the required permissions to update the data."
                    )
                updated = copy.deepcopy(stored)
                touched: set[str] = set()
                for key, value in body.items():
                    if key.lower() == "userdefinedfields":
                        updated["userDefinedFields"] = _merge_udfs(updated["userDefinedFields"], value, spec)
                        continue
                    field = spec.field(key)
                    if field is None:
                        raise _WriteError(f"Unable to find {key} in the {spec.label} Entity")
                    if field.name == "id":
                        continue
                    normalized = _normalize(field, value, spec)
                    if field.read_only:
                        # Sending a read-only field back unchanged (GET, modify, PUT) is fine;
                        # changing it is what the real API rejects.
                        if normalized != stored.get(field.name):
                            raise _WriteError(
                                f"The field {field.name} in the {spec.label} Entity is read-only and cannot be updated"
                            )
                        continue
                    updated[field.name] = normalized
                    touched.add(field.name)
                if full:
                    for field in spec.fields.values():
                        if not field.read_only and field.name not in touched and field.name != "id":
                            updated[field.name] = None
                for field in spec.fields.values():
                    if field.required and not field.read_only and updated.get(field.name) is None:
                        raise _WriteError(f"Missing required field {field.name} for the {spec.label} Entity")
                self._check_values(spec, updated, self._exists)
                self._check_business_rules(spec, updated, stored)
                self._apply_update_effects(spec, updated, stored)
                self._tables[spec.name][item_id] = updated
                return Response.json(200, {"itemId": item_id})
        except _WriteError as exc:
            return _errors(500, str(exc))

    def _delete_child(self, spec: EntitySpec, parent_id: int, raw_id: str) -> Response:
        item_id = _parse_id(raw_id)
        with self._lock:
            stored = self._tables[spec.name].get(item_id) if item_id is not None else None
            if stored is None or stored.get(spec.parent[2]) != parent_id:  # type: ignore[index]
                return _errors(
                    500,
                    "No message. No matching records found. The logged in Resource may not have the "
                    "required permissions to delete the data.",
                )
            del self._tables[spec.name][item_id]
        return Response.json(200, {"itemId": item_id})

    def _apply_create_defaults(self, spec: EntitySpec, record: dict[str, Any], body: dict[str, Any]) -> None:
        now = _format_datetime(_utcnow())
        sent = {k.lower() for k in body}
        if DEFAULT_ACTIVE in spec.fields and DEFAULT_ACTIVE.lower() not in sent:
            record[DEFAULT_ACTIVE] = True
        for stamp in ("createDate", "createDateTime", "lastModifiedDate", "lastTrackedModifiedDateTime"):
            if stamp in spec.fields and record.get(stamp) is None:
                record[stamp] = now
        for creator in ("creatorResourceID", "createdByResourceID"):
            if creator in spec.fields and record.get(creator) is None:
                record[creator] = API_RESOURCE_ID
        if spec.name == "PurchaseOrders":
            self._stamp_status_dates(record, None, now)

    def _apply_update_effects(self, spec: EntitySpec, record: dict[str, Any], stored: dict[str, Any]) -> None:
        now = _format_datetime(_utcnow())
        for stamp in ("lastModifiedDate", "lastTrackedModifiedDateTime", "lastModifiedDateTime"):
            if stamp in spec.fields:
                record[stamp] = now
        if spec.name == "PurchaseOrders":
            self._stamp_status_dates(record, stored, now)

    @staticmethod
    def _stamp_status_dates(record: dict[str, Any], stored: dict[str, Any] | None, now: str) -> None:
        previous = stored.get("status") if stored else None
        if record.get("status") == 2 and previous != 2 and record.get("submitDateTime") is None:
            record["submitDateTime"] = now
        if record.get("status") == 5 and previous != 5 and record.get("cancelDateTime") is None:
            record["cancelDateTime"] = now

    def _check_business_rules(self, spec: EntitySpec, record: dict[str, Any], stored: dict[str, Any] | None) -> None:
        """Rules the real API enforces beyond field types (AT-HELP entity pages)."""
        if spec.name == "CompanyToDos":
            start, end = record.get("startDateTime"), record.get("endDateTime")
            if start and end and parse_datetime(end) < parse_datetime(start):
                raise _WriteError("endDateTime must be on or after startDateTime")
        if spec.name == "PurchaseOrderItems":
            order = self._tables["PurchaseOrders"].get(record.get("orderID"))
            status = order.get("status") if order else None
            if stored is None and status != 1:
                raise _WriteError(
                    f"Purchase order items can only be added while purchase order {record.get('orderID')} "
                    "has status New"
                )
            if stored is not None and status not in (1, 2, 3):
                raise _WriteError(
                    f"Purchase order items can only be updated while purchase order {record.get('orderID')} "
                    "is New, Submitted or Received Partial"
                )

    # -- validation shared by API writes and seeds ------------------------------------------

    def _exists(self, entity: str, item_id: int) -> bool:
        return item_id in self._tables[entity]

    def _check_values(self, spec: EntitySpec, record: dict[str, Any], exists: Callable[[str, int], bool]) -> None:
        """References must exist and picklist values must be listed."""
        for field in spec.fields.values():
            value = record.get(field.name)
            if value is None:
                continue
            if field.reference and not exists(field.reference, value):
                raise _WriteError(f"Value does not reference an existing entity for {field.name} . ")
            if field.picklist == PAYMENT_TERM_PICKLIST:
                if not exists("PaymentTerms", value):
                    raise _WriteError(
                        f"Value {value} is not a valid picklist value for {field.name} (no such PaymentTerm)"
                    )
            elif field.picklist and value not in {v for v, _ in PICKLISTS[field.picklist]}:
                raise _WriteError(f"Value {value} is not a valid picklist value for {field.name}")

    def _blank(self, spec: EntitySpec) -> dict[str, Any]:
        record: dict[str, Any] = dict.fromkeys(spec.fields)
        record["userDefinedFields"] = []
        return record

    def _allocate_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- seeds and state -------------------------------------------------------------------

    def prepare_seed(self, part: dict[str, Any]) -> Callable[[], None]:
        if not isinstance(part, dict):
            raise SeedError("the autotask seed part must be an object")
        unknown = set(part) - set(ENTITIES) - {"credentials", "zone"}
        if unknown:
            raise SeedError(
                f"autotask seed: unknown keys {sorted(unknown)}; "
                f"use 'credentials', 'zone' and entity names {sorted(ENTITIES)}"
            )
        credentials = part.get("credentials")
        if credentials is not None:
            if not isinstance(credentials, dict) or set(credentials) - {"username", "secret", "integration_code"}:
                raise SeedError("autotask seed: 'credentials' takes only username, secret and integration_code")
            for key, value in credentials.items():
                if not isinstance(value, str) or not value.strip():
                    raise SeedError(f"autotask seed: credentials.{key} must be a non-empty string")
        zone = part.get("zone")
        if zone is not None and (
            not isinstance(zone, str) or not _ZONE_NAME.match(zone) or zone.lower() == "atservicesrest"
        ):
            raise SeedError(f"autotask seed: zone {zone!r} must be a name of letters, digits, '-' or '_' (e.g. 'ws2')")

        with self._lock:
            seeded: dict[str, set[int]] = {name: set() for name in ENTITIES}
            next_id = self._next_id
            prepared: dict[str, list[dict[str, Any]]] = {}
            # First pass: shape, types and ids of every record, so references may point anywhere.
            for name, spec in ENTITIES.items():
                records = part.get(name)
                if records is None:
                    continue
                if not isinstance(records, list):
                    raise SeedError(f"autotask seed: {name} must be a list of records")
                seen: set[int] = set()
                out = []
                for index, raw in enumerate(records):
                    where = f"autotask seed {name}[{index}]"
                    try:
                        record = self._seed_record(spec, raw)
                    except _WriteError as exc:
                        raise SeedError(f"{where}: {exc}") from None
                    if record["id"] is None:
                        next_id += 1
                        record["id"] = next_id
                    if record["id"] in seen:
                        raise SeedError(f"{where}: id {record['id']} appears twice in {name}")
                    seen.add(record["id"])
                    out.append(record)
                next_id = max([next_id, *[r["id"] for r in out]])
                seeded[name] = seen
                prepared[name] = out

            def exists(entity: str, item_id: int) -> bool:
                return item_id in seeded[entity] or item_id in self._tables[entity]

            # Second pass: references, picklists and required fields against state + seed.
            for name, records in prepared.items():
                spec = ENTITIES[name]
                for index, record in enumerate(records):
                    where = f"autotask seed {name}[{index}] (id {record['id']})"
                    for required in spec.seed_required:
                        if record.get(required) is None:
                            raise SeedError(f"{where}: {required} is required")
                    try:
                        self._check_values(spec, record, exists)
                    except _WriteError as exc:
                        raise SeedError(f"{where}: {exc}") from None

        def commit() -> None:
            with self._lock:
                if credentials is not None:
                    self._credentials.update(credentials)
                if zone is not None:
                    self._zone = zone
                for name, records in prepared.items():
                    for record in records:
                        self._tables[name][record["id"]] = record
                self._next_id = max(self._next_id, next_id)

        return commit

    def _seed_record(self, spec: EntitySpec, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise _WriteError("a record must be an object")
        record = self._blank(spec)
        for key, value in raw.items():
            if key.lower() == "userdefinedfields":
                record["userDefinedFields"] = _merge_udfs([], value, spec)
                continue
            field = spec.field(key)
            if field is None:
                raise _WriteError(f"unknown field {key!r} (not a field of the {spec.label} Entity)")
            if field.name == "id":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                    raise _WriteError(f"id must be a non-negative integer, got {value!r}")
                record["id"] = value
                continue
            record[field.name] = _normalize(field, value, spec)
        if DEFAULT_ACTIVE in spec.fields and not any(k.lower() == DEFAULT_ACTIVE.lower() for k in raw):
            record[DEFAULT_ACTIVE] = True
        return record

    def dump_state(self) -> dict[str, Any]:
        with self._lock:
            state: dict[str, Any] = {"credentials": dict(self._credentials), "zone": self._zone}
            for name, table in self._tables.items():
                state[name] = [copy.deepcopy(table[i]) for i in sorted(table)]
        return state


# -- helpers ---------------------------------------------------------------------------------


class _WriteError(Exception):
    """A write (or seeded record) breaks a rule; the message goes into ``errors``."""


def _errors(status: int, *messages: str) -> Response:
    return Response.json(status, {"errors": list(messages)})


def _not_allowed(method: str) -> Response:
    # ASP.NET Web API's own body (capital M), not the errors shape.
    return Response.json(405, {"Message": f"The requested resource does not support http method '{method}'."})


def _no_resource(req: Request) -> Response:
    return Response.json(404, {"Message": f"No HTTP resource was found that matches the request URI '{req.path}'."})


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


def _window_minutes(limits: dict[str, Any]) -> int:
    return max(1, round(float(limits["threshold_window_s"]) / 60))


def _request_base(req: Request, sandbox: Any) -> str:
    """scheme://host[:port] as the client addressed this server (cursors and zone URLs must
    point where the client can reach)."""
    host = req.header("Host")
    if not host:
        return sandbox.base_url
    scheme = (req.header("X-Forwarded-Proto") or "http").split(",")[0].strip()
    return f"{scheme}://{host}"


def _parse_id(raw: str) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Abort(_errors(500, f"The {what} is not valid JSON: {exc.msg if hasattr(exc, 'msg') else exc}")) from None


def _body_object(req: Request) -> dict[str, Any]:
    body = _parse_json(req.body.decode("utf-8") or "null", "request body")
    if not isinstance(body, dict):
        raise Abort(_errors(500, "The request body must be a JSON object with the entity's fields"))
    return body


def _parse_paging(raw: str | None) -> tuple[int, list[int], int]:
    """(page size, earlier page starts, this page's first id) from a cursor's ``paging``."""
    try:
        paging = json.loads(raw or "")
        size = int(paging["pageSize"])
        previous = [int(i) for i in paging.get("previousIds") or []]
        start = int(paging["nextIds"][0])
        if not 1 <= size <= 500:
            raise ValueError("pageSize out of range")
    except (ValueError, KeyError, IndexError, TypeError):
        raise Abort(
            _errors(500, "The paging parameter of query/next is missing or not valid; use the nextPageUrl as given")
        ) from None
    return size, previous, start


def _project(record: dict[str, Any], query: Query) -> dict[str, Any]:
    if query.include_fields is None:
        return copy.deepcopy(record)
    return {name: copy.deepcopy(record.get(name)) for name in query.include_fields}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _format_datetime(dt: datetime) -> str:
    dt = dt.astimezone(UTC)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _normalize(field: FieldSpec, value: Any, spec: EntitySpec) -> Any:
    """A written value in its stored (wire) form, or ``_WriteError`` naming the field."""
    if value is None:
        return None
    bad = f"Value {value!r} is not valid for {field.name} ({field.data_type}) in the {spec.label} Entity"
    kind = field.data_type
    if kind == "string":
        if isinstance(value, (dict, list, bool)):
            raise _WriteError(bad)
        text = str(value)
        if field.length and len(text) > field.length:
            raise _WriteError(f"{field.name} in the {spec.label} Entity is longer than {field.length} characters")
        return text if text != "" else None  # Autotask stores an empty string as null
    scalar = DATA_TYPE_KINDS.get(kind)
    if scalar in (KIND_INTEGER, KIND_DOUBLE, KIND_BOOLEAN):
        try:
            return coerce_scalar(value, scalar)
        except ValueError:
            raise _WriteError(bad) from None
    if kind == "dateTime":
        if not isinstance(value, str):
            raise _WriteError(bad)
        if field.date_only:
            # The date as written, whatever the time and offset: the time part is ignored.
            try:
                parse_datetime(value)
                day = date.fromisoformat(value.strip()[:10])
            except ValueError:
                raise _WriteError(f"{bad}: use an ISO-8601 date such as 2024-06-03") from None
            return f"{day.isoformat()}T00:00:00Z"
        try:
            return _format_datetime(parse_datetime(value))
        except ValueError:
            raise _WriteError(f"{bad}: use an ISO-8601 date-time such as 2024-05-31T22:14:05Z") from None
    raise _WriteError(bad)


def _merge_udfs(current: list[dict[str, Any]], value: Any, spec: EntitySpec) -> list[dict[str, Any]]:
    """userDefinedFields written as [{name, value}], merged into the record's by name."""
    if not isinstance(value, list):
        raise _WriteError(f"userDefinedFields of a {spec.label} must be a list of {{name, value}} objects")
    merged = [dict(u) for u in current]
    for udf in value:
        if not isinstance(udf, dict) or not isinstance(udf.get("name"), str) or not udf["name"].strip():
            raise _WriteError(f"each userDefinedFields entry of a {spec.label} needs a name, got {udf!r}")
        raw = udf.get("value")
        text = None if raw is None or raw == "" else (raw if isinstance(raw, str) else json.dumps(raw))
        for existing in merged:
            if existing["name"].lower() == udf["name"].lower():
                existing["value"] = text
                break
        else:
            merged.append({"name": udf["name"], "value": text})
    return merged


def _field_info(field: FieldSpec, payment_terms: list[dict[str, Any]]) -> dict[str, Any]:
    values = None
    if field.picklist == PAYMENT_TERM_PICKLIST:
        values = [
            {
                "value": str(term["id"]),
                "label": term.get("name") or "",
                "isDefaultValue": False,
                "sortOrder": index,
                "parentValue": "",
                "isActive": bool(term.get("isActive")),
                "isSystem": False,
            }
            for index, term in enumerate(payment_terms, start=1)
        ]
    elif field.picklist:
        values = [
            {
                "value": str(value),
                "label": label,
                "isDefaultValue": index == 1,
                "sortOrder": index,
                "parentValue": "",
                "isActive": True,
                "isSystem": True,
            }
            for index, (value, label) in enumerate(PICKLISTS[field.picklist], start=1)
        ]
    reference = ENTITIES[field.reference].label if field.reference else ""
    return {
        "name": field.name,
        "dataType": field.data_type,
        "length": field.length if field.data_type == "string" else 0,
        "isRequired": field.required,
        "isReadOnly": field.read_only,
        "isQueryable": field.queryable,
        "isReference": field.reference is not None,
        "referenceEntityType": reference,
        "isPickList": field.picklist is not None,
        "picklistValues": values,
        "picklistParentValueField": "",
        "isSupportedWebhookField": False,
    }
