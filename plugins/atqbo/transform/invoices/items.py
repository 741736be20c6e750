"""QBO items for Autotask billing codes: which item a billing code becomes (INV-06, by the
``item_match_field`` setting), the generic and tax items (INV-22, INV-18), and the item created
when one is missing (INV-07). Also used by the item tools."""

from __future__ import annotations

from typing import Any

from atqbo.money import as_decimal, json_number
from atqbo.settings import Settings
from atqbo.transform.values import MAX_ITEM_DESCRIPTION, MAX_ITEM_NAME, MAX_ITEM_SKU, as_text, clip, qbo_name

# The generic item for lines without a billing code (INV-22) when default_item_name is not set.
GENERIC_ITEM_NAME = "Autotask Services"
# The item that carries Autotask's tax when QBO does not calculate tax itself (no AST).
TAX_ITEM_NAME = "Autotask Sales Tax"


def generic_item_name(settings: Settings) -> str:
    """INV-22: the item for lines without a billing code (or without a key)."""
    return qbo_name(settings.default_item_name or GENERIC_ITEM_NAME, MAX_ITEM_NAME)


def item_key_for_billing_code(code: dict[str, Any], settings: Settings) -> str:
    """INV-06: the QBO item name a billing code matches, by ``item_match_field``; "" when blank."""
    name = as_text(code.get("name")).strip()
    external = as_text(code.get("externalNumber")).strip()
    if settings.item_match_field == "name":
        key = name
    elif settings.item_match_field == "external_number":
        key = external
    else:
        key = external or name
    return qbo_name(key, MAX_ITEM_NAME)


def item_payload(
    item_key: str,
    billing_code: dict[str, Any] | None,
    income_account_id: str,
    settings: Settings,
    taxable: bool | None = None,
) -> dict[str, Any]:
    """The QBO Item (Service) to create for a missing item (INV-07, INV-22). ``taxable``: its
    ``Taxable`` flag, which QBO's automated sales tax goes by (TAX-04); None leaves it to QBO."""
    payload: dict[str, Any] = {
        "Name": qbo_name(item_key, MAX_ITEM_NAME),
        "Type": "Service",
        "IncomeAccountRef": {"value": str(income_account_id)},
    }
    if taxable is not None:
        payload["Taxable"] = taxable
    if billing_code is None:
        payload["Description"] = (
            "Sales tax calculated by Autotask"
            if item_key == TAX_ITEM_NAME
            else "Autotask billing items without a billing code"
        )
        return payload
    description = as_text(billing_code.get("description")).strip() or as_text(billing_code.get("name")).strip()
    if description:
        payload["Description"] = clip(description, MAX_ITEM_DESCRIPTION, ellipsis=True)
    if billing_code.get("unitPrice") is not None:
        payload["UnitPrice"] = json_number(as_decimal(billing_code["unitPrice"]))
    sku = as_text(billing_code.get("externalNumber")).strip()
    if sku:
        payload["Sku"] = clip(sku, MAX_ITEM_SKU)
    return payload
