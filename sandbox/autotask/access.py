"""Who an API call runs as, what it may do and which records it may see: the API user's entity
permissions (its security level) and Autotask's line-of-business security.

An API user seeded with ``entity_access`` lacks the verbs set to false there: a query (count,
next page, item read) of such an entity, or a create or update, is refused with HTTP 500 and the
permission text the real API gives (docs/api-facts.md 1.5); entityInformation stays readable and
reports the user's access. The main API user may do everything.

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

from sandbox.autotask.responses import errors_response
from sandbox.autotask.schema import EntitySpec
from sandbox.autotask.tenant import API_RESOURCE_ID, Tenant
from sandbox.core import Abort

LINE_OF_BUSINESS_FIELD = "organizationalLevelAssociationID"


@dataclass(frozen=True)
class Caller:
    """The API user a request authenticated as: its resource, the lines of business it may see and
    the (entity, verb) pairs its security level denies."""

    resource_id: int
    lines_of_business: frozenset[int] | None = None  # association ids; None: every line
    denied: frozenset[tuple[str, str]] = frozenset()  # (REST entity name, "query"|"create"|"update")

    def may(self, verb: str, spec: EntitySpec) -> bool:
        return (spec.name, verb) not in self.denied

    def require(self, verb: str, spec: EntitySpec) -> None:
        """Answer at once with the real API's permission error unless the caller may ``verb`` ``spec``."""
        if not self.may(verb, spec):
            raise Abort(
                errors_response(
                    500, f"The logged in Resource does not have the adequate permissions to {verb} this entity."
                )
            )

    def can_see(self, spec: EntitySpec, record: dict[str, Any]) -> bool:
        if self.lines_of_business is None or not spec.line_of_business_secured:
            return True
        line = record.get(LINE_OF_BUSINESS_FIELD)
        return line is None or line in self.lines_of_business


# What the control surface and the tenant's own machinery act as: the main API user, unrestricted.
EVERYTHING = Caller(API_RESOURCE_ID)


def caller_for(tenant: Tenant, resource_id: int) -> Caller:
    """The caller that is resource ``resource_id``, with its lines of business and the entity
    permissions of its API user. Callers hold the lock."""
    lines = frozenset(
        row[LINE_OF_BUSINESS_FIELD]
        for row in tenant.tables["OrganizationalResources"].values()
        if row.get("resourceID") == resource_id and row.get(LINE_OF_BUSINESS_FIELD) is not None
    )
    user = next((u for u in tenant.api_users.values() if u["resourceID"] == resource_id), None)
    access = (user or {}).get("entity_access") or {}
    denied = frozenset(
        (entity, verb) for entity, verbs in access.items() for verb, allowed in verbs.items() if not allowed
    )
    return Caller(resource_id, lines or None, denied)
