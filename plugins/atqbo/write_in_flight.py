"""BEY-01: a QBO write that atqbo sent and never heard back from may still commit for a while
after its last attempt went out (docs/api-facts.md 2.8; the hook's ``write_may_commit_s``): a
killed run's batch can create its invoices minutes after the run died. Until it can no longer
commit, no run sends that record again, under any requestid; the run reports it as still in
flight, and the first run after that decides it the usual way (atqbo's own documents found by
their PrivateNote, then the ledger): it adopts what the late write created, or creates it.

The ledger says when: an IN_PROGRESS sync record's ``updated_at`` is when its write last went out
(``Ledger.mark_sent``, before every attempt).

Why QBO's ``requestid`` is not enough: a later run's request for the same record carries another
key. An invoice batch's key names its run (so that a later run is not answered with an old
refusal), a name batch's too, and a bill batch's names all its POs' versions (so it changes with
the batch's members); the per-invoice key in the ledger is never sent on its own. And even under
the same key, what QBO answers while the first request is still being processed is not
documented (docs/api-facts.md 2.8). Waiting out the bound needs neither.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from atqbo.ledger import from_ts, utcnow


def in_flight_until(record: dict[str, Any] | None, bound_s: float, now: datetime | None = None) -> datetime | None:
    """When the write recorded in ``record`` can no longer commit, if that is still to come; else None
    (no record, a settled one, or one whose write is older than ``bound_s``)."""
    if not record or record.get("status") != "IN_PROGRESS" or not record.get("updated_at"):
        return None
    until = from_ts(record["updated_at"]) + timedelta(seconds=bound_s)
    return until if until > (now or utcnow()) else None


def in_flight_reason(what: str, record: dict[str, Any], until: datetime) -> str:
    """The report's words for a record left alone because its write may still commit."""
    sent = from_ts(record["updated_at"])
    return (
        f"still in flight: {what} was sent to QBO at {sent:%Y-%m-%d %H:%M:%S} UTC by run {record.get('run_id')}, "
        f"which never got the answer; QBO may still create it until {until:%H:%M:%S} UTC, so it is not sent "
        "again now: the next run after that adopts it from QBO or sends it (nothing to do)"
    )
