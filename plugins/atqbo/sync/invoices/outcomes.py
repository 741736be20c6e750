"""The invoice sync's result per invoice (staged for the write-back and the report), and how a
failure is remembered so the same failure is not sent again and again."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import TYPE_CHECKING, Any

from atqbo.money import cents_text
from atqbo.records import INVOICE

if TYPE_CHECKING:
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo
    from atqbo.settings import Settings
    from atqbo.transform.invoices import InvoicePlan

FAILED_BEFORE = (
    "failed before with the same content ({error}); see the error log. Change the invoice in Autotask "
    "or retry it from the error log"
)


class Outcomes:
    """This run's per-invoice results, staged for write-back and the report."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}

    def add(
        self,
        plan: InvoicePlan,
        outcome: str,
        *,
        qbo: dict[str, Any] | None = None,
        reason: str = "",
        fix: str = "",
        marker: str | None = None,
    ) -> None:
        """``marker``: what write-back does in Autotask: "synced", "error" or None (nothing)."""
        self.rows[plan.autotask_id] = {
            "outcome": outcome,
            "autotask_id": plan.autotask_id,
            "reference": plan.invoice_number or str(plan.autotask_id),
            "company": plan.company_name,
            "qbo_company": plan.qbo_conn_id,  # BEY-07: the QBO company (its connection) it went to
            "qbo_id": (qbo or {}).get("Id"),
            "qbo_number": (qbo or {}).get("DocNumber"),
            "autotask_total": str(plan.total),
            "qbo_total": None if not qbo or qbo.get("TotalAmt") is None else cents_text(qbo["TotalAmt"]),
            "reason": reason,
            "fix": fix,
            "marker": marker,
            "warnings": list(plan.warnings),
            # what a failure is remembered by: the same content failing again is not retried (webServiceDate mode)
            "payload_hash": failure_hash(plan),
        }

    def warn(self, autotask_id: int, *messages: str) -> None:
        self.rows[autotask_id]["warnings"] += [m for m in messages if m]

    def counts(self) -> dict[str, int]:
        return dict(Counter(row["outcome"] for row in self.rows.values()))

    def record_failures(self, run: RunInfo, ledger: Ledger) -> None:
        """Each failure in the error log (with its QBO company) and the ledger (ERROR); a transient one
        (QBO busy) is not one."""
        for row in self.rows.values():
            if row["outcome"] == "failed" and not row.get("transient"):
                ledger.log_error(
                    INVOICE,
                    row["autotask_id"],
                    row["reason"],
                    fix=row["fix"],
                    dag_id=run.dag_id,
                    run_id=run.run_id,
                    qbo_company=row.get("qbo_company") or None,  # BEY-07: which QBO company it failed in
                )
                ledger.set_sync_status(
                    INVOICE,
                    row["autotask_id"],
                    "ERROR",
                    last_error=row["reason"],
                    run_id=run.run_id,
                    payload_hash=row["payload_hash"],
                )

    def stage(self, run: RunInfo, ledger: Ledger) -> None:
        ledger.stage_put(run.run_key, "outcome", {str(k): v for k, v in self.rows.items()})


def record_synced(
    run: RunInfo, ledger: Ledger, autotask_id: int, invoice: dict[str, Any], realm_id: str | None = None
) -> None:
    """The Autotask invoice's QBO invoice in the ledger (SYNCED), by this run."""
    ledger.set_sync_status(
        INVOICE,
        autotask_id,
        "SYNCED",
        qbo_id=invoice["Id"],
        qbo_number=invoice.get("DocNumber"),
        run_id=run.run_id,
        realm_id=realm_id,
    )


def failure_hash(plan: InvoicePlan) -> str:
    """What a failure is remembered by: the plan's content, or for a plan that never got that far its reason."""
    return plan.payload_hash or hashlib.sha256(plan.reason.encode()).hexdigest()


def failed_before(plan: InvoicePlan, record: dict[str, Any] | None, settings: Settings) -> bool:
    """In webServiceDate mode a failed invoice stays "unsynced" in Autotask: without this it would
    fail and be reported again every 15 minutes until someone changes it (invoiceNumber mode has
    its ERROR marker for that, which the user clears to retry)."""
    return bool(
        settings.invoice_marker_field == "webServiceDate"
        and record
        and record["status"] == "ERROR"
        and record["payload_hash"] == failure_hash(plan)
    )  # a retry from the error log (TOOL-08) puts the record back to PENDING
