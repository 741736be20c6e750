"""BEY-04's pairs survive the ledger's staging between the DAG's tasks."""

from __future__ import annotations

from datetime import date

from atqbo.tools.reconcile.model import DocumentPair
from tests.tools.reconcile.reconcile_support import at_invoice, invoice_pair, qbo_invoice


def test_bey04_pairs_survive_staging():
    pair = invoice_pair(at_invoice(paid_on=date(2026, 2, 25)), qbo_invoice(balance="0"), extra_qbo_ids=("205",))
    assert DocumentPair.from_doc(pair.to_doc()) == pair
    gone = invoice_pair(None, None)
    assert DocumentPair.from_doc(gone.to_doc()) == gone
