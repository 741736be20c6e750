"""The invoices created in QBO, by batch, exactly once (BEY-01): each invoice's intent and
``requestid`` are in the ledger before the request that carries it, so a lost answer, a retried
task or a re-run never creates a second one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from atqbo.hooks.qbo import MAX_BATCH_ITEMS, QboDuplicateDocNumber, QboFault, QboPeriodClosed
from atqbo.qbo_docs import INVOICE_NOTE, read_or_none
from atqbo.qbo_names import chunks
from atqbo.records import INVOICE, short_digest
from atqbo.sync.invoices.adopt import describe_qbo_invoice
from atqbo.sync.invoices.outcomes import record_synced
from atqbo.transform.invoices import build_invoice_payload, compare_totals

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo
    from atqbo.sync.invoices.outcomes import Outcomes
    from atqbo.transform.invoices import InvoicePlan, QboCompany, QboRefs


def invoice_requestid(autotask_id: int, generation: int) -> str:
    """The idempotency key of an invoice's create: the same for every retry and re-run."""
    return f"atqbo-inv-{autotask_id}-g{generation}"


def create_invoices(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    ledger: Ledger,
    plans: list[InvoicePlan],
    refs: dict[int, QboRefs],
    ref_warnings: dict[int, list[str]],
    company: QboCompany,
    outcomes: Outcomes,
    older: dict[int, dict[str, Any]] | None = None,
    recorded: Callable[[list[int]], None] | None = None,
) -> None:
    """Create the invoices by batch (a dry run says what it would create).

    ``older``: the QBO invoice each Overwrite copy doubles; those get a new generation and may
    repeat its DocNumber. ``recorded``: called with each batch's Autotask ids once their results
    are in the ledger and in ``outcomes`` (the load's marker writer starts on them: BEY-05), before
    the next batch goes out.
    """
    older = older or {}
    payloads: dict[int, dict[str, Any]] = {}
    for plan in plans:
        payload, warnings = build_invoice_payload(plan, refs[plan.autotask_id], company, run.parsed_settings)
        payloads[plan.autotask_id] = payload
        outcomes.add(plan, "planned", reason="would be created in QBO", marker=None)
        outcomes.warn(plan.autotask_id, *warnings, *ref_warnings.get(plan.autotask_id, ()))
    if run.dry_run:
        for plan in plans:
            numbered = f"numbered {plan.doc_number}" if plan.doc_number else "numbered by QBO"
            reason = f"would create a QBO invoice {numbered} for {plan.customer_name} ({plan.total})"
            outcomes.rows[plan.autotask_id]["reason"] = reason
        return
    by_id = {p.autotask_id: p for p in plans}
    generation = {plan.autotask_id: next_generation(run, ledger, plan, plan.autotask_id in older) for plan in plans}
    for chunk in chunks(sorted(by_id), MAX_BATCH_ITEMS):
        results = send_batch(run, qbo, ledger, [by_id[a] for a in chunk], payloads, generation, older)
        for autotask_id, result in zip(chunk, results, strict=True):
            created = result if isinstance(result, QboFault) else result["Invoice"]
            record_create_result(
                run, qbo, ledger, by_id[autotask_id], created, company, outcomes, older.get(autotask_id)
            )
        if recorded is not None:
            recorded(chunk)


def next_generation(run: RunInfo, ledger: Ledger, plan: InvoicePlan, second_copy: bool) -> int:
    """The generation of this create (part of its requestid): the record's, plus one when it existed
    once and is gone or a second copy is wanted (a new document needs a new requestid); but this
    run's own unanswered attempt (a retried task) keeps its generation, and so its key."""
    record = ledger.get_sync_record(INVOICE, plan.autotask_id)
    generation = (record or {}).get("generation") or 0
    unanswered = bool(record and record["status"] == "IN_PROGRESS" and record.get("run_id") == run.run_id)
    if not unanswered and ((record and record["status"] == "SYNCED") or second_copy):
        generation += 1
    return generation


def send_batch(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    ledger: Ledger,
    plans: list[InvoicePlan],
    payloads: dict[int, dict[str, Any]],
    generation: dict[int, int],
    older: dict[int, dict[str, Any]],
) -> list[dict[str, Any] | QboFault]:
    """One batch request of creates, each invoice's intent recorded first; one result per plan."""
    for plan in plans:
        ledger.record_intent(
            INVOICE,
            plan.autotask_id,
            payload_hash=plan.payload_hash,
            request_id=invoice_requestid(plan.autotask_id, generation[plan.autotask_id]),
            run_id=run.run_id,
            realm_id=qbo.realm_id,
            generation=generation[plan.autotask_id],
        )
    ids = [p.autotask_id for p in plans]
    items = [
        # a second copy keeps the invoice's number: QBO's duplicate-number check must let it through
        {
            "bId": str(a),
            "operation": "create",
            "Invoice": payloads[a],
            **({"optionsData": "allowduplicatedocnum"} if a in older else {}),
        }
        for a in ids
    ]
    # Same run (a retried task): the same key, so QBO replays a lost answer. A later run gets a
    # new key, or QBO would replay an old refusal; what that run must not re-create, it has
    # already adopted from QBO (find_atqbo_invoices) before getting here.
    key = run.run_id + ":" + ",".join(f"{a}-g{generation[a]}" for a in ids)
    # Each attempt's going out is recorded: until QBO can no longer commit it, no run sends these
    # invoices again (atqbo.write_in_flight), whatever requestid it would use.
    return qbo.batch(
        items,
        requestid=f"atqbo-invbatch-{short_digest(key, 20)}",
        before_send=lambda: ledger.mark_sent(INVOICE, ids, run.run_id),
    )


def record_create_result(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    ledger: Ledger,
    plan: InvoicePlan,
    result: dict[str, Any] | QboFault,
    company: QboCompany,
    outcomes: Outcomes,
    older: dict[str, Any] | None = None,
) -> None:
    """One create's answer: the invoice (transferred, then checked), QBO busy, or a refusal."""
    if isinstance(result, QboDuplicateDocNumber) and result.txn_id and older is None:
        existing = read_or_none(qbo, "Invoice", result.txn_id)
        if existing and INVOICE_NOTE.autotask_id(existing.get("PrivateNote")) == plan.autotask_id:
            result = existing  # our own, from an attempt whose answer was lost
    if isinstance(result, QboFault) and result.retryable:
        # Throttled or "one name at a time" after the hook's own retries: nothing wrong with the
        # invoice, so no ERROR marker; the next run sends it (with the same requestid).
        ledger.set_sync_status(INVOICE, plan.autotask_id, "PENDING", last_error=str(result), run_id=run.run_id)
        busy = f"QBO was busy ({result.message}); the next run sends it again"
        outcomes.add(plan, "failed", reason=busy, marker=None)
        outcomes.rows[plan.autotask_id]["transient"] = True
    elif isinstance(result, QboFault):
        reason, fix = explain_fault(plan, result)
        outcomes.add(plan, "failed", reason=reason, fix=fix, marker="error")
    else:
        record_created(run, qbo, ledger, plan, result, company, outcomes, older)


def record_created(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    ledger: Ledger,
    plan: InvoicePlan,
    invoice: dict[str, Any],
    company: QboCompany,
    outcomes: Outcomes,
    older: dict[str, Any] | None,
) -> None:
    """A created invoice: SYNCED in the ledger, its totals compared (INV-13), emailed by QBO (INV-17)."""
    settings = run.parsed_settings
    record_synced(run, ledger, plan.autotask_id, invoice, realm_id=qbo.realm_id)
    ledger.resolve_errors(INVOICE, plan.autotask_id)
    warnings = outcomes.rows[plan.autotask_id]["warnings"]
    reason = f"created QBO invoice {invoice.get('DocNumber') or invoice['Id']}"
    if older is not None:
        reason += (
            f", a second copy: {describe_qbo_invoice(older)}, made earlier for this Autotask invoice, still "
            "exists; void or delete it in QBO if it is not wanted"
        )
    outcomes.add(plan, "transferred", qbo=invoice, marker="synced", reason=reason)
    outcomes.warn(plan.autotask_id, *warnings)
    if older is not None:
        outcomes.rows[plan.autotask_id]["older_qbo_id"] = older["Id"]
        outcomes.rows[plan.autotask_id]["older_qbo_number"] = older.get("DocNumber")
    verdict, message = compare_totals(plan, invoice, company, settings)
    if verdict != "ok":
        outcomes.warn(plan.autotask_id, message)
    if verdict == "error":
        ledger.log_error(
            INVOICE,
            plan.autotask_id,
            message,
            qbo_id=invoice["Id"],
            dag_id=run.dag_id,
            run_id=run.run_id,
            fix="check the lines and tax of both invoices",
            qbo_company=plan.qbo_conn_id or None,
        )
    if settings.email_invoices and invoice.get("EmailStatus") == "NeedToSend":
        try:
            qbo.send_invoice(invoice["Id"], requestid=f"atqbo-send-{qbo.realm_id}-{invoice['Id']}")
        except QboFault as fault:
            outcomes.warn(plan.autotask_id, f"QBO could not email the invoice: {fault}")


def explain_fault(plan: InvoicePlan, fault: QboFault) -> tuple[str, str]:
    """A failed create as (reason naming the invoice, fix)."""
    subject = f"Autotask invoice {plan.invoice_number or plan.autotask_id} of {plan.company_name}"
    if isinstance(fault, QboPeriodClosed):
        return (
            f"{subject} is dated {plan.txn_date}, inside QBO's closed books ({fault.detail})",
            "reopen the period in QBO, or set earliest_sync_date so closed periods are not sent (ERR-01)",
        )
    if isinstance(fault, QboDuplicateDocNumber):
        return (
            f"{subject}: QBO already has document number {fault.doc_number or plan.doc_number} "
            f"(TxnId {fault.txn_id}), not created by atqbo",
            "renumber one of them, or use invoice_numbering 'qbo'",
        )
    return f"{subject} was refused by QBO: {fault}", getattr(fault, "fix", "") or "fix what QBO names, then retry"
