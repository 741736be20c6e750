"""One Autotask database (tenant) as the emulator holds it: its records by entity, the id counter,
the API user's credentials and the zone that serves it, and what a reset leaves: the local
company (id 0) and the API resource.

``Tenant`` holds data only; the routes that read and write it lock ``tenant.lock`` (the
emulator's one lock) and never hold it while a request sleeps.
"""

from __future__ import annotations

import copy
import re
import threading
from typing import Any

from sandbox.autotask.entities import ENTITIES
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

    def exists(self, entity: str, item_id: int) -> bool:
        return item_id in self.tables[entity]

    def allocate_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def dump(self) -> dict[str, Any]:
        """The whole state in the seed document's shape (credentials included)."""
        state: dict[str, Any] = {"credentials": dict(self.credentials), "zone": self.zone}
        for name, table in self.tables.items():
            state[name] = [copy.deepcopy(table[i]) for i in sorted(table)]
        return state
