"""The typed faults of QuickBooks Online: one exception class per fault code the sync acts on.

Callers branch on these types rather than on message text. Each fault carries QBO's own ``code``,
``message``, ``detail`` and ``element``, the HTTP ``status``, the ``intuit_tid`` to quote to Intuit
support, the ``requestid`` of the write that failed and the hook's ``operation``, and renders them
with a hint saying what usually fixes it. Reading faults out of HTTP answers is
``qbo_fault_parsing``'s business.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import requests

from atqbo.exceptions import AtqboError

# QBO's words when two writes to the name lists (customers, vendors, employees) overlapped (ERR-02).
ONE_NAME_AT_A_TIME = "only add or edit one name at a time"

# No (complete) answer: the request may or may not have been applied, so it is retried as is.
NO_ANSWER_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class QboFault(AtqboError):
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

    def summary(self) -> str:
        """The fault without its per-request ids (intuit_tid, requestid), so the same refusal reads,
        and is remembered, the same every run: ``QBO fault 6000: message -- detail [element X]``."""
        said = self.message or "no message"
        if self.detail and self.detail != self.message:
            said += f" -- {self.detail}"
        return f"QBO fault {self.code or '?'}: {said}" + (f" [element {self.element}]" if self.element else "")

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


class QboTokensUnreadable(QboAuthError):
    """The stored tokens do not decrypt with Airflow's Fernet key(s): restore the key or re-authorize."""

    hint = ""  # the message itself says what to do


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
    code = normalise_code(code)
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


def describe_operation(verb: str, entity: str, body: Mapping[str, Any] | None = None) -> str:
    """What a write was about, for a fault's ``operation``: ``create Invoice DocNumber=INV-1``."""
    words = [verb, entity]
    for key in ("Id", "DocNumber", "DisplayName", "Name"):
        if body and body.get(key) not in (None, ""):
            words.append(f"{key}={body[key]}")
    return " ".join(words)


def normalise_code(code: Any) -> str:
    """QBO's fault code as a plain string: some bodies zero-pad it ("003001" inside a message)."""
    text = str(code or "").strip()
    return text.lstrip("0") or text
