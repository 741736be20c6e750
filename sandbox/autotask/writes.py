"""Autotask writes: create (``POST {Entity}``), update (``PATCH``/``PUT {Entity}`` with the id in
the body), and children written through their parent (``Companies/{id}/ToDos``,
``PurchaseOrders/{id}/Items``), with the real API's rules and status codes: every refusal is
HTTP 500 ``{"errors": [message]}`` naming the field and the entity. A record the caller may not
see (line-of-business security) cannot be updated: it is "not found", as for the real API. A
caller whose security level denies creating or updating the entity (the child entity, for a write
through the parent) gets the real permission error instead.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.autotask.access import EVERYTHING, Caller
from sandbox.autotask.entities import DEFAULT_ACTIVE
from sandbox.autotask.responses import body_object, errors_response, no_resource, not_allowed, parse_id
from sandbox.autotask.rules import check_write
from sandbox.autotask.schema import EntitySpec
from sandbox.autotask.tenant import API_RESOURCE_ID, Tenant
from sandbox.autotask.values import (
    WriteError,
    blank_record,
    check_values,
    format_datetime,
    merge_udfs,
    stored_value,
    utcnow,
)
from sandbox.core import Request, Response


def write_entity_root(tenant: Tenant, req: Request, spec: EntitySpec, caller: Caller = EVERYTHING) -> Response:
    if req.method == "POST" and spec.can_create and spec.parent is None:
        caller.require("create", spec)
        return create_record(tenant, spec, body_object(req))
    if req.method in ("PATCH", "PUT") and spec.can_update and spec.parent is None:
        caller.require("update", spec)
        return update_record(tenant, spec, body_object(req), full=req.method == "PUT", caller=caller)
    return not_allowed(req.method)


def write_child(
    tenant: Tenant,
    req: Request,
    parent: EntitySpec,
    raw_parent_id: str,
    child: EntitySpec,
    raw_id: str | None,
    caller: Caller = EVERYTHING,
) -> Response:
    parent_id = parse_id(raw_parent_id)
    if parent_id is None:
        return no_resource(req)
    if raw_id is not None:
        if req.method == "DELETE" and child.can_delete_via_parent:
            return delete_child(tenant, child, parent_id, raw_id)
        return not_allowed(req.method)
    if req.method == "POST":
        caller.require("create", child)
        return create_record(tenant, child, body_object(req), parent_id=parent_id)
    if req.method in ("PATCH", "PUT"):
        caller.require("update", child)
        return update_record(
            tenant, child, body_object(req), full=req.method == "PUT", parent_id=parent_id, caller=caller
        )
    return not_allowed(req.method)


def create_record(tenant: Tenant, spec: EntitySpec, body: dict[str, Any], parent_id: int | None = None) -> Response:
    """Create a record (of a child entity: under ``parent_id``); ``{"itemId": id}``."""
    try:
        with tenant.lock:
            record = _record_from_create_body(spec, body, tenant.settings["keep_empty_strings"])
            if spec.parent is not None:
                _attach_to_parent(tenant, spec, record, parent_id)
            _apply_create_defaults(spec, record, body)
            for field in spec.fields.values():
                if field.required and record.get(field.name) is None:
                    raise WriteError(f"Missing required field {field.name} for the {spec.label} Entity")
            check_values(spec, record, tenant.exists, tenant.picklist)
            check_write(tenant.tables, spec, record, None)
            record["id"] = tenant.allocate_id()
            tenant.tables[spec.name][record["id"]] = record
            return Response.json(200, {"itemId": record["id"]})
    except WriteError as exc:
        return errors_response(500, str(exc))


def _record_from_create_body(spec: EntitySpec, body: dict[str, Any], keep_empty: bool) -> dict[str, Any]:
    """A blank record with the body's fields in their stored form; no id, no read-only values
    (except a child's parent id, which must match the URL)."""
    record = blank_record(spec)
    for key, value in body.items():
        if key.lower() == "userdefinedfields":
            record["userDefinedFields"] = merge_udfs([], value, spec, keep_empty)
            continue
        field = spec.field(key)
        if field is None:
            raise WriteError(f"Unable to find {key} in the {spec.label} Entity")
        if field.name == "id":
            if value not in (None, 0):
                raise WriteError(f"id must not be set when creating a {spec.label}; the API assigns it")
            continue
        normalized = stored_value(field, value, spec, keep_empty)
        if field.read_only and not (spec.parent and field.name == spec.parent[2]):
            if normalized is not None:
                raise WriteError(f"The field {field.name} in the {spec.label} Entity is read-only and cannot be set")
            continue
        record[field.name] = normalized
    return record


def _attach_to_parent(tenant: Tenant, spec: EntitySpec, record: dict[str, Any], parent_id: int | None) -> None:
    assert spec.parent is not None
    parent_field = spec.parent[2]
    if record.get(parent_field) not in (None, parent_id):
        raise WriteError(f"{parent_field} {record[parent_field]} does not match the parent id {parent_id} in the URL")
    if parent_id not in tenant.tables[spec.parent[0]]:
        raise WriteError(f"Value does not reference an existing entity for {parent_field} . ")
    record[parent_field] = parent_id


def update_record(
    tenant: Tenant,
    spec: EntitySpec,
    body: dict[str, Any],
    full: bool,
    parent_id: int | None = None,
    caller: Caller = EVERYTHING,
) -> Response:
    """Update the record whose id the body holds; ``full`` (PUT) sets writable fields left out to null."""
    raw_id = next((v for k, v in body.items() if k.lower() == "id"), None)
    item_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else parse_id(str(raw_id or ""))
    if item_id is None:
        return errors_response(500, f"An update of a {spec.label} needs the record's id in the body")
    try:
        with tenant.lock:
            stored = tenant.tables[spec.name].get(item_id)
            if (
                stored is None
                or (spec.parent and stored.get(spec.parent[2]) != parent_id)
                or not caller.can_see(spec, stored)
            ):
                raise WriteError(
                    f"No matching records found for {spec.label} id {item_id}. "
                    "The logged in Resource may not have the required permissions to update the data."
                )
            updated = _record_from_update_body(spec, stored, body, full, tenant.settings["keep_empty_strings"])
            for field in spec.fields.values():
                if field.required and not field.read_only and updated.get(field.name) is None:
                    raise WriteError(f"Missing required field {field.name} for the {spec.label} Entity")
            check_values(spec, updated, tenant.exists, tenant.picklist)
            check_write(tenant.tables, spec, updated, stored)
            _apply_update_effects(spec, updated, stored)
            tenant.tables[spec.name][item_id] = updated
            return Response.json(200, {"itemId": item_id})
    except WriteError as exc:
        return errors_response(500, str(exc))


def _record_from_update_body(
    spec: EntitySpec, stored: dict[str, Any], body: dict[str, Any], full: bool, keep_empty: bool
) -> dict[str, Any]:
    """The stored record with the body's fields applied (read-only ones may only repeat the stored value)."""
    updated = copy.deepcopy(stored)
    touched: set[str] = set()
    for key, value in body.items():
        if key.lower() == "userdefinedfields":
            updated["userDefinedFields"] = merge_udfs(updated["userDefinedFields"], value, spec, keep_empty)
            continue
        field = spec.field(key)
        if field is None:
            raise WriteError(f"Unable to find {key} in the {spec.label} Entity")
        if field.name == "id":
            continue
        normalized = stored_value(field, value, spec, keep_empty)
        if field.read_only:
            # Sending a read-only field back unchanged (GET, modify, PUT) is fine;
            # changing it is what the real API rejects.
            if normalized != stored.get(field.name):
                raise WriteError(
                    f"The field {field.name} in the {spec.label} Entity is read-only and cannot be updated"
                )
            continue
        updated[field.name] = normalized
        touched.add(field.name)
    if full:
        for field in spec.fields.values():
            if not field.read_only and field.name not in touched and field.name != "id":
                updated[field.name] = None
    return updated


def delete_child(tenant: Tenant, spec: EntitySpec, parent_id: int, raw_id: str) -> Response:
    """``DELETE {Parent}/{id}/{Child}/{childId}``."""
    item_id = parse_id(raw_id)
    with tenant.lock:
        stored = tenant.tables[spec.name].get(item_id) if item_id is not None else None
        if stored is None or stored.get(spec.parent[2]) != parent_id:  # type: ignore[index]
            return errors_response(
                500,
                "No message. No matching records found. The logged in Resource may not have the "
                "required permissions to delete the data.",
            )
        del tenant.tables[spec.name][item_id]
    return Response.json(200, {"itemId": item_id})


def _apply_create_defaults(spec: EntitySpec, record: dict[str, Any], body: dict[str, Any]) -> None:
    now = format_datetime(utcnow())
    sent = {k.lower() for k in body}
    if DEFAULT_ACTIVE in spec.fields and DEFAULT_ACTIVE.lower() not in sent:
        record[DEFAULT_ACTIVE] = True
    for stamp in ("createDate", "createDateTime", "lastModifiedDate", "lastTrackedModifiedDateTime"):
        if stamp in spec.fields and record.get(stamp) is None:
            record[stamp] = now
    for creator in ("creatorResourceID", "createdByResourceID"):
        if creator in spec.fields and record.get(creator) is None:
            record[creator] = API_RESOURCE_ID
    if spec.name == "PurchaseOrders":
        _stamp_status_dates(record, None, now)


def _apply_update_effects(spec: EntitySpec, record: dict[str, Any], stored: dict[str, Any]) -> None:
    now = format_datetime(utcnow())
    for stamp in ("lastModifiedDate", "lastTrackedModifiedDateTime", "lastModifiedDateTime"):
        if stamp in spec.fields:
            record[stamp] = now
    if spec.name == "PurchaseOrders":
        _stamp_status_dates(record, stored, now)


def _stamp_status_dates(record: dict[str, Any], stored: dict[str, Any] | None, now: str) -> None:
    previous = stored.get("status") if stored else None
    if record.get("status") == 2 and previous != 2 and record.get("submitDateTime") is None:
        record["submitDateTime"] = now
    if record.get("status") == 5 and previous != 5 and record.get("cancelDateTime") is None:
        record["cancelDateTime"] = now
