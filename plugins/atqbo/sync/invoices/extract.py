"""Step 1 of the invoice sync: the run's Autotask invoices and everything they reference, read in
bulk and staged in the ledger for the plan (INV-02, INV-03).

Invoices and companies are read whole, without ``IncludeFields``: Autotask's docs say some invoice
fields (``dueDate``, ``taxRegionID``) "return an error when queried", and ``userDefinedFields`` is a
collection, not a field; whether that covers ``IncludeFields`` is not documented, so the query every
run makes does not depend on it (docs/api-facts.md 5.4)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from atqbo.autotask_docs import BILLING_CODE_FIELDS, is_blank
from atqbo.exceptions import AtqboConfigError
from atqbo.hooks.autotask import eq, gte, lte
from atqbo.sync.invoices.scope import stage_scope, staged_scope
from atqbo.transform.invoices import AutotaskInvoiceData

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo

log = logging.getLogger(__name__)

BILLING_ITEM_FIELDS = [
    "id",
    "invoiceID",
    "companyID",
    "billingCodeID",
    "itemName",
    "description",
    "quantity",
    "rate",
    "extendedPrice",
    "totalAmount",
    "taxDollars",
    "itemDate",
    "organizationalLevelAssociationID",
    "purchaseOrderNumber",
    "contractID",  # LINE-01: covered by a contract
    "nonBillable",  # LINE-01: shown at 0
]


def extract_invoices(run: RunInfo, autotask: AutotaskHook, ledger: Ledger) -> dict[str, int]:
    """Stage the scope's invoices and what they reference; return counts.

    The scope's explicit ids are read whatever their marker and date (an id Autotask does not have
    stops the run before anything is written); otherwise the window's unsynced, not voided invoices.
    """
    scope = staged_scope(run, ledger)
    invoices = read_scope_invoices(run, autotask, scope.autotask_ids)
    # BEY-05: the reads that need only the invoices go out together (each endpoint keeps Autotask's
    # three threads: the hook's cap); those that need the billing items or the companies follow them.
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="atqbo-extract") as pool:
        companies_read = pool.submit(autotask.get_many, "Companies", sorted({inv["companyID"] for inv in invoices}))
        terms_read = pool.submit(autotask.picklist, "Invoices", "paymentTerm") if invoices else None
        items = autotask.query_in(
            "BillingItems", "invoiceID", [inv["id"] for inv in invoices], include_fields=BILLING_ITEM_FIELDS
        )
        divisions_read = pool.submit(lines_of_business, autotask) if items else None
        code_ids = sorted({i["billingCodeID"] for i in items if i.get("billingCodeID")})
        codes = autotask.get_many("BillingCodes", code_ids, include_fields=BILLING_CODE_FIELDS)
        taxes = tax_tables(run, autotask, codes)
        companies = companies_read.result()
        reference = {
            "companies": {str(c["id"]): c for c in companies},
            "billing_codes": {str(c["id"]): c for c in codes},
            "payment_terms": terms_read.result() if terms_read else {},
            "lines_of_business": divisions_read.result() if divisions_read else {},
            **taxes,
            **currencies(autotask, companies),
        }
    by_invoice: dict[str, dict[str, Any]] = {str(inv["id"]): {"invoice": inv, "items": []} for inv in invoices}
    for item in items:
        by_invoice[str(item["invoiceID"])]["items"].append(item)
    ledger.stage_clear(run.run_key)  # a retried extract starts clean...
    stage_scope(run, ledger, scope)  # ...but keeps what the first task decided
    ledger.stage_put(run.run_key, "invoice", by_invoice)
    ledger.stage_put(run.run_key, "reference", reference)
    log.info(
        "Extracted %d invoices with %d billing items (%d Autotask calls so far)",
        len(invoices),
        len(items),
        autotask.total_calls,
    )
    return {"invoices": len(invoices), "billing_items": len(items), "autotask_calls": autotask.total_calls}


def read_scope_invoices(run: RunInfo, autotask: AutotaskHook, autotask_ids: tuple[int, ...]) -> list[dict[str, Any]]:
    """The invoices asked for by id (all of them, or the run stops), else the window's unsynced ones."""
    if autotask_ids:
        invoices = autotask.get_many("Invoices", autotask_ids)
        missing = sorted(set(autotask_ids) - {int(inv["id"]) for inv in invoices})
        if missing:
            raise AtqboConfigError(
                f"Autotask has no invoice with id {', '.join(str(i) for i in missing)}; nothing was written. "
                "Fix: check the Autotask invoice id, then trigger again"
            )
        return invoices
    filters = [gte("invoiceDateTime", run.start.isoformat()), lte("invoiceDateTime", run.end.isoformat())]
    invoices = autotask.query_all("Invoices", [*filters, eq("isVoided", False)])
    # INV-03: "unsynced" is Autotask's word, not ours; LINE-03: a blank marker is decided here
    marker = run.parsed_settings.invoice_marker_field
    return [invoice for invoice in invoices if is_blank(invoice.get(marker))]


def lines_of_business(autotask: AutotaskHook) -> dict[str, str]:
    """organizationalLevelAssociationID -> "Division:Line of business" (three small reads, together)."""
    everything = [gte("id", 0)]
    entities = ("OrganizationalLevel1s", "OrganizationalLevel2s", "OrganizationalLevelAssociations")
    with ThreadPoolExecutor(max_workers=len(entities), thread_name_prefix="atqbo-divisions") as pool:
        level1s, level2s, associations = pool.map(lambda entity: autotask.query_all(entity, everything), entities)
    level1 = {r["id"]: r["name"] for r in level1s}
    level2 = {r["id"]: r["name"] for r in level2s}
    out = {}
    for assoc in associations:
        division, lob = level1.get(assoc.get("organizationalLevel1ID")), level2.get(assoc.get("organizationalLevel2ID"))
        if division and lob:
            out[str(assoc["id"])] = f"{division}:{lob}"
    return out


def tax_tables(run: RunInfo, autotask: AutotaskHook, codes: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """TAX-01, TAX-05: the names of Autotask's tax categories and regions (two small reads), which
    ``tax_code_map`` maps to QBO tax codes: for a non-US company, and for a US one whose invoices take
    their tax code by region (``tax_mode`` ``autotask`` with a ``tax_code_map``): when any of the
    database's QBO companies is one of those; else nothing."""
    settings = run.parsed_settings
    companies = [settings.for_company(conn_id) for conn_id in settings.qbo_conn_ids]  # BEY-07: any of them
    if not codes or not any(s.non_us or (s.tax_mode == "autotask" and bool(s.tax_code_map)) for s in companies):
        return {}
    everything = [gte("id", 0)]
    return {
        "tax_categories": {str(r["id"]): r["name"] for r in autotask.query_all("TaxCategories", everything)},
        "tax_regions": {str(r["id"]): r["name"] for r in autotask.query_all("TaxRegions", everything)},
    }


def currencies(autotask: AutotaskHook, companies: list[dict[str, Any]]) -> dict[str, Any]:
    """CUR-01: Autotask's currencies (id -> ISO code) and its internal one, when the run's companies
    name a currency (one small read; none when multi-currency is not installed in Autotask)."""
    if not any(c.get("currencyID") is not None for c in companies):
        return {}
    records = autotask.query_all("Currencies", [gte("id", 0)])
    return {
        "currencies": {str(r["id"]): str(r["name"]) for r in records},
        "internal_currency": next((str(r["name"]) for r in records if r.get("isInternalCurrency")), None),
    }


def staged_invoice_data(run: RunInfo, ledger: Ledger) -> AutotaskInvoiceData:
    """What ``extract_invoices`` staged, as the transform takes it."""
    staged = ledger.stage_get(run.run_key, "invoice")
    reference = ledger.stage_get(run.run_key, "reference")
    bundles = [staged[k] for k in sorted(staged, key=int)]
    return AutotaskInvoiceData(
        invoices=[b["invoice"] for b in bundles],
        billing_items=[item for b in bundles for item in b["items"]],
        companies={int(k): v for k, v in reference.get("companies", {}).items()},
        billing_codes={int(k): v for k, v in reference.get("billing_codes", {}).items()},
        payment_terms={int(k): v for k, v in reference.get("payment_terms", {}).items()},
        lines_of_business={int(k): v for k, v in reference.get("lines_of_business", {}).items()},
        tax_categories={int(k): v for k, v in reference.get("tax_categories", {}).items()},
        tax_regions={int(k): v for k, v in reference.get("tax_regions", {}).items()},
        currencies={int(k): v for k, v in reference.get("currencies", {}).items()},
        internal_currency=reference.get("internal_currency"),
    )
