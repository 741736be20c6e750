"""The books of one QBO company: its records and the indexes kept over them, and nothing else.

``Company`` holds the state (records, deleted-record tombstones, Id sequences, Preferences,
CompanyInfo, voided transactions, the name and DocNumber indexes, payments applied to invoices)
and answers lookups. The rules that change it live above it: ``writes`` (save, delete, void)
with the per-entity rules in ``lists``, ``invoices``, ``bills`` and ``payments``.
Not thread-safe: callers hold the emulator's lock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.qbo.schema import ENTITIES, NAME_LISTS
from sandbox.qbo.times import pacific_now, stamp
from sandbox.qbo.values import clean, deep_merge, id_key, parse_date, ref_value

# Id sequences: names share one (as in QBO), transactions share one, the other lists their own.
ID_SEQUENCE = {
    "Customer": "name",
    "Vendor": "name",
    "Employee": "name",
    "Invoice": "txn",
    "Bill": "txn",
    "Payment": "txn",
    "Item": "Item",
    "Account": "Account",
    "Term": "Term",
    "Class": "Class",
    "CompanyCurrency": "CompanyCurrency",
    "TaxAgency": "TaxAgency",
    "TaxRate": "TaxRate",
    "TaxCode": "TaxCode",
}
ID_START = {
    "name": 1,
    "txn": 1001,
    "Item": 1,
    "Account": 1,
    "Term": 1,
    "Class": 5000000000000000001,
    "CompanyCurrency": 1,
    "TaxAgency": 1,
    "TaxRate": 1,
    "TaxCode": 1,
}
# The property that names a record of a list, unique within its list (case-insensitively).
LIST_NAME = {
    "Term": "Name",
    "TaxRate": "Name",
    "TaxCode": "Name",
    "TaxAgency": "DisplayName",
    "CompanyCurrency": "Code",
}


class Company:
    """One QBO company's records and indexes. Writes validate first and change nothing until every
    rule passed (see ``sandbox.qbo.writes``), so a fault leaves the books as they were.
    """

    def __init__(self, realm_id: str, now: Callable[[], datetime] = pacific_now):
        self.realm_id = realm_id
        self.now = now
        self.records: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in ENTITIES}
        self.tombstones: dict[str, dict[str, str]] = {e: {} for e in ENTITIES}  # entity -> Id -> deleted at
        self.sequences: dict[str, int] = dict(ID_START)
        self.preferences: dict[str, Any] = {}
        self.company_info: dict[str, Any] = {}
        self.voided: set[tuple[str, str]] = set()
        self.names: dict[tuple[str, str], tuple[str, str]] = {}  # (group, casefolded name) -> (entity, Id)
        self.doc_numbers: dict[str, set[str]] = {}  # Invoice DocNumber -> Ids
        self.max_doc_number = 1000
        self.applied: dict[str, dict[str, Decimal]] = {}  # invoice Id -> payment Id -> amount
        # ExchangeRate records (no Id in QBO): (currency code, AsOfDate) -> record.
        self.exchange_rates: dict[tuple[str, str], dict[str, Any]] = {}
        # During a batch: (entity, Id) of objects created by it, invisible to its other items.
        self.hidden: set[tuple[str, str]] | None = None
        # While loading a seed: skip the closed-books rule (seeds may hold history).
        self.seeding = False

    def clone(self) -> Company:
        twin = Company(self.realm_id, self.now)
        for attr in (
            "records",
            "tombstones",
            "sequences",
            "preferences",
            "company_info",
            "voided",
            "names",
            "doc_numbers",
            "max_doc_number",
            "applied",
            "exchange_rates",
        ):
            setattr(twin, attr, copy.deepcopy(getattr(self, attr)))
        return twin

    # -- lookups ----------------------------------------------------------------------------------

    def get(self, entity: str, record_id: Any) -> dict[str, Any] | None:
        """A record as the current request may see it (objects created earlier in a batch are not)."""
        rid = str(record_id)
        record = self.records[entity].get(rid)
        if record is None or (self.hidden is not None and (entity, rid) in self.hidden):
            return None
        return record

    def visible(self, entity: str) -> list[dict[str, Any]]:
        rows = self.records[entity].values()
        if self.hidden:
            return [r for r in rows if (entity, r["Id"]) not in self.hidden]
        return list(rows)

    def pref(self, *path: str, default: Any = None) -> Any:
        node: Any = self.preferences
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    @property
    def home_currency(self) -> str:
        return ref_value(self.pref("CurrencyPrefs", "HomeCurrency")) or "USD"

    @property
    def multi_currency(self) -> bool:
        return bool(self.pref("CurrencyPrefs", "MultiCurrencyEnabled", default=False))

    @property
    def country(self) -> str:
        """CompanyInfo.Country: "US", or the country of a global (non-US) edition such as GB, CA or AU."""
        return str(self.company_info.get("Country") or "US").upper()

    def today(self) -> str:
        return self.now().date().isoformat()

    def payment_applications(self, payment_id: str) -> dict[str, Decimal]:
        """Invoice Id -> the amount ``payment_id`` applies to it."""
        return {inv: by_payment[payment_id] for inv, by_payment in self.applied.items() if payment_id in by_payment}

    # -- preferences ------------------------------------------------------------------------------

    def merge_preferences(self, sections: dict[str, Any]) -> None:
        book_close = (sections.get("AccountingInfoPrefs") or {}).get("BookCloseDate")
        if book_close not in (None, ""):
            parse_date(book_close, "AccountingInfoPrefs.BookCloseDate")
        merged = deep_merge(self.preferences, sections)
        merged["SyncToken"] = str(int(self.preferences.get("SyncToken", "0")) + 1) if self.preferences else "0"
        merged.setdefault("MetaData", {})["LastUpdatedTime"] = stamp(self.now())
        self.preferences = merged

    def merge_company_info(self, sections: dict[str, Any]) -> None:
        """Seeded CompanyInfo: objects merge key by key, but an address (``...Addr``) is replaced whole,
        and a null removes a key, so a UK company keeps no US state from the reset one."""
        addresses = {k: v for k, v in sections.items() if k.endswith("Addr")}
        merged = deep_merge(self.company_info, {k: v for k, v in sections.items() if k not in addresses})
        merged.update(copy.deepcopy(addresses))
        self.company_info = clean(merged)

    # -- Ids and indexes --------------------------------------------------------------------------

    def next_id(self, entity: str) -> str:
        sequence = ID_SEQUENCE[entity]
        value = self.sequences[sequence]
        self.sequences[sequence] = value + 1
        return str(value)

    def peek_id(self, entity: str) -> str:
        """The Id the next record of ``entity`` will get (a write refers to a record it creates with it)."""
        return str(self.sequences[ID_SEQUENCE[entity]])

    def reserve_id(self, entity: str, rid: str) -> None:
        if rid.isdigit():
            sequence = ID_SEQUENCE[entity]
            self.sequences[sequence] = max(self.sequences[sequence], int(rid) + 1)

    def index(self, entity: str, record: dict[str, Any]) -> None:
        key = self._name_key(entity, record)
        if key is not None:
            self.names[key] = (entity, record["Id"])
        if entity == "Invoice" and record.get("DocNumber"):
            doc = record["DocNumber"]
            self.doc_numbers.setdefault(doc, set()).add(record["Id"])
            if doc.isdigit():
                self.max_doc_number = max(self.max_doc_number, int(doc))

    def unindex(self, entity: str, record: dict[str, Any]) -> None:
        key = self._name_key(entity, record)
        if key is not None and self.names.get(key) == (entity, record["Id"]):
            del self.names[key]
        if entity == "Invoice" and record.get("DocNumber"):
            ids = self.doc_numbers.get(record["DocNumber"], set())
            ids.discard(record["Id"])
            if not ids:
                self.doc_numbers.pop(record["DocNumber"], None)

    @staticmethod
    def _name_key(entity: str, record: dict[str, Any]) -> tuple[str, str] | None:
        if entity in NAME_LISTS:
            return ("name", record["DisplayName"].casefold())
        if entity in ("Item", "Account", "Class"):
            return (entity, record["FullyQualifiedName"].casefold())
        if entity in LIST_NAME:
            return (entity, str(record[LIST_NAME[entity]]).casefold())
        return None

    # -- state ------------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "realm_id": self.realm_id,
            "Preferences": copy.deepcopy(self.preferences),
            "CompanyInfo": copy.deepcopy(self.company_info),
        }
        for entity in ENTITIES:
            out[entity] = [copy.deepcopy(self.records[entity][k]) for k in sorted(self.records[entity], key=id_key)]
        out["ExchangeRate"] = [copy.deepcopy(self.exchange_rates[k]) for k in sorted(self.exchange_rates)]
        return out
