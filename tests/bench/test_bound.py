"""bench/bound.py: the API-limit bound, checked against schedules worked out by hand."""

from __future__ import annotations

import pytest

from bench.bound import Calls, Limits, bound, unavoidable_calls


def test_the_calls_from_first_principles():
    calls = unavoidable_calls(invoices=1000, lines=8, companies=120, codes=12, new_customers=120, new_items=3)
    # Autotask pages of 500: 2 of invoices, 16 of billing items, 1 of companies, 1 of codes
    assert calls.autotask_reads == 20
    # QBO IN look-ups of 100: 2 for 120 customers, 1 for 12 items; name batches of 30: 4 + 1
    assert (calls.qbo_reads, calls.qbo_name_batches, calls.invoice_batches) == (3, 5, 34)
    assert (calls.autotask, calls.qbo) == (1020, 42)


def test_patches_three_at_a_time_after_their_batch():
    # 60 invoices, no reads, no names: two batches at once (10 slots), back at 0.2 s; 60 PATCHes,
    # 3 at a time at 0.15 s: 20 rounds from 0.2 s
    limits = Limits(autotask_latency_s=0.15, qbo_latency_s=0.2)
    result = bound(Calls(invoices=60, autotask_reads=0, qbo_reads=0, qbo_name_batches=0), limits)
    assert result.last_batch_s == pytest.approx(0.2)
    assert result.seconds == pytest.approx(0.2 + 20 * 0.15)


def test_reads_precede_writes_and_names_precede_invoices():
    limits = Limits(autotask_latency_s=0.1, qbo_latency_s=0.2)
    # 6 Autotask reads: 2 rounds = 0.2 s; 1 QBO read 0.2 s; 1 name batch to 0.4 s; the invoice batch to 0.6 s;
    # 3 PATCHes in one round to 0.7 s
    result = bound(Calls(invoices=3, autotask_reads=6, qbo_reads=1, qbo_name_batches=1), limits)
    assert result.reads_done_s == pytest.approx(0.2)
    assert result.last_batch_s == pytest.approx(0.6)
    assert result.seconds == pytest.approx(0.7)


def test_forty_batches_a_minute():
    # 41 invoice batches: the 41st waits for the first one's minute to pass
    limits = Limits(autotask_latency_s=0.0, qbo_latency_s=0.2)
    result = bound(Calls(invoices=41 * 30, autotask_reads=0, qbo_reads=0, qbo_name_batches=0), limits)
    assert result.last_batch_s == pytest.approx(60.2)


def test_the_write_back_overlaps_the_load():
    limits = Limits(autotask_latency_s=0.15, qbo_latency_s=0.2)
    calls = Calls(invoices=2400, autotask_reads=0, qbo_reads=0, qbo_name_batches=0)
    overlapped, staged = bound(calls, limits), bound(calls, limits, overlap=False)
    # 80 batches: 40 in the first minute (10 at a time: back by 0.8 s), 40 from 60 s (back by 60.8 s);
    # 2,400 PATCHes at 20 a second take 120 s either way, but only the overlapped schedule starts
    # them as their batches come back
    assert staged.seconds == pytest.approx(60.8 + 800 * 0.15)
    assert overlapped.seconds == pytest.approx(0.2 + 800 * 0.15)


def test_the_hourly_budget_share():
    # a budget of 5 calls an hour: the 6th call waits for the first one's hour
    limits = Limits(autotask_latency_s=1.0, qbo_latency_s=0.0, autotask_threshold=10, autotask_budget_share=0.5)
    result = bound(Calls(invoices=6, autotask_reads=0, qbo_reads=0, qbo_name_batches=0, batch_items=30), limits)
    assert result.budget_waits == 1
    assert result.seconds == pytest.approx(3600.0 + 1.0 + 0.5)  # +0.5 s: past 50% of the threshold


def test_the_thresholds_added_latency():
    # tenant already at 75% of its hour: every call takes 1 s more
    limits = Limits(autotask_latency_s=0.5, qbo_latency_s=0.0, autotask_budget_share=1.0, autotask_used_before=7500)
    result = bound(Calls(invoices=3, autotask_reads=0, qbo_reads=0, qbo_name_batches=0), limits)
    assert result.seconds == pytest.approx(1.5)
