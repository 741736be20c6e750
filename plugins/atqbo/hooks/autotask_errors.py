"""The typed errors of Autotask PSA, and how an Autotask answer says which one it is.

Autotask reports most failures as HTTP 500: a validation error carries an ``errors`` array, a bad
user name or integration code carries an auth phrase in it, a missing record "No matching records
found"; a 500 without ``errors`` is a server failure worth retrying. The functions below read an
answer; the hook decides what to retry and raises these errors with Autotask's own messages
(never credentials).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from atqbo.exceptions import AtqboError

# Autotask reports a bad user name, integration code or missing permission as HTTP 500 with
# one of these phrases; they are auth problems, not data problems.
_AUTH_MESSAGE = re.compile(
    r"integration ?code|tracking identifier|authenticat|not authori[sz]ed|impersonat|adequate permissions",
    re.IGNORECASE,
)
# An update or delete of a record that is missing (or invisible to the API user).
_NOT_FOUND_MESSAGE = re.compile(r"no matching records found", re.IGNORECASE)


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


# --- reading an answer ----------------------------------------------------------------------------


def record_refused(exc: AutotaskError) -> bool:
    """Autotask answered about this one record (a refusal a person fixes on it), rather than failing
    for every record: not credentials (401), not throttling (429), not a server that is down or
    did not answer."""
    return exc.status is not None and exc.status not in (401, 429) and exc.status < 502


def is_retryable(status: int, errors: list[str]) -> bool:
    """Throttling (429) and server failures without Autotask's ``errors`` may succeed later."""
    return status == 429 or (status >= 500 and not errors)


def refusal(
    status: int, errors: list[str], detail: str, what: str, *, user: str, conn_id: str
) -> tuple[type[AutotaskError], str]:
    """The error class and message for an answer not worth retrying, with Autotask's messages and a fix.

    ``detail`` is :func:`detail_of` the answer; ``what`` names the call ("POST Companies").
    """
    joined = " ".join(errors)
    if errors and _AUTH_MESSAGE.search(joined):
        return AutotaskAuthError, (
            f"Autotask refused API user {user!r} on {what} (HTTP {status}{detail}). Fix: check the "
            f"login and extra.integration_code of Airflow connection {conn_id!r} and the API "
            "user's security level"
        )
    if status == 404 or (errors and _NOT_FOUND_MESSAGE.search(joined)):
        return AutotaskNotFoundError, f"Autotask {what}: not found (HTTP {status}{detail})"
    if status == 500 and errors or 400 <= status < 500:
        return AutotaskValidationError, (
            f"Autotask rejected {what} (HTTP {status}{detail}). Fix what Autotask names and run again"
        )
    return AutotaskServerError, f"Autotask {what} failed (HTTP {status}{detail})"


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def errors_of(payload: Any) -> list[str]:
    """Autotask's ``errors`` strings (only the ``errors`` key: ASP.NET's ``Message`` is not a verdict)."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key.lower() == "errors" and isinstance(value, list):
                return [str(e) for e in value if e is not None and str(e).strip()]
    return []


def detail_of(payload: Any, response: requests.Response) -> str:
    """What an answer says went wrong, to append to a message: ": errors", ": Message" or " Reason"."""
    errors = errors_of(payload)
    if errors:
        return ": " + "; ".join(errors)
    if isinstance(payload, dict):
        message = next((v for k, v in payload.items() if k.lower() == "message"), None)
        if message:
            return f": {message}"
    reason = (response.reason or "").strip()
    return f" {reason}" if reason else ""


def path_of(url: str) -> str:
    """The URL's path without host or query string (query strings may hold filter values)."""
    return urlsplit(url).path if "://" in url else url.split("?", 1)[0]


def connection_refused(exc: BaseException) -> bool:
    """Whether the request surely never reached the server (refused or failed to connect)."""
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
