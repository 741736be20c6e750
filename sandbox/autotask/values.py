"""Values as the Autotask API stores and returns them: a written field value in its wire form
(or the ``WriteError`` naming the field), UDFs merged by name, references and picklist values
checked, a blank record, and date-times as ISO-8601 UTC with ``Z``.

A string written as ``""`` is stored as null, unless the tenant keeps empty strings
(``keep_empty``, the ``keep_empty_strings`` setting): the real API does not document which, and a
real tenant's ``notExist`` filter does not match ``""`` (docs/api-facts.md 5.4).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sandbox.autotask.filter import KIND_BOOLEAN, KIND_DOUBLE, KIND_INTEGER, coerce_scalar, parse_datetime
from sandbox.autotask.schema import DATA_TYPE_KINDS, PAYMENT_TERM_PICKLIST, EntitySpec, FieldSpec


class WriteError(Exception):
    """A write (or seeded record) breaks a rule; the message goes into ``errors``."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_datetime(dt: datetime) -> str:
    dt = dt.astimezone(UTC)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def stored_value(field: FieldSpec, value: Any, spec: EntitySpec, keep_empty: bool = False) -> Any:
    """A written value in its stored (wire) form, or ``WriteError`` naming the field."""
    if value is None:
        return None
    bad = f"Value {value!r} is not valid for {field.name} ({field.data_type}) in the {spec.label} Entity"
    kind = field.data_type
    if kind == "string":
        if isinstance(value, (dict, list, bool)):
            raise WriteError(bad)
        text = str(value)
        if field.length and len(text) > field.length:
            raise WriteError(f"{field.name} in the {spec.label} Entity is longer than {field.length} characters")
        return text if text != "" or keep_empty else None
    scalar = DATA_TYPE_KINDS.get(kind)
    if scalar in (KIND_INTEGER, KIND_DOUBLE, KIND_BOOLEAN):
        try:
            return coerce_scalar(value, scalar)
        except ValueError:
            raise WriteError(bad) from None
    if kind == "dateTime":
        if not isinstance(value, str):
            raise WriteError(bad)
        if field.date_only:
            # The date as written, whatever the time and offset: the time part is ignored.
            try:
                parse_datetime(value)
                day = date.fromisoformat(value.strip()[:10])
            except ValueError:
                raise WriteError(f"{bad}: use an ISO-8601 date such as 2024-06-03") from None
            return f"{day.isoformat()}T00:00:00Z"
        try:
            return format_datetime(parse_datetime(value))
        except ValueError:
            raise WriteError(f"{bad}: use an ISO-8601 date-time such as 2024-05-31T22:14:05Z") from None
    raise WriteError(bad)


def merge_udfs(
    current: list[dict[str, Any]], value: Any, spec: EntitySpec, keep_empty: bool = False
) -> list[dict[str, Any]]:
    """userDefinedFields written as [{name, value}], merged into the record's by name (as text)."""
    if not isinstance(value, list):
        raise WriteError(f"userDefinedFields of a {spec.label} must be a list of {{name, value}} objects")
    merged = [dict(u) for u in current]
    for udf in value:
        if not isinstance(udf, dict) or not isinstance(udf.get("name"), str) or not udf["name"].strip():
            raise WriteError(f"each userDefinedFields entry of a {spec.label} needs a name, got {udf!r}")
        raw = udf.get("value")
        text = raw if isinstance(raw, str) else (None if raw is None else json.dumps(raw))
        if text == "" and not keep_empty:
            text = None
        for existing in merged:
            if existing["name"].lower() == udf["name"].lower():
                existing["value"] = text
                break
        else:
            merged.append({"name": udf["name"], "value": text})
    return merged


def check_values(
    spec: EntitySpec,
    record: dict[str, Any],
    exists: Callable[[str, int], bool],
    picklist: Callable[[str], list[dict[str, Any]]],
) -> None:
    """References must exist and picklist values must be listed (``picklist``: the tenant's values
    of a fixed picklist, ``Tenant.picklist``). An inactive value is still a listed one."""
    for field in spec.fields.values():
        value = record.get(field.name)
        if value is None:
            continue
        if field.reference and not exists(field.reference, value):
            raise WriteError(f"Value does not reference an existing entity for {field.name} . ")
        if field.picklist == PAYMENT_TERM_PICKLIST:
            if not exists("PaymentTerms", value):
                raise WriteError(f"Value {value} is not a valid picklist value for {field.name} (no such PaymentTerm)")
        elif field.picklist and value not in {v["value"] for v in picklist(field.picklist)}:
            raise WriteError(f"Value {value} is not a valid picklist value for {field.name}")


def blank_record(spec: EntitySpec) -> dict[str, Any]:
    record: dict[str, Any] = dict.fromkeys(spec.fields)
    record["userDefinedFields"] = []
    return record
