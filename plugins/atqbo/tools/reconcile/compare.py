"""The comparison of one document (``compare_document``): which drifts it has, in the order a
person reads them (missing, duplicated, void, total, paid), or that it agrees; and how one
document's answer shows in the report (``DocumentCheck.report_row``) and the CSV
(``DocumentCheck.csv_cells``). No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from atqbo.companies import company_row
from atqbo.notify import ReportRow
from atqbo.records import INVOICE as INVOICE_RECORD
from atqbo.records import PURCHASE_ORDER
from atqbo.tools.reconcile import drifts
from atqbo.tools.reconcile.model import BILL, INVOICE, DocumentPair, Drift, Rules, document_name


@dataclass(frozen=True)
class DocumentCheck:
    """The comparison's answer for one document."""

    pair: DocumentPair
    drifts: tuple[Drift, ...] = ()
    notes: tuple[str, ...] = ()  # agreeing details worth a line in the CSV (a rounding difference)

    @property
    def agrees(self) -> bool:
        return not self.drifts

    @property
    def reference(self) -> str:
        """The invoice number or "PO {id}"; blank when the Autotask record is gone (the report shows its id)."""
        if self.pair.autotask:
            return self.pair.autotask.reference
        return f"PO {self.pair.autotask_id}" if self.pair.kind == BILL else ""

    def report_row(self) -> ReportRow:
        """The report's row for a drifted document: every drift with both values, and the fixes; with
        several QBO companies (BEY-07) it names the company the document went to."""
        return company_row(self._row(), self.pair.qbo_company or None)

    def _row(self) -> ReportRow:
        at, qbo = self.pair.autotask, self.pair.qbo
        return ReportRow(
            outcome="warning",
            entity=INVOICE_RECORD if self.pair.kind == INVOICE else PURCHASE_ORDER,
            autotask_id=self.pair.autotask_id,
            reference=self.reference,
            company=at.company if at else "",
            qbo_id=qbo.qbo_id if qbo else self.pair.recorded_qbo_id,
            qbo_number=qbo.doc_number if qbo else None,
            autotask_total=at.total if at else None,
            qbo_total=qbo.total if qbo else None,
            reason="; ".join(d.describe() for d in self.drifts),
            fix=self._fixes(),
        )

    def csv_cells(self) -> dict[str, Any]:
        """The document's line in the CSV of every document checked (``report.DOCUMENT_CSV_COLUMNS``)."""
        at, qbo = self.pair.autotask, self.pair.qbo
        cells = {
            "document": self.pair.kind,
            "autotask_id": self.pair.autotask_id,
            "reference": self.reference,
            "company": at.company if at else "",
            "qbo_id": qbo.qbo_id if qbo else (self.pair.recorded_qbo_id or ""),
            "qbo_number": (qbo.doc_number or "") if qbo else "",
            "result": "agrees" if self.agrees else "drift",
            "drift": "; ".join(d.kind for d in self.drifts),
            "autotask_total": str(at.total) if at else "",
            "qbo_total": str(qbo.total) if qbo else "",
            "autotask_voided": _yes_no(at.voided) if at else "",
            "qbo_voided": _yes_no(qbo.voided) if qbo else "",
            "autotask_paid_date": (at.paid_on.isoformat() if at.paid_on else "") if at else "",
            "qbo_balance": str(qbo.balance) if qbo else "",
            "details": "; ".join([*(d.describe() for d in self.drifts), *self.notes]),
            "fix": self._fixes(),
        }
        if self.pair.qbo_company:
            cells["qbo_company"] = self.pair.qbo_company
        return cells

    def _fixes(self) -> str:
        return " ".join(_sentence(d.fix) for d in self.drifts)


def compare_documents(pairs: Iterable[DocumentPair], rules: Rules) -> list[DocumentCheck]:
    """Every pair compared, invoices then bills, each in Autotask id order."""
    return order_checks(compare_document(p, rules) for p in pairs)


def order_checks(checks: Iterable[DocumentCheck]) -> list[DocumentCheck]:
    """Invoices then bills, each in Autotask id order."""
    order = {INVOICE: 0, BILL: 1}
    return sorted(checks, key=lambda c: (order.get(c.pair.kind, 9), c.pair.autotask_id))


def compare_document(pair: DocumentPair, rules: Rules) -> DocumentCheck:
    """One document: missing, duplicated, void, total and paid drift (in that order), or agreement."""
    at, qbo = pair.autotask, pair.qbo
    if at is None or qbo is None:
        check = _compare_missing(pair, rules)
        if pair.elsewhere:
            return DocumentCheck(pair, (*check.drifts, drifts.in_other_companies(pair)), check.notes)
        return check
    found: list[Drift] = []
    notes: list[str] = []
    if pair.elsewhere:
        found.append(drifts.in_other_companies(pair))
    if pair.extra_qbo_ids:
        found.append(drifts.duplicate(pair, qbo, list(pair.extra_qbo_ids)))
    if at.voided != qbo.voided:
        found.append(drifts.void_state(pair, at, qbo))
    elif not at.voided:  # both voided: nothing is owed on either side, totals and payments do not matter
        total = drifts.total(pair, at, qbo, rules, notes)
        if total:
            found.append(total)
        paid = drifts.paid_state(pair, at, qbo)
        if paid:
            found.append(paid)
    return DocumentCheck(pair, tuple(found), tuple(notes))


def _compare_missing(pair: DocumentPair, rules: Rules) -> DocumentCheck:
    """A document one side (or both) no longer has."""
    at, qbo = pair.autotask, pair.qbo
    if at is None:
        return DocumentCheck(pair, (drifts.gone_from_autotask(pair, qbo) if qbo else drifts.gone_from_both(pair),))
    if at.voided:
        # Voided in Autotask and gone from QBO: nothing is owed on either side.
        note = f"voided in Autotask and not in QBO ({document_name(pair.kind)} deleted): both say nothing is owed"
        return DocumentCheck(pair, notes=(note,))
    if pair.recorded_qbo_id:
        return DocumentCheck(pair, (drifts.deleted_in_qbo(pair, at, rules),))
    return DocumentCheck(pair, (drifts.never_in_qbo(pair, at, rules),))


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"
