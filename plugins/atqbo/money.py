"""Money: how every flow reads Autotask's and QBO's amounts and writes them in payloads and reports.

Amounts are ``Decimal`` throughout, read through ``str`` (so 0.1 stays 0.1) and rounded half up
to the cent, as money is on an Autotask invoice and in QBO. QBO's JSON takes plain numbers
(``json_number``); reports show ``1,142.00`` (``money_text``), staged rows and CSV cells
``1142.00`` (``cents_text``). No I/O.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


def as_decimal(value: Any) -> Decimal:
    """An API number as an exact Decimal (via str, so 0.1 stays 0.1); blank or junk is 0."""
    if value is None or value == "" or isinstance(value, bool):
        return Decimal(0)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def number_or_none(value: Any) -> Decimal | None:
    """An API number as an exact Decimal, or None when it is absent or not a finite number (where
    ``as_decimal``'s 0 would hide bad data: the amounts a document is built from)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def to_cents(value: Decimal) -> Decimal:
    """Rounded half up to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def cents(value: Any) -> Decimal:
    """An API amount (QBO answers ``1142.0``, Autotask ``1142.004``) as Decimal cents."""
    return to_cents(as_decimal(value))


def cents_text(value: Any) -> str:
    """``1142.00``: an amount in staged rows and CSV cells."""
    return str(cents(value))


def money_text(value: Any) -> str:
    """``1,142.00``: an amount in a report's text; blank for no amount."""
    return "" if value is None else f"{cents(value):,.2f}"


def unit_price_text(value: Decimal) -> str:
    """A unit price to the cent, or with its own decimals when it has more (QBO keeps five)."""
    rounded = value.quantize(CENT)
    return str(rounded) if rounded == value else format(value.normalize(), "f")


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number (an int when whole): what QBO's JSON takes."""
    return int(value) if value == value.to_integral_value() else float(value)
