"""How one call reaches QuickBooks Online: the foundation of ``QuickBooksOnlineHook``.

:class:`QboClient` reads the Airflow connection, keeps the OAuth tokens valid through
``qbo_tokens`` (which stores them in the state ledger, so concurrent tasks never lose a rotated
refresh token), and sends every API call the one way: paced under the realm's limits, with the
``requestid`` idempotency key on writes, retried when it may succeed later (throttling, 5xx, no
answer; "one name at a time" for writes), and turned into a typed fault otherwise. The hook
(``atqbo.hooks.qbo``) builds QBO's vocabulary on top: queries, records, batch, CDC.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import requests
from airflow.sdk import BaseHook

from atqbo.exceptions import missing_connection_error
from atqbo.hooks.metrics import api_call
from atqbo.hooks.qbo_connection import QboConnectionConfig
from atqbo.hooks.qbo_fault_parsing import build_fault, fault_from_payload, fault_from_response, redact
from atqbo.hooks.qbo_faults import NO_ANSWER_ERRORS, QboFault, QboOneNameAtATime, QboServerError, QboThrottled
from atqbo.hooks.qbo_limits import DEFAULT_TIMEOUT_S, MAX_CONCURRENT_CALLS, THROTTLE_WAIT_S, WRITE_MAY_COMMIT_S
from atqbo.hooks.qbo_pacing import RealmPacer, pacer_for
from atqbo.hooks.qbo_requestids import derive_requestid, new_requestid
from atqbo.hooks.qbo_tokens import TokenEndpoint, TokenManager
from atqbo.hooks.retry import Backoff, RetryLater, call_with_retries, retry_after_seconds
from atqbo.ledger import Ledger

_JSON = "application/json"


class CallTally:
    """QBO calls counted across every hook of this process while it is open (``counting_calls``):
    the calls of hooks a step makes for itself (one per QBO company, BEY-07) included."""

    def __init__(self) -> None:
        self._calls = 0

    @property
    def calls(self) -> int:
        with _tallies_lock:
            return self._calls


_tallies: list[CallTally] = []
_tallies_lock = threading.Lock()


@contextmanager
def counting_calls() -> Iterator[CallTally]:
    """Count every QBO API call any hook of this process sends meanwhile (retries included, token
    refreshes not), whichever thread sends it."""
    tally = CallTally()
    with _tallies_lock:
        _tallies.append(tally)
    try:
        yield tally
    finally:
        with _tallies_lock:
            _tallies.remove(tally)


def _count_call() -> None:
    with _tallies_lock:
        for tally in _tallies:
            tally._calls += 1


@dataclass(frozen=True)
class _ApiCall:
    """One API call as sent on every attempt: a retry sends the same ``requestid``."""

    method: str
    url: str
    query: dict[str, Any]
    body: Any
    data: str | None
    content_type: str
    requestid: str | None
    operation: str
    is_batch: bool


class QboClient(BaseHook):
    """The way every call reaches the QBO Accounting API v3 for one company (realm).

    :param qbo_conn_id: Airflow connection of type ``quickbooks_online``.
    :param state_conn_id: connection of the state ledger holding the OAuth tokens.
    :param ledger: an ``atqbo.ledger.Ledger`` to use instead of opening ``state_conn_id``.
    :param max_retries: retries of a call after 429, 5xx, a timeout or a dropped connection.
    :param sleep: how to wait between retries (tests pass a faster one).
    :param backoff_base: first backoff step in seconds; ``backoff_max`` caps every wait (60 s:
        Intuit's guidance after a 429).
    :param one_name_retries: retries of "You can only add or edit one name at a time" (ERR-02),
        ``one_name_pause`` seconds apart.
    :param max_concurrent: this process's cap on calls in flight to the realm (QBO allows 10).
    :param token_margin: refresh the access token when it has less than this many seconds left.
    :param token_lease_seconds: how long a worker may hold the token-refresh lease.
    :param rng: the source of the retries' jitter (tests may pass a seeded one).
    """

    def __init__(
        self,
        qbo_conn_id: str = "qbo_default",
        state_conn_id: str = "atqbo_state",
        ledger: Any | None = None,
        max_retries: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        *,
        backoff_base: float = 1.0,
        backoff_max: float = THROTTLE_WAIT_S,
        one_name_retries: int = 3,
        one_name_pause: float = 5.0,
        max_concurrent: int = MAX_CONCURRENT_CALLS,
        token_margin: float = 300.0,
        token_lease_seconds: float | None = None,
        rng: random.Random | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.qbo_conn_id = qbo_conn_id
        self.state_conn_id = state_conn_id
        self._ledger = ledger
        self.max_retries = max_retries
        self.sleep = sleep
        self._rng = rng or random.Random()
        self.backoff = Backoff(base=backoff_base, cap=backoff_max, rng=self._rng)
        self.one_name_retries = one_name_retries
        self.one_name_pause = one_name_pause
        self.max_concurrent = max(1, min(max_concurrent, MAX_CONCURRENT_CALLS))
        self.token_margin = token_margin
        self.token_lease_seconds = token_lease_seconds
        self._api_calls = 0
        self._api_calls_lock = threading.Lock()
        self._session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(qbo_conn_id={self.qbo_conn_id!r})"

    # -- connection, session, tokens ---------------------------------------------------------

    @cached_property
    def config(self) -> QboConnectionConfig:
        """The connection's settings, checked; raises ``AtqboConfigError`` naming what is missing."""
        try:
            conn = self.get_connection(self.qbo_conn_id)
        except Exception as exc:  # Airflow's not-found type differs by where it runs
            raise missing_connection_error(self.qbo_conn_id, "the QBO app and company", "qbo_conn_id", exc) from exc
        return QboConnectionConfig.from_connection(conn, self.qbo_conn_id)

    def get_conn(self) -> requests.Session:
        """The hook's HTTP session (one per hook; auth headers are added per call)."""
        if self._session is None:
            session = requests.Session()
            session.headers.update({"Accept": _JSON, "User-Agent": "atqbo-airflow"})
            self._session = session
        return self._session

    @property
    def ledger(self) -> Any:
        if self._ledger is None:
            self._ledger = Ledger.from_conn_id(self.state_conn_id)
        return self._ledger

    @cached_property
    def tokens(self) -> TokenManager:
        cfg = self.config
        endpoint = TokenEndpoint(
            session=self.get_conn(),
            token_url=cfg.token_url,
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            timeout=cfg.timeout,
            backoff=self.backoff,
            max_retries=self.max_retries,
            sleep=self.sleep,
        )
        lease = self.token_lease_seconds if self.token_lease_seconds is not None else cfg.timeout * 2 + 30
        return TokenManager(
            ledger=self.ledger,
            realm_id=cfg.realm_id,
            endpoint=endpoint,
            connection_refresh_token=cfg.refresh_token,
            conn_id=cfg.conn_id,
            margin_seconds=self.token_margin,
            lease_seconds=lease,
        )

    @property
    def realm_id(self) -> str:
        return self.config.realm_id

    @property
    def write_may_commit_s(self) -> float:
        """How long after a write was last sent QBO may still commit it (docs/api-facts.md 2.8): the
        published bound, or longer when the connection's ``timeout`` lets a request arrive later."""
        return max(WRITE_MAY_COMMIT_S, self.config.timeout + WRITE_MAY_COMMIT_S - DEFAULT_TIMEOUT_S)

    @property
    def _pacer(self) -> RealmPacer:
        return pacer_for(self.config.host, self.config.realm_id, self.max_concurrent)

    @property
    def api_calls(self) -> int:
        """HTTP requests this hook sent to the QBO API, retries included (token refreshes are not)."""
        with self._api_calls_lock:
            return self._api_calls

    def _secrets(self) -> list[str | None]:
        cfg = self.config
        return [cfg.client_secret, cfg.refresh_token, *self.tokens.known_secrets()]

    # -- the one place that sends API calls ---------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.config.host}/v3/company/{self.config.realm_id}/{path.lstrip('/')}"

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        data: str | None = None,
        content_type: str = _JSON,
        requestid: str | None = None,
        operation: str = "",
        is_batch: bool = False,
        before_send: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Send one API call and return its JSON; retry what may succeed later; raise typed faults.

        Writes pass a ``requestid``: every retry sends the same one, so QBO applies the write once
        even when an earlier attempt committed before its answer was lost. ``before_send`` runs
        right before each attempt goes out (once it has its slot): a write may commit for
        ``write_may_commit_s`` after that, and the caller records when (BEY-01).
        """
        query: dict[str, Any] = {"minorversion": self.config.minorversion, **(params or {})}
        if requestid is not None:
            query["requestid"] = requestid
        operation = operation or f"{method} {path}"
        call = _ApiCall(method, self._url(path), query, body, data, content_type, requestid, operation, is_batch)
        refreshed_after_401 = False  # once per call, not once per attempt

        def attempt(number: int) -> dict[str, Any]:
            nonlocal refreshed_after_401
            while True:
                token = self.tokens.access_token()
                response = self._send(call, token, number, before_send)
                if response.status_code < 300:
                    return self._payload_of(response, call)
                fault = fault_from_response(
                    response, requestid=call.requestid, operation=call.operation, secrets=self._secrets()
                )
                if response.status_code == 401 and not refreshed_after_401:
                    # the access token was refused before its expiry (revoked, clock skew): refresh once
                    self.log.info("QBO %s: access token refused (HTTP 401); refreshing it once", operation)
                    self.tokens.access_token_after_rejection(token)
                    refreshed_after_401 = True
                    continue
                if isinstance(fault, QboThrottled) or response.status_code >= 500:
                    raise self._retry_later(fault, response)
                raise fault

        return call_with_retries(
            attempt,
            retries=self.max_retries,
            wait=self.backoff.wait_after,
            sleep=self.sleep,
            before_retry=lambda failure, retry, seconds: self.log.warning(
                "QBO %s: %s; retry %d/%d in %.1fs", operation, failure, retry, self.max_retries, seconds
            ),
        )

    def _send(
        self, call: _ApiCall, token: str, attempt: int, before_send: Callable[[], None] | None = None
    ) -> requests.Response:
        """One HTTP request in the realm's pace; no answer at all is worth another attempt."""
        headers = {"Authorization": f"Bearer {token}", "Accept": _JSON}
        if call.body is not None or call.data is not None:
            headers["Content-Type"] = call.content_type
        try:
            with self._pacer.slot(call.is_batch):
                if before_send is not None:
                    before_send()
                with self._api_calls_lock:
                    self._api_calls += 1
                _count_call()
                api_call("qbo")
                return self.get_conn().request(
                    call.method,
                    call.url,
                    params=call.query,
                    json=call.body if call.data is None else None,
                    data=call.data.encode("utf-8") if call.data is not None else None,
                    headers=headers,
                    timeout=self.config.timeout,
                )
        except NO_ANSWER_ERRORS as exc:
            give_up = QboServerError(
                f"no answer from QBO after {attempt + 1} attempts ({type(exc).__name__})",
                requestid=call.requestid,
                operation=call.operation,
            )
            raise RetryLater(give_up, type(exc).__name__) from None

    @staticmethod
    def _retry_later(fault: QboFault, response: requests.Response) -> RetryLater:
        """Throttling waits as the server asks (or climbs longer); a 5xx backs off plainly."""
        throttled = isinstance(fault, QboThrottled)
        return RetryLater(
            fault,
            f"HTTP {response.status_code} (code {fault.code or '-'}, intuit_tid {fault.intuit_tid or '-'})",
            retry_after=retry_after_seconds(response) if throttled else None,
            throttled=throttled,
        )

    def _payload_of(self, response: requests.Response, call: _ApiCall) -> dict[str, Any]:
        """The JSON of a 2xx answer; a ``Fault`` inside it (QBO sends some with 200) is raised typed."""
        try:
            payload = response.json()
        except ValueError:
            raise QboServerError(
                f"QBO answered HTTP {response.status_code} with a body that is not JSON",
                detail=redact(response.text[:300], self._secrets()),
                status=response.status_code,
                intuit_tid=response.headers.get("intuit_tid"),
                requestid=call.requestid,
                operation=call.operation,
            ) from None
        if not isinstance(payload, dict):
            return {"value": payload}
        fault = payload.get("Fault")
        if fault:
            raise build_fault(
                fault_from_payload(fault),
                status=response.status_code,
                intuit_tid=response.headers.get("intuit_tid"),
                requestid=call.requestid,
                operation=call.operation,
                secrets=self._secrets(),
            )
        return payload

    def _write(
        self,
        path: str,
        body: Any,
        *,
        requestid: str | None,
        operation: str,
        params: Mapping[str, Any] | None = None,
        is_batch: bool = False,
        before_send: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """A POST that changes data; "one name at a time" faults are retried after a pause (ERR-02).

        That fault means nothing was written, so its retry gets a new requestid (derived, so a
        re-run derives the same one again); retries of lost answers keep the same requestid.
        """
        requestid = requestid or new_requestid()

        def attempt(number: int) -> dict[str, Any]:
            current = requestid if number == 0 else derive_requestid(requestid, f"one-name-{number}")
            return self._request(
                "POST",
                path,
                params=params,
                body=body,
                requestid=current,
                operation=operation,
                is_batch=is_batch,
                before_send=before_send,
            )

        return call_with_retries(
            attempt,
            retries=self.one_name_retries,
            retry_on=QboOneNameAtATime,
            wait=lambda number, fault: self.one_name_pause * self._rng.uniform(1.0, 1.5),
            sleep=self.sleep,
            before_retry=lambda fault, retry, seconds: self.log.info(
                "QBO %s: another name-list write was in progress; retry %d/%d in %.1fs",
                operation,
                retry,
                self.one_name_retries,
                seconds,
            ),
        )
