"""The item tools: compare Autotask billing codes with QuickBooks Online items (TOOL-01) and copy
the missing ones to QBO (TOOL-02), as the vendor app's "Compare billing codes and items" did.

A billing code matches the QBO item whose Name equals the code's match key, QBO names being
case-insensitive. The key is exactly what the invoice sync looks for
(``atqbo.transform.invoices.item_key_for_billing_code`` under the chosen ``item_match_field``),
and a copied item is exactly what the invoice sync would create (``item_payload``, created with
the sync's own ``create_names``). So the comparison answers "which items will my invoices
use, and which will the sync have to create?", and after a copy the sync finds every item.

Pieces:

* ``compare_billing_codes_to_items``: pure; billing codes + QBO items + settings -> an
  ``ItemComparison`` with one row per billing code (matched, matched with field discrepancies,
  missing in QBO, no match key) and one per QBO item no billing code matches; duplicates noted.
* ``extract_codes_and_items``: the active billing codes (one bulk Autotask query) and every QBO
  item, active or not (one query per 1,000), staged in the ledger for the run's later tasks.
* ``build_comparison_report`` / ``report_comparison``: the report, with the comparison as its
  own CSV attachment.
* ``income_account_id``, ``copy_missing_items``, ``build_copy_report`` / ``report_copy``: the copy.

Nothing here updates an existing item: a discrepancy is reported for a person to settle.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from atqbo.autotask_docs import BILLING_CODE_FIELDS
from atqbo.exceptions import AtqboConfigError
from atqbo.forms import choice, emails
from atqbo.hooks.autotask import eq
from atqbo.money import as_decimal, unit_price_text
from atqbo.notify import ReportRow, RunReport, csv_table
from atqbo.qbo_names import create_names, find_account, find_names
from atqbo.settings import VARIABLE_NAME, Settings
from atqbo.transform.invoices import (
    TAX_ITEM_NAME,
    generic_item_name,
    item_key_for_billing_code,
    item_payload,
)

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo

log = logging.getLogger(__name__)

ENTITY = "billing_code"  # how report rows name what they are about
MATCH_FIELDS: tuple[str, ...] = ("name", "external_number", "external_number_or_name")  # item_match_field values
USE_SETTINGS = "settings"
MATCH_FIELD_LABELS: dict[str, str] = {
    "name": "the billing code name",
    "external_number": "the billing code External Number",
    "external_number_or_name": "the billing code External Number, or its name when that is blank",
}

# The trigger form of both item tools (the vendor's "Match Item Using" and the report's extra recipients).
FIELDS = (
    choice(
        "match_field",
        "Match items using: 'settings' (item_match_field in atqbo_settings), 'name' (billing code name), "
        "'external_number' (billing code External Number) or 'external_number_or_name' (External Number, "
        "or the name when it is blank).",
        (USE_SETTINGS, *MATCH_FIELDS),
        USE_SETTINGS,
    ),
    emails("email", "Extra report recipients for this run (added to report_to), one address per line."),
)

Status = Literal["matched", "discrepancy", "missing_in_qbo", "no_match_key", "only_in_qbo"]
STATUS_ORDER: tuple[str, ...] = ("matched", "discrepancy", "missing_in_qbo", "no_match_key", "only_in_qbo")

COMPARISON_COLUMNS: tuple[str, ...] = (
    "status",
    "billing_code_id",
    "billing_code_name",
    "external_number",
    "match_key",
    "qbo_item_id",
    "qbo_item_name",
    "differences",
    "autotask_description",
    "qbo_description",
    "autotask_unit_price",
    "qbo_unit_price",
    "autotask_active",
    "qbo_active",
    "note",
)
# Free text from Autotask and QBO users: a cell starting like a formula gets an apostrophe in front
# (the same guard as the report CSV in atqbo.notify: "=HYPERLINK(...)" as an item name is not a link).
_CSV_TEXT_COLUMNS = frozenset(
    {
        "billing_code_name",
        "external_number",
        "match_key",
        "qbo_item_name",
        "autotask_description",
        "qbo_description",
        "note",
    }
)

STAGE_CODES = "billing_codes"
STAGE_ITEMS = "qbo_items"
STAGE_COPY = "item_copy"

NO_UPDATE_FIX = (
    "if they should be the same, change the billing code in Autotask or the item in QBO "
    "(atqbo never changes an existing item)"
)
INACTIVE_FIX = "make the QBO item active (Sales > Products and services), or the invoice sync cannot use it"


# -- the comparison (pure) ------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDifference:
    """One field that differs between a billing code and its QBO item, with both values as text."""

    field: str  # "description", "unit price", "active"
    autotask: str
    qbo: str

    def describe(self) -> str:
        return f"{self.field}: Autotask {self.autotask!r}, QBO {self.qbo!r}"


@dataclass(frozen=True)
class ItemMatch:
    """One row of the comparison: a billing code and its QBO item, or a QBO item no code matches."""

    status: Status
    code: dict[str, Any] | None  # the Autotask BillingCodes record (None for only_in_qbo)
    item: dict[str, Any] | None  # the QBO Item (None when missing or without a key)
    match_key: str  # the QBO item name the code matches ("" when it has none)
    differences: tuple[FieldDifference, ...] = ()
    notes: tuple[str, ...] = ()
    source_of_key: bool = True  # False for a code whose key an earlier code (lower id) has too
    # What atqbo would create for the code (``item_payload``): the Autotask side of the comparison.
    expected: dict[str, Any] | None = None


@dataclass(frozen=True)
class ItemComparison:
    """Every row of one comparison, and what a copy would create from it."""

    match_field: str  # the item_match_field the keys were made with
    rows: tuple[ItemMatch, ...]

    def by_status(self, status: str) -> list[ItemMatch]:
        return [row for row in self.rows if row.status == status]

    def counts(self) -> dict[str, int]:
        """Rows per status, every status present, in ``STATUS_ORDER``."""
        counts = dict.fromkeys(STATUS_ORDER, 0)
        for row in self.rows:
            counts[row.status] += 1
        return counts

    def to_create(self) -> dict[str, dict[str, Any]]:
        """The items a copy creates: match key -> the billing code it is made from (the lowest id
        of the codes sharing the key)."""
        return {row.match_key: row.code for row in self.by_status("missing_in_qbo") if row.source_of_key and row.code}

    def summary(self) -> str:
        counts = self.counts()
        codes = sum(n for status, n in counts.items() if status != "only_in_qbo")
        return (
            f"{codes} active billing code(s) compared by {MATCH_FIELD_LABELS[self.match_field]} "
            f"(item_match_field {self.match_field!r}): {counts['matched']} matched, {counts['discrepancy']} matched "
            f"with discrepancies, {counts['missing_in_qbo']} missing in QBO, {counts['no_match_key']} without a "
            f"match key; {counts['only_in_qbo']} QBO item(s) match no billing code"
        )

    def to_csv(self) -> str:
        """One line per row under ``COMPARISON_COLUMNS``, RFC 4180 quoting and CRLF line ends."""
        return csv_table(COMPARISON_COLUMNS, (comparison_csv_cells(row) for row in self.rows), _CSV_TEXT_COLUMNS)


def compare_billing_codes_to_items(
    codes: Iterable[dict[str, Any]], items: Iterable[dict[str, Any]], settings: Settings
) -> ItemComparison:
    """Compare billing codes with QBO items by ``settings.item_match_field`` (TOOL-01).

    ``items`` should hold inactive items too: an inactive item keeps its name taken in QBO, so the
    code matches it (reported as a discrepancy: the invoice sync cannot use an inactive item).
    Rows come in ``STATUS_ORDER``, then by billing code (or item) name.
    """
    qbo_items = sorted(items, key=_qbo_id_order)  # a list: read twice
    items_by_name: dict[str, list[dict[str, Any]]] = {}
    for item in qbo_items:
        items_by_name.setdefault(_text(item.get("Name")).lower(), []).append(item)
    ordered_codes = sorted(codes, key=lambda c: (c.get("id") is None, c.get("id") or 0))
    keys = [item_key_for_billing_code(code, settings) for code in ordered_codes]
    sharing: dict[str, list[dict[str, Any]]] = {}
    for code, key in zip(ordered_codes, keys, strict=True):
        if key:
            sharing.setdefault(key.lower(), []).append(code)

    rows: list[ItemMatch] = []
    matched_ids: set[str] = set()
    for code, key in zip(ordered_codes, keys, strict=True):
        expected = item_payload(key, code, "", settings)
        if not key:
            rows.append(
                ItemMatch("no_match_key", code, None, "", notes=(_no_key_note(code, settings),), expected=expected)
            )
            continue
        notes: list[str] = []
        same_key = sharing[key.lower()]
        if len(same_key) > 1:
            others = ", ".join(_code_label(c) for c in same_key if c is not code)
            notes.append(
                f"duplicate: {others} also match{'es' if len(same_key) == 2 else ''} {key!r}; "
                "their invoice lines all use one QBO item"
            )
        candidates = items_by_name.get(key.lower(), [])
        if not candidates:
            if same_key[0] is not code:
                notes.append(f"a copy creates {key!r} once, from {_code_label(same_key[0])}")
            notes.extend(_other_field_hints(code, settings, items_by_name))
            rows.append(
                ItemMatch(
                    "missing_in_qbo",
                    code,
                    None,
                    key,
                    notes=tuple(notes),
                    source_of_key=same_key[0] is code,
                    expected=expected,
                )
            )
            continue
        item = candidates[-1]  # the one the invoice sync's name look-up ends up with
        if len(candidates) > 1:
            ids = ", ".join(_text(c.get("Id")) for c in candidates)
            notes.append(
                f"duplicate: QBO has {len(candidates)} items named {key!r} (Ids {ids}); rename all but one "
                "so invoices use the item you mean"
            )
        matched_ids.update(_text(c.get("Id")) for c in candidates)
        differences = item_differences(code, item, expected)
        status: Status = "discrepancy" if differences else "matched"
        rows.append(ItemMatch(status, code, item, key, differences, tuple(notes), same_key[0] is code, expected))

    generic = {
        generic_item_name(settings).lower(): "atqbo's item for invoice lines without a billing code",
        TAX_ITEM_NAME.lower(): "atqbo's item for Autotask's sales tax",
    }
    for item in qbo_items:
        if _text(item.get("Id")) in matched_ids:
            continue
        name = _text(item.get("Name"))
        note = generic.get(name.lower(), "no active billing code matches this item")
        rows.append(ItemMatch("only_in_qbo", None, item, name, notes=(note,)))

    def order(row: ItemMatch) -> tuple[Any, ...]:
        if row.code is not None:
            return STATUS_ORDER.index(row.status), _text(row.code.get("name")).lower(), _numeric_key(row.code.get("id"))
        item = row.item or {}
        return STATUS_ORDER.index(row.status), _text(item.get("Name")).lower(), _numeric_key(item.get("Id"))

    return ItemComparison(match_field=settings.item_match_field, rows=tuple(sorted(rows, key=order)))


def item_differences(
    code: dict[str, Any], item: dict[str, Any], expected: dict[str, Any]
) -> tuple[FieldDifference, ...]:
    """Where a QBO item differs from ``expected``, the item atqbo would create for the billing code
    (``item_payload``).

    Compared: the description (the code's description, or its name when blank, as ``item_payload``
    writes it), the unit price (when Autotask has one; QBO's absent price is 0) and the active state
    (an inactive item cannot be used on invoices). The name is the match itself; the SKU and the
    accounts are QBO bookkeeping a person may set differently on purpose.
    """
    differences = []
    autotask_description = _text(expected.get("Description"))
    qbo_description = _text(item.get("Description")).strip()
    if autotask_description != qbo_description:
        differences.append(FieldDifference("description", autotask_description, qbo_description))
    if "UnitPrice" in expected:
        autotask_price, qbo_price = as_decimal(code.get("unitPrice")), as_decimal(item.get("UnitPrice"))
        if autotask_price != qbo_price:
            differences.append(
                FieldDifference("unit price", unit_price_text(autotask_price), unit_price_text(qbo_price))
            )
    autotask_active, qbo_active = _active(code.get("isActive")), _active(item.get("Active"))
    if autotask_active != qbo_active:
        differences.append(FieldDifference("active", _yes_no(autotask_active), _yes_no(qbo_active)))
    return tuple(differences)


def comparison_csv_cells(row: ItemMatch) -> dict[str, Any]:
    """The CSV cells of one row (both sides' values, whatever the status)."""
    code, item = row.code or {}, row.item or {}
    cells: dict[str, Any] = {
        "status": row.status,
        "billing_code_id": code.get("id"),
        "billing_code_name": _text(code.get("name")),
        "external_number": _text(code.get("externalNumber")),
        "match_key": row.match_key,
        "qbo_item_id": item.get("Id"),
        "qbo_item_name": _text(item.get("Name")),
        "differences": "; ".join(d.field for d in row.differences),
        "note": " | ".join(row.notes),
    }
    if row.code is not None:
        cells["autotask_description"] = _text((row.expected or {}).get("Description"))
        price = code.get("unitPrice")
        cells["autotask_unit_price"] = unit_price_text(as_decimal(price)) if price is not None else ""
        cells["autotask_active"] = _yes_no(_active(code.get("isActive")))
    if row.item is not None:
        cells["qbo_description"] = _text(item.get("Description")).strip()
        cells["qbo_unit_price"] = unit_price_text(as_decimal(item.get("UnitPrice")))
        cells["qbo_active"] = _yes_no(_active(item.get("Active")))
    return cells


def _no_key_note(code: dict[str, Any], settings: Settings) -> str:
    field = "name" if settings.item_match_field == "name" else "External Number"
    return (
        f"no match key: its {field} is blank, so the invoice sync puts its lines on the generic item "
        f"{generic_item_name(settings)!r} (or refuses them when missing_item_action is 'error'); fill in the "
        f"{field} in Autotask, or match by 'external_number_or_name'"
    )


def _other_field_hints(
    code: dict[str, Any], settings: Settings, items_by_name: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """For a code without an item: the other match fields under which a QBO item would match."""
    fields_by_item: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for other in MATCH_FIELDS:
        if other == settings.item_match_field:
            continue
        key = item_key_for_billing_code(code, replace(settings, item_match_field=other))
        found = items_by_name.get(key.lower()) if key else None
        if found:
            fields_by_item.setdefault(_text(found[-1].get("Id")), (found[-1], []))[1].append(repr(other))
    return [
        f"QBO item {item.get('Name')!r} (Id {item.get('Id')}) would match with match field {' or '.join(fields)}"
        for item, fields in fields_by_item.values()
    ]


def _code_label(code: dict[str, Any]) -> str:
    return f"billing code {_text(code.get('name'))!r} (id {code.get('id')})"


def _qbo_id_order(item: dict[str, Any]) -> tuple[int, str]:
    """QBO Ids are numeric strings; order them as numbers (as QBO lists them)."""
    return _numeric_key(item.get("Id"))


def _active(value: Any) -> bool:
    """Autotask's isActive / QBO's Active; absent means active (QBO leaves out defaults)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no")
    return value is None or bool(value)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# -- the trigger form ----------------------------------------------------------------------------


def match_field_overrides(match_field: str) -> dict[str, Any]:
    """The settings overrides of the form's ``match_field``: none for "settings"."""
    if match_field == USE_SETTINGS:
        return {}
    if match_field not in MATCH_FIELDS:
        raise AtqboConfigError(
            f"match_field: {match_field!r} is not one of {', '.join(repr(m) for m in (USE_SETTINGS, *MATCH_FIELDS))}"
        )
    return {"item_match_field": match_field}


# -- reading both sides ----------------------------------------------------------------------------


def read_billing_codes(autotask: AutotaskHook) -> list[dict[str, Any]]:
    """Every active Autotask billing code, in one bulk query per 500, with the fields the invoice
    sync reads (so the keys and payloads here are the sync's)."""
    return autotask.query_all("BillingCodes", [eq("isActive", True)], include_fields=BILLING_CODE_FIELDS)


def read_qbo_items(qbo: QuickBooksOnlineHook) -> list[dict[str, Any]]:
    """Every QBO item, active or not (an inactive item keeps its name taken), one query per 1,000."""
    return list(qbo.query_all("Item", where=["Active IN (true, false)"], order_by="Id"))


def extract_codes_and_items(
    run: RunInfo, autotask: AutotaskHook, qbo: QuickBooksOnlineHook, ledger: Ledger
) -> dict[str, int]:
    """Read both sides and stage them for the run's later tasks; return counts."""
    codes = read_billing_codes(autotask)
    items = read_qbo_items(qbo)
    ledger.stage_clear(run.run_key)
    ledger.stage_put(run.run_key, STAGE_CODES, {str(c["id"]): c for c in codes})
    ledger.stage_put(run.run_key, STAGE_ITEMS, {str(i["Id"]): i for i in items})
    log.info(
        "Read %d active billing codes (%d Autotask calls) and %d QBO items",
        len(codes),
        autotask.total_calls,
        len(items),
    )
    return {"billing_codes": len(codes), "qbo_items": len(items)}


def staged_comparison(run: RunInfo, ledger: Ledger) -> ItemComparison:
    codes = ledger.stage_get(run.run_key, STAGE_CODES).values()
    items = ledger.stage_get(run.run_key, STAGE_ITEMS).values()
    return compare_billing_codes_to_items(codes, items, run.parsed_settings)


# -- TOOL-01 report -------------------------------------------------------------------------------


def comparison_csv_filename(run_id: str) -> str:
    return "atqbo-item-comparison-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", run_id).strip("-.") or "run") + ".csv"


def build_comparison_report(run: RunInfo, comparison: ItemComparison) -> RunReport:
    """The comparison as a report: a row per billing code, the full table as a CSV attachment."""
    report = RunReport(
        title="atqbo compare billing codes and items",
        dag_id=run.dag_id,
        run_id=run.run_id,
        notes=[comparison.summary() + ". The attached item-comparison CSV has every row with both sides' values."],
        attachments={comparison_csv_filename(run.run_id): comparison.to_csv()},
        always_email=True,
    )
    for row in comparison.rows:
        if row.code is None:
            continue  # QBO-only items are in the attachment
        report.rows.append(_comparison_report_row(row))
    return report


def _comparison_report_row(row: ItemMatch) -> ReportRow:
    code, item = row.code or {}, row.item or {}
    base = {
        "entity": ENTITY,
        "autotask_id": code.get("id"),
        "reference": _text(code.get("name")),
        "qbo_id": _text(item.get("Id")) or None,
        "qbo_number": _text(item.get("Name")) or None,
    }
    notes = "; ".join(row.notes)
    if row.status == "matched":
        return ReportRow(outcome="matched", reason=_join(f"matches QBO item {row.match_key!r}", notes), **base)
    if row.status == "discrepancy":
        inactive = any(d.field == "active" for d in row.differences)
        return ReportRow(
            outcome="warning",
            reason=_join("matched, but " + "; ".join(d.describe() for d in row.differences), notes),
            fix=INACTIVE_FIX if inactive else NO_UPDATE_FIX,
            **base,
        )
    if row.status == "missing_in_qbo":
        return ReportRow(
            outcome="warning",
            reason=_join(f"missing in QBO: no item named {row.match_key!r}", notes),
            fix="run atqbo_copy_missing_items, or create the item in QBO (the invoice sync also creates it when "
            "missing_item_action is 'create')",
            **base,
        )
    return ReportRow(outcome="warning", reason=notes, fix="fill in the field in Autotask", **base)


def report_comparison(run: RunInfo, ledger: Ledger) -> dict[str, int]:
    """Email, log and record the staged comparison; return its counts by status."""
    comparison = staged_comparison(run, ledger)
    run.publish(build_comparison_report(run, comparison), ledger)
    return comparison.counts()


# -- TOOL-02 copy ----------------------------------------------------------------------------------


def income_account_id(qbo: QuickBooksOnlineHook, settings: Settings) -> str:
    """The Id of the ``new_item_income_account`` account, or a config error saying how to fix it."""
    name = settings.new_item_income_account
    found = find_account(qbo, name)
    if found is None:
        raise AtqboConfigError(
            f"QBO has no account named {name!r}, the income account for new items (setting new_item_income_account "
            f"in the {VARIABLE_NAME} Variable), so no item can be copied; nothing was created. Fix: create an Income "
            f"account named {name!r} in QBO, or set new_item_income_account to the name of an existing income "
            "account, then trigger the tool again"
        )
    return found["Id"]


def copy_missing_items(run: RunInfo, qbo: QuickBooksOnlineHook, ledger: Ledger, income_id: str) -> dict[str, int]:
    """Create the QBO items the staged comparison says are missing (TOOL-02); stage one outcome per
    billing code. Safe to repeat: names are looked up again first (an item created since the
    comparison is used as it is), and a name QBO reports as taken is adopted by ``create_names``.
    """
    settings = run.parsed_settings
    comparison = staged_comparison(run, ledger)
    wanted = comparison.to_create()
    # The comparison may be old (this task cleared and run again, someone at work in QBO): ask again.
    present = find_names(qbo, "Item", "Name", set(wanted), active_only=False) if wanted else {}
    payloads = {
        key: item_payload(key, code, income_id, settings) for key, code in wanted.items() if key.lower() not in present
    }
    created, faults = create_names(qbo, "Item", "Name", payloads, run_id=run.run_id, dry_run=run.dry_run)
    source_of = {key.lower(): code for key, code in wanted.items()}
    outcomes: dict[str, dict[str, Any]] = {}
    for row in comparison.rows:
        if row.code is None:
            continue
        outcome = _copy_outcome(row, present, created, faults, payloads, source_of, settings, run.dry_run)
        outcomes[str(row.code.get("id"))] = outcome.to_dict()
    ledger.stage_put(run.run_key, STAGE_COPY, outcomes)
    counts: dict[str, int] = {}
    for doc in outcomes.values():
        counts[doc["outcome"]] = counts.get(doc["outcome"], 0) + 1
    log.info("Copy of missing items: %s", counts)
    return counts


def _copy_outcome(
    row: ItemMatch,
    present: dict[str, dict[str, Any]],
    created: dict[str, dict[str, Any]],
    faults: dict[str, str],
    payloads: dict[str, dict[str, Any]],
    source_of: dict[str, dict[str, Any]],
    settings: Settings,
    dry_run: bool,
) -> ReportRow:
    """What the copy did for one billing code's row of the comparison."""
    code = row.code or {}
    base = {"entity": ENTITY, "autotask_id": code.get("id"), "reference": _text(code.get("name"))}
    if row.status == "no_match_key":
        return ReportRow(
            outcome="warning",
            reason="not copied: " + "; ".join(row.notes),
            fix="fill in the field in Autotask, then run the tool again",
            **base,
        )
    key = row.match_key
    if row.status in ("matched", "discrepancy"):
        item = row.item or {}
        return _existing_item_row(item, f"already in QBO as item {item.get('Name')!r}", base)
    lower = key.lower()
    if lower in present:
        return _existing_item_row(
            present[lower],
            f"now in QBO as item {present[lower].get('Name')!r} (created since the comparison); used as it is",
            base,
        )
    source = source_of.get(lower) or {}
    if key in faults or lower not in created:
        source_key = next((k for k in faults if k.lower() == lower), key)
        return ReportRow(
            outcome="failed",
            reason=f"QBO item {key!r} could not be created: {faults.get(source_key, 'QBO gave no answer for it')}",
            fix="fix what QBO names (in the billing code or in QBO), then run atqbo_copy_missing_items again",
            **base,
        )
    record = created[lower]
    sent = next((p for k, p in payloads.items() if k.lower() == lower), {})
    if not dry_run and not _is_item_as_sent(record, sent):
        # QBO said the name was taken after the look-up and create_names adopted that item.
        return _existing_item_row(
            record, f"created in QBO meanwhile as item {record.get('Name')!r}, not by this run; used as it is", base
        )
    if not row.source_of_key:
        return ReportRow(
            outcome="matched",
            qbo_id=_qbo_id(record, dry_run),
            qbo_number=key,
            reason=f"uses QBO item {key!r}, {'to be ' if dry_run else ''}created from "
            f"{_code_label(source)} (the same match key)",
            **base,
        )
    account = settings.new_item_income_account
    if dry_run:
        return ReportRow(
            outcome="planned",
            qbo_number=key,
            reason=f"would create Service item {key!r} on income account {account!r}",
            **base,
        )
    return ReportRow(
        outcome="transferred",
        qbo_id=_text(record.get("Id")),
        qbo_number=_text(record.get("Name")),
        reason=f"created Service item {key!r} on income account {account!r}",
        **base,
    )


def _existing_item_row(item: dict[str, Any], what: str, base: dict[str, Any]) -> ReportRow:
    ids = {"qbo_id": _text(item.get("Id")) or None, "qbo_number": _text(item.get("Name")) or None}
    if not _active(item.get("Active")):
        return ReportRow(
            outcome="warning",
            reason=f"{what}, but the item is inactive; not copied (its name stays taken in QBO)",
            fix=INACTIVE_FIX,
            **ids,
            **base,
        )
    return ReportRow(outcome="matched", reason=f"{what}; nothing to copy", **ids, **base)


def _is_item_as_sent(record: dict[str, Any], payload: dict[str, Any]) -> bool:
    """Whether a QBO item is the one this run asked for (an item exactly like it is as good as ours)."""
    account = (payload.get("IncomeAccountRef") or {}).get("value")
    if _text((record.get("IncomeAccountRef") or {}).get("value")) != _text(account):
        return False
    if _text(record.get("Description")).strip() != _text(payload.get("Description")):
        return False
    if _text(record.get("Sku")) != _text(payload.get("Sku")):
        return False
    return "UnitPrice" not in payload or as_decimal(record.get("UnitPrice")) == as_decimal(payload["UnitPrice"])


def _qbo_id(record: dict[str, Any], dry_run: bool) -> str | None:
    return None if dry_run else _text(record.get("Id")) or None


def build_copy_report(run: RunInfo, ledger: Ledger) -> RunReport:
    settings = run.parsed_settings
    outcomes = ledger.stage_get(run.run_key, STAGE_COPY)
    comparison = staged_comparison(run, ledger)
    report = RunReport(
        title="atqbo copy missing items", dag_id=run.dag_id, run_id=run.run_id, dry_run=run.dry_run, always_email=True
    )
    report.rows = [ReportRow.from_dict(outcomes[k]) for k in sorted(outcomes, key=_numeric_key)]
    wanted = len(comparison.to_create())
    report.notes.append(
        f"Before the copy: {comparison.summary()}. "
        + (
            f"New items are Service items on the income account {settings.new_item_income_account!r} "
            "(new_item_income_account), named as the invoice sync looks for them."
            if wanted
            else "Nothing to copy: every billing code with a match key has a QBO item."
        )
    )
    return report


def report_copy(run: RunInfo, ledger: Ledger) -> dict[str, int]:
    report = build_copy_report(run, ledger)
    run.publish(report, ledger)
    return report.counts()


def _numeric_key(key: Any) -> tuple[int, str]:
    """Ids (Autotask ints, QBO numeric strings) in numeric order; anything else after them."""
    text = _text(key)
    return (int(text), "") if text.isdigit() else (1 << 62, text)


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if second else first
