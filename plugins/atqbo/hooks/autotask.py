"""AutotaskHook: the one place atqbo talks to the Autotask PSA REST API (v1.0).

It owns everything that is Autotask's business rather than the sync's:

* **Zones.** Each tenant lives in one zone (``webservicesN.autotask.net``). The hook asks
  ``zoneInformation`` once per API user, caches the answer for 12 hours for the whole process,
  and asks again when a call is refused with 401 (the tenant may have moved zones), retrying
  that call once if the zone changed.
* **Auth.** ``ApiIntegrationCode``, ``UserName`` and ``Secret`` on every call, plus
  ``ImpersonationResourceId`` on writes when the connection names one. Autotask answers a bad
  user name or integration code with HTTP 500 and a bad secret with 401; both become
  :class:`AutotaskAuthError` with a message naming the fix.
* **Queries.** The full filter grammar (builders below, raw dicts accepted), paging through
  ``nextPageUrl`` (POSTed with the same body: a GET answers 405 and silently truncates a sync
  to 500 records), ``in`` look-ups of many ids in chunks, counts, picklist labels read from
  ``entityInformation/fields`` (never hard-coded numbers).
* **Limits.** Autotask allows 10,000 requests per rolling hour *per tenant*, shared with every
  other integration, and 3 concurrent requests per integration code and endpoint. The hook
  uses at most ``budget_share`` of the hourly threshold (setting ``autotask_budget_share``),
  waiting when it is used up, and never has more than 3 calls per endpoint in flight in this
  process. Across processes (two sync DAGs running at once) Autotask may refuse a call past its
  thread limit with a 429, which is retried like any throttling.
* **Failures.** Throttling (429), gateway errors and dropped connections are retried with
  exponential backoff and jitter; validation errors (which Autotask sends as HTTP 500 with an
  ``errors`` array) are not. A create is only retried when it surely did not happen; otherwise
  :class:`AutotaskAmbiguousWriteError` tells the caller to look before creating again.

Secrets never appear in logs, exception messages or the hook's repr.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from airflow.sdk import BaseHook

from atqbo.exceptions import AtqboConfigError, AtqboError
from atqbo.hooks.http_headers import retry_after_seconds

log = logging.getLogger(__name__)

# --- Autotask's limits and fixed facts (the one place they live) ------------------------------------

DEFAULT_DISCOVERY_HOST = "https://webservices.autotask.net"
API_VERSION_PATH = "v1.0"
ZONE_CACHE_TTL_S = 12 * 3600  # as django-autotask does; zones move rarely, a 401 triggers a re-lookup anyway
ZONE_DISCOVERY_TIMEOUT_S = 10.0  # zoneInformation is a tiny anonymous GET; do not wait the full call timeout
MAX_PAGE_SIZE = 500  # Autotask returns at most 500 records per page (MaxRecords 1..500)
# An ``in`` filter is expanded into OR conditions server side; the SOAP-era limit of 500 OR
# conditions per query may still apply, and 500 ids also fill exactly one page, so each chunk
# is one request and one page.
MAX_IN_VALUES = 500
MAX_CONCURRENT_PER_ENDPOINT = 3  # Autotask's thread limit per (integration code, endpoint)
DEFAULT_TIMEOUT_S = 60.0
# Pacing: how many calls may pass between two ThresholdInformation checks. The gap shrinks as the
# budget fills (a fifth of the remaining headroom, so that even several workers sharing the tenant
# cannot overshoot much between checks) and never exceeds this.
MAX_CALLS_BETWEEN_BUDGET_CHECKS = 200

OPERATORS_WITH_VALUE = {
    "eq",
    "noteq",
    "gt",
    "gte",
    "lt",
    "lte",
    "beginswith",
    "endswith",
    "contains",
    "in",
    "notin",
}
OPERATORS_WITHOUT_VALUE = {"exist", "notexist"}
GROUP_OPERATORS = {"and", "or"}
# Autotask's own spelling of each operator, keyed by the lower-case form.
_OPERATOR_SPELLING = {
    "eq": "eq",
    "noteq": "noteq",
    "gt": "gt",
    "gte": "gte",
    "lt": "lt",
    "lte": "lte",
    "beginswith": "beginsWith",
    "endswith": "endsWith",
    "contains": "contains",
    "in": "in",
    "notin": "notIn",
    "exist": "exist",
    "notexist": "notExist",
    "and": "and",
    "or": "or",
}

_ENTITY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
# Autotask reports a bad user name, integration code or missing permission as HTTP 500 with
# one of these phrases; they are auth problems, not data problems.
_AUTH_MESSAGE = re.compile(
    r"integration ?code|tracking identifier|authenticat|not authori[sz]ed|impersonat|adequate permissions",
    re.IGNORECASE,
)
# An update or delete of a record that is missing (or invisible to the API user).
_NOT_FOUND_MESSAGE = re.compile(r"no matching records found", re.IGNORECASE)


# --- Errors -------------------------------------------------------------------------------------------


class AutotaskError(AtqboError):
    """A call to Autotask failed. Carries Autotask's own messages, never credentials.

    Attributes: ``status`` (HTTP status or None when no answer came), ``errors`` (Autotask's
    ``errors`` strings), ``method`` and ``path`` (without host or query string), ``entity``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: Iterable[str] = (),
        method: str | None = None,
        path: str | None = None,
        entity: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = list(errors)
        self.method = method
        self.path = path
        self.entity = entity


class AutotaskAuthError(AutotaskError):
    """Autotask refused the credentials (401, or 500 naming the user/integration code/permissions)."""


class AutotaskValidationError(AutotaskError):
    """Autotask rejected the request's content (HTTP 500 with an ``errors`` array). Not retried."""


class AutotaskNotFoundError(AutotaskError):
    """The entity, path or record does not exist (404, or Autotask's "No matching records found")."""


class AutotaskThrottledError(AutotaskError):
    """Autotask kept answering 429 (request threshold or thread limit) after every retry."""


class AutotaskServerError(AutotaskError):
    """Autotask kept failing (5xx without an ``errors`` array, or no answer) after every retry."""


class AutotaskBudgetExhaustedError(AutotaskError):
    """This package's share of the tenant's hourly request threshold stayed used up too long."""


class AutotaskAmbiguousWriteError(AutotaskError):
    """A create failed in a way that does not tell whether Autotask applied it.

    Deliberately not an :class:`AutotaskServerError`: a generic retry of that error would create
    the record twice. The caller must look for the record (by a field it set) before trying again.
    """


class AutotaskPicklistError(AutotaskError, LookupError):
    """A picklist field or label does not exist; the message lists what does."""


# --- Filter builders ----------------------------------------------------------------------------------
# Each returns the plain dict Autotask expects, so raw dicts and built ones mix freely.

Filter = dict[str, Any]


def _condition(op: str, field: str, value: Any = None, udf: bool = False, *, has_value: bool = True) -> Filter:
    item: Filter = {"op": op, "field": field}
    if has_value:
        item["value"] = _filter_value(value)
    if udf:
        item["udf"] = True
    return item


def eq(field: str, value: Any, udf: bool = False) -> Filter:
    return _condition("eq", field, value, udf)


def noteq(field: str, value: Any, udf: bool = False) -> Filter:
    return _condition("noteq", field, value, udf)


def gt(field: str, value: Any, udf: bool = False) -> Filter:
    return _condition("gt", field, value, udf)


def gte(field: str, value: Any, udf: bool = False) -> Filter:
    return _condition("gte", field, value, udf)


def lt(field: str, value: Any, udf: bool = False) -> Filter:
    return _condition("lt", field, value, udf)


def lte(field: str, value: Any, udf: bool = False) -> Filter:
    return _condition("lte", field, value, udf)


def begins_with(field: str, value: str, udf: bool = False) -> Filter:
    return _condition("beginsWith", field, value, udf)


def ends_with(field: str, value: str, udf: bool = False) -> Filter:
    return _condition("endsWith", field, value, udf)


def contains(field: str, value: str, udf: bool = False) -> Filter:
    return _condition("contains", field, value, udf)


def in_(field: str, values: Iterable[Any], udf: bool = False) -> Filter:
    return _condition("in", field, list(values), udf)


def not_in(field: str, values: Iterable[Any], udf: bool = False) -> Filter:
    return _condition("notIn", field, list(values), udf)


def exist(field: str, udf: bool = False) -> Filter:
    return _condition("exist", field, udf=udf, has_value=False)


def not_exist(field: str, udf: bool = False) -> Filter:
    return _condition("notExist", field, udf=udf, has_value=False)


def and_(*items: Filter) -> Filter:
    return {"op": "and", "items": list(items)}


def or_(*items: Filter) -> Filter:
    return {"op": "or", "items": list(items)}


def _filter_value(value: Any) -> Any:
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_filter_value(v) for v in value]
    return _json_scalar(value)


def _json_scalar(value: Any) -> Any:
    """Autotask reads datetimes as ISO-8601 UTC; dates as plain ISO dates."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _json_default(value: Any) -> Any:
    converted = _json_scalar(value)
    if converted is value:
        raise TypeError(f"cannot send {type(value).__name__} to Autotask: {value!r}")
    return converted


def normalize_filters(filters: Filter | Iterable[Filter] | None) -> list[Filter]:
    """Check a filter (one item or a list, ANDed) and return it as Autotask's ``filter`` array.

    Autotask silently *ignores* an unknown operator (``ne`` instead of ``noteq``) and returns
    unfiltered data, which for a sync means touching every record; so the hook refuses one here.
    With no filter at all, ``id gte 0`` selects everything (Autotask requires a filter).
    """
    if filters is None:
        return [gte("id", 0)]
    items = [filters] if isinstance(filters, dict) else list(filters)
    if not items:
        return [gte("id", 0)]
    return [_normalize_filter_item(item, f"filter[{i}]") for i, item in enumerate(items)]


def _normalize_filter_item(item: Any, where: str) -> Filter:
    if not isinstance(item, dict):
        raise ValueError(
            f"Autotask {where} must be a dict like {{'op': 'eq', 'field': ..., 'value': ...}}, got {item!r}"
        )
    keys = {k.lower(): k for k in item}
    op_raw = item.get(keys.get("op", "op"))
    op = str(op_raw or "").lower()
    if op not in _OPERATOR_SPELLING:
        raise ValueError(
            f"Autotask {where}: unknown operator {op_raw!r} (Autotask would silently ignore it and return "
            f"unfiltered data); use one of {sorted(set(_OPERATOR_SPELLING.values()))}"
        )
    if op in GROUP_OPERATORS:
        children = item.get(keys.get("items", "items"))
        if not isinstance(children, (list, tuple)) or not children:
            raise ValueError(f"Autotask {where}: an '{op}' group needs a non-empty 'items' list")
        return {
            "op": op,
            "items": [_normalize_filter_item(child, f"{where}.items[{i}]") for i, child in enumerate(children)],
        }
    field = item.get(keys.get("field", "field"))
    if not isinstance(field, str) or not field:
        raise ValueError(f"Autotask {where}: operator '{op}' needs a 'field' name")
    out: Filter = {"op": _OPERATOR_SPELLING[op], "field": field}
    if op in OPERATORS_WITH_VALUE:
        if "value" not in keys:
            raise ValueError(f"Autotask {where}: operator '{op}' on {field!r} needs a 'value'")
        value = _filter_value(item[keys["value"]])
        if op in ("in", "notin"):
            if not isinstance(value, list) or (op == "in" and not value):
                raise ValueError(f"Autotask {where}: '{op}' on {field!r} needs a non-empty list of values")
        elif value is None:
            raise ValueError(
                f"Autotask {where}: {field!r} {op} None is not a valid Autotask filter; use exist()/not_exist()"
            )
        out["value"] = value
    udf = item.get(keys.get("udf", "udf"))
    if udf:
        out["udf"] = True
    return out


# --- The hook -----------------------------------------------------------------------------------------


class AutotaskHook(BaseHook):
    """Client of the Autotask PSA REST API for one Airflow connection (conn type ``autotask``).

    Connection: host = zone-discovery base URL (default https://webservices.autotask.net),
    login = API user name, password = Secret, extra = ``{"integration_code": ...,
    "impersonation_resource_id": int|null, "timeout": seconds}``.

    Thread safe: one hook may be shared by worker threads; the per-endpoint cap of 3 concurrent
    calls holds for all hooks of the process with the same integration code.
    """

    conn_name_attr = "autotask_conn_id"
    default_conn_name = "autotask_default"
    conn_type = "autotask"
    hook_name = "Autotask PSA"

    # (discovery host, user name) -> (zone API base URL, monotonic expiry)
    _zone_cache: ClassVar[dict[tuple[str, str], tuple[str, float]]] = {}
    _zone_cache_lock: ClassVar[threading.Lock] = threading.Lock()
    _zone_discovery_lock: ClassVar[threading.Lock] = threading.Lock()  # one lookup at a time, not one per thread
    # (integration code, endpoint) -> semaphore of MAX_CONCURRENT_PER_ENDPOINT
    _endpoint_slots: ClassVar[dict[tuple[str, str], threading.BoundedSemaphore]] = {}
    _endpoint_slots_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        autotask_conn_id: str = default_conn_name,
        budget_share: float = 0.5,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        *,
        max_backoff: float = 60.0,
        max_retry_after: float = 300.0,
        budget_poll_interval: float = 60.0,
        budget_max_wait: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ):
        """
        :param budget_share: share (0.05..1) of the tenant's hourly request threshold this hook may
            use before it waits; the ``autotask_budget_share`` setting.
        :param max_retries: retries after the first attempt for throttling, 5xx and dropped connections.
        :param backoff_base: first backoff in seconds; doubled per retry, capped at ``max_backoff``.
        :param max_retry_after: longest ``Retry-After`` honoured for one wait.
        :param budget_poll_interval: seconds between ThresholdInformation polls while the budget is used up.
        :param budget_max_wait: give up with :class:`AutotaskBudgetExhaustedError` after waiting this long.
        :param sleep: how the hook waits (tests pass a recorder); ``clock`` times the zone cache.
        """
        super().__init__()
        if not 0.05 <= budget_share <= 1:
            raise ValueError(f"budget_share must be between 0.05 and 1, got {budget_share}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.autotask_conn_id = autotask_conn_id
        self.budget_share = float(budget_share)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.budget_poll_interval = budget_poll_interval
        self.budget_max_wait = budget_max_wait
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()

        self._conn_lock = threading.Lock()
        self._loaded = False
        self._discovery_host = ""
        self._username = ""
        self._secret = ""
        self._integration_code = ""
        self._impersonation_resource_id: int | None = None
        self._timeout = DEFAULT_TIMEOUT_S
        self._session: requests.Session | None = None

        self._stats_lock = threading.Lock()
        self.calls_made: Counter[str] = Counter()  # "METHOD endpoint" -> HTTP requests sent, retries included

        self._pace_lock = threading.Lock()
        self._calls_until_budget_check = 0  # 0: check before the next call
        self.budget_waited_s = 0.0

        self._fields_lock = threading.Lock()
        self._fields_cache: dict[str, list[dict[str, Any]]] = {}

    # -- connection and session ---------------------------------------------------------------------

    def _load_connection(self) -> None:
        if self._loaded:
            return
        with self._conn_lock:
            if self._loaded:
                return
            conn = self.get_connection(self.autotask_conn_id)
            extra = conn.extra_dejson or {}
            host = (conn.host or "").strip() or DEFAULT_DISCOVERY_HOST
            if "://" not in host:
                host = f"https://{host}"
            if conn.port:
                parts = urlsplit(host)
                if not parts.port:
                    host = f"{parts.scheme}://{parts.hostname}:{conn.port}{parts.path}"
            missing = [
                name
                for name, value in (
                    ("login (API user name)", conn.login),
                    ("password (Secret)", conn.password),
                    ("extra.integration_code", extra.get("integration_code")),
                )
                if not value
            ]
            if missing:
                raise AtqboConfigError(
                    f"Airflow connection {self.autotask_conn_id!r} lacks {', '.join(missing)}; "
                    "set them to the Autotask API-only user's user name, Secret and API tracking identifier"
                )
            self._discovery_host = host.rstrip("/")
            self._username = conn.login
            self._secret = conn.password
            self._integration_code = str(extra["integration_code"])
            imp = extra.get("impersonation_resource_id")
            self._impersonation_resource_id = int(imp) if imp not in (None, "") else None
            self._timeout = float(extra.get("timeout") or DEFAULT_TIMEOUT_S)
            self._loaded = True

    def get_conn(self) -> requests.Session:
        """The hook's one ``requests.Session`` (auth headers are added per call, never stored on it)."""
        self._load_connection()
        if self._session is None:
            with self._conn_lock:
                if self._session is None:
                    session = requests.Session()
                    session.headers.update({"Content-Type": "application/json", "Accept": "application/json"})
                    self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> AutotaskHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        user = self._username if self._loaded else "?"
        return f"<AutotaskHook conn_id={self.autotask_conn_id!r} user={user!r}>"

    __str__ = __repr__

    def _auth_headers(self, write: bool) -> dict[str, str]:
        headers = {
            "ApiIntegrationCode": self._integration_code,
            "UserName": self._username,
            "Secret": self._secret,
        }
        if write and self._impersonation_resource_id is not None:
            headers["ImpersonationResourceId"] = str(self._impersonation_resource_id)
        return headers

    def _scrub(self, text: str) -> str:
        """Remove the secret and integration code from text that may end up in an exception or log."""
        for secret in (self._secret, self._integration_code):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    # -- zone discovery -----------------------------------------------------------------------------

    @classmethod
    def clear_zone_cache(cls) -> None:
        """Forget every discovered zone (tests; or after moving a tenant by hand)."""
        with cls._zone_cache_lock:
            cls._zone_cache.clear()

    def zone_url(self) -> str:
        """The API base URL of the tenant's zone, e.g. ``https://webservices15.autotask.net/atservicesrest/v1.0``."""
        self._load_connection()
        key = (self._discovery_host, self._username.lower())
        with self._zone_cache_lock:
            cached = self._zone_cache.get(key)
        if cached and cached[1] > self._clock():
            return cached[0]
        with self._zone_discovery_lock:
            with self._zone_cache_lock:
                cached = self._zone_cache.get(key)
            if cached and cached[1] > self._clock():
                return cached[0]  # another thread just looked it up
            return self._discover_zone()

    def _discover_zone(self) -> str:
        """Ask zoneInformation (anonymous, short timeout) and cache the answer for 12 hours."""
        self._load_connection()
        url = f"{self._discovery_host}/atservicesrest/{API_VERSION_PATH}/zoneInformation"
        session = self.get_conn()
        attempt = 0
        while True:
            try:
                response = session.get(url, params={"user": self._username}, timeout=ZONE_DISCOVERY_TIMEOUT_S)
            except requests.RequestException as exc:
                self._count("GET", "zoneInformation")
                if attempt >= self.max_retries:
                    raise AutotaskServerError(
                        f"Autotask zone discovery at {self._discovery_host} could not be reached for API user "
                        f"{self._username!r} after {attempt + 1} attempts ({type(exc).__name__}); check the host "
                        f"of Airflow connection {self.autotask_conn_id!r} and the network",
                        method="GET",
                        path="zoneInformation",
                    ) from None
                self._backoff(attempt, None, "GET zoneInformation", type(exc).__name__)
                attempt += 1
                continue
            self._count("GET", "zoneInformation")
            log.debug("Autotask GET zoneInformation -> %s", response.status_code)
            if response.status_code in (429, 502, 503, 504) and attempt < self.max_retries:
                self._backoff(attempt, retry_after_seconds(response), "GET zoneInformation", str(response.status_code))
                attempt += 1
                continue
            break
        body = _json_or_none(response)
        zone = body.get("url") if isinstance(body, dict) else None
        if response.status_code != 200 or not zone:
            errors = _errors_of(body)
            detail = f": {'; '.join(errors)}" if errors else ""
            # Autotask answers an unknown user name with HTTP 500 here (ERR-06): one clear error.
            raise AutotaskAuthError(
                self._scrub(
                    f"Autotask zone discovery does not know API user {self._username!r} "
                    f"(HTTP {response.status_code}{detail}). Fix: set the login of Airflow connection "
                    f"{self.autotask_conn_id!r} to the user name (email) of an Autotask API-only user "
                    f"(Admin > Resources/Users, security level 'API User')"
                ),
                status=response.status_code,
                errors=errors,
                method="GET",
                path="zoneInformation",
            )
        base = _zone_api_base(zone)
        with self._zone_cache_lock:
            self._zone_cache[(self._discovery_host, self._username.lower())] = (base, self._clock() + ZONE_CACHE_TTL_S)
        log.info("Autotask zone for API user %s: %s", self._username, base)
        return base

    # -- bookkeeping --------------------------------------------------------------------------------

    def _count(self, method: str, endpoint: str) -> None:
        with self._stats_lock:
            self.calls_made[f"{method} {endpoint}"] += 1

    @property
    def total_calls(self) -> int:
        """HTTP requests this hook sent to Autotask, zone discovery and retries included."""
        with self._stats_lock:
            return sum(self.calls_made.values())

    @classmethod
    def _endpoint_slot(cls, integration_code: str, endpoint: str) -> threading.BoundedSemaphore:
        key = (integration_code, endpoint.lower())
        with cls._endpoint_slots_lock:
            slot = cls._endpoint_slots.get(key)
            if slot is None:
                slot = cls._endpoint_slots[key] = threading.BoundedSemaphore(MAX_CONCURRENT_PER_ENDPOINT)
            return slot

    def _backoff(self, attempt: int, retry_after: float | None, what: str, why: str) -> None:
        if retry_after is not None:
            delay = min(max(retry_after, 0.0), self.max_retry_after)
        else:
            # Exponential with jitter, so that parallel workers that failed together do not retry together.
            delay = min(self.max_backoff, self.backoff_base * (2**attempt)) * self._rng.uniform(0.5, 1.0)
        log.warning("Autotask %s failed (%s); retry %d/%d in %.1f s", what, why, attempt + 1, self.max_retries, delay)
        self._sleep(delay)

    # -- pacing (BEY-05) ----------------------------------------------------------------------------

    def threshold_information(self) -> dict[str, Any]:
        """``{"externalRequestThreshold", "requestThresholdTimeframe", "currentTimeframeRequestCount"}``."""
        return self._call("GET", "ThresholdInformation", endpoint="ThresholdInformation", paced=False)

    def _pace(self) -> None:
        """Before a call: every N calls, check the tenant's usage and wait while our share is used up."""
        with self._pace_lock:
            if self._calls_until_budget_check > 0:
                self._calls_until_budget_check -= 1
                return
            self._wait_for_budget()

    def _wait_for_budget(self) -> None:
        waited = 0.0
        while True:
            info = self.threshold_information()
            threshold = int(info.get("externalRequestThreshold") or 0)
            used = int(info.get("currentTimeframeRequestCount") or 0)
            budget = self.budget_share * threshold
            if threshold <= 0 or used < budget:
                headroom = budget - used if threshold > 0 else MAX_CALLS_BETWEEN_BUDGET_CHECKS
                self._calls_until_budget_check = int(max(0, min(MAX_CALLS_BETWEEN_BUDGET_CHECKS, headroom // 5)))
                return
            if waited + self.budget_poll_interval > self.budget_max_wait:
                raise AutotaskBudgetExhaustedError(
                    f"Autotask request budget used up: {used} of {threshold} requests in the last "
                    f"{info.get('requestThresholdTimeframe', 60)} minutes, and atqbo may use "
                    f"{self.budget_share:.0%} ({int(budget)}); waited {waited:.0f} s without it dropping. "
                    "Fix: run later, raise autotask_budget_share, or find the integration using the tenant's requests",
                    method="GET",
                    path="ThresholdInformation",
                )
            log.info(
                "Autotask budget used up (%d of %d, share %.0f%%); waiting %.0f s",
                used,
                threshold,
                self.budget_share * 100,
                self.budget_poll_interval,
            )
            self._sleep(self.budget_poll_interval)
            waited += self.budget_poll_interval
            self.budget_waited_s += self.budget_poll_interval

    # -- the one HTTP path ----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        body: Any = None,
        write: bool = False,
        creates: bool = False,
        paced: bool = True,
        entity: str | None = None,
        record: str | None = None,
    ) -> Any:
        """Send one API request with pacing, the endpoint cap, retries and zone re-discovery.

        ``path`` is relative to the zone's API base (``Companies/query``) or an absolute URL
        (a ``nextPageUrl``). ``endpoint`` labels the call in ``calls_made`` and the logs.
        ``creates`` marks a POST that makes a record: it is only retried when it surely did not apply.
        ``entity`` and ``record`` (e.g. "id 42") name what the call is about in error messages.
        """
        self._load_connection()
        if paced:
            self._pace()
        session = self.get_conn()
        data = json.dumps(body, default=_json_default) if body is not None else None
        slot_key = path.split("/", 1)[0] if "://" not in path else _entity_of_url(path)
        slot = self._endpoint_slot(self._integration_code, slot_key)
        zone_retried = False
        attempt = 0
        what = f"{method} {endpoint}" + (f" ({record})" if record else "")
        while True:
            base = self.zone_url()
            url = path if "://" in path else f"{base}/{path}"
            try:
                with slot:
                    self._count(method, endpoint)
                    response = session.request(
                        method,
                        url,
                        data=data,
                        headers=self._auth_headers(write),
                        timeout=(min(10.0, self._timeout), self._timeout),
                    )
            except requests.RequestException as exc:
                log.debug("Autotask %s -> %s", what, type(exc).__name__)
                surely_not_sent = isinstance(exc, requests.ConnectTimeout) or _connection_refused(exc)
                if creates and not surely_not_sent:
                    raise AutotaskAmbiguousWriteError(
                        f"Autotask {what}: the connection failed ({type(exc).__name__}) after the request was "
                        f"sent, so the {entity or 'Autotask'} record may or may not have been created. Fix: look it up "
                        "before creating it again",
                        method=method,
                        path=_path_of(url),
                        entity=entity,
                    ) from None
                if attempt >= self.max_retries:
                    raise AutotaskServerError(
                        f"Autotask {what}: no answer after {attempt + 1} attempts ({type(exc).__name__}); "
                        "check the network and Autotask's status page",
                        method=method,
                        path=_path_of(url),
                        entity=entity,
                    ) from None
                self._backoff(attempt, None, what, type(exc).__name__)
                attempt += 1
                continue

            status = response.status_code
            log.debug("Autotask %s %s -> %s", method, _path_of(url), status)
            if 200 <= status < 300:
                return _json_or_none(response)

            payload = _json_or_none(response)
            errors = _errors_of(payload)
            if status == 401:
                if not zone_retried and self._zone_changed(base):
                    zone_retried = True
                    if "://" in path and path.lower().startswith(base.lower()):
                        path = self.zone_url() + path[len(base) :]
                    continue
                raise self._error(
                    AutotaskAuthError,
                    status,
                    errors,
                    method,
                    url,
                    entity,
                    f"Autotask refused the Secret of API user {self._username!r} (HTTP 401). Fix: put the "
                    f"API user's current Secret in the password of Airflow connection {self.autotask_conn_id!r}",
                )
            retryable = status == 429 or (status >= 500 and not errors)
            if retryable:
                # 429 and 503 are refusals before any work; other 5xx on a create may hide a commit.
                if creates and status not in (429, 503):
                    raise AutotaskAmbiguousWriteError(
                        self._scrub(
                            f"Autotask {what} answered HTTP {status}{_detail(payload, response)}; the "
                            f"{entity or 'Autotask'} record may or may not have been created. Fix: look it up before "
                            "creating it again"
                        ),
                        status=status,
                        errors=errors,
                        method=method,
                        path=_path_of(url),
                        entity=entity,
                    )
                if attempt < self.max_retries:
                    self._backoff(attempt, retry_after_seconds(response), what, f"HTTP {status}")
                    attempt += 1
                    continue
                cls = AutotaskThrottledError if status == 429 else AutotaskServerError
                raise self._error(
                    cls,
                    status,
                    errors,
                    method,
                    url,
                    entity,
                    f"Autotask {what} still answered HTTP {status}{_detail(payload, response)} after "
                    f"{attempt + 1} attempts"
                    + (
                        ". Fix: lower the load on the tenant (autotask_budget_share) or retry later"
                        if status == 429
                        else ". Autotask seems down; retry later"
                    ),
                )
            raise self._classify(status, errors, payload, response, method, url, entity, what)

    def _zone_changed(self, old_base: str) -> bool:
        """After a 401: ask zoneInformation again; True when the tenant now lives elsewhere."""
        with self._zone_discovery_lock:
            with self._zone_cache_lock:
                cached = self._zone_cache.get((self._discovery_host, self._username.lower()))
            if cached and cached[0] != old_base and cached[1] > self._clock():
                new_base = cached[0]  # another thread already found the new zone
            else:
                new_base = self._discover_zone()
        if new_base != old_base:
            log.warning("Autotask tenant of %s moved zone: %s -> %s", self._username, old_base, new_base)
            return True
        return False

    def _classify(
        self,
        status: int,
        errors: list[str],
        payload: Any,
        response: requests.Response,
        method: str,
        url: str,
        entity: str | None,
        what: str,
    ) -> AutotaskError:
        """The typed error for a non-retryable answer, with Autotask's messages and a fix."""
        detail = _detail(payload, response)
        joined = " ".join(errors)
        if errors and _AUTH_MESSAGE.search(joined):
            return self._error(
                AutotaskAuthError,
                status,
                errors,
                method,
                url,
                entity,
                f"Autotask refused API user {self._username!r} on {what} (HTTP {status}{detail}). Fix: check the "
                f"login and extra.integration_code of Airflow connection {self.autotask_conn_id!r} and the API "
                "user's security level",
            )
        if status == 404 or (errors and _NOT_FOUND_MESSAGE.search(joined)):
            return self._error(
                AutotaskNotFoundError,
                status,
                errors,
                method,
                url,
                entity,
                f"Autotask {what}: not found (HTTP {status}{detail})",
            )
        if status == 500 and errors or 400 <= status < 500:
            return self._error(
                AutotaskValidationError,
                status,
                errors,
                method,
                url,
                entity,
                f"Autotask rejected {what} (HTTP {status}{detail}). Fix what Autotask names and run again",
            )
        return self._error(
            AutotaskServerError, status, errors, method, url, entity, f"Autotask {what} failed (HTTP {status}{detail})"
        )

    def _error(
        self,
        cls: type[AutotaskError],
        status: int | None,
        errors: list[str],
        method: str,
        url: str,
        entity: str | None,
        message: str,
    ) -> AutotaskError:
        return cls(
            self._scrub(message),
            status=status,
            errors=[self._scrub(e) for e in errors],
            method=method,
            path=_path_of(url),
            entity=entity,
        )

    # -- queries ------------------------------------------------------------------------------------

    def query(
        self,
        entity: str,
        filters: Filter | Iterable[Filter] | None = None,
        include_fields: Iterable[str] | None = None,
        max_records: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield every record of ``entity`` matching ``filters`` (ANDed), in id order, page by page.

        Each next page is fetched by POSTing the same body to ``nextPageUrl``: Autotask requires
        POST for the next page of a POST query (a GET answers 405).
        """
        _check_entity(entity)
        if max_records is not None and max_records <= 0:
            return
        body: dict[str, Any] = {"filter": normalize_filters(filters)}
        if include_fields is not None:
            fields = list(dict.fromkeys(include_fields))
            # Past 500 results Autotask pages by id, which it can only do when id is included.
            if not any(f.lower() == "id" for f in fields):
                fields.insert(0, "id")
            body["IncludeFields"] = fields
        if max_records is not None:
            body["MaxRecords"] = min(MAX_PAGE_SIZE, max_records)
        path: str = f"{entity}/query"
        endpoint = f"{entity}/query"
        yielded = 0
        seen_pages: set[str] = set()
        while True:
            page = self._call("POST", path, endpoint=endpoint, body=body, entity=entity) or {}
            for item in page.get("items") or []:
                yield item
                yielded += 1
                if max_records is not None and yielded >= max_records:
                    return
            next_url = (page.get("pageDetails") or {}).get("nextPageUrl")
            if not next_url:
                return
            if next_url in seen_pages:
                raise AutotaskServerError(
                    f"Autotask {entity} query returned the same nextPageUrl twice; stopping to avoid a loop",
                    method="POST",
                    path=_path_of(next_url),
                    entity=entity,
                )
            seen_pages.add(next_url)
            path = next_url
            endpoint = f"{entity}/query/next"

    def query_all(
        self,
        entity: str,
        filters: Filter | Iterable[Filter] | None = None,
        include_fields: Iterable[str] | None = None,
        max_records: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every matching record as a list (see :meth:`query`)."""
        return list(self.query(entity, filters, include_fields, max_records))

    def count(self, entity: str, filters: Filter | Iterable[Filter] | None = None) -> int:
        """How many records match, in one call (``query/count``)."""
        _check_entity(entity)
        body = {"filter": normalize_filters(filters)}
        answer = self._call("POST", f"{entity}/query/count", endpoint=f"{entity}/query/count", body=body, entity=entity)
        return int((answer or {}).get("queryCount") or 0)

    def get(self, entity: str, id: int) -> dict[str, Any] | None:  # noqa: A002 - Autotask's own word
        """One record by id, or None when it does not exist (Autotask answers ``{"item": null}``)."""
        _check_entity(entity)
        answer = self._call(
            "GET", f"{entity}/{int(id)}", endpoint=f"{entity}/{{id}}", entity=entity, record=f"id {int(id)}"
        )
        return (answer or {}).get("item")

    def query_in(
        self,
        entity: str,
        field: str,
        values: Iterable[Any],
        filters: Filter | Iterable[Filter] | None = None,
        include_fields: Iterable[str] | None = None,
        chunk_size: int = MAX_IN_VALUES,
    ) -> list[dict[str, Any]]:
        """Every record whose ``field`` is one of ``values`` (and matching ``filters``), with
        ``field in [...]`` queries of at most 500 values; none for no values.

        500 because Autotask limits a query to 500 OR conditions, which an ``in`` list becomes (and
        500 ids fill exactly one page). Duplicate values are asked for once.
        """
        if not 1 <= chunk_size <= MAX_IN_VALUES:
            raise ValueError(f"chunk_size must be between 1 and {MAX_IN_VALUES}, got {chunk_size}")
        unique = list(dict.fromkeys(values))
        extra = [filters] if isinstance(filters, dict) else list(filters or [])
        fields = list(include_fields) if include_fields is not None else None
        records: list[dict[str, Any]] = []
        for start in range(0, len(unique), chunk_size):
            chunk = unique[start : start + chunk_size]
            records.extend(self.query(entity, [in_(field, chunk), *extra], fields))
        return records

    def get_many(
        self,
        entity: str,
        ids: Iterable[int],
        chunk_size: int = MAX_IN_VALUES,
        include_fields: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Records for many ids (``id in [...]`` queries of at most 500, see :meth:`query_in`).
        Missing ids are simply absent from the result."""
        return self.query_in(entity, "id", (int(i) for i in ids), include_fields=include_fields, chunk_size=chunk_size)

    # -- writes -------------------------------------------------------------------------------------

    def create(self, entity: str, fields: dict[str, Any]) -> int:
        """Create a record; returns its id (``itemId``)."""
        _check_entity(entity)
        answer = self._call("POST", entity, endpoint=entity, body=fields, write=True, creates=True, entity=entity)
        return _item_id(answer, entity)

    def update(self, entity: str, id: int, fields: dict[str, Any]) -> int:  # noqa: A002
        """Change some fields of a record (PATCH: the others stay); returns its id."""
        _check_entity(entity)
        body = {**fields, "id": int(id)}
        answer = self._call(
            "PATCH", entity, endpoint=entity, body=body, write=True, entity=entity, record=f"id {int(id)}"
        )
        return _item_id(answer, entity)

    def update_many(
        self,
        entity: str,
        changes: Iterable[tuple[int, dict[str, Any]]],
        on_written: Callable[[int], None] | None = None,
    ) -> dict[int, AutotaskError]:
        """PATCH many records, ``MAX_CONCURRENT_PER_ENDPOINT`` at a time (Autotask has no bulk update).

        Returns Autotask's refusal of each record it refused (a validation error, a record not
        found: what concerns that record only), by id; the others were written, and ``on_written``
        was called with each of their ids as it was (in the calling thread), so a caller can
        remember its progress. Anything that concerns every record (credentials, throttling past
        the retries, Autotask down, no answer) raises: the caller's task fails, and its retry
        resumes with what is left.
        """

        def write(change: tuple[int, dict[str, Any]]) -> tuple[int, AutotaskError | None]:
            record_id, fields = change
            try:
                self.update(entity, record_id, fields)
            except AutotaskError as exc:
                if not record_refused(exc):
                    raise
                return int(record_id), exc
            return int(record_id), None

        refused: dict[int, AutotaskError] = {}
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_PER_ENDPOINT) as pool:
            for record_id, problem in pool.map(write, list(changes)):
                if problem is not None:
                    refused[record_id] = problem
                elif on_written is not None:
                    on_written(record_id)
        return refused

    def create_child(self, parent_entity: str, parent_id: int, child: str, fields: dict[str, Any]) -> int:
        """Create a child record through its parent, e.g. ``("Companies", 0, "ToDos")``; returns its id."""
        _check_entity(parent_entity)
        _check_entity(child)
        path = f"{parent_entity}/{int(parent_id)}/{child}"
        answer = self._call(
            "POST",
            path,
            endpoint=f"{parent_entity}/{{id}}/{child}",
            body=fields,
            write=True,
            creates=True,
            entity=f"{parent_entity}/{child}",
            record=f"parent id {int(parent_id)}",
        )
        return _item_id(answer, f"{parent_entity} {int(parent_id)} {child}")

    def update_child(
        self,
        parent_entity: str,
        parent_id: int,
        child: str,
        id: int,
        fields: dict[str, Any],  # noqa: A002
    ) -> int:
        """PATCH a child record through its parent, e.g. a purchase order item; returns its id."""
        _check_entity(parent_entity)
        _check_entity(child)
        path = f"{parent_entity}/{int(parent_id)}/{child}"
        answer = self._call(
            "PATCH",
            path,
            endpoint=f"{parent_entity}/{{id}}/{child}",
            body={**fields, "id": int(id)},
            write=True,
            entity=f"{parent_entity}/{child}",
            record=f"parent id {int(parent_id)}, id {int(id)}",
        )
        return _item_id(answer, f"{parent_entity} {int(parent_id)} {child} {int(id)}")

    def create_todo(
        self,
        company_id: int,
        action_type: int,
        resource_id: int,
        description: str,
        start: datetime,
        end: datetime,
    ) -> int:
        """Create a to-do (CompanyToDos) on a company, assigned to a resource; returns its id.

        ``start``/``end`` are sent as UTC; a naive datetime is taken to be UTC already.
        """
        fields = {
            "companyID": int(company_id),
            "actionType": int(action_type),
            "assignedToResourceID": int(resource_id),
            "activityDescription": description,
            "startDateTime": start,
            "endDateTime": end,
        }
        return self.create_child("Companies", company_id, "ToDos", fields)

    # -- entity information and picklists -------------------------------------------------------------

    def entity_fields(self, entity: str) -> list[dict[str, Any]]:
        """``entityInformation/fields`` of an entity (names, types, read-only flags, picklists); cached."""
        _check_entity(entity)
        key = entity.lower()
        with self._fields_lock:
            cached = self._fields_cache.get(key)
        if cached is not None:
            return cached
        answer = self._call(
            "GET",
            f"{entity}/entityInformation/fields",
            endpoint=f"{entity}/entityInformation/fields",
            entity=entity,
        )
        fields = list((answer or {}).get("fields") or [])
        with self._fields_lock:
            self._fields_cache[key] = fields
        return fields

    def _field_info(self, entity: str, field: str) -> dict[str, Any]:
        fields = self.entity_fields(entity)
        for info in fields:
            if str(info.get("name", "")).lower() == field.lower():
                if not info.get("isPickList"):
                    raise AutotaskPicklistError(
                        f"Autotask {entity}.{info['name']} is not a picklist field", entity=entity
                    )
                return info
        picklists = sorted(str(f.get("name")) for f in fields if f.get("isPickList"))
        raise AutotaskPicklistError(
            f"Autotask {entity} has no field {field!r}; its picklist fields are {picklists}", entity=entity
        )

    def picklist(self, entity: str, field: str) -> dict[str, str]:
        """A picklist as ``{value (string, as Autotask sends it): label}``, inactive values included."""
        info = self._field_info(entity, field)
        return {str(v.get("value")): str(v.get("label")) for v in info.get("picklistValues") or []}

    def picklist_value(self, entity: str, field: str, label: str) -> int | str:
        """The stored value of a picklist label (case-insensitive), e.g. ("PurchaseOrders", "status", "Submitted").

        Active values win over inactive ones with the same label. The value is an int for integer fields.
        """
        info = self._field_info(entity, field)
        values = info.get("picklistValues") or []
        wanted = label.strip().lower()
        matches = [v for v in values if str(v.get("label", "")).strip().lower() == wanted]
        if not matches:
            labels = [str(v.get("label")) for v in values if v.get("isActive", True)]
            raise AutotaskPicklistError(
                f"Autotask {entity}.{info.get('name')} has no picklist label {label!r}; valid labels: {labels}",
                entity=entity,
            )
        matches.sort(key=lambda v: not v.get("isActive", True))
        value = str(matches[0].get("value"))
        data_type = str(info.get("dataType") or "").lower()
        numeric = data_type in ("integer", "int", "short", "long", "byte") if data_type else value.lstrip("-").isdigit()
        if numeric:
            try:
                return int(value)
            except ValueError:
                return value
        return value

    # -- Airflow UI ---------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Zone discovery plus one authenticated call (the "Test" button of the connection form)."""
        try:
            zone = self.zone_url()
            info = self.threshold_information()
        except AtqboError as exc:
            return False, str(exc)
        return True, (
            f"Connected to {zone}; {info.get('currentTimeframeRequestCount')} of "
            f"{info.get('externalRequestThreshold')} requests used this hour"
        )


# --- small helpers ------------------------------------------------------------------------------------


def record_refused(exc: AutotaskError) -> bool:
    """Autotask answered about this one record (a refusal a person fixes on it), rather than failing
    for every record: not credentials (401), not throttling (429), not a server that is down or
    did not answer."""
    return exc.status is not None and exc.status not in (401, 429) and exc.status < 502


def _check_entity(entity: str) -> None:
    if not isinstance(entity, str) or not _ENTITY_NAME.match(entity):
        raise ValueError(f"not an Autotask entity name: {entity!r} (e.g. 'Companies', 'Invoices')")


def _zone_api_base(zone_url: str) -> str:
    """``https://ws15.autotask.net/atservicesrest/`` -> ``https://ws15.autotask.net/atservicesrest/v1.0``."""
    base = zone_url.strip().rstrip("/")
    if not base.lower().endswith("/atservicesrest"):
        base = f"{base}/atservicesrest"
    return f"{base}/{API_VERSION_PATH}"


def _entity_of_url(url: str) -> str:
    """The entity of an absolute API URL (a nextPageUrl), for the per-endpoint cap."""
    path = urlsplit(url).path
    match = re.search(r"/v1\.0/([^/?]+)", path, re.IGNORECASE)
    return match.group(1) if match else path


def _path_of(url: str) -> str:
    """The URL's path without host or query string (query strings may hold filter values)."""
    return urlsplit(url).path if "://" in url else url.split("?", 1)[0]


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _errors_of(payload: Any) -> list[str]:
    """Autotask's ``errors`` strings (only the ``errors`` key: ASP.NET's ``Message`` is not a verdict)."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key.lower() == "errors" and isinstance(value, list):
                return [str(e) for e in value if e is not None and str(e).strip()]
    return []


def _detail(payload: Any, response: requests.Response) -> str:
    errors = _errors_of(payload)
    if errors:
        return ": " + "; ".join(errors)
    if isinstance(payload, dict):
        message = next((v for k, v in payload.items() if k.lower() == "message"), None)
        if message:
            return f": {message}"
    reason = (response.reason or "").strip()
    return f" {reason}" if reason else ""


def _item_id(answer: Any, entity: str) -> int:
    item_id = (answer or {}).get("itemId") if isinstance(answer, dict) else None
    if item_id is None:
        raise AutotaskServerError(f"Autotask write of {entity} answered without an itemId: {answer!r}", entity=entity)
    return int(item_id)


def _connection_refused(exc: BaseException) -> bool:
    """Whether the request surely never reached the server (refused or failed to connect)."""
    import urllib3.exceptions

    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (ConnectionRefusedError, urllib3.exceptions.NewConnectionError)):
            return True
        if isinstance(current, urllib3.exceptions.MaxRetryError):
            todo.append(current.reason)
        if isinstance(current, BaseException):
            todo.extend(a for a in current.args if isinstance(a, BaseException))
            todo.append(current.__cause__)
            todo.append(current.__context__)
    return False
