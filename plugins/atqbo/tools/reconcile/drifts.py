"""Each way one document can differ between Autotask and QBO, as a ``Drift``: what differs in
words, both systems' values, and the fix a person applies. Only the wording and the fixes live
here; which drifts a document has is ``compare``'s. No I/O."""

from __future__ import annotations

from atqbo.money import cents_text
from atqbo.qbo_docs import BILL_NOTE, INVOICE_NOTE
from atqbo.tools.reconcile.model import (
    BILL,
    DUPLICATE,
    ELSEWHERE,
    INVOICE,
    MISSING_BOTH,
    MISSING_IN_AUTOTASK,
    MISSING_IN_QBO,
    NOT_IN_QBO,
    PAID,
    TOTAL,
    VOID,
    AutotaskDoc,
    DocumentPair,
    Drift,
    QboDoc,
    Rules,
    autotask_name,
    document_name,
)

# -- one side missing --------------------------------------------------------------------------------------


def gone_from_both(pair: DocumentPair) -> Drift:
    """atqbo sent it, and neither the Autotask record nor the QBO document exists any more."""
    name = document_name(pair.kind)
    recorded = f"{name} Id {pair.recorded_qbo_id}" if pair.recorded_qbo_id else f"no {name}"
    return Drift(
        MISSING_BOTH,
        f"atqbo sent this {autotask_name(pair.kind)} but neither side has it any more",
        "no such record",
        f"{recorded} deleted",
        "nothing to do if both were removed on purpose; otherwise restore them from each system's audit trail",
    )


def gone_from_autotask(pair: DocumentPair, qbo: QboDoc) -> Drift:
    """The Autotask record is gone while its QBO document stands (voided or not)."""
    return Drift(
        MISSING_IN_AUTOTASK,
        f"the Autotask {autotask_name(pair.kind)} (id {pair.autotask_id}) no longer exists",
        "no such record",
        f"{qbo.label(pair.kind)}{' (voided)' if qbo.voided else ''}",
        f"if it was removed from Autotask on purpose, {'delete' if pair.kind == BILL else 'void'} "
        f"{qbo.describe(pair.kind)} in QBO; otherwise find out in Autotask why it is gone",
    )


def deleted_in_qbo(pair: DocumentPair, at: AutotaskDoc, rules: Rules) -> Drift:
    """The QBO document the ledger recorded is deleted."""
    name = document_name(pair.kind)
    return Drift(
        MISSING_IN_QBO,
        f"the QBO {name} atqbo created was deleted",
        f"{at.reference} total {cents_text(at.total)}",
        f"{name} Id {pair.recorded_qbo_id} deleted",
        resend_fix(pair.kind, rules),
    )


def never_in_qbo(pair: DocumentPair, at: AutotaskDoc, rules: Rules) -> Drift:
    """Autotask marks the record sent, and QBO has no document of atqbo's for it."""
    name = document_name(pair.kind)
    marker = rules.marker_field if pair.kind == INVOICE else "External PO Number"
    return Drift(
        NOT_IN_QBO,
        f"Autotask marks it sent ({marker} is set) but QBO has no {name} of atqbo's for it",
        f"{at.reference} marked synced, total {cents_text(at.total)}",
        f"no {name} with PrivateNote '{_note_mark(pair)}'",
        f"if it was never sent, {resend_fix(pair.kind, rules)}; if it reached QBO another way (before atqbo, "
        "or typed in by hand), nothing to do",
    )


def resend_fix(kind: str, rules: Rules) -> str:
    """How a person makes atqbo send the record again."""
    if kind == BILL:
        return (
            "clear the PO's External PO Number in Autotask and the next atqbo_purchase_orders run creates the bill "
            "again (while the PO is Submitted and inside po_lookback_days)"
        )
    return (
        f"clear the Autotask invoice's {rules.marker_field} and the next atqbo_invoices run sends it again (while it "
        "is inside invoice_lookback_days); if it should not be in QBO, void it in Autotask"
    )


# -- both sides there --------------------------------------------------------------------------------------


def duplicate(pair: DocumentPair, qbo: QboDoc, extras: list[str]) -> Drift:
    """More than one live QBO document carries the record's note."""
    name = document_name(pair.kind)
    ids = ", ".join([qbo.qbo_id, *extras])
    return Drift(
        DUPLICATE,
        f"more than one QBO {name} carries PrivateNote '{_note_mark(pair)}'",
        "one document",
        f"{name}s Ids {ids}",
        f"keep {qbo.describe(pair.kind)} and delete or void the other copies (Ids {', '.join(extras)}) in QBO",
    )


def in_other_companies(pair: DocumentPair) -> Drift:
    """BEY-07: atqbo's live documents carrying the record's note in QBO companies other than the one
    it went to (QBO Ids are per company: each named with its company)."""
    name = document_name(pair.kind)
    home = f"{pair.qbo.describe(pair.kind)} in QBO company {pair.qbo_company}" if pair.qbo else "none"
    return Drift(
        ELSEWHERE,
        f"a QBO {name} carrying PrivateNote '{_note_mark(pair)}' is in another QBO company than the one it goes "
        f"to ({pair.qbo_company})",
        f"goes to QBO company {pair.qbo_company}",
        f"also {'; '.join(pair.elsewhere)}",
        f"keep {home} and delete or void the copies in the other companies ({'; '.join(pair.elsewhere)}); if "
        "qbo_routes changed since it was sent, the copy in the company it went to first is the one to keep",
    )


def void_state(pair: DocumentPair, at: AutotaskDoc, qbo: QboDoc) -> Drift:
    """Voided (a PO: canceled) in one system and not in the other."""
    qbo_name, qbo_label = qbo.describe(pair.kind), qbo.label(pair.kind)
    if pair.kind == BILL:
        if at.voided:
            return Drift(
                VOID,
                "canceled in Autotask, not in QBO",
                "PO canceled",
                f"{qbo_label} open",
                f"delete (or void) {qbo_name} in QBO, or reopen the PO in Autotask if canceling it was a mistake",
            )
        return Drift(
            VOID,
            "voided in QBO, not canceled in Autotask",
            "PO not canceled",
            f"{qbo_label} voided",
            "cancel the PO in Autotask too, or re-enter the bill in QBO if voiding it was a mistake",
        )
    if at.voided:
        return Drift(
            VOID,
            "voided in Autotask, not in QBO",
            "voided",
            "not voided",
            f"void {qbo_name} in QBO (with void_sync_enabled the atqbo_invoice_voids DAG does this once the void "
            "is inside void_lookback_days)",
        )
    return Drift(
        VOID,
        "voided in QBO, not in Autotask",
        "not voided",
        "voided",
        f"void invoice {at.reference} in Autotask too; if voiding {qbo_name} was a mistake, re-enter it in QBO by hand",
    )


def total(pair: DocumentPair, at: AutotaskDoc, qbo: QboDoc, rules: Rules, notes: list[str]) -> Drift | None:
    """The totals, with tax (TAX-04), differ by more than ``rounding_tolerance``; a smaller difference
    is added to ``notes``. An invoice's drift names both taxes and who computed QBO's."""
    at_amount, qbo_amount, basis = at.total, qbo.total, "total"
    if pair.kind != INVOICE and qbo.tax:
        # TAX-03: an Autotask PO carries no tax; QBO added the purchase tax code's to the bill
        qbo_amount, basis = qbo.total - qbo.tax, "total before QBO's purchase tax"
    difference = qbo_amount - at_amount
    if difference == 0:
        return None
    if abs(difference) <= rules.rounding_tolerance:
        notes.append(f"{basis} differs by {difference:+} (within rounding_tolerance {rules.rounding_tolerance})")
        return None
    if pair.kind != INVOICE:
        fix = f"correct {qbo.describe(pair.kind)} in QBO to match the PO's items (or the PO in Autotask)"
        return Drift(TOTAL, f"{basis} differs by {difference:+}", cents_text(at_amount), cents_text(qbo_amount), fix)
    fix = (
        f"compare the lines of {qbo.describe(pair.kind)} with Autotask invoice {at.reference} and correct "
        "the one that is wrong (a changed QBO invoice is not sent again by atqbo)"
    )
    if at.total - at.tax == qbo.total - qbo.tax:
        fix = (
            f"the amounts before tax agree, the tax does not: check the tax of {qbo.describe(pair.kind)} "
            "(the customer's tax status, the lines' tax codes) against Autotask's"
        )
    what = f"total (with tax) differs by {difference:+}" + (f"; {rules.tax_source}" if rules.tax_source else "")
    return Drift(
        TOTAL,
        what,
        f"{cents_text(at_amount)} (tax {cents_text(at.tax)})",
        f"{cents_text(qbo_amount)} (tax {cents_text(qbo.tax)})",
        fix,
    )


def paid_state(pair: DocumentPair, at: AutotaskDoc, qbo: QboDoc) -> Drift | None:
    """An invoice paid in full in one system only (a part payment in QBO is no drift)."""
    if not at.has_paid_state or pair.kind != INVOICE:
        return None
    qbo_paid = qbo.balance == 0 and qbo.total != 0  # a zero invoice has nothing to pay
    balance = f"balance {cents_text(qbo.balance)} of {cents_text(qbo.total)}"
    if qbo_paid and at.paid_on is None:
        return Drift(
            PAID,
            "paid in full in QBO, not paid in Autotask",
            "no paid date",
            f"{balance} (paid)",
            f"mark it paid in Autotask: atqbo_mark_invoice_paid with invoice number {at.reference} and the "
            "payment's date (with payment_sync_enabled the hourly atqbo_payments DAG does this for new payments)",
        )
    if at.paid_on is not None and qbo.balance > 0:
        return Drift(
            PAID,
            "paid in Autotask, money still owed in QBO",
            f"paid on {at.paid_on}",
            balance,
            f"record the payment against {qbo.describe(pair.kind)} in QBO; if the Autotask paid date was set by "
            "mistake, clear it there (atqbo never clears a paid date)",
        )
    return None


def _note_mark(pair: DocumentPair) -> str:
    """``Autotask invoice 29684001``: the note atqbo's QBO document for the record starts with."""
    return (INVOICE_NOTE if pair.kind == INVOICE else BILL_NOTE).mark(pair.autotask_id)
