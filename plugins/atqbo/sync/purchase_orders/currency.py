"""PO-06, multi-currency: which currency a bill is in, from Autotask's currencies and QBO's
preferences, and what the load step does when the two cannot agree.

Three cases (and the plain one, neither on): both on, the bill is in the vendor's currency at
QBO's own rate; only QBO on, the amounts are the home currency at rate 1.00; only Autotask on,
nothing can be sent: with several active Autotask currencies the whole run sends nothing (one
note, one to-do), else only the POs of a vendor in another currency fail.

With several QBO companies (BEY-07) the currencies are each company's: one Autotask database has the
currencies of every company it bills, so its several active currencies say nothing about one
company's POs. A PO goes to a company in its own currency (its vendor's) or not at all: in the
company's home currency it is sent as to a company with one currency (with multi-currency on, in that
currency at rate 1.00); in another currency it is sent in that currency when the company has
multi-currency on, else it fails on its own (QBO would book the amounts as its home currency), and
the company's other POs go on (``plan_company_currency``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from atqbo.sync.purchase_orders.failures import RETRY_HINT
from atqbo.sync.purchase_orders.model import PurchaseOrder
from atqbo.sync.purchase_orders.todos import todo_key

if TYPE_CHECKING:
    from atqbo.sync.purchase_orders.state import LoadState


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


# -- the load step's currency checks ---------------------------------------------------------------


def refuse_run_for_currency(state: LoadState, orders: list[PurchaseOrder]) -> None:
    """PO-06 case 3: Autotask multi-currency on, QBO's off: nothing is transferred, the run says why."""
    message, fix = multi_currency_run_problem(state.currencies)
    state.notes.append(f"{message} Fix: {fix}.")
    state.run_problems[todo_key(None, message)] = {"message": message, "fix": fix}
    for po in orders:
        state.out.set(po, "skipped", "not transferred: multi-currency is on in Autotask and off in QBO (PO-06)", fix)


def plan_currency(state: LoadState, po: PurchaseOrder, qbo_currencies: QboCurrencies) -> BillCurrency:
    """The PO's ``BillCurrency``; a PO whose vendor is in another currency while QBO has no
    multi-currency fails here."""
    vendor = state.vendors.get(str(po.vendor_id)) or {}
    vendor_currency = state.currencies.of_vendor(vendor)
    if state.several_companies:
        return plan_company_currency(state, po, qbo_currencies, vendor_currency)
    plan = plan_bill_currency(state.currencies.multi_currency_for(vendor), qbo_currencies, vendor_currency)
    if plan.case == "autotask_only":
        internal = state.currencies.internal
        state.out.fail(
            po,
            f"{po.label()}: the Autotask vendor uses {vendor_currency}, another currency than Autotask's "
            f"internal {internal}, and multi-currency is off in QuickBooks Online, so the bill "
            "cannot be in the vendor's currency (PO-06)",
            f"turn on multi-currency in QBO, or set the vendor's currency in Autotask to {internal}; " + RETRY_HINT,
        )
    return plan


def plan_company_currency(
    state: LoadState, po: PurchaseOrder, qbo_currencies: QboCurrencies, po_currency: str | None
) -> BillCurrency:
    """PO-06 for one PO of one of several QBO companies (BEY-07), by its own currency (its vendor's)
    against the company's home currency, not by how many currencies Autotask has active:

    * the home currency (or unknown: Autotask has no currency for the vendor): as to a company with
      one currency; with multi-currency on, in the home currency at rate 1.00 (the QBO vendor's
      currency checked);
    * another currency, multi-currency on: in that currency at QBO's rate, the QBO vendor's checked;
    * another currency, multi-currency off: the PO fails, naming both currencies and the company:
      QBO would take its amounts as the home currency's, a bill known to be wrong.
    """
    home = qbo_currencies.home
    if po_currency is None or po_currency == home:
        return plan_bill_currency(False, qbo_currencies, po_currency)
    if qbo_currencies.multi_currency:
        return BillCurrency("both", po_currency, None, po_currency)
    company = state.settings.qbo_conn_id
    state.out.fail(
        po,
        f"{po.label()}: the Autotask vendor uses {po_currency}, and the PO goes to QBO company {company}, whose home "
        f"currency is {home} with multi-currency off: QBO would book the {po_currency} amounts as {home}, so no "
        "bill is created (PO-06, BEY-07)",
        f"turn on multi-currency in QBO company {company}, or route the PO's Autotask company to the QBO company "
        f"of {po_currency} (qbo_routes in atqbo_settings), or set the vendor's currency in Autotask to {home}; "
        + RETRY_HINT,
    )
    return BillCurrency("autotask_only", None, None, None)
