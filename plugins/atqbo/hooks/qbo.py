"""QuickBooks Online Accounting API v3 client for atqbo: ``QuickBooksOnlineHook`` and its typed faults.

The hook owns every call atqbo makes to QBO: OAuth 2.0 tokens (through ``qbo_tokens``, which keeps
them in the state ledger so that concurrent tasks never lose a rotated refresh token), the query
language and its paging, create/read/sparse update/void/delete, batch, CDC and preferences; the
``requestid`` idempotency key on every write; pacing under QBO's limits; retries of throttling,
server errors and dropped connections; and turning QBO faults into exceptions by fault code, so
callers branch on types rather than on message text.

The Airflow connection (conn type ``quickbooks_online``, default ``qbo_default``): host = API base
URL, login = client id, password = client secret, extra = {"realm_id", "refresh_token" (the initial
one from the OAuth consent), "token_url", "minorversion", "timeout"}.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from airflow.sdk import BaseHook

from atqbo.hooks.http_headers import retry_after_seconds

if TYPE_CHECKING:
    from atqbo.hooks.qbo_tokens import TokenManager

# -- QBO's published limits and defaults (api-facts 2.1, 2.3, 2.5, 2.8); one place for each ----------
DEFAULT_HOST = "https://quickbooks.api.intuit.com"
DEFAULT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
DEFAULT_MINORVERSION = 75  # the floor since Aug 2025: lower versions are ignored by Intuit
DEFAULT_TIMEOUT_S = 60.0
MAX_QUERY_RESULTS = 1000  # MAXRESULTS ceiling of one query page
MAX_BATCH_ITEMS = 30  # BatchItemRequest entries per batch call
# Values in one `IN (...)` condition: not a published limit, but 100 keeps a statement well under the
# URL and POST-body limits on the way (a statement over 2,000 characters goes in a POST body anyway).
MAX_IN_VALUES = 100
MAX_CONCURRENT_CALLS = 10  # in flight per realm+app
CALLS_PER_MINUTE = 500  # per realm
BATCHES_PER_MINUTE = 40  # per realm+app
THROTTLE_WAIT_S = 60.0  # Intuit's guidance after a 429
CDC_MAX_DAYS = 30  # change data capture reaches back at most this many days (api-facts 2.6)
CDC_MAX_OBJECTS = 1000  # objects in one CDC answer, all entities together

ONE_NAME_AT_A_TIME = "only add or edit one name at a time"

_JSON = "application/json"

# No (complete) answer: the request may or may not have been applied, so it is retried as is.
NO_ANSWER_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


# ================================================================================================
# Faults
# ================================================================================================


class QboFault(Exception):
    """A fault returned by QuickBooks Online (or no usable answer at all).

    Carries QBO's own fault ``code`` (a string, as QBO sends it), ``message``, ``detail`` and
    ``element``, the HTTP ``status``, the ``intuit_tid`` response header to quote to Intuit
    support, the ``requestid`` of the write that failed and what the hook was doing
    (``operation``). Never carries tokens or the client secret.
    """

    #: What usually fixes this fault; shown after the message.
    hint: ClassVar[str] = ""

    def __init__(
        self,
        message: str = "",
        *,
        code: str = "",
        detail: str = "",
        element: str = "",
        status: int | None = None,
        intuit_tid: str | None = None,
        requestid: str | None = None,
        fault_type: str | None = None,
        operation: str | None = None,
        errors: Iterable[Mapping[str, Any]] = (),
    ):
        self.code = str(code or "")
        self.message = message or ""
        self.detail = detail or ""
        self.element = element or ""
        self.status = status
        self.intuit_tid = intuit_tid
        self.requestid = requestid
        self.fault_type = fault_type
        self.operation = operation
        self.errors = [dict(e) for e in errors]
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"QBO fault {self.code}" if self.code else "QBO error"
        parts = [f"{head} ({type(self).__name__})"]
        if self.operation:
            parts.append(f" on {self.operation}")
        parts.append(f": {self.message or 'no message'}")
        if self.detail and self.detail != self.message:
            parts.append(f" -- {self.detail}")
        if self.element:
            parts.append(f" [element {self.element}]")
        ids = [f"HTTP {self.status}" if self.status else "", f"intuit_tid={self.intuit_tid}" if self.intuit_tid else ""]
        ids.append(f"requestid={self.requestid}" if self.requestid else "")
        if any(ids):
            parts.append(f" ({', '.join(i for i in ids if i)})")
        if self.hint:
            parts.append(f". Fix: {self.hint}")
        return "".join(parts)

    def __str__(self) -> str:
        return self._render()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only state: rebuild explicitly so the fault survives pickling (Airflow, multiprocessing)
        return (_rebuild_fault, (type(self), self._state()))

    def _state(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "code": self.code,
            "detail": self.detail,
            "element": self.element,
            "status": self.status,
            "intuit_tid": self.intuit_tid,
            "requestid": self.requestid,
            "fault_type": self.fault_type,
            "operation": self.operation,
            "errors": self.errors,
        }

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later without any change."""
        return False


def _rebuild_fault(cls: type[QboFault], state: dict[str, Any]) -> QboFault:
    return cls(**state)


class QboObjectNotFound(QboFault):
    """610: the object was deleted, or a referenced name-list object is inactive."""

    hint = (
        "the record was deleted in QBO, or it references an inactive account/customer/item/vendor: "
        "reactivate or re-create it"
    )


class QboInvalidReference(QboFault):
    """2500: a reference (CustomerRef, ItemRef, ...) points to a missing or inactive object."""

    hint = "the referenced QBO object (see element) is missing or inactive; fix the mapping or reactivate it in QBO"


class QboThrottled(QboFault):
    """3001 / HTTP 429: over QBO's request limits (the body is often XML)."""

    hint = "QBO limits a company to 500 requests/minute and 10 at once; wait a minute and run again"

    @property
    def retryable(self) -> bool:
        return True


class QboStaleObject(QboFault):
    """5010: the SyncToken sent is older than QBO's; someone changed the object meanwhile."""

    hint = "re-read the object and apply the change to the latest version"


class QboBusinessValidation(QboFault):
    """6000: a business rule of QBO refused the request; ``detail`` says which."""


class QboOneNameAtATime(QboBusinessValidation):
    """6000 "You can only add or edit one name at a time": two name-list writes overlapped (ERR-02)."""

    hint = "another write to a customer/vendor list was running at the same moment; retry after a short pause"

    @property
    def retryable(self) -> bool:
        return True


class QboDuplicateDocNumber(QboFault):
    """6140: the DocNumber is already used; ``txn_id`` is the existing transaction when QBO names it."""

    hint = "the number is already used in QBO: adopt the existing transaction (txn_id) or send a different number"
    _DETAIL = re.compile(r"DocNumber=(?P<doc>.*?) is assigned to TxnType=(?P<type>\w+) with TxnId=(?P<id>\d+)")

    def _match(self) -> re.Match[str] | None:
        return self._DETAIL.search(self.detail) or self._DETAIL.search(self.message)

    @property
    def txn_id(self) -> str | None:
        match = self._match()
        return match.group("id") if match else None

    @property
    def txn_type(self) -> str | None:
        match = self._match()
        return match.group("type") if match else None

    @property
    def doc_number(self) -> str | None:
        match = self._match()
        return match.group("doc") if match else None


class QboPeriodClosed(QboFault):
    """6210: the transaction date falls in a closed accounting period (ERR-01)."""

    hint = (
        "the books are closed for that date in QBO (Account and Settings > Advanced > Close the books): "
        "reopen the period, or set atqbo's earliest sync date after the closing date"
    )


class QboDuplicateName(QboFault):
    """6240: the DisplayName is already used by a customer, vendor or employee."""

    hint = "names are unique across QBO customers, vendors and employees: rename one of them or map to the existing one"


class QboAuthError(QboFault):
    """401 / 3200 / 120 / 3100: the token or the app's authorization was refused."""

    hint = "check the quickbooks_online connection (client id = login, client secret = password, realm_id)"


class QboTokenRevoked(QboAuthError):
    """The refresh token was refused (``invalid_grant``): a person must reconnect the app."""

    hint = ""  # the message itself says how to reconnect


class QboServerError(QboFault):
    """5xx, a dropped connection or a timeout that outlasted every retry."""

    hint = "QBO did not answer properly after several retries; check https://status.developer.intuit.com and run again"

    @property
    def retryable(self) -> bool:
        return True


#: QBO fault code -> exception class. Codes not listed raise ``QboFault`` (or by HTTP status).
FAULT_CLASSES: dict[str, type[QboFault]] = {
    "100": QboAuthError,  # General Authentication Error
    "120": QboAuthError,  # Authorization Failure (the admin who connected was removed)
    "3100": QboAuthError,  # AuthorizationFailed
    "3200": QboAuthError,  # AuthenticationFailed (expired/invalid access token)
    "610": QboObjectNotFound,
    "2500": QboInvalidReference,
    "3001": QboThrottled,
    "5010": QboStaleObject,
    "6000": QboBusinessValidation,
    "6140": QboDuplicateDocNumber,
    "6210": QboPeriodClosed,
    "6240": QboDuplicateName,
}


def fault_class(code: str, status: int | None, text: str = "") -> type[QboFault]:
    """The exception class for a fault code, falling back on the HTTP status for unknown codes."""
    code = _normalise_code(code)
    if ONE_NAME_AT_A_TIME in text.lower():
        return QboOneNameAtATime
    if status == 429:
        return QboThrottled
    cls = FAULT_CLASSES.get(code)
    if cls is not None:
        return cls
    if status == 401:
        return QboAuthError
    if status is not None and status >= 500:
        return QboServerError
    return QboFault


def _normalise_code(code: Any) -> str:
    # Some bodies spell codes zero-padded ("003001" inside the message); QBO's attribute is "3001".
    text = str(code or "").strip()
    return text.lstrip("0") or text


_MESSAGE_CODE = re.compile(r"errorCode=(\d+)")


def parse_fault_body(body: bytes | str, content_type: str | None = None) -> dict[str, Any] | None:
    """QBO's fault in a response body (JSON in either key casing, or XML), or None if there is none.

    Returns {"code", "message", "detail", "element", "type", "errors"} of the first Error.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    stripped = text.lstrip()
    if not stripped:
        return None
    if stripped.startswith("<"):
        return _parse_xml_fault(stripped)
    try:
        payload = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    fault = payload.get("Fault") or payload.get("fault")
    return fault_from_payload(fault) if isinstance(fault, dict) else None


def fault_from_payload(fault: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise a JSON ``Fault`` object (``{"Error": [...], "type": ...}``; any key casing)."""
    errors_raw = fault.get("Error") or fault.get("error") or []
    if isinstance(errors_raw, dict):
        errors_raw = [errors_raw]
    errors = []
    for err in errors_raw:
        if not isinstance(err, dict):
            continue
        lower = {str(k).lower(): v for k, v in err.items()}
        errors.append(
            {
                "code": _normalise_code(lower.get("code")),
                "message": str(lower.get("message") or ""),
                "detail": str(lower.get("detail") or ""),
                "element": str(lower.get("element") or ""),
            }
        )
    first = errors[0] if errors else {"code": "", "message": "", "detail": "", "element": ""}
    if not first["code"]:
        match = _MESSAGE_CODE.search(first["message"])
        first["code"] = _normalise_code(match.group(1)) if match else ""
    return {**first, "type": fault.get("type") or fault.get("Type"), "errors": errors}


def _parse_xml_fault(text: str) -> dict[str, Any] | None:
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    fault = root if local(root.tag) == "Fault" else next((e for e in root.iter() if local(e.tag) == "Fault"), None)
    if fault is None:
        return None
    errors = []
    for err in (e for e in fault.iter() if local(e.tag) == "Error"):
        fields = {local(child.tag).lower(): (child.text or "").strip() for child in err}
        errors.append(
            {
                "code": _normalise_code(err.get("code")),
                "message": fields.get("message", ""),
                "detail": fields.get("detail", ""),
                "element": err.get("element") or "",
            }
        )
    first = errors[0] if errors else {"code": "", "message": "", "detail": "", "element": ""}
    if not first["code"]:
        match = _MESSAGE_CODE.search(first["message"])
        first["code"] = _normalise_code(match.group(1)) if match else ""
    return {**first, "type": fault.get("type"), "errors": errors}


_TOKENISH = re.compile(r"(?i)(bearer\s+|token expired:\s*|access_token=|refresh_token=)[^\s,;\"']+")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with known secrets and anything token-shaped replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _TOKENISH.sub(r"\1***", text)


def build_fault(
    info: Mapping[str, Any] | None,
    *,
    status: int | None,
    intuit_tid: str | None = None,
    requestid: str | None = None,
    operation: str | None = None,
    fallback_message: str = "",
    secrets: Iterable[str | None] = (),
) -> QboFault:
    """The typed exception for a parsed fault (``info`` from ``parse_fault_body``/``fault_from_payload``)."""
    info = info or {}
    secrets = list(secrets)
    message = redact(str(info.get("message") or fallback_message), secrets)
    detail = redact(str(info.get("detail") or ""), secrets)
    code = str(info.get("code") or "")
    cls = fault_class(code, status, f"{message} {detail}")
    errors = [
        {**e, "message": redact(e.get("message", ""), secrets), "detail": redact(e.get("detail", ""), secrets)}
        for e in info.get("errors", [])
    ]
    return cls(
        message,
        code=code,
        detail=detail,
        element=str(info.get("element") or ""),
        status=status,
        intuit_tid=intuit_tid,
        requestid=requestid,
        fault_type=info.get("type"),
        operation=operation,
        errors=errors,
    )


def fault_from_response(
    response: requests.Response,
    *,
    requestid: str | None = None,
    operation: str | None = None,
    secrets: Iterable[str | None] = (),
) -> QboFault:
    """The typed exception for a non-2xx (or Fault-carrying) HTTP response."""
    info = parse_fault_body(response.content, response.headers.get("Content-Type"))
    fallback = f"HTTP {response.status_code} {response.reason or ''}".strip()
    if info is None and response.content:
        # not a QBO fault (an HTML gateway page, a proxy error): keep a short, redacted excerpt
        info = {"message": fallback, "detail": response.text[:300].strip(), "code": "", "errors": []}
    return build_fault(
        info,
        status=response.status_code,
        intuit_tid=response.headers.get("intuit_tid"),
        requestid=requestid,
        operation=operation,
        fallback_message=fallback,
        secrets=secrets,
    )


# ================================================================================================
# The query language
# ================================================================================================


def quote(value: Any) -> str:
    """A literal for QBO's query language.

    Strings are single-quoted with backslashes and single quotes escaped by a backslash
    (``O'Brien \\ Sons`` -> ``'O\\'Brien \\\\ Sons'``); numbers are bare; booleans are
    ``true``/``false``; dates and datetimes are quoted ISO-8601 (a datetime must be aware);
    ``None`` is QBO's null, a quoted single space.
    """
    if value is None:
        return "' '"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"QBO query datetimes need a timezone: {value!r}")
        value = value.isoformat()
    elif isinstance(value, date):
        value = value.isoformat()
    text = str(value)
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def where_eq(field: str, value: Any) -> str:
    """``field = literal`` for a WHERE clause."""
    return f"{field} = {quote(value)}"


def where_in(field: str, values: Iterable[Any]) -> str:
    """``field IN (literal, ...)`` for a WHERE clause; an empty list is an error, not a match-all."""
    literals = [quote(v) for v in values]
    if not literals:
        raise ValueError(f"where_in({field!r}) needs at least one value")
    return f"{field} IN ({', '.join(literals)})"


def _where_text(where: str | Iterable[str] | None) -> str:
    if where is None:
        return ""
    if isinstance(where, str):
        return where.strip()
    return " AND ".join(w.strip() for w in where if w and w.strip())


# ================================================================================================
# Retries and pacing
# ================================================================================================


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter; ``cap`` bounds every wait, Retry-After included."""

    base: float = 1.0
    cap: float = THROTTLE_WAIT_S

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)

    def throttle_delay(self, attempt: int, retry_after: float | None) -> float:
        """After a 429: the server's Retry-After, else a longer climb towards Intuit's 60 s."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        ceiling = min(self.cap, self.base * (2 ** (attempt + 2)))
        return random.uniform(ceiling / 2, ceiling)


class _RealmPacer:
    """This process's share of one realm's limits: calls in flight, calls and batches per minute.

    Several hooks in one worker process share it, so parallel tasks in a process cannot exceed
    QBO's 10 concurrent calls; other processes are kept in line by QBO's 429s.
    """

    def __init__(self, max_concurrent: int):
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()
        self._batches: deque[float] = deque()

    def _reserve(self, window: deque[float], limit: int) -> float:
        """Record a call in ``window`` if allowed now; otherwise return how long to wait."""
        now = time.monotonic()
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= limit:
            return window[0] + 60.0 - now
        window.append(now)
        return 0.0

    def wait_for_turn(self, is_batch: bool) -> None:
        while True:
            with self._lock:
                wait = self._reserve(self._batches, BATCHES_PER_MINUTE) if is_batch else 0.0
                if wait == 0.0:
                    wait = self._reserve(self._calls, CALLS_PER_MINUTE)
                    if wait and is_batch:
                        self._batches.pop()  # give the batch slot back; we try both again
            if wait <= 0:
                return
            time.sleep(min(wait, 5.0))

    @contextmanager
    def slot(self, is_batch: bool) -> Iterator[None]:
        self.wait_for_turn(is_batch)
        with self._slots:
            yield


_PACERS: dict[tuple[str, str], _RealmPacer] = {}
_PACERS_LOCK = threading.Lock()


def _pacer_for(host: str, realm_id: str, max_concurrent: int) -> _RealmPacer:
    with _PACERS_LOCK:
        pacer = _PACERS.get((host, realm_id))
        if pacer is None:
            pacer = _PACERS[(host, realm_id)] = _RealmPacer(max_concurrent)
        return pacer


# ================================================================================================
# The hook
# ================================================================================================


@dataclass(frozen=True)
class QboConnectionConfig:
    """What the hook needs from the Airflow connection. The secret fields are left out of repr."""

    conn_id: str
    host: str
    realm_id: str
    client_id: str
    client_secret: str
    refresh_token: str | None
    token_url: str
    minorversion: int
    timeout: float

    def __repr__(self) -> str:
        return f"QboConnectionConfig(conn_id={self.conn_id!r}, host={self.host!r}, realm_id={self.realm_id!r})"


def new_requestid() -> str:
    """A fresh idempotency key for one QBO write."""
    return uuid.uuid4().hex


_REQUESTID_NS = uuid.UUID("6f1f1b1e-8a53-4b53-9d1e-6a7c0c1f0a42")


def derive_requestid(requestid: str, purpose: str) -> str:
    """A deterministic second key from ``requestid``: a re-run derives the same one, so it stays idempotent."""
    return uuid.uuid5(_REQUESTID_NS, f"{requestid}/{purpose}").hex


def _describe(verb: str, entity: str, body: Mapping[str, Any] | None = None) -> str:
    """What a write was about, for fault messages: ``create Invoice DocNumber=INV-1``."""
    words = [verb, entity]
    for key in ("Id", "DocNumber", "DisplayName", "Name"):
        if body and body.get(key) not in (None, ""):
            words.append(f"{key}={body[key]}")
    return " ".join(words)


class QuickBooksOnlineHook(BaseHook):
    """Talks to the QuickBooks Online Accounting API v3 for one company (realm).

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
    """

    conn_name_attr = "qbo_conn_id"
    default_conn_name = "qbo_default"
    conn_type = "quickbooks_online"
    hook_name = "QuickBooks Online"

    def __init__(
        self,
        qbo_conn_id: str = default_conn_name,
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
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.qbo_conn_id = qbo_conn_id
        self.state_conn_id = state_conn_id
        self._ledger = ledger
        self.max_retries = max_retries
        self.sleep = sleep
        self.backoff = Backoff(base=backoff_base, cap=backoff_max)
        self.one_name_retries = one_name_retries
        self.one_name_pause = one_name_pause
        self.max_concurrent = max(1, min(max_concurrent, MAX_CONCURRENT_CALLS))
        self.token_margin = token_margin
        self.token_lease_seconds = token_lease_seconds
        self._session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(qbo_conn_id={self.qbo_conn_id!r})"

    # -- connection, session, tokens ---------------------------------------------------------

    @cached_property
    def config(self) -> QboConnectionConfig:
        """The connection's settings, checked; raises ``AtqboConfigError`` naming what is missing."""
        from atqbo.exceptions import AtqboConfigError

        conn = self.get_connection(self.qbo_conn_id)
        extra = conn.extra_dejson or {}
        host = (conn.host or DEFAULT_HOST).rstrip("/")
        if "://" not in host:
            host = f"https://{host}"
        host = re.sub(r"/v3$", "", host)
        missing = [
            name
            for name, value in (("login (client id)", conn.login), ("password (client secret)", conn.password))
            if not value
        ]
        if not extra.get("realm_id"):
            missing.append("extra realm_id")
        if missing:
            raise AtqboConfigError(
                f"QuickBooks Online connection {self.qbo_conn_id!r} lacks {', '.join(missing)}: "
                f"edit the connection (conn type quickbooks_online)"
            )
        return QboConnectionConfig(
            conn_id=self.qbo_conn_id,
            host=host,
            realm_id=str(extra["realm_id"]),
            client_id=conn.login,
            client_secret=conn.password,
            refresh_token=extra.get("refresh_token") or None,
            token_url=extra.get("token_url") or DEFAULT_TOKEN_URL,
            minorversion=int(extra.get("minorversion") or DEFAULT_MINORVERSION),
            timeout=float(extra.get("timeout") or DEFAULT_TIMEOUT_S),
        )

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
            from atqbo.ledger import Ledger

            self._ledger = Ledger.from_conn_id(self.state_conn_id)
        return self._ledger

    @cached_property
    def tokens(self) -> TokenManager:
        # imported here: qbo_tokens raises this module's faults, so it imports this module
        from atqbo.hooks.qbo_tokens import TokenEndpoint, TokenManager

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
    def _pacer(self) -> _RealmPacer:
        return _pacer_for(self.config.host, self.config.realm_id, self.max_concurrent)

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
    ) -> dict[str, Any]:
        """Send one API call and return its JSON; retry what may succeed later; raise typed faults.

        Writes pass a ``requestid``: every retry sends the same one, so QBO applies the write once
        even when an earlier attempt committed before its answer was lost.
        """
        query: dict[str, Any] = {"minorversion": self.config.minorversion, **(params or {})}
        if requestid is not None:
            query["requestid"] = requestid
        operation = operation or f"{method} {path}"
        url = self._url(path)
        attempt = 0
        refreshed_after_401 = False
        while True:
            token = self.tokens.access_token()
            headers = {"Authorization": f"Bearer {token}", "Accept": _JSON}
            if body is not None or data is not None:
                headers["Content-Type"] = content_type
            try:
                with self._pacer.slot(is_batch):
                    response = self.get_conn().request(
                        method,
                        url,
                        params=query,
                        json=body if data is None else None,
                        data=data.encode("utf-8") if data is not None else None,
                        headers=headers,
                        timeout=self.config.timeout,
                    )
            except NO_ANSWER_ERRORS as exc:
                if attempt >= self.max_retries:
                    raise QboServerError(
                        f"no answer from QBO after {attempt + 1} attempts ({type(exc).__name__})",
                        requestid=requestid,
                        operation=operation,
                    ) from None
                delay = self.backoff.delay(attempt)
                self.log.warning(
                    "QBO %s: %s; retry %d/%d in %.1fs",
                    operation,
                    type(exc).__name__,
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                self.sleep(delay)
                attempt += 1
                continue

            if response.status_code < 300:
                payload = self._json_of(response, requestid, operation)
                fault = payload.get("Fault") if isinstance(payload, dict) else None
                if fault:
                    raise build_fault(
                        fault_from_payload(fault),
                        status=response.status_code,
                        intuit_tid=response.headers.get("intuit_tid"),
                        requestid=requestid,
                        operation=operation,
                        secrets=self._secrets(),
                    )
                return payload

            fault = fault_from_response(response, requestid=requestid, operation=operation, secrets=self._secrets())
            if response.status_code == 401 and not refreshed_after_401:
                # the access token was refused before its expiry (revoked, clock skew): refresh once
                self.log.info("QBO %s: access token refused (HTTP 401); refreshing it once", operation)
                self.tokens.access_token_after_rejection(token)
                refreshed_after_401 = True
                continue
            if isinstance(fault, QboThrottled) or response.status_code >= 500:
                if attempt >= self.max_retries:
                    raise fault
                if isinstance(fault, QboThrottled):
                    delay = self.backoff.throttle_delay(attempt, retry_after_seconds(response))
                else:
                    delay = self.backoff.delay(attempt)
                self.log.warning(
                    "QBO %s: HTTP %s (code %s, intuit_tid %s); retry %d/%d in %.1fs",
                    operation,
                    response.status_code,
                    fault.code or "-",
                    fault.intuit_tid or "-",
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                self.sleep(delay)
                attempt += 1
                continue
            raise fault

    def _json_of(self, response: requests.Response, requestid: str | None, operation: str) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            raise QboServerError(
                f"QBO answered HTTP {response.status_code} with a body that is not JSON",
                detail=redact(response.text[:300], self._secrets()),
                status=response.status_code,
                intuit_tid=response.headers.get("intuit_tid"),
                requestid=requestid,
                operation=operation,
            ) from None
        return payload if isinstance(payload, dict) else {"value": payload}

    def _write(
        self,
        path: str,
        body: Any,
        *,
        requestid: str | None,
        operation: str,
        params: Mapping[str, Any] | None = None,
        is_batch: bool = False,
    ) -> dict[str, Any]:
        """A POST that changes data; "one name at a time" faults are retried after a pause (ERR-02).

        That fault means nothing was written, so its retry gets a new requestid (derived, so a
        re-run derives the same one again); retries of lost answers keep the same requestid.
        """
        requestid = requestid or new_requestid()
        current = requestid
        for attempt in range(self.one_name_retries + 1):
            try:
                return self._request(
                    "POST", path, params=params, body=body, requestid=current, operation=operation, is_batch=is_batch
                )
            except QboOneNameAtATime:
                if attempt >= self.one_name_retries:
                    raise
                pause = self.one_name_pause * random.uniform(1.0, 1.5)
                self.log.info(
                    "QBO %s: another name-list write was in progress; retry %d/%d in %.1fs",
                    operation,
                    attempt + 1,
                    self.one_name_retries,
                    pause,
                )
                self.sleep(pause)
                current = derive_requestid(requestid, f"one-name-{attempt + 1}")
        raise AssertionError("unreachable")  # the loop returns or raises

    # -- queries -------------------------------------------------------------------------------

    quote = staticmethod(quote)
    where_eq = staticmethod(where_eq)
    where_in = staticmethod(where_in)

    def _query_response(self, statement: str) -> dict[str, Any]:
        # Long statements (big IN lists) go in a POST body: URLs have length limits on the way.
        if len(statement) > 2000:
            payload = self._request(
                "POST", "query", data=statement, content_type="application/text", operation=f"query {statement[:80]}"
            )
        else:
            payload = self._request("GET", "query", params={"query": statement}, operation=f"query {statement[:80]}")
        return payload.get("QueryResponse") or {}

    def query(self, statement: str) -> list[dict[str, Any]]:
        """The records of one query page (``SELECT * FROM Invoice WHERE ...``); [] when none match."""
        response = self._query_response(statement)
        for value in response.values():
            if isinstance(value, list):
                return value
        return []

    def query_all(
        self,
        entity: str,
        where: str | Iterable[str] | None = None,
        order_by: str | None = None,
        page_size: int = MAX_QUERY_RESULTS,
    ) -> Iterator[dict[str, Any]]:
        """Every record of ``entity`` matching ``where`` (conditions are AND-ed), page by page.

        Pages with STARTPOSITION/MAXRESULTS (QBO's pages hold at most 1,000) until a short page.
        Give ``order_by`` (e.g. ``"Id"``) when records may be added while paging.
        """
        page_size = max(1, min(int(page_size), MAX_QUERY_RESULTS))
        base = f"SELECT * FROM {entity}"
        condition = _where_text(where)
        if condition:
            base += f" WHERE {condition}"
        if order_by:
            base += f" ORDERBY {order_by}"
        start = 1
        while True:
            page = self.query(f"{base} STARTPOSITION {start} MAXRESULTS {page_size}")
            yield from page
            if len(page) < page_size:
                return
            start += page_size

    def query_in(
        self,
        entity: str,
        field: str,
        values: Iterable[Any],
        where: str | Iterable[str] | None = None,
        order_by: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every ``entity`` record whose ``field`` is one of ``values`` (and matches ``where``), with
        one paged ``field IN (...)`` query per ``MAX_IN_VALUES`` distinct values; none for no values."""
        unique = list(dict.fromkeys(v for v in values if v not in (None, "")))
        extra = [where] if isinstance(where, str) else list(where or [])
        for start in range(0, len(unique), MAX_IN_VALUES):
            chunk = unique[start : start + MAX_IN_VALUES]
            yield from self.query_all(entity, where=[where_in(field, chunk), *extra], order_by=order_by)

    def get_many(self, entity: str, ids: Iterable[str | int]) -> dict[str, dict[str, Any]]:
        """``entity`` records by Id (``Id IN (...)`` queries of ``MAX_IN_VALUES``); an Id QBO does not
        return is absent from the result. Like every query, it leaves out inactive name-list records
        (customers, vendors, items): ``query_in(..., where="Active IN (true, false)")`` includes them."""
        return {str(r["Id"]): r for r in self.query_in(entity, "Id", (str(i) for i in ids))}

    def count(self, entity: str, where: str | Iterable[str] | None = None) -> int:
        """How many ``entity`` records match ``where``."""
        statement = f"SELECT COUNT(*) FROM {entity}"
        condition = _where_text(where)
        if condition:
            statement += f" WHERE {condition}"
        return int(self._query_response(statement).get("totalCount") or 0)

    # -- single records ------------------------------------------------------------------------

    @staticmethod
    def _entity_of(payload: Mapping[str, Any], entity: str) -> dict[str, Any]:
        if entity in payload:
            return payload[entity]
        # QBO keys the envelope by the entity's own spelling; tolerate a caller's different case
        for key, value in payload.items():
            if key.lower() == entity.lower() and isinstance(value, dict):
                return value
        raise QboFault(f"QBO's answer has no {entity} object (keys: {sorted(payload)})", operation=entity)

    def read(self, entity: str, id: str | int) -> dict[str, Any]:
        """One record by Id; raises ``QboObjectNotFound`` when it does not exist."""
        payload = self._request("GET", f"{entity.lower()}/{id}", operation=f"read {entity} Id={id}")
        return self._entity_of(payload, entity)

    def create(self, entity: str, body: Mapping[str, Any], requestid: str | None = None) -> dict[str, Any]:
        """Create a record; with the same ``requestid`` a repeated create returns the first one's result."""
        operation = _describe("create", entity, body)
        payload = self._write(entity.lower(), dict(body), requestid=requestid, operation=operation)
        return self._entity_of(payload, entity)

    def update(
        self, entity: str, body: Mapping[str, Any], sparse: bool = True, requestid: str | None = None
    ) -> dict[str, Any]:
        """Update a record by Id; sparse by default: only the fields sent change.

        The body's SyncToken is used when present, else the record is read to get it.

        On a stale SyncToken (5010) the record is re-read once and the same change sent again with
        the fresh SyncToken (ERR-05); a second 5010 raises ``QboStaleObject``.
        """
        if not body.get("Id"):
            raise ValueError(f"update({entity!r}) needs the record's Id in the body")
        change = {k: v for k, v in body.items() if k != "sparse"}
        if sparse:
            change["sparse"] = True
        if change.get("SyncToken") is None:
            change["SyncToken"] = self.read(entity, change["Id"])["SyncToken"]
        requestid = requestid or new_requestid()
        operation = _describe("update", entity, body)
        try:
            payload = self._write(entity.lower(), change, requestid=requestid, operation=operation)
        except QboStaleObject:
            fresh = self.read(entity, change["Id"])
            self.log.info(
                "QBO %s: SyncToken %s was stale; retrying once with %s",
                operation,
                change["SyncToken"],
                fresh["SyncToken"],
            )
            change["SyncToken"] = fresh["SyncToken"]
            payload = self._write(
                entity.lower(), change, requestid=derive_requestid(requestid, "stale-retry"), operation=operation
            )
        return self._entity_of(payload, entity)

    def _write_with_sync_token(
        self,
        entity: str,
        id: str | int,
        sync_token: str | None,
        *,
        params: Mapping[str, Any],
        extra_body: Mapping[str, Any],
        requestid: str | None,
        verb: str,
    ) -> dict[str, Any]:
        """A void or delete: needs the current SyncToken; read it when not given, re-read once on 5010."""
        requestid = requestid or new_requestid()
        operation = _describe(verb, entity, {"Id": id})
        if sync_token is None:
            sync_token = self.read(entity, id)["SyncToken"]
        body = {"Id": str(id), "SyncToken": str(sync_token), **extra_body}
        try:
            return self._write(entity.lower(), body, requestid=requestid, params=params, operation=operation)
        except QboStaleObject:
            body["SyncToken"] = str(self.read(entity, id)["SyncToken"])
            return self._write(
                entity.lower(),
                body,
                requestid=derive_requestid(requestid, "stale-retry"),
                params=params,
                operation=operation,
            )

    def void_invoice(
        self, id: str | int, sync_token: str | None = None, requestid: str | None = None
    ) -> dict[str, Any]:
        """Void an invoice (it stays in QBO with zero amounts); returns the voided invoice."""
        payload = self._write_with_sync_token(
            "Invoice", id, sync_token, params={"operation": "void"}, extra_body={}, requestid=requestid, verb="void"
        )
        return self._entity_of(payload, "Invoice")

    def send_invoice(self, id: str | int, send_to: str | None = None, requestid: str | None = None) -> dict[str, Any]:
        """Have QBO email an invoice to its BillEmail (or ``send_to``); returns the invoice (INV-17)."""
        params = {"sendTo": send_to} if send_to else None
        payload = self._write(
            f"invoice/{id}/send", None, requestid=requestid, operation=f"send Invoice {id}", params=params
        )
        return self._entity_of(payload, "Invoice")

    def void_payment(
        self, id: str | int, sync_token: str | None = None, requestid: str | None = None
    ) -> dict[str, Any]:
        """Void a payment (``operation=update&include=void``, sparse); returns the voided payment."""
        payload = self._write_with_sync_token(
            "Payment",
            id,
            sync_token,
            params={"operation": "update", "include": "void"},
            extra_body={"sparse": True},
            requestid=requestid,
            verb="void",
        )
        return self._entity_of(payload, "Payment")

    def delete(
        self, entity: str, id: str | int, sync_token: str | None = None, requestid: str | None = None
    ) -> dict[str, Any]:
        """Delete a transaction; returns QBO's ``{"status": "Deleted", "Id": ...}``."""
        payload = self._write_with_sync_token(
            entity, id, sync_token, params={"operation": "delete"}, extra_body={}, requestid=requestid, verb="delete"
        )
        return self._entity_of(payload, entity)

    # -- batch ---------------------------------------------------------------------------------

    def batch(
        self, items: Iterable[Mapping[str, Any]], requestid: str | None = None
    ) -> list[dict[str, Any] | QboFault]:
        """Send BatchItemRequest entries, 30 per call; return one result per item, in order.

        A result is the item's BatchItemResponse (``{"bId": ..., "Invoice": {...}}`` or
        ``{"bId": ..., "QueryResponse": {...}}``) or, when the item faulted, the typed ``QboFault``
        for it (returned, not raised, so each item can be handled on its own; a throttled item
        comes back as ``QboThrottled`` for the caller to send again). Items without a ``bId`` get
        their position as one. With several calls, each call's requestid is derived from
        ``requestid`` and the call's position, so a re-run with the same ``requestid`` replays.
        """
        prepared: list[dict[str, Any]] = []
        for position, item in enumerate(items):
            entry = dict(item)
            entry.setdefault("bId", str(position))
            prepared.append(entry)
        if len({e["bId"] for e in prepared}) != len(prepared):
            raise ValueError("batch items need distinct bId values")
        requestid = requestid or new_requestid()
        chunks = [prepared[i : i + MAX_BATCH_ITEMS] for i in range(0, len(prepared), MAX_BATCH_ITEMS)]
        results: dict[str, dict[str, Any] | QboFault] = {}
        for number, chunk in enumerate(chunks):
            chunk_rid = requestid if len(chunks) == 1 else derive_requestid(requestid, f"batch-{number}")
            results.update(self._send_batch_chunk(chunk, chunk_rid))
        return [results[e["bId"]] for e in prepared]

    def _send_batch_chunk(self, chunk: list[dict[str, Any]], requestid: str) -> dict[str, dict[str, Any] | QboFault]:
        payload = self._write(
            "batch",
            {"BatchItemRequest": chunk},
            requestid=requestid,
            operation=f"batch of {len(chunk)} items",
            is_batch=True,
        )
        answered = {str(r.get("bId")): r for r in payload.get("BatchItemResponse") or []}
        return {entry["bId"]: self._batch_item_result(entry, answered.get(entry["bId"]), requestid) for entry in chunk}

    def _batch_item_result(
        self, entry: Mapping[str, Any], response: Mapping[str, Any] | None, requestid: str
    ) -> dict[str, Any] | QboFault:
        if response is not None and not response.get("Fault"):
            return dict(response)
        entity = next((k for k in entry if k[:1].isupper() and isinstance(entry[k], dict)), None)
        if entity is not None:
            what = _describe(str(entry.get("operation") or "write"), entity, entry[entity])
        else:
            what = f"query {str(entry.get('Query') or entry.get('CDCQuery') or '')[:80]}"
        operation = f"batch item {entry['bId']}: {what}"
        if response is None:
            return QboFault("QBO's batch answer has no result for this item", requestid=requestid, operation=operation)
        return build_fault(
            fault_from_payload(response["Fault"]),
            status=None,
            requestid=requestid,
            operation=operation,
            secrets=self._secrets(),
        )

    # -- change data capture, preferences, company ---------------------------------------------

    def cdc(self, entities: Iterable[str], changed_since: datetime | str) -> dict[str, list[dict[str, Any]]]:
        """Records of ``entities`` changed since ``changed_since`` (QBO looks back at most 30 days).

        Deleted records come back as ``{"Id": ..., "status": "Deleted"}``. Every requested entity
        is a key of the result, with [] when nothing changed.
        """
        names = list(entities)
        if isinstance(changed_since, datetime):
            if changed_since.tzinfo is None:
                raise ValueError("cdc(changed_since) needs a timezone-aware datetime")
            since = changed_since.isoformat()
        else:
            since = str(changed_since)
        payload = self._request(
            "GET",
            "cdc",
            params={"entities": ",".join(names), "changedSince": since},
            operation=f"cdc {','.join(names)} since {since}",
        )
        result: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for block in payload.get("CDCResponse") or []:
            for query_response in block.get("QueryResponse") or []:
                for key, value in query_response.items():
                    if isinstance(value, list):
                        result.setdefault(key, []).extend(value)
        return result

    def preferences(self) -> dict[str, Any]:
        """The company's Preferences (custom fields, tax, currency, transaction numbering ...)."""
        return self._entity_of(self._request("GET", "preferences", operation="read Preferences"), "Preferences")

    def company_info(self) -> dict[str, Any]:
        """The company's CompanyInfo record."""
        payload = self._request("GET", f"companyinfo/{self.realm_id}", operation="read CompanyInfo")
        return self._entity_of(payload, "CompanyInfo")

    def test_connection(self) -> tuple[bool, str]:
        """For Airflow's connection test: refresh the token if needed and read the company name."""
        try:
            info = self.company_info()
        except Exception as exc:  # the UI shows the message; tokens are never in it
            return False, str(exc)
        return True, f"Connected to QuickBooks Online company {info.get('CompanyName', '?')!r} (realm {self.realm_id})"
