"""OAuth 2.0 tokens of the QuickBooks Online hook, shared by every worker through the state ledger (ERR-04).

QBO rotates the refresh token: a refresh returns a new one about once a day (else the same one),
and the superseded one stops working a day after the new one was issued (docs/api-facts.md 2.7).
A worker that refreshes and then crashes before storing the new token, or two workers that
refresh at once, can leave everyone with a dead token and a user who must reconnect. So:

1. A worker uses its in-memory access token, or the ledger's, while it has more than a margin
   (5 minutes) of life left.
2. Otherwise it claims the realm's refresh lease in the ledger (an atomic UPDATE). The holder
   re-reads the row (someone may have just refreshed), calls the token endpoint if the token is
   still stale, and stores the rotated refresh token and the new access token in one transaction
   (which also releases the lease) *before* using the new access token.
3. A worker that did not get the lease polls the ledger until the row's version changes or the
   lease is released or expires, then uses the new token (or claims the lease itself).
4. On ``invalid_grant`` the holder re-reads the ledger: another process may have rotated the
   token meanwhile (use that). Otherwise the authorization is gone: ``QboTokenRevoked`` says how
   to reconnect.
5. The connection's ``refresh_token`` extra is only the initial token. The ledger remembers a
   fingerprint (a salted SHA-256, never the token) of the connection token it adopted; when the
   connection holds a different token, the user has reconnected and that token is adopted.
6. The ledger stores the tokens encrypted with Airflow's Fernet key (BEY-11). When no configured
   key opens them, ``QboTokensUnreadable`` says to restore the key or re-authorize; a reconnect
   (a new token in the connection) replaces the unreadable row.

7. A person may adopt the connection's token on purpose (``adopt_connection_token``, the
   ``atqbo_check_connections`` option): even one atqbo adopted before (a sandbox restarted under a
   kept state database hands out its first token again). It is tried first; only a token Intuit
   accepts replaces the stored one, so a refused paste leaves everything as it was.

8. A refresh whose answer is lost (no answer, or a 5xx, after QBO may have rotated) is retried
   with the same refresh token, which Intuit still accepts for a day; when every retry is lost the
   ledger keeps that token, and the error says to run again within the day (ERR-04).

Tokens are never logged, and never appear in exception messages or reprs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from atqbo.hooks.qbo_fault_parsing import redact
from atqbo.hooks.qbo_faults import (
    NO_ANSWER_ERRORS,
    QboAuthError,
    QboServerError,
    QboTokenRevoked,
    QboTokensUnreadable,
)
from atqbo.hooks.retry import Backoff, RetryLater, call_with_retries

log = logging.getLogger(__name__)


# Said when no answer came back: the refresh may have happened at QBO all the same.
LOST_ANSWER_NOTE = (
    "QBO may have rotated the refresh token without atqbo receiving the new one; the stored token "
    "keeps working for about 24 hours after that (Intuit's policy), so run again within a day. If a "
    "run after that fails with invalid_grant, reconnect the app"
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def fingerprint(token: str | None) -> str | None:
    """A stable, non-reversible identifier of a refresh token (to notice a reconnect)."""
    if not token:
        return None
    return hashlib.sha256(b"atqbo-qbo-refresh-token\x00" + token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenGrant:
    """A successful answer of the token endpoint."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None

    def __repr__(self) -> str:
        return f"TokenGrant(access_expires_at={self.access_expires_at.isoformat()})"


class InvalidGrant(Exception):
    """The token endpoint refused the refresh token (``invalid_grant``). Internal to this module."""


class TokenEndpoint:
    """Intuit's OAuth 2.0 token endpoint: the refresh grant, with HTTP Basic client authentication."""

    def __init__(
        self,
        *,
        session: requests.Session,
        token_url: str,
        client_id: str,
        client_secret: str,
        timeout: float,
        backoff: Backoff,
        max_retries: int,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utcnow,
    ):
        self._session = session
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self.timeout = timeout
        self.backoff = backoff
        self.max_retries = max_retries
        self.sleep = sleep
        self.now = now

    def __repr__(self) -> str:
        return f"TokenEndpoint(token_url={self.token_url!r})"

    def refresh(self, refresh_token: str) -> TokenGrant:
        """Exchange a refresh token; raises ``InvalidGrant``, ``QboAuthError`` or ``QboServerError``.

        No answer, a 429 or a 5xx is retried ``max_retries`` times (plain backoff, no log line).
        """
        return call_with_retries(
            lambda attempt: self._refresh_once(refresh_token, attempt),
            retries=self.max_retries,
            wait=self.backoff.wait_after,
            sleep=self.sleep,
        )

    def _refresh_once(self, refresh_token: str, attempt: int) -> TokenGrant:
        operation = "refresh the access token"
        try:
            response = self._session.post(
                self.token_url,
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                auth=(self._client_id, self._client_secret),
                headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
                timeout=self.timeout,
            )
        except NO_ANSWER_ERRORS as exc:
            give_up = QboServerError(
                f"no answer from the QBO token endpoint after {attempt + 1} attempts ({type(exc).__name__}). "
                f"{LOST_ANSWER_NOTE}",
                operation=operation,
            )
            raise RetryLater(give_up, type(exc).__name__) from None
        if response.status_code == 200:
            return self._grant_of(response)
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = str(body.get("error") or "") if isinstance(body, dict) else ""
        if error == "invalid_grant":
            raise InvalidGrant()
        if response.status_code == 429 or response.status_code >= 500:
            give_up = QboServerError(
                f"the QBO token endpoint kept answering HTTP {response.status_code}. {LOST_ANSWER_NOTE}",
                status=response.status_code,
                intuit_tid=response.headers.get("intuit_tid"),
                operation=operation,
            )
            raise RetryLater(give_up, f"HTTP {response.status_code}")
        raise self._refusal(response, body, error, refresh_token)

    def _refusal(self, response: requests.Response, body: Any, error: str, refresh_token: str) -> QboAuthError:
        """The endpoint refused the app (``invalid_client``) or the refresh for another reason."""
        secrets = [refresh_token, self._client_secret]
        description = redact(str(body.get("error_description") or "") if isinstance(body, dict) else "", secrets)
        if response.status_code == 401 or error == "invalid_client":
            message = (
                "the QBO token endpoint refused the app's client credentials (invalid_client): check the "
                "connection's login (client id) and password (client secret) against the Intuit developer portal"
            )
        else:
            message = f"the QBO token endpoint refused the refresh ({error or 'no error code'})"
        return QboAuthError(
            message,
            code=error,
            detail=description,
            status=response.status_code,
            intuit_tid=response.headers.get("intuit_tid"),
            operation="refresh the access token",
        )

    def _grant_of(self, response: requests.Response) -> TokenGrant:
        try:
            body = response.json()
            access_token = str(body["access_token"])
            refresh_token = str(body["refresh_token"])
            expires_in = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise QboServerError(
                "the QBO token endpoint answered 200 without access_token/refresh_token",
                status=response.status_code,
                operation="refresh the access token",
            ) from None
        now = self.now()
        refresh_in = body.get("x_refresh_token_expires_in")
        return TokenGrant(
            access_token=access_token,
            refresh_token=refresh_token,
            access_expires_at=now + timedelta(seconds=expires_in),
            refresh_expires_at=now + timedelta(seconds=float(refresh_in)) if refresh_in else None,
        )


class TokenManager:
    """Gives the hook a valid access token for one realm, following the protocol in the module doc.

    Thread-safe; one manager per hook. ``owner`` (host, pid and a random part) names this
    manager in the ledger's lease.
    """

    def __init__(
        self,
        *,
        ledger: Any,
        realm_id: str,
        endpoint: TokenEndpoint,
        connection_refresh_token: str | None,
        conn_id: str = "qbo_default",
        margin_seconds: float = 300.0,
        lease_seconds: float = 150.0,
        poll_interval: float = 0.1,
        wait: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utcnow,
        owner: str | None = None,
    ):
        self.ledger = ledger
        self.realm_id = realm_id
        self.endpoint = endpoint
        self._connection_token = connection_refresh_token
        self._connection_fp = fingerprint(connection_refresh_token)
        self.conn_id = conn_id
        self.margin = timedelta(seconds=margin_seconds)
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.wait = wait  # real waiting for another worker; not the hook's (maybe fast) retry sleep
        self.now = now
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._access_expires_at: datetime | None = None
        self._seen: list[str] = []  # tokens handled here, for redaction of server messages

    def __repr__(self) -> str:
        return f"TokenManager(realm_id={self.realm_id!r}, owner={self.owner!r})"

    def known_secrets(self) -> list[str]:
        return [t for t in (self._access_token, self._connection_token, *self._seen) if t]

    # -- public --------------------------------------------------------------------------------

    def access_token(self) -> str:
        """A valid access token, refreshed (once, across all workers) when it is about to expire."""
        with self._lock:
            if self._access_token and self._is_fresh(self._access_expires_at):
                return self._access_token
            return self._obtain(rejected=None)

    def access_token_after_rejection(self, rejected: str) -> str:
        """A new access token after QBO refused ``rejected`` (HTTP 401) although it had not expired."""
        with self._lock:
            if self._access_token and self._access_token != rejected and self._is_fresh(self._access_expires_at):
                return self._access_token  # another thread of this hook replaced it already
            self._access_token = None
            return self._obtain(rejected=rejected)

    def adopt_connection_token(self) -> dict[str, Any]:
        """Refresh with the connection's refresh token and store what Intuit answers in place of this
        realm's stored tokens, whether or not atqbo adopted that token before. Returns what
        happened (no token in it). ``QboTokenRevoked`` when Intuit refuses that token too: nothing
        stored is changed then."""
        if not self._connection_token:
            raise QboTokenRevoked(
                f"the Airflow connection {self.conn_id!r} has no refresh token to adopt: put the new refresh token in "
                f'its extra field "refresh_token" (Admin > Connections), then run this again'
            )
        with self._lock:
            deadline = time.monotonic() + self.lease_seconds * 2 + 10
            while not self.ledger.claim_token_refresh(self.realm_id, self.owner, self.lease_seconds):
                row = self.ledger.get_oauth_token(self.realm_id)
                self._wait_for_other_refresh(row["version"] if row else None, deadline)
            released = False
            try:
                before = self.ledger.get_oauth_token(self.realm_id) or {}
                self._seen.append(self._connection_token)
                try:
                    grant = self.endpoint.refresh(self._connection_token)
                except InvalidGrant:
                    log.warning("QBO refused the refresh token in the connection %r (invalid_grant)", self.conn_id)
                    raise QboTokenRevoked(
                        f"QBO refused the refresh token in the Airflow connection {self.conn_id!r} as well "
                        f"(invalid_grant), so atqbo kept what it had stored for realm {self.realm_id}. That token is "
                        f"not a live one for this app and company: it may be the old one, one of another app (client "
                        f"id) or another company, or from a consent that was revoked since. Get a new one (your app's "
                        f"Connect to QuickBooks flow, or the OAuth 2.0 Playground on developer.intuit.com, for this "
                        f"app and company {self.realm_id}), paste it into the connection, and run this again"
                    ) from None
                self._store(grant, self._connection_fp)
                released = True
                self._use(grant.access_token, grant.access_expires_at)
            finally:
                if not released:
                    self.ledger.release_token_refresh(self.realm_id, self.owner)
        replaced = before.get("updated_at") if before.get("refresh_token") or before.get("unreadable") else None
        log.info(
            "Adopted the refresh token of the connection %r for realm %s (%s); access token valid until %s",
            self.conn_id,
            self.realm_id,
            f"replacing the one stored {replaced.isoformat(timespec='seconds')}" if replaced else "nothing was stored",
            grant.access_expires_at.isoformat(timespec="seconds"),
        )
        return {
            "adopted_from": self.conn_id,
            "realm_id": self.realm_id,
            "replaced_token_stored_at": replaced.isoformat(timespec="seconds") if replaced else None,
            "rotated_by_qbo": grant.refresh_token != self._connection_token,
        }

    def stored_token_facts(self) -> dict[str, Any]:
        """What the state database holds for this realm, in words a person can act on (no token)."""
        row = self.ledger.get_oauth_token(self.realm_id) or {}
        return {
            "stored": bool(row.get("refresh_token") or row.get("unreadable")),
            "stored_at": row.get("updated_at"),
            "refresh_expires_at": row.get("refresh_expires_at"),
            "connection_has_token": bool(self._connection_token),
            "connection_token_adopted_before": bool(
                self._connection_fp and row.get("source_fingerprint") == self._connection_fp
            ),
        }

    # -- the protocol --------------------------------------------------------------------------

    def _is_fresh(self, expires_at: datetime | None) -> bool:
        return expires_at is not None and expires_at - self.now() > self.margin

    def _reconnected(self, row: dict[str, Any] | None) -> bool:
        """The connection holds a refresh token the ledger has not adopted yet: the user reconnected."""
        if self._connection_fp is None:
            return False
        if row is not None and row.get("unreadable"):  # only a token the ledger never adopted replaces it
            return row.get("source_fingerprint") != self._connection_fp
        return row is None or not row.get("refresh_token") or row.get("source_fingerprint") != self._connection_fp

    def _check_readable(self, row: dict[str, Any] | None) -> None:
        if row is not None and row.get("unreadable") and not self._reconnected(row):
            raise QboTokensUnreadable(self._unreadable_message(), operation="read the stored QBO tokens")

    def _usable(self, row: dict[str, Any] | None, rejected: str | None) -> bool:
        return bool(
            row
            and row.get("access_token")
            and row["access_token"] != rejected
            and self._is_fresh(row.get("access_expires_at"))
            and not self._reconnected(row)
        )

    def _use(self, access_token: str, expires_at: datetime | None) -> str:
        self._access_token = access_token
        self._access_expires_at = expires_at
        return access_token

    def _obtain(self, rejected: str | None) -> str:
        deadline = time.monotonic() + self.lease_seconds * 2 + 10
        while True:
            row = self.ledger.get_oauth_token(self.realm_id)
            self._check_readable(row)
            if self._usable(row, rejected):
                return self._use(row["access_token"], row["access_expires_at"])
            seen_version = row["version"] if row else None
            if self.ledger.claim_token_refresh(self.realm_id, self.owner, self.lease_seconds):
                return self._refresh_holding_lease(rejected)
            self._wait_for_other_refresh(seen_version, deadline)

    def _wait_for_other_refresh(self, seen_version: int | None, deadline: float) -> None:
        """Return once the row changed or nobody holds a live lease any more."""
        while True:
            if time.monotonic() > deadline:
                row = self.ledger.get_oauth_token(self.realm_id) or {}
                raise QboAuthError(
                    f"gave up waiting for another worker ({row.get('lease_owner')}) to refresh the QBO token of "
                    f"realm {self.realm_id}; its lease runs until {row.get('lease_until')}. If that worker died, "
                    f"the next attempt after the lease ends refreshes the token",
                    operation="refresh the access token",
                )
            self.wait(self.poll_interval * random.uniform(1.0, 1.5))
            row = self.ledger.get_oauth_token(self.realm_id)
            if row is None or row["version"] != seen_version:
                return
            lease_until = row.get("lease_until")
            if lease_until is None or lease_until <= self.now():
                return

    def _candidates(self, row: dict[str, Any] | None) -> list[tuple[str, str]]:
        """Refresh tokens to try, best first, each with where it came from."""
        stored = (row or {}).get("refresh_token")
        if stored and not self._reconnected(row):
            return [(stored, "ledger")]
        found = []
        if self._connection_token:
            found.append((self._connection_token, "connection"))
        if stored and stored != self._connection_token:
            # a worker may run with an older copy of the connection: the ledger's token is then newer
            found.append((stored, "ledger"))
        return found

    def _refresh_holding_lease(self, rejected: str | None) -> str:
        released = False
        try:
            row = self.ledger.get_oauth_token(self.realm_id)
            self._check_readable(row)
            if self._usable(row, rejected):  # refreshed by someone else between our read and our claim
                return self._use(row["access_token"], row["access_expires_at"])
            candidates = self._candidates(row)
            if not candidates:
                raise QboTokenRevoked(self._reconnect_message("there is no refresh token for it yet"))
            tried: set[str] = set()
            while candidates:
                token, source = candidates.pop(0)
                tried.add(token)
                self._seen.append(token)
                try:
                    grant = self.endpoint.refresh(token)
                except InvalidGrant:
                    log.warning(
                        "QBO refused the refresh token from the %s for realm %s (invalid_grant)", source, self.realm_id
                    )
                    row = self.ledger.get_oauth_token(self.realm_id)
                    if self._usable(row, rejected):  # another process rotated and stored it meanwhile
                        return self._use(row["access_token"], row["access_expires_at"])
                    candidates += [c for c in self._candidates(row) if c[0] not in tried and c not in candidates]
                    continue
                self._store(grant, self._fingerprint_to_store(row, source))
                released = True
                log.info(
                    "QBO access token for realm %s refreshed from the %s token (valid until %s); refresh token "
                    "stored (%s)",
                    self.realm_id,
                    source,
                    grant.access_expires_at.isoformat(timespec="seconds"),
                    "the same one" if grant.refresh_token == token else "rotated",
                )
                return self._use(grant.access_token, grant.access_expires_at)
            raise QboTokenRevoked(self._reconnect_message("QBO refused its refresh token (invalid_grant)"))
        finally:
            if not released:
                self.ledger.release_token_refresh(self.realm_id, self.owner)

    def _fingerprint_to_store(self, row: dict[str, Any] | None, source: str) -> str | None:
        """Which connection token the ledger has now taken into account.

        After the connection's token was used, its fingerprint. After falling back to the
        ledger's token (this worker's connection copy is older than what the ledger adopted),
        the ledger's fingerprint stays, so up-to-date workers do not re-adopt a dead token.
        """
        stored = (row or {}).get("source_fingerprint")
        if source == "connection" or not stored:
            return self._connection_fp
        return stored

    def _store(self, grant: TokenGrant, source_fingerprint: str | None) -> None:
        """Save the rotated refresh token before anyone uses the new access token; retried, it matters."""
        self._seen.append(grant.refresh_token)
        self._seen.append(grant.access_token)

        def save(attempt: int) -> None:
            try:
                self.ledger.save_oauth_token(
                    self.realm_id,
                    refresh_token=grant.refresh_token,
                    access_token=grant.access_token,
                    access_expires_at=grant.access_expires_at,
                    refresh_expires_at=grant.refresh_expires_at,
                    source_fingerprint=source_fingerprint,
                    owner=self.owner,
                )
            except Exception as exc:  # the DB driver's error types differ; the consequence does not
                raise RetryLater(self._unstored_error(exc), type(exc).__name__) from None

        call_with_retries(save, retries=2, wait=lambda attempt, _: 0.2 * (attempt + 1), sleep=time.sleep)

    def _unstored_error(self, exc: Exception) -> QboAuthError:
        return QboAuthError(
            f"QBO issued a new refresh token for realm {self.realm_id} but the state database "
            f"({getattr(self.ledger, 'description', 'ledger')}) could not store it "
            f"({type(exc).__name__}). The stored token may now be superseded; Intuit accepts a superseded "
            f"token for about 24 hours, so fix the state database and run again within a day. If a run "
            f"fails with invalid_grant, reconnect the app and put the new refresh token in the connection "
            f"{self.conn_id!r} extra 'refresh_token'",
            operation="store the rotated refresh token",
        )

    def _unreadable_message(self) -> str:
        return (
            f"the QBO tokens stored for realm {self.realm_id} in the state database "
            f"({getattr(self.ledger, 'description', 'ledger')}) do not decrypt with Airflow's configured Fernet "
            f"key(s). If [core] fernet_key was changed, configure the new key first and the previous one after "
            f"it, comma-separated (AIRFLOW__CORE__FERNET_KEY=new,old), on every Airflow component: atqbo then "
            f"re-encrypts the tokens with the new key. If the previous key is lost, re-authorize: run Intuit's "
            f"OAuth consent for this app again and put the new refresh token in the Airflow connection "
            f'{self.conn_id!r}, extra field "refresh_token"; atqbo adopts it on the next run and replaces the '
            f"unreadable tokens"
        )

    def _reconnect_message(self, why: str) -> str:
        return (
            f"QuickBooks Online authorization for realm {self.realm_id} is gone: {why}. The app was "
            f"disconnected, the refresh token expired (about 100 days unused) or it was superseded. "
            f"To reconnect: run Intuit's OAuth consent for this app again (your app's Connect to "
            f"QuickBooks flow or the OAuth 2.0 Playground on developer.intuit.com), then put the new "
            f'refresh token in the Airflow connection {self.conn_id!r}, extra field "refresh_token"; '
            f"atqbo adopts it on the next run"
        )
