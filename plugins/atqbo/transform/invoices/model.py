"""The invoice transform's data: what it reads from Autotask, the plan it makes of each invoice,
what the QBO company allows and the QBO ids the load step found for a plan's names."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from atqbo.qbo_notes import INVOICE_NOTE


@dataclass(frozen=True)
class AutotaskInvoiceData:
    """Everything the plan needs from Autotask, as extracted (records keep Autotask's field names).

    invoices: Invoices records; billing_items: BillingItems records of those invoices;
    companies: id -> Companies record; billing_codes: id -> BillingCodes record;
    payment_terms: picklist value (int) -> label (Invoices.paymentTerm, e.g. 1 -> "Net 30 Days");
    lines_of_business: organizationalLevelAssociationID -> "Division:Line of business";
    tax_categories, tax_regions: id -> name (read for a non-US company only: TAX-01);
    currencies: Currencies id -> ISO code, and the tenant's internal currency (CUR-01).
    """

    invoices: list[dict[str, Any]]
    billing_items: list[dict[str, Any]]
    companies: dict[int, dict[str, Any]]
    billing_codes: dict[int, dict[str, Any]]
    payment_terms: dict[int, str]
    lines_of_business: dict[int, str]
    tax_categories: dict[int, str] = field(default_factory=dict)
    tax_regions: dict[int, str] = field(default_factory=dict)
    currencies: dict[int, str] = field(default_factory=dict)
    internal_currency: str | None = None


@dataclass(frozen=True)
class PlannedLine:
    """One line of the QBO invoice to be, decided from Autotask alone."""

    description: str  # truncated to MAX_LINE_DESCRIPTION (INV-22)
    item_key: str  # the QBO item Name to find or create (INV-06/07/22); "" for a DescriptionOnly line
    billing_code_id: int | None  # where the item comes from (for item creation), None for generic/tax lines
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal  # what the line adds to the QBO total
    service_date: date | None
    class_name: str | None  # per-line class (INV-09), used when QBO tracks classes per line
    # "item": a billing item; "description": the billing-period line (INV-11, no item);
    # "tax": Autotask's tax, sent only when QBO does not calculate tax itself (INV-18)
    kind: Literal["item", "description", "tax"] = "item"
    billing_item_id: int | None = None  # the Autotask BillingItems id, for messages
    autotask_tax: Decimal = Decimal("0")  # the item's taxDollars: what Autotask taxes it
    tax_code: str | None = None  # non-US: the QBO tax code name of the line (TAX-01/02)
    tax_reason: str = ""  # why that code, for messages ("category 'Standard', region 'Ontario'")


@dataclass(frozen=True)
class InvoicePlan:
    """What to do with one Autotask invoice (send, skip or error) and, to send it, everything but QBO ids."""

    autotask_id: int
    invoice_number: str | None  # Autotask's invoiceNumber (None when Autotask does not number)
    company_id: int
    company_name: str  # as in Autotask
    decision: Literal["send", "skip", "error"]
    reason: str = ""  # why skipped / why it failed (names the invoice and company)
    fix: str = ""  # what the user should do (errors only)
    warnings: tuple[str, ...] = ()
    customer_name: str = ""  # the QBO DisplayName (INV-05)
    txn_date: date | None = None
    due_date: date | None = None
    doc_number: str | None = None  # None when QBO numbers (INV-04)
    total: Decimal = Decimal("0")  # Autotask invoiceTotal
    tax: Decimal = Decimal("0")  # Autotask totalTaxValue
    lines: tuple[PlannedLine, ...] = ()
    term_name: str | None = None  # INV-08
    class_name: str | None = None  # transaction-level class (INV-09)
    po_number: str | None = None  # INV-10
    customer_memo: str | None = None  # INV-12 (None = leave empty)
    bill_email: str | None = None  # INV-17
    ship_address: dict[str, str] | None = None  # INV-18 (QBO PhysicalAddress shape)
    private_note: str = ""  # "Autotask invoice {id} ({number}) ..." (how atqbo recognises its own)
    currency: str | None = None  # the Autotask company's currency (CUR-01); None: Autotask has none
    tax_exempt: bool = False  # the Autotask company's isTaxExempt (TAX-02, TAX-04)
    tax_region: str | None = None  # the Autotask company's tax region name, when read (TAX-01, TAX-05)
    payload_hash: str = ""  # stable hash of everything sent: a changed invoice is noticed
    qbo_conn_id: str = ""  # BEY-07: the QBO company (its Airflow connection) the invoice goes to

    @property
    def label(self) -> str:
        """How messages name the invoice: "Autotask invoice 29684001 (INV-1001) of Contoso Dental"."""
        return invoice_label(self.autotask_id, self.invoice_number, self.company_name or f"company {self.company_id}")


TaxRegime = Literal["global", "automated", "manual", "none"]


def plan_as_dict(plan: InvoicePlan) -> dict[str, Any]:
    """``dataclasses.asdict(plan)``, the same dict, made without its deep copies (BEY-05: it is made
    twice for each invoice of a run, to stage the plan and to hash its payload); the values are the
    plan's own (immutable but for ``ship_address``, which no caller changes)."""
    doc = {name: getattr(plan, name) for name in _PLAN_FIELDS}
    doc["lines"] = tuple({name: getattr(line, name) for name in _LINE_FIELDS} for line in plan.lines)
    return doc


@dataclass(frozen=True)
class QboCompany:
    """What the QBO company allows, from its Preferences (looked up once per run).

    ``tax_regime``: how QBO taxes a sale. ``global``: a non-US company, tax from each line's tax code
    (TAX-01); ``automated``: US automated sales tax (TaxPrefs.PartnerTaxEnabled); ``manual``: a US
    company with sales tax but not automated (tax codes and rates of its own); ``none``: a US
    company without sales tax, where QBO keeps the tax it is sent (the demo company).
    """

    tax_regime: TaxRegime
    class_tracking: Literal["none", "transaction", "line"]
    custom_fields: dict[str, str] = field(default_factory=dict)  # enabled custom field name -> DefinitionId
    custom_txn_numbers: bool = True  # SalesFormsPrefs.CustomTxnNumbers
    multi_currency: bool = False  # CurrencyPrefs.MultiCurrencyEnabled
    home_currency: str = "USD"  # CurrencyPrefs.HomeCurrency

    @property
    def automated_sales_tax(self) -> bool:
        return self.tax_regime == "automated"

    @property
    def computes_tax(self) -> bool:
        """QBO computes the tax of a sale itself: the tax is not sent as a line (twice would overcharge)."""
        return self.tax_regime != "none"


@dataclass(frozen=True)
class QboRefs:
    """QBO ids for the names a plan uses, found or created by the load step."""

    customer_id: str
    items: dict[str, str]  # item_key -> Item Id
    term_id: str | None = None
    classes: dict[str, str] = field(default_factory=dict)  # class name -> Class Id
    customer_has_default_payment_method: bool = False
    customer_email: str | None = None  # PrimaryEmailAddr of the QBO customer
    tax_codes: dict[str, str] = field(default_factory=dict)  # QBO tax code name (as set) -> TaxCode Id


class NotSent(Exception):
    """Raised while planning an invoice that will not be sent: a skip or an error, with the why."""

    def __init__(self, decision: Literal["skip", "error"], reason: str, fix: str = ""):
        super().__init__(reason)
        self.decision = decision
        self.reason = reason
        self.fix = fix


def invoice_label(autotask_id: Any, number: str | None, company: str) -> str:
    """ "Autotask invoice 29684001 (INV-1001) of Contoso Dental": how every message names an invoice."""
    return INVOICE_NOTE.mark(autotask_id) + (f" ({number})" if number else "") + f" of {company}"


_PLAN_FIELDS = tuple(f.name for f in fields(InvoicePlan))
_LINE_FIELDS = tuple(f.name for f in fields(PlannedLine))
