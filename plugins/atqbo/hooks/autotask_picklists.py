"""Autotask picklists read from ``entityInformation/fields``: labels to the stored values, never hard-coded numbers.

A picklist's values differ between tenants (and an admin may add or retire some), so atqbo looks
labels up at run time. These functions read an entity's field list; the hook fetches and caches it.
"""

from __future__ import annotations

from typing import Any

from atqbo.hooks.autotask_errors import AutotaskPicklistError

_INTEGER_TYPES = ("integer", "int", "short", "long", "byte")


def picklist_field(fields: list[dict[str, Any]], entity: str, field: str) -> dict[str, Any]:
    """The field info of picklist ``field`` (case-insensitive); the error lists the picklists there are."""
    for info in fields:
        if str(info.get("name", "")).lower() == field.lower():
            if not info.get("isPickList"):
                raise AutotaskPicklistError(f"Autotask {entity}.{info['name']} is not a picklist field", entity=entity)
            return info
    picklists = sorted(str(f.get("name")) for f in fields if f.get("isPickList"))
    raise AutotaskPicklistError(
        f"Autotask {entity} has no field {field!r}; its picklist fields are {picklists}", entity=entity
    )


def picklist_labels(info: dict[str, Any]) -> dict[str, str]:
    """``{value (string, as Autotask sends it): label}`` of a picklist field, inactive values included."""
    return {str(v.get("value")): str(v.get("label")) for v in info.get("picklistValues") or []}


def picklist_value_of(info: dict[str, Any], entity: str, label: str) -> int | str:
    """The stored value of ``label`` (case-insensitive) in picklist field ``info``.

    Active values win over inactive ones with the same label. The value is an int for integer fields.
    """
    values = info.get("picklistValues") or []
    wanted = label.strip().lower()
    matches = [v for v in values if str(v.get("label", "")).strip().lower() == wanted]
    if not matches:
        labels = [str(v.get("label")) for v in values if v.get("isActive", True)]
        raise AutotaskPicklistError(
            f"Autotask {entity}.{info.get('name')} has no picklist label {label!r}; valid labels: {labels}",
            entity=entity,
        )
    matches.sort(key=lambda v: not v.get("isActive", True))
    value = str(matches[0].get("value"))
    data_type = str(info.get("dataType") or "").lower()
    numeric = data_type in _INTEGER_TYPES if data_type else value.lstrip("-").isdigit()
    if numeric:
        try:
            return int(value)
        except ValueError:
            return value
    return value
