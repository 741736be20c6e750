"""QBO's clock: US Pacific. Response ``time`` and MetaData stamps are written in its offset, and a
date or naive date-time in a query or ``changedSince`` is read in it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")


def stamp(dt: datetime) -> str:
    """A MetaData time: seconds, US Pacific offset (``2024-06-01T08:14:05-07:00``)."""
    return dt.astimezone(PACIFIC).isoformat(timespec="seconds")


def response_time(dt: datetime) -> str:
    """The top-level ``time`` of a response: milliseconds, US Pacific offset."""
    return dt.astimezone(PACIFIC).isoformat(timespec="milliseconds")


def pacific_now() -> datetime:
    return datetime.now(PACIFIC)


DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_datetime(text: str) -> datetime | None:
    """An ISO date or date-time as an aware datetime (naive ones are US Pacific, as in QBO)."""
    if not isinstance(text, str):
        return None
    raw = text.strip()
    if _DATE_RE.match(raw):
        d = date.fromisoformat(raw)
        return datetime(d.year, d.month, d.day, tzinfo=PACIFIC)
    if not DATETIME_RE.match(raw):
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=PACIFIC)
