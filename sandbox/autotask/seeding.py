"""A seed document's ``autotask`` part: its tenant configuration (``seed_config``) and records by
entity, checked whole before anything changes. Every field must be known and well typed, ids
unique per entity, and references, picklist values, the seed-required fields and the rules no
Autotask database breaks (``rules.check_seeded``) must hold against the seed and the records
already loaded. A bad seed raises ``SeedError`` naming the record.

Seeds do not recompute anything: an invoice's ``invoiceTotal`` is what the seed says, and in a
tenant with tax tables it must agree with its lines and their tax rates (``tax_totals``). Records are
stored under the settings the tenant has once the seed is merged (``keep_empty_strings``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.autotask.entities import DEFAULT_ACTIVE, ENTITIES
from sandbox.autotask.rules import check_seeded
from sandbox.autotask.schema import EntitySpec
from sandbox.autotask.seed_config import CONFIG_KEYS, check_api_users, check_picklist_values_kept, read_config
from sandbox.autotask.tax_totals import TAX_TOTALS_ENTITIES, check_invoice_tax
from sandbox.autotask.tenant import Tenant
from sandbox.autotask.values import WriteError, blank_record, check_values, merge_udfs, stored_value
from sandbox.core import SeedError

Prepared = dict[str, list[dict[str, Any]]]


def prepare_seed(tenant: Tenant, part: Any) -> Callable[[], None]:
    """Check ``part`` against the tenant; return the function that merges it (nothing changes before)."""
    if not isinstance(part, dict):
        raise SeedError("the autotask seed part must be an object")
    unknown = set(part) - set(ENTITIES) - set(CONFIG_KEYS)
    if unknown:
        raise SeedError(
            f"autotask seed: unknown keys {sorted(unknown)}; use {', '.join(repr(k) for k in CONFIG_KEYS)} "
            f"and entity names {sorted(ENTITIES)}"
        )
    config = read_config(part)
    with tenant.lock:
        keep_empty = config.settings_after(tenant)["keep_empty_strings"]
        prepared, next_id = _prepare_records(tenant, part, keep_empty)
        exists = _exists_after(tenant, prepared)
        _check_references(prepared, exists, lambda name: config.picklist_after(tenant, name))
        _check_rules(tenant, prepared)
        check_api_users(config, tenant, lambda resource_id: exists("Resources", resource_id))
        seeded = {name: {record["id"] for record in records} for name, records in prepared.items()}
        check_picklist_values_kept(config, tenant, lambda entity, record_id: record_id in seeded.get(entity, ()))

    def commit() -> None:
        with tenant.lock:
            config.apply(tenant)
            for name, records in prepared.items():
                for record in records:
                    tenant.tables[name][record["id"]] = record
            tenant.next_id = max(tenant.next_id, next_id)

    return commit


def _prepare_records(tenant: Tenant, part: dict[str, Any], keep_empty: bool) -> tuple[Prepared, int]:
    """First pass: shape, types and ids of every record, so references may point anywhere.
    Returns the records by entity and the id counter after the ids they were given."""
    next_id = tenant.next_id
    prepared: Prepared = {}
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
                record = _seed_record(spec, raw, keep_empty)
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


def _exists_after(tenant: Tenant, prepared: Prepared) -> Callable[[str, int], bool]:
    """Whether a record would exist once the seed is merged."""
    seeded = {name: {record["id"] for record in records} for name, records in prepared.items()}

    def exists(entity: str, item_id: int) -> bool:
        return item_id in seeded.get(entity, ()) or item_id in tenant.tables[entity]

    return exists


def _check_references(
    prepared: Prepared, exists: Callable[[str, int], bool], picklist: Callable[[str], list[dict[str, Any]]]
) -> None:
    """Second pass: references, picklists (the tenant's, with the seed's merged) and required
    fields against state + seed."""
    for name, records in prepared.items():
        spec = ENTITIES[name]
        for index, record in enumerate(records):
            where = f"autotask seed {name}[{index}] (id {record['id']})"
            for required in spec.seed_required:
                if record.get(required) is None:
                    raise SeedError(f"{where}: {required} is required")
            try:
                check_values(spec, record, exists, picklist)
            except WriteError as exc:
                raise SeedError(f"{where}: {exc}") from None


def _check_rules(tenant: Tenant, prepared: Prepared) -> None:
    """Third pass: the rules no Autotask database breaks, over the records it would hold; last, the
    tax and totals of the invoices the seed adds or adds lines to (``tax_totals``)."""
    after = {
        name: {**tenant.tables[name], **{record["id"]: record for record in prepared.get(name, [])}}
        for name in TAX_TOTALS_ENTITIES
    }
    for name, records in prepared.items():
        for index, record in enumerate(records):
            try:
                check_seeded(ENTITIES[name], record, after["Taxes"].values())
            except WriteError as exc:
                raise SeedError(f"autotask seed {name}[{index}] (id {record['id']}): {exc}") from None
    touched = {record["id"] for record in prepared.get("Invoices", [])}
    touched |= {record["invoiceID"] for record in prepared.get("BillingItems", []) if record.get("invoiceID")}
    try:
        check_invoice_tax(after, touched)
    except WriteError as exc:
        raise SeedError(f"autotask seed: {exc}") from None


def _seed_record(spec: EntitySpec, raw: Any, keep_empty: bool) -> dict[str, Any]:
    """A seeded record in its stored form: every field known and typed, ``isActive`` true when left out."""
    if not isinstance(raw, dict):
        raise WriteError("a record must be an object")
    record = blank_record(spec)
    for key, value in raw.items():
        if key.lower() == "userdefinedfields":
            record["userDefinedFields"] = merge_udfs([], value, spec, keep_empty)
            continue
        field = spec.field(key)
        if field is None:
            raise WriteError(f"unknown field {key!r} (not a field of the {spec.label} Entity)")
        if field.name == "id":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise WriteError(f"id must be a non-negative integer, got {value!r}")
            record["id"] = value
            continue
        record[field.name] = stored_value(field, value, spec, keep_empty)
    if DEFAULT_ACTIVE in spec.fields and not any(k.lower() == DEFAULT_ACTIVE.lower() for k in raw):
        record[DEFAULT_ACTIVE] = True
    return record
