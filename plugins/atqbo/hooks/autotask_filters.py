"""Autotask's query filters: the builders, the check that refuses what Autotask would misread,
and how Python values are written for Autotask (in filters and in request bodies).

Each builder returns the plain dict Autotask expects, so raw dicts and built ones mix freely.
:func:`normalize_filters` is the one gate every query passes: Autotask silently *ignores* an
unknown operator and returns unfiltered data, which for a sync means touching every record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

OPERATORS_WITH_VALUE = {
    "eq",
    "noteq",
    "gt",
    "gte",
    "lt",
    "lte",
    "beginswith",
    "endswith",
    "contains",
    "in",
    "notin",
}
OPERATORS_WITHOUT_VALUE = {"exist", "notexist"}
GROUP_OPERATORS = {"and", "or"}
# Autotask's own spelling of each operator, keyed by the lower-case form.
_OPERATOR_SPELLING = {
    "eq": "eq",
    "noteq": "noteq",
    "gt": "gt",
    "gte": "gte",
    "lt": "lt",
    "lte": "lte",
    "beginswith": "beginsWith",
    "endswith": "endsWith",
    "contains": "contains",
    "in": "in",
    "notin": "notIn",
    "exist": "exist",
    "notexist": "notExist",
    "and": "and",
    "or": "or",
}

# One item of Autotask's filter array: {"op", "field", "value"?, "udf"?} or a group {"op": "and"|"or", "items"}.
Filter = dict[str, Any]


def _condition(op: str, field: str, value: Any = None, udf: bool = False, *, has_value: bool = True) -> Filter:
    item: Filter = {"op": op, "field": field}
    if has_value:
        item["value"] = _filter_value(value)
    if udf:
        item["udf"] = True
    return item


def eq(field: str, value: Any, udf: bool = False) -> Filter:
    return _condition("eq", field, value, udf)


def noteq(field: str, value: Any, udf: bool = False) -> Filter:
    return _condition("noteq", field, value, udf)


def gt(field: str, value: Any, udf: bool = False) -> Filter:
    return _condition("gt", field, value, udf)


def gte(field: str, value: Any, udf: bool = False) -> Filter:
    return _condition("gte", field, value, udf)


def lt(field: str, value: Any, udf: bool = False) -> Filter:
    return _condition("lt", field, value, udf)


def lte(field: str, value: Any, udf: bool = False) -> Filter:
    return _condition("lte", field, value, udf)


def begins_with(field: str, value: str, udf: bool = False) -> Filter:
    return _condition("beginsWith", field, value, udf)


def ends_with(field: str, value: str, udf: bool = False) -> Filter:
    return _condition("endsWith", field, value, udf)


def contains(field: str, value: str, udf: bool = False) -> Filter:
    return _condition("contains", field, value, udf)


def in_(field: str, values: Iterable[Any], udf: bool = False) -> Filter:
    return _condition("in", field, list(values), udf)


def not_in(field: str, values: Iterable[Any], udf: bool = False) -> Filter:
    return _condition("notIn", field, list(values), udf)


def exist(field: str, udf: bool = False) -> Filter:
    return _condition("exist", field, udf=udf, has_value=False)


def not_exist(field: str, udf: bool = False) -> Filter:
    return _condition("notExist", field, udf=udf, has_value=False)


def and_(*items: Filter) -> Filter:
    return {"op": "and", "items": list(items)}


def or_(*items: Filter) -> Filter:
    return {"op": "or", "items": list(items)}


def _filter_value(value: Any) -> Any:
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_filter_value(v) for v in value]
    return _json_scalar(value)


def _json_scalar(value: Any) -> Any:
    """Autotask reads datetimes as ISO-8601 UTC; dates as plain ISO dates."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _json_default(value: Any) -> Any:
    converted = _json_scalar(value)
    if converted is value:
        raise TypeError(f"cannot send {type(value).__name__} to Autotask: {value!r}")
    return converted


def normalize_filters(filters: Filter | Iterable[Filter] | None) -> list[Filter]:
    """Check a filter (one item or a list, ANDed) and return it as Autotask's ``filter`` array.

    Autotask silently *ignores* an unknown operator (``ne`` instead of ``noteq``) and returns
    unfiltered data, which for a sync means touching every record; so the hook refuses one here.
    With no filter at all, ``id gte 0`` selects everything (Autotask requires a filter).
    """
    if filters is None:
        return [gte("id", 0)]
    items = [filters] if isinstance(filters, dict) else list(filters)
    if not items:
        return [gte("id", 0)]
    return [_normalize_filter_item(item, f"filter[{i}]") for i, item in enumerate(items)]


def _normalize_filter_item(item: Any, where: str) -> Filter:
    if not isinstance(item, dict):
        raise ValueError(
            f"Autotask {where} must be a dict like {{'op': 'eq', 'field': ..., 'value': ...}}, got {item!r}"
        )
    keys = {k.lower(): k for k in item}
    op_raw = item.get(keys.get("op", "op"))
    op = str(op_raw or "").lower()
    if op not in _OPERATOR_SPELLING:
        raise ValueError(
            f"Autotask {where}: unknown operator {op_raw!r} (Autotask would silently ignore it and return "
            f"unfiltered data); use one of {sorted(set(_OPERATOR_SPELLING.values()))}"
        )
    if op in GROUP_OPERATORS:
        children = item.get(keys.get("items", "items"))
        if not isinstance(children, (list, tuple)) or not children:
            raise ValueError(f"Autotask {where}: an '{op}' group needs a non-empty 'items' list")
        return {
            "op": op,
            "items": [_normalize_filter_item(child, f"{where}.items[{i}]") for i, child in enumerate(children)],
        }
    field = item.get(keys.get("field", "field"))
    if not isinstance(field, str) or not field:
        raise ValueError(f"Autotask {where}: operator '{op}' needs a 'field' name")
    out: Filter = {"op": _OPERATOR_SPELLING[op], "field": field}
    if op in OPERATORS_WITH_VALUE:
        if "value" not in keys:
            raise ValueError(f"Autotask {where}: operator '{op}' on {field!r} needs a 'value'")
        value = _filter_value(item[keys["value"]])
        if op in ("in", "notin"):
            if not isinstance(value, list) or (op == "in" and not value):
                raise ValueError(f"Autotask {where}: '{op}' on {field!r} needs a non-empty list of values")
        elif value is None:
            raise ValueError(
                f"Autotask {where}: {field!r} {op} None is not a valid Autotask filter; use exist()/not_exist()"
            )
        out["value"] = value
    udf = item.get(keys.get("udf", "udf"))
    if udf:
        out["udf"] = True
    return out


def body_json(body: Any) -> str:
    """A request body as the JSON Autotask reads (datetimes as ISO-8601 UTC, dates as ISO dates)."""
    return json.dumps(body, default=_json_default)
