"""Tests of ``atqbo.hooks.qbo_query``: literals and conditions of QBO's query language."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from atqbo.hooks.qbo import quote, where_eq, where_in


def test_quote_escapes_backslashes_before_single_quotes():
    # the backslash must be doubled first, or the escape of the quote would be doubled too
    assert quote("O'Brien \\ Sons") == "'O\\'Brien \\\\ Sons'"
    assert quote("a\\'b") == "'a\\\\\\'b'"
    assert quote("plain") == "'plain'"


def test_quote_writes_each_type_as_qbo_reads_it():
    assert quote(None) == "' '"
    assert quote(True) == "true" and quote(False) == "false"
    assert quote(42) == "42" and quote(Decimal("10.50")) == "10.50" and quote(1.5) == "1.5"
    assert quote(date(2024, 6, 1)) == "'2024-06-01'"
    assert quote(datetime(2024, 6, 1, 7, tzinfo=UTC)) == "'2024-06-01T07:00:00+00:00'"
    with pytest.raises(ValueError, match="timezone"):
        quote(datetime(2024, 6, 1))


def test_where_helpers_build_conditions_with_quoted_values():
    assert where_eq("DisplayName", "Ann's") == "DisplayName = 'Ann\\'s'"
    assert where_in("DocNumber", ["1", "O'B"]) == "DocNumber IN ('1', 'O\\'B')"
    with pytest.raises(ValueError, match="at least one value"):
        where_in("Id", [])
