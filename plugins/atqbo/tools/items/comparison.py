"""The comparison of billing codes with QBO items (TOOL-01), pure: one row per billing code
(matched, matched with field discrepancies, missing in QBO, no match key) and one per QBO item no
billing code matches, duplicates noted; and the comparison's own CSV. No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from atqbo.money import as_decimal, unit_price_text
from atqbo.notify import csv_table
from atqbo.settings import Settings
from atqbo.tools.items.form import MATCH_FIELD_LABELS, MATCH_FIELDS
from atqbo.tools.items.values import code_label, is_active, numeric_order, text, yes_no
from atqbo.transform.invoices import TAX_ITEM_NAME, generic_item_name, item_key_for_billing_code, item_payload

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

ENTITY = "billing_code"  # how the item tools' report rows name what they are about
NO_UPDATE_FIX = (
    "if they should be the same, change the billing code in Autotask or the item in QBO "
    "(atqbo never changes an existing item)"
)
INACTIVE_FIX = "make the QBO item active (Sales > Products and services), or the invoice sync cannot use it"


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
    qbo_items = sorted(items, key=lambda item: numeric_order(item.get("Id")))  # a list: read twice
    items_by_name: dict[str, list[dict[str, Any]]] = {}
    for item in qbo_items:
        items_by_name.setdefault(text(item.get("Name")).lower(), []).append(item)
    ordered_codes = sorted(codes, key=lambda c: (c.get("id") is None, c.get("id") or 0))
    keys = [item_key_for_billing_code(code, settings) for code in ordered_codes]
    sharing: dict[str, list[dict[str, Any]]] = {}  # codes by the key they share, lowest id first
    for code, key in zip(ordered_codes, keys, strict=True):
        if key:
            sharing.setdefault(key.lower(), []).append(code)

    rows = [
        _code_row(code, key, sharing[key.lower()] if key else [], items_by_name, settings)
        for code, key in zip(ordered_codes, keys, strict=True)
    ]
    # Every item named by a code's key is matched, the duplicates of its name too.
    matched = (row for row in rows if row.item is not None)
    matched_ids = {text(c.get("Id")) for row in matched for c in items_by_name[row.match_key.lower()]}
    rows += _qbo_only_rows(qbo_items, matched_ids, settings)
    return ItemComparison(match_field=settings.item_match_field, rows=tuple(sorted(rows, key=_row_order)))


def _code_row(
    code: dict[str, Any],
    key: str,
    same_key: list[dict[str, Any]],
    items_by_name: dict[str, list[dict[str, Any]]],
    settings: Settings,
) -> ItemMatch:
    """One billing code's row: its item found by ``key`` (the last of a name QBO holds twice, as the
    invoice sync's look-up ends up with), and notes on codes sharing the key."""
    expected = item_payload(key, code, "", settings)
    if not key:
        return ItemMatch("no_match_key", code, None, "", notes=(_no_key_note(code, settings),), expected=expected)
    notes: list[str] = []
    if len(same_key) > 1:
        others = ", ".join(code_label(c) for c in same_key if c is not code)
        notes.append(
            f"duplicate: {others} also match{'es' if len(same_key) == 2 else ''} {key!r}; "
            "their invoice lines all use one QBO item"
        )
    source_of_key = same_key[0] is code
    candidates = items_by_name.get(key.lower(), [])
    if not candidates:
        if not source_of_key:
            notes.append(f"a copy creates {key!r} once, from {code_label(same_key[0])}")
        notes.extend(_other_field_hints(code, settings, items_by_name))
        return ItemMatch(
            "missing_in_qbo", code, None, key, notes=tuple(notes), source_of_key=source_of_key, expected=expected
        )
    item = candidates[-1]  # the one the invoice sync's name look-up ends up with
    if len(candidates) > 1:
        ids = ", ".join(text(c.get("Id")) for c in candidates)
        notes.append(
            f"duplicate: QBO has {len(candidates)} items named {key!r} (Ids {ids}); rename all but one "
            "so invoices use the item you mean"
        )
    differences = item_differences(code, item, expected)
    status: Status = "discrepancy" if differences else "matched"
    return ItemMatch(status, code, item, key, differences, tuple(notes), source_of_key, expected)


def _qbo_only_rows(qbo_items: list[dict[str, Any]], matched_ids: set[str], settings: Settings) -> list[ItemMatch]:
    """A row per QBO item no billing code matches; atqbo's own generic and tax items say so."""
    generic = {
        generic_item_name(settings).lower(): "atqbo's item for invoice lines without a billing code",
        TAX_ITEM_NAME.lower(): "atqbo's item for Autotask's sales tax",
    }
    rows = []
    for item in qbo_items:
        if text(item.get("Id")) in matched_ids:
            continue
        name = text(item.get("Name"))
        note = generic.get(name.lower(), "no active billing code matches this item")
        rows.append(ItemMatch("only_in_qbo", None, item, name, notes=(note,)))
    return rows


def _row_order(row: ItemMatch) -> tuple[Any, ...]:
    """By status, then by the billing code's name (a QBO-only row: the item's), then by id."""
    if row.code is not None:
        return STATUS_ORDER.index(row.status), text(row.code.get("name")).lower(), numeric_order(row.code.get("id"))
    item = row.item or {}
    return STATUS_ORDER.index(row.status), text(item.get("Name")).lower(), numeric_order(item.get("Id"))


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
    autotask_description = text(expected.get("Description"))
    qbo_description = text(item.get("Description")).strip()
    if autotask_description != qbo_description:
        differences.append(FieldDifference("description", autotask_description, qbo_description))
    if "UnitPrice" in expected:
        autotask_price, qbo_price = as_decimal(code.get("unitPrice")), as_decimal(item.get("UnitPrice"))
        if autotask_price != qbo_price:
            differences.append(
                FieldDifference("unit price", unit_price_text(autotask_price), unit_price_text(qbo_price))
            )
    autotask_active, qbo_active = is_active(code.get("isActive")), is_active(item.get("Active"))
    if autotask_active != qbo_active:
        differences.append(FieldDifference("active", yes_no(autotask_active), yes_no(qbo_active)))
    return tuple(differences)


def comparison_csv_cells(row: ItemMatch) -> dict[str, Any]:
    """The CSV cells of one row (both sides' values, whatever the status)."""
    code, item = row.code or {}, row.item or {}
    cells: dict[str, Any] = {
        "status": row.status,
        "billing_code_id": code.get("id"),
        "billing_code_name": text(code.get("name")),
        "external_number": text(code.get("externalNumber")),
        "match_key": row.match_key,
        "qbo_item_id": item.get("Id"),
        "qbo_item_name": text(item.get("Name")),
        "differences": "; ".join(d.field for d in row.differences),
        "note": " | ".join(row.notes),
    }
    if row.code is not None:
        cells["autotask_description"] = text((row.expected or {}).get("Description"))
        price = code.get("unitPrice")
        cells["autotask_unit_price"] = unit_price_text(as_decimal(price)) if price is not None else ""
        cells["autotask_active"] = yes_no(is_active(code.get("isActive")))
    if row.item is not None:
        cells["qbo_description"] = text(item.get("Description")).strip()
        cells["qbo_unit_price"] = unit_price_text(as_decimal(item.get("UnitPrice")))
        cells["qbo_active"] = yes_no(is_active(item.get("Active")))
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
            fields_by_item.setdefault(text(found[-1].get("Id")), (found[-1], []))[1].append(repr(other))
    return [
        f"QBO item {item.get('Name')!r} (Id {item.get('Id')}) would match with match field {' or '.join(fields)}"
        for item, fields in fields_by_item.values()
    ]
