"""Each PO's outcome in one load step (transferred, matched, planned, skipped or failed), with what
the write-back writes to its External PO Number and the warnings the report shows; staged for the
write-back and the report steps.

A bill's QBO total is reported before the tax QBO added (TAX-03), so that it compares with the
Autotask PO's total, which is before tax; the reason says the tax and the bill's full total.
"""

from __future__ import annotations

from typing import Any

from atqbo.money import cents_text
from atqbo.sync.purchase_orders.bill_numbers import bill_number
from atqbo.sync.purchase_orders.model import PurchaseOrder
from atqbo.sync.purchase_orders.taxes import bill_tax, bill_total_before_tax


class Outcomes:
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
        qbo_total = None
        if bill and bill.get("TotalAmt") is not None:
            qbo_total = cents_text(bill_total_before_tax(bill))
            tax = bill_tax(bill)
            if tax:
                reason += f"; QBO added {cents_text(tax)} of tax: the bill's total is {cents_text(bill['TotalAmt'])}"
        self.rows[po.autotask_id] = {
            "outcome": outcome,
            "autotask_id": po.autotask_id,
            "reference": po.reference,
            "company": po.vendor_name,
            "qbo_id": (bill or {}).get("Id"),
            "qbo_number": (bill or {}).get("DocNumber"),
            "external_number": bill_number(bill) if bill and bill.get("Id") else None,  # what PO-07 writes back
            "autotask_total": cents_text(po.total),
            "qbo_total": qbo_total,  # before tax, as the PO's
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

    def decided(self, po: PurchaseOrder) -> bool:
        """The PO has its outcome already (failed, skipped, adopted): the later steps leave it alone."""
        return "outcome" in self.rows.get(po.autotask_id, {})

    def counts(self) -> dict[str, int]:
        """How many POs had each outcome."""
        counts: dict[str, int] = {}
        for row in self.rows.values():
            counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
        return counts

    def staged(self) -> dict[str, dict[str, Any]]:
        """The rows as the ledger's staging keeps them (keys are text)."""
        return {str(k): v for k, v in self.rows.items()}
