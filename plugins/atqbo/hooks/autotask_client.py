"""How one call reaches Autotask PSA: the foundation of ``AutotaskHook``.

:class:`AutotaskClient` reads the Airflow connection, finds the tenant's zone (``autotask_zones``),
authenticates every call (``ApiIntegrationCode``, ``UserName``, ``Secret``, plus
``ImpersonationResourceId`` on writes when the connection names one), paces calls under the
tenant's limits (``autotask_pacing``) and sends each one the one way:

* throttling (429), gateway errors and dropped connections are retried with exponential backoff
  and jitter (``retry``), honouring ``Retry-After``; validation errors (which Autotask sends as
  HTTP 500 with an ``errors`` array) are not;
* a create is only retried when it surely did not happen; otherwise
  :class:`AutotaskAmbiguousWriteError` tells the caller to look before creating again;
* a 401 asks for the zone again and, if the tenant moved, sends the call once more there;
* anything else becomes the typed error of ``autotask_errors``, with Autotask's own messages.

Autotask answers a bad user name or integration code with HTTP 500 and a bad secret with 401;
both become :class:`AutotaskAuthError` naming the fix. Secrets never appear in logs, exception
messages or the hook's repr. The hook (``atqbo.hooks.autotask``) builds Autotask's vocabulary on
top: queries, writes, picklists.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from airflow.sdk import BaseHook

from atqbo.exceptions import missing_connection_error
from atqbo.hooks.autotask_connection import AutotaskCredentials
from atqbo.hooks.autotask_errors import (
    AutotaskAmbiguousWriteError,
    AutotaskAuthError,
    AutotaskError,
    AutotaskServerError,
    AutotaskThrottledError,
    connection_refused,
    detail_of,
    errors_of,
    is_retryable,
    json_or_none,
    path_of,
    refusal,
)
from atqbo.hooks.autotask_filters import body_json
from atqbo.hooks.autotask_pacing import RequestBudget, endpoint_slot
from atqbo.hooks.autotask_zones import ZONES, ZoneKey, ask_zone_information, zone_of
from atqbo.hooks.metrics import api_call
from atqbo.hooks.retry import Backoff, RetryLater, call_with_retries, retry_after_seconds

log = logging.getLogger("atqbo.hooks.autotask")  # the hook's logger: its lines keep the name operators know

T = TypeVar("T")


@dataclass(frozen=True)
class _ApiCall:
    """One API call as sent on every attempt. ``endpoint`` labels it in ``calls_made`` and the logs;
    ``entity`` and ``record`` (e.g. "id 42") name what it is about in error messages."""

    method: str
    endpoint: str
    data: str | None
    write: bool
    creates: bool
    entity: str | None
    record: str | None

    @property
    def what(self) -> str:
        return f"{self.method} {self.endpoint}" + (f" ({self.record})" if self.record else "")


class AutotaskClient(BaseHook):
    """The way every call reaches the Autotask PSA REST API for one Airflow connection (conn type ``autotask``).

    Thread safe: one hook may be shared by worker threads; the per-endpoint cap of 3 concurrent
    calls holds for all hooks of the process with the same integration code.

    :param budget_share: share (0.05..1) of the tenant's hourly request threshold this hook may
        use before it waits; the ``autotask_budget_share`` setting.
    :param max_retries: retries after the first attempt for throttling, 5xx and dropped connections.
    :param backoff_base: first backoff in seconds; doubled per retry, capped at ``max_backoff``.
    :param max_retry_after: longest ``Retry-After`` honoured for one wait.
    :param budget_poll_interval: seconds between ThresholdInformation polls while the budget is used up.
    :param budget_max_wait: give up with :class:`AutotaskBudgetExhaustedError` after waiting this long.
    :param sleep: how the hook waits (tests pass a recorder); ``clock`` times the zone cache;
        ``rng`` is the source of the backoff's jitter.
    """

    def __init__(
        self,
        autotask_conn_id: str = "autotask_default",
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
        super().__init__()
        if not 0.05 <= budget_share <= 1:
            raise ValueError(f"budget_share must be between 0.05 and 1, got {budget_share}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.autotask_conn_id = autotask_conn_id
        self.budget_share = float(budget_share)
        self.max_retries = max_retries
        # A 429 without Retry-After climbs like any failure: the longer climb is Intuit's guidance, for QBO.
        self.backoff = Backoff(
            base=backoff_base,
            cap=max_backoff,
            retry_after_cap=max_retry_after,
            throttle_head_start=0,
            rng=rng or random.Random(),
        )
        self._sleep = sleep
        self._clock = clock
        self._budget = RequestBudget(
            self.budget_share, poll_interval=budget_poll_interval, max_wait=budget_max_wait, sleep=sleep
        )
        self._conn_lock = threading.Lock()
        self._creds: AutotaskCredentials | None = None
        self._session: requests.Session | None = None
        self._stats_lock = threading.Lock()
        self.calls_made: Counter[str] = Counter()  # "METHOD endpoint" -> HTTP requests sent, retries included
        # entityInformation/fields per entity (lower case), read once per hook for the picklists
        self._fields_lock = threading.Lock()
        self._fields_cache: dict[str, list[dict[str, Any]]] = {}

    # -- connection and session ---------------------------------------------------------------------

    def _credentials(self) -> AutotaskCredentials:
        if self._creds is None:
            with self._conn_lock:
                if self._creds is None:
                    try:
                        conn = self.get_connection(self.autotask_conn_id)
                    except Exception as exc:  # Airflow's not-found type differs by where it runs
                        raise missing_connection_error(
                            self.autotask_conn_id, "the Autotask API user", "autotask_conn_id", exc
                        ) from exc
                    self._creds = AutotaskCredentials.from_connection(conn, self.autotask_conn_id)
        return self._creds

    def get_conn(self) -> requests.Session:
        """The hook's one ``requests.Session`` (auth headers are added per call, never stored on it)."""
        self._credentials()
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

    def __enter__(self) -> AutotaskClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        user = self._creds.username if self._creds is not None else "?"
        return f"<{type(self).__name__} conn_id={self.autotask_conn_id!r} user={user!r}>"

    __str__ = __repr__

    # -- zone discovery -----------------------------------------------------------------------------

    @classmethod
    def clear_zone_cache(cls) -> None:
        """Forget every discovered zone (tests; or after moving a tenant by hand)."""
        ZONES.clear()

    def _zone_key(self) -> ZoneKey:
        credentials = self._credentials()
        return (credentials.discovery_host, credentials.username.lower())

    def zone_url(self) -> str:
        """The API base URL of the tenant's zone, e.g. ``https://webservices15.autotask.net/atservicesrest/v1.0``."""
        return ZONES.url(self._zone_key(), self._clock, self._discover_zone)

    def _zone_changed(self, old_base: str) -> bool:
        """After a 401: ask zoneInformation again; True when the tenant now lives elsewhere."""
        new_base = ZONES.rediscover(self._zone_key(), old_base, self._clock, self._discover_zone)
        if new_base != old_base:
            log.warning("Autotask tenant of %s moved zone: %s -> %s", self._credentials().username, old_base, new_base)
            return True
        return False

    def _discover_zone(self) -> str:
        """Ask zoneInformation for the zone's API base URL (counted like any call, retried like one)."""
        credentials = self._credentials()

        def attempt(number: int) -> requests.Response:
            try:
                return ask_zone_information(self.get_conn(), credentials, self.autotask_conn_id, number)
            finally:
                self._count("GET", "zoneInformation")

        response = self._with_retries(attempt, "GET zoneInformation")
        base = zone_of(response, credentials, self.autotask_conn_id)
        log.info("Autotask zone for API user %s: %s", credentials.username, base)
        return base

    # -- bookkeeping and pacing (BEY-05) ------------------------------------------------------------

    def _count(self, method: str, endpoint: str) -> None:
        with self._stats_lock:
            self.calls_made[f"{method} {endpoint}"] += 1
        api_call("autotask")

    @property
    def total_calls(self) -> int:
        """HTTP requests this hook sent to Autotask, zone discovery and retries included."""
        with self._stats_lock:
            return sum(self.calls_made.values())

    @property
    def budget_waited_s(self) -> float:
        """Seconds this hook waited for the tenant's request budget."""
        return self._budget.waited_s

    def warm_up(self) -> None:
        """Find the zone and check the budget now, before the first call needs them (BEY-05: a
        writer that starts on the first QBO answer does not wait for them then)."""
        self.zone_url()
        self._budget.before_call(self.threshold_information)

    def threshold_information(self) -> dict[str, Any]:
        """``{"externalRequestThreshold", "requestThresholdTimeframe", "currentTimeframeRequestCount"}``."""
        return self._call("GET", "ThresholdInformation", endpoint="ThresholdInformation", paced=False)

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
        credentials = self._credentials()
        if paced:
            self._budget.before_call(self.threshold_information)
        data = body_json(body) if body is not None else None
        call = _ApiCall(method, endpoint, data, write, creates, entity, record)
        slot = endpoint_slot(credentials.integration_code, path)
        rezoned = False  # once per call, not once per attempt

        def attempt(number: int) -> Any:
            nonlocal path, rezoned
            while True:
                base = self.zone_url()
                url = path if "://" in path else f"{base}/{path}"
                response = self._send(call, url, slot, number)
                if response.status_code == 401 and not rezoned and self._zone_changed(base):
                    rezoned = True
                    if "://" in path and path.lower().startswith(base.lower()):
                        path = self.zone_url() + path[len(base) :]  # a nextPageUrl of the old zone
                    continue
                return self._answer(call, url, response, number)

        return self._with_retries(attempt, call.what)

    def _with_retries(self, attempt: Callable[[int], T], what: str) -> T:
        """``attempt`` under the hook's retry policy, each retry logged as a warning."""
        return call_with_retries(
            attempt,
            retries=self.max_retries,
            wait=self.backoff.wait_after,
            sleep=self._sleep,
            before_retry=lambda failure, retry, seconds: log.warning(
                "Autotask %s failed (%s); retry %d/%d in %.1f s", what, failure, retry, self.max_retries, seconds
            ),
        )

    def _send(self, call: _ApiCall, url: str, slot: threading.BoundedSemaphore, attempt: int) -> requests.Response:
        """One HTTP request within the endpoint's cap; no answer is retried unless a create may have applied."""
        credentials = self._credentials()
        try:
            with slot:
                self._count(call.method, call.endpoint)
                response = self.get_conn().request(
                    call.method,
                    url,
                    data=call.data,
                    headers=credentials.headers(call.write),
                    timeout=(min(10.0, credentials.timeout), credentials.timeout),
                )
        except requests.RequestException as exc:
            log.debug("Autotask %s -> %s", call.what, type(exc).__name__)
            surely_not_sent = isinstance(exc, requests.ConnectTimeout) or connection_refused(exc)
            if call.creates and not surely_not_sent:
                raise AutotaskAmbiguousWriteError(
                    f"Autotask {call.what}: the connection failed ({type(exc).__name__}) after the request was "
                    f"sent, so the {call.entity or 'Autotask'} record may or may not have been created. Fix: look it "
                    "up before creating it again",
                    method=call.method,
                    path=path_of(url),
                    entity=call.entity,
                ) from None
            give_up = AutotaskServerError(
                f"Autotask {call.what}: no answer after {attempt + 1} attempts ({type(exc).__name__}); "
                "check the network and Autotask's status page",
                method=call.method,
                path=path_of(url),
                entity=call.entity,
            )
            raise RetryLater(give_up, type(exc).__name__) from None
        log.debug("Autotask %s %s -> %s", call.method, path_of(url), response.status_code)
        return response

    def _answer(self, call: _ApiCall, url: str, response: requests.Response, attempt: int) -> Any:
        """The JSON of a 2xx answer; otherwise the typed error, or :class:`RetryLater` when worth it."""
        status = response.status_code
        if 200 <= status < 300:
            return json_or_none(response)
        payload = json_or_none(response)
        errors = errors_of(payload)
        detail = detail_of(payload, response)
        if status == 401:
            raise self._error(
                AutotaskAuthError,
                call,
                url,
                response,
                errors,
                f"Autotask refused the Secret of API user {self._credentials().username!r} (HTTP 401). Fix: put "
                f"the API user's current Secret in the password of Airflow connection {self.autotask_conn_id!r}",
            )
        if not is_retryable(status, errors):
            cls, message = refusal(
                status, errors, detail, call.what, user=self._credentials().username, conn_id=self.autotask_conn_id
            )
            raise self._error(cls, call, url, response, errors, message)
        # 429 and 503 are refusals before any work; other 5xx on a create may hide a commit.
        if call.creates and status not in (429, 503):
            raise AutotaskAmbiguousWriteError(
                self._credentials().scrub(
                    f"Autotask {call.what} answered HTTP {status}{detail}; the {call.entity or 'Autotask'} record "
                    "may or may not have been created. Fix: look it up before creating it again"
                ),
                status=status,
                errors=errors,
                method=call.method,
                path=path_of(url),
                entity=call.entity,
            )
        cls = AutotaskThrottledError if status == 429 else AutotaskServerError
        fix = (
            "Fix: lower the load on the tenant (autotask_budget_share) or retry later"
            if status == 429
            else "Autotask seems down; retry later"
        )
        message = f"Autotask {call.what} still answered HTTP {status}{detail} after {attempt + 1} attempts. {fix}"
        give_up = self._error(cls, call, url, response, errors, message)
        raise RetryLater(give_up, f"HTTP {status}", retry_after=retry_after_seconds(response), throttled=status == 429)

    def _error(
        self,
        cls: type[AutotaskError],
        call: _ApiCall,
        url: str,
        response: requests.Response,
        errors: list[str],
        message: str,
    ) -> AutotaskError:
        """A typed error of ``call``, its message and Autotask's ``errors`` scrubbed of secrets."""
        scrub = self._credentials().scrub
        return cls(
            scrub(message),
            status=response.status_code,
            errors=[scrub(e) for e in errors],
            method=call.method,
            path=path_of(url),
            entity=call.entity,
        )
