"""Task 2's decisions and writes: for each target, void its QBO invoice, or record and report why
not, with the ledger bookkeeping that makes a second run silent (VOID-02) and an interrupted void
safe to resume (BEY-01)."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from atqbo.companies import STOPPED_FIX, company_failure, stopped_reason
from atqbo.exceptions import AtqboError
from atqbo.hooks.qbo import QboAuthError, QboFault, QuickBooksOnlineHook
from atqbo.ledger import Ledger
from atqbo.notify import ReportRow
from atqbo.qbo_docs import INVOICE_NOTE, applied_payment_ids, is_voided, read_current
from atqbo.records import INVOICE_VOID
from atqbo.runs import RunInfo
from atqbo.sync.voids.model import ALREADY_VOIDED, DELETED_IN_QBO, NOT_CREATED_BY_ATQBO, SETTLED, VoidTarget
from atqbo.sync.voids.refusals import (
    explain_void_refusal,
    qbo_state_fingerprint,
    void_requestid,
)
from atqbo.sync.voids.report import describe_qbo_invoice, void_row

log = logging.getLogger(__name__)


class VoidStep:
    """One run's void step: the decision for each target and the ledger bookkeeping around it."""

    def __init__(self, run: RunInfo, ledger: Ledger, qbo: QuickBooksOnlineHook):
        self.run = run
        self.ledger = ledger
        self.qbo = qbo
        self.dry_run = run.dry_run
        self.rows: list[ReportRow] = []
        self.done: set[int] = set()  # the targets handled (BEY-07: the others fail when a company stops)
        self.silent = 0  # refusals not retried (nothing changed) and records another run settled
        self._errors: list[dict[str, Any]] | None = None

    # -- the decision for one invoice --------------------------------------------------------------

    def handle(self, target: VoidTarget, qbo_state: dict[str, dict[str, Any]]) -> None:
        """Void ``target``'s QBO invoice (``qbo_state``: the invoices as read this run), or say why not."""
        record = self.ledger.get_sync_record(INVOICE_VOID, target.autotask_id)
        if record is not None and record["status"] in SETTLED:
            self.report_settled(target, record)
        elif target.ambiguous_ids:
            self.handle_ambiguous(target)
        elif target.qbo_id is None:
            self.skip(
                target,
                f"{NOT_CREATED_BY_ATQBO}: no ledger record and no QBO invoice with PrivateNote "
                f"'{INVOICE_NOTE.mark(target.autotask_id)}', so there is nothing of atqbo's to void",
                fix="if QBO holds this invoice from another source, void it in QBO by hand",
            )
        elif (qbo_invoice := qbo_state.get(target.qbo_id)) is None:
            self.skip(
                target, f"{DELETED_IN_QBO}: {describe_qbo_invoice(None, target)} (Id {target.qbo_id}) no longer exists"
            )
        elif is_voided(qbo_invoice):
            self.handle_voided(target, qbo_invoice, record)
        elif self.refusal_stands(target, qbo_invoice, record):
            self.keep_refusal_silent(target, qbo_invoice, record or {})
        elif self.dry_run:
            self.rows.append(void_row(target, "planned", self.plan_text(qbo_invoice, target), qbo_invoice=qbo_invoice))
        else:
            self.void(target, qbo_invoice, record)

    def report_settled(self, target: VoidTarget, record: dict[str, Any]) -> None:
        """Settled already: by this same run (a retry of this task), reported again, not redone;
        by another run meanwhile, silent."""
        if record.get("run_id") != self.run.run_id:
            self.silent += 1
        elif record["status"] == "SYNCED":
            reason = f"voided {describe_qbo_invoice(None, target)}"
            self.rows.append(void_row(target, "voided", reason, qbo_total=0))
        else:
            self.rows.append(void_row(target, "skipped", record.get("last_error") or ""))

    def handle_voided(self, target: VoidTarget, qbo_invoice: dict[str, Any], record: dict[str, Any] | None) -> None:
        """The QBO invoice is voided: by our interrupted attempt (BEY-01), or by someone else."""
        if record is not None and record["status"] == "IN_PROGRESS":
            # Our void went through before the previous attempt could record it.
            self.settle(target, "SYNCED", "", qbo_id=str(qbo_invoice["Id"]))
            reason = f"voided {describe_qbo_invoice(qbo_invoice, target)} (found voided after an interrupted attempt)"
            self.rows.append(void_row(target, "voided", reason, qbo_invoice=qbo_invoice))
        else:
            reason = f"{ALREADY_VOIDED}: {describe_qbo_invoice(qbo_invoice, target)} was voided there"
            self.skip(target, reason, qbo_invoice)

    def refusal_stands(self, target: VoidTarget, qbo_invoice: dict[str, Any], record: dict[str, Any] | None) -> bool:
        """QBO refused this void before, the invoice has not changed since, and no retry was asked for."""
        return (
            record is not None
            and record["status"] == "ERROR"
            and record.get("payload_hash") == qbo_state_fingerprint(qbo_invoice)
            and not self.retry_requested_since(target.autotask_id, record.get("updated_at"))
        )

    def keep_refusal_silent(self, target: VoidTarget, qbo_invoice: dict[str, Any], record: dict[str, Any]) -> None:
        """Not tried again and not reported again (the error log holds it); a dry run shows it."""
        self.silent += 1
        log.info(
            "Autotask invoice %s: QBO refused its void before and invoice %s has not changed since; not retried (%s)",
            target.reference,
            qbo_invoice["Id"],
            record.get("last_error"),
        )
        if self.dry_run:  # the plan shows everything it looked at
            reason = f"not retried: unchanged since QBO refused it ({record.get('last_error')})"
            self.rows.append(void_row(target, "skipped", reason, qbo_invoice=qbo_invoice))

    def plan_text(self, qbo_invoice: dict[str, Any], target: VoidTarget) -> str:
        """What a dry run says it would do, warning of the refusal a payment will cause."""
        text = f"would void {describe_qbo_invoice(qbo_invoice, target)}"
        if applied_payment_ids(qbo_invoice):
            text += " (QBO will refuse while payments are applied to it: remove them first)"
        return text

    def void(self, target: VoidTarget, qbo_invoice: dict[str, Any], record: dict[str, Any] | None) -> None:
        """Void it in QBO, the intent recorded first; a refusal about this invoice is recorded and
        reported, anything that stops the run raises."""
        fingerprint = qbo_state_fingerprint(qbo_invoice)
        attempt = int((record or {}).get("attempts") or 0) + 1  # record_intent counts this attempt
        requestid = void_requestid(target.autotask_id, attempt)
        # Written before the request: a crash after it is resolved by reading QBO, not by guessing.
        self.ledger.record_intent(
            INVOICE_VOID, target.autotask_id, payload_hash=fingerprint, request_id=requestid, run_id=self.run.run_id
        )
        try:
            voided = self.qbo.void_invoice(qbo_invoice["Id"], qbo_invoice.get("SyncToken"), requestid=requestid)
        except QboFault as fault:
            if fault.retryable or isinstance(fault, QboAuthError):
                raise  # the run cannot go on (or may later): Airflow retries the task
            reason, fix = explain_void_refusal(target, qbo_invoice, fault)
            self.fail(target, reason, fix, qbo_invoice)
            return
        self.settle(target, "SYNCED", "", qbo_id=str(voided.get("Id") or qbo_invoice["Id"]))
        reason = f"voided {describe_qbo_invoice(qbo_invoice, target)}"
        self.rows.append(
            void_row(target, "voided", reason, qbo_invoice=qbo_invoice, qbo_total=voided.get("TotalAmt", 0))
        )

    def handle_ambiguous(self, target: VoidTarget) -> None:
        """Several of atqbo's copies are not voided: a failure for a person to decide, reported once."""
        ids = ", ".join(target.ambiguous_ids)
        reason = (
            f"several QBO invoices (Ids {ids}) carry PrivateNote '{INVOICE_NOTE.mark(target.autotask_id)}' "
            f"for Autotask invoice {target.reference}; atqbo does not guess which to void"
        )
        fix = "void the right one(s) in QBO by hand, or delete the extra copies; the next run then sees them"
        if not self.dry_run and any(e["message"] == reason for e in self.open_errors(target.autotask_id)):
            self.silent += 1  # reported when first seen; the open error-log entry stands for it
            return
        self.fail(target, reason, fix)

    # -- the ledger ----------------------------------------------------------------------------------

    def open_errors(self, autotask_id: int) -> list[dict[str, Any]]:
        """The invoice's open error-log entries (the log is read once per run)."""
        if self._errors is None:
            self._errors = self.ledger.list_errors(entity=INVOICE_VOID)
        return [e for e in self._errors if e["autotask_id"] == autotask_id]

    def retry_requested_since(self, autotask_id: int, since: str | None) -> bool:
        """A retry asked for in the error log (TOOL-08) after the last attempt."""
        return any(
            e["retry_requested_at"] and (since is None or e["retry_requested_at"] > since)
            for e in self.open_errors(autotask_id)
        )

    def settle(self, target: VoidTarget, status: str, reason: str, qbo_id: str | None = None) -> None:
        """Record the end state of a void (not in a dry run) and close its open errors."""
        if self.dry_run:
            return
        self.ledger.set_sync_status(
            INVOICE_VOID,
            target.autotask_id,
            status,
            qbo_id=qbo_id or target.qbo_id,
            qbo_number=target.qbo_number,
            last_error=reason if status != "SYNCED" else None,
            run_id=self.run.run_id,
        )
        self.ledger.resolve_errors(INVOICE_VOID, target.autotask_id)

    def skip(self, target: VoidTarget, reason: str, qbo_invoice: dict[str, Any] | None = None, fix: str = "") -> None:
        """Nothing to void: settled as SKIPPED, reported this once."""
        self.settle(target, "SKIPPED", reason, qbo_id=(qbo_invoice or {}).get("Id"))
        self.rows.append(void_row(target, "skipped", reason, fix, qbo_invoice=qbo_invoice))

    def fail(self, target: VoidTarget, reason: str, fix: str, qbo_invoice: dict[str, Any] | None = None) -> None:
        """An ERROR record and an error-log entry (not in a dry run), and a failed row."""
        if not self.dry_run:
            self.ledger.set_sync_status(
                INVOICE_VOID,
                target.autotask_id,
                "ERROR",
                qbo_id=target.qbo_id,
                last_error=reason,
                run_id=self.run.run_id,
            )
            self.ledger.log_error(
                INVOICE_VOID,
                target.autotask_id,
                reason,
                fix=fix,
                qbo_id=(qbo_invoice or {}).get("Id") or target.qbo_id,
                dag_id=self.run.dag_id,
                run_id=self.run.run_id,
            )
        self.rows.append(void_row(target, "failed", reason, fix, qbo_invoice=qbo_invoice))


def void_targets(
    run: RunInfo, ledger: Ledger, qbo: QuickBooksOnlineHook, targets: list[VoidTarget], company: str | None = None
) -> list[ReportRow]:
    """Void each target's QBO invoice (or plan it, in a dry run) and return the report rows.

    ``company``: the QBO company's connection when the run has several (BEY-07): what stops it (its
    token revoked, its connection) fails its targets not done yet, without a ledger record (the
    next run tries them again), instead of stopping the run.
    """
    step = VoidStep(run, ledger, qbo)
    try:
        qbo_ids = [t.qbo_id for t in targets if t.qbo_id]
        state = read_current(qbo, "Invoice", qbo_ids) if qbo_ids else {}
        for target in targets:
            step.handle(target, state)
            step.done.add(target.autotask_id)
    except AtqboError as exc:
        if company is None or not company_failure(exc):
            raise
        reason = stopped_reason(company, exc)
        log.warning("%s; its other invoices are not voided this run", reason)
        step.rows.extend(void_row(t, "failed", reason, STOPPED_FIX) for t in targets if t.autotask_id not in step.done)
    counts = dict(Counter(row.outcome for row in step.rows))
    log.info(
        "voids%s: %s; %d not reported again (refusals unchanged since, or settled by another run)",
        " (dry run)" if run.dry_run else "",
        counts or "nothing",
        step.silent,
    )
    return step.rows
