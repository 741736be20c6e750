"""One open failure of each kind of record, and a run-level one (no record)."""

from __future__ import annotations

import pytest

from tests.tools.errors.errors_support import INVOICE, PAYMENT, PO, VOID, record_failure


@pytest.fixture
def failures(ledger):
    return {
        "invoice": record_failure(ledger, "invoice", INVOICE),
        "purchase_order": record_failure(ledger, "purchase_order", PO),
        "payment": record_failure(ledger, "payment", PAYMENT),
        "invoice_void": record_failure(ledger, "invoice_void", VOID),
        "run": record_failure(ledger, "purchase_order", None, "multi-currency is on in Autotask and off in QBO"),
    }
