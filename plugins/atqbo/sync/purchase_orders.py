"""The purchase order sync: submitted Autotask purchase orders -> QuickBooks Online bills, exactly once.

Each step is one task of ``atqbo_purchase_orders``; the run's data lives in the ledger's staging
(XCom carries only the run key and counts), as in the invoice sync:

1. ``extract_purchase_orders``: the eligible POs (PO-01: status "Submitted", read from the
   picklist; created inside the window; External PO Number blank), their items, products, vendor
   companies and Autotask's currencies, in bulk. ``atqbo_sync_po`` (TOOL-07) runs the same steps
   over one PO asked for by id instead (see ``classify_requested_po``).
2. ``load_purchase_orders``: one QBO Bill per PO (PO-02), credited to the account named
   ``po_ap_account``, item lines only, no tax. First every check that needs only reads, then the
   writes: vendors by name, created when missing (PO-03); items by product name, created or
   "error and stop" per ``po_missing_item_action`` (PO-05); the bill number (PO-04); the three
   multi-currency cases (PO-06). Before anything is created the run adopts what QBO already has:
   bills whose PrivateNote starts ``"Autotask PO {id}"`` created since the POs were, and the
   ledger's records. Each bill create is recorded in the ledger (intent + requestid) *before* the
   batch request that carries it (BEY-01).
3. ``write_back_purchase_orders``: External PO Number = the bill's number, ``ERROR`` for a failed
   PO (PO-07); then an Autotask to-do under company 0 for every failure, once per failure (PO-08).
4. ``report_purchase_orders``: the summary by email (HTML + CSV) and in the task log.

A failed PO never fails the run: it becomes a ``failed`` row, an error-log entry, an ERROR
marker and a to-do. Only what stops the whole run raises (settings, authentication, an
unreachable API, an AP account that does not exist). With ``dry_run`` everything is read and the
plan reported; nothing is written to QBO, Autotask or the ledger's records.

Choices where the vendor app is silent:

* Bill number, ``po_number_source`` "autotask": DocNumber = the Autotask PO id (Autotask POs have
  no other number; the UI's "PO Number" is the id). A bill in QBO with that number that atqbo did
  not create for this PO is an error (QBO itself does not refuse duplicate bill numbers).
  "qbo": QBO does not number bills, so none is sent and the write-back stores the bill's DocNumber
  if QBO gave it one, else its Id (the one number QBO gives every bill).
* Bill date: the day the PO was submitted (UTC), else the day it was created.
* Freight is not an item and there is no account setting for it: it is not sent, and the report
  warns with the amount so it can be added in QBO.
* Multi-currency, both on: the bill is in the vendor's currency and QBO applies its own exchange
  rate for the bill date (Autotask's rate is not sent). A vendor created by atqbo gets the
  Autotask vendor's currency.
* Missing items are created as NonInventory, purchase-only (ExpenseAccountRef =
  ``po_new_item_expense_account``, PurchaseCost and PurchaseDesc from the product).
* "error and stop": POs are taken in id order; the first one needing a missing item fails, the
  ones after it are reported "not processed" and left unsynced for the next run.
* Autotask multi-currency on and QBO's off: with several active Autotask currencies nothing is
  sent, the POs stay unsynced (no ERROR), the report has a note and one to-do says it once; with
  a single active currency, only the POs of a vendor in another currency fail (ERROR, to-do).
* A PO QBO refused is sent again (after ERROR is cleared) under a new requestid: QBO answers a
  repeated requestid with its first answer, which would be the refusal.
* Bills are created under the ledger lock ``purchase_order_sync`` (owner "dag_id/run_id"), so a
  manual ``atqbo_sync_po`` and the scheduled run never create a bill for the same PO at once.
* One PO by id (TOOL-07): any creation date; a status other than Submitted is refused with the
  reason; a number in External PO Number is reported with its bill and nothing is created; ERROR
  is sent again (asking for it is asking to retry); an id Autotask does not have stops the run
  before anything is written (``PurchaseOrderNotFound``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from atqbo.exceptions import AtqboConfigError
from atqbo.hooks.autotask import (
    AutotaskAmbiguousWriteError,
    AutotaskError,
    AutotaskHook,
    eq,
    gte,
    in_,
    lt,
    not_exist,
)
from atqbo.hooks.qbo import (
    MAX_BATCH_ITEMS,
    MAX_IN_VALUES,
    QboFault,
    QboObjectNotFound,
    QuickBooksOnlineHook,
    quote,
    where_eq,
    where_in,
)
from atqbo.ledger import Ledger
from atqbo.locks import SyncBusy, hold_sync_lock, release_sync_lock
from atqbo.money import as_decimal, json_number, to_cents
from atqbo.notify import ReportRow, RunReport, create_local_todo
from atqbo.qbo_names import chunks, create_names, find_names
from atqbo.runs import RunInfo
from atqbo.settings import VARIABLE_NAME
from atqbo.transform.values import MAX_DISPLAY_NAME, MAX_ITEM_NAME, company_address, qbo_name

log = logging.getLogger(__name__)

ENTITY = "purchase_order"
REPORT_TITLE = "atqbo purchase orders"
PRIVATE_NOTE_PREFIX = "Autotask PO"  # a bill's PrivateNote starts "Autotask PO {id}": how atqbo finds its own
SUBMITTED_LABEL = "Submitted"  # the PurchaseOrders.status label of an eligible PO (its value is read from Autotask)
ERROR_MARKER = "ERROR"  # External PO Number of a PO that failed; clearing it makes the next run retry
# Ledger run lock held while a run creates bills (owner "dag_id/run_id", as the invoice sync's lock).
PO_SYNC_LOCK = "purchase_order_sync"
PO_SYNC_PAUSED = (
    "the purchase order sync is paused: po_lookback_days is 0 in the atqbo_settings Variable (PO-01); "
    "set it above 0 to resume"
)
RETRY_HINT = "then clear ERROR from the PO's External PO Number in Autotask and the next run sends it again"

# Where the to-dos already created are remembered, across runs (PO-08: one to-do per failure).
TODO_RECORDS = "atqbo_purchase_orders:todos"
TODO_KIND_PO = "po_failure"
TODO_KIND_RUN = "run_problem"

AUTOTASK_IN_CHUNK = 500  # ids per Autotask `in` filter (a page holds 500)
AUTOTASK_WRITERS = 3  # Autotask allows 3 concurrent calls per endpoint and integration
# Clocks of Autotask and QBO differ; a bill atqbo created for a PO is created after it, give or take this.
BILL_LOOKUP_SLACK = timedelta(days=1)

MAX_DOC_NUMBER = 21
MAX_EXTERNAL_PO_NUMBER = 50  # Autotask's externalPONumber length
MAX_LINE_DESCRIPTION = 4000
MAX_PURCHASE_DESC = 1000
MAX_SKU = 100
MAX_NOTES = 2000
MAX_PHONE = 30

PO_FIELDS = [
    "id",
    "vendorID",
    "status",
    "createDateTime",
    "submitDateTime",
    "externalPONumber",
    "freight",
    "vendorInvoiceNumber",
]
PO_ITEM_FIELDS = ["id", "orderID", "productID", "quantity", "unitCost", "memo"]
PRODUCT_FIELDS = ["id", "name", "description", "sku", "unitCost"]
VENDOR_FIELDS = ["id", "companyName", "currencyID", "address1", "address2", "city", "state", "postalCode", "phone"]
CURRENCY_FIELDS = ["id", "name", "isActive", "isInternalCurrency"]


# -- the records of a run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PoLine:
    """One PO item as a bill line."""

    product_id: int
    product_name: str  # as in Autotask
    item_name: str  # the QBO item it matches (PO-05): the product name as QBO accepts names
    quantity: Decimal
    unit_cost: Decimal
    description: str

    @property
    def amount(self) -> Decimal:
        return to_cents(self.quantity * self.unit_cost)


@dataclass(frozen=True)
class PurchaseOrder:
    """An eligible Autotask PO and what its bill is made of."""

    autotask_id: int
    vendor_id: int
    vendor_name: str  # the Autotask company name
    created: datetime
    txn_date: date
    freight: Decimal
    lines: tuple[PoLine, ...]

    @property
    def reference(self) -> str:
        return f"PO {self.autotask_id}"

    @property
    def vendor_display_name(self) -> str:
        """The QBO vendor name it matches (PO-03): the organization name as QBO accepts names."""
        return qbo_name(self.vendor_name, MAX_DISPLAY_NAME)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    def label(self) -> str:
        """How messages name it: ``Autotask PO 29686003 (vendor Pax8)``."""
        return f"Autotask PO {self.autotask_id} (vendor {self.vendor_name})"


def purchase_orders_from_staged(staged: dict[str, Any], reference: dict[str, Any]) -> list[PurchaseOrder]:
    """The staged Autotask records as ``PurchaseOrder``s, in id order."""
    products = reference.get("products", {})
    vendors = reference.get("vendors", {})
    orders = []
    for key in sorted(staged, key=int):
        po, items = staged[key]["po"], staged[key]["items"]
        vendor = vendors.get(str(po.get("vendorID"))) or {}
        lines = []
        for item in sorted(items, key=lambda i: i["id"]):
            product = products.get(str(item.get("productID"))) or {}
            name = str(product.get("name") or f"Autotask product {item.get('productID')}")
            description = str(item.get("memo") or product.get("description") or name).strip()
            lines.append(
                PoLine(
                    product_id=int(item["productID"]),
                    product_name=name,
                    item_name=qbo_name(name, MAX_ITEM_NAME),
                    quantity=as_decimal(item.get("quantity")),
                    unit_cost=as_decimal(item.get("unitCost")),
                    description=description[:MAX_LINE_DESCRIPTION],
                )
            )
        created = _datetime(po.get("createDateTime")) or datetime.now(UTC)
        submitted = _datetime(po.get("submitDateTime"))
        orders.append(
            PurchaseOrder(
                autotask_id=int(po["id"]),
                vendor_id=int(po["vendorID"]),
                vendor_name=str(vendor.get("companyName") or f"Autotask company {po['vendorID']}"),
                created=created,
                txn_date=(submitted or created).date(),
                freight=as_decimal(po.get("freight")),
                lines=tuple(lines),
            )
        )
    return orders


# -- currencies (PO-06) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutotaskCurrencies:
    """Autotask's currencies: the internal one, the active ones, codes by id."""

    internal: str | None
    active: tuple[str, ...]
    codes: dict[int, str]

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> AutotaskCurrencies:
        records = list(records)
        internal = next((str(r["name"]) for r in records if r.get("isInternalCurrency")), None)
        active = tuple(sorted(str(r["name"]) for r in records if r.get("isActive", True)))
        return cls(internal=internal, active=active, codes={int(r["id"]): str(r["name"]) for r in records})

    @property
    def several_active(self) -> bool:
        return len(self.active) > 1

    def of_vendor(self, vendor: dict[str, Any]) -> str | None:
        """The vendor company's currency code (its currencyID, else the internal currency)."""
        currency_id = vendor.get("currencyID")
        if currency_id is None:
            return self.internal
        return self.codes.get(int(currency_id), self.internal)

    def multi_currency_for(self, vendor: dict[str, Any]) -> bool:
        """Autotask multi-currency applies to a PO of this vendor: several active currencies, or the
        vendor in another currency than the internal one."""
        vendor_currency = self.of_vendor(vendor)
        return self.several_active or (
            vendor_currency is not None and self.internal is not None and vendor_currency != self.internal
        )


@dataclass(frozen=True)
class QboCurrencies:
    multi_currency: bool
    home: str

    @classmethod
    def from_preferences(cls, preferences: dict[str, Any]) -> QboCurrencies:
        prefs = preferences.get("CurrencyPrefs") or {}
        home = (prefs.get("HomeCurrency") or {}).get("value") or "USD"
        return cls(multi_currency=bool(prefs.get("MultiCurrencyEnabled")), home=str(home))


@dataclass(frozen=True)
class BillCurrency:
    """PO-06 for one bill: which case applies and what the bill says about currency."""

    case: str  # "single" | "both" | "qbo_only" | "autotask_only"
    currency: str | None  # CurrencyRef to send (None: send none)
    exchange_rate: Decimal | None  # ExchangeRate to send (None: send none)
    vendor_currency: str | None  # the currency the QBO vendor must have (None: no check)


def plan_bill_currency(autotask_multi: bool, qbo: QboCurrencies, autotask_vendor_currency: str | None) -> BillCurrency:
    """The three cases of PO-06 (and the plain one).

    * both on: the bill is in the vendor's currency; the QBO vendor must have the Autotask
      vendor's currency. QBO applies its own exchange rate for the bill date.
    * Autotask off, QBO on: the amounts are taken as the home currency, at rate 1.00.
    * Autotask on, QBO off: nothing can be sent (the caller refuses the PO or the run).
    """
    if autotask_multi and qbo.multi_currency:
        currency = autotask_vendor_currency or qbo.home
        rate = Decimal(1) if currency == qbo.home else None
        return BillCurrency("both", currency, rate, currency)
    if qbo.multi_currency:
        return BillCurrency("qbo_only", qbo.home, Decimal(1), qbo.home)
    if autotask_multi:
        return BillCurrency("autotask_only", None, None, None)
    return BillCurrency("single", None, None, None)


def multi_currency_run_problem(currencies: AutotaskCurrencies) -> tuple[str, str]:
    """PO-06 case 3 for the whole run: (message, fix)."""
    return (
        f"Multi-currency is on in Autotask ({len(currencies.active)} active currencies: "
        f"{', '.join(currencies.active)}) but off in QuickBooks Online, so no purchase orders are transferred "
        "(PO-06).",
        "turn on multi-currency in QBO (Settings > Account and settings > Advanced > Currency), or deactivate the "
        "extra currencies in Autotask; the purchase orders stay unsynced and are sent by the first run after that",
    )


# -- pure helpers: notes, numbers, payloads --------------------------------------------------------------


def private_note(autotask_id: int) -> str:
    """ "Autotask PO {id} - sent by atqbo": how atqbo (and a person) recognises its bills."""
    return f"{PRIVATE_NOTE_PREFIX} {autotask_id} - sent by atqbo"


def po_id_in_note(note: str | None) -> int | None:
    """The Autotask PO id in atqbo's PrivateNote, or None for any other note (every digit after the prefix)."""
    prefix = PRIVATE_NOTE_PREFIX + " "
    text = note or ""
    if not text.startswith(prefix):
        return None
    digits = ""
    for char in text[len(prefix) :]:
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else None


def bill_doc_number(po: PurchaseOrder, number_source: str) -> str | None:
    """PO-04: the Autotask PO id when Autotask numbers bills; None when QBO does (it does not number bills)."""
    return str(po.autotask_id)[:MAX_DOC_NUMBER] if number_source == "autotask" else None


def bill_number(bill: dict[str, Any]) -> str:
    """What the write-back stores (PO-07): the bill's DocNumber, else its Id."""
    return str(bill.get("DocNumber") or bill["Id"])[:MAX_EXTERNAL_PO_NUMBER]


def bill_payload(
    po: PurchaseOrder,
    vendor_id: str,
    ap_account_id: str,
    item_ids: dict[str, str],
    currency: BillCurrency,
    number_source: str,
) -> dict[str, Any]:
    """The QBO Bill for a PO (PO-02): item lines, no tax, on the AP account; ``item_ids`` by QBO item name."""
    lines = [
        {
            "DetailType": "ItemBasedExpenseLineDetail",
            "Amount": json_number(line.amount),
            "Description": line.description,
            "ItemBasedExpenseLineDetail": {
                "ItemRef": {"value": item_ids[line.item_name.lower()]},
                "Qty": json_number(line.quantity),
                "UnitPrice": json_number(line.unit_cost),
            },
        }
        for line in po.lines
    ]
    payload: dict[str, Any] = {
        "VendorRef": {"value": vendor_id},
        "APAccountRef": {"value": ap_account_id},
        "TxnDate": po.txn_date.isoformat(),
        "PrivateNote": private_note(po.autotask_id),
        "Line": lines,
    }
    doc_number = bill_doc_number(po, number_source)
    if doc_number:
        payload["DocNumber"] = doc_number
    if currency.currency:
        payload["CurrencyRef"] = {"value": currency.currency}
    if currency.exchange_rate is not None:
        payload["ExchangeRate"] = json_number(currency.exchange_rate)
    return payload


def vendor_payload(vendor: dict[str, Any], display_name: str, currency: str | None) -> dict[str, Any]:
    """The QBO Vendor to create for an Autotask vendor company (PO-03)."""
    payload: dict[str, Any] = {
        "DisplayName": display_name,
        "CompanyName": " ".join(str(vendor.get("companyName") or display_name).split())[:MAX_DISPLAY_NAME],
        "Notes": f"Autotask company {vendor.get('id')}"[:MAX_NOTES],
    }
    address = company_address(vendor)
    if address:
        payload["BillAddr"] = address
    phone = str(vendor.get("phone") or "").strip()
    if phone:
        payload["PrimaryPhone"] = {"FreeFormNumber": phone[:MAX_PHONE]}
    if currency:
        payload["CurrencyRef"] = {"value": currency}  # a QBO vendor's currency is fixed when it is created
    return payload


def item_payload(line: PoLine, product: dict[str, Any], expense_account_id: str) -> dict[str, Any]:
    """The QBO item to create for a product (PO-05): NonInventory, purchasable, purchase-only."""
    payload: dict[str, Any] = {
        "Name": line.item_name,
        "Type": "NonInventory",
        "ExpenseAccountRef": {"value": expense_account_id},
        "PurchaseDesc": str(product.get("description") or line.product_name).strip()[:MAX_PURCHASE_DESC],
    }
    cost = product.get("unitCost")
    if cost is not None:
        payload["PurchaseCost"] = json_number(as_decimal(cost))
    sku = str(product.get("sku") or "").strip()
    if sku:
        payload["Sku"] = sku[:MAX_SKU]
    return payload


def is_purchasable(item: dict[str, Any]) -> bool:
    """QBO puts an item on a bill line only when it has an expense account ("I purchase this")."""
    return bool((item.get("ExpenseAccountRef") or {}).get("value"))


def todo_key(autotask_id: int | None, message: str) -> str:
    """A failure's identity for to-dos: the PO and what went wrong (messages hold no run-specific text)."""
    digest = hashlib.sha256(message.encode("utf-8")).hexdigest()[:16]
    return f"{autotask_id if autotask_id is not None else 'run'}:{digest}"


def fault_text(fault: QboFault) -> str:
    """A QBO fault without its per-request ids (intuit_tid, requestid), so the same fault reads the same."""
    said = fault.message or "no message"
    if fault.detail and fault.detail != fault.message:
        said += f" -- {fault.detail}"
    return f"QBO fault {fault.code or '?'}: {said}" + (f" [element {fault.element}]" if fault.element else "")


# -- 1. extract ---------------------------------------------------------------------------------------


def extract_purchase_orders(
    run: RunInfo, autotask: AutotaskHook, ledger: Ledger, autotask_ids: Iterable[int] | None = None
) -> dict[str, int]:
    """Stage the window's eligible POs and what they reference (PO-01); return counts.

    ``autotask_ids`` (TOOL-07, ``atqbo_sync_po``): exactly these POs instead, whatever their
    creation date. Each is sorted by ``classify_requested_po``: sent (Submitted, External PO Number
    blank or ERROR), reported as transferred before (a number already), or refused (another
    status). An id Autotask does not have raises ``PurchaseOrderNotFound`` before anything is staged.
    """
    run.parsed_settings.require_purchase_order_settings()  # PO-08: no PO is looked at without its to-do settings
    submitted = autotask.picklist_value("PurchaseOrders", "status", SUBMITTED_LABEL)
    held: list[dict[str, Any]] = []  # asked for by id, not sent (TOOL-07)
    requested: dict[str, dict[str, Any]] = {}
    if autotask_ids is None:
        filters = [
            eq("status", submitted),
            gte("createDateTime", run.start.isoformat()),
            lt("createDateTime", run.end.isoformat()),
            not_exist("externalPONumber"),  # blank: never synced, or ERROR cleared by a person
        ]
        orders = autotask.query_all("PurchaseOrders", filters, include_fields=PO_FIELDS)
    else:
        wanted = sorted({int(i) for i in autotask_ids})
        found: list[dict[str, Any]] = []
        for chunk in chunks(wanted, AUTOTASK_IN_CHUNK):
            found += autotask.query_all("PurchaseOrders", [in_("id", chunk)], include_fields=PO_FIELDS)
        missing = sorted(set(wanted) - {int(po["id"]) for po in found})
        if missing:
            raise PurchaseOrderNotFound(missing)
        labels = autotask.picklist("PurchaseOrders", "status")
        orders = []
        for po in found:
            verdict = classify_requested_po(po, submitted, labels)
            requested[str(po["id"])] = verdict
            (orders if verdict["state"] in (REQUEST_SEND, REQUEST_RETRY) else held).append(po)
    everything = orders + held
    order_ids = [po["id"] for po in everything]
    items: list[dict[str, Any]] = []
    for chunk in chunks(order_ids, AUTOTASK_IN_CHUNK):
        items += autotask.query_all("PurchaseOrderItems", [in_("orderID", chunk)], include_fields=PO_ITEM_FIELDS)
    product_ids = sorted({i["productID"] for i in items if i.get("productID")})
    vendor_ids = sorted({po["vendorID"] for po in everything})
    products = autotask.get_many("Products", product_ids, include_fields=PRODUCT_FIELDS) if product_ids else []
    vendors = autotask.get_many("Companies", vendor_ids, include_fields=VENDOR_FIELDS) if vendor_ids else []
    currencies = autotask.query_all("Currencies", [gte("id", 0)], include_fields=CURRENCY_FIELDS) if orders else []
    bundles: dict[str, dict[str, Any]] = {str(po["id"]): {"po": po, "items": []} for po in everything}
    for item in items:
        bundles[str(item["orderID"])]["items"].append(item)
    held_ids = {str(po["id"]) for po in held}
    ledger.stage_clear(run.run_key)
    ledger.stage_put(run.run_key, "po", {k: v for k, v in bundles.items() if k not in held_ids})
    ledger.stage_put(run.run_key, "po_held", {k: v for k, v in bundles.items() if k in held_ids})
    ledger.stage_put(run.run_key, "requested", requested)
    ledger.stage_put(
        run.run_key,
        "reference",
        {
            "products": {str(p["id"]): p for p in products},
            "vendors": {str(v["id"]): v for v in vendors},
            "currencies": currencies,
        },
    )
    if autotask_ids is None:
        log.info(
            "Extracted %d eligible purchase orders with %d items (%s)", len(orders), len(items), run.describe_window()
        )
    else:
        log.info(
            "Extracted purchase order(s) %s: %d to send, %d not sent (%s)",
            ", ".join(requested),
            len(orders),
            len(held),
            "; ".join(f"{k}: {v['state']}" for k, v in requested.items()),
        )
    return {"purchase_orders": len(orders), "items": len(items), "held": len(held)}


# What ``atqbo_sync_po`` does with a PO it was asked for (TOOL-07).
REQUEST_SEND = "send"  # Submitted, External PO Number blank: sent like any eligible PO
REQUEST_RETRY = "retry"  # Submitted, External PO Number ERROR: the person asks to try again, so it is sent
REQUEST_TRANSFERRED = "transferred"  # External PO Number holds a number: its bill is reported, nothing created
REQUEST_NOT_SUBMITTED = "not_submitted"  # another status: refused, nothing written


class PurchaseOrderNotFound(AtqboConfigError):
    """Purchase orders asked for by id that Autotask does not have (a mistyped id): nothing was done."""

    def __init__(self, autotask_ids: Iterable[int]):
        self.autotask_ids = sorted(autotask_ids)
        ids = ", ".join(str(i) for i in self.autotask_ids)
        super().__init__(
            f"Autotask has no purchase order with id {ids}, so nothing was sent or written. Fix: check the id "
            "(in Autotask, the PO's number shown on the purchase order is its id) and trigger again"
        )


def classify_requested_po(po: dict[str, Any], submitted: int | str, labels: dict[str, str]) -> dict[str, Any]:
    """TOOL-07: what to do with a PO asked for by id, as ``{"state", "status", "external"}``.

    Only a Submitted PO becomes a bill, as in the scheduled sync (PO-01). A number in External PO
    Number means it was transferred (the number is its bill's): it is reported, not sent again.
    ERROR means an earlier attempt failed; asking for this PO is asking to try again.
    """
    status = labels.get(str(po.get("status")), str(po.get("status")))
    external = str(po.get("externalPONumber") or "").strip()
    if str(po.get("status")) != str(submitted):
        state = REQUEST_NOT_SUBMITTED
    elif not external:
        state = REQUEST_SEND
    elif external.upper() == ERROR_MARKER:
        state = REQUEST_RETRY
    else:
        state = REQUEST_TRANSFERRED
    return {"state": state, "status": status, "external": external}


# -- 2. load ------------------------------------------------------------------------------------------


class _Outcomes:
    """This run's result per PO, staged for the write-back and the report."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}

    def set(
        self,
        po: PurchaseOrder,
        outcome: str,
        reason: str = "",
        fix: str = "",
        *,
        marker: str | None = None,
        bill: dict[str, Any] | None = None,
        transient: bool = False,
    ) -> None:
        """``marker``: what the write-back writes to External PO Number ("synced", "error" or None)."""
        warnings = self.rows.get(po.autotask_id, {}).get("warnings", [])
        self.rows[po.autotask_id] = {
            "outcome": outcome,
            "autotask_id": po.autotask_id,
            "reference": po.reference,
            "company": po.vendor_name,
            "qbo_id": (bill or {}).get("Id"),
            "qbo_number": (bill or {}).get("DocNumber"),
            "external_number": bill_number(bill) if bill and bill.get("Id") else None,  # what PO-07 writes back
            "autotask_total": str(to_cents(po.total)),
            "qbo_total": None
            if not bill or bill.get("TotalAmt") is None
            else str(to_cents(as_decimal(bill["TotalAmt"]))),
            "reason": reason,
            "fix": fix,
            "marker": marker,
            "transient": transient,
            "warnings": warnings,
        }

    def fail(self, po: PurchaseOrder, reason: str, fix: str) -> None:
        self.set(po, "failed", reason, fix, marker="error")

    def warn(self, po: PurchaseOrder, message: str) -> None:
        self.rows.setdefault(po.autotask_id, {"warnings": []})["warnings"].append(message)


class _BillRun:
    """One run's load step: the checks, then the creates, each PO's outcome recorded once."""

    def __init__(self, run: RunInfo, qbo: QuickBooksOnlineHook, ledger: Ledger, reference: dict[str, Any]):
        self.run = run
        self.qbo = qbo
        self.ledger = ledger
        self.settings = run.parsed_settings
        self.dry_run = run.dry_run
        self.vendors: dict[str, dict[str, Any]] = reference.get("vendors", {})
        self.products: dict[str, dict[str, Any]] = reference.get("products", {})
        self.currencies = AutotaskCurrencies.from_records(reference.get("currencies", []))
        self.out = _Outcomes()
        self.notes: list[str] = []
        self.run_problems: dict[str, dict[str, str]] = {}
        self.decided_currency = False  # the run got as far as the multi-currency decision

    def decided(self, po: PurchaseOrder) -> bool:
        """The PO has its outcome already (failed, skipped, adopted): the later steps leave it alone."""
        return "outcome" in self.out.rows.get(po.autotask_id, {})

    # -- POs asked for by id (TOOL-07) -----------------------------------------------------------

    def report_held(self, orders: list[PurchaseOrder], requested: dict[str, dict[str, Any]]) -> None:
        """The POs ``atqbo_sync_po`` was asked for and does not send: a row each saying why; nothing
        is written anywhere (no ERROR, no error log, no to-do: nothing failed)."""
        transferred = [po for po in orders if requested[str(po.autotask_id)]["state"] == REQUEST_TRANSFERRED]
        for po in orders:
            verdict = requested[str(po.autotask_id)]
            if verdict["state"] == REQUEST_NOT_SUBMITTED:
                fix = (
                    "submit it in Autotask, then sync it again"
                    if verdict["status"].lower() == "new"
                    else "only a Submitted purchase order becomes a bill; if this one must be in QBO, enter its bill "
                    "there by hand"
                )
                reason = (
                    f"{po.label()} has status {verdict['status']!r}, not {SUBMITTED_LABEL!r}: only submitted "
                    "purchase orders are sent (PO-01); nothing was sent"
                )
                self.out.set(po, "skipped", reason, fix)
        if transferred:
            self.describe_transferred(
                transferred, {po.autotask_id: requested[str(po.autotask_id)]["external"] for po in transferred}
            )

    def describe_transferred(self, orders: list[PurchaseOrder], externals: dict[int, str]) -> None:
        """A PO whose External PO Number holds a number was transferred: find its bill (the ledger's
        record, atqbo's PrivateNote, or a bill with that number) and report it; create nothing."""
        by_note = find_atqbo_bills(self.qbo, min(po.created for po in orders) - BILL_LOOKUP_SLACK)
        numbers = sorted({n for n in externals.values() if n})
        by_number: dict[str, dict[str, Any]] = {}
        for chunk in chunks(numbers, MAX_IN_VALUES):
            for bill in self.qbo.query_all("Bill", where=[where_in("DocNumber", chunk)], order_by="Id"):
                by_number.setdefault(str(bill.get("DocNumber")), bill)
        for po in orders:
            external = externals[po.autotask_id]
            record = self.ledger.get_sync_record(ENTITY, po.autotask_id) or {}
            bill = self.read_bill(record["qbo_id"]) if record.get("qbo_id") else None
            found_by = "the state database"
            if bill is None and by_note.get(po.autotask_id):
                bill, found_by = by_note[po.autotask_id][0], f"its PrivateNote '{private_note(po.autotask_id)}'"
            if bill is None and external in by_number:
                bill, found_by = by_number[external], f"its bill number {external}"
            if bill is None:
                self.out.set(
                    po,
                    "skipped",
                    f"{po.label()} has External PO Number {external!r}, so it was transferred before, but QBO has no "
                    f"bill atqbo made for it (PrivateNote '{private_note(po.autotask_id)}') nor one numbered "
                    f"{external!r}; nothing was created",
                    "if its bill was deleted in QBO and must be sent again, clear External PO Number in Autotask, then "
                    "sync it again",
                )
                continue
            self.out.set(
                po,
                "matched",
                f"already transferred: External PO Number {external!r}; QBO bill "
                f"{bill_number(bill)} (Id {bill['Id']}, found by {found_by}); nothing was "
                "created",
                bill=bill,
            )

    def note_retries(self, orders: list[PurchaseOrder], requested: dict[str, dict[str, Any]]) -> None:
        for po in orders:
            if requested.get(str(po.autotask_id), {}).get("state") == REQUEST_RETRY:
                self.notes.append(
                    f"{po.label()} had {ERROR_MARKER} in its External PO Number (an earlier attempt "
                    "failed, see the error log): sent again, as asked."
                )

    def note_busy_retries(self, orders: list[PurchaseOrder], requested: dict[str, dict[str, Any]]) -> None:
        """A PO sent again from ERROR that QBO was too busy to take keeps its ERROR marker, so no
        scheduled run picks it up: say how to send it."""
        for po in orders:
            row = self.out.rows.get(po.autotask_id) or {}
            if requested.get(str(po.autotask_id), {}).get("state") == REQUEST_RETRY and row.get("transient"):
                busy = row["reason"].split("; the next run")[0]
                row["reason"] = (
                    f"{busy}; its External PO Number still says {ERROR_MARKER}, so no scheduled run sends "
                    "it: sync it again with atqbo_sync_po"
                )

    # -- the whole step ------------------------------------------------------------------------

    def load(self, orders: list[PurchaseOrder]) -> None:
        if not orders:
            return
        qbo_currencies = QboCurrencies.from_preferences(self.qbo.preferences())
        self.decided_currency = True
        if self.currencies.several_active and not qbo_currencies.multi_currency:
            self.refuse_run_for_currency(orders)
            return
        ap_account_id = self.find_ap_account()
        pending = self.adopt_existing_bills(orders)
        pending = [po for po in pending if self.check_has_lines(po)]
        plans = {po.autotask_id: self.plan_currency(po, qbo_currencies) for po in pending}
        pending = [po for po in pending if not self.decided(po)]
        items, expense_account_id = self.check_items(pending)
        pending = [po for po in pending if not self.decided(po)]
        vendors = self.check_vendors(pending, plans)
        pending = [po for po in pending if not self.decided(po)]
        if self.settings.po_number_source == "autotask":
            self.check_bill_numbers(pending)
            pending = [po for po in pending if not self.decided(po)]
        self.create_vendors(pending, vendors, plans)
        pending = [po for po in pending if not self.decided(po)]
        self.create_items(pending, items, expense_account_id)
        pending = [po for po in pending if not self.decided(po)]
        for po in pending:
            if po.freight:
                self.out.warn(
                    po,
                    f"freight of {to_cents(po.freight)} on {po.label()} is not sent (the bill holds the PO items "
                    "only): "
                    "add it to the bill in QBO if the vendor charges it",
                )
        self.create_bills(pending, ap_account_id, vendors, items, plans)

    # -- PO-06 -----------------------------------------------------------------------------------

    def refuse_run_for_currency(self, orders: list[PurchaseOrder]) -> None:
        """PO-06 case 3: Autotask multi-currency on, QBO's off: nothing is transferred, the run says why."""
        message, fix = multi_currency_run_problem(self.currencies)
        self.notes.append(f"{message} Fix: {fix}.")
        self.run_problems[todo_key(None, message)] = {"message": message, "fix": fix}
        for po in orders:
            self.out.set(po, "skipped", "not transferred: multi-currency is on in Autotask and off in QBO (PO-06)", fix)

    def plan_currency(self, po: PurchaseOrder, qbo_currencies: QboCurrencies) -> BillCurrency:
        vendor = self.vendors.get(str(po.vendor_id)) or {}
        vendor_currency = self.currencies.of_vendor(vendor)
        plan = plan_bill_currency(self.currencies.multi_currency_for(vendor), qbo_currencies, vendor_currency)
        if plan.case == "autotask_only":
            self.out.fail(
                po,
                f"{po.label()}: the Autotask vendor uses {vendor_currency}, another currency than Autotask's "
                f"internal {self.currencies.internal}, and multi-currency is off in QuickBooks Online, so the bill "
                "cannot be in the vendor's currency (PO-06)",
                "turn on multi-currency in QBO, or set the vendor's currency in Autotask to "
                f"{self.currencies.internal}; " + RETRY_HINT,
            )
        return plan

    # -- accounts --------------------------------------------------------------------------------

    def find_account(self, name: str) -> dict[str, Any] | None:
        return next(iter(self.qbo.query_all("Account", where=[where_eq("Name", name)])), None)

    def find_ap_account(self) -> str:
        """PO-02: the account named ``po_ap_account``; without it no bill can be sent, so the run stops."""
        name = self.settings.po_ap_account
        account = self.find_account(name)
        if account is None:
            raise AtqboConfigError(
                f"QBO has no active account named {name!r} (po_ap_account), so no purchase order can become a bill. "
                f"Fix: set po_ap_account in the {VARIABLE_NAME} Variable to the name of your Accounts Payable "
                "account in QBO (Chart of accounts), e.g. 'Accounts Payable (A/P)'"
            )
        if account.get("AccountType") != "Accounts Payable":
            raise AtqboConfigError(
                f"the QBO account {name!r} (po_ap_account) is of type {account.get('AccountType')!r}, not "
                f"'Accounts Payable'; bills are credited to an Accounts Payable account. Fix: set po_ap_account in "
                f"the {VARIABLE_NAME} Variable to the name of an Accounts Payable account"
            )
        return str(account["Id"])

    # -- BEY-01 ----------------------------------------------------------------------------------

    def adopt_existing_bills(self, orders: list[PurchaseOrder]) -> list[PurchaseOrder]:
        """The bills QBO already has for these POs (an earlier attempt, a lost write-back) are adopted;
        returns the POs that still need a bill."""
        since = min(po.created for po in orders) - BILL_LOOKUP_SLACK
        existing = find_atqbo_bills(self.qbo, since)
        pending = []
        for po in orders:
            record = self.ledger.get_sync_record(ENTITY, po.autotask_id)
            found = existing.get(po.autotask_id, [])
            if len(found) > 1:
                ids = ", ".join(str(b["Id"]) for b in found)
                self.out.warn(
                    po,
                    f"QBO holds several bills with PrivateNote '{private_note(po.autotask_id)}' (Ids "
                    f"{ids}); the first is recorded, delete the others in QBO",
                )
            bill = found[0] if found else None
            if bill is None and record and record["status"] == "SYNCED" and record.get("qbo_id"):
                bill = self.read_bill(record["qbo_id"])  # its note may have been edited in QBO
                if bill is None:
                    self.out.warn(
                        po,
                        f"QBO bill Id {record['qbo_id']} recorded for {po.label()} no longer exists in "
                        "QBO; a new bill is created",
                    )
            if bill is None:
                pending.append(po)
                continue
            ours = bool(record and record.get("run_id") == self.run.run_id)  # this run created it before a retry
            reason = (
                f"created QBO bill {bill_number(bill)}"
                if ours
                else f"already in QBO as bill {bill_number(bill)} (created by an earlier atqbo run); External PO "
                f"Number {'would be ' if self.dry_run else ''}written"
            )
            self.out.set(po, "transferred" if ours else "matched", reason, marker="synced", bill=bill)
            if not self.dry_run:
                # run_id left as it is: it names the run that created the bill (``ours`` above)
                self.ledger.set_sync_status(
                    ENTITY,
                    po.autotask_id,
                    "SYNCED",
                    qbo_id=str(bill["Id"]),
                    qbo_number=bill_number(bill),
                    realm_id=self.qbo.realm_id,
                )
                self.ledger.resolve_errors(ENTITY, po.autotask_id)
        return pending

    def read_bill(self, qbo_id: str) -> dict[str, Any] | None:
        try:
            return self.qbo.read("Bill", qbo_id)
        except QboObjectNotFound:
            return None

    def check_has_lines(self, po: PurchaseOrder) -> bool:
        if po.lines:
            return True
        self.out.fail(
            po,
            f"{po.label()} has no items; a QBO bill needs at least one line",
            "add the items to the PO in Autotask; " + RETRY_HINT,
        )
        return False

    # -- PO-05 -----------------------------------------------------------------------------------

    def check_items(self, orders: list[PurchaseOrder]) -> tuple[dict[str, dict[str, Any]], str | None]:
        """Find the QBO items of every line; refuse inactive and non-purchasable ones; apply
        ``po_missing_item_action`` to missing ones. Returns the items found, by lower-cased name, and
        the expense account for new items (None when none is needed or QBO has no such account)."""
        names = {line.item_name for po in orders for line in po.lines}
        items = find_names(self.qbo, "Item", "Name", names)
        missing = {n.lower() for n in names} - set(items)
        expense_account_id: str | None = None
        if missing and self.settings.po_missing_item_action == "create":
            account = self.find_account(self.settings.po_new_item_expense_account)
            expense_account_id = str(account["Id"]) if account else None
        stopped_at: PurchaseOrder | None = None
        for po in orders:
            if stopped_at is not None:
                self.out.set(
                    po,
                    "skipped",
                    f"not processed: the run stopped at {stopped_at.reference} (a missing QBO item, "
                    "po_missing_item_action is 'error'); the next run sends it",
                    "see the failure of " + stopped_at.reference,
                )
                continue
            problems = []
            absent = []
            for line in po.lines:
                item = items.get(line.item_name.lower())
                if item is None:
                    absent.append(line)
                elif not item.get("Active", True):
                    problems.append(
                        (
                            f"{po.label()}: the QBO item {item['Name']!r} (Id {item['Id']}) for product "
                            f"{line.product_name!r} is inactive",
                            f"make the item active in QBO (Products and services > show inactive); {RETRY_HINT}",
                        )
                    )
                elif not is_purchasable(item):
                    problems.append(
                        (
                            f"{po.label()}: the QBO item {item['Name']!r} (Id {item['Id']}) for product "
                            f"{line.product_name!r} is not purchasable (it has no expense account), so it cannot be on "
                            "a bill (PO-05)",
                            "edit the item in QBO: tick 'I purchase this product/service from a vendor' and choose an "
                            f"expense account; {RETRY_HINT}",
                        )
                    )
            if absent and self.settings.po_missing_item_action == "error":
                products = ", ".join(sorted({repr(line.product_name) for line in absent}))
                problems.insert(
                    0,
                    (
                        f"{po.label()}: no QBO item named after product(s) {products}, and po_missing_item_action is "
                        "'error': processing stopped at this PO (PO-05)",
                        "create the item(s) in QBO (purchasable, with an expense account) or set "
                        "po_missing_item_action "
                        f"to 'create'; {RETRY_HINT}. The POs after this one are sent by the next run",
                    ),
                )
                stopped_at = po
            elif absent and expense_account_id is None:
                name = self.settings.po_new_item_expense_account
                problems.append(
                    (
                        f"{po.label()}: product(s) {', '.join(sorted({repr(line.product_name) for line in absent}))} "
                        "have no "
                        f"QBO item and QBO has no account named {name!r} (po_new_item_expense_account) to create them "
                        "with",
                        f"set po_new_item_expense_account in the {VARIABLE_NAME} Variable to an expense account's name "
                        f"in QBO; {RETRY_HINT}",
                    )
                )
            if problems:
                self.out.fail(po, "; ".join(p[0] for p in problems), "; ".join(dict.fromkeys(p[1] for p in problems)))
        if stopped_at is not None:
            self.notes.append(
                f"Processing stopped at {stopped_at.reference}: a product has no QBO item and "
                "po_missing_item_action is 'error'. The purchase orders after it were not processed; the next run "
                "sends them."
            )
        return items, expense_account_id

    # -- PO-03 -----------------------------------------------------------------------------------

    def check_vendors(self, orders: list[PurchaseOrder], plans: dict[int, BillCurrency]) -> dict[str, dict[str, Any]]:
        """Find each PO's QBO vendor by name; refuse a name taken by a customer or employee, an inactive
        vendor and a currency mismatch (PO-06). Returns the vendors found, by lower-cased name."""
        names = {po.vendor_display_name for po in orders}
        vendors = find_names(self.qbo, "Vendor", "DisplayName", names)
        missing = {n for n in names if n.lower() not in vendors}
        owners: dict[str, tuple[str, dict[str, Any]]] = {}
        for entity in ("Customer", "Employee"):
            for name, record in find_names(self.qbo, entity, "DisplayName", missing).items():
                owners.setdefault(name, (entity.lower(), record))
        for po in orders:
            key = po.vendor_display_name.lower()
            vendor = vendors.get(key)
            if vendor is None and key in owners:
                kind, other = owners[key]
                self.out.fail(
                    po,
                    f"{po.label()}: the vendor cannot be created in QBO because QBO {kind} {other['DisplayName']!r} "
                    f"(Id {other['Id']}) already uses the name {po.vendor_display_name!r} of Autotask vendor "
                    f"{po.vendor_name!r} (company {po.vendor_id}); QBO names are unique across customers, vendors "
                    "and employees (PO-03)",
                    f"rename the QBO {kind} (e.g. '{other['DisplayName']} ({kind})') or the Autotask organization; "
                    + RETRY_HINT,
                )
                continue
            if vendor is None:
                continue  # created later, in the right currency
            if not vendor.get("Active", True):
                self.out.fail(
                    po,
                    f"{po.label()}: the QBO vendor {vendor['DisplayName']!r} (Id {vendor['Id']}) is inactive",
                    f"make the vendor active in QBO; {RETRY_HINT}",
                )
                continue
            plan = plans[po.autotask_id]
            qbo_currency = (vendor.get("CurrencyRef") or {}).get("value")
            if plan.vendor_currency and qbo_currency and qbo_currency != plan.vendor_currency:
                if plan.case == "both":
                    reason = (
                        f"{po.label()}: the vendor's currency is {plan.vendor_currency} in Autotask but "
                        f"{qbo_currency} in QBO (vendor {vendor['DisplayName']!r}, Id {vendor['Id']}); with "
                        "multi-currency on in both, they must match (PO-06)"
                    )
                    fix = (
                        "give the vendor the same currency in both (a QBO vendor's currency cannot change: "
                        "create a new QBO vendor in the right currency, or change the Autotask vendor's); "
                    )
                else:
                    reason = (
                        f"{po.label()}: Autotask has no multi-currency, so the bill is in QBO's home currency "
                        f"{plan.vendor_currency} at rate 1.00, but QBO vendor {vendor['DisplayName']!r} (Id "
                        f"{vendor['Id']}) uses {qbo_currency} and QBO keeps a vendor's bills in its currency (PO-06)"
                    )
                    fix = f"use a QBO vendor in {plan.vendor_currency} for this Autotask organization; "
                self.out.fail(po, reason, fix + RETRY_HINT)
        return vendors

    # -- PO-04 -----------------------------------------------------------------------------------

    def check_bill_numbers(self, orders: list[PurchaseOrder]) -> None:
        """Autotask numbering: a QBO bill with the PO's number that atqbo did not create for it is an
        error (the lookup QBO does not do for bills)."""
        numbers = {bill_doc_number(po, "autotask"): po for po in orders}
        taken: dict[str, list[dict[str, Any]]] = {}
        for chunk in chunks(sorted(n for n in numbers if n), MAX_IN_VALUES):
            for bill in self.qbo.query_all("Bill", where=[where_in("DocNumber", chunk)], order_by="Id"):
                taken.setdefault(str(bill.get("DocNumber")), []).append(bill)
        for number, po in numbers.items():
            others = [b for b in taken.get(str(number), []) if po_id_in_note(b.get("PrivateNote")) != po.autotask_id]
            if others:
                other = others[0]
                vendor = (other.get("VendorRef") or {}).get("name") or (other.get("VendorRef") or {}).get("value")
                self.out.fail(
                    po,
                    f"{po.label()}: QBO already has bill number {number} (bill Id {other['Id']}, vendor {vendor}) "
                    "that atqbo did not create for this PO; bill numbers must be unique, so it is not sent "
                    "(po_number_source is 'autotask', PO-04)",
                    "renumber or delete the other bill in QBO, or set po_number_source to 'qbo'; " + RETRY_HINT,
                )

    # -- creates -----------------------------------------------------------------------------------

    def create_vendors(
        self, orders: list[PurchaseOrder], vendors: dict[str, dict[str, Any]], plans: dict[int, BillCurrency]
    ) -> None:
        payloads: dict[str, dict[str, Any]] = {}
        for po in orders:
            name = po.vendor_display_name
            if name.lower() not in vendors and name not in payloads:
                company = self.vendors.get(str(po.vendor_id)) or {"id": po.vendor_id, "companyName": po.vendor_name}
                payloads[name] = vendor_payload(company, name, plans[po.autotask_id].vendor_currency)
        created, faults = create_names(
            self.qbo,
            "Vendor",
            "DisplayName",
            payloads,
            run_id=self.run.run_id,
            dry_run=self.dry_run,
            describe_fault=fault_text,
        )
        vendors.update(created)
        for po in orders:
            if po.vendor_display_name in faults:
                self.out.fail(
                    po,
                    f"{po.label()}: the QBO vendor {po.vendor_display_name!r} could not be created: "
                    f"{faults[po.vendor_display_name]}",
                    "fix what QBO names (the Autotask organization's name or address); " + RETRY_HINT,
                )

    def create_items(
        self, orders: list[PurchaseOrder], items: dict[str, dict[str, Any]], expense_account_id: str | None
    ) -> None:
        payloads: dict[str, dict[str, Any]] = {}
        for po in orders:
            for line in po.lines:
                if line.item_name.lower() not in items and line.item_name not in payloads and expense_account_id:
                    product = self.products.get(str(line.product_id)) or {}
                    payloads[line.item_name] = item_payload(line, product, expense_account_id)
        created, faults = create_names(
            self.qbo, "Item", "Name", payloads, run_id=self.run.run_id, dry_run=self.dry_run, describe_fault=fault_text
        )
        items.update(created)
        for po in orders:
            broken = [line.item_name for line in po.lines if line.item_name in faults]
            if broken:
                self.out.fail(
                    po,
                    f"{po.label()}: the QBO item(s) could not be created: "
                    + "; ".join(f"{n!r}: {faults[n]}" for n in broken),
                    "fix what QBO names (the Autotask product), or create the item in QBO; " + RETRY_HINT,
                )

    def create_bills(
        self,
        orders: list[PurchaseOrder],
        ap_account_id: str,
        vendors: dict[str, dict[str, Any]],
        items: dict[str, dict[str, Any]],
        plans: dict[int, BillCurrency],
    ) -> None:
        """PO-02: the bills, by batch of 30, each PO's intent and requestid in the ledger first (BEY-01)."""
        payloads: dict[int, dict[str, Any]] = {}
        by_id = {po.autotask_id: po for po in orders}
        for po in orders:
            vendor = vendors[po.vendor_display_name.lower()]
            item_ids = {line.item_name.lower(): str(items[line.item_name.lower()]["Id"]) for line in po.lines}
            payloads[po.autotask_id] = bill_payload(
                po, str(vendor["Id"]), ap_account_id, item_ids, plans[po.autotask_id], self.settings.po_number_source
            )
        if self.dry_run:
            for po in orders:
                new = (
                    [f"vendor {po.vendor_display_name!r}"]
                    if vendors[po.vendor_display_name.lower()]["Id"] == "(new)"
                    else []
                )
                new += [
                    f"item {line.item_name!r}" for line in po.lines if items[line.item_name.lower()]["Id"] == "(new)"
                ]
                number = payloads[po.autotask_id].get("DocNumber")
                self.out.set(
                    po,
                    "planned",
                    f"would create a QBO bill{f' number {number}' if number else ''} for {po.vendor_display_name} "
                    f"({to_cents(po.total)}, {len(po.lines)} line(s))"
                    + (f", creating {', '.join(new)}" if new else ""),
                )
            return
        generation: dict[int, int] = {}
        attempt: dict[int, int] = {}
        for po in orders:
            record = self.ledger.get_sync_record(ENTITY, po.autotask_id) or {}
            gen = int(record.get("generation") or 0)
            if record.get("status") == "SYNCED":  # it existed once and is gone: a new document
                gen += 1
            generation[po.autotask_id] = gen
            # An interrupted create is sent again as the same attempt (QBO replays it if it went through);
            # after a refusal it is a new attempt, else QBO would replay the refusal.
            tries = int(record.get("attempts") or 0)
            attempt[po.autotask_id] = tries if record.get("status") == "IN_PROGRESS" else tries + 1
        for chunk in chunks(sorted(by_id), MAX_BATCH_ITEMS):
            requestid = bill_batch_requestid({a: (generation[a], attempt[a]) for a in chunk})
            for autotask_id in chunk:
                self.ledger.record_intent(
                    ENTITY,
                    autotask_id,
                    payload_hash=_digest(repr(payloads[autotask_id])),
                    request_id=requestid,
                    run_id=self.run.run_id,
                    realm_id=self.qbo.realm_id,
                    generation=generation[autotask_id],
                )
            batch = [{"bId": str(a), "operation": "create", "Bill": payloads[a]} for a in chunk]
            results = self.qbo.batch(batch, requestid=requestid)
            for autotask_id, result in zip(chunk, results, strict=True):
                self.record_bill_result(by_id[autotask_id], result)

    def record_bill_result(self, po: PurchaseOrder, result: dict[str, Any] | QboFault) -> None:
        if isinstance(result, QboFault) and result.retryable:
            # Throttled or busy after the hook's own retries: nothing is wrong with the PO; no ERROR,
            # no to-do, the next run sends it (adopting the bill if this one went through after all).
            self.ledger.set_sync_status(
                ENTITY, po.autotask_id, "PENDING", last_error=fault_text(result), run_id=self.run.run_id
            )
            self.out.set(po, "skipped", f"QBO was busy ({result.message}); the next run sends it", transient=True)
            return
        if isinstance(result, QboFault):
            self.out.fail(
                po,
                f"{po.label()} was refused by QBO: {fault_text(result)}",
                (result.hint or "fix what QBO names") + "; " + RETRY_HINT,
            )
            return
        bill = result["Bill"]
        self.ledger.set_sync_status(
            ENTITY,
            po.autotask_id,
            "SYNCED",
            qbo_id=str(bill["Id"]),
            qbo_number=bill_number(bill),
            run_id=self.run.run_id,
            realm_id=self.qbo.realm_id,
        )
        self.ledger.resolve_errors(ENTITY, po.autotask_id)
        self.out.set(po, "transferred", f"created QBO bill {bill_number(bill)}", marker="synced", bill=bill)

    # -- failures ----------------------------------------------------------------------------------

    def record_failures(self) -> None:
        """Each failed PO in the error log and the ledger (not in a dry run); the error id goes with
        the row, so the write-back step creates one to-do per failure."""
        if self.dry_run:
            return
        for row in self.out.rows.values():
            if row.get("outcome") != "failed":
                continue
            row["error_id"] = self.ledger.log_error(
                ENTITY,
                row["autotask_id"],
                row["reason"],
                fix=row["fix"],
                dag_id=self.run.dag_id,
                run_id=self.run.run_id,
            )
            self.ledger.set_sync_status(
                ENTITY, row["autotask_id"], "ERROR", last_error=row["reason"], run_id=self.run.run_id
            )


def load_purchase_orders(run: RunInfo, qbo: QuickBooksOnlineHook, ledger: Ledger) -> dict[str, int]:
    """Adopt what QBO has, check, then create vendors, items and bills; stage one outcome per PO.

    The creates happen under the ledger lock ``PO_SYNC_LOCK``: ``atqbo_sync_po`` may be asked for a
    PO the scheduled run is sending at the same moment, and two runs that both find no bill for it
    would both create one (their batch requestids differ).
    """
    reference = ledger.stage_get(run.run_key, "reference")
    orders = purchase_orders_from_staged(ledger.stage_get(run.run_key, "po"), reference)
    held = purchase_orders_from_staged(ledger.stage_get(run.run_key, "po_held"), reference)
    requested = ledger.stage_get(run.run_key, "requested")
    step = _BillRun(run, qbo, ledger, reference)
    locked = bool(orders) and not run.dry_run
    if locked:
        hold_po_sync_lock(run, ledger)
    try:
        step.report_held(held, requested)
        step.note_retries(orders, requested)
        step.load(orders)
        step.record_failures()
        step.note_busy_retries(orders, requested)
    finally:
        if locked:
            release_sync_lock(run, ledger, PO_SYNC_LOCK)
    ledger.stage_put(run.run_key, "outcome", {str(k): v for k, v in step.out.rows.items()})
    ledger.stage_put(run.run_key, "notes", {"load": step.notes})
    ledger.stage_put(run.run_key, "run_problems", {"problems": step.run_problems, "decided": step.decided_currency})
    counts: dict[str, int] = {}
    for row in step.out.rows.values():
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    return counts


class PurchaseOrderSyncBusy(Exception):
    """Another run is creating bills (``PO_SYNC_LOCK``); this one waits for its retry or a new trigger."""

    def __init__(self, owner: str):
        self.owner = owner
        dag_id, _, run_id = owner.partition("/")
        super().__init__(
            f"{dag_id} run {run_id!r} is creating QBO bills right now and holds the {PO_SYNC_LOCK!r} lock; one run "
            "at a time may create bills, so this run created nothing. A scheduled run tries again by itself (task "
            "retry); trigger a tool again once that run has finished. If that run was killed and Airflow still shows "
            "it running, mark it failed, or run atqbo_reset"
        )


def hold_po_sync_lock(run: RunInfo, ledger: Ledger) -> None:
    """Take ``PO_SYNC_LOCK`` for this run (a stale one, whose run is over, is taken over)."""
    try:
        hold_sync_lock(run, ledger, PO_SYNC_LOCK)
    except SyncBusy as busy:
        raise PurchaseOrderSyncBusy(busy.owner) from None


def find_atqbo_bills(qbo: QuickBooksOnlineHook, since: datetime) -> dict[int, list[dict[str, Any]]]:
    """atqbo's bills created in QBO since ``since``, by Autotask PO id (from their PrivateNote).

    By creation time, not bill date: a bill atqbo made for a PO was created after the PO, whatever
    date a QBO user gives it since. QBO cannot filter on PrivateNote, so it is matched here.
    """
    where = [f"MetaData.CreateTime >= {quote(since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ'))}"]
    found: dict[int, list[dict[str, Any]]] = {}
    for bill in qbo.query_all("Bill", where=where, order_by="Id"):
        autotask_id = po_id_in_note(bill.get("PrivateNote"))
        if autotask_id is not None:
            found.setdefault(autotask_id, []).append(bill)
    return found


def bill_batch_requestid(versions: dict[int, tuple[int, int]]) -> str:
    """The requestid of one batch of bill creates, derived from its POs' ids with each one's
    (generation, attempt): the same batch sent again after an interruption is answered by QBO with
    its first answer, while a PO sent again after a refusal gets a new key."""
    key = ",".join(f"{a}-g{g}-a{n}" for a, (g, n) in sorted(versions.items()))
    return f"atqbo-pobills-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


# -- 3. write back and to-dos -------------------------------------------------------------------------


def write_back_purchase_orders(run: RunInfo, autotask: AutotaskHook, ledger: Ledger) -> dict[str, int]:
    """PO-07: External PO Number = the bill's number, or ERROR; then PO-08's to-dos."""
    if run.dry_run:
        return {"written": 0, "todos": 0}
    outcomes = ledger.stage_get(run.run_key, "outcome")
    done = ledger.stage_get(run.run_key, "written")
    todo = [row for key, row in outcomes.items() if row.get("marker") and key not in done]

    def write(row: dict[str, Any]) -> tuple[str, str | None]:
        value = row["external_number"] if row["marker"] == "synced" else ERROR_MARKER
        try:
            autotask.update("PurchaseOrders", row["autotask_id"], {"externalPONumber": value})
        except AutotaskError as exc:
            if exc.status in (401, 429) or exc.status is None or exc.status >= 502:
                raise  # Autotask cannot be written at all: the task's retry resumes here
            said = "; ".join(exc.errors) or exc.message
            return str(row["autotask_id"]), (
                f"Autotask PO {row['autotask_id']}: its External PO Number could not be set to {value!r}: {said}"
            )
        return str(row["autotask_id"]), None

    problems: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=AUTOTASK_WRITERS) as pool:
        for key, problem in pool.map(write, todo):
            if problem:
                problems[key] = problem
            else:
                ledger.stage_put(run.run_key, "written", {key: True})
    for key, problem in problems.items():
        row = outcomes[key]
        fix = (
            "set the External PO Number by hand to "
            + (row["external_number"] if row["marker"] == "synced" else ERROR_MARKER)
            + "; until then the next runs find the bill in QBO and try again"
        )
        error_id = ledger.log_error(
            ENTITY, int(key), problem, fix=fix, qbo_id=row.get("qbo_id"), dag_id=run.dag_id, run_id=run.run_id
        )
        ledger.stage_put(
            run.run_key, "writeback_problems", {key: {"message": problem, "fix": fix, "error_id": error_id}}
        )
    todos = create_error_todos(run, autotask, ledger)
    return {"written": len(todo) - len(problems), "problems": len(problems), "todos": todos}


def create_error_todos(run: RunInfo, autotask: AutotaskHook, ledger: Ledger) -> int:
    """PO-08: an Autotask to-do under company 0 for every failure of this run that has none yet.

    A failure is its PO and its message; the to-do made for it is remembered in the ledger with the
    error-log entry it belongs to, so a later run failing the same way (say after ERROR was cleared
    too early) adds no second to-do while that entry is open. Returns how many were created.
    """
    settings = run.parsed_settings
    failures: list[tuple[str, int | None, str, str, int | None]] = []  # (kind, PO id, message, fix, error id)
    for key, row in ledger.stage_get(run.run_key, "outcome").items():
        if row.get("outcome") == "failed":
            failures.append((TODO_KIND_PO, int(key), row["reason"], row["fix"], row.get("error_id")))
    for key, problem in ledger.stage_get(run.run_key, "writeback_problems").items():
        failures.append((TODO_KIND_PO, int(key), problem["message"], problem["fix"], problem.get("error_id")))
    run_problems = ledger.stage_get(run.run_key, "run_problems")
    for problem in (run_problems.get("problems") or {}).values():
        failures.append((TODO_KIND_RUN, None, problem["message"], problem["fix"], None))
    if run_problems.get("decided") and not run_problems.get("problems"):
        ledger.stage_clear(TODO_RECORDS, TODO_KIND_RUN)  # the run-level problem is gone: alert again if it returns

    known = {kind: ledger.stage_get(TODO_RECORDS, kind) for kind in (TODO_KIND_PO, TODO_KIND_RUN)}
    created = 0
    for kind, autotask_id, message, fix, error_id in failures:
        key = todo_key(autotask_id, message)
        record = known[kind].get(key)
        if record and (kind == TODO_KIND_RUN or record.get("error_id") == error_id):
            continue
        if kind == TODO_KIND_RUN:
            error_id = ledger.log_error(ENTITY, None, message, fix=fix, dag_id=run.dag_id, run_id=run.run_id)
        description = todo_description(run, autotask_id, message, fix)
        entry: dict[str, Any] = {
            "autotask_id": autotask_id,
            "error_id": error_id,
            "run_id": run.run_id,
            "created_at": datetime.now(UTC).isoformat(),
        }
        try:
            entry["todo_id"] = create_local_todo(autotask, settings, description)
        except AutotaskAmbiguousWriteError as exc:
            entry["uncertain"] = True  # it may exist: never risk a second one for this failure
            log.error(
                "The Autotask to-do for %s may or may not have been created (%s); check the to-dos of company 0",
                key,
                exc,
            )
        except AutotaskError as exc:
            if exc.status in (401, 429) or exc.status is None or exc.status >= 502:
                raise
            ledger.stage_put(
                run.run_key,
                "todo_problems",
                {
                    key: (
                        "no Autotask to-do could be created for "
                        f"{'Autotask PO ' + str(autotask_id) if autotask_id else 'the run'}: "
                        f"{'; '.join(exc.errors) or exc.message}. Check todo_action_type "
                        f"({settings.todo_action_type}) and "
                        f"todo_resource_id ({settings.todo_resource_id}) in the {VARIABLE_NAME} Variable"
                    )
                },
            )
            continue
        ledger.stage_put(TODO_RECORDS, kind, {key: entry})
        ledger.stage_put(run.run_key, "todos", {key: entry})
        created += 1
    return created


def todo_description(run: RunInfo, autotask_id: int | None, message: str, fix: str) -> str:
    subject = f"Autotask purchase order {autotask_id}" if autotask_id is not None else "The purchase order sync"
    return "\n".join(
        [
            f"atqbo: {subject} was not transferred to QuickBooks Online.",
            f"What failed: {message}",
            f"How to fix: {fix}",
            f"Run: {run.dag_id} / {run.run_id}",
        ]
    )


# -- 4. report ----------------------------------------------------------------------------------------


def build_purchase_order_report(
    run: RunInfo, ledger: Ledger, *, title: str = REPORT_TITLE, always_email: bool = False
) -> RunReport:
    """The run's report; a tool gives its own title and asks for an email even when nothing happened.
    A run over POs asked for by id (``atqbo_sync_po``: no window) shows no window."""
    outcomes = ledger.stage_get(run.run_key, "outcome")
    problems = ledger.stage_get(run.run_key, "writeback_problems")
    notes = list(ledger.stage_get(run.run_key, "notes").get("load", []))
    todos = ledger.stage_get(run.run_key, "todos")
    notes += list(ledger.stage_get(run.run_key, "todo_problems").values())
    if todos:
        settings = run.parsed_settings
        notes.append(
            f"{len(todos)} Autotask to-do(s) created under the local organization (company 0), assigned to resource "
            f"{settings.todo_resource_id} (PO-08)."
        )
    window = run.describe_window() if run.start < run.end else ""
    report = RunReport(
        title=title,
        dag_id=run.dag_id,
        run_id=run.run_id,
        window=window,
        dry_run=run.dry_run,
        notes=notes,
        always_email=always_email,
    )
    for key in sorted(outcomes, key=int):
        row = outcomes[key]
        base = {
            "entity": ENTITY,
            "autotask_id": row["autotask_id"],
            "reference": row["reference"],
            "company": row["company"],
        }
        report.rows.append(
            ReportRow(
                outcome=row["outcome"],
                **base,
                qbo_id=row["qbo_id"],
                qbo_number=row["qbo_number"],
                autotask_total=Decimal(row["autotask_total"]) if row.get("autotask_total") else None,
                qbo_total=Decimal(row["qbo_total"]) if row.get("qbo_total") else None,
                reason=row["reason"],
                fix=row["fix"],
            )
        )
        for warning in dict.fromkeys(row.get("warnings") or []):
            report.rows.append(ReportRow(outcome="warning", **base, reason=warning))
        if key in problems:
            report.rows.append(
                ReportRow(outcome="warning", **base, reason=problems[key]["message"], fix=problems[key]["fix"])
            )
    return report


def report_purchase_orders(
    run: RunInfo, ledger: Ledger, *, title: str = REPORT_TITLE, always_email: bool = False
) -> dict[str, int]:
    """Log the summary; email it (with the CSV) to report_to when the run did anything (a tool: always)."""
    report = build_purchase_order_report(run, ledger, title=title, always_email=always_email)
    run.publish(report, ledger)
    return report.counts()


# -- small helpers --------------------------------------------------------------------------------------


def _datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
