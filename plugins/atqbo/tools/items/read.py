"""Both sides of the item comparison, read in bulk and staged in the ledger for the run's later
tasks: the active Autotask billing codes and every QBO item, active or not."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from atqbo.autotask_docs import BILLING_CODE_FIELDS
from atqbo.hooks.autotask import eq
from atqbo.tools.items.comparison import ItemComparison, compare_billing_codes_to_items

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo

log = logging.getLogger(__name__)

STAGE_CODES = "billing_codes"
STAGE_ITEMS = "qbo_items"


def read_billing_codes(autotask: AutotaskHook) -> list[dict[str, Any]]:
    """Every active Autotask billing code, in one bulk query per 500, with the fields the invoice
    sync reads (so the keys and payloads here are the sync's)."""
    return autotask.query_all("BillingCodes", [eq("isActive", True)], include_fields=BILLING_CODE_FIELDS)


def read_qbo_items(qbo: QuickBooksOnlineHook) -> list[dict[str, Any]]:
    """Every QBO item, active or not (an inactive item keeps its name taken), one query per 1,000."""
    return list(qbo.query_all("Item", where=["Active IN (true, false)"], order_by="Id"))


def extract_codes_and_items(
    run: RunInfo, autotask: AutotaskHook, qbo: QuickBooksOnlineHook, ledger: Ledger
) -> dict[str, int]:
    """Read both sides and stage them for the run's later tasks; return counts."""
    codes = read_billing_codes(autotask)
    items = read_qbo_items(qbo)
    ledger.stage_clear(run.run_key)
    ledger.stage_put(run.run_key, STAGE_CODES, {str(c["id"]): c for c in codes})
    ledger.stage_put(run.run_key, STAGE_ITEMS, {str(i["Id"]): i for i in items})
    log.info(
        "Read %d active billing codes (%d Autotask calls) and %d QBO items",
        len(codes),
        autotask.total_calls,
        len(items),
    )
    return {"billing_codes": len(codes), "qbo_items": len(items)}


def items_stage(company: str | None) -> str:
    """Where one QBO company's items are staged (BEY-07); ``None``: the one company's, as always."""
    return STAGE_ITEMS if company is None else f"{STAGE_ITEMS}:{company}"


def stage_company_items(run: RunInfo, qbo: QuickBooksOnlineHook, ledger: Ledger, company: str) -> int:
    """Read and stage one of several QBO companies' items (the billing codes are staged once)."""
    items = read_qbo_items(qbo)
    ledger.stage_put(run.run_key, items_stage(company), {str(i["Id"]): i for i in items})
    log.info("Read %d QBO items of QBO company %s", len(items), company)
    return len(items)


def staged_comparison(run: RunInfo, ledger: Ledger, company: str | None = None) -> ItemComparison:
    """The staged codes and items compared under the run's settings (``company``: that QBO
    company's items under its settings, BEY-07)."""
    codes = ledger.stage_get(run.run_key, STAGE_CODES).values()
    items = ledger.stage_get(run.run_key, items_stage(company)).values()
    settings = run.parsed_settings if company is None else run.for_company(company).parsed_settings
    return compare_billing_codes_to_items(codes, items, settings)
