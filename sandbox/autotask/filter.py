"""The Autotask REST query grammar: parse a query body into a record predicate.

A query body is ``{"filter": [...], "MaxRecords": n, "IncludeFields": [...]}`` (keys matched
case-insensitively, as the real API's JSON binding does). A filter item is
``{"op", "field", "value", "udf"}``; a group is ``{"op": "and"|"or", "items": [...]}``; the
top-level list is ANDed. This module knows nothing about HTTP or storage: ``parse_query`` takes
the entity's field kinds and returns a ``Query`` whose ``matches(record)`` the emulator applies
to stored records (wire-shaped dicts).

Rules, with where they come from (see sandbox/README.md, "Autotask"):
- unknown field -> ``FilterError("Unable to find X in the Y Entity")`` (real wording, HTTP 500);
- unknown operator (e.g. ``ne``) -> the item is silently dropped, as the real API does;
- a boolean field takes only true/false (JSON booleans or the strings "true"/"false");
- values are typed by the field: numbers compare as numbers, date-times as UTC instants,
  strings case-insensitively (the real database collation is case-insensitive);
- a null field never satisfies a comparison (SQL semantics); ``exist``/``notExist`` test for
  null only: a stored empty string is a value (the real API's ``notExist`` does not match ``""``;
  whether a write of ``""`` is stored at all is the tenant's business, not the grammar's);
- a field the vendor documents as "cannot be queried" is refused in a filter; with ``strict``
  (a real-tenant profile) it is refused in ``IncludeFields`` too, and so is
  ``userDefinedFields``, which is the UDF collection's name rather than a field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

MAX_PAGE_SIZE = 500

# Field kinds the grammar types values by. The emulator maps each Autotask dataType onto one.
KIND_INTEGER = "integer"
KIND_DOUBLE = "double"
KIND_STRING = "string"
KIND_BOOLEAN = "boolean"
KIND_DATETIME = "datetime"

COMPARISON_OPS = {"eq", "noteq", "gt", "gte", "lt", "lte"}
STRING_OPS = {"beginswith", "endswith", "contains"}
PRESENCE_OPS = {"exist", "notexist"}
LIST_OPS = {"in", "notin"}
GROUP_OPS = {"and", "or"}
KNOWN_OPS = COMPARISON_OPS | STRING_OPS | PRESENCE_OPS | LIST_OPS | GROUP_OPS

Predicate = Callable[[Mapping[str, Any]], bool]


class FilterError(ValueError):
    """The query breaks a rule; the message is what the real API would put in ``errors``."""


@dataclass(frozen=True)
class EntityFields:
    """What the grammar needs to know about one entity's fields."""

    label: str  # singular entity name used in messages ("Company", "TimeEntry")
    kinds: Mapping[str, str]  # canonical field name -> kind
    not_queryable: frozenset[str] = frozenset()  # refused in filters, always
    # the vendor's "Fields that cannot be queried": refused in filters and IncludeFields when strict
    documented_not_queryable: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_lower", {name.lower(): name for name in self.kinds})

    def canonical(self, name: Any) -> str:
        """The field's real name, matched case-insensitively, or ``FilterError``."""
        known = self._by_lower.get(name.lower()) if isinstance(name, str) else None  # type: ignore[attr-defined]
        if known is None:
            raise FilterError(f"Unable to find {name} in the {self.label} Entity")
        return known


@dataclass(frozen=True)
class Query:
    matches: Predicate
    max_records: int  # page size: MaxRecords, default 500
    include_fields: tuple[str, ...] | None  # canonical names, ``id`` always first; None = all
    body: dict[str, Any]  # the body as sent, kept for cursors


def parse_query(body: Any, fields: EntityFields, require_filter: bool = True, strict: bool = False) -> Query:
    """Parse a query body; raise ``FilterError`` for anything the real API rejects (``strict``: also
    what the vendor's documentation says is refused, though no client has confirmed it)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise FilterError("The query must be a JSON object with a 'filter' array")
    keys = {str(k).lower(): k for k in body}
    raw_filter = body.get(keys["filter"]) if "filter" in keys else None
    if raw_filter is None:
        raw_filter = []
    if not isinstance(raw_filter, list):
        raise FilterError("'filter' must be an array of filter items")
    if require_filter and not raw_filter:
        raise FilterError("The query must contain at least one filter item in 'filter'")

    max_records = MAX_PAGE_SIZE
    if "maxrecords" in keys and body[keys["maxrecords"]] is not None:
        value = body[keys["maxrecords"]]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
            raise FilterError(f"MaxRecords must be an integer from 1 to {MAX_PAGE_SIZE}, got {value!r}")
        max_records = value

    include = None
    if "includefields" in keys and body[keys["includefields"]]:
        include = _include_fields(body[keys["includefields"]], fields, strict)

    predicates = [p for p in (_parse_item(item, fields, strict) for item in raw_filter) if p is not None]
    return Query(matches=_all_of(predicates), max_records=max_records, include_fields=include, body=body)


def _include_fields(raw: Any, fields: EntityFields, strict: bool) -> tuple[str, ...]:
    """``IncludeFields`` as canonical names, ``id`` first."""
    if not isinstance(raw, list):
        raise FilterError("'IncludeFields' must be an array of field names")
    names = ["id"]
    for name in raw:
        if isinstance(name, str) and name.lower() == "userdefinedfields":
            if strict:
                # The UDF collection is not a field; UDFs are included by their label.
                raise FilterError(f"Unable to find {name} in the {fields.label} Entity")
            canonical = "userDefinedFields"
        else:
            canonical = fields.canonical(name)
            if strict and canonical in fields.documented_not_queryable:
                raise FilterError(f"The field {canonical} in the {fields.label} Entity is not queryable")
        if canonical not in names:
            names.append(canonical)
    return tuple(names)


def _all_of(predicates: list[Predicate]) -> Predicate:
    if not predicates:
        return lambda record: True
    if len(predicates) == 1:
        return predicates[0]
    return lambda record: all(p(record) for p in predicates)


def _any_of(predicates: list[Predicate]) -> Predicate:
    if not predicates:
        # every item of the group was dropped (unknown operators): the group filters nothing
        return lambda record: True
    return lambda record: any(p(record) for p in predicates)


def _get(item: Mapping[str, Any], key: str) -> Any:
    for k, v in item.items():
        if str(k).lower() == key:
            return v
    return None


def _parse_item(item: Any, fields: EntityFields, strict: bool) -> Predicate | None:
    if not isinstance(item, dict):
        raise FilterError(f"A filter item must be an object with 'op' and 'field', got {item!r}")
    op = _get(item, "op")
    op_key = op.lower() if isinstance(op, str) else None
    if op_key not in KNOWN_OPS:
        return None  # the real API drops unknown operators without a word
    if op_key in GROUP_OPS:
        items = _get(item, "items")
        if not isinstance(items, list):
            raise FilterError(f"A '{op}' group needs an 'items' array")
        parsed = [p for p in (_parse_item(child, fields, strict) for child in items) if p is not None]
        return _all_of(parsed) if op_key == "and" else _any_of(parsed)

    operand = _operand(item, fields, strict)
    value = _get(item, "value")
    if op_key in PRESENCE_OPS:
        wants_value = op_key == "exist"
        return lambda record: _is_null(operand.get(record)) != wants_value
    if op_key in LIST_OPS:
        return _list_test(op, op_key, operand, value)
    if op_key in STRING_OPS:
        return _string_test(op, op_key, operand, value)
    return _comparison(op, op_key, operand, value)


@dataclass(frozen=True)
class _Operand:
    """What a filter item compares: a field (or UDF) of the entity, how to read it, its kind."""

    name: str
    kind: str
    get: Callable[[Mapping[str, Any]], Any]
    is_udf: bool
    label: str  # the entity's, for messages

    def coerce(self, value: Any) -> Any:
        return _coerce(value, self.kind, self.name, self.label, self.is_udf)


def _operand(item: Mapping[str, Any], fields: EntityFields, strict: bool) -> _Operand:
    raw_field = _get(item, "field")
    if _get(item, "udf") is True:
        if not isinstance(raw_field, str) or not raw_field:
            raise FilterError("A udf filter needs the user-defined field's name in 'field'")
        return _Operand(raw_field, KIND_STRING, _udf_getter(raw_field), True, fields.label)
    field_name = fields.canonical(raw_field)
    if field_name in fields.not_queryable or (strict and field_name in fields.documented_not_queryable):
        raise FilterError(f"The field {field_name} in the {fields.label} Entity is not queryable")
    return _Operand(field_name, fields.kinds[field_name], _field_getter(field_name), False, fields.label)


def _list_test(op: str, op_key: str, operand: _Operand, value: Any) -> Predicate:
    if not isinstance(value, list):
        raise FilterError(f"The '{op}' operator on {operand.name} needs an array value")
    wanted = [operand.coerce(v) for v in value]
    getter, kind, is_udf = operand.get, operand.kind, operand.is_udf
    if op_key == "in":
        return lambda record: _in(getter(record), wanted, kind, is_udf)
    return lambda record: not _is_null(getter(record)) and not _in(getter(record), wanted, kind, is_udf)


def _string_test(op: str, op_key: str, operand: _Operand, value: Any) -> Predicate:
    if value is None:
        raise FilterError(f"The '{op}' operator on {operand.name} needs a value")
    needle = str(value).lower()
    test = {
        "beginswith": lambda text: text.startswith(needle),
        "endswith": lambda text: text.endswith(needle),
        "contains": lambda text: needle in text,
    }[op_key]
    getter = operand.get
    return lambda record: not _is_null(getter(record)) and test(_as_text(getter(record)))


def _comparison(op: str, op_key: str, operand: _Operand, value: Any) -> Predicate:
    getter = operand.get
    if value is None:
        if op_key == "eq":
            return lambda record: _is_null(getter(record))
        if op_key == "noteq":
            return lambda record: not _is_null(getter(record))
        raise FilterError(f"The '{op}' operator on {operand.name} needs a value")
    target = operand.coerce(value)
    compare = _COMPARATORS[op_key]
    kind, is_udf = operand.kind, operand.is_udf

    def matches(record: Mapping[str, Any]) -> bool:
        current = _typed(getter(record), kind, is_udf, target)
        if current is None:
            return False
        return compare(current, target)

    return matches


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "noteq": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _field_getter(name: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda record: record.get(name)


def _udf_getter(name: str) -> Callable[[Mapping[str, Any]], Any]:
    lowered = name.lower()

    def get(record: Mapping[str, Any]) -> Any:
        for udf in record.get("userDefinedFields") or []:
            if isinstance(udf, dict) and str(udf.get("name", "")).lower() == lowered:
                return udf.get("value")
        return None

    return get


def _is_null(value: Any) -> bool:
    return value is None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def _in(current: Any, wanted: list[Any], kind: str, is_udf: bool) -> bool:
    if _is_null(current) or not wanted:
        return False
    return _typed(current, kind, is_udf, wanted[0]) in wanted


def _typed(value: Any, kind: str, is_udf: bool, target: Any) -> Any:
    """A stored value in the form its filter value was coerced to; None for null."""
    if _is_null(value):
        return None
    if is_udf:
        # UDF values are stored as text; compare as numbers when the filter value is a number
        if isinstance(target, float):
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
        return _as_text(value)
    if kind == KIND_STRING:
        return _as_text(value)
    if kind == KIND_DATETIME:
        return parse_datetime(value)
    if kind == KIND_INTEGER:
        return int(value)
    if kind == KIND_DOUBLE:
        return float(value)
    return value


def _coerce(value: Any, kind: str, field: str, label: str, is_udf: bool) -> Any:
    """A filter value in the field's type, or ``FilterError`` naming the field."""
    problem = f"Value {value!r} is not valid for the {kind} field {field} in the {label} Entity"
    if is_udf:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return float(value)
        if value is None:
            raise FilterError(problem)
        return str(value).lower()
    if kind in (KIND_BOOLEAN, KIND_INTEGER, KIND_DOUBLE):
        try:
            return coerce_scalar(value, kind)
        except ValueError:
            hint = ": a boolean filter takes true or false" if kind == KIND_BOOLEAN else ""
            raise FilterError(f"{problem}{hint}") from None
    if kind == KIND_DATETIME:
        try:
            return parse_datetime(value)
        except (TypeError, ValueError):
            raise FilterError(f"{problem}: use an ISO-8601 date or date-time") from None
    if isinstance(value, (dict, list)):
        raise FilterError(problem)
    return _as_text(value)


def coerce_scalar(value: Any, kind: str) -> Any:
    """``value`` as an Autotask boolean, integer or double, the way the API accepts it (numbers
    as JSON numbers or numeric strings, booleans as true/false); ``ValueError`` otherwise."""
    if kind == KIND_BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(f"not a boolean: {value!r}")
    if isinstance(value, bool):  # a bool is an int to Python, never a number to Autotask
        raise ValueError(f"not a number: {value!r}")
    if kind == KIND_INTEGER:
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            return int(value.strip())
        raise ValueError(f"not an integer: {value!r}")
    if kind == KIND_DOUBLE:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
        raise ValueError(f"not a number: {value!r}")
    raise ValueError(f"no scalar kind {kind!r}")


def parse_datetime(value: Any) -> datetime:
    """An ISO-8601 date or date-time as an aware UTC datetime; a naive one is taken as UTC."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    else:
        raise ValueError(f"not a date-time: {value!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
