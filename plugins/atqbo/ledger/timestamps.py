"""The ledger's clock and its timestamps: ISO-8601 UTC text made here, never by the database.

Both SQLite and PostgreSQL then compare and sort timestamps as text, the same way: the format is
fixed-width (microseconds included), so text order is time order.
"""

from __future__ import annotations

from datetime import UTC, datetime

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_ts(value: datetime | None) -> str | None:
    """A datetime as the ledger's sortable UTC text."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("ledger timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime(_TS_FORMAT)


def from_ts(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.strptime(value, _TS_FORMAT).replace(tzinfo=UTC)
