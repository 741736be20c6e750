"""What the reconciliation's unit tests build documents from: an Autotask invoice and its QBO
invoice that agree (250.00, INV-1001 / QBO 1044 Id 187), a PO and its bill (199.00), and the
default rules (rounding_tolerance 0.01, no automated sales tax, webServiceDate marker)."""

from __future__ import annotations

from decimal import Decimal

from atqbo.tools.reconcile.compare import DocumentCheck
from atqbo.tools.reconcile.model import BILL, INVOICE, AutotaskDoc, DocumentPair, Drift, QboDoc, Rules

RULES = Rules()  # rounding_tolerance 0.01, no automated sales tax, webServiceDate marker


def at_invoice(total: str = "250.00", **changes) -> AutotaskDoc:
    base = {
        "autotask_id": 29684001,
        "reference": "INV-1001",
        "company": "Contoso Dental",
        "total": Decimal(total),
        "tax": Decimal("0.00"),
        "marked_synced": True,
    }
    return AutotaskDoc(**{**base, **changes})


def qbo_invoice(total: str = "250.00", balance: str | None = None, **changes) -> QboDoc:
    base = {
        "qbo_id": "187",
        "doc_number": "1044",
        "total": Decimal(total),
        "balance": Decimal(total if balance is None else balance),
    }
    return QboDoc(**{**base, **changes})


def invoice_pair(at: AutotaskDoc | None = None, qbo: QboDoc | None = None, **changes) -> DocumentPair:
    base = {"kind": INVOICE, "autotask_id": 29684001, "autotask": at, "qbo": qbo, "recorded_qbo_id": "187"}
    return DocumentPair(**{**base, **changes})


def bill_pair(at_total: str = "199.00", qbo_total: str = "199.00", canceled: bool = False, **changes) -> DocumentPair:
    at = AutotaskDoc(
        autotask_id=39600001,
        reference="PO 39600001",
        company="Ingram Micro",
        total=Decimal(at_total),
        voided=canceled,
        marked_synced=True,
        has_paid_state=False,
    )
    qbo = QboDoc(qbo_id="95", total=Decimal(qbo_total), balance=Decimal(qbo_total))
    base = {"kind": BILL, "autotask_id": 39600001, "autotask": at, "qbo": qbo, "recorded_qbo_id": "95"}
    return DocumentPair(**{**base, **changes})


def only_drift(check: DocumentCheck) -> Drift:
    assert len(check.drifts) == 1, check.drifts
    return check.drifts[0]
