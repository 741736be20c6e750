"""How the sandbox describes an Autotask entity: ``FieldSpec`` (a field's name, dataType, flags,
reference and picklist) and ``EntitySpec`` (its REST name, label, fields, which writes the API
allows, whether line-of-business security filters it), the constructors the entity tables are
written with, the dataType -> filter kind map, and the fixed picklists' defaults. The entities themselves
are ``sandbox.autotask.entities`` and ``sandbox.autotask.billing_entities``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.autotask.filter import (
    KIND_BOOLEAN,
    KIND_DATETIME,
    KIND_DOUBLE,
    KIND_INTEGER,
    KIND_STRING,
    EntityFields,
)

# Autotask dataType names (as entityInformation/fields reports them) -> filter kinds.
DATA_TYPE_KINDS = {
    "long": KIND_INTEGER,
    "integer": KIND_INTEGER,
    "short": KIND_INTEGER,
    "double": KIND_DOUBLE,
    "decimal": KIND_DOUBLE,
    "string": KIND_STRING,
    "boolean": KIND_BOOLEAN,
    "dateTime": KIND_DATETIME,
}

# Fixed picklists: name -> [(value, label)], as a reset leaves them; a seed's ``picklists`` replaces
# one for its tenant (``Tenant.picklist``). companyType and PurchaseOrders.status are fixed by the
# sandbox contract; the others are plausible values (no public source lists them).
PICKLISTS: dict[str, list[tuple[int, str]]] = {
    "companyType": [
        (1, "Customer"),
        (2, "Lead"),
        (3, "Prospect"),
        (4, "Dead"),
        (6, "Cancellation"),
        (7, "Vendor"),
        (8, "Partner"),
    ],
    "purchaseOrderStatus": [
        (1, "New"),
        (2, "Submitted"),
        (3, "Received Partial"),
        (4, "Received Full"),
        (5, "Canceled"),
    ],
    "billingItemType": [
        (1, "Labor"),
        (2, "Labor Adjustment"),
        (3, "Project Cost"),
        (4, "Ticket Cost"),
        (5, "Contract Cost"),
        (6, "Operational Cost"),
        (7, "Milestone"),
        (8, "Recurring Contract Service"),
        (9, "Recurring Contract Service Adjustment"),
        (10, "Expense"),
    ],
    "billingItemSubType": [
        (1, "Time Entry"),
        (2, "Ticket Charge"),
        (3, "Project Charge"),
        (4, "Contract Charge"),
        (5, "Contract Service"),
        (6, "Expense Item"),
    ],
    "billingCodeType": [
        (1, "Work Type"),
        (2, "Material Code"),
        (3, "Expense Category"),
        (4, "Recurring Contract Service"),
        (5, "Operational"),
        (6, "Milestone"),
    ],
    "billingCodeUseType": [
        (1, "Billable"),
        (2, "Non-Billable"),
        (3, "Internal"),
    ],
    "shippingType": [
        (1, "Ground"),
        (2, "Second Day Air"),
        (3, "Next Day Air"),
        (4, "Pickup"),
    ],
    "billToAddressToUse": [
        (1, "Use Company Address"),
        (2, "Use Bill To Address"),
    ],
    # The six contract types the Contracts entity page names (AT-HELP ContractsEntity); the
    # numbers are the ones the SOAP-era docs gave, unconfirmed for REST: read entityInformation.
    "contractType": [
        (1, "Time and Materials"),
        (3, "Fixed Price"),
        (4, "Block Hours"),
        (6, "Retainer"),
        (7, "Recurring Service"),
        (8, "Per Ticket"),
    ],
    "contractStatus": [
        (0, "Inactive"),
        (1, "Active"),
    ],
}

# Picklists whose values are the ids of another entity's records (the list is live).
PAYMENT_TERM_PICKLIST = "paymentTerm"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    data_type: str  # long, integer, double, decimal, string, boolean, dateTime
    read_only: bool = False
    required: bool = False  # on API create
    reference: str | None = None  # REST entity name the value must exist in
    picklist: str | None = None  # a PICKLISTS key or PAYMENT_TERM_PICKLIST
    queryable: bool = True
    date_only: bool = False  # the time part is dropped (Invoice.paidDate)
    length: int = 0
    # listed by the vendor under "Fields that cannot be queried"; refused in a real-tenant profile
    documented_not_queryable: bool = False

    @property
    def kind(self) -> str:
        return DATA_TYPE_KINDS[self.data_type]


@dataclass(frozen=True)
class EntitySpec:
    name: str  # REST name: Companies
    label: str  # singular, as the real API names it in messages: Company
    fields: dict[str, FieldSpec]
    can_create: bool = False
    can_update: bool = False
    # writes only through the parent: (parent REST name, child path segment, parent id field)
    parent: tuple[str, str, str] | None = None
    can_delete_via_parent: bool = False
    seed_required: tuple[str, ...] = ()  # fields a seeded record must have
    # An API user associated with lines of business sees only records of those (or of none),
    # through ``organizationalLevelAssociationID`` (sandbox.autotask.access).
    line_of_business_secured: bool = False
    filter_fields: EntityFields = field(init=False)

    def __post_init__(self) -> None:
        kinds = {name: spec.kind for name, spec in self.fields.items()}
        not_queryable = frozenset(name for name, spec in self.fields.items() if not spec.queryable)
        documented = frozenset(name for name, spec in self.fields.items() if spec.documented_not_queryable)
        object.__setattr__(self, "filter_fields", EntityFields(self.label, kinds, not_queryable, documented))
        object.__setattr__(self, "_by_lower", {name.lower(): spec for name, spec in self.fields.items()})

    def field(self, name: str) -> FieldSpec | None:
        """The field named ``name``, matched case-insensitively (the real JSON binding is)."""
        return self._by_lower.get(name.lower())  # type: ignore[attr-defined]


# Constructors the entity tables are written with: one short call per field.


def field_table(*specs: FieldSpec) -> dict[str, FieldSpec]:
    """An entity's fields by name, ``id`` (read-only) first."""
    return {spec.name: spec for spec in (FieldSpec("id", "long", read_only=True), *specs)}


def text(name: str, length: int = 100, **kw) -> FieldSpec:
    return FieldSpec(name, "string", length=length, **kw)


def integer(name: str, **kw) -> FieldSpec:
    return FieldSpec(name, "integer", **kw)


def double(name: str, **kw) -> FieldSpec:
    return FieldSpec(name, "double", **kw)


def boolean(name: str, **kw) -> FieldSpec:
    return FieldSpec(name, "boolean", **kw)


def date_time(name: str, **kw) -> FieldSpec:
    return FieldSpec(name, "dateTime", **kw)
