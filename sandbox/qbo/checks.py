"""Rules every QBO write shares: the Id + SyncToken of an update, closed books, string lengths,
references (2500 missing, 610 inactive), and names (no colon, tab or new line; unique within their
group).
"""

from __future__ import annotations

from typing import Any

from sandbox.qbo.books import Company
from sandbox.qbo.faults import (
    Fault,
    duplicate_name,
    inactive_reference,
    invalid_property,
    invalid_reference,
    object_not_found,
    period_closed,
    required,
    stale_object,
    too_long,
)
from sandbox.qbo.schema import LENGTHS
from sandbox.qbo.values import display_name, ref_value


def existing_for_operation(books: Company, entity: str, body: Any) -> dict[str, Any]:
    """The transaction a void, delete or send body names (Id and current SyncToken required)."""
    if not isinstance(body, dict) or body.get("Id") in (None, ""):
        raise required("Id")
    return current_version(books, entity, body, transaction=True)


def current_version(books: Company, entity: str, body: dict[str, Any], *, transaction: bool) -> dict[str, Any]:
    """The stored record ``body`` names by its Id, when ``body`` carries its current SyncToken:
    otherwise QBO's 610 (no such record), a missing SyncToken, or 5010 (a stale one)."""
    existing = books.get(entity, body["Id"])
    if existing is None:
        raise object_not_found(transaction=transaction)
    token = body.get("SyncToken")
    if token in (None, ""):
        raise required("SyncToken")
    if str(token) != existing["SyncToken"]:
        raise stale_object()
    return existing


def check_books_open(books: Company, txn_date: str | None) -> None:
    close = books.pref("AccountingInfoPrefs", "BookCloseDate")
    if books.seeding or not close or not txn_date:
        return
    if txn_date <= str(close)[:10]:
        raise period_closed()


def check_lengths(entity: str, record: dict[str, Any]) -> None:
    for (scope, prop), maximum in LENGTHS.items():
        if scope not in ("*", entity):
            continue
        value = record.get(prop)
        if isinstance(value, str) and len(value) > maximum:
            raise too_long(prop, maximum, len(value))


def check_ref(books: Company, ref: Any, target: str, element: str) -> dict[str, Any]:
    """Check a reference (2500 missing, 610 inactive) and return it with the current name."""
    if not isinstance(ref, dict):
        raise invalid_property(f"{element} specified is unsupported or invalid", element)
    rid = ref_value(ref)
    if rid is None:
        raise required(f"{element}.value")
    record = books.get(target, rid)
    if record is None:
        raise invalid_reference(target, element)
    if record.get("Active") is False:
        raise inactive_reference(element)
    return {"value": rid, "name": display_name(target, record)}


def check_optional_ref(
    books: Company, record: dict[str, Any], key: str, target: str, element: str | None = None
) -> dict[str, Any] | None:
    if key in record:
        record[key] = check_ref(books, record[key], target, element or key)
        return books.get(target, record[key]["value"])
    return None


def check_name_text(prop: str, value: str, extra_forbidden: str = "") -> None:
    bad = [ch for ch in (":", "\t", "\n", "\r") + tuple(extra_forbidden) if ch in value]
    if bad:
        shown = {"\t": "a tab", "\n": "a new line", "\r": "a new line"}.get(bad[0], f"'{bad[0]}'")
        raise Fault(
            "2040",
            "Invalid Character",
            f"Invalid Character : {prop} cannot contain {shown}. Remove the colon, tab or new line and try again.",
            prop,
        )


def claim_name(books: Company, group: str, name: str, entity: str, existing: dict[str, Any] | None, kind: str) -> None:
    owner = books.names.get((group, name.casefold()))
    if owner is not None and not (existing is not None and owner == (entity, existing["Id"])):
        raise duplicate_name(kind)
