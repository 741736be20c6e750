"""Finding the QBO invoices to void (atqbo.sync.voids.find): the invoice dates are read in clusters."""

from __future__ import annotations

from atqbo.sync.voids import find


def test_void01_invoice_dates_are_queried_in_clusters():
    from datetime import date

    days = [date(2026, 2, 20), date(2026, 2, 1), date(2026, 2, 25), date(2025, 6, 1)]
    assert find.cluster_dates(days) == [(date(2025, 6, 1), date(2025, 6, 1)), (date(2026, 2, 1), date(2026, 2, 25))]
