"""The words every rendering of a report shares: the outcomes a record can have, their section
titles and counts, how a record and its QBO document and totals are named, and text capped to fit.

The text summary (``text``) and the HTML email (``report_html``) both say a record the same way:
``INV-1001 (Autotask id 12345)``, ``QBO 1038 (id 145)``. Amounts are shown with ``money_text``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from atqbo.money import money_text

if TYPE_CHECKING:
    from atqbo.notify.report import ReportRow

Outcome = Literal["transferred", "matched", "skipped", "failed", "warning", "planned", "voided"]

# Every outcome, in the order counts and subjects list them.
OUTCOMES: tuple[str, ...] = ("transferred", "matched", "planned", "voided", "failed", "warning", "skipped")

SECTION_TITLES: dict[str, str] = {
    "transferred": "Transferred",
    "matched": "Matched (already in QBO)",
    "planned": "Planned (dry run)",
    "voided": "Voided",
    "failed": "Failed",
    "warning": "Warnings",
    "skipped": "Skipped",
}

DRY_RUN_BANNER = "DRY RUN: nothing was written"


def count_phrase(outcome: str, n: int) -> str:
    """``3 transferred``, ``1 warning``, ``2 warnings``."""
    word = "warning" + ("s" if n != 1 else "") if outcome == "warning" else outcome
    return f"{n} {word}"


# BEY-07: how a report names the rows of a multi-company run that name no QBO company.
NO_QBO_COMPANY = "no QBO company"
QBO_COMPANY_HEADER = "QBO company"


def entity_label(entity: str) -> str:
    return entity.replace("_", " ")


def describe_record(row: ReportRow, with_entity: bool) -> str:
    """``INV-1001 (Autotask id 12345)``; the entity in front when the report mixes entities."""
    if row.reference and row.autotask_id is not None:
        text = f"{row.reference} (Autotask id {row.autotask_id})"
    elif row.reference:
        text = row.reference
    elif row.autotask_id is not None:
        text = f"Autotask id {row.autotask_id}"
    else:
        text = "(no record)"
    return f"{entity_label(row.entity)} {text}" if with_entity else text


def describe_qbo(row: ReportRow) -> str:
    if row.qbo_number and row.qbo_id:
        return f"QBO {row.qbo_number} (id {row.qbo_id})"
    if row.qbo_number:
        return f"QBO {row.qbo_number}"
    if row.qbo_id:
        return f"QBO id {row.qbo_id}"
    return ""


def describe_totals(row: ReportRow) -> str:
    parts = []
    if row.autotask_total is not None:
        parts.append(f"Autotask total {money_text(row.autotask_total)}")
    if row.qbo_total is not None:
        parts.append(f"QBO total {money_text(row.qbo_total)}")
    text = ", ".join(parts)
    if row.totals_differ():
        text += f" (differs by {money_text(row.qbo_total - row.autotask_total)})"  # type: ignore[operator]
    return text


def cap_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying it was cut."""
    return text if len(text) <= limit else text[: limit - 15].rstrip() + " ... (cut)"
