"""A seed's tenant configuration, beside its records: the main API user's ``credentials``, the
``zone``, the real-tenant ``settings``, more ``api_users`` (each one a resource, restricted to
lines of business by OrganizationalResources rows like any resource, and denied some entity
verbs by its ``entity_access``) and the ``picklists`` the
tenant spells its own way. Checked before anything changes; a mistake raises ``SeedError`` naming
the key and the fix.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.autotask.entities import ENTITIES
from sandbox.autotask.schema import PAYMENT_TERM_PICKLIST, PICKLISTS
from sandbox.autotask.tenant import API_RESOURCE_ID, DEFAULT_SETTINGS, ZONE_NAME, Tenant
from sandbox.core import SeedError

CONFIG_KEYS = ("credentials", "zone", "settings", "api_users", "picklists")
CREDENTIAL_KEYS = {"username", "secret", "integration_code"}
API_USER_KEYS = {"username", "secret", "resourceID"}  # and, optionally, entity_access
# The verbs an API user's entity_access can take away (sandbox.autotask.access).
VERBS = ("query", "create", "update")
PICKLIST_VALUE_KEYS = {"value", "label", "isActive"}


@dataclass(frozen=True)
class SeedConfig:
    """What a seed part says about the tenant itself; None where it leaves a thing as it is."""

    credentials: dict[str, str] | None
    zone: str | None
    settings: dict[str, bool] | None
    api_users: list[dict[str, Any]] | None
    picklists: dict[str, list[dict[str, Any]]] | None = None

    def picklist_after(self, tenant: Tenant, name: str) -> list[dict[str, Any]]:
        """The values of picklist ``name`` once this seed is merged (its records are checked against them)."""
        if self.picklists and name in self.picklists:
            return self.picklists[name]
        return tenant.picklist(name)

    def settings_after(self, tenant: Tenant) -> dict[str, bool]:
        """The tenant's settings once this seed is merged (the seed's records are stored under them)."""
        return {**tenant.settings, **(self.settings or {})}

    def apply(self, tenant: Tenant) -> None:
        """Merge into ``tenant`` (the caller holds its lock): API users by username, picklists by name."""
        if self.credentials is not None:
            tenant.credentials.update(self.credentials)
        if self.zone is not None:
            tenant.zone = self.zone
        if self.settings is not None:
            tenant.settings.update(self.settings)
        for user in self.api_users or []:
            tenant.api_users[user["username"].lower()] = copy.deepcopy(user)
        tenant.picklists.update(self.picklists or {})


def read_config(part: dict[str, Any]) -> SeedConfig:
    """The configuration keys of ``part``, each checked for shape."""
    credentials = part.get("credentials")
    if credentials is not None:
        if not isinstance(credentials, dict) or set(credentials) - CREDENTIAL_KEYS:
            raise SeedError("autotask seed: 'credentials' takes only username, secret and integration_code")
        for key, value in credentials.items():
            _require_text(value, f"credentials.{key}")
    zone = part.get("zone")
    if zone is not None and (
        not isinstance(zone, str) or not ZONE_NAME.match(zone) or zone.lower() == "atservicesrest"
    ):
        raise SeedError(f"autotask seed: zone {zone!r} must be a name of letters, digits, '-' or '_' (e.g. 'ws2')")
    return SeedConfig(
        credentials,
        zone,
        _read_settings(part.get("settings")),
        _read_api_users(part.get("api_users")),
        _read_picklists(part.get("picklists")),
    )


def check_picklist_values_kept(config: SeedConfig, tenant: Tenant, replaced: Callable[[str, int], bool]) -> None:
    """A replaced picklist still lists every value the tenant's records hold, except the records
    the seed itself ``replaced`` (those are checked as seeded records)."""
    for name, values in (config.picklists or {}).items():
        listed = {value["value"] for value in values}
        for entity, spec in ENTITIES.items():
            for field in spec.fields.values():
                if field.picklist != name:
                    continue
                for record_id in sorted(tenant.tables[entity]):
                    value = tenant.tables[entity][record_id].get(field.name)
                    if value is not None and value not in listed and not replaced(entity, record_id):
                        raise SeedError(
                            f"autotask seed: picklists.{name} lacks value {value}, which {entity} {record_id} holds "
                            f'in {field.name}; keep the value ("isActive": false retires it) or change the record'
                        )


def check_api_users(config: SeedConfig, tenant: Tenant, resource_exists: Callable[[int], bool]) -> None:
    """Each added API user is another resource of the seed or the tenant, named apart from the main one."""
    main = (config.credentials or {}).get("username") or tenant.credentials["username"]
    seeded = {user["username"].lower() for user in config.api_users or []}
    if main.lower() in set(tenant.api_users) - seeded:
        raise SeedError(f"autotask seed: credentials.username {main} is already an added API user; pick another name")
    taken = {user["resourceID"]: name for name, user in tenant.api_users.items()}
    for index, user in enumerate(config.api_users or []):
        where = f"autotask seed api_users[{index}] ({user['username']})"
        if user["username"].lower() == main.lower():
            raise SeedError(f"{where}: that is the main API user's name; give this user another one")
        if user["resourceID"] == API_RESOURCE_ID or not resource_exists(user["resourceID"]):
            raise SeedError(
                f"{where}: resourceID {user['resourceID']} must be a Resources record of the seed or the tenant, "
                f"other than the main API user's resource {API_RESOURCE_ID}"
            )
        holder = taken.get(user["resourceID"])
        if holder is not None and holder != user["username"].lower():
            raise SeedError(f"{where}: resource {user['resourceID']} is already the API user {holder}")
        taken[user["resourceID"]] = user["username"].lower()


def _read_settings(settings: Any) -> dict[str, bool] | None:
    if settings is None:
        return None
    if not isinstance(settings, dict) or set(settings) - set(DEFAULT_SETTINGS):
        raise SeedError(f"autotask seed: 'settings' takes only {sorted(DEFAULT_SETTINGS)}, got {settings!r}")
    for key, value in settings.items():
        if not isinstance(value, bool):
            raise SeedError(f"autotask seed: settings.{key} must be true or false, got {value!r}")
    return dict(settings)


def _read_api_users(users: Any) -> list[dict[str, Any]] | None:
    if users is None:
        return None
    if not isinstance(users, list):
        raise SeedError(
            "autotask seed: 'api_users' must be a list of {username, secret, resourceID, entity_access} objects"
        )
    seen: set[str] = set()
    for index, user in enumerate(users):
        where = f"api_users[{index}]"
        if not isinstance(user, dict) or not API_USER_KEYS <= set(user) <= API_USER_KEYS | {"entity_access"}:
            raise SeedError(
                f"autotask seed: {where} must have exactly username, secret and resourceID "
                f"(entity_access optional), got {user!r}"
            )
        _require_text(user["username"], f"{where}.username")
        _require_text(user["secret"], f"{where}.secret")
        if isinstance(user["resourceID"], bool) or not isinstance(user["resourceID"], int):
            raise SeedError(f"autotask seed: {where}.resourceID must be a Resources id, got {user['resourceID']!r}")
        if user["username"].lower() in seen:
            raise SeedError(f"autotask seed: {where}: username {user['username']} appears twice")
        seen.add(user["username"].lower())
        if "entity_access" in user:
            _check_entity_access(user["entity_access"], f"{where}.entity_access")
    return [copy.deepcopy(user) for user in users]


def _check_entity_access(access: Any, where: str) -> None:
    """``{"<Entity>": {"query": bool, "create": bool, "update": bool}}``; what it leaves out is allowed."""
    if not isinstance(access, dict):
        raise SeedError(
            f"autotask seed: {where} must be an object of entity name -> "
            f'{{"query": bool, "create": bool, "update": bool}}, e.g. {{"PurchaseOrders": {{"update": false}}}}'
        )
    for entity, verbs in access.items():
        if entity not in ENTITIES:
            raise SeedError(
                f"autotask seed: {where}.{entity} is not an entity the sandbox serves; "
                f"use its REST name, one of {sorted(ENTITIES)}"
            )
        if not isinstance(verbs, dict) or set(verbs) - set(VERBS):
            raise SeedError(
                f"autotask seed: {where}.{entity} takes only query, create and update (each true or false), "
                f"got {verbs!r}"
            )
        for verb, allowed in verbs.items():
            if not isinstance(allowed, bool):
                raise SeedError(f"autotask seed: {where}.{entity}.{verb} must be true or false, got {allowed!r}")


def _read_picklists(picklists: Any) -> dict[str, list[dict[str, Any]]] | None:
    """Picklist name -> its values, each ``{value, label, isActive}`` (isActive true when left out)."""
    if picklists is None:
        return None
    if not isinstance(picklists, dict):
        raise SeedError(
            "autotask seed: 'picklists' must be an object of picklist name -> [{value, label, isActive}], "
            'e.g. {"purchaseOrderStatus": [{"value": 1, "label": "New"}, ...]}'
        )
    read: dict[str, list[dict[str, Any]]] = {}
    for name, values in picklists.items():
        where = f"picklists.{name}"
        if name not in PICKLISTS:
            live = (
                " (paymentTerm lists the PaymentTerms records: seed those instead)"
                if name == PAYMENT_TERM_PICKLIST
                else ""
            )
            raise SeedError(
                f"autotask seed: {where} is not a picklist the sandbox serves{live}; use one of {sorted(PICKLISTS)}"
            )
        if not isinstance(values, list) or not values:
            raise SeedError(f"autotask seed: {where} must be a non-empty list of {{value, label, isActive}} objects")
        seen: set[int] = set()
        read[name] = []
        for index, entry in enumerate(values):
            at = f"{where}[{index}]"
            if not isinstance(entry, dict) or not {"value", "label"} <= set(entry) <= PICKLIST_VALUE_KEYS:
                raise SeedError(f"autotask seed: {at} must have value and label (isActive optional), got {entry!r}")
            if isinstance(entry["value"], bool) or not isinstance(entry["value"], int):
                raise SeedError(f"autotask seed: {at}.value must be an integer, got {entry['value']!r}")
            _require_text(entry["label"], f"{at}.label")
            active = entry.get("isActive", True)
            if not isinstance(active, bool):
                raise SeedError(f"autotask seed: {at}.isActive must be true or false, got {active!r}")
            if entry["value"] in seen:
                raise SeedError(f"autotask seed: {at}: value {entry['value']} appears twice in {name}; list it once")
            seen.add(entry["value"])
            read[name].append({"value": entry["value"], "label": entry["label"], "isActive": active})
    return read


def _require_text(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise SeedError(f"autotask seed: {what} must be a non-empty string")
