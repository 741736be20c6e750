"""How the sandbox describes an Autotask entity: ``FieldSpec`` (a field's name, dataType, flags,
reference and picklist) and ``EntitySpec`` (its REST name, label, fields and which writes the API
allows), the dataType -> filter kind map, and the fixed picklists. The entities themselves are
``sandbox.autotask.entities``.
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

# Fixed picklists: name -> [(value, label)]. companyType and PurchaseOrders.status are fixed by
# the sandbox contract; the others are plausible values (no public source lists them).
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
    filter_fields: EntityFields = field(init=False)

    def __post_init__(self) -> None:
        kinds = {name: spec.kind for name, spec in self.fields.items()}
        not_queryable = frozenset(name for name, spec in self.fields.items() if not spec.queryable)
        object.__setattr__(self, "filter_fields", EntityFields(self.label, kinds, not_queryable))
        object.__setattr__(self, "_by_lower", {name.lower(): spec for name, spec in self.fields.items()})

    def field(self, name: str) -> FieldSpec | None:
        """The field named ``name``, matched case-insensitively (the real JSON binding is)."""
        return self._by_lower.get(name.lower())  # type: ignore[attr-defined]
