"""How Autotask values become QBO values: text, names and addresses within QBO's field limits,
and Autotask's dates. Shared by the invoice and purchase order transforms; no I/O.

The limits are QBO's (docs/api-facts.md 2.11); this is the one place they live for the transforms.
"""

from __future__ import annotations

import re
from datetime import date, datetime
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


_ELLIPSIS = "..."  # ASCII, so a byte-counting limit cannot be exceeded by the ellipsis itself


def qbo_name(text: str, limit: int) -> str:
    """A name QBO accepts (INV-05): no ':' (QBO's sub-record separator), one line, single spaces, cut."""
    cleaned = re.sub(r"\s+", " ", as_text(text).replace(":", "-")).strip()
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
        "Line1": clip(as_text(company.get(line1)).strip(), MAX_ADDRESS_LINE),
        "Line2": clip(as_text(company.get(line2)).strip(), MAX_ADDRESS_LINE),
        "City": clip(as_text(company.get(city)).strip(), MAX_CITY),
        "CountrySubDivisionCode": as_text(company.get(state)).strip(),
        "PostalCode": clip(as_text(company.get(postal)).strip(), MAX_POSTAL_CODE),
    }
    if not (parts["Line1"] or parts["City"] or parts["PostalCode"]):
        return {}  # a state alone is no address
    return {key: value for key, value in parts.items() if value}


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
