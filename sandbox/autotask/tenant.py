"""One Autotask database (tenant) as the emulator holds it: its records by entity, the id counter,
its API users (the main one's credentials, and any others a seed adds, each a resource), the zone
that serves it, its settings (the real-tenant behaviours a seed opts into), the picklists it
spells its own way, and what a reset leaves: the local company (id 0), the API resource, every
setting off, the default picklists.

``Tenant`` holds data only; the routes that read and write it lock ``tenant.lock`` (the
emulator's one lock) and never hold it while a request sleeps.
"""

from __future__ import annotations

import copy
import re
import threading
from typing import Any

from sandbox.autotask.entities import ENTITIES
from sandbox.autotask.schema import PICKLISTS
from sandbox.autotask.values import blank_record, format_datetime, utcnow

DEFAULT_USERNAME = "atqbo-api@sandbox.local"
DEFAULT_SECRET = "sandbox-secret"
DEFAULT_INTEGRATION_CODE = "ATQBOSANDBOX"
DEFAULT_ZONE = "ws1"
ZONE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
# The database identifier zoneInformation reports as ``ci``.
TENANT_CI = 29680
# The API-only resource that exists after reset; records created through the API name it as
# their creator.
API_RESOURCE_ID = 29682885
LOCAL_COMPANY_ID = 0
# New ids continue from here (real tenants' ids are large ints, e.g. 29683500).
FIRST_ASSIGNED_ID = 29690000
# Real-tenant behaviours, off after reset (the demo tenant): see sandbox/README.md, "Settings".
DEFAULT_SETTINGS: dict[str, bool] = {
    # a string written as "" is stored and returned as "" (not null); notExist then misses it
    "keep_empty_strings": False,
    # the documented "Fields that cannot be queried" (and userDefinedFields) refused in
    # IncludeFields as well as in filters
    "refuse_unqueryable_fields": False,
}


class Tenant:
    """The tenant's data. Callers hold ``lock``."""

    def __init__(self, lock: threading.RLock):
        self.lock = lock
        self.reset()

    def reset(self) -> None:
        """Default credentials and zone; no records but the local company and the API resource."""
        self.credentials = {
            "username": DEFAULT_USERNAME,
            "secret": DEFAULT_SECRET,
            "integration_code": DEFAULT_INTEGRATION_CODE,
        }
        self.zone = DEFAULT_ZONE
        self.settings = dict(DEFAULT_SETTINGS)
        # more API users: lower-cased username -> {"username", "secret", "resourceID"}
        self.api_users: dict[str, dict[str, Any]] = {}
        # picklists a seed replaced: PICKLISTS name -> [{"value", "label", "isActive"}]
        self.picklists: dict[str, list[dict[str, Any]]] = {}
        self.tables: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in ENTITIES}
        self.next_id = FIRST_ASSIGNED_ID
        now = format_datetime(utcnow())
        resource = blank_record(ENTITIES["Resources"])
        resource.update(
            id=API_RESOURCE_ID,
            firstName="API",
            lastName="atqbo sync",
            email=DEFAULT_USERNAME,
            userName="atqbo-api",
            isActive=True,
            licenseType=7,
            resourceType="Employee",
            userType="API User (system)",
        )
        company = blank_record(ENTITIES["Companies"])
        company.update(
            id=LOCAL_COMPANY_ID,
            companyName="Sandbox MSP (local company)",
            companyType=8,
            phone="555-0100",
            ownerResourceID=API_RESOURCE_ID,
            isActive=True,
            createDate=now,
        )
        self.tables["Resources"][API_RESOURCE_ID] = resource
        self.tables["Companies"][LOCAL_COMPANY_ID] = company

    def api_user(self, username: str) -> tuple[str, int] | None:
        """(secret, resource id) of the API user named ``username`` (without case), or None."""
        if username.lower() == self.credentials["username"].lower():
            return self.credentials["secret"], API_RESOURCE_ID
        user = self.api_users.get(username.lower())
        return (user["secret"], user["resourceID"]) if user else None

    def picklist(self, name: str) -> list[dict[str, Any]]:
        """The values of the fixed picklist ``name`` in this tenant: the seed's, else the defaults."""
        if name in self.picklists:
            return self.picklists[name]
        return [{"value": value, "label": label, "isActive": True} for value, label in PICKLISTS[name]]

    def exists(self, entity: str, item_id: int) -> bool:
        return item_id in self.tables[entity]

    def allocate_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def dump(self) -> dict[str, Any]:
        """The whole state in the seed document's shape (credentials included)."""
        state: dict[str, Any] = {
            "credentials": dict(self.credentials),
            "zone": self.zone,
            "settings": dict(self.settings),
            "api_users": [copy.deepcopy(self.api_users[name]) for name in sorted(self.api_users)],
            "picklists": copy.deepcopy(self.picklists),
        }
        for name, table in self.tables.items():
            state[name] = [copy.deepcopy(table[i]) for i in sorted(table)]
        return state
