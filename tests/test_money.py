"""atqbo.money: reading and writing amounts the same way everywhere."""

from __future__ import annotations

from decimal import Decimal

import pytest

from atqbo.money import as_decimal, cents, cents_text, json_number, money_text, to_cents, unit_price_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0.1, Decimal("0.1")),
        ("12.345", Decimal("12.345")),
        (None, Decimal(0)),
        ("", Decimal(0)),
        ("abc", Decimal(0)),
        (True, Decimal(0)),
        (float("nan"), Decimal(0)),
        (float("inf"), Decimal(0)),
        (7, Decimal(7)),
    ],
)
def test_as_decimal_is_exact_and_turns_junk_into_zero(raw, expected):
    assert as_decimal(raw) == expected


def test_amounts_round_half_up_to_the_cent():
    assert to_cents(Decimal("2.345")) == Decimal("2.35")  # half up, not Python's half even
    assert to_cents(Decimal("-2.345")) == Decimal("-2.35")
    assert cents(1142.0) == Decimal("1142.00") and cents("1142.004") == Decimal("1142.00")


def test_text_forms_of_an_amount():
    assert cents_text(1142.0) == "1142.00"
    assert money_text(Decimal("8814.725")) == "8,814.73"
    assert money_text(None) == "" and money_text(0) == "0.00"
    assert unit_price_text(Decimal("12.5")) == "12.50" and unit_price_text(Decimal("0.12345")) == "0.12345"


def test_json_numbers_are_ints_when_whole():
    assert json_number(Decimal("3.00")) == 3 and isinstance(json_number(Decimal("3.00")), int)
    assert json_number(Decimal("2.5")) == 2.5
