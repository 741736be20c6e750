"""The invoice sync: Autotask invoices -> QuickBooks Online, exactly once (BEY-01).

Each step is one task of ``atqbo_invoices`` and reads/writes this run's staged data in the
ledger (XCom carries only the run key and counts):

1. ``extract_invoices``: unsynced Autotask invoices of the window and everything they reference,
   in bulk (``in`` queries in chunks, never one read per invoice).
2. ``plan_invoice_run``: the pure transform (``atqbo.transform.invoices.plan_invoices``).
3. ``load_invoices``: find or create customers, items, terms and classes, then create the
   invoices with QBO batch requests of up to 30. Before anything is created, the run resolves
   what QBO already has: atqbo's own invoices in the window (recognised by their PrivateNote),
   the ledger's records, and each create carries a ``requestid`` derived from the Autotask id,
   written to the ledger *before* the request. A retry, a crash or a re-run therefore adopts
   what exists instead of creating it again.
4. ``write_back_markers``: the Autotask marker (``webServiceDate`` or ``invoiceNumber``), QBO's
   number when QBO numbers (INV-04), ``ERROR`` for failures in invoiceNumber mode (INV-20).
5. ``report_invoice_run``: the summary (INV-21); it gives back the invoice sync lock.

The first task of a run stages its ``InvoiceScope`` (``begin_invoice_run``): the scheduled sync's
is the default (the window's unsynced invoices); the invoice tools run these same steps with
another one: a dry run with a numbering option (``atqbo_preview_invoices``), alternate report
recipients (``atqbo_sync_now``), or one invoice by id with Overwrite (``atqbo_copy_invoice``).
Every run that can write holds the ledger's invoice sync lock from its first task to its report,
so two of them never create invoices at the same time.

A failed record never fails the run: it becomes a ``failed`` row, an error-log entry and (in
invoiceNumber mode) an ERROR marker. Only what stops the whole run (settings, authentication,
an unreachable API) raises.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from atqbo.exceptions import AtqboConfigError
from atqbo.hooks.autotask import AutotaskError, AutotaskHook, eq, gte, in_, lte, not_exist
from atqbo.hooks.qbo import (
    MAX_BATCH_ITEMS,
    QboDuplicateDocNumber,
    QboFault,
    QboObjectNotFound,
    QboPeriodClosed,
    QuickBooksOnlineHook,
    quote,
)
from atqbo.ledger import Ledger
from atqbo.locks import hold_sync_lock, release_sync_lock
from atqbo.money import cents_text
from atqbo.notify import ReportRow, RunReport
from atqbo.qbo_names import chunks, create_names, find_names
from atqbo.qbo_notes import INVOICE_NOTE
from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.transform.invoices import (
    GENERIC_ITEM_NAME,
    TAX_ITEM_NAME,
    AutotaskInvoiceData,
    InvoicePlan,
    PlannedLine,
    QboCompany,
    QboRefs,
    build_invoice_payload,
    class_names_needed,
    compare_totals,
    customer_payload,
    item_keys_needed,
    item_payload,
    plan_invoices,
    qbo_company_from_preferences,
)

log = logging.getLogger(__name__)

ENTITY = "invoice"
AUTOTASK_IN_CHUNK = 500  # values per `in` filter (Autotask pages hold 500 records)
AUTOTASK_WRITERS = 3  # Autotask allows 3 concurrent calls per endpoint and integration

INVOICE_FIELDS = [
    "id",
    "companyID",
    "invoiceNumber",
    "invoiceDateTime",
    "dueDate",
    "fromDate",
    "toDate",
    "invoiceTotal",
    "totalTaxValue",
    "orderNumber",
    "paymentTerm",
    "comments",
    "isVoided",
    "webServiceDate",
]
BILLING_ITEM_FIELDS = [
    "id",
    "invoiceID",
    "companyID",
    "billingCodeID",
    "itemName",
    "description",
    "quantity",
    "rate",
    "extendedPrice",
    "totalAmount",
    "taxDollars",
    "itemDate",
    "organizationalLevelAssociationID",
    "purchaseOrderNumber",
]
COMPANY_FIELDS = [
    "id",
    "companyName",
    "address1",
    "address2",
    "city",
    "state",
    "postalCode",
    "phone",
    "billingAddress1",
    "billingAddress2",
    "billToCity",
    "billToState",
    "billToZipCode",
    "userDefinedFields",
]
BILLING_CODE_FIELDS = ["id", "name", "externalNumber", "description", "unitPrice", "isActive"]


def invoice_requestid(autotask_id: int, generation: int) -> str:
    """The idempotency key of an invoice's create: the same for every retry and re-run."""
    return f"atqbo-inv-{autotask_id}-g{generation}"


# -- 0. the run's scope -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceScope:
    """Which invoices a run of these steps works on, and how; staged by the run's first task.

    The default is the scheduled sync. The tools change only what they must, so they are the sync
    itself, not a second implementation of it.
    """

    tool: str = "sync"  # "sync", "preview", "sync_now" or "copy": the wording of reasons and report
    title: str = "atqbo invoices"
    # Explicit invoices (copy): these, whatever their marker and date, instead of the window's unsynced.
    autotask_ids: tuple[int, ...] = ()
    # Create a new QBO invoice even when one exists: no adoption, a new generation (so a new requestid).
    overwrite: bool = False
    notes: tuple[str, ...] = ()  # run-level lines for the report: what the tool was asked to do
    always_email: bool = False  # someone triggered it and waits for an answer, even "nothing to do"

    def to_doc(self) -> dict[str, Any]:
        return {**asdict(self), "autotask_ids": list(self.autotask_ids), "notes": list(self.notes)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> InvoiceScope:
        doc = doc or {}
        ids, notes = tuple(doc.get("autotask_ids") or ()), tuple(doc.get("notes") or ())
        return cls(**{**doc, "autotask_ids": ids, "notes": notes})


def begin_invoice_run(run: RunInfo, ledger: Ledger, scope: InvoiceScope | None = None) -> None:
    """The first task's part: the ledger schema, the invoice sync lock, the staged scope.

    A run that can write (not a dry run) takes the lock or raises ``SyncBusy`` naming the run that
    holds it, before it stages anything; ``report_invoice_run`` (or the DAG's failure callback)
    gives it back.
    """
    ledger.create_schema()
    locked = not run.dry_run
    if locked:
        hold_sync_lock(run, ledger)
    try:
        _stage_scope(run, ledger, scope or InvoiceScope())
    except BaseException:
        if locked:
            release_sync_lock(run, ledger)
        raise


def staged_scope(run: RunInfo, ledger: Ledger) -> InvoiceScope:
    return InvoiceScope.from_doc(ledger.stage_get(run.run_key, "scope").get("scope"))


def _stage_scope(run: RunInfo, ledger: Ledger, scope: InvoiceScope) -> None:
    ledger.stage_put(run.run_key, "scope", {"scope": scope.to_doc()})


def lock_skip_message(owner: str) -> str:
    """Why a scheduled run does nothing while a sync-now or copy run (the lock's ``owner``) creates invoices."""
    dag_id, _, run_id = owner.partition("/")
    return (
        f"{dag_id} run {run_id!r} holds the invoice sync lock (it is creating invoices right now), so this "
        "scheduled run does nothing; the next scheduled run picks up whatever is left"
    )


# -- 1. extract -------------------------------------------------------------------------------------


def extract_invoices(run: RunInfo, autotask: AutotaskHook, ledger: Ledger) -> dict[str, int]:
    """Stage the scope's invoices and what they reference; return counts.

    The scope's explicit ids are read whatever their marker and date (an id Autotask does not have
    stops the run before anything is written); otherwise the window's unsynced, not voided invoices.
    """
    settings = run.parsed_settings
    scope = staged_scope(run, ledger)
    if scope.autotask_ids:
        invoices = autotask.get_many("Invoices", scope.autotask_ids, include_fields=INVOICE_FIELDS)
        missing = sorted(set(scope.autotask_ids) - {int(inv["id"]) for inv in invoices})
        if missing:
            raise AtqboConfigError(
                f"Autotask has no invoice with id {', '.join(str(i) for i in missing)}; nothing was written. "
                "Fix: check the Autotask invoice id, then trigger again"
            )
    else:
        filters = [
            gte("invoiceDateTime", run.start.isoformat()),
            lte("invoiceDateTime", run.end.isoformat()),
            eq("isVoided", False),
            not_exist(settings.invoice_marker_field),  # INV-03: "unsynced" is Autotask's word, not ours
        ]
        invoices = autotask.query_all("Invoices", filters, include_fields=INVOICE_FIELDS)
    invoice_ids = [inv["id"] for inv in invoices]
    items: list[dict[str, Any]] = []
    for chunk in chunks(invoice_ids, AUTOTASK_IN_CHUNK):
        items += autotask.query_all("BillingItems", [in_("invoiceID", chunk)], include_fields=BILLING_ITEM_FIELDS)
    company_ids = sorted({inv["companyID"] for inv in invoices})
    code_ids = sorted({i["billingCodeID"] for i in items if i.get("billingCodeID")})
    companies = autotask.get_many("Companies", company_ids, include_fields=COMPANY_FIELDS) if company_ids else []
    codes = autotask.get_many("BillingCodes", code_ids, include_fields=BILLING_CODE_FIELDS) if code_ids else []
    reference = {
        "companies": {str(c["id"]): c for c in companies},
        "billing_codes": {str(c["id"]): c for c in codes},
        "payment_terms": autotask.picklist("Invoices", "paymentTerm") if invoices else {},
        "lines_of_business": _lines_of_business(autotask) if items else {},
    }
    by_invoice: dict[str, dict[str, Any]] = {str(inv["id"]): {"invoice": inv, "items": []} for inv in invoices}
    for item in items:
        by_invoice[str(item["invoiceID"])]["items"].append(item)
    ledger.stage_clear(run.run_key)  # a retried extract starts clean...
    _stage_scope(run, ledger, scope)  # ...but keeps what the first task decided
    ledger.stage_put(run.run_key, "invoice", by_invoice)
    ledger.stage_put(run.run_key, "reference", reference)
    log.info(
        "Extracted %d invoices with %d billing items (%d Autotask calls so far)",
        len(invoices),
        len(items),
        autotask.total_calls,
    )
    return {"invoices": len(invoices), "billing_items": len(items), "autotask_calls": autotask.total_calls}


def _lines_of_business(autotask: AutotaskHook) -> dict[str, str]:
    """organizationalLevelAssociationID -> "Division:Line of business" (three small reads)."""
    everything = [gte("id", 0)]
    level1 = {r["id"]: r["name"] for r in autotask.query_all("OrganizationalLevel1s", everything)}
    level2 = {r["id"]: r["name"] for r in autotask.query_all("OrganizationalLevel2s", everything)}
    out = {}
    for assoc in autotask.query_all("OrganizationalLevelAssociations", everything):
        division, lob = level1.get(assoc.get("organizationalLevel1ID")), level2.get(assoc.get("organizationalLevel2ID"))
        if division and lob:
            out[str(assoc["id"])] = f"{division}:{lob}"
    return out


def _staged_data(run: RunInfo, ledger: Ledger) -> AutotaskInvoiceData:
    staged = ledger.stage_get(run.run_key, "invoice")
    reference = ledger.stage_get(run.run_key, "reference")
    bundles = [staged[k] for k in sorted(staged, key=int)]
    return AutotaskInvoiceData(
        invoices=[b["invoice"] for b in bundles],
        billing_items=[item for b in bundles for item in b["items"]],
        companies={int(k): v for k, v in reference.get("companies", {}).items()},
        billing_codes={int(k): v for k, v in reference.get("billing_codes", {}).items()},
        payment_terms={int(k): v for k, v in reference.get("payment_terms", {}).items()},
        lines_of_business={int(k): v for k, v in reference.get("lines_of_business", {}).items()},
    )


# -- 2. transform -----------------------------------------------------------------------------------


def plan_invoice_run(run: RunInfo, ledger: Ledger, today: date | None = None) -> dict[str, int]:
    """Plan every staged invoice (pure transform) and stage the plans."""
    plans = plan_invoices(_staged_data(run, ledger), run.parsed_settings, today or date.today())
    ledger.stage_put(run.run_key, "plan", {str(p.autotask_id): plan_to_doc(p) for p in plans})
    counts: dict[str, int] = {}
    for plan in plans:
        counts[plan.decision] = counts.get(plan.decision, 0) + 1
    return counts


def plan_to_doc(plan: InvoicePlan) -> dict[str, Any]:
    return asdict(plan)


def plan_from_doc(doc: dict[str, Any]) -> InvoicePlan:
    def dec(v: Any) -> Decimal | None:
        return None if v is None else Decimal(str(v))

    def day(v: Any) -> date | None:
        return None if v is None else date.fromisoformat(v)

    lines = tuple(
        PlannedLine(
            **{
                **line,
                "quantity": dec(line["quantity"]),
                "unit_price": dec(line["unit_price"]),
                "amount": dec(line["amount"]),
                "service_date": day(line["service_date"]),
            }
        )
        for line in doc.get("lines") or ()
    )
    return InvoicePlan(
        **{
            **doc,
            "lines": lines,
            "warnings": tuple(doc.get("warnings") or ()),
            "total": dec(doc["total"]),
            "tax": dec(doc["tax"]),
            "txn_date": day(doc.get("txn_date")),
            "due_date": day(doc.get("due_date")),
        }
    )


# -- 3. load ----------------------------------------------------------------------------------------


class _Outcomes:
    """This run's per-invoice results, staged for write-back and the report."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}

    def add(
        self,
        plan: InvoicePlan,
        outcome: str,
        *,
        qbo: dict[str, Any] | None = None,
        reason: str = "",
        fix: str = "",
        marker: str | None = None,
    ) -> None:
        """``marker``: what write-back does in Autotask: "synced", "error" or None (nothing)."""
        self.rows[plan.autotask_id] = {
            "outcome": outcome,
            "autotask_id": plan.autotask_id,
            "reference": plan.invoice_number or str(plan.autotask_id),
            "company": plan.company_name,
            "qbo_id": (qbo or {}).get("Id"),
            "qbo_number": (qbo or {}).get("DocNumber"),
            "autotask_total": str(plan.total),
            "qbo_total": None if not qbo or qbo.get("TotalAmt") is None else cents_text(qbo["TotalAmt"]),
            "reason": reason,
            "fix": fix,
            "marker": marker,
            "warnings": list(plan.warnings),
            # what a failure is remembered by: the same content failing again is not retried (webServiceDate mode)
            "payload_hash": failure_hash(plan),
        }

    def warn(self, autotask_id: int, *messages: str) -> None:
        self.rows[autotask_id]["warnings"] += [m for m in messages if m]


def load_invoices(run: RunInfo, qbo: QuickBooksOnlineHook, ledger: Ledger) -> dict[str, int]:
    """Resolve, then create what is missing in QBO; stage one outcome per planned invoice."""
    settings = run.parsed_settings
    scope = staged_scope(run, ledger)
    plans = [plan_from_doc(d) for _, d in sorted(ledger.stage_get(run.run_key, "plan").items())]
    reference = ledger.stage_get(run.run_key, "reference")
    companies = reference.get("companies", {})
    codes = reference.get("billing_codes", {})
    outcomes = _Outcomes()
    notes: list[str] = []

    for plan in plans:
        if plan.decision == "skip":
            outcomes.add(plan, "skipped", reason=plan.reason)
        elif plan.decision == "error":
            record = ledger.get_sync_record(ENTITY, plan.autotask_id)
            # an invoice asked for by id is tried again, whatever happened to it before
            if not scope.autotask_ids and _failed_before(plan, record, settings):
                outcomes.add(plan, "skipped", reason=_FAILED_BEFORE.format(error=plan.reason))
            else:
                outcomes.add(plan, "failed", reason=plan.reason, fix=plan.fix, marker="error")
    to_send = [p for p in plans if p.decision == "send"]
    if to_send:
        company = qbo_company_from_preferences(qbo.preferences(), settings)
        marked = _marked_in_autotask(ledger.stage_get(run.run_key, "invoice"), settings)
        to_create, older = _resolve_existing(run, qbo, ledger, to_send, outcomes, scope, marked)
        if to_create:
            refs, failures, warnings = _find_or_create_references(run, qbo, to_create, companies, codes, company, notes)
            for plan in to_create:
                if plan.autotask_id in failures:
                    reason, fix = failures[plan.autotask_id]
                    outcomes.add(plan, "failed", reason=reason, fix=fix, marker="error")
            ready = [p for p in to_create if p.autotask_id not in failures]
            _create_invoices(run, qbo, ledger, ready, refs, warnings, company, outcomes, older)

    if not run.dry_run:
        _record_failures(run, ledger, outcomes)
    ledger.stage_put(run.run_key, "outcome", {str(k): v for k, v in outcomes.rows.items()})
    ledger.stage_put(run.run_key, "notes", {"load": notes})
    counts: dict[str, int] = {}
    for row in outcomes.rows.values():
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    return counts


def _resolve_existing(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    ledger: Ledger,
    plans: list[InvoicePlan],
    outcomes: _Outcomes,
    scope: InvoiceScope,
    marked: set[int],
) -> tuple[list[InvoicePlan], dict[int, dict[str, Any]]]:
    """BEY-01: adopt the invoices QBO already has; return the plans that still need a create and,
    with Overwrite, the QBO invoice that each of those new copies doubles (by Autotask id).

    ``marked``: the Autotask ids whose marker is set already (an invoice asked for by id); adopting
    them writes no marker again.
    """
    settings = run.parsed_settings
    existing = find_atqbo_invoice_copies(qbo, [p.txn_date for p in plans if p.txn_date])
    to_create: list[InvoicePlan] = []
    older: dict[int, dict[str, Any]] = {}
    for plan in plans:
        record = ledger.get_sync_record(ENTITY, plan.autotask_id)
        found = _latest_copy(existing.get(plan.autotask_id, []), record)
        if found is None and record and record["status"] == "SYNCED" and record["qbo_id"]:
            found = _read_invoice(qbo, record["qbo_id"])  # moved out of the window by a QBO user?
            if found is None:
                # Deleted in QBO and the marker cleared in Autotask: the user wants it sent again.
                plan = replace(
                    plan,
                    warnings=plan.warnings
                    + (
                        f"QBO invoice {record['qbo_number'] or record['qbo_id']} recorded for this invoice no longer "
                        "exists in QBO; a new one is created",
                    ),
                )
                to_create.append(plan)
                continue
        made_by_this_run = bool(record and record["status"] == "SYNCED" and record.get("run_id") == run.run_id)
        if found is not None and scope.overwrite and not made_by_this_run:  # (a retried task adopts its own copy)
            older[plan.autotask_id] = found  # a second copy is wanted: named in the report, not adopted
            to_create.append(plan)
            continue
        if found is not None:
            is_marked = plan.autotask_id in marked
            outcomes.add(
                plan,
                "matched",
                qbo=found,
                marker=None if is_marked else "synced",
                reason=matched_reason(scope, describe_qbo_invoice(found), run.dry_run, is_marked),
            )
            if not run.dry_run:
                ledger.set_sync_status(
                    ENTITY,
                    plan.autotask_id,
                    "SYNCED",
                    qbo_id=found["Id"],
                    qbo_number=found.get("DocNumber"),
                    run_id=run.run_id,
                )
            continue
        if not scope.autotask_ids and _failed_before(plan, record, settings):
            outcomes.add(plan, "skipped", reason=_FAILED_BEFORE.format(error=record["last_error"]))
            continue
        to_create.append(plan)
    return to_create, older


def matched_reason(scope: InvoiceScope, qbo_invoice: str, dry_run: bool, marked: bool) -> str:
    """What the report says of an invoice QBO has already (``qbo_invoice`` names it)."""
    if scope.autotask_ids:
        reason = f"already in QBO as {qbo_invoice}; no copy was made (trigger again with Overwrite for a second copy)"
        return reason if marked or dry_run else reason + "; Autotask marker written"
    then = "the next run only writes the Autotask marker" if dry_run else "Autotask marker written"
    return f"already in QBO as {qbo_invoice} (created by an earlier atqbo run); {then}"


def describe_qbo_invoice(invoice: dict[str, Any]) -> str:
    """``QBO invoice 1042 (Id 187)``, and whether QBO voided it: how a report names a QBO invoice."""
    number = (
        f"QBO invoice {invoice['DocNumber']} (Id {invoice['Id']})"
        if invoice.get("DocNumber")
        else (f"QBO invoice Id {invoice['Id']}")
    )
    voided = str(invoice.get("PrivateNote") or "").startswith("Voided")
    return number + (", voided in QBO" if voided else "")


def _latest_copy(copies: list[dict[str, Any]], record: dict[str, Any] | None) -> dict[str, Any] | None:
    """Of atqbo's QBO invoices for one Autotask invoice, the one the ledger names (the latest copy
    after an Overwrite), else the first."""
    if record and record.get("qbo_id"):
        for invoice in copies:
            if str(invoice["Id"]) == str(record["qbo_id"]):
                return invoice
    return copies[0] if copies else None


def _marked_in_autotask(staged: dict[str, Any], settings: Settings) -> set[int]:
    """Autotask ids whose marker field holds a value other than the ERROR marker (only an invoice
    asked for by id can be extracted so)."""
    out = set()
    for bundle in staged.values():
        value = bundle["invoice"].get(settings.invoice_marker_field)
        if value and str(value).strip().upper() != "ERROR":
            out.add(int(bundle["invoice"]["id"]))
    return out


_FAILED_BEFORE = (
    "failed before with the same content ({error}); see the error log. Change the invoice in Autotask "
    "or retry it from the error log"
)


def failure_hash(plan: InvoicePlan) -> str:
    """What a failure is remembered by: the plan's content, or for a plan that never got that far its reason."""
    return plan.payload_hash or hashlib.sha256(plan.reason.encode()).hexdigest()


def _failed_before(plan: InvoicePlan, record: dict[str, Any] | None, settings: Settings) -> bool:
    """In webServiceDate mode a failed invoice stays "unsynced" in Autotask: without this it would
    fail and be reported again every 15 minutes until someone changes it (invoiceNumber mode has
    its ERROR marker for that, which the user clears to retry)."""
    return bool(
        settings.invoice_marker_field == "webServiceDate"
        and record
        and record["status"] == "ERROR"
        and record["payload_hash"] == failure_hash(plan)
    )  # a retry from the error log (TOOL-08) puts the record back to PENDING


def find_atqbo_invoices(qbo: QuickBooksOnlineHook, days: Iterable[date]) -> dict[int, dict[str, Any]]:
    """atqbo's invoices in QBO dated on any of ``days``, by Autotask id (from their PrivateNote)."""
    return {autotask_id: copies[0] for autotask_id, copies in find_atqbo_invoice_copies(qbo, days).items()}


def find_atqbo_invoice_copies(qbo: QuickBooksOnlineHook, days: Iterable[date]) -> dict[int, list[dict[str, Any]]]:
    """Every atqbo invoice in QBO dated on any of ``days``, by Autotask id, oldest first (an
    Overwrite copy makes two)."""
    days = sorted(set(days))
    if not days:
        return {}
    where = [f"TxnDate >= {quote(days[0].isoformat())}", f"TxnDate <= {quote(days[-1].isoformat())}"]
    found: dict[int, list[dict[str, Any]]] = {}
    for invoice in qbo.query_all("Invoice", where=where, order_by="Id"):
        autotask_id = INVOICE_NOTE.autotask_id(invoice.get("PrivateNote"))
        if autotask_id is not None:
            found.setdefault(autotask_id, []).append(invoice)
    return found


def _read_invoice(qbo: QuickBooksOnlineHook, qbo_id: str) -> dict[str, Any] | None:
    try:
        return qbo.read("Invoice", qbo_id)
    except QboObjectNotFound:
        return None


def _find_or_create_references(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    plans: list[InvoicePlan],
    companies: dict[str, Any],
    codes: dict[str, Any],
    company: QboCompany,
    notes: list[str],
) -> tuple[dict[int, QboRefs], dict[int, tuple[str, str]], dict[int, list[str]]]:
    """Customers, items, terms and classes for ``plans``: found, or created (INV-05..09).

    Returns the refs of each plan that can be sent, (reason, fix) of each that cannot, and
    warnings per plan, all by Autotask id.
    """
    settings = run.parsed_settings
    failures: dict[int, tuple[str, str]] = {}

    customers = find_names(qbo, "Customer", "DisplayName", {p.customer_name for p in plans}, active_only=False)
    missing_customers = {p.customer_name: p for p in plans if p.customer_name.lower() not in customers}
    if missing_customers:
        owners = _name_owners(qbo, missing_customers)
        creatable = {}
        for name, plan in missing_customers.items():
            if name.lower() in owners:
                continue
            creatable[name] = customer_payload(companies[str(plan.company_id)], name, settings)
        created, faults = create_names(
            qbo, "Customer", "DisplayName", creatable, run_id=run.run_id, dry_run=run.dry_run
        )
        customers.update(created)
        for plan in plans:
            name = plan.customer_name
            if name.lower() in owners:
                failures[plan.autotask_id] = (
                    f"QBO already has a {owners[name.lower()]} named {name!r}; QBO names must be unique across "
                    "customers, vendors and employees, so the customer cannot be created",
                    f"rename the {owners[name.lower()]} in QBO or the company in Autotask, then clear the marker",
                )
            elif name in faults:
                failures[plan.autotask_id] = (
                    f"the QBO customer {name!r} could not be created: {faults[name]}",
                    "fix what QBO names, then clear the marker (or retry from the error log)",
                )
    for plan in plans:
        found = customers.get(plan.customer_name.lower())
        if plan.autotask_id not in failures and found is not None and not found.get("Active", True):
            failures[plan.autotask_id] = (
                f"the QBO customer {plan.customer_name!r} is inactive",
                "make the customer active in QBO, then clear the marker",
            )

    needed_items = {p.autotask_id: item_keys_needed(p, company) for p in plans}
    code_by_key = {key: code for keys in needed_items.values() for key, code in keys.items()}
    items = find_names(qbo, "Item", "Name", set(code_by_key), active_only=True)
    missing_items = sorted(k for k in code_by_key if k.lower() not in items)
    item_alias: dict[str, str] = {}
    if missing_items:
        generic = {settings.default_item_name or GENERIC_ITEM_NAME, TAX_ITEM_NAME}
        to_create = [k for k in missing_items if settings.missing_item_action == "create" or k in generic]
        if settings.missing_item_action == "default_item":
            default = find_names(qbo, "Item", "Name", {settings.default_item_name}, active_only=True)
            if default:
                item_alias = {k: settings.default_item_name for k in missing_items if k not in generic}
                items.update(default)
        if to_create:
            income = account_id_by_name(qbo, settings.new_item_income_account)
            if income is None:
                notes.append(
                    f"QBO has no account named {settings.new_item_income_account!r} "
                    "(new_item_income_account): missing items cannot be created"
                )
            else:
                payloads = {
                    key: item_payload(
                        key, codes.get(str(code_by_key.get(key))) if code_by_key.get(key) else None, income, settings
                    )
                    for key in to_create
                }
                created, faults = create_names(qbo, "Item", "Name", payloads, run_id=run.run_id, dry_run=run.dry_run)
                items.update(created)
                for key, fault in faults.items():
                    notes.append(f"QBO item {key!r} could not be created: {fault}")
    for plan in plans:
        if plan.autotask_id in failures:
            continue
        absent = sorted(k for k in needed_items[plan.autotask_id] if (item_alias.get(k) or k).lower() not in items)
        if absent:
            action = settings.missing_item_action
            failures[plan.autotask_id] = (
                f"no QBO item for {', '.join(repr(a) for a in absent)} (missing_item_action is {action!r})",
                "create the item in QBO (or use atqbo_copy_missing_items), check item_match_field, or set "
                "missing_item_action to 'create'; then clear the marker",
            )

    terms = {t["Name"]: t["Id"] for t in qbo.query_all("Term")} if any(p.term_name for p in plans) else {}
    classes = {c["Name"]: c["Id"] for c in qbo.query_all("Class")} if company.class_tracking != "none" else {}
    refs: dict[int, QboRefs] = {}
    warnings_by_id: dict[int, list[str]] = {}
    for plan in plans:
        if plan.autotask_id in failures:
            continue
        customer = customers[plan.customer_name.lower()]
        warnings = []
        if plan.term_name and plan.term_name not in terms:
            warnings.append(f"no payment term named {plan.term_name!r} in QBO; invoice created without terms (INV-08)")
        wanted = class_names_needed(plan, company, settings)  # a missing class is warned about by the build
        refs[plan.autotask_id] = QboRefs(
            customer_id=customer["Id"],
            items={key: items[(item_alias.get(key) or key).lower()]["Id"] for key in needed_items[plan.autotask_id]},
            term_id=terms.get(plan.term_name) if plan.term_name else None,
            classes={name: classes[name] for name in wanted if name in classes},
            customer_has_default_payment_method=bool(customer.get("PaymentMethodRef")),
            customer_email=(customer.get("PrimaryEmailAddr") or {}).get("Address"),
        )
        warnings_by_id[plan.autotask_id] = warnings
    return refs, failures, warnings_by_id


def _name_owners(qbo: QuickBooksOnlineHook, names: Iterable[str]) -> dict[str, str]:
    """Names already used by a vendor or employee (QBO names are unique across all three)."""
    owners = {}
    for entity in ("Vendor", "Employee"):
        for name in find_names(qbo, entity, "DisplayName", set(names), active_only=False):
            owners[name] = entity.lower()
    return owners


def account_id_by_name(qbo: QuickBooksOnlineHook, name: str) -> str | None:
    account = next(iter(qbo.query_all("Account", where=[qbo.where_eq("Name", name)])), None)
    return account["Id"] if account else None


def _create_invoices(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    ledger: Ledger,
    plans: list[InvoicePlan],
    refs: dict[int, QboRefs],
    ref_warnings: dict[int, list[str]],
    company: QboCompany,
    outcomes: _Outcomes,
    older: dict[int, dict[str, Any]] | None = None,
) -> None:
    """Create the invoices by batch; intent in the ledger before each request (BEY-01).

    ``older``: the QBO invoice each Overwrite copy doubles; those get a new generation and may
    repeat its DocNumber.
    """
    settings = run.parsed_settings
    older = older or {}
    payloads: dict[int, dict[str, Any]] = {}
    for plan in plans:
        payload, warnings = build_invoice_payload(plan, refs[plan.autotask_id], company, settings)
        payloads[plan.autotask_id] = payload
        outcomes.add(plan, "planned", reason="would be created in QBO", marker=None)
        outcomes.warn(plan.autotask_id, *warnings, *ref_warnings.get(plan.autotask_id, ()))
    if run.dry_run:
        for plan in plans:
            numbered = f"numbered {plan.doc_number}" if plan.doc_number else "numbered by QBO"
            outcomes.rows[plan.autotask_id]["reason"] = (
                f"would create a QBO invoice {numbered} for {plan.customer_name} ({plan.total})"
            )
        return

    by_id = {p.autotask_id: p for p in plans}
    generation = {}
    for plan in plans:
        record = ledger.get_sync_record(ENTITY, plan.autotask_id)
        gen = (record or {}).get("generation") or 0
        # It existed once and is gone, or a second copy is wanted: a new document, so a new requestid;
        # but this run's own unanswered attempt (a retried task) keeps its generation, and so its key.
        unanswered = bool(record and record["status"] == "IN_PROGRESS" and record.get("run_id") == run.run_id)
        if not unanswered and ((record and record["status"] == "SYNCED") or plan.autotask_id in older):
            gen += 1
        generation[plan.autotask_id] = gen

    for chunk in chunks(sorted(by_id), MAX_BATCH_ITEMS):
        for autotask_id in chunk:
            plan = by_id[autotask_id]
            ledger.record_intent(
                ENTITY,
                autotask_id,
                payload_hash=plan.payload_hash,
                request_id=invoice_requestid(autotask_id, generation[autotask_id]),
                run_id=run.run_id,
                realm_id=qbo.realm_id,
                generation=generation[autotask_id],
            )
        items = [
            # a second copy keeps the invoice's number: QBO's duplicate-number check must let it through
            {
                "bId": str(a),
                "operation": "create",
                "Invoice": payloads[a],
                **({"optionsData": "allowduplicatedocnum"} if a in older else {}),
            }
            for a in chunk
        ]
        # Same run (a retried task): the same key, so QBO replays a lost answer. A later run gets a
        # new key, or QBO would replay an old refusal; what that run must not re-create, it has
        # already adopted from QBO (find_atqbo_invoices) before getting here.
        batch_key = hashlib.sha256(
            (run.run_id + ":" + ",".join(f"{a}-g{generation[a]}" for a in chunk)).encode()
        ).hexdigest()[:20]
        results = qbo.batch(items, requestid=f"atqbo-invbatch-{batch_key}")
        for autotask_id, result in zip(chunk, results, strict=True):
            created = result if isinstance(result, QboFault) else result["Invoice"]
            _record_create_result(
                run, qbo, ledger, by_id[autotask_id], created, company, outcomes, older.get(autotask_id)
            )


def _record_create_result(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    ledger: Ledger,
    plan: InvoicePlan,
    result: dict[str, Any] | QboFault,
    company: QboCompany,
    outcomes: _Outcomes,
    older: dict[str, Any] | None = None,
) -> None:
    settings = run.parsed_settings
    if isinstance(result, QboDuplicateDocNumber) and result.txn_id and older is None:
        existing = _read_invoice(qbo, result.txn_id)
        if existing and INVOICE_NOTE.autotask_id(existing.get("PrivateNote")) == plan.autotask_id:
            result = existing  # our own, from an attempt whose answer was lost
    if isinstance(result, QboFault) and result.retryable:
        # Throttled or "one name at a time" after the hook's own retries: nothing wrong with the
        # invoice, so no ERROR marker; the next run sends it (with the same requestid).
        ledger.set_sync_status(ENTITY, plan.autotask_id, "PENDING", last_error=str(result), run_id=run.run_id)
        outcomes.add(
            plan, "failed", reason=f"QBO was busy ({result.message}); the next run sends it again", marker=None
        )
        outcomes.rows[plan.autotask_id]["transient"] = True
        return
    if isinstance(result, QboFault):
        reason, fix = _explain_fault(plan, result)
        outcomes.add(plan, "failed", reason=reason, fix=fix, marker="error")
        return
    ledger.set_sync_status(
        ENTITY,
        plan.autotask_id,
        "SYNCED",
        qbo_id=result["Id"],
        qbo_number=result.get("DocNumber"),
        run_id=run.run_id,
        realm_id=qbo.realm_id,
    )
    ledger.resolve_errors(ENTITY, plan.autotask_id)
    warnings = outcomes.rows[plan.autotask_id]["warnings"]
    reason = f"created QBO invoice {result.get('DocNumber') or result['Id']}"
    if older is not None:
        reason += (
            f", a second copy: {describe_qbo_invoice(older)}, made earlier for this Autotask invoice, still "
            "exists; void or delete it in QBO if it is not wanted"
        )
    outcomes.add(plan, "transferred", qbo=result, marker="synced", reason=reason)
    outcomes.warn(plan.autotask_id, *warnings)
    if older is not None:
        outcomes.rows[plan.autotask_id]["older_qbo_id"] = older["Id"]
        outcomes.rows[plan.autotask_id]["older_qbo_number"] = older.get("DocNumber")
    verdict, message = compare_totals(plan, result, company, settings)
    if verdict != "ok":
        outcomes.warn(plan.autotask_id, message)
        if verdict == "error":
            ledger.log_error(
                ENTITY,
                plan.autotask_id,
                message,
                qbo_id=result["Id"],
                dag_id=run.dag_id,
                run_id=run.run_id,
                fix="check the lines and tax of both invoices",
            )
    if settings.email_invoices and result.get("EmailStatus") == "NeedToSend":
        try:
            qbo.send_invoice(result["Id"], requestid=f"atqbo-send-{qbo.realm_id}-{result['Id']}")
        except QboFault as fault:
            outcomes.warn(plan.autotask_id, f"QBO could not email the invoice: {fault}")


def _explain_fault(plan: InvoicePlan, fault: QboFault) -> tuple[str, str]:
    """A failed create as (reason naming the invoice, fix)."""
    subject = f"Autotask invoice {plan.invoice_number or plan.autotask_id} of {plan.company_name}"
    if isinstance(fault, QboPeriodClosed):
        return (
            f"{subject} is dated {plan.txn_date}, inside QBO's closed books ({fault.detail})",
            "reopen the period in QBO, or set earliest_sync_date so closed periods are not sent (ERR-01)",
        )
    if isinstance(fault, QboDuplicateDocNumber):
        return (
            f"{subject}: QBO already has document number {fault.doc_number or plan.doc_number} "
            f"(TxnId {fault.txn_id}), not created by atqbo",
            "renumber one of them, or use invoice_numbering 'qbo'",
        )
    return f"{subject} was refused by QBO: {fault}", getattr(fault, "fix", "") or "fix what QBO names, then retry"


def _record_failures(run: RunInfo, ledger: Ledger, outcomes: _Outcomes) -> None:
    for row in outcomes.rows.values():
        if row["outcome"] == "failed" and not row.get("transient"):
            ledger.log_error(
                ENTITY, row["autotask_id"], row["reason"], fix=row["fix"], dag_id=run.dag_id, run_id=run.run_id
            )
            ledger.set_sync_status(
                ENTITY,
                row["autotask_id"],
                "ERROR",
                last_error=row["reason"],
                run_id=run.run_id,
                payload_hash=row["payload_hash"],
            )


# -- 4. write back ----------------------------------------------------------------------------------


def write_back_markers(run: RunInfo, autotask: AutotaskHook, ledger: Ledger) -> dict[str, int]:
    """Mark synced invoices in Autotask (and ERROR in invoiceNumber mode); 3 writers at a time."""
    if run.dry_run:
        return {"written": 0}
    settings = run.parsed_settings
    outcomes = ledger.stage_get(run.run_key, "outcome")
    done = ledger.stage_get(run.run_key, "written")
    todo = [row for key, row in outcomes.items() if row.get("marker") and key not in done]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def write(row: dict[str, Any]) -> tuple[str, str | None]:
        fields = marker_fields(row, settings, now)
        if not fields:
            return str(row["autotask_id"]), None
        try:
            autotask.update("Invoices", row["autotask_id"], fields)
        except AutotaskError as exc:
            if exc.status in (401, 429) or exc.status is None or exc.status >= 502:
                raise  # the run cannot write to Autotask at all: fail the task, its retry resumes here
            return str(row["autotask_id"]), f"Autotask refused the marker: {exc}"
        return str(row["autotask_id"]), None

    problems = {}
    with ThreadPoolExecutor(max_workers=AUTOTASK_WRITERS) as pool:
        for key, problem in pool.map(write, todo):
            if problem:
                problems[key] = problem
            else:
                ledger.stage_put(run.run_key, "written", {key: True})
    if problems:
        ledger.stage_put(run.run_key, "writeback_problems", problems)
    return {"written": len(todo) - len(problems), "problems": len(problems)}


def marker_fields(row: dict[str, Any], settings: Settings, now: str) -> dict[str, Any]:
    """The Autotask invoice fields that record this outcome (INV-03/04/20)."""
    if row["marker"] == "synced":
        fields: dict[str, Any] = {}
        if settings.invoice_marker_field == "webServiceDate":
            fields["webServiceDate"] = now
        if settings.invoice_numbering == "qbo" and row.get("qbo_number"):
            fields["invoiceNumber"] = row["qbo_number"]  # INV-04: QBO's number back to Autotask
        return fields
    if row["marker"] == "error" and settings.invoice_marker_field == "invoiceNumber":
        return {"invoiceNumber": "ERROR"}  # INV-20: clearing it makes the next run retry
    return {}


# -- 5. report --------------------------------------------------------------------------------------


def build_invoice_report(run: RunInfo, ledger: Ledger, title: str | None = None) -> RunReport:
    scope = staged_scope(run, ledger)
    outcomes = ledger.stage_get(run.run_key, "outcome")
    problems = ledger.stage_get(run.run_key, "writeback_problems")
    notes = ledger.stage_get(run.run_key, "notes").get("load", [])
    window = (
        f"Autotask invoice {', '.join(str(i) for i in scope.autotask_ids)}"
        if scope.autotask_ids
        else run.describe_window()
    )
    report = RunReport(
        title=title or scope.title,
        dag_id=run.dag_id,
        run_id=run.run_id,
        window=window,
        dry_run=run.dry_run,
        notes=[*scope.notes, *notes],
        always_email=scope.always_email,
    )
    if scope.tool == "copy":
        from atqbo.tools.invoices import copy_verdict

        for autotask_id in scope.autotask_ids:
            report.notes.insert(0, copy_verdict(autotask_id, outcomes.get(str(autotask_id)), run.dry_run))
    for key in sorted(outcomes, key=int):
        row = outcomes[key]
        reason = row["reason"]
        if run.dry_run and row["outcome"] == "failed":
            reason = f"would fail: {reason}"
        report.rows.append(
            ReportRow(
                outcome=row["outcome"],
                entity=ENTITY,
                autotask_id=row["autotask_id"],
                reference=row["reference"],
                company=row["company"],
                qbo_id=row["qbo_id"],
                qbo_number=row["qbo_number"],
                autotask_total=Decimal(row["autotask_total"]) if row["autotask_total"] else None,
                qbo_total=Decimal(row["qbo_total"]) if row["qbo_total"] else None,
                reason=reason,
                fix=row["fix"],
            )
        )
        for warning in dict.fromkeys(row.get("warnings") or []):
            report.rows.append(
                ReportRow(
                    outcome="warning",
                    entity=ENTITY,
                    autotask_id=row["autotask_id"],
                    reference=row["reference"],
                    company=row["company"],
                    reason=warning,
                )
            )
        if key in problems:
            report.rows.append(
                ReportRow(
                    outcome="warning",
                    entity=ENTITY,
                    autotask_id=row["autotask_id"],
                    reference=row["reference"],
                    company=row["company"],
                    reason=problems[key],
                    fix="the next run writes the marker again",
                )
            )
    return report


def report_invoice_run(run: RunInfo, ledger: Ledger) -> dict[str, int]:
    """Publish the report, then give back the invoice sync lock (a no-op for a run that holds none)."""
    try:
        report = build_invoice_report(run, ledger)
        run.publish(report, ledger)
        return report.counts()
    finally:
        release_sync_lock(run, ledger)
