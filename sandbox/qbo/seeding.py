"""How a QBO company comes to be: the fresh one a reset leaves, and a seed document's ``qbo`` part
applied to a copy of the current books through the same rules as API writes.

A seed that breaks a rule raises ``SeedError`` naming the record and the rule; since it was
applied to a copy, nothing of it is loaded.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sandbox.core import SeedError
from sandbox.qbo.books import Company
from sandbox.qbo.currency import set_home_currency
from sandbox.qbo.defaults import DEFAULT_ACCOUNTS, default_company_info, default_preferences
from sandbox.qbo.exchange_rates import save_exchange_rate
from sandbox.qbo.faults import Fault
from sandbox.qbo.oauth import OAUTH_SEED_KEYS
from sandbox.qbo.schema import ALWAYS_READ_ONLY, ENTITIES, SEED_ORDER
from sandbox.qbo.times import pacific_now, stamp
from sandbox.qbo.writes import save_record


def fresh_company(realm_id: str, now: Callable[[], datetime] = pacific_now) -> Company:
    """The company after a reset: default Preferences and CompanyInfo, and the default chart of accounts."""
    company = Company(realm_id, now)
    created = stamp(now())
    company.preferences = {
        **default_preferences(),
        "Id": "1",
        "SyncToken": "0",
        "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
    }
    company.company_info = {
        **default_company_info(realm_id),
        "SyncToken": "0",
        "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
    }
    for account in DEFAULT_ACCOUNTS:
        save_record(company, "Account", dict(account), seed=True)
    return company


def check_seed_part(part: Any, extra_keys: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Check the shape of a seed's ``qbo`` part, or of one company's part (keys, ``oauth``); return
    its ``oauth`` object. ``extra_keys``: keys the caller checks itself (``companies``)."""
    if not isinstance(part, dict):
        raise SeedError("qbo seed: the 'qbo' part must be an object")
    known = {"realm_id", "oauth", "Preferences", "CompanyInfo", "ExchangeRate", *ENTITIES, *extra_keys}
    unknown = set(part) - known
    if unknown:
        raise SeedError(f"qbo seed: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    oauth = part.get("oauth") or {}
    if not isinstance(oauth, dict):
        raise SeedError("qbo seed: 'oauth' must be an object")
    unknown = set(oauth) - OAUTH_SEED_KEYS
    if unknown:
        raise SeedError(f"qbo seed: unknown oauth keys {sorted(unknown)}")
    return oauth


def seed_books(books: Company, part: dict[str, Any]) -> None:
    """Apply a checked ``qbo`` part to ``books`` (a copy: on a ``SeedError`` the caller drops it)."""
    if part.get("realm_id") is not None:
        books.realm_id = str(part["realm_id"])
    books.seeding = True
    try:
        if part.get("Preferences"):
            home = books.home_currency
            books.merge_preferences({k: v for k, v in part["Preferences"].items() if k not in ALWAYS_READ_ONLY})
            # A dumped state's SyncToken and MetaData load back as they were (as CompanyInfo's do).
            books.preferences.update(
                {k: copy.deepcopy(v) for k, v in part["Preferences"].items() if k in ("SyncToken", "MetaData")}
            )
            if books.home_currency != home:
                _seed_step("Preferences", "CurrencyPrefs.HomeCurrency", partial(set_home_currency, books, home))
        if part.get("CompanyInfo"):
            books.merge_company_info(part["CompanyInfo"])
        for entity in ("ExchangeRate", *SEED_ORDER):
            _seed_rows(books, entity, part.get(entity) or [])
    finally:
        books.seeding = False


def _seed_rows(books: Company, entity: str, rows: Any) -> None:
    """A seed's records of one entity, each through the rules of an API write."""
    if not isinstance(rows, list):
        raise SeedError(f"qbo seed: '{entity}' must be a list of records")
    for index, row in enumerate(rows):
        if entity == "ExchangeRate":
            step = partial(save_exchange_rate, books, row, seed=True)
        else:
            step = partial(save_record, books, entity, row, seed=True)
        _seed_step(f"{entity}[{index}]", _seed_label(entity, row), step)


def _seed_step(where: str, label: str, step: Callable[[], Any]) -> None:
    """Run one step of a seed; a fault becomes the SeedError that names the record and the rule."""
    try:
        step()
    except Fault as fault:
        raise SeedError(
            f"qbo seed: {where} {label} breaks rule {fault.code} {fault.message}: "
            f"{fault.detail}" + (f" (element {fault.element})" if fault.element else "")
        ) from None


def _seed_label(entity: str, row: Any) -> str:
    if not isinstance(row, dict):
        return "(not an object)"
    name = next(
        (row[k] for k in ("DisplayName", "Name", "DocNumber", "Code", "SourceCurrencyCode") if row.get(k)), None
    )
    parts = [f"Id={row['Id']}" if row.get("Id") not in (None, "") else "", f"'{name}'" if name else ""]
    return " ".join(p for p in parts if p) or "(no Id)"
