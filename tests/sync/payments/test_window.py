"""Where a run reads QBO's changes from (atqbo.sync.payments.window): the first run's look-back, the
watermark with its overlap, CDC's 30-day reach, and a re-scan from the trigger form (PAY-01, BEY-02)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from atqbo.sync.payments.window import CDC_REACH_MARGIN, WATERMARK_OVERLAP, payment_window

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_pay01_first_run_reads_payment_lookback_days():
    window = payment_window(NOW, None, 7)
    assert window.since == NOW - timedelta(days=7)
    assert window.until == NOW and window.advance and window.note == ""


def test_pay01_later_runs_read_from_the_watermark_with_overlap():
    watermark = NOW - timedelta(hours=1, seconds=0.5)
    window = payment_window(NOW, watermark, 7)
    assert window.since == (watermark - WATERMARK_OVERLAP).replace(microsecond=0)
    assert window.advance and window.note == ""


def test_pay01_a_watermark_beyond_cdc_reach_is_clamped_with_a_note():
    window = payment_window(NOW, NOW - timedelta(days=45), 7)
    assert window.since == NOW - timedelta(days=30) + CDC_REACH_MARGIN
    assert "QBO keeps changes for 30 days" in window.note and "were not read" in window.note
    assert window.advance  # nothing earlier can ever be read: move on
    # Thirty days exactly is what CDC offers: clamped by the safety margin only, no note.
    assert payment_window(NOW, None, 30).note == ""


def test_bey02_rescan_from_the_form_moves_the_watermark_only_when_it_covers_it():
    watermark = NOW - timedelta(hours=1)
    wide = payment_window(NOW, watermark, 7, rescan_days=3)
    assert wide.since == NOW - timedelta(days=3) and wide.advance
    narrow = payment_window(NOW, NOW - timedelta(days=2), 7, rescan_days=0)
    assert narrow.since == NOW and not narrow.advance
