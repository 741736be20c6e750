"""Intuit's OAuth 2.0 server as the sandbox plays it: the client credentials, the live access and
refresh tokens, and the token, revoke and OpenID discovery endpoints; plus the answers an API call
gets without a live Bearer token (401) or with one for another company (403).

Refresh tokens follow Intuit's policy (docs/api-facts.md 2.7): a refresh returns a *new* refresh
token only when the current one is at least ``refresh_token_rotation_s`` old (a day), else the
same one; the superseded token keeps working for ``previous_refresh_token_s`` (a day) after the
new one was issued. What a refresh with that superseded token answers is not documented: the
sandbox answers the current refresh token (no further rotation) and a new access token. A seeded
refresh token counts as older than a day (a connection made earlier), so the first refresh
rotates it.

Several companies (realms) each have an ``OAuth`` of their own: their own refresh token, access
tokens and authorization code, as Intuit gives one refresh token per authorization of an app for a
company. A company's app is its own client id and secret, or the default company's (``shared_with``:
one app authorized for several companies). The token and revoke endpoints (``serve_token``,
``serve_revoke``) find the authorization a request is about among the ``OAuth`` objects of the
client that authenticated: the one whose refresh token, code or token it offers.

Token lifetimes are limits in sandbox seconds (``clock.seconds()``); ``expires_in`` is reported
in real seconds so that a client trusting it refreshes in time under a time scale.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from sandbox.core import Clock, Request, Response
from sandbox.qbo.faults import Fault
from sandbox.qbo.responses import fault_response, new_tid
from sandbox.qbo.times import pacific_now, response_time

DEFAULT_CLIENT_ID = "atqbo-sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_REFRESH_TOKEN = "sandbox-refresh-token-0"

TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
DISCOVERY_PREFIX = "/.well-known/openid"

# What a seed's ``qbo.oauth`` may hold. live_access_tokens is what a state dump reports; it is
# accepted (and ignored) so that a dump loads back.
OAUTH_SEED_KEYS = {
    "client_id",
    "client_secret",
    "refresh_token",
    "authorization_code",
    "revoke",
    "live_access_tokens",
}


class OAuth:
    """Client credentials and the live tokens. ``lock`` is the emulator's (tokens and books change
    together under it); ``limit`` reads a current QBO limit (the token lifetimes)."""

    def __init__(
        self,
        clock: Clock,
        lock: threading.RLock,
        limit: Callable[[str], float],
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        refresh_token: str = DEFAULT_REFRESH_TOKEN,
        shared_with: OAuth | None = None,
    ):
        self.clock = clock
        self._lock = lock
        self._limit = limit
        self.shared_with = shared_with  # another company's OAuth whose client (app) this one uses
        self._client_id = client_id
        self._client_secret = client_secret
        self.refresh_token: str | None = refresh_token
        self.refresh_expires_at: float | None = None  # None: set on first use from the limits
        self.refresh_issued_at: float | None = None  # None: issued long ago (a seeded token)
        self.previous_refresh_token: str | None = None  # superseded, alive until previous_until
        self.previous_until: float = 0.0
        self.access_tokens: dict[str, float] = {}  # token -> expires at
        self.authorization_code: str | None = None

    def __repr__(self) -> str:  # never show secrets
        return f"OAuth(client_id={self.client_id!r}, live_access_tokens={len(self.access_tokens)})"

    @property
    def client_id(self) -> str:
        return self.shared_with.client_id if self.shared_with is not None else self._client_id

    @client_id.setter
    def client_id(self, value: str) -> None:
        self._client_id = value

    @property
    def client_secret(self) -> str:
        return self.shared_with.client_secret if self.shared_with is not None else self._client_secret

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self._client_secret = value

    def client_matches(self, client_id: str, secret: str) -> bool:
        return secrets.compare_digest(client_id, self.client_id) and secrets.compare_digest(secret, self.client_secret)

    def revoke_all(self) -> None:
        self.refresh_token = None
        self.refresh_expires_at = None
        self.refresh_issued_at = None
        self._forget_previous()
        self.access_tokens.clear()

    def _forget_previous(self) -> None:
        self.previous_refresh_token = None
        self.previous_until = 0.0

    # -- state (the caller holds the lock) ---------------------------------------------------------

    def live_refresh_token(self) -> None:
        """Start the refresh token's lifetime on first sight; drop it once expired."""
        if self.refresh_token is None:
            return
        now = self.clock.seconds()
        if self.refresh_expires_at is None:
            self.refresh_expires_at = now + float(self._limit("refresh_token_ttl_s"))
        elif self.refresh_expires_at <= now:
            self.refresh_token = None
            self.refresh_expires_at = None

    def expire_refresh_token(self) -> None:
        """The refresh token (and a superseded one) reach the end of their life now, as after 100
        days unused; access tokens already issued live on until they expire."""
        self.refresh_token = None
        self.refresh_expires_at = None
        self.refresh_issued_at = None
        self._forget_previous()

    def state(self) -> dict[str, Any]:
        """The credentials and tokens as a state dump shows them (a shared client's are its owner's:
        left out)."""
        self.live_refresh_token()
        now = self.clock.seconds()
        client = (
            {} if self.shared_with is not None else {"client_id": self.client_id, "client_secret": self.client_secret}
        )
        return {
            **client,
            "refresh_token": self.refresh_token,
            "live_access_tokens": sum(1 for t in self.access_tokens.values() if t > now),
        }

    def apply_seed(self, oauth: dict[str, Any]) -> None:
        """A seed's ``oauth``: new credentials, ``revoke`` (the user disconnected), a new refresh
        token (the user reconnected), an authorization code; ``revoke`` first."""
        if "client_id" in oauth:
            self.client_id = str(oauth["client_id"])
        if "client_secret" in oauth:
            self.client_secret = str(oauth["client_secret"])
        if oauth.get("revoke"):
            self.revoke_all()
        if "refresh_token" in oauth:
            self.refresh_token = str(oauth["refresh_token"])
            self.refresh_expires_at = None
            self.refresh_issued_at = None
            self._forget_previous()
        if "authorization_code" in oauth:
            self.authorization_code = str(oauth["authorization_code"])

    def access_token_expiry(self, req: Request) -> tuple[float | None, float]:
        """When the request's Bearer token expires (None: not a token of ours) and the time now;
        tokens dead for a day are forgotten."""
        header = req.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        expires = self.access_tokens.get(token) if scheme.lower() == "bearer" and token else None
        now = self.clock.seconds()
        for dead in [t for t, exp in self.access_tokens.items() if exp <= now - 3600 * 24]:
            del self.access_tokens[dead]
        return expires, now

    # -- endpoints ---------------------------------------------------------------------------------

    def _is_live_previous(self, offered: str) -> bool:
        """``offered`` is the superseded refresh token, still inside its day of grace."""
        return (
            self.previous_refresh_token is not None
            and self.clock.seconds() < self.previous_until
            and secrets.compare_digest(offered, self.previous_refresh_token)
        )

    def _due_for_rotation(self, form: dict[str, str]) -> bool:
        """A new refresh token: for a code grant, or a refresh with the current token once it is old
        enough. The superseded token gets the current one (the sandbox's guess)."""
        if form.get("grant_type") != "refresh_token":
            return True
        offered = form.get("refresh_token") or ""
        if self.refresh_token is None or not secrets.compare_digest(offered, self.refresh_token):
            return False  # the live previous token
        if self.refresh_issued_at is None:
            return True
        return self.clock.seconds() - self.refresh_issued_at >= float(self._limit("refresh_token_rotation_s"))

    def _refuse_grant(self, form: dict[str, str], headers: dict[str, str]) -> Response | None:
        """The answer to a grant that does not hold; None when it does (a code is then used up)."""
        grant = form.get("grant_type")
        if grant == "refresh_token":
            offered = form.get("refresh_token")
            if not offered:
                return Response.json(
                    400, {"error": "invalid_request", "error_description": "refresh_token is required"}, headers
                )
            current = self.refresh_token is not None and secrets.compare_digest(offered, self.refresh_token)
            if not current and not self._is_live_previous(offered):
                return Response.json(400, {"error": "invalid_grant", "error_description": "Token invalid"}, headers)
        elif grant == "authorization_code":
            code = form.get("code")
            if not code or self.authorization_code is None or not secrets.compare_digest(code, self.authorization_code):
                return Response.json(400, {"error": "invalid_grant", "error_description": "Token invalid"}, headers)
            self.authorization_code = None  # a code works once
        else:
            return Response.json(400, {"error": "unsupported_grant_type"}, headers)
        return None

    def _issue_tokens(self, rotate: bool, keep_previous: bool = True) -> dict[str, Any]:
        """A new access token, and the refresh token: a new one when ``rotate`` (the one it replaces
        then works for ``previous_refresh_token_s`` more), else the current one, whose lifetime
        is not extended."""
        now = self.clock.seconds()
        access_ttl = float(self._limit("access_token_ttl_s"))
        access = "eyJ" + secrets.token_urlsafe(48)
        self.access_tokens[access] = now + access_ttl
        if rotate or self.refresh_token is None or self.refresh_expires_at is None:
            if self.refresh_token is not None and keep_previous:
                self.previous_refresh_token = self.refresh_token
                self.previous_until = now + float(self._limit("previous_refresh_token_s"))
            self.refresh_token = "AB11" + secrets.token_hex(24)
            self.refresh_issued_at = now
            self.refresh_expires_at = now + float(self._limit("refresh_token_ttl_s"))
        return {
            "token_type": "bearer",
            "access_token": access,
            # Real seconds, so a client that trusts expires_in refreshes in time under a time scale.
            "expires_in": max(1, int(self.clock.real_seconds(access_ttl))),
            "refresh_token": self.refresh_token,
            "x_refresh_token_expires_in": max(1, int(self.clock.real_seconds(self.refresh_expires_at - now))),
        }

    def holds(self, token: str) -> bool:
        """``token`` is one of this authorization's: its refresh token, the superseded one, a live access token."""
        return token in (self.refresh_token, self.previous_refresh_token) or token in self.access_tokens

    def offers_grant(self, form: dict[str, str]) -> bool:
        """The grant names this authorization: its refresh token (or the live superseded one), or its code."""
        if form.get("grant_type") == "authorization_code":
            code = form.get("code") or ""
            return self.authorization_code is not None and secrets.compare_digest(code, self.authorization_code)
        offered = form.get("refresh_token") or ""
        current = self.refresh_token is not None and secrets.compare_digest(offered, self.refresh_token)
        return current or self._is_live_previous(offered)

    def grant(self, form: dict[str, str], headers: dict[str, str]) -> Response:
        """Answer a token request for this authorization (the caller holds the lock)."""
        self.live_refresh_token()
        refused = self._refuse_grant(form, headers)
        if refused is not None:
            return refused
        consent = form.get("grant_type") == "authorization_code"
        if consent:  # a new consent starts a new chain: nothing of the old one lingers
            self._forget_previous()
        payload = self._issue_tokens(rotate=self._due_for_rotation(form), keep_previous=not consent)
        return Response.json(200, payload, headers)


def serve_token(req: Request, oauths: list[OAuth], lock: threading.RLock) -> Response:
    """``POST /oauth2/v1/tokens/bearer``: a refresh_token or authorization_code grant, for the
    authorization (among those of the authenticated client) whose refresh token or code it offers."""
    headers = {"intuit_tid": new_tid(), "Cache-Control": "no-store"}
    if req.method != "POST":
        return Response.json(405, {"error": "invalid_request", "error_description": "use POST"}, headers)
    form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    with lock:
        mine = _clients_authorizations(req, oauths)
        if not mine:
            return Response.json(401, {"error": "invalid_client"}, headers)
        for oauth in mine:
            oauth.live_refresh_token()
        # A token of no authorization of this client is refused by the first one (invalid_grant).
        target = next((o for o in mine if o.offers_grant(form)), mine[0])
        return target.grant(form, headers)


def serve_revoke(req: Request, oauths: list[OAuth], lock: threading.RLock) -> Response:
    """``POST /v2/oauth2/tokens/revoke``: revoking the refresh token or a live access token ends
    every token of that authorization (that company's), and of no other."""
    headers = {"intuit_tid": new_tid()}
    if req.method != "POST":
        return Response.json(405, {"error": "invalid_request"}, headers)
    try:
        token = (json.loads(req.body.decode("utf-8") or "{}") or {}).get("token")
    except (ValueError, AttributeError):
        token = None
    with lock:
        mine = _clients_authorizations(req, oauths)
        if not mine:
            return Response.json(401, {"error": "invalid_client"}, headers)
        if not token:
            return Response.json(400, {"error": "invalid_request"}, headers)
        for oauth in mine:
            if oauth.holds(token):
                oauth.revoke_all()
    return Response(200, b"", headers)


def _clients_authorizations(req: Request, oauths: list[OAuth]) -> list[OAuth]:
    """The authorizations of the client that HTTP Basic authentication names (none: not a client)."""
    header = req.header("authorization") or ""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return []
    try:
        client_id, _, secret = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return []
    return [o for o in oauths if o.client_matches(client_id, secret)]


def serve_discovery(req: Request) -> Response:
    """The OpenID discovery document, its endpoints on this server (intuitlib fetches it)."""
    base = f"http://{req.header('host') or 'localhost'}"
    doc = {
        "issuer": "https://oauth.platform.intuit.com/op/v1",
        "authorization_endpoint": base + "/connect/oauth2",
        "token_endpoint": base + TOKEN_PATH,
        "userinfo_endpoint": base + "/v1/openid_connect/userinfo",
        "revocation_endpoint": base + REVOKE_PATH,
        "jwks_uri": base + "/op/v1/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }
    return Response.json(200, doc)


def unauthorized_response(expires: float | None) -> Response:
    """401 for an API call without a live Bearer token (lower-case keys, as seen in the wild)."""
    detail = "Token expired" if expires is not None else "Token invalid or missing"
    payload = {
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                }
            ],
            "type": "AUTHENTICATION",
        },
        "time": response_time(pacific_now()),
    }
    return Response.json(
        401,
        payload,
        {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"', "intuit_tid": new_tid()},
    )


def wrong_realm_response(realm: str) -> Response:
    """403 for a live token used on another company's path."""
    return fault_response(
        Fault(
            "3100",
            "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
            f"The access token does not give access to company {realm}.",
            status=403,
            kind="AuthorizationFault",
        )
    )
