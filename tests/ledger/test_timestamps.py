"""The ledger's timestamps: UTC text that sorts as time does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from atqbo.ledger import from_ts, to_ts


def test_timestamps_sort_as_text():
    a = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    b = a + timedelta(microseconds=1)
    assert to_ts(a) < to_ts(b)
    assert from_ts(to_ts(a)) == a
    with pytest.raises(ValueError, match="timezone-aware"):
        to_ts(datetime(2026, 1, 1))
