"""Who an API call runs as and which records it may see: Autotask's line-of-business security.

Every API user is a resource. A resource with no OrganizationalResources rows sees every line of
business; once it is associated with one, it sees only the records of the lines it is
associated with, and the records of none (AT-HELP BillingItemsEntity, "user can see only items
associated with no Line of Business or Line of Business they are assigned to"; the admin help's
"Lines of business and resource data access"; KB360047672071, "LOB security is respected in the
API"). Only entities Autotask secures this way are filtered (``EntitySpec.line_of_business_secured``:
billing items and contracts among those the sandbox serves); everything else, the invoice
included, is unchanged, so a restricted user's lines of an invoice may not add up to its total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.autotask.schema import EntitySpec
from sandbox.autotask.tenant import API_RESOURCE_ID, Tenant

LINE_OF_BUSINESS_FIELD = "organizationalLevelAssociationID"


@dataclass(frozen=True)
class Caller:
    """The API user a request authenticated as: its resource and the lines of business it may see."""

    resource_id: int
    lines_of_business: frozenset[int] | None = None  # association ids; None: every line

    def can_see(self, spec: EntitySpec, record: dict[str, Any]) -> bool:
        if self.lines_of_business is None or not spec.line_of_business_secured:
            return True
        line = record.get(LINE_OF_BUSINESS_FIELD)
        return line is None or line in self.lines_of_business


# What the control surface and the tenant's own machinery act as: the main API user, unrestricted.
EVERYTHING = Caller(API_RESOURCE_ID)


def caller_for(tenant: Tenant, resource_id: int) -> Caller:
    """The caller that is resource ``resource_id``, with its lines of business. Callers hold the lock."""
    lines = frozenset(
        row[LINE_OF_BUSINESS_FIELD]
        for row in tenant.tables["OrganizationalResources"].values()
        if row.get("resourceID") == resource_id and row.get(LINE_OF_BUSINESS_FIELD) is not None
    )
    return Caller(resource_id, lines or None)
