"""The QBO customer created for an Autotask company (INV-05), in the company's currency (CUR-01)
and, for a tax-exempt company of a US company, not taxable (TAX-04)."""

from __future__ import annotations

import re
from typing import Any

from atqbo.settings import Settings
from atqbo.transform.invoices.header import invoice_email
from atqbo.transform.values import (
    MAX_COMPANY_NAME,
    MAX_NOTES,
    MAX_PHONE,
    as_text,
    bill_to_address,
    clip,
    company_address,
)


def customer_payload(
    company: dict[str, Any],
    display_name: str,
    settings: Settings,
    currency: str | None = None,
    non_taxable: bool = False,
) -> dict[str, Any]:
    """The QBO Customer to create for an Autotask company (INV-05).

    BillAddr is the company's bill-to address when Autotask has one (then ShipAddr is the company
    address), else the company address. ``currency``: its CurrencyRef (multi-currency on: a
    customer's currency cannot change once it has transactions). ``non_taxable``: ``Taxable`` false
    (Autotask gives no exemption reason, so none is sent: QBO leaves it to pick in the customer).
    """
    payload: dict[str, Any] = {
        "DisplayName": display_name,
        "CompanyName": clip(re.sub(r"\s+", " ", as_text(company.get("companyName"))).strip(), MAX_COMPANY_NAME),
        "Notes": clip(f"Autotask company {company.get('id')}", MAX_NOTES),
    }
    physical, bill_to = company_address(company), bill_to_address(company)
    if bill_to:
        payload["BillAddr"] = bill_to
        if physical:
            payload["ShipAddr"] = physical
    elif physical:
        payload["BillAddr"] = physical
    phone = as_text(company.get("phone")).strip()
    if phone:
        payload["PrimaryPhone"] = {"FreeFormNumber": clip(phone, MAX_PHONE)}
    email = invoice_email(company, f"Autotask company {company.get('id')}", [])
    if email:
        payload["PrimaryEmailAddr"] = {"Address": email}
    if currency:
        payload["CurrencyRef"] = {"value": currency}
    if non_taxable:
        payload["Taxable"] = False
    return payload
