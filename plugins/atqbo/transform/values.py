"""How Autotask values become QBO values: text, names and addresses within QBO's field limits,
and Autotask's dates. Shared by the invoice and purchase order transforms; no I/O.

The limits are QBO's (docs/api-facts.md 2.11); this is the one place they live for the transforms.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

MAX_DISPLAY_NAME = 100  # the documented limit is now 500; 100 is the old one and safe everywhere
MAX_COMPANY_NAME = 100
MAX_ITEM_NAME = 100
MAX_LINE_DESCRIPTION = 4000
MAX_DOC_NUMBER = 21
MAX_PRIVATE_NOTE = 4000
MAX_CUSTOMER_MEMO = 1000
MAX_CUSTOM_FIELD_VALUE = 31  # QBO sales-form custom field values
MAX_ITEM_DESCRIPTION = 4000
MAX_ITEM_SKU = 100
MAX_PURCHASE_DESC = 1000  # an item's PurchaseDesc
MAX_EMAIL = 100
MAX_PHONE = 30
MAX_NOTES = 2000  # a customer's or vendor's Notes
MAX_ADDRESS_LINE = 500
MAX_CITY = 255
MAX_POSTAL_CODE = 30
UNIT_PRICE_PLACES = 5  # QBO amounts are "10.5": five decimals is the finest unit price it keeps
MAX_AMOUNT_DIGITS = 10  # QBO amounts are "10.5" (15 digits): ten before the decimal point


_ELLIPSIS = "..."  # ASCII, so a byte-counting limit cannot be exceeded by the ellipsis itself


def qbo_name(text: str, limit: int) -> str:
    """A name QBO accepts (INV-05): no ':' (QBO's sub-record separator), one line, single spaces, cut."""
    cleaned = re.sub(r"\s+", " ", without_control_characters(as_text(text)).replace(":", "-")).strip()
    return cleaned[:limit].rstrip()


def company_address(company: dict[str, Any]) -> dict[str, str]:
    """The Autotask company address as a QBO PhysicalAddress ({} when it has none)."""
    return _address(company, "address1", "address2", "city", "state", "postalCode")


def bill_to_address(company: dict[str, Any]) -> dict[str, str]:
    """The Autotask bill-to address as a QBO PhysicalAddress ({} when it has none)."""
    return _address(company, "billingAddress1", "billingAddress2", "billToCity", "billToState", "billToZipCode")


def _address(company: dict[str, Any], line1: str, line2: str, city: str, state: str, postal: str) -> dict[str, str]:
    """Five Autotask address fields as a QBO PhysicalAddress, blank parts left out."""
    parts = {
        "Line1": clip(_clean(company.get(line1)), MAX_ADDRESS_LINE),
        "Line2": clip(_clean(company.get(line2)), MAX_ADDRESS_LINE),
        "City": clip(_clean(company.get(city)), MAX_CITY),
        "CountrySubDivisionCode": _clean(company.get(state)),
        "PostalCode": clip(_clean(company.get(postal)), MAX_POSTAL_CODE),
    }
    if not (parts["Line1"] or parts["City"] or parts["PostalCode"]):
        return {}  # a state alone is no address
    return {key: value for key, value in parts.items() if value}


# XML 1.0 admits no C0 control character but tab, line feed and carriage return (nor DEL, which
# QBO's XML side is not known to keep): text carrying one cannot be a QBO document (docs/api-facts.md 2.11)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_characters(text: str) -> list[str]:
    """The control characters QBO cannot hold that ``text`` carries, each once, as ``\\x0b``."""
    return sorted({f"\\x{ord(c):02x}" for c in _CONTROL_CHARACTERS.findall(text)})


def without_control_characters(text: str) -> str:
    """``text`` without the control characters QBO cannot hold (tab and line breaks are kept)."""
    return _CONTROL_CHARACTERS.sub("", text)


def digits_past_qbo(value: Decimal, places: int | None = None) -> str:
    """Why QBO cannot hold ``value`` ("" when it can): more than MAX_AMOUNT_DIGITS digits before the
    decimal point, or (with ``places``) more decimals than QBO keeps."""
    if abs(value) >= Decimal(10) ** MAX_AMOUNT_DIGITS:
        return f"more than the {MAX_AMOUNT_DIGITS} digits before the decimal point QBO holds"
    exponent = value.normalize().as_tuple().exponent
    if places is not None and isinstance(exponent, int) and -exponent > places:
        return f"{-exponent} decimals, more than the {places} QBO keeps"
    return ""


def _clean(value: Any) -> str:
    """An address part as QBO takes it: text, stripped, without control characters."""
    return without_control_characters(as_text(value)).strip()


def as_text(value: Any) -> str:
    """A field as text; None is ""."""
    return "" if value is None else str(value)


def date_of(value: Any) -> date | None:
    """The calendar date of an Autotask date/datetime, as written (no time-zone shift)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def clip(text: str, limit: int, ellipsis: bool = False) -> str:
    """``text`` cut to ``limit`` characters; with ``ellipsis`` the cut is shown by "..." within the limit."""
    if len(text) <= limit:
        return text
    if not ellipsis:
        return text[:limit]
    return text[: limit - len(_ELLIPSIS)].rstrip() + _ELLIPSIS
