"""Where a run reads QBO's change data capture (CDC) from, and the watermark that carries a
successful run's CDC time to the next run (per QBO company, in the ledger's meta table)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from atqbo.hooks.qbo import CDC_MAX_DAYS, QuickBooksOnlineHook
from atqbo.ledger import Ledger

log = logging.getLogger(__name__)

WATERMARK_KEY = "payments.cdc_watermark.{realm_id}"  # atqbo_meta key; per QBO company
# CDC is read again from this long before the last run's CDC time: QBO stamps changes to the
# second and its clock is not ours, so a change made while the last run read could fall between.
# What is read twice is recognised by the ledger and stays silent.
WATERMARK_OVERLAP = timedelta(minutes=5)
CDC_REACH = timedelta(days=CDC_MAX_DAYS)
# Ask for a little less than CDC's reach, so the request is still inside it when QBO checks it.
CDC_REACH_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class CdcWindow:
    """Where this run reads CDC from, and whether its end may become the next run's start."""

    since: datetime
    until: datetime
    advance: bool
    note: str = ""


def utcnow() -> datetime:
    """Now, in UTC (CDC works on the wall clock)."""
    return datetime.now(UTC)


def payment_window(
    now: datetime, watermark: datetime | None, lookback_days: int, rescan_days: int | None = None
) -> CdcWindow:
    """Where CDC is read from: a re-scan asked for in the trigger form, else the last successful
    run (less ``WATERMARK_OVERLAP``), else ``lookback_days`` (the first run); never further back
    than CDC reaches.

    The watermark may move to ``now`` after the run only when the run read everything since the
    current watermark: a narrower re-scan must not skip what lies between.
    """
    if rescan_days is not None:
        wanted = now - timedelta(days=rescan_days)
    elif watermark is not None:
        wanted = watermark - WATERMARK_OVERLAP
    else:
        wanted = now - timedelta(days=lookback_days)
    reach = now - CDC_REACH + CDC_REACH_MARGIN
    note = ""
    since = wanted
    if wanted < reach:
        since = reach
        if wanted < now - CDC_REACH:  # a real gap, not only the safety margin
            start = watermark if rescan_days is None and watermark is not None else wanted
            note = (
                f"QBO keeps changes for {CDC_MAX_DAYS} days, and this run should have read from "
                f"{start:%Y-%m-%d %H:%M} UTC (the last successful run): payments changed between then and "
                f"{since:%Y-%m-%d %H:%M} UTC were not read. Check the invoices paid in that time in QBO and set "
                "their paid dates in Autotask by hand."
            )
    since = since.replace(microsecond=0)  # CDC compares whole seconds; rounding down reads a bit more
    # A run that had to start at CDC's reach still moves the watermark: nothing earlier can be read.
    covers_watermark = watermark is None or since <= watermark - WATERMARK_OVERLAP or wanted < reach
    return CdcWindow(since=since, until=now, advance=covers_watermark, note=note)


def watermark_key(qbo: QuickBooksOnlineHook) -> str:
    """The ledger meta key of the watermark of ``qbo``'s company."""
    return WATERMARK_KEY.format(realm_id=qbo.realm_id)


def read_watermark(ledger: Ledger, key: str) -> datetime | None:
    """The last successful run's CDC time, or None before the first one."""
    raw = ledger.get_meta(key)
    return datetime.fromisoformat(raw) if raw else None


def move_watermark(ledger: Ledger, key: str, until: datetime) -> datetime:
    """The watermark becomes ``until``, never moving back; returns where it stands."""
    current = read_watermark(ledger, key)
    if current is not None and current >= until:
        return current
    ledger.set_meta(key, until.isoformat())
    log.info("payment watermark %s -> %s", current.isoformat() if current else "(none)", until.isoformat())
    return until
