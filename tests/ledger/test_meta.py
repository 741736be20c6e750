"""Values kept between runs (atqbo_meta) on SQLite and PostgreSQL."""

from __future__ import annotations


def test_meta_is_none_until_set_then_replaced(ledger):
    assert ledger.get_meta("payments_watermark") is None
    ledger.set_meta("payments_watermark", "2026-11-21T00:00:00Z")
    ledger.set_meta("payments_watermark", "2026-11-22T00:00:00Z")
    assert ledger.get_meta("payments_watermark") == "2026-11-22T00:00:00Z"
