"""The record of alerts sent for a failure, on SQLite and PostgreSQL: kept between callbacks,
held by one callback at a time, and not needed for the alerts to go out."""

from __future__ import annotations

from atqbo.notify.alert_record import alert_record, save_alert_record

KEY = "atqbo_invoices/scheduled__1"


def test_po08_a_record_saved_by_one_callback_is_read_by_the_next(ledger):
    with alert_record(ledger, KEY) as record:
        assert record == {}
        record["emailed_at"] = "2026-11-21T00:16:00+00:00"
        save_alert_record(ledger, KEY, record)
    with alert_record(ledger, KEY) as record:
        assert record == {"emailed_at": "2026-11-21T00:16:00+00:00"}
    assert ledger.get_run_lock(f"atqbo_alert:{KEY}") is None  # released after each callback


def test_po08_while_one_callback_holds_the_record_another_gets_none(ledger):
    with alert_record(ledger, KEY) as first:
        with alert_record(ledger, KEY) as second:
            assert first == {} and second is None
        assert ledger.get_run_lock(f"atqbo_alert:{KEY}") is not None  # the second did not release the first's lock


def test_po08_without_a_ledger_the_record_is_empty_and_not_kept():
    with alert_record(None, KEY) as record:
        assert record == {}
        save_alert_record(None, KEY, {"emailed_at": "now"})
