"""The preflight's report: the task log's text, the HTML email and its CSV, from the checks of every
part. Blocking checks come first, then warnings, then what is fine; within each, the parts in
``PARTS`` order. No I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from atqbo.notify import csv_table
from atqbo.notify.html_style import (
    HTML_HEAD,
    S_H1,
    S_H2,
    S_META,
    S_TABLE,
    S_TD,
    S_TH,
    escape,
    html_foot,
)
from atqbo.tools.preflight.model import PARTS, VERDICTS, Check, counts, worst

TITLE = "atqbo preflight"
CSV_COLUMNS = ("verdict", "part", "topic", "finding", "fix", "detail")
VERDICT_WORDS = {"blocking": "Blocking", "warning": "Warning", "ok": "OK"}
HEADLINES = {
    "blocking": "fix the blocking checks before the first live run",
    "warning": "ready for a live run; read the warnings",
    "ok": "ready for a live run",
}
VERDICT_COLOURS = {"blocking": ("#8a1c1c", "#fde8e8"), "warning": ("#6b4e00", "#fff4ce"), "ok": ("#1e5631", "#e6f4ea")}


@dataclass
class PreflightReport:
    dag_id: str
    run_id: str
    window: str
    checks: list[Check]
    notes: list[str] = field(default_factory=list)  # the cost of the preflight, what it did not do

    @property
    def verdict(self) -> str:
        return worst(self.checks)

    def ordered(self) -> list[Check]:
        parts = list(PARTS)
        return sorted(self.checks, key=lambda c: (VERDICTS.index(c.verdict), parts.index(c.part)))

    def describe_counts(self) -> str:
        return ", ".join(f"{n} {verdict}" for verdict, n in counts(self.checks).items() if n) or "no checks"

    def email_subject(self) -> str:
        return f"[atqbo] preflight: {self.describe_counts()} ({HEADLINES[self.verdict]})"

    def csv_filename(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", self.run_id).strip("-.") or "run"
        return f"atqbo-preflight-{slug}.csv"

    def to_text(self) -> str:
        lines = [
            TITLE,
            f"Run: {self.dag_id} / {self.run_id}",
            f"Window: {self.window}",
            "READ ONLY: nothing was written to QBO or Autotask",
            f"Verdict: {HEADLINES[self.verdict]} ({self.describe_counts()})",
        ]
        for verdict in VERDICTS:
            group = [c for c in self.ordered() if c.verdict == verdict]
            if not group:
                continue
            lines += ["", f"{VERDICT_WORDS[verdict]} ({len(group)})"]
            for check in group:
                lines.append(f"  - [{check.where}] {check.topic}: {check.finding}")
                if check.fix:
                    lines.append(f"    Fix: {check.fix}")
        if self.notes:
            lines += ["", f"Notes ({len(self.notes)})", *(f"  - {n}" for n in self.notes)]
        return "\n".join(lines)

    def to_csv(self) -> str:
        """A line per check; with several QBO companies (BEY-07) a ``qbo_company`` column after ``part``."""
        rows = [{**c.to_dict(), "part": PARTS[c.part], "qbo_company": c.company} for c in self.ordered()]
        columns = CSV_COLUMNS
        if any(c.company for c in self.checks):
            columns = (*CSV_COLUMNS[:2], "qbo_company", *CSV_COLUMNS[2:])
        return csv_table(columns, rows, text_columns=("topic", "finding", "fix", "detail"))

    def to_html(self) -> str:
        colour, background = VERDICT_COLOURS[self.verdict]
        parts = [
            HTML_HEAD.format(title=escape(TITLE)),
            f'<h1 style="{S_H1}">{escape(TITLE)}</h1>',
            f'<p style="{S_META}">Run <b>{escape(self.dag_id)}</b> / {escape(self.run_id)}<br>'
            f"Window: {escape(self.window)}<br>Read only: nothing was written to QBO or Autotask</p>",
            f'<div style="margin:0 0 12px 0;padding:10px 12px;background:{background};color:{colour};'
            f'font-weight:bold;">{escape(HEADLINES[self.verdict].capitalize())}: '
            f"{escape(self.describe_counts())}</div>",
        ]
        for verdict in VERDICTS:
            group = [c for c in self.ordered() if c.verdict == verdict]
            if not group:
                continue
            colour, background = VERDICT_COLOURS[verdict]
            parts.append(f'<h2 style="{S_H2}color:{colour};">{VERDICT_WORDS[verdict]} ({len(group)})</h2>')
            header = "".join(
                f'<th style="{S_TH}background:{background};">{h}</th>'
                for h in ("Part", "Check", "Finding", *(("Fix",) if verdict != "ok" else ()))
            )
            parts.append(f'<table style="{S_TABLE}"><tr>{header}</tr>')
            for check in group:
                cells = [check.where, check.topic, check.finding, *((check.fix,) if verdict != "ok" else ())]
                parts.append("<tr>" + "".join(f'<td style="{S_TD}">{escape(v)}</td>' for v in cells) + "</tr>")
            parts.append("</table>")
        if self.notes:
            parts.append(f'<h2 style="{S_H2}">Notes</h2><ul>')
            parts += [f"<li>{escape(n)}</li>" for n in self.notes]
            parts.append("</ul>")
        parts.append(html_foot("The attached CSV lists every check with the records concerned."))
        return "".join(parts)
