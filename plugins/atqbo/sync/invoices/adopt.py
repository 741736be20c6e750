"""BEY-01 in the load step: the invoices QBO already has are adopted, never created twice.

atqbo's own invoices in the window are found by their PrivateNote (``qbo_docs``), the ledger's
record decides which copy stands for an Autotask invoice, and an invoice the ledger recorded that
the window does not hold is read by its Id (a QBO user may have moved its date). An invoice whose
create an earlier attempt sent and never heard back from, recently enough that QBO may still
commit it (``atqbo.write_in_flight``), is not created again: it is reported as still in flight and
decided by a later run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from atqbo.autotask_docs import invoice_marked_synced
from atqbo.ledger import utcnow
from atqbo.qbo_docs import find_atqbo_invoices, is_voided, pick_document, read_or_none
from atqbo.records import INVOICE
from atqbo.sync.invoices.outcomes import FAILED_BEFORE, Outcomes, failed_before, record_synced
from atqbo.write_in_flight import in_flight_reason, in_flight_until

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo
    from atqbo.settings import Settings
    from atqbo.sync.invoices.scope import InvoiceScope
    from atqbo.transform.invoices import InvoicePlan


def adopt_existing_invoices(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    ledger: Ledger,
    plans: list[InvoicePlan],
    outcomes: Outcomes,
    scope: InvoiceScope,
    marked: set[int],
) -> tuple[list[InvoicePlan], dict[int, dict[str, Any]]]:
    """Adopt the invoices QBO already has; return the plans that still need a create and, with
    Overwrite, the QBO invoice that each of those new copies doubles (by Autotask id).

    ``marked``: the Autotask ids whose marker is set already (an invoice asked for by id); adopting
    them writes no marker again.
    """
    days = [p.txn_date for p in plans if p.txn_date]
    # A write's in-flight window is judged as of before QBO is searched (looked_at): one whose window
    # ends between the search and its check may have committed after the search saw nothing.
    looked_at = utcnow()
    existing = find_atqbo_invoices(qbo, min(days), max(days)) if days else {}
    to_create: list[InvoicePlan] = []
    older: dict[int, dict[str, Any]] = {}
    for plan in plans:
        record = ledger.get_sync_record(INVOICE, plan.autotask_id)
        elsewhere = in_another_company(plan, record, qbo)
        if elsewhere and not scope.autotask_ids and failed_before(plan, record, run.parsed_settings):
            outcomes.add(plan, "skipped", reason=FAILED_BEFORE.format(error=record["last_error"]))
            continue
        if elsewhere:  # no marker: the invoice is not wrong (see in_another_company)
            outcome, reason, fix = elsewhere
            outcomes.add(plan, outcome, reason=reason, fix=fix, marker=None)
            continue
        found, _ = pick_document(existing.get(plan.autotask_id, []), (record or {}).get("qbo_id"))
        until = in_flight_until(record, qbo.write_may_commit_s, now=looked_at)
        if until is not None and (found is None or scope.overwrite):
            # its create may still commit: sending it again (or a second copy) could make two
            what = f"the create of Autotask invoice {plan.invoice_number or plan.autotask_id}"
            outcomes.add(plan, "skipped", reason=in_flight_reason(what, record, until), marker=None)
            continue
        if found is None and record and record["status"] == "SYNCED" and record["qbo_id"]:
            found = read_or_none(qbo, "Invoice", record["qbo_id"])  # moved out of the window by a QBO user?
            if found is None:
                # Deleted in QBO and the marker cleared in Autotask: the user wants it sent again.
                gone = f"QBO invoice {record['qbo_number'] or record['qbo_id']} recorded for this invoice no longer"
                warning = f"{gone} exists in QBO; a new one is created"
                to_create.append(replace(plan, warnings=(*plan.warnings, warning)))
                continue
        made_by_this_run = bool(record and record["status"] == "SYNCED" and record.get("run_id") == run.run_id)
        if found is not None and scope.overwrite and not made_by_this_run:  # (a retried task adopts its own copy)
            older[plan.autotask_id] = found  # a second copy is wanted: named in the report, not adopted
            to_create.append(plan)
        elif found is not None:
            adopt(run, ledger, plan, found, outcomes, scope, plan.autotask_id in marked)
        elif not scope.autotask_ids and failed_before(plan, record, run.parsed_settings):
            outcomes.add(plan, "skipped", reason=FAILED_BEFORE.format(error=record["last_error"]))
        else:
            to_create.append(plan)
    return to_create, older


def in_another_company(
    plan: InvoicePlan, record: dict[str, Any] | None, qbo: QuickBooksOnlineHook
) -> tuple[str, str, str] | None:
    """BEY-07: the ledger says another QBO company (realm) has this invoice, or was being sent it
    when a run stopped, and the routes now send it to this one: sending it would put it in two
    companies' books. (outcome, reason, fix), or None when the record is this company's or has no
    realm.

    A document there: "failed" (the ledger's ERROR keeps its realm and QBO id, so the next runs
    say the same; a retry from the error log, PENDING, is the user's word that it may move). A
    create in flight there: "skipped", the record left IN_PROGRESS, as any create in flight is;
    ``atqbo_reset`` (PENDING) is the user's word, after looking in that company.
    """
    if not record or not record.get("realm_id") or record["status"] == "PENDING":
        return None
    if str(record["realm_id"]) == str(qbo.realm_id):
        return None
    where = f"the QBO company of realm {record['realm_id']}"
    moved = (
        f"and this run would send it to {qbo.qbo_conn_id} (realm {qbo.realm_id}: qbo_routes, or the connection, "
        "changed since); not sent, so that it is not in two companies' books"
    )
    if record.get("qbo_id"):
        number = record.get("qbo_number") or record.get("qbo_id")
        return (
            "failed",
            f"{plan.label} is in {where} as QBO invoice {number}, {moved}",
            "if it should move, void or delete it in that company, then retry this invoice from the error log "
            "(atqbo_retry_errors); else change qbo_routes (or the connection) back",
        )
    if record["status"] == "IN_PROGRESS":
        return (
            "skipped",
            f"{plan.label} was being sent to {where} when an earlier run stopped, {moved}",
            "look for it in that company (its PrivateNote names the Autotask invoice): if it is there, void or "
            "delete it there, or change qbo_routes (or the connection) back; then run atqbo_reset, and the next "
            "run sends it",
        )
    return None  # a failure in that company that never made a document: nothing there to double


def adopt(
    run: RunInfo,
    ledger: Ledger,
    plan: InvoicePlan,
    found: dict[str, Any],
    outcomes: Outcomes,
    scope: InvoiceScope,
    is_marked: bool,
) -> None:
    """Record that ``found`` is this invoice's QBO invoice (the marker is written unless it is set)."""
    outcomes.add(
        plan,
        "matched",
        qbo=found,
        marker=None if is_marked else "synced",
        reason=matched_reason(scope, describe_qbo_invoice(found), run.dry_run, is_marked),
    )
    if not run.dry_run:
        record_synced(run, ledger, plan.autotask_id, found)


def matched_reason(scope: InvoiceScope, qbo_invoice: str, dry_run: bool, marked: bool) -> str:
    """What the report says of an invoice QBO has already (``qbo_invoice`` names it)."""
    if scope.autotask_ids:
        reason = f"already in QBO as {qbo_invoice}; no copy was made (trigger again with Overwrite for a second copy)"
        return reason if marked or dry_run else reason + "; Autotask marker written"
    then = "the next run only writes the Autotask marker" if dry_run else "Autotask marker written"
    return f"already in QBO as {qbo_invoice} (created by an earlier atqbo run); {then}"


def describe_qbo_invoice(invoice: dict[str, Any]) -> str:
    """``QBO invoice 1042 (Id 187)``, and whether QBO voided it: how a report names a QBO invoice."""
    if invoice.get("DocNumber"):
        number = f"QBO invoice {invoice['DocNumber']} (Id {invoice['Id']})"
    else:
        number = f"QBO invoice Id {invoice['Id']}"
    return number + (", voided in QBO" if is_voided(invoice) else "")


def marked_in_autotask(staged: dict[str, Any], settings: Settings) -> set[int]:
    """Autotask ids whose marker field says they were sent (only an invoice asked for by id can be
    extracted so)."""
    return {
        int(bundle["invoice"]["id"])
        for bundle in staged.values()
        if invoice_marked_synced(bundle["invoice"], settings.invoice_marker_field)
    }
