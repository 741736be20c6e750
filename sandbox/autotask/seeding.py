"""A seed document's ``autotask`` part: credentials, zone, and records by entity, checked whole
before anything changes. Every field must be known and well typed, ids unique per entity, and
references, picklist values and the seed-required fields must hold against the seed and the
records already loaded. A bad seed raises ``SeedError`` naming the record.

Seeds do not recompute anything: an invoice's ``invoiceTotal`` is what the seed says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.autotask.entities import DEFAULT_ACTIVE, ENTITIES
from sandbox.autotask.schema import EntitySpec
from sandbox.autotask.tenant import ZONE_NAME, Tenant
from sandbox.autotask.values import WriteError, blank_record, check_values, merge_udfs, stored_value
from sandbox.core import SeedError


def prepare_seed(tenant: Tenant, part: Any) -> Callable[[], None]:
    """Check ``part`` against the tenant; return the function that merges it (nothing changes before)."""
    credentials, zone = _check_settings(part)
    with tenant.lock:
        prepared, next_id = _prepare_records(tenant, part)
        _check_references(tenant, prepared)

    def commit() -> None:
        with tenant.lock:
            if credentials is not None:
                tenant.credentials.update(credentials)
            if zone is not None:
                tenant.zone = zone
            for name, records in prepared.items():
                for record in records:
                    tenant.tables[name][record["id"]] = record
            tenant.next_id = max(tenant.next_id, next_id)

    return commit


def _check_settings(part: Any) -> tuple[dict[str, str] | None, str | None]:
    """The part's shape and its ``credentials`` and ``zone`` (None where it leaves them)."""
    if not isinstance(part, dict):
        raise SeedError("the autotask seed part must be an object")
    unknown = set(part) - set(ENTITIES) - {"credentials", "zone"}
    if unknown:
        raise SeedError(
            f"autotask seed: unknown keys {sorted(unknown)}; "
            f"use 'credentials', 'zone' and entity names {sorted(ENTITIES)}"
        )
    credentials = part.get("credentials")
    if credentials is not None:
        if not isinstance(credentials, dict) or set(credentials) - {"username", "secret", "integration_code"}:
            raise SeedError("autotask seed: 'credentials' takes only username, secret and integration_code")
        for key, value in credentials.items():
            if not isinstance(value, str) or not value.strip():
                raise SeedError(f"autotask seed: credentials.{key} must be a non-empty string")
    zone = part.get("zone")
    if zone is not None and (
        not isinstance(zone, str) or not ZONE_NAME.match(zone) or zone.lower() == "atservicesrest"
    ):
        raise SeedError(f"autotask seed: zone {zone!r} must be a name of letters, digits, '-' or '_' (e.g. 'ws2')")
    return credentials, zone


def _prepare_records(tenant: Tenant, part: dict[str, Any]) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """First pass: shape, types and ids of every record, so references may point anywhere.
    Returns the records by entity and the id counter after the ids they were given."""
    next_id = tenant.next_id
    prepared: dict[str, list[dict[str, Any]]] = {}
    for name, spec in ENTITIES.items():
        records = part.get(name)
        if records is None:
            continue
        if not isinstance(records, list):
            raise SeedError(f"autotask seed: {name} must be a list of records")
        seen: set[int] = set()
        out = []
        for index, raw in enumerate(records):
            where = f"autotask seed {name}[{index}]"
            try:
                record = _seed_record(spec, raw)
            except WriteError as exc:
                raise SeedError(f"{where}: {exc}") from None
            if record["id"] is None:
                next_id += 1
                record["id"] = next_id
            if record["id"] in seen:
                raise SeedError(f"{where}: id {record['id']} appears twice in {name}")
            seen.add(record["id"])
            out.append(record)
        next_id = max([next_id, *[r["id"] for r in out]])
        prepared[name] = out
    return prepared, next_id


def _check_references(tenant: Tenant, prepared: dict[str, list[dict[str, Any]]]) -> None:
    """Second pass: references, picklists and required fields against state + seed."""
    seeded: dict[str, set[int]] = {name: set() for name in ENTITIES}
    for name, records in prepared.items():
        seeded[name] = {record["id"] for record in records}

    def exists(entity: str, item_id: int) -> bool:
        return item_id in seeded[entity] or item_id in tenant.tables[entity]

    for name, records in prepared.items():
        spec = ENTITIES[name]
        for index, record in enumerate(records):
            where = f"autotask seed {name}[{index}] (id {record['id']})"
            for required in spec.seed_required:
                if record.get(required) is None:
                    raise SeedError(f"{where}: {required} is required")
            try:
                check_values(spec, record, exists)
            except WriteError as exc:
                raise SeedError(f"{where}: {exc}") from None


def _seed_record(spec: EntitySpec, raw: Any) -> dict[str, Any]:
    """A seeded record in its stored form: every field known and typed, ``isActive`` true when left out."""
    if not isinstance(raw, dict):
        raise WriteError("a record must be an object")
    record = blank_record(spec)
    for key, value in raw.items():
        if key.lower() == "userdefinedfields":
            record["userDefinedFields"] = merge_udfs([], value, spec)
            continue
        field = spec.field(key)
        if field is None:
            raise WriteError(f"unknown field {key!r} (not a field of the {spec.label} Entity)")
        if field.name == "id":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise WriteError(f"id must be a non-negative integer, got {value!r}")
            record["id"] = value
            continue
        record[field.name] = stored_value(field, value, spec)
    if DEFAULT_ACTIVE in spec.fields and not any(k.lower() == DEFAULT_ACTIVE.lower() for k in raw):
        record[DEFAULT_ACTIVE] = True
    return record
