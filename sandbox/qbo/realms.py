"""Several QBO companies (realms) served at once: what each one owns, and a seed's ``companies``.

A ``Realm`` is one company as one app sees it: its books, its OAuth authorization (refresh and
access tokens; its own app's client id and secret, or the default company's when its client is
``"shared"``), its limits and its rate windows. The default company (the seed's ``qbo`` part, Airflow
connection ``qbo_default``) is a realm like the others; the extra ones come from
``qbo.companies``, each with its ``realm_id``, ``conn_id``, ``client`` and an optional named
``profile`` (a QBO company profile document the caller resolves) to start from.

``check_companies`` checks the shape of that list (all of it, before anything is seeded);
``company_seed_part`` strips a company part to what ``seed_books`` takes.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from sandbox.core import Clock, SeedError
from sandbox.qbo.books import Company
from sandbox.qbo.limits import RequestRates
from sandbox.qbo.oauth import OAuth

DEFAULT_CONN_ID = "qbo_default"
CLIENT_MODES = ("shared", "own")
# What a company part holds besides what a ``qbo`` part accepts.
COMPANY_KEYS = {"realm_id", "conn_id", "client", "profile"}
# Airflow connection ids: letters, digits, underscores, dashes and dots.
CONN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
REALM_ID_PATTERN = re.compile(r"^[0-9]{1,32}$")


def own_client_id(realm_id: str) -> str:
    """An extra company's own app after a seed that names none: its client id ..."""
    return f"atqbo-sandbox-client-{realm_id}"


def own_client_secret(realm_id: str) -> str:
    """... and its client secret."""
    return f"sandbox-client-secret-{realm_id}"


def first_refresh_token(realm_id: str) -> str:
    """An extra company's refresh token after a seed that gives none (the default company's is
    ``DEFAULT_REFRESH_TOKEN``)."""
    return f"sandbox-refresh-token-{realm_id}"


class Realm:
    """One company: books, authorization, limits and rate windows. Guarded by the emulator's lock;
    ``rates`` has a lock of its own (it is counted outside the emulator's)."""

    def __init__(
        self,
        clock: Clock,
        lock: threading.RLock,
        company: Company,
        limits: dict[str, float],
        conn_id: str = DEFAULT_CONN_ID,
        client: str = "default",
        shared_with: OAuth | None = None,
    ):
        self.company = company
        self.limits = dict(limits)
        self.conn_id = conn_id
        self.client = client  # "default" (the default company), "shared" or "own"
        if client == "default":
            self.oauth = OAuth(clock, lock, self.limit)
        else:
            self.oauth = OAuth(
                clock,
                lock,
                self.limit,
                client_id=own_client_id(company.realm_id),
                client_secret=own_client_secret(company.realm_id),
                refresh_token=first_refresh_token(company.realm_id),
                shared_with=shared_with if client == "shared" else None,
            )
        self.rates = RequestRates(clock)

    def __repr__(self) -> str:
        return f"Realm({self.realm_id!r}, conn_id={self.conn_id!r}, client={self.client!r})"

    @property
    def realm_id(self) -> str:
        return self.company.realm_id

    def limit(self, key: str) -> float:
        """A limit of this company as it stands now (its OAuth reads token lifetimes through this)."""
        return self.limits[key]

    def dump(self) -> dict[str, Any]:
        """The company part a state dump shows (the caller holds the lock)."""
        state = self.company.dump()
        if self.client != "default":
            state = {"realm_id": self.realm_id, "conn_id": self.conn_id, "client": self.client, **state}
        state["oauth"] = self.oauth.state()
        return state

    def airflow_connection(self, base_url: str, token_path: str) -> dict[str, Any]:
        """The Airflow connection (JSON form) of this company (the caller holds the lock)."""
        self.oauth.live_refresh_token()
        return {
            "conn_type": "quickbooks_online",
            "host": base_url,
            "login": self.oauth.client_id,
            "password": self.oauth.client_secret,
            "extra": {
                "realm_id": self.realm_id,
                "refresh_token": self.oauth.refresh_token,
                "token_url": base_url + token_path,
            },
        }


def check_companies(
    companies: Any,
    default_realm: str,
    existing: dict[str, Realm],
    profile_names: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Check the shape of a seed's ``qbo.companies`` against the realms there will be; return the
    list. ``existing`` maps the extra realms now served to their ``Realm``; ``default_realm`` is
    the default company's realm id once the seed applies."""
    if not isinstance(companies, list):
        raise SeedError("qbo seed: 'companies' must be a list of company parts")
    conn_ids = {DEFAULT_CONN_ID: default_realm}
    conn_ids.update({r.conn_id: realm for realm, r in existing.items()})
    seen: set[str] = set()
    for index, company in enumerate(companies):
        where = f"qbo seed: companies[{index}]"
        if not isinstance(company, dict):
            raise SeedError(f"{where} must be an object")
        realm = company.get("realm_id")
        if isinstance(realm, int) and not isinstance(realm, bool):
            realm = str(realm)
        if not isinstance(realm, str) or not REALM_ID_PATTERN.match(realm):
            raise SeedError(f"{where}: realm_id {company.get('realm_id')!r} is not a realm id (digits)")
        where = f"qbo seed: companies[{index}] (realm {realm})"
        if realm == default_realm:
            raise SeedError(f"{where}: realm {realm} is the default company's")
        if realm in seen:
            raise SeedError(f"{where}: realm {realm} appears twice in 'companies'")
        seen.add(realm)
        known = existing.get(realm)
        conn_id = company.get("conn_id")
        if conn_id is None and known is None:
            raise SeedError(f"{where}: a new company needs a 'conn_id' (its Airflow connection id)")
        if conn_id is not None:
            if not isinstance(conn_id, str) or not CONN_ID_PATTERN.match(conn_id):
                raise SeedError(f"{where}: conn_id {conn_id!r} is not an Airflow connection id")
            holder = conn_ids.get(conn_id)
            if holder is not None and holder != realm:
                raise SeedError(f"{where}: conn_id {conn_id!r} is already realm {holder}'s")
            if known is not None:
                conn_ids.pop(known.conn_id, None)
            conn_ids[conn_id] = realm
        client = company.get("client")
        if client is not None and client not in CLIENT_MODES:
            raise SeedError(f"{where}: client {client!r} must be one of {', '.join(CLIENT_MODES)}")
        if known is not None and client is not None and client != known.client:
            raise SeedError(f"{where}: the company's client is {known.client!r} and cannot change to {client!r}")
        profile = company.get("profile")
        if profile is not None:
            if known is not None:
                raise SeedError(f"{where}: 'profile' only starts a new company; realm {realm} exists")
            if profile not in profile_names:
                raise SeedError(f"{where}: unknown profile {profile!r}; the profiles are {', '.join(profile_names)}")
        mode = client or (known.client if known is not None else "own")
        oauth = company.get("oauth") or {}
        if mode == "shared" and isinstance(oauth, dict) and ({"client_id", "client_secret"} & set(oauth)):
            raise SeedError(
                f"{where}: a 'shared' client company uses the default company's client id and secret; "
                "set them in the default company's oauth, or make the client 'own'"
            )
    return companies


def company_seed_part(company: dict[str, Any]) -> dict[str, Any]:
    """A company part as ``seed_books`` takes it: without ``conn_id``, ``client``, ``profile``."""
    part = {k: v for k, v in company.items() if k not in COMPANY_KEYS}
    part["realm_id"] = str(company["realm_id"])
    return part


def company_error(realm: str, conn_id: str, error: SeedError) -> SeedError:
    """A SeedError of one company's part, saying which company it is."""
    message = str(error).removeprefix("qbo seed: ")
    return SeedError(f"qbo seed: company realm {realm} ({conn_id}): {message}")
