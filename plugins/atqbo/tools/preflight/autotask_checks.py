"""BEY-08 preflight, the Autotask part: what atqbo needs of the tenant, checked for the connection's
API user before the first live run, one ``Check`` per thing looked at (part ``"autotask"``).

Read-only: GETs (``ThresholdInformation``, ``entityInformation`` and its ``fields``) and query POSTs
(``{Entity}/query``, ``query/count``); never a write. Bounded whatever the tenant's size, at most
49 Autotask calls (zone discovery included: 39 on the sandbox's demo tenant and on the named seed
``uk-vat`` with its restricted API user; 48 on the benchmark's tenant of 5,000 companies and 1,540
invoices of 8 lines in the window):

- 1 zone discovery and 1 ``ThresholdInformation``, plus the hook's own budget checks
  (``ThresholdInformation``: one before its first paced call, then one per 200 calls while the tenant
  has room; more often only when the tenant nears atqbo's share);
- 2 per entity of :data:`USES` (``entityInformation`` and ``entityInformation/fields``): 14
  entities, 28 calls; the fields also give the picklists (the hook caches them);
- 3 reads of the lines of business (``OrganizationalLevel1s``, ``2s``, ``Associations``: the invoice
  sync's own ``lines_of_business``), one page each on any real tenant;
- 1 ``Resources`` query (the API user's resource) and 1 ``OrganizationalResources`` query (its lines);
- 1 ``Invoices`` query (at most :data:`MEASURED_INVOICES` of the window's invoices: one page) and at
  most :data:`MEASURE_MAX_CALLS` (+1) ``BillingItems`` pages for them;
- 1 ``Invoices/query/count`` (the last full calendar month).

Topics, in order (each ok, warning or blocking as its function says): "Connection" (only when the
first call fails), "Entities and fields" (one summary, plus one check per entity with a problem),
"PurchaseOrders.status picklist", "Invoices.paymentTerm picklist", "Lines of business and
lob_class_map", "API user's lines of business", "Billing items the API user sees", "Hourly request
threshold".
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from atqbo.autotask_docs import BILLING_CODE_FIELDS, ERROR_MARKER_FIELDS
from atqbo.exceptions import AtqboError
from atqbo.hooks.autotask import (
    MAX_CALLS_BETWEEN_BUDGET_CHECKS,
    MAX_PAGE_SIZE,
    AutotaskError,
    AutotaskPicklistError,
    eq,
    gte,
    in_,
    lt,
    lte,
    or_,
)
from atqbo.hooks.autotask_picklists import picklist_field
from atqbo.money import cents, money_text, number_or_none
from atqbo.records import INVOICE, PURCHASE_ORDER
from atqbo.settings import VARIABLE_NAME
from atqbo.sync.invoices.extract import BILLING_ITEM_FIELDS, lines_of_business
from atqbo.sync.payments.apply import AUTOTASK_INVOICE_FIELDS as PAYMENT_INVOICE_FIELDS
from atqbo.sync.purchase_orders.extract import (
    CURRENCY_FIELDS,
    PO_FIELDS,
    PO_ITEM_FIELDS,
    PRODUCT_FIELDS,
    VENDOR_FIELDS,
)
from atqbo.sync.purchase_orders.model import SUBMITTED_LABEL
from atqbo.sync.voids.model import AUTOTASK_INVOICE_FIELDS as VOID_INVOICE_FIELDS
from atqbo.tools.preflight.model import Check, blocking, listed, ok, warning
from atqbo.transform.invoices.lines import before_tax_gap, billed_amount

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.runs import RunInfo
    from atqbo.settings import Settings

PART = "autotask"

# What needs an entity: the syncs, as the report names them.
INVOICES = "invoice sync"
INVOICE_TAXES = "invoice sync's tax tables"
VOIDS = "void sync"
PAYMENTS = "payment sync"
PURCHASE_ORDERS = "purchase order sync"
TODOS = "error to-dos"

# How to turn each off in atqbo_settings, for a fix that cannot be made in Autotask.
TURN_OFF: dict[str, str] = {
    INVOICES: "invoice_sync_enabled false",
    INVOICE_TAXES: "tax_mode and tax_code_map as the QBO company needs (they decide whether the tax tables are read)",
    VOIDS: "void_sync_enabled false",
    PAYMENTS: "payment_sync_enabled false",
    PURCHASE_ORDERS: "po_lookback_days 0",
    TODOS: "todo_action_type null",
}

SETTINGS_PLACE = f"atqbo's settings (Admin > Variables, {VARIABLE_NAME})"
SECURITY_PLACE = "Autotask: Admin > Resources/Users > the API user > Security"


def enabled_syncs(settings: Settings) -> set[str]:
    """The needs of :data:`USES` that these settings turn on."""
    on = set()
    if settings.invoice_sync_enabled:
        on.add(INVOICES)
        if settings.non_us or (settings.tax_mode == "autotask" and settings.tax_code_map):
            on.add(INVOICE_TAXES)  # extract.tax_tables reads them only then
    if settings.void_sync_enabled:
        on.add(VOIDS)
    if settings.payment_sync_enabled:
        on.add(PAYMENTS)
    if settings.po_lookback_days > 0:
        on.add(PURCHASE_ORDERS)
    if settings.todo_action_type is not None:
        on.add(TODOS)
    return on


@dataclass(frozen=True)
class Use:
    """What one sync does with one Autotask entity: the fields it reads, the fields its queries
    filter on (they must be queryable), the fields it writes (they must not be read-only), whether
    the write creates records, and the fields it does without when the tenant lacks them."""

    entity: str
    sync: str
    reads: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    creates: bool = False
    optional: tuple[str, ...] = ()

    def verbs(self) -> tuple[str, ...]:
        out = []
        if self.reads or self.filters:
            out.append("query")
        if self.writes:
            out.append("create" if self.creates else "update")
        return tuple(out)


# Companies.currencyID and taxRegionID come with Autotask's multi-currency and tax features: the
# invoice sync reads companies whole and does without them (CUR-01: no currency means the internal
# one; TAX-01: no region, no region-mapped tax code). The PO sync names currencyID in IncludeFields
# (VENDOR_FIELDS), where a missing field fails the query, so there it is required.
OPTIONAL_COMPANY_FIELDS = ("currencyID", "taxRegionID")
# INV-03's marker (webServiceDate) and the invoiceNumber that INV-04 (QBO's number), INV-20 (ERROR)
# and the invoiceNumber marker write; a PO's External PO Number (PO-07).
INVOICE_WRITES = ("webServiceDate", ERROR_MARKER_FIELDS[INVOICE][1])
PO_WRITES = (ERROR_MARKER_FIELDS[PURCHASE_ORDER][1],)
# The fields AutotaskHook.create_todo sets (only in code there), but companyID: the to-do is created
# through its parent (Companies/0/ToDos), which sets it; on the child it is read-only.
TODO_FIELDS = ("actionType", "assignedToResourceID", "activityDescription", "startDateTime", "endDateTime")
LOB_FIELDS = ("id", "name")  # OrganizationalLevel1s/2s as extract.lines_of_business reads them
LOB_ASSOCIATION_FIELDS = ("id", "organizationalLevel1ID", "organizationalLevel2ID")

# Every Autotask entity the syncs use, from their own constants; filters and the fields read from
# whole records (Invoices, Companies) are only in code and named here.
USES: tuple[Use, ...] = (
    Use(
        "Invoices",
        INVOICES,
        reads=(
            "id",
            "invoiceNumber",
            "companyID",
            "invoiceDateTime",
            "invoiceTotal",
            "totalTaxValue",
            "paymentTerm",
            "isVoided",
        ),
        filters=("id", "invoiceDateTime", "isVoided"),  # extract.read_scope_invoices
        writes=INVOICE_WRITES,
    ),
    Use("BillingItems", INVOICES, reads=tuple(BILLING_ITEM_FIELDS), filters=("invoiceID",)),
    Use("BillingCodes", INVOICES, reads=tuple(BILLING_CODE_FIELDS), filters=("id",)),
    Use(
        "Companies",
        INVOICES,
        reads=("id", "companyName", *OPTIONAL_COMPANY_FIELDS),
        filters=("id",),
        optional=OPTIONAL_COMPANY_FIELDS,
    ),
    Use("OrganizationalLevel1s", INVOICES, reads=LOB_FIELDS),
    Use("OrganizationalLevel2s", INVOICES, reads=LOB_FIELDS),
    Use("OrganizationalLevelAssociations", INVOICES, reads=LOB_ASSOCIATION_FIELDS),
    Use("Currencies", INVOICES, reads=("id", "name", "isInternalCurrency")),  # extract.currencies
    Use("TaxCategories", INVOICE_TAXES, reads=("id", "name")),
    Use("TaxRegions", INVOICE_TAXES, reads=("id", "name")),
    Use("Invoices", VOIDS, reads=tuple(VOID_INVOICE_FIELDS), filters=("isVoided", "voidedDate")),  # voids.find
    Use("Invoices", PAYMENTS, reads=tuple(PAYMENT_INVOICE_FIELDS), filters=("id",), writes=("paidDate",)),
    Use(
        "PurchaseOrders",
        PURCHASE_ORDERS,
        reads=tuple(PO_FIELDS),
        filters=("id", "status", "createDateTime"),
        writes=PO_WRITES,
    ),
    Use("PurchaseOrderItems", PURCHASE_ORDERS, reads=tuple(PO_ITEM_FIELDS), filters=("orderID",)),
    Use("Products", PURCHASE_ORDERS, reads=tuple(PRODUCT_FIELDS), filters=("id",)),
    Use("Companies", PURCHASE_ORDERS, reads=tuple(VENDOR_FIELDS), filters=("id",)),
    Use("Currencies", PURCHASE_ORDERS, reads=tuple(CURRENCY_FIELDS)),
    Use("CompanyToDos", TODOS, writes=TODO_FIELDS, creates=True),  # through Companies/0/ToDos
)

# entityInformation's keys for each verb: what the API allows, what this API user may do.
VERB_KEYS = {
    "query": ("canQuery", "userAccessForQuery"),
    "update": ("canUpdate", "userAccessForUpdate"),
    "create": ("canCreate", "userAccessForCreate"),
}

# The measured part: the window's invoices read (one page) and the billing items pages read for them.
MEASURED_INVOICES = MAX_PAGE_SIZE
MEASURE_CHUNK = 100  # invoices per BillingItems ``in`` query (a chunk cut short by the cap is dropped)
MEASURE_MAX_CALLS = 10
MEASURED_INVOICE_FIELDS = ("id", "invoiceNumber", "invoiceTotal", "totalTaxValue", "companyID")
MEASURED_ITEM_FIELDS = ("invoiceID", "extendedPrice", "totalAmount", "taxDollars", "organizationalLevelAssociationID")

# The threshold estimate (README "Benchmarks": 1,051 Autotask calls for 1,017 invoices of 8 lines).
BENCH_ITEMS_PER_INVOICE = 8.0
# companies, billing codes, payment terms, 3 lines-of-business reads, currencies, 2 tax tables, 1 spare
REFERENCE_READS = 10


def check_autotask(run: RunInfo, autotask: AutotaskHook) -> list[Check]:
    """The Autotask checks of the preflight for ``run``'s settings and window (see the module doc)."""
    settings = run.parsed_settings
    try:
        threshold = autotask.threshold_information()
    except AtqboError as exc:
        return [
            blocking(
                PART,
                "Connection",
                f"Autotask did not answer atqbo's first call (ThresholdInformation): {exc}",
                f"fix the Airflow connection {settings.autotask_conn_id!r} (Admin > Connections: API user name, "
                "Secret, integration code), then run the preflight again",
            )
        ]
    checks = check_entities(autotask, settings)
    checks += guarded("PurchaseOrders.status picklist", lambda: [check_po_status(autotask, settings)])
    checks += guarded("Invoices.paymentTerm picklist", lambda: [check_payment_terms(autotask)])
    names: dict[str, str] = {}

    def lob_map() -> list[Check]:
        names.update(lines_of_business(autotask))
        return [check_lob_class_map(settings, names)]

    checks += guarded("Lines of business and lob_class_map", lob_map)
    restriction: list[str] | None = None

    def api_user() -> list[Check]:
        nonlocal restriction
        check, restriction = check_api_user_lines(autotask, settings, names)
        return [check]

    checks += guarded("API user's lines of business", api_user)
    measured: dict[str, Any] = {}

    def visible() -> list[Check]:
        measured.update(measure_visible_items(run, autotask))
        return [visible_items_check(run, measured, restriction)]

    checks += guarded("Billing items the API user sees", visible)
    checks += guarded(
        "Hourly request threshold", lambda: [check_threshold(run, autotask, threshold, measured.get("per_invoice"))]
    )
    return checks


def guarded(topic: str, make: Callable[[], list[Check]]) -> list[Check]:
    """``make()``'s checks, or a warning saying the check could not be made and why."""
    try:
        return make()
    except AtqboError as exc:
        return [
            warning(
                PART,
                topic,
                f"not checked: {exc}",
                "see the entity checks above for the API user's access; run the preflight again once Autotask "
                "answers this read",
            )
        ]


# -- 1. entities and fields ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EntityRead:
    """What Autotask answered about one entity: its ``entityInformation`` and its fields (None where
    the call failed, ``error`` saying how)."""

    info: dict[str, Any] | None
    fields: list[dict[str, Any]] | None
    error: str = ""


def uses_by_entity() -> dict[str, list[Use]]:
    by_entity: dict[str, list[Use]] = defaultdict(list)
    for use in USES:
        by_entity[use.entity].append(use)
    return dict(by_entity)


def read_entities(autotask: AutotaskHook) -> dict[str, EntityRead]:
    """entityInformation and its fields for every entity of USES: two GETs each (the fields cached
    by the hook for the picklists)."""
    read: dict[str, EntityRead] = {}
    for entity in uses_by_entity():
        try:
            info = autotask.entity_information(entity)
        except AutotaskError as exc:
            read[entity] = EntityRead(None, None, f"{entity}/entityInformation: {exc.message}")
            continue
        try:
            read[entity] = EntityRead(info, autotask.entity_fields(entity))
        except AutotaskError as exc:
            read[entity] = EntityRead(info, None, f"{entity}/entityInformation/fields: {exc.message}")
    return read


def check_entities(autotask: AutotaskHook, settings: Settings) -> list[Check]:
    return entity_checks(autotask.api_user_name, settings, read_entities(autotask))


def entity_checks(api_user: str, settings: Settings, read: dict[str, EntityRead]) -> list[Check]:
    """One check per entity with a problem (blocking when an enabled sync needs it, else a warning),
    and one ok summary of the others."""
    enabled = enabled_syncs(settings)
    checks: list[Check] = []
    fine: list[str] = []
    absent_optional: list[str] = []
    fields_checked = 0
    for entity, uses in uses_by_entity().items():
        problems, kinds, absent, count = entity_problems(entity, uses, read[entity])
        fields_checked += count
        absent_optional += absent
        if not problems:
            verbs = sorted({verb for use in uses if use.sync in enabled for verb in use.verbs()})
            if verbs:
                fine.append(f"{entity} ({', '.join(verbs)})")
            continue
        checks.append(entity_check(entity, problems, kinds, enabled))
    finding = (
        f"API user {api_user} may use the {len(fine)} Autotask entities the enabled syncs "
        f"({', '.join(sorted(enabled)) or 'none'}) need as they need them: {', '.join(fine) or 'none'}; "
        f"{fields_checked} field uses checked (present, queryable where atqbo filters, writable where it writes)"
    )
    if absent_optional:
        finding += (
            f". Not on this tenant, and not needed: {', '.join(sorted(set(absent_optional)))} (Autotask's "
            "multi-currency and tax features: invoices then go in the internal currency, without region tax codes)"
        )
    if checks:
        finding += f". {len(checks)} other entit{'y has' if len(checks) == 1 else 'ies have'} a problem (below)"
    return [ok(PART, "Entities and fields", finding), *checks]


def entity_problems(
    entity: str, uses: list[Use], read: EntityRead
) -> tuple[dict[str, set[str]], set[str], list[str], int]:
    """(problem -> the syncs it concerns, the kinds of problem, optional fields absent, field uses checked)."""
    problems: dict[str, set[str]] = defaultdict(set)
    kinds: set[str] = set()
    if read.info is None:
        for use in uses:
            problems[f"Autotask does not answer {read.error}"].add(use.sync)
        return problems, {"unreadable"}, [], 0
    for use in uses:
        for verb in use.verbs():
            can, access = VERB_KEYS[verb]
            if read.info.get(can) is False:
                problems[f"Autotask's API does not allow {verb} on {entity} ({can} false)"].add(use.sync)
                kinds.add("api")
            elif str(read.info.get(access, "")).strip().lower() == "none":
                problems[f"the API user may not {verb} {entity} ({access}: None)"].add(use.sync)
                kinds.add("access")
    if read.fields is None:
        for use in uses:
            problems[f"Autotask does not answer {read.error}"].add(use.sync)
        return problems, kinds | {"unreadable"}, [], 0
    fields = {str(f.get("name", "")).lower(): f for f in read.fields}
    absent: list[str] = []
    count = 0
    for use in uses:
        for name in dict.fromkeys((*use.reads, *use.filters, *use.writes)):
            count += 1
            field = fields.get(name.lower())
            if field is None:
                if name in use.optional:
                    absent.append(f"{entity}.{name}")
                else:
                    problems[f"no field {name}"].add(use.sync)
                    kinds.add("field")
                continue
            if name in use.filters and field.get("isQueryable") is False:
                problems[f"field {name} cannot be queried (isQueryable false), and atqbo filters on it"].add(use.sync)
                kinds.add("field")
            if name in use.writes and field.get("isReadOnly"):
                problems[f"field {name} is read-only (isReadOnly true), and atqbo writes it"].add(use.sync)
                kinds.add("field")
    return problems, kinds, absent, count


def entity_check(entity: str, problems: dict[str, set[str]], kinds: set[str], enabled: set[str]) -> Check:
    """Blocking when an enabled sync needs what is missing; a warning when only syncs that are off do."""
    needed = {sync for syncs in problems.values() for sync in syncs}
    finding = f"{entity}: " + "; ".join(
        f"{text} (needed by the {', '.join(sorted(s))})" for text, s in problems.items()
    )
    fixes = []
    if "access" in kinds:
        fixes.append(
            f"give the API user's security level the rights atqbo needs on {entity} ({SECURITY_PLACE}; the "
            "'API User (system)' security level has them all)"
        )
    if kinds & {"api", "field", "unreadable"}:
        fixes.append(
            f"this Autotask does not offer {entity} as atqbo uses it: check its version and the modules it has "
            "(Admin > Features & Settings), and tell atqbo's maintainers what it answered"
        )
    turn_off = "; ".join(f"{TURN_OFF[s]} for the {s}" for s in sorted(needed))
    if needed & enabled:
        fix = " or ".join(fixes) + f"; until then keep those syncs off in {SETTINGS_PLACE}: {turn_off}"
        return blocking(PART, f"Entity {entity}", finding, fix)
    fix = " or ".join(fixes) + f", before turning on the {', '.join(sorted(needed))} (now off: {turn_off})"
    return warning(PART, f"Entity {entity}", finding + "; the syncs that need it are off", fix)


# -- 2. picklists -------------------------------------------------------------------------------------


def picklist_values(autotask: AutotaskHook, entity: str, field: str) -> list[dict[str, Any]]:
    """A picklist's values as ``entityInformation/fields`` lists them (cached by the hook)."""
    return list(picklist_field(autotask.entity_fields(entity), entity, field).get("picklistValues") or [])


def check_po_status(autotask: AutotaskHook, settings: Settings) -> Check:
    """PurchaseOrders.status as the tenant has it (from the fields read for the entity check)."""
    try:
        values, problem = picklist_values(autotask, "PurchaseOrders", "status"), ""
    except AutotaskPicklistError as exc:
        values, problem = [], str(exc)
    return po_status_check(values, settings, problem)


def po_status_check(values: list[dict[str, Any]], settings: Settings, problem: str = "") -> Check:
    """PurchaseOrders.status must have SUBMITTED_LABEL (PO-01: the POs sent; matched without case),
    active: blocking when missing and the PO sync is on, a warning when it is off."""
    topic = "PurchaseOrders.status picklist"
    labels = [f"{v.get('label')}" + ("" if v.get("isActive", True) else " (inactive)") for v in values]
    wanted = SUBMITTED_LABEL.strip().lower()
    matches = [v for v in values if str(v.get("label", "")).strip().lower() == wanted]
    if matches and any(v.get("isActive", True) for v in matches):
        value = next(v for v in matches if v.get("isActive", True))["value"]
        return ok(
            PART,
            topic,
            f"has {SUBMITTED_LABEL!r} (value {value}), the status of the POs the PO sync sends (PO-01); "
            f"its {len(values)} labels: {listed(labels)}",
        )
    if matches:
        finding = (
            f"{SUBMITTED_LABEL!r} is there but inactive, so no purchase order can be submitted and the PO sync "
            f"finds none to send; its labels: {listed(labels)}"
        )
        fix = f"make the {SUBMITTED_LABEL!r} purchase order status active again in Autotask"
    else:
        finding = (
            f"has no label {SUBMITTED_LABEL!r}, the status of the POs the PO sync sends (PO-01), so the PO sync "
            f"would stop on its first run; the tenant's labels: {listed(labels) or 'none'}"
            + (f" ({problem})" if problem else "")
        )
        fix = (
            f"atqbo looks the status up by its label {SUBMITTED_LABEL!r} (any case) and has no setting for "
            f"another label: rename the status back to {SUBMITTED_LABEL!r} in Autotask (Admin > Features & "
            "Settings, the purchase order statuses)"
        )
    if settings.po_lookback_days > 0:
        return blocking(PART, topic, finding, fix + f", or set po_lookback_days to 0 in {SETTINGS_PLACE}")
    return warning(PART, topic, finding + "; the PO sync is off (po_lookback_days 0)", fix + " before turning it on")


def check_payment_terms(autotask: AutotaskHook) -> Check:
    """Invoices.paymentTerm: its labels (the QBO terms they match are checked in the QBO part)."""
    values = picklist_values(autotask, "Invoices", "paymentTerm")
    active = [str(v.get("label")) for v in values if v.get("isActive", True)]
    inactive = len(values) - len(active)
    return ok(
        PART,
        "Invoices.paymentTerm picklist",
        f"{len(active)} active payment terms: {listed(active) or 'none'}"
        + (f" (and {inactive} inactive)" if inactive else "")
        + "; an invoice's term goes to QBO by this label (payment_terms_match name)",
        detail="; ".join(f"{v.get('value')}: {v.get('label')}" for v in values),
    )


def check_lob_class_map(settings: Settings, names: dict[str, str]) -> Check:
    """Every lob_class_map key must be one of Autotask's "Division:Line of business" names, exactly
    (the invoice sync looks the line's name up as is): blocking when not, with the invoice sync on."""
    topic = "Lines of business and lob_class_map"
    there = sorted(set(names.values()))
    keys = list(settings.lob_class_map)
    unknown = [k for k in keys if k not in there]
    if not unknown:
        mapped = f"lob_class_map maps {len(keys)} of them" if keys else "lob_class_map is empty"
        return ok(
            PART,
            topic,
            f"Autotask has {len(there)} lines of business: {listed(there) or 'none'}; {mapped} (the other lines' "
            "invoice lines get default_class, or no class)",
        )
    folded = {n.lower().replace(" ", ""): n for n in there}
    said = []
    for key in unknown:
        near = folded.get(key.lower().replace(" ", ""))
        said.append(f"{key!r}" + (f" (Autotask spells it {near!r}; keys are matched exactly)" if near else ""))
    finding = (
        f"lob_class_map names {len(unknown)} line(s) of business Autotask does not have: {', '.join(said)}; "
        f"their invoice lines would get no class. Autotask's lines of business: {listed(there) or 'none'}"
    )
    fix = (
        f'correct the keys of lob_class_map in {SETTINGS_PLACE} to Autotask\'s "Division:Line of business" '
        f"names: {', '.join(there) or '(Autotask has none: empty the map)'}"
    )
    if settings.invoice_sync_enabled:
        return blocking(PART, topic, finding, fix)
    return warning(PART, topic, finding + "; the invoice sync is off", fix)


# -- 3. the API user's lines of business -----------------------------------------------------------------


def find_api_resource(autotask: AutotaskHook) -> dict[str, Any] | None:
    """The API user's Resources record: the REST API has no "who am I" call, so it is the resource whose
    email or userName is the connection's login (or userName its part before the @): one query."""
    login = autotask.api_user_name.strip()
    local = login.split("@", 1)[0]
    wanted = [eq("email", login), eq("userName", login)] + ([eq("userName", local)] if local != login else [])
    found = autotask.query_all(
        "Resources", [or_(*wanted)], include_fields=["id", "email", "userName", "firstName", "lastName"], max_records=10
    )
    for matches in (
        lambda r: str(r.get("email") or "").lower() == login.lower(),
        lambda r: str(r.get("userName") or "").lower() == login.lower(),
        lambda r: str(r.get("userName") or "").lower() == local.lower(),
    ):
        tier = [r for r in found if matches(r)]
        if len(tier) == 1:
            return tier[0]
        if tier:
            return None  # several resources answer to the login: atqbo does not guess
    return None


def check_api_user_lines(
    autotask: AutotaskHook, settings: Settings, names: dict[str, str]
) -> tuple[Check, list[str] | None]:
    """(the check, the lines the API user is restricted to: None when it is not, or it is not known).

    A resource associated with lines of business (OrganizationalResources) sees only the billing
    items of those lines and of none (docs/api-facts.md 5.3; sandbox/autotask/access.py).
    """
    topic = "API user's lines of business"
    login = autotask.api_user_name
    resource = find_api_resource(autotask)
    if resource is None:
        return (
            ok(
                PART,
                topic,
                f"not known: no single Autotask resource has the email or userName {login!r}, so atqbo cannot read "
                "its lines of business; the next check measures what it sees",
            ),
            None,
        )
    person = " ".join(str(resource.get(k) or "").strip() for k in ("firstName", "lastName")).strip()
    who = f"API user {login} (resource {resource['id']}{', ' + person if person else ''})"
    rows = autotask.query_all(
        "OrganizationalResources",
        [eq("resourceID", resource["id"])],
        include_fields=["resourceID", "organizationalLevelAssociationID"],
    )
    associations = sorted(
        {r["organizationalLevelAssociationID"] for r in rows if r.get("organizationalLevelAssociationID")}
    )
    if not associations:
        return ok(PART, topic, f"{who} has no line of business: it sees every billing item"), None
    lines = [names.get(str(a), f"association {a}") for a in associations]
    finding = (
        f"{who} is associated with {len(lines)} line(s) of business, so Autotask shows it only the billing items "
        f"of: {', '.join(lines)} (and those with no line of business); an invoice with lines of another line of "
        "business looks incomplete to atqbo, which does not send it (LINE-02)"
    )
    fix = (
        f"remove the API user's line-of-business associations ({SECURITY_PLACE}, its lines of business), or put an "
        f"API user without them in the Airflow connection {settings.autotask_conn_id!r}"
    )
    return warning(PART, topic, finding, fix), lines


def measure_visible_items(run: RunInfo, autotask: AutotaskHook) -> dict[str, Any]:
    """The window's invoices (at most MEASURED_INVOICES, not voided: the invoice sync's set) and, for
    each, whether the billing items the API user sees add up to its total less its tax (LINE-02's
    rule, ``before_tax_gap``). At most MEASURE_MAX_CALLS (+1) BillingItems pages: a chunk of invoices
    the cap cuts short is not measured."""
    settings = run.parsed_settings
    invoices = autotask.query_all(
        "Invoices",
        [gte("invoiceDateTime", run.start), lte("invoiceDateTime", run.end), eq("isVoided", False)],
        include_fields=MEASURED_INVOICE_FIELDS,
        max_records=MEASURED_INVOICES,
    )
    ids = [int(inv["id"]) for inv in invoices]
    items_of, unmeasured = read_items_capped(autotask, ids)
    incomplete = []
    measured = 0
    items = 0
    for invoice in invoices:
        invoice_id = int(invoice["id"])
        if invoice_id in unmeasured or number_or_none(invoice.get("invoiceTotal")) is None:
            continue
        mine = items_of.get(invoice_id, [])
        measured += 1
        items += len(mine)
        total, tax = cents(invoice.get("invoiceTotal")), cents(invoice.get("totalTaxValue"))
        amounts = [billed_amount(item) for item in mine]
        gap = before_tax_gap(amounts, total, tax, settings.rounding_tolerance)
        if gap is not None:
            incomplete.append(
                {
                    "label": f"{invoice.get('invoiceNumber') or 'no number'} (id {invoice_id})",
                    "items": len(mine),
                    "visible": sum(amounts, start=cents(0)),
                    "total": total,
                    "tax": tax,
                    "gap": gap,
                }
            )
    return {
        "invoices": len(invoices),
        "capped": len(invoices) >= MEASURED_INVOICES,
        "measured": measured,
        "unmeasured": len(unmeasured),
        "items": items,
        "incomplete": incomplete,
        "per_invoice": items / measured if measured else None,
    }


def read_items_capped(autotask: AutotaskHook, invoice_ids: list[int]) -> tuple[dict[int, list[dict]], set[int]]:
    """The billing items of ``invoice_ids`` by invoice, read MEASURE_CHUNK invoices a query until
    MEASURE_MAX_CALLS calls are spent (one page more at most); the invoices not read in full."""
    items_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    unmeasured: set[int] = set()
    spent_from = autotask.total_calls
    for start in range(0, len(invoice_ids), MEASURE_CHUNK):
        chunk = invoice_ids[start : start + MEASURE_CHUNK]
        if autotask.total_calls - spent_from >= MEASURE_MAX_CALLS:
            unmeasured.update(chunk)
            continue
        found: list[dict[str, Any]] = []
        complete = True
        for item in autotask.query("BillingItems", [in_("invoiceID", chunk)], include_fields=MEASURED_ITEM_FIELDS):
            found.append(item)
            if autotask.total_calls - spent_from > MEASURE_MAX_CALLS:
                complete = False
                break
        if not complete:
            unmeasured.update(chunk)
            continue
        for item in found:
            items_of[int(item["invoiceID"])].append(item)
    return items_of, unmeasured


def visible_items_check(run: RunInfo, measured: dict[str, Any], restriction: list[str] | None) -> Check:
    """ok when every measured invoice's visible billing items add up; else a warning naming them."""
    topic = "Billing items the API user sees"
    window = run.describe_window()
    scope = f"{measured['invoices']:,} not-voided invoices dated {window}" + (
        f" (the first {MEASURED_INVOICES} by id)" if measured["capped"] else ""
    )
    skipped = (
        f"; {measured['unmeasured']} not measured (at most {MEASURE_MAX_CALLS} pages of billing items are read)"
        if measured["unmeasured"]
        else ""
    )
    bad = measured["incomplete"]
    if not measured["invoices"]:
        return ok(PART, topic, f"no not-voided invoice is dated {window}: nothing to measure")
    if not bad:
        return ok(
            PART,
            topic,
            f"the {measured['items']:,} billing items the API user sees add up to the total less tax of each of the "
            f"{measured['measured']:,} invoices measured, of the {scope}{skipped}",
        )
    names = [b["label"] for b in bad]
    why = (
        "the API user sees only the billing items of its lines of business (previous check)"
        if restriction
        else "the billing items the API user can read do not add up to them"
    )
    finding = (
        f"{len(bad)} of the {measured['measured']} invoices measured, of the {scope}, have billing items that do "
        f"not add up to their total less tax for the API user: {listed(names)}; {why}, so atqbo will not send "
        "them (LINE-02)"
        f"{skipped}"
    )
    if restriction:
        fix = f"remove the API user's line-of-business associations ({SECURITY_PLACE}), or use an API user without them"
    else:
        fix = (
            "open each invoice in Autotask and compare its items with its total; if the API user cannot see some of "
            f"its lines, give it access to every line of business ({SECURITY_PLACE})"
        )
    detail = "visible vs all billing items of the window's invoices: " + "; ".join(
        f"{b['label']}: {b['items']} visible item(s) {money_text(b['visible'])} before tax vs invoice "
        f"{money_text(b['total'])} less tax {money_text(b['tax'])} = {money_text(b['total'] - b['tax'])} "
        f"(difference {b['gap']:+})"
        for b in bad
    )
    return warning(PART, topic, finding, fix, detail)


# -- 4. the hourly threshold ----------------------------------------------------------------------------


def last_full_month(end: datetime) -> tuple[datetime, datetime]:
    """[first, next month's first) of the last full calendar month before ``end``."""
    month_end = end.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month_start = (month_end - timedelta(days=1)).replace(day=1)
    return month_start, month_end


def estimate_run_calls(invoices: int, items_per_invoice: float | None = None) -> dict[str, int]:
    """The Autotask calls of an invoice run sending ``invoices`` invoices, as the benchmark measured
    them (README "Benchmarks": 1,051 for 1,017 invoices of 8 lines): one write-back PATCH per invoice
    (Autotask has no bulk update), the invoices and their billing items read in pages of 500, about
    ten reference reads, and one budget check (ThresholdInformation) per 200 calls."""
    per_invoice = BENCH_ITEMS_PER_INVOICE if items_per_invoice is None else items_per_invoice
    parts = {
        "write_backs": invoices,
        "invoice_pages": math.ceil(invoices / MAX_PAGE_SIZE),
        "item_pages": math.ceil(invoices * per_invoice / MAX_PAGE_SIZE),
        "reference_reads": REFERENCE_READS if invoices else 0,
    }
    calls = sum(parts.values())
    parts["budget_checks"] = math.ceil(calls / MAX_CALLS_BETWEEN_BUDGET_CHECKS)
    parts["total"] = calls + parts["budget_checks"]
    return parts


def threshold_check(
    threshold: dict[str, Any], share: float, month: str, invoices: int, items_per_invoice: float | None
) -> Check:
    """A warning when a month-start run would need more than atqbo's hourly share (it paces itself and
    takes more than an hour); ok otherwise; never blocking."""
    topic = "Hourly request threshold"
    limit = int(threshold.get("externalRequestThreshold") or 0)
    used = int(threshold.get("currentTimeframeRequestCount") or 0)
    frame = threshold.get("requestThresholdTimeframe") or 60
    budget = int(limit * share)
    parts = estimate_run_calls(invoices, items_per_invoice)
    per_invoice = BENCH_ITEMS_PER_INVOICE if items_per_invoice is None else items_per_invoice
    formula = (
        f"{parts['write_backs']:,} write-back PATCHes (one per invoice) + {parts['invoice_pages']} invoice page(s) + "
        f"{parts['item_pages']} billing-item page(s) ({per_invoice:.1f} items per invoice, 500 a page) + "
        f"{parts['reference_reads']} reference reads + {parts['budget_checks']} budget check(s) (one per 200 calls)"
    )
    finding = (
        f"Autotask allows {limit:,} requests per {frame} minutes ({used:,} used now); atqbo may use "
        f"{share:.0%} of them (autotask_budget_share): {budget:,}. A month-start run sending the {invoices:,} "
        f"invoices dated {month} needs about {parts['total']:,} calls = {formula}"
    )
    if limit <= 0:
        return ok(PART, topic, f"Autotask reports no request threshold; {finding}")
    if parts["total"] > budget:
        hours = parts["total"] / budget if budget else float("inf")
        return warning(
            PART,
            topic,
            f"{finding}: more than atqbo's share, so it will pace itself and the run will take about "
            f"{math.ceil(hours)} hours",
            f"nothing has to change; to finish sooner raise autotask_budget_share in {SETTINGS_PLACE} if the "
            "tenant's other integrations leave room",
        )
    return ok(PART, topic, f"{finding}: within atqbo's share ({parts['total'] / budget:.0%} of it)")


def check_threshold(
    run: RunInfo, autotask: AutotaskHook, threshold: dict[str, Any], items_per_invoice: float | None
) -> Check:
    """ThresholdInformation (read first) and one count of the last full month's invoices."""
    start, end = last_full_month(run.end)
    count = autotask.count(
        "Invoices", [gte("invoiceDateTime", start), lt("invoiceDateTime", end), eq("isVoided", False)]
    )
    return threshold_check(
        threshold, run.parsed_settings.autotask_budget_share, f"{start:%B %Y}", count, items_per_invoice
    )
