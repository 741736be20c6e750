"""Writes to the books: save (create or update), delete, void, send an invoice, update Preferences,
and ``commit``, the one place a validated record is stored (Id, SyncToken, MetaData, indexes,
balances). Every write checks all its rules before ``commit`` changes anything.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from sandbox.qbo.balances import apply_payment, move_party_balance
from sandbox.qbo.bills import normalize_bill
from sandbox.qbo.books import Company
from sandbox.qbo.checks import check_books_open, check_lengths, current_version, existing_for_operation
from sandbox.qbo.currency import normalize_company_currency
from sandbox.qbo.faults import business, invalid_property, object_not_found, required, stale_object, unsupported
from sandbox.qbo.fields import FIELDS
from sandbox.qbo.invoices import normalize_invoice
from sandbox.qbo.lists import normalize_account, normalize_class, normalize_item, normalize_name, normalize_term
from sandbox.qbo.payments import normalize_payment
from sandbox.qbo.schema import ALWAYS_READ_ONLY, NAME_LISTS, READ_ONLY, SEED_ONLY, TRANSACTIONS
from sandbox.qbo.tax_lists import normalize_tax_agency, normalize_tax_code, normalize_tax_rate
from sandbox.qbo.times import stamp
from sandbox.qbo.values import clean, ref_value

# The rules of each entity but the name lists and invoices: (books, record, existing).
RULES: dict[str, Callable[[Company, dict[str, Any], dict[str, Any] | None], None]] = {
    "Item": normalize_item,
    "Account": normalize_account,
    "Term": normalize_term,
    "Class": normalize_class,
    "Bill": normalize_bill,
    "Payment": normalize_payment,
    "CompanyCurrency": normalize_company_currency,
    "TaxAgency": normalize_tax_agency,
    "TaxRate": normalize_tax_rate,
    "TaxCode": normalize_tax_code,
}


def normalize(
    books: Company, entity: str, record: dict[str, Any], existing: dict[str, Any] | None, options: set[str]
) -> dict[str, Any]:
    """Complete a record by its entity's rules (or raise the fault that refuses it), and the records
    the write creates with it (its ``_create`` list: entity, checked record, Id)."""
    if entity in NAME_LISTS:
        normalize_name(books, entity, record, existing)
    elif entity == "Invoice":
        normalize_invoice(books, record, existing, options)
    else:
        RULES[entity](books, record, existing)
    check_lengths(entity, record)
    if "_create" in record:
        record["_create"] = [
            (kind, normalize(books, kind, clean(side), None, set()), str(side.get("Id") or ""))
            for kind, side in record["_create"]
        ]
    return record


def save_record(
    books: Company,
    entity: str,
    body: Any,
    *,
    options: Iterable[str] = (),
    seed: bool = False,
    create_only: bool = False,
) -> dict[str, Any]:
    """Create (no Id) or update (Id + SyncToken; ``sparse: true`` merges) one record.

    ``seed``: a seed record, saved through the same rules but taking its Id, SyncToken and
    MetaData as given (see ``commit``)."""
    if not isinstance(body, dict):
        raise invalid_property(f"{entity} body specified is unsupported or invalid")
    if entity in SEED_ONLY and not seed:
        raise unsupported(
            f"Operation Create/Update is not supported for {entity}: QuickBooks creates tax codes and rates "
            "through the TaxService resource, which the sandbox does not serve. Put them in the seed document."
        )
    unknown = sorted(k for k in body if k not in FIELDS[entity])
    if unknown:
        raise invalid_property(
            f'Unrecognized field "{unknown[0]}" (class com.intuit.schema.finance.v3.{entity}), '
            "not marked as ignorable specified is unsupported or invalid",
            unknown[0],
        )
    raw_id = body.get("Id")
    has_id = raw_id not in (None, "")
    existing = _record_to_replace(books, entity, body, seed=seed, create_only=create_only)
    candidate = _candidate(entity, body, existing, seed=seed)
    if seed and existing is not None:
        books.voided.discard((entity, existing["Id"]))
    record = normalize(books, entity, candidate, existing, set(options))
    if not seed:
        return commit(books, entity, record, existing)
    stored = commit(
        books,
        entity,
        record,
        existing,
        seed_id=str(raw_id) if has_id else "",
        seed_meta=body.get("MetaData"),
        seed_token=body.get("SyncToken"),
    )
    if entity in ("Invoice", "Payment") and looks_voided(stored):
        books.voided.add((entity, stored["Id"]))
    return stored


def _record_to_replace(
    books: Company, entity: str, body: dict[str, Any], *, seed: bool, create_only: bool
) -> dict[str, Any] | None:
    """The stored record a body with an Id updates (checking its SyncToken), or None for a create."""
    raw_id = body.get("Id")
    has_id = raw_id not in (None, "")
    if seed:
        # A seed record with the Id of an existing one replaces it, whatever its SyncToken:
        # that is what lets a dumped state load back over the default chart of accounts.
        return books.records[entity].get(str(raw_id)) if has_id else None
    if not has_id:
        return None
    if create_only:
        raise invalid_property("Id specified is unsupported or invalid for a create", "Id")
    return current_version(books, entity, body, transaction=entity in TRANSACTIONS)


def _candidate(entity: str, body: dict[str, Any], existing: dict[str, Any] | None, *, seed: bool) -> dict[str, Any]:
    """The record the rules will check: the writable properties sent, merged over the stored
    record for a sparse update, without the empty values a client sends for "absent"."""
    writable = {k: v for k, v in body.items() if k not in ALWAYS_READ_ONLY and k not in READ_ONLY[entity]}
    if existing is not None and body.get("sparse") is True and not seed:
        candidate = {k: v for k, v in copy.deepcopy(existing).items() if k not in ALWAYS_READ_ONLY}
        for key, value in writable.items():
            if value is None or value == "":
                candidate.pop(key, None)
            else:
                candidate[key] = value
        return clean(candidate)
    return clean(writable)


def delete_transaction(books: Company, entity: str, body: Any) -> dict[str, Any]:
    """Delete a transaction (name lists are made inactive instead); CDC reports it as Deleted."""
    if entity not in TRANSACTIONS:
        raise unsupported(f"Operation Delete is not supported for {entity}; make it inactive instead (Active=false).")
    existing = existing_for_operation(books, entity, body)
    check_books_open(books, existing.get("TxnDate"))
    if entity == "Invoice" and books.applied.get(existing["Id"]):
        raise business(
            f"Invoice {existing.get('DocNumber') or existing['Id']} has payments applied to it. "
            "Delete or void those payments before deleting the invoice."
        )
    rid = existing["Id"]
    if entity == "Payment":
        apply_payment(books, rid, {})
    move_party_balance(books, entity, existing, None)
    books.unindex(entity, existing)
    del books.records[entity][rid]
    books.voided.discard((entity, rid))
    books.tombstones[entity][rid] = stamp(books.now())
    return {"domain": "QBO", "status": "Deleted", "Id": rid}


def void_transaction(books: Company, entity: str, body: Any) -> dict[str, Any]:
    """Void an Invoice (``operation=void``) or a Payment (``operation=update&include=void``)."""
    if entity not in ("Invoice", "Payment"):
        raise unsupported(f"Operation Void is not supported for {entity}.")
    existing = existing_for_operation(books, entity, body)
    rid = existing["Id"]
    if (entity, rid) in books.voided:
        raise business(f"This {entity.lower()} has already been voided.")
    check_books_open(books, existing.get("TxnDate"))
    if entity == "Invoice" and books.applied.get(rid):
        raise business(
            f"Invoice {existing.get('DocNumber') or rid} has payments applied to it. "
            "Void or delete those payments before voiding the invoice."
        )
    record = copy.deepcopy(existing)
    for line in record.get("Line", []):
        if "Amount" in line:
            line["Amount"] = 0
        for detail_key in ("SalesItemLineDetail", "ItemBasedExpenseLineDetail"):
            for zeroed in ("Qty", "TaxInclusiveAmt"):
                if zeroed in line.get(detail_key, {}):
                    line[detail_key][zeroed] = 0
    note = existing.get("PrivateNote")
    record["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    record["TotalAmt"] = 0
    if entity == "Invoice":
        record["Balance"] = 0
        if "TxnTaxDetail" in record:
            record["TxnTaxDetail"]["TotalTax"] = 0
            for tax_line in record["TxnTaxDetail"].get("TaxLine", []):
                tax_line["Amount"] = 0
        if books.multi_currency:
            record["HomeBalance"] = 0
            record["HomeTotalAmt"] = 0
    else:
        record["UnappliedAmt"] = 0
        apply_payment(books, rid, {})
    books.voided.add((entity, rid))
    return commit(books, entity, record, existing)


def send_invoice(books: Company, invoice_id: str, send_to: str | None) -> dict[str, Any]:
    """Mark an invoice sent by email (``invoice/{id}/send``); the email itself is ``sandbox.qbo.delivery``'s."""
    existing = books.get("Invoice", invoice_id)
    if existing is None:
        raise object_not_found(transaction=True)
    record = copy.deepcopy(existing)
    address = send_to or (record.get("BillEmail") or {}).get("Address")
    if not address:
        raise business("An email address is required to send this invoice. Set BillEmail.Address or pass sendTo.")
    record["BillEmail"] = {"Address": address}
    record["EmailStatus"] = "EmailSent"
    record["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": stamp(books.now())}
    return commit(books, "Invoice", record, existing)


def update_preferences(books: Company, body: Any) -> dict[str, Any]:
    """``POST preferences``: deep-merge the sections sent, if the SyncToken is current."""
    if not isinstance(body, dict):
        raise invalid_property("Preferences body specified is unsupported or invalid")
    token = body.get("SyncToken")
    if token in (None, ""):
        raise required("SyncToken")
    if str(token) != books.preferences["SyncToken"]:
        raise stale_object()
    sections = {k: v for k, v in body.items() if k not in ALWAYS_READ_ONLY}
    home = ref_value((sections.get("CurrencyPrefs") or {}).get("HomeCurrency"))
    if home and home != books.home_currency:
        raise business(
            f"The home currency is {books.home_currency}; it is set when the company is created and can't be changed.",
            "CurrencyPrefs.HomeCurrency",
        )
    books.merge_preferences(sections)
    return copy.deepcopy(books.preferences)


def commit(
    books: Company,
    entity: str,
    record: dict[str, Any],
    existing: dict[str, Any] | None,
    *,
    seed_id: str | None = None,
    seed_meta: Any = None,
    seed_token: Any = None,
) -> dict[str, Any]:
    """Store a validated record. ``seed_id`` not None means a seed: its Id (or a new one when
    empty), MetaData and SyncToken (default "0") are taken as given."""
    applications = record.pop("_applications", None)
    for kind, side, side_id in record.pop("_create", []):
        commit(books, kind, side, None, seed_id=side_id)  # created with the record: a currency, an account
    now = stamp(books.now())
    if seed_id is not None:
        rid = existing["Id"] if existing is not None else (seed_id or books.next_id(entity))
        books.reserve_id(entity, rid)
        meta = {"CreateTime": now, "LastUpdatedTime": now}
        if isinstance(seed_meta, dict):
            meta["CreateTime"] = seed_meta.get("CreateTime") or now
            meta["LastUpdatedTime"] = seed_meta.get("LastUpdatedTime") or meta["CreateTime"]
        token = str(seed_token) if str(seed_token or "").isdigit() else "0"
    elif existing is None:
        rid = books.next_id(entity)
        meta = {"CreateTime": now, "LastUpdatedTime": now}
        token = "0"
    else:
        rid = existing["Id"]
        meta = {"CreateTime": existing["MetaData"]["CreateTime"], "LastUpdatedTime": now}
        token = str(int(existing["SyncToken"]) + 1)
    body = {k: v for k, v in record.items() if k not in ALWAYS_READ_ONLY}
    stored = {"Id": rid, "SyncToken": token, "domain": "QBO", "sparse": False, "MetaData": meta, **body}
    if entity == "Payment":
        apply_payment(books, rid, applications or {})
    if existing is not None:
        books.unindex(entity, existing)
    move_party_balance(books, entity, existing, stored)
    books.records[entity][rid] = stored
    books.index(entity, stored)
    if existing is None and books.hidden is not None:
        books.hidden.add((entity, rid))
    return copy.deepcopy(stored)


def looks_voided(record: dict[str, Any]) -> bool:
    """How a seeded (or reloaded) transaction is known to be voided: zeroed, with the Voided note."""
    return record.get("TotalAmt") == 0 and str(record.get("PrivateNote", "")).startswith("Voided")
