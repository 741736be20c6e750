"""The preflight's checks of the window's data (BEY-08, part ``data``): what the next runs of the
invoice and purchase order syncs would do with the records of the preflight's window.

Nothing here decides a sync rule again. Each sync's own steps run in dry run under a sub run key
of the preflight (``<run_key>/invoices``, ``<run_key>/purchase_orders``): the invoice sync's
``begin_invoice_run`` (a dry run takes no lock), ``extract_invoices``, ``plan_invoice_run``,
``load_invoices``; the PO sync's ``extract_purchase_orders``, ``load_purchase_orders``. A dry run
reads both systems and writes to neither (the ledger's staging only, cleared at the end). The
checks are then read off what the syncs decided:

- their reports' rows (``build_invoice_report``, ``build_purchase_order_report``): planned,
  matched, skipped, failed (with the sync's reason and fix), warnings;
- what they staged (the invoices with their lines and companies, the plans, the POs);
- the names they looked up in QBO and would create (``atqbo.qbo_names.recording_names``).

A failed record is reported once: by the check of its cause when the sync's words name a cause
this module knows (a name clash, a missing item, a currency, lines that do not add up), else in a
group of the failures that share a fix. Wording the syncs change only moves a failure to the
generic group; it is never lost.

Two reads are the checks' own (Autotask, one query each): the window's invoices whose marker is
``ERROR`` (invoiceNumber marker mode) and POs whose External PO Number is ``ERROR``, which the
syncs leave out of their runs by design.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from atqbo.autotask_docs import ERROR_MARKER
from atqbo.hooks.autotask import eq, gte, lte
from atqbo.qbo_names import NameDecisions, recording_names
from atqbo.tools.preflight.model import Check, blocking, listed, ok, warning

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.notify import ReportRow
    from atqbo.runs import RunInfo
    from atqbo.settings import Settings

log = logging.getLogger(__name__)

PART = "data"
INVOICES, PURCHASE_ORDERS = "invoices", "purchase orders"

# How the syncs word a failure's cause (their reasons and fixes): which check reports it.
NAME_CLASH = "unique across customers, vendors and employees"
NO_INVOICE_ITEM = "no QBO item for"
PO_ITEM_WORDS = ("po_missing_item_action", "the QBO item", "have no QBO item", "po_new_item_expense_account")
INVOICE_CURRENCY_WORDS = ("multi-currency is off in QBO", "a QBO invoice is in its customer's currency")
PO_CURRENCY_WORDS = ("(PO-06)",)
LINES_MISS_TOTAL = "QBO's lines would add up to"
FAILED_BEFORE_WORDS = "failed before with the same content"
NOT_PROCESSED_WORDS = "not processed: the run stopped at"
NON_TAXABLE_WORDS = "non-taxable"


# -- what one sync's dry run said ---------------------------------------------------------------------


@dataclass
class Preview:
    """One sync's dry run over the window: its report's rows and notes, what it staged, the QBO names
    it looked up and would create; ``stopped``: the message when the run stopped as a whole."""

    sync: str
    rows: list[ReportRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    staged: dict[str, dict[str, Any]] = field(default_factory=dict)
    names: NameDecisions = field(default_factory=NameDecisions)
    stopped: str = ""
    claimed: set[int] = field(default_factory=set)  # failed/skipped rows a cause's check reported

    def outcome_rows(self, *outcomes: str) -> list[ReportRow]:
        return [r for r in self.rows if r.outcome in outcomes]

    def count(self, outcome: str) -> int:
        return len(self.outcome_rows(outcome))

    def claim(self, test: Callable[[ReportRow], bool], *outcomes: str) -> list[ReportRow]:
        """The failed (or ``outcomes``) rows ``test`` picks that no other check reported yet; now reported."""
        picked = [r for r in self.outcome_rows(*(outcomes or ("failed",))) if id(r) not in self.claimed and test(r)]
        self.claimed.update(id(r) for r in picked)
        return picked


def sub_run(run: RunInfo, name: str) -> RunInfo:
    """The preflight's run as one sync's dry run: its own run key, ``dry_run`` whatever was asked."""
    return replace(run, run_key=f"{run.run_key}/{name}", settings={**run.settings, "dry_run": True})


def preview_invoices(run: RunInfo, autotask: AutotaskHook, qbo: QuickBooksOnlineHook, ledger: Ledger) -> Preview:
    """The invoice sync's own steps in dry run over the window (what ``atqbo_preview_invoices`` runs)."""
    from atqbo.sync.invoices.extract import extract_invoices
    from atqbo.sync.invoices.load import load_invoices
    from atqbo.sync.invoices.plan import plan_invoice_run
    from atqbo.sync.invoices.report import build_invoice_report
    from atqbo.sync.invoices.scope import InvoiceScope, begin_invoice_run

    sub = sub_run(run, "invoices")
    preview = Preview(INVOICES)
    try:
        begin_invoice_run(sub, ledger, InvoiceScope(tool="preview", title="atqbo preflight: invoices"))
        extract_invoices(sub, autotask, ledger)
        plan_invoice_run(sub, ledger)
        with recording_names() as preview.names:
            load_invoices(sub, qbo, ledger)
        report = build_invoice_report(sub, ledger)
        preview.rows, preview.notes = report.rows, report.notes
        preview.staged = {k: ledger.stage_get(sub.run_key, k) for k in ("invoice", "reference", "plan")}
    except Exception as exc:  # the run stops as a whole: a blocking check, not a failed preflight
        log.warning("The invoice sync's dry run stopped: %s", exc, exc_info=True)
        preview.stopped = describe_stop(exc)
    finally:
        ledger.stage_clear(sub.run_key)
    return preview


def preview_purchase_orders(run: RunInfo, autotask: AutotaskHook, qbo: QuickBooksOnlineHook, ledger: Ledger) -> Preview:
    """The PO sync's own steps in dry run over the window (``atqbo_purchase_orders`` with dry_run)."""
    from atqbo.sync.purchase_orders.extract import extract_purchase_orders
    from atqbo.sync.purchase_orders.load import load_purchase_orders
    from atqbo.sync.purchase_orders.report import build_purchase_order_report

    sub = sub_run(run, "purchase_orders")
    preview = Preview(PURCHASE_ORDERS)
    try:
        ledger.create_schema()
        extract_purchase_orders(sub, autotask, ledger)  # raises without the to-do settings (PO-08)
        with recording_names() as preview.names:
            load_purchase_orders(sub, qbo, ledger)
        report = build_purchase_order_report(sub, ledger, title="atqbo preflight: purchase orders")
        preview.rows, preview.notes = report.rows, report.notes
        preview.staged = {k: ledger.stage_get(sub.run_key, k) for k in ("po", "reference", "run_problems")}
    except Exception as exc:
        log.warning("The purchase order sync's dry run stopped: %s", exc, exc_info=True)
        preview.stopped = describe_stop(exc)
    finally:
        ledger.stage_clear(sub.run_key)
    return preview


def describe_stop(exc: Exception) -> str:
    from atqbo.exceptions import AtqboError

    return str(exc) if isinstance(exc, AtqboError) else f"{type(exc).__name__}: {exc}"


# -- the checks -------------------------------------------------------------------------------------


def check_data(run: RunInfo, cost: dict[str, int] | None = None) -> list[Check]:
    """Every check of the window's data, as the next runs would see it (reads only). ``cost`` (the
    preflight's tally of the part) gets the API calls made: ``autotask_calls``, ``qbo_calls``."""
    from atqbo.hooks.qbo import counting_calls

    settings = run.parsed_settings
    ledger = run.ledger()
    autotask = run.autotask()
    qbo = run.qbo(ledger)
    # every QBO company's calls: the syncs make a hook of their own for each routed company (BEY-07)
    with counting_calls() as qbo_calls:
        invoices = preview_invoices(run, autotask, qbo, ledger) if settings.invoice_sync_enabled else None
        orders = None
        if settings.po_lookback_days > 0:
            orders = preview_purchase_orders(run, autotask, qbo, ledger)
    checks: list[Check] = []
    if invoices is None:
        checks.append(ok(PART, "Invoices in the window", "the invoice sync is off (invoice_sync_enabled is false)"))
    elif invoices.stopped:
        checks.append(stopped_check("Invoices in the window", "invoice sync", invoices.stopped))
    if orders is None:
        checks.append(
            ok(
                PART,
                "Purchase orders in the window",
                "the purchase order sync is paused (po_lookback_days is 0); set po_lookback_days (and "
                "todo_action_type, todo_resource_id) to turn it on",
            )
        )
    elif orders.stopped:
        checks.append(stopped_check("Purchase orders in the window", "purchase order sync", orders.stopped))
    live_invoices = invoices if invoices is not None and not invoices.stopped else None
    live_orders = orders if orders is not None and not orders.stopped else None
    # the checks of a cause first: they claim the failures they explain
    checks += name_checks(live_invoices, live_orders)
    if live_invoices is not None:
        checks += invoice_item_checks(live_invoices, settings)
        checks += invoice_condition_checks(live_invoices, settings)
    if live_orders is not None:
        checks += po_item_checks(live_orders, settings)
        checks += po_condition_checks(live_orders)
    checks += error_marker_checks(run, autotask, live_invoices, live_orders)
    # then each run's summary, and its failures no cause's check claimed, first in the report
    summaries = [c for p in (live_invoices, live_orders) if p is not None for c in outcome_checks(p)]
    if cost is not None:
        cost["autotask_calls"] = autotask.total_calls
        cost["qbo_calls"] = qbo_calls.calls
    return [*summaries, *checks, cost_check(autotask, qbo_calls.calls, live_invoices, live_orders)]


def stopped_check(topic: str, sync: str, message: str) -> Check:
    fix = (
        message.split("Fix: ", 1)[1] if "Fix: " in message else "do what the message says, then run the preflight again"
    )
    return blocking(PART, topic, f"the {sync} would stop before sending anything: {message}", fix)


# -- outcomes: what would be created, matched, skipped, failed ----------------------------------------


def outcome_checks(preview: Preview) -> list[Check]:
    """The run's summary, what is already in QBO, the skipped records by cause, the failures nobody
    claimed grouped by fix, and the records' warnings."""
    what = "Invoices" if preview.sync == INVOICES else "Purchase orders"
    planned, matched = preview.outcome_rows("planned"), preview.outcome_rows("matched")
    skipped, failed = preview.outcome_rows("skipped"), preview.outcome_rows("failed")
    total = len(planned) + len(matched) + len(skipped) + len(failed)
    counts = (
        f"{len(planned)} would be created in QBO, {len(matched)} already there, {len(skipped)} skipped, "
        f"{len(failed)} would fail"
    )
    topic = f"{what} in the window"
    if total == 0:
        checks = [ok(PART, topic, f"no {preview.sync} the next run would pick up in the window")]
    elif failed and not planned and not matched:
        checks = [
            blocking(
                PART,
                topic,
                f"every one of the {len(failed)} {preview.sync} the next run would send would fail ({counts})",
                "fix the failures the checks below name (each with its fix), then run the preflight again",
                detail=rows_detail(failed),
            )
        ]
    else:
        checks = [ok(PART, topic, f"{total} {preview.sync}: {counts}", detail=rows_detail(planned))]
    if matched:
        checks.append(
            ok(
                PART,
                f"{what} already in QBO",
                f"{len(matched)} {preview.sync} are in QBO already (made by an earlier atqbo run): the next run "
                f"only writes the Autotask marker: {listed(r.reference for r in matched)}",
                detail=rows_detail(matched),
            )
        )
    checks += skipped_checks(preview, what)
    checks += failure_group_checks(preview, what)
    checks += record_warning_checks(preview, what)
    return checks


def skipped_checks(preview: Preview, what: str) -> list[Check]:
    """Skipped records not claimed by a cause's check: those that failed before (the same content:
    a person must change it or retry it) and the rest (the sync's rules: nothing to do)."""
    rows = preview.claim(lambda r: True, "skipped")
    before = [r for r in rows if FAILED_BEFORE_WORDS in r.reason]
    rest = [r for r in rows if r not in before]
    checks = []
    if before:
        checks.append(
            warning(
                PART,
                f"{what} that failed before",
                f"{len(before)} {preview.sync} failed in an earlier run with the same content and are not sent "
                f"again until changed: {listed(r.reference for r in before)}",
                "see why in the error log; change the record in Autotask, or retry it from the error log "
                "(atqbo_retry_errors)",
                detail=rows_detail(before),
            )
        )
    if rest:
        reasons = listed(dict.fromkeys(short_reason(r.reason, company=r.company) for r in rest), 3)
        checks.append(
            ok(
                PART,
                f"{what} skipped",
                f"{len(rest)} {preview.sync} would be skipped by the sync's rules ({reasons}): "
                f"{listed(r.reference for r in rest)}",
                detail=rows_detail(rest),
            )
        )
    return checks


def failure_group_checks(preview: Preview, what: str) -> list[Check]:
    """The failures no cause's check claimed, one warning per fix (the run goes on without them)."""
    groups: dict[str, list[ReportRow]] = defaultdict(list)
    for row in preview.claim(lambda r: True):
        groups[fix_key(row.fix)].append(row)
    checks = []
    for rows in groups.values():
        head = rows[0].fix or "see each record's reason"
        checks.append(
            warning(
                PART,
                f"{what} that would fail: {short_reason(head, 70)}",
                f"{len(rows)} {preview.sync} would fail and be left out of the run: "
                f"{listed(r.reference for r in rows)}; e.g. {strip_would_fail(rows[0].reason)}",
                group_fix(rows),
                detail=rows_detail(rows),
            )
        )
    return checks


def record_warning_checks(preview: Preview, what: str) -> list[Check]:
    """The warnings the sync reports on records it would send (none stops the run)."""
    rows = [r for r in preview.outcome_rows("warning") if NON_TAXABLE_WORDS not in r.reason]
    if not rows:
        return []
    distinct = list(dict.fromkeys(short_reason(r.reason, company=r.company) for r in rows))
    return [
        warning(
            PART,
            f"{what} with warnings",
            f"{len(rows)} warning(s) on {len({r.autotask_id for r in rows})} {preview.sync}: {listed(distinct, 3)}",
            "nothing stops the run; read each warning in the detail and correct the record in Autotask (or QBO) "
            "where it says so",
            detail=rows_detail(rows),
        )
    ]


# -- names: customers and vendors matched or created, names changed, clashes -----------------------------


def name_checks(invoices: Preview | None, orders: Preview | None) -> list[Check]:
    checks = []
    if invoices is not None:
        checks.append(created_names_check(invoices, "Customer", "QBO customers", "customer", "invoices to send"))
    if orders is not None:
        checks.append(created_names_check(orders, "Vendor", "QBO vendors", "vendor", "purchase orders to send"))
    checks.append(changed_names_check(invoices, orders))
    checks.append(name_clash_check(invoices, orders))
    return checks


def created_names_check(preview: Preview, entity: str, topic: str, kind: str, of: str) -> Check:
    """The syncs' own look-up (``find_names``) and dry-run create (``create_names``) of the names."""
    asked = preview.names.asked.get(entity, set())
    found = preview.names.found.get(entity, {})
    planned = sorted(preview.names.planned.get(entity, {}))
    matched = sorted(found[n.lower()]["DisplayName"] for n in asked if n.lower() in found)
    detail = "\n".join(
        [f"would create: {n}" for n in planned] + [f"in QBO: {n} (Id {found[n.lower()]['Id']})" for n in matched]
    )
    if not planned:
        finding = f"all {len(matched)} {kind}s of the {of} are in QBO" if matched else f"no {kind} needed"
        return ok(PART, topic, finding, detail=detail)
    return warning(
        PART,
        topic,
        f"atqbo would create {len(planned)} QBO {kind}(s): {listed(planned)}; {len(matched)} are in QBO already",
        f"nothing to do if they are new {kind}s; if one is in QBO under another name, rename it in QBO to the "
        f"name above (or the organization in Autotask) so atqbo uses it instead of creating another",
        detail=detail,
    )


def changed_names_check(invoices: Preview | None, orders: Preview | None) -> Check:
    """Autotask names atqbo changes to fit QBO (``qbo_name``: no ':', single spaces, at most 100 characters)."""
    changes: dict[str, str] = {}
    if invoices is not None:
        for plan in invoice_plans(invoices):
            if plan.decision == "send" and plan.customer_name != plan.company_name:
                changes[f"customer {plan.company_name!r}"] = plan.customer_name
    for po in purchase_orders(orders) if orders is not None else []:
        if po.vendor_display_name != po.vendor_name:
            changes[f"vendor {po.vendor_name!r}"] = po.vendor_display_name
        for line in po.lines:
            if line.item_name != line.product_name:
                changes[f"product {line.product_name!r}"] = line.item_name
    topic = "Names changed to fit QBO"
    if not changes:
        return ok(PART, topic, "every customer, vendor and product name fits QBO as it is in Autotask")
    pairs = [f"{a} -> {b!r}" for a, b in sorted(changes.items())]
    return warning(
        PART,
        topic,
        f"{len(pairs)} Autotask name(s) do not fit QBO (no ':' and at most 100 characters) and are matched and "
        f"created under another name: {listed(pairs, 5)}",
        "nothing stops the runs; to keep the names the same in both, rename them in Autotask (no ':', at most "
        "100 characters), and rename any QBO record made under the old name",
        detail="\n".join(pairs),
    )


def name_clash_check(invoices: Preview | None, orders: Preview | None) -> Check:
    """A customer or vendor atqbo would create whose name QBO gives another kind (QBO fault 6240): the
    syncs refuse the records that need it (their failures), and a customer and a vendor both to be
    created under one name: whichever sync runs second fails for it."""
    rows = []
    for preview in (invoices, orders):
        if preview is not None:
            rows += preview.claim(lambda r: NAME_CLASH in r.reason)
    both: list[str] = []
    if invoices is not None and orders is not None:
        vendors = {n.lower() for n in orders.names.planned.get("Vendor", {})}
        both = sorted(n for n in invoices.names.planned.get("Customer", {}) if n.lower() in vendors)
    topic = "QBO name clashes (customers, vendors, employees)"
    if not rows and not both:
        return ok(PART, topic, "no customer or vendor atqbo would create has a name QBO gives another kind")
    parts, fixes = [], []
    if rows:
        parts.append(f"{len(rows)} record(s) would fail: {listed(r.reference for r in rows)}")
        fixes.append(group_fix(rows))
    if both:
        parts.append(
            f"atqbo would create both a customer and a vendor named {listed(repr(n) for n in both)}; QBO names are "
            "unique across customers, vendors and employees, so whichever sync runs second fails for it"
        )
        fixes.append(
            "rename one of the two Autotask organizations (e.g. add ' (vendor)'), or create the QBO customer and "
            "vendor by hand under two names and rename the organizations to match"
        )
    detail = "\n".join([rows_detail(rows)] * bool(rows) + [f"customer and vendor: {n}" for n in both])
    return warning(PART, topic, "; ".join(parts), "; ".join(fixes), detail=detail)


# -- items --------------------------------------------------------------------------------------------


def invoice_item_checks(preview: Preview, settings: Settings) -> list[Check]:
    """The QBO items of the invoices to send: found, or what ``missing_item_action`` does with the
    missing ones (the sync's own ``find_or_create_items`` decided; its failures are claimed here)."""
    topic = "QBO items for the invoices"
    missing = preview.names.missing("Item")
    planned = sorted(preview.names.planned.get("Item", {}))
    rows = preview.claim(lambda r: NO_INVOICE_ITEM in r.reason)
    notes = [n for n in preview.notes if "new_item_income_account" in n]
    action = settings.missing_item_action
    if rows:
        return [
            warning(
                PART,
                topic,
                f"{len(rows)} invoice(s) would fail for items QBO does not have (missing_item_action is {action!r}): "
                f"{listed(r.reference for r in rows)}; missing: {listed(repr(n) for n in missing)}"
                + (f"; {'; '.join(notes)}" if notes else "")
                + (f"; atqbo would create {listed(repr(n) for n in planned)}" if planned else ""),
                group_fix(rows),
                detail=rows_detail(rows),
            )
        ]
    if planned:
        return [
            warning(
                PART,
                topic,
                f"atqbo would create {len(planned)} QBO item(s) (missing_item_action is {action!r}): "
                f"{listed(repr(n) for n in planned)}",
                "nothing to do if they are new; to use an existing QBO item instead, rename it in QBO to the name "
                f"above (item_match_field is {settings.item_match_field!r}), or use atqbo_compare_items",
                detail="\n".join(f"would create: {n}" for n in planned),
            )
        ]
    if missing and action == "default_item":
        return [
            ok(
                PART,
                topic,
                f"{len(missing)} billing code(s) have no QBO item: their lines go on the default item "
                f"{settings.default_item_name!r} (missing_item_action 'default_item'): "
                f"{listed(repr(n) for n in missing)}",
            )
        ]
    return [
        ok(PART, topic, f"every item the invoices to send need is in QBO ({len(preview.names.found.get('Item', {}))})")
    ]


def po_item_checks(preview: Preview, settings: Settings) -> list[Check]:
    """The QBO items of the POs to send (PO-05): found, created, or the run stopped at a missing one."""
    topic = "QBO items for the purchase orders"
    rows = preview.claim(lambda r: any(w in r.reason for w in PO_ITEM_WORDS))
    rows += preview.claim(lambda r: NOT_PROCESSED_WORDS in r.reason, "skipped")
    planned = sorted(preview.names.planned.get("Item", {}))
    action = settings.po_missing_item_action
    if rows:
        return [
            warning(
                PART,
                topic,
                f"{len(rows)} purchase order(s) would fail or not be processed for their QBO items "
                f"(po_missing_item_action is {action!r}): {listed(r.reference for r in rows)}; e.g. "
                f"{strip_would_fail(rows[0].reason)}",
                group_fix(rows),
                detail=rows_detail(rows),
            )
        ]
    if planned:
        return [
            warning(
                PART,
                topic,
                f"atqbo would create {len(planned)} QBO item(s) for products (po_missing_item_action is {action!r}): "
                f"{listed(repr(n) for n in planned)}",
                "nothing to do if they are new; to use an existing QBO item, rename it in QBO to the product's name",
                detail="\n".join(f"would create: {n}" for n in planned),
            )
        ]
    return [ok(PART, topic, "every product of the purchase orders to send has a usable QBO item")]


# -- the data's conditions: currency, tax exemption, covered lines, lines that miss the total ------------


def invoice_condition_checks(preview: Preview, settings: Settings) -> list[Check]:
    plans = invoice_plans(preview)
    reference = preview.staged.get("reference", {})
    return [
        currency_check(preview, plans, reference),
        tax_exempt_check(preview, plans, settings),
        covered_lines_check(preview),
        lines_miss_total_check(preview),
    ]


def currency_check(preview: Preview, plans: list[Any], reference: dict[str, Any]) -> Check:
    """CUR-01: companies billed in another currency than Autotask's internal one (QBO's home one)."""
    topic = "Companies billed in another currency (CUR-01)"
    home = reference.get("internal_currency")
    foreign: dict[str, str] = {}
    for plan in plans:
        if home and plan.currency and plan.currency != home:
            foreign[plan.company_name] = plan.currency
    rows = preview.claim(lambda r: any(w in f"{r.reason} {r.fix}" for w in INVOICE_CURRENCY_WORDS))
    names = [f"{n} ({c})" for n, c in sorted(foreign.items())]
    if rows:
        return warning(
            PART,
            topic,
            f"{len(rows)} invoice(s) would fail for their currency: {listed(r.reference for r in rows)}; companies "
            f"billed in another currency than {home}: {listed(names)}",
            group_fix(rows),
            detail=rows_detail(rows),
        )
    if not foreign:
        where = f"{home}, Autotask's internal currency" if home else "one currency (Autotask names none)"
        return ok(PART, topic, f"every company of the window's invoices is billed in {where}")
    return ok(
        PART,
        topic,
        f"{len(foreign)} company(ies) are billed in another currency than {home}: {listed(names)}; their invoices "
        "go to QBO in that currency, to a QBO customer in it",
    )


def tax_exempt_check(preview: Preview, plans: list[Any], settings: Settings) -> Check:
    """TAX-02/TAX-05: tax-exempt companies with invoices in the window, and what the sync does of them."""
    topic = "Tax-exempt companies (TAX-02, TAX-05)"
    exempt = {p.autotask_id: p.company_name for p in plans if p.tax_exempt}
    listing = "\n".join(
        f"{p.invoice_number or p.autotask_id} (Autotask id {p.autotask_id}), {p.company_name}"
        for p in plans
        if p.tax_exempt
    )
    companies = sorted(set(exempt.values()))
    if not exempt:
        return ok(PART, topic, "no company of the window's invoices is tax-exempt in Autotask")
    failed = [r for r in preview.outcome_rows("failed") if r.autotask_id in exempt]
    made = [r for r in preview.outcome_rows("warning") if r.autotask_id in exempt and NON_TAXABLE_WORDS in r.reason]
    how = (
        f"their lines go out at exempt_sales_tax_code {settings.exempt_sales_tax_code!r}"
        if settings.non_us and settings.exempt_sales_tax_code
        else "Autotask charges them no tax"
    )
    finding = f"{len(companies)} tax-exempt company(ies) with {len(exempt)} invoice(s): {listed(companies)}; {how}"
    if made:
        customers = listed(dict.fromkeys(r.company for r in made))
        return warning(
            PART,
            topic,
            f"{finding}; atqbo would make their taxable QBO customers non-taxable: {customers}",
            "nothing stops the run; after it, pick each customer's exemption reason in QBO",
            detail=rows_detail(made),
        )
    if failed:
        return warning(
            PART,
            topic,
            f"{finding}; {len(failed)} of their invoices would fail: {listed(r.reference for r in failed)}",
            "see the failure checks of these invoices for the fix",
            detail=rows_detail(failed),
        )
    return ok(PART, topic, finding, detail=listing)


def covered_lines_check(preview: Preview) -> Check:
    """LINE-01: billing items a contract covers or that are non-billable, by the transform's own rule
    (``not_charged_in_full``): sent at what Autotask bills for them."""
    from atqbo.money import as_decimal
    from atqbo.transform.invoices.lines import not_charged_in_full

    topic = "Contract-covered and non-billable lines (LINE-01)"
    found: list[str] = []
    invoices: set[str] = set()
    for bundle in preview.staged.get("invoice", {}).values():
        invoice = bundle["invoice"]
        for item in bundle["items"]:
            try:
                covered = not_charged_in_full(item, as_decimal(item.get("rate")), as_decimal(item.get("quantity")))
            except Exception:  # an unusable number: the plan reports that invoice
                continue
            if covered:
                why = "non-billable" if item.get("nonBillable") else f"covered by contract {item.get('contractID')}"
                reference = invoice.get("invoiceNumber") or str(invoice.get("id"))
                invoices.add(reference)
                found.append(f"{reference} (Autotask id {invoice.get('id')}): billing item {item.get('id')} {why}")
    if not found:
        return ok(PART, topic, "no line of the window's invoices is covered by a contract or non-billable")
    return ok(
        PART,
        topic,
        f"{len(found)} line(s) on {len(invoices)} invoice(s) are covered by a contract or non-billable: each is "
        f"sent at what Autotask bills for it: {listed(sorted(invoices))}",
        detail="\n".join(found),
    )


def lines_miss_total_check(preview: Preview) -> Check:
    """LINE-02: invoices whose lines, as atqbo can read them, do not add up to the invoice (an API user
    restricted to some lines of business, or rates Autotask does not bill at)."""
    topic = "Invoices whose lines do not add up to their total (LINE-02)"
    rows = preview.claim(lambda r: LINES_MISS_TOTAL in r.reason)
    if not rows:
        return ok(PART, topic, "the lines atqbo reads add up to every invoice's total")
    return warning(
        PART,
        topic,
        f"{len(rows)} invoice(s) would fail because their lines do not add up to the invoice: "
        f"{listed(r.reference for r in rows)}",
        group_fix(rows),
        detail=rows_detail(rows),
    )


def po_condition_checks(preview: Preview) -> list[Check]:
    """PO-06: currency, for a PO or for the whole run (then every PO is skipped, the run says why and
    sends them once it is fixed: a warning, as records that would be skipped)."""
    problems = preview.staged.get("run_problems", {}).get("problems") or {}
    topic = "Purchase orders in another currency (PO-06)"
    checks = []
    if problems:
        skipped = preview.claim(lambda r: True, "skipped")
        for problem in problems.values():
            checks.append(  # the run works and says why each run; the POs wait: a warning
                warning(
                    PART,
                    "Purchase order sync as a whole",
                    f"{problem['message']} ({len(skipped)} purchase order(s) would stay unsynced)",
                    problem["fix"],
                    detail=rows_detail(skipped),
                )
            )
    rows = preview.claim(lambda r: any(w in r.reason for w in PO_CURRENCY_WORDS))
    if rows:
        checks.append(
            warning(
                PART,
                topic,
                f"{len(rows)} purchase order(s) would fail for their vendor's currency: "
                f"{listed(r.reference for r in rows)}",
                group_fix(rows),
                detail=rows_detail(rows),
            )
        )
    elif not problems:
        checks.append(ok(PART, topic, "no purchase order would fail for its vendor's currency"))
    return checks


# -- ERROR markers ------------------------------------------------------------------------------------


def error_marker_checks(
    run: RunInfo, autotask: AutotaskHook, invoices: Preview | None, orders: Preview | None
) -> list[Check]:
    """Records an earlier run marked ``ERROR`` (INV-20, PO-07): left out of every run until a person clears it."""
    from atqbo.sync.purchase_orders.extract import PO_FIELDS

    settings = run.parsed_settings
    checks = []
    window = [gte("invoiceDateTime", run.start.isoformat()), lte("invoiceDateTime", run.end.isoformat())]
    if invoices is not None and settings.invoice_marker_field == "invoiceNumber":
        marked = autotask.query_all("Invoices", [*window, eq("isVoided", False), eq("invoiceNumber", ERROR_MARKER)])
        names = [f"Autotask invoice {i['id']} (company {i.get('companyID')})" for i in marked]
        checks.append(
            marker_check(
                "Invoices marked ERROR (INV-20)",
                names,
                "invoice(s) in the window hold ERROR in Invoice Number: an earlier run could not send them",
                "find why in the error log (or atqbo_retry_errors), fix it, then clear ERROR from the invoice's "
                "Invoice Number in Autotask: the next run sends it",
            )
        )
    elif invoices is not None:
        before = [r for r in invoices.outcome_rows("skipped") if FAILED_BEFORE_WORDS in r.reason]
        checks.append(
            ok(
                PART,
                "Invoices marked ERROR (INV-20)",
                "invoice_marker_field is 'webServiceDate': failures are kept in atqbo's error log, not in Autotask"
                + (f" ({len(before)} invoice(s) failed before: see above)" if before else ""),
            )
        )
    if orders is not None:
        created = [gte("createDateTime", run.start.isoformat()), lte("createDateTime", run.end.isoformat())]
        marked = autotask.query_all(
            "PurchaseOrders", [*created, eq("externalPONumber", ERROR_MARKER)], include_fields=PO_FIELDS
        )
        checks.append(
            marker_check(
                "Purchase orders marked ERROR (PO-07)",
                [f"PO {po['id']} (vendor company {po.get('vendorID')})" for po in marked],
                "purchase order(s) created in the window hold ERROR in External PO Number: an earlier run could "
                "not send them",
                "find why in the PO's Autotask to-do or the error log, fix it, then clear ERROR from the PO's "
                "External PO Number in Autotask: the next run sends it",
            )
        )
    return checks


def marker_check(topic: str, names: list[str], what: str, fix: str) -> Check:
    if not names:
        return ok(PART, topic, "none in the window")
    return warning(PART, topic, f"{len(names)} {what}: {listed(names)}", fix, detail="\n".join(names))


# -- cost ---------------------------------------------------------------------------------------------


def cost_check(autotask: AutotaskHook, qbo_calls: int, invoices: Preview | None, orders: Preview | None) -> Check:
    """The API calls these checks made (QBO's: of every company): bounded by the window's records,
    read in bulk, not the tenant's size."""
    records = []
    if invoices is not None:
        records.append(f"{len(invoices.staged.get('invoice', {}))} invoices")
    if orders is not None:
        records.append(f"{len(orders.staged.get('po', {}))} purchase orders")
    autotask_kinds = ", ".join(f"{k} {v}" for k, v in sorted(autotask.calls_made.items()))
    return ok(
        PART,
        "API calls of the data checks",
        f"{autotask.total_calls} Autotask and {qbo_calls} QBO calls for {' and '.join(records) or 'no records'}",
        detail=f"Autotask: {autotask_kinds}",
    )


# -- helpers ------------------------------------------------------------------------------------------


def invoice_plans(preview: Preview) -> list[Any]:
    from atqbo.sync.invoices.plan import plan_from_doc

    return [plan_from_doc(doc) for _, doc in sorted(preview.staged.get("plan", {}).items())]


def purchase_orders(preview: Preview) -> list[Any]:
    from atqbo.sync.purchase_orders.model import purchase_orders_from_staged

    return purchase_orders_from_staged(preview.staged.get("po", {}), preview.staged.get("reference", {}))


def rows_detail(rows: Iterable[ReportRow]) -> str:
    """One line per record: ``INV-1001 (Autotask id 123), Contoso Dental: reason. Fix: ...``."""
    lines = []
    for row in rows:
        name = row.reference if row.reference.startswith("PO ") else f"{row.reference} (Autotask id {row.autotask_id})"
        fix = f" Fix: {row.fix}" if row.fix and row.outcome in ("failed", "skipped") else ""
        lines.append(f"{name}, {row.company}: {strip_would_fail(row.reason)}{fix}")
    return "\n".join(lines)


def group_fix(rows: list[ReportRow]) -> str:
    """The fix of a group of records: theirs when they share it, else the first and a pointer to the rest."""
    fixes = list(dict.fromkeys(r.fix for r in rows if r.fix))
    if not fixes:
        return "see each record's reason in the detail"
    if len(fixes) == 1:
        return fixes[0]
    return f"{fixes[0]} (each record's own fix is in the detail)"


def fix_key(fix: str) -> str:
    """A fix with its numbers and quoted names blanked: the records sharing a kind of fix, one group."""
    return re.sub(r"\d+", "#", re.sub(r"'[^']*'", "'…'", fix or ""))


def strip_would_fail(reason: str) -> str:
    return reason.removeprefix("would fail: ")


def short_reason(text: str, limit: int = 120, company: str = "") -> str:
    """A reason without its record's label ("Autotask invoice 1 (INV-1) of X: "), cut to ``limit``.
    Give the record's ``company`` when known: a company name may hold ': ' itself."""
    text = strip_would_fail(text)
    label_end = rf"of {re.escape(company)}: " if company else r"[^:]*: "
    text = re.sub(rf"^Autotask (invoice|PO) [^:]*?{label_end}", "", text)
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
