"""BEY-01: when a record's write may still commit in QBO (atqbo.write_in_flight), by its ledger
record, and what the report says of it."""

from __future__ import annotations

from datetime import timedelta

from atqbo.ledger import from_ts, to_ts, utcnow
from atqbo.write_in_flight import in_flight_reason, in_flight_until


def _record(status: str, seconds_ago: float) -> dict:
    return {"status": status, "updated_at": to_ts(utcnow() - timedelta(seconds=seconds_ago)), "run_id": "r1"}


def test_bey01_a_write_is_in_flight_until_the_bound_after_it_last_went_out():
    record = _record("IN_PROGRESS", 100)
    until = in_flight_until(record, 300)
    assert until == from_ts(record["updated_at"]) + timedelta(seconds=300)
    assert in_flight_until(_record("IN_PROGRESS", 301), 300) is None  # QBO can no longer commit it
    assert in_flight_until(record, 300, now=until) is None
    for settled in ("SYNCED", "PENDING", "ERROR", "SKIPPED"):  # an answer came: nothing in flight
        assert in_flight_until(_record(settled, 1), 300) is None
    assert in_flight_until(None, 300) is None


def test_bey01_the_report_says_when_sent_by_which_run_until_when_and_that_nothing_is_to_be_done():
    record = {"status": "IN_PROGRESS", "updated_at": "2026-03-02T12:00:05.000000Z", "run_id": "scheduled__x"}
    until = in_flight_until(record, 300, now=from_ts("2026-03-02T12:01:00.000000Z"))
    assert in_flight_reason("the create of Autotask invoice T1", record, until) == (
        "still in flight: the create of Autotask invoice T1 was sent to QBO at 2026-03-02 12:00:05 UTC by run "
        "scheduled__x, which never got the answer; QBO may still create it until 12:05:05 UTC, so it is not sent "
        "again now: the next run after that adopts it from QBO or sends it (nothing to do)"
    )
