"""The QuickBooks Online query language, run: check a parsed ``Query`` against the entities'
properties (4001 "Invalid query" for an unknown entity or property, or a MAXRESULTS over 1000)
and evaluate it over plain records (the JSON dicts the API returns).

Comparison follows the value's type: numbers numerically, date-times as instants (see
``sandbox.qbo.times``), booleans as booleans, strings case-insensitively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.qbo.query_parser import Condition, Query, QueryError
from sandbox.qbo.times import DATETIME_RE, parse_datetime

MAX_MAX_RESULTS = 1000

# Properties that exist but cannot be filtered or sorted on (the real service says
# "property 'X' is not queryable" for these).
NOT_QUERYABLE = {"Line", "CustomField", "LinkedTxn", "TxnTaxDetail", "MetaData", "AttachableRef"}


def _validation_error(detail: str) -> QueryError:
    return QueryError("4001", "Invalid query", f"QueryValidationError: {detail}")


def check_query(query: Query, properties: Mapping[str, Iterable[str]]) -> None:
    """Check the entity and every property against ``properties`` (entity -> property names).

    A dotted path (``MetaData.LastUpdatedTime``, ``CustomerRef.value``, ``BillAddr.City``) is
    accepted when its first part is a property of the entity. Raises ``QueryError`` (4001).
    """
    if query.entity not in properties:
        raise _validation_error(f"Invalid entity name: {query.entity}")
    known = set(properties[query.entity])
    used = [c.path for c in query.conditions] + [p for p, _ in query.order]
    for path in used:
        head = path.split(".", 1)[0]
        if head not in known:
            raise _validation_error(f"property '{path}' is not queryable")
        if path in NOT_QUERYABLE:
            raise _validation_error(f"property '{path}' is not queryable")
    for path in query.fields or []:
        if path.split(".", 1)[0] not in known:
            raise _validation_error(f"property '{path}' is not queryable")
    if query.max_results > MAX_MAX_RESULTS:
        raise _validation_error(f"value {query.max_results} is too large. Max allowed value is {MAX_MAX_RESULTS}.")
    if query.max_results < 1:
        raise _validation_error(f"value {query.max_results} is too small. Min allowed value is 1.")


# -- evaluation --------------------------------------------------------------------------------

# When a path ends on an object, the scalar inside that QBO filters on.
_SCALAR_KEYS = ("value", "Address", "URI", "FreeFormNumber")


def resolve(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or None; a reference compares by its ``value``."""
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    if isinstance(current, Mapping):
        for key in _SCALAR_KEYS:
            if key in current:
                return current[key]
        return None
    return current


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Bring a record value and a query value to one comparable type, or None if impossible."""
    if isinstance(left, bool) or isinstance(right, bool):
        lb = _as_bool(left)
        rb = _as_bool(right)
        return (lb, rb) if lb is not None and rb is not None else None
    ln, rn = _as_number(left), _as_number(right)
    if ln is not None and rn is not None:
        return ln, rn
    if isinstance(left, str) and isinstance(right, str):
        if DATETIME_RE.match(left) or DATETIME_RE.match(right):
            ld, rd = parse_datetime(left), parse_datetime(right)
            if ld is not None and rd is not None:
                return ld, rd
        return left.casefold(), right.casefold()
    return str(left).casefold(), str(right).casefold()


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _like(pattern: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in pattern.split("%")]
    return re.compile(".*".join(parts), re.IGNORECASE | re.DOTALL)


def matches(record: Mapping[str, Any], cond: Condition) -> bool:
    actual = resolve(record, cond.path)
    if actual is None:
        return False
    if cond.op == "like":
        return _like(str(cond.values[0])).fullmatch(str(actual)) is not None
    if cond.op == "in":
        return any(_compare(actual, "=", v) for v in cond.values)
    return _compare(actual, cond.op, cond.values[0])


def _compare(actual: Any, op: str, wanted: Any) -> bool:
    pair = _comparable(actual, wanted)
    if pair is None:
        return False
    left, right = pair
    try:
        if op == "=":
            return left == right
        if op == "<":
            return left < right
        if op == ">":
            return left > right
        if op == "<=":
            return left <= right
        if op == ">=":
            return left >= right
    except TypeError:
        return False
    raise ValueError(f"unknown operator {op}")


def _sort_key(value: Any) -> tuple[int, Any]:
    """Order numbers numerically, date-times by instant, strings case-insensitively; missing last."""
    if value is None:
        return (3, "")
    number = _as_number(value)
    if number is not None:
        return (0, number)
    if isinstance(value, str) and DATETIME_RE.match(value):
        parsed = parse_datetime(value)
        if parsed is not None:
            return (1, parsed.timestamp())
    return (2, str(value).casefold())


def _id_key(record: Mapping[str, Any]) -> tuple[int, Any]:
    return _sort_key(record.get("Id"))


def run_query(query: Query, records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Evaluate ``query`` over ``records``; return the body of ``QueryResponse``.

    Rows come in Id order unless ORDERBY says otherwise. ``maxResults`` in the answer is the
    number of rows returned, as the real service reports it; no rows gives ``{}``.
    """
    rows = [r for r in records if all(matches(r, c) for c in query.conditions)]
    if query.count:
        return {"totalCount": len(rows)}
    rows.sort(key=_id_key)
    for path, descending in reversed(query.order):
        present = [r for r in rows if resolve(r, path) is not None]
        missing = [r for r in rows if resolve(r, path) is None]
        present.sort(key=lambda r: _sort_key(resolve(r, path)), reverse=descending)
        rows = present + missing
    start = max(query.start_position, 1)
    page = rows[start - 1 : start - 1 + query.max_results]
    if not page:
        return {}
    if query.fields is not None:
        page = [_project(r, query.fields) for r in page]
    return {query.entity: page, "startPosition": start, "maxResults": len(page)}


def _project(record: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": record.get("Id")}
    for path in fields:
        head = path.split(".", 1)[0]
        if head in record:
            out[head] = record[head]
    return out
