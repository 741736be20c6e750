"""Values as QBO reads and writes them: money and quantities (Decimal in, JSON numbers out), dates,
references, the clean-up of empty properties a client sends, and the order of Ids.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sandbox.qbo.faults import invalid_property
from sandbox.qbo.schema import NAME_LISTS

CENT = Decimal("0.01")


def dec(value: Any, element: str) -> Decimal:
    """A money/quantity value as Decimal; numbers and numeric strings are accepted, like Jackson does."""
    if isinstance(value, bool):
        raise invalid_property(f"{element} specified is unsupported or invalid", element)
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise invalid_property(
            f"Can not construct instance of java.math.BigDecimal from String value '{value}'", element
        ) from None


def money(value: Decimal) -> float:
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def number_out(value: Decimal) -> float | int:
    """A quantity/price as QBO prints it: integers without a fraction."""
    return int(value) if value == value.to_integral_value() else float(value)


def clean(value: Any) -> Any:
    """Drop nulls, empty strings, empty objects and empty lists inside objects, recursively.

    python-quickbooks sends every attribute it has (``"DueDate": ""``, ``"name": ""``...); the
    real service treats those as absent, and answers only with properties that have values.
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = clean(v)
            if v is None or v == "" or v == {} or v == []:
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [clean(v) for v in value if v is not None]
    return value


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Objects merge key by key; anything else (lists included) is replaced."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_date(value: Any, element: str) -> str:
    """A yyyy-MM-dd date (a date-time is cut to its date)."""
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise invalid_property(
            f'Can not deserialize value of type java.util.Date from String "{text}": not a valid date', element
        ) from None


def id_key(value: Any) -> tuple[int, Any]:
    text = str(value)
    return (0, int(text)) if text.isdigit() else (1, text)


def ref_value(ref: Any) -> str | None:
    if isinstance(ref, dict) and ref.get("value") not in (None, ""):
        return str(ref["value"])
    return None


def display_name(entity: str, record: dict[str, Any]) -> str:
    if entity in NAME_LISTS:
        return record.get("DisplayName", "")
    if entity in ("Account", "Class", "Item"):
        return record.get("FullyQualifiedName") or record.get("Name", "")
    return record.get("Name") or record.get("DisplayName") or record.get("Code", "")
