"""Step 2 of the invoice sync: every staged invoice planned by the pure transform, and the plans
staged for the load step (as JSON, and back)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from atqbo.sync.invoices.extract import staged_invoice_data
from atqbo.transform.invoices import InvoicePlan, PlannedLine
from atqbo.transform.invoices.model import plan_as_dict
from atqbo.transform.invoices.routing import plan_invoices_by_company

if TYPE_CHECKING:
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo


def plan_invoice_run(run: RunInfo, ledger: Ledger, today: date | None = None) -> dict[str, int]:
    """Plan every staged invoice (pure transform), each with its QBO company's settings (BEY-07),
    and stage the plans."""
    plans = plan_invoices_by_company(staged_invoice_data(run, ledger), run.parsed_settings, today or date.today())
    ledger.stage_put(run.run_key, "plan", {str(p.autotask_id): plan_to_doc(p) for p in plans})
    return dict(Counter(plan.decision for plan in plans))


def staged_plans(run: RunInfo, ledger: Ledger) -> list[InvoicePlan]:
    """The plans ``plan_invoice_run`` staged (ordered by their keys, the Autotask ids as text)."""
    return [plan_from_doc(d) for _, d in sorted(ledger.stage_get(run.run_key, "plan").items())]


def plan_to_doc(plan: InvoicePlan) -> dict[str, Any]:
    return plan_as_dict(plan)


def plan_from_doc(doc: dict[str, Any]) -> InvoicePlan:
    def dec(v: Any) -> Decimal | None:
        return None if v is None else Decimal(str(v))

    def day(v: Any) -> date | None:
        return None if v is None else date.fromisoformat(v)

    lines = tuple(
        PlannedLine(
            **{
                **line,
                "quantity": dec(line["quantity"]),
                "unit_price": dec(line["unit_price"]),
                "amount": dec(line["amount"]),
                "autotask_tax": dec(line.get("autotask_tax") or 0),
                "service_date": day(line["service_date"]),
            }
        )
        for line in doc.get("lines") or ()
    )
    return InvoicePlan(
        **{
            **doc,
            "lines": lines,
            "warnings": tuple(doc.get("warnings") or ()),
            "total": dec(doc["total"]),
            "tax": dec(doc["tax"]),
            "txn_date": day(doc.get("txn_date")),
            "due_date": day(doc.get("due_date")),
        }
    )
