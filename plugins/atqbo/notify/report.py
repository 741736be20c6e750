"""The run report: one ``ReportRow`` per record a run looked at, and the ``RunReport`` that holds
them with the run's notes, counts and email subject.

A report whose rows span several QBO companies (BEY-07: ``qbo_routes``) names each row's company
and counts each company's rows; one whose rows name one company (or none) is rendered as before.

Its renderings live in their own modules (``text``: the task log, ``report_html``: the email,
``csv_export``: the attachment); ``RunReport`` offers them as methods.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from atqbo.notify.csv_export import report_csv
from atqbo.notify.report_html import report_html
from atqbo.notify.text import summary_text
from atqbo.notify.wording import NO_QBO_COMPANY, OUTCOMES, Outcome, count_phrase


@dataclass(frozen=True)
class ReportRow:
    """One record's outcome. ``reference`` is what a person recognises (an invoice or PO number)."""

    outcome: Outcome
    entity: str  # "invoice", "invoice_void", "payment", "purchase_order"
    autotask_id: int | None
    reference: str = ""
    company: str = ""
    qbo_id: str | None = None
    qbo_number: str | None = None
    autotask_total: Decimal | None = None
    qbo_total: Decimal | None = None
    reason: str = ""  # why skipped / what failed / what was planned
    fix: str = ""  # how to fix a failure
    # BEY-07: the QBO company (its Airflow connection id) the record went to, when the sync knows it.
    qbo_company: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-safe values (amounts as exact strings); ``qbo_company`` only when known, so a
        row of a single-company sync is the dict it always was."""
        out = asdict(self)
        for key in ("autotask_total", "qbo_total"):
            if out[key] is not None:
                out[key] = str(out[key])
        if out["qbo_company"] is None:
            del out["qbo_company"]
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ReportRow:
        doc = dict(doc)
        for key in ("autotask_total", "qbo_total"):
            if doc.get(key) is not None:
                doc[key] = Decimal(str(doc[key]))
        return cls(**doc)

    def totals_differ(self) -> bool:
        return self.autotask_total is not None and self.qbo_total is not None and self.autotask_total != self.qbo_total


@dataclass
class RunReport:
    title: str  # e.g. "atqbo invoices"
    dag_id: str
    run_id: str
    window: str = ""  # human-readable window, e.g. "2026-11-07 00:00 to 2026-11-21 00:15 UTC"
    dry_run: bool = False
    rows: list[ReportRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # run-level messages (settings, warnings)
    # Further CSV attachments, file name -> CSV text (a tool's own table, e.g. the item comparison).
    attachments: dict[str, str] = field(default_factory=dict)
    # A tool someone triggered answers even when there is nothing to say ("no invoices to pick up").
    always_email: bool = False
    # What the subject says instead of the row counts, for a report whose rows are only the exceptions
    # (the reconciliation: "43 checked, all agree").
    headline: str = ""
    # The install has several QBO companies (``qbo_routes``, BEY-07): its rows always say which, even
    # when this run's rows are all one company's (``RunInfo.publish`` sets it).
    several_qbo_companies: bool = False

    def did_anything(self) -> bool:
        """True when there is something worth an email: any row other than a plain skip, or a note."""
        return self.always_email or bool(self.notes) or any(row.outcome != "skipped" for row in self.rows)

    def counts(self) -> dict[str, int]:
        """Rows per outcome, every outcome present (zeros included), in ``OUTCOMES`` order."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for row in self.rows:
            counts[row.outcome] = counts.get(row.outcome, 0) + 1
        return counts

    def describe_counts(self) -> str:
        """``12 transferred, 1 failed, 3 skipped``: the non-zero counts, or ``no records``."""
        return describe_counts(self.counts())

    def qbo_companies(self) -> list[str]:
        """The QBO companies (connection ids) the rows name, sorted (BEY-07)."""
        return sorted({row.qbo_company for row in self.rows if row.qbo_company})

    def spans_qbo_companies(self) -> bool:
        """True when the install has several QBO companies and a row names one, or the rows name more
        than one: then each row says which (BEY-07). A single-company install's reports look as they
        always did."""
        companies = self.qbo_companies()
        return len(companies) > 1 or (self.several_qbo_companies and bool(companies))

    def counts_by_qbo_company(self) -> dict[str, dict[str, int]]:
        """Rows per outcome of each QBO company (``NO_QBO_COMPANY`` for rows that name none, last)."""
        by_company: dict[str, dict[str, int]] = {}
        for company in [*self.qbo_companies(), NO_QBO_COMPANY]:
            rows = [row for row in self.rows if (row.qbo_company or NO_QBO_COMPANY) == company]
            if rows:
                counts = dict.fromkeys(OUTCOMES, 0)
                for row in rows:
                    counts[row.outcome] = counts.get(row.outcome, 0) + 1
                by_company[company] = counts
        return by_company

    def describe_counts_by_qbo_company(self) -> str:
        """``qbo_au: 3 transferred, 1 failed; qbo_default: 12 transferred``; empty unless the rows span
        several QBO companies."""
        if not self.spans_qbo_companies():
            return ""
        return "; ".join(f"{company}: {describe_counts(c)}" for company, c in self.counts_by_qbo_company().items())

    def rows_by_outcome(self, outcome: str) -> list[ReportRow]:
        return [row for row in self.rows if row.outcome == outcome]

    def mixes_entities(self) -> bool:
        """True when the rows are of more than one entity: then each row names its entity."""
        return len({row.entity for row in self.rows}) > 1

    def email_subject(self) -> str:
        """``[atqbo] invoices: 12 transferred, 1 failed (dry run)``."""
        name = re.sub(r"^atqbo[\s_-]+", "", self.title.strip(), flags=re.IGNORECASE) or self.title
        subject = f"[atqbo] {name}: {self.headline or self.describe_counts()}"
        if self.notes and not self.rows and not self.headline:
            subject += f", {len(self.notes)} note{'s' if len(self.notes) != 1 else ''}"
        if self.dry_run:
            subject += " (dry run)"
        return subject

    def csv_filename(self) -> str:
        """``atqbo-invoices-<run id>.csv``, safe as a file and attachment name."""
        return f"{_slug(self.title)}-{_slug(self.run_id)}.csv"

    # -- renderings --------------------------------------------------------------------------

    def summary_text(self) -> str:
        """The plain-text summary written to the task log (same content as the email)."""
        return summary_text(self)

    def to_csv(self) -> str:
        """One line per row under a header (``CSV_COLUMNS``), RFC 4180 quoting and CRLF line ends."""
        return report_csv(self)

    def to_html(self) -> str:
        """A self-contained HTML email (inline styles only, every value escaped)."""
        return report_html(self)


def describe_counts(counts: dict[str, int]) -> str:
    """``12 transferred, 1 failed``: the non-zero counts, or ``no records``."""
    parts = [count_phrase(outcome, n) for outcome, n in counts.items() if n]
    return ", ".join(parts) if parts else "no records"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-.") or "report"
