"""Which error-log entries a run of ``atqbo_retry_errors`` (or the UI) looks at: the trigger form's
filters (entity, since, QBO company, Autotask ids) and the ledger's query for them. Imported when the DAG file
is parsed, so it imports nothing heavy."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from atqbo import forms
from atqbo.records import ENTITIES

if TYPE_CHECKING:
    from atqbo.ledger import Ledger
    from atqbo.settings import Settings

ALL = "all"

RETRY_FIELDS = (
    forms.choice(
        "entity",
        "Which records' errors: all, or one kind.",
        (ALL, *ENTITIES),
        ALL,
        title="Kind of record",
        labels={ALL: "All kinds", **{e: e.replace("_", " ").capitalize() for e in ENTITIES}},
    ),
    forms.optional_date(
        "since",
        "Only errors that last occurred on or after this day, YYYY-MM-DD (empty: all).",
        title="Errors since",
    ),
    forms.optional_text(
        "qbo_company",
        "Only errors of this QBO company: its Airflow connection id, as in qbo_routes (empty or 'all': every company).",
        250,
        title="QBO company",
    ),
    forms.autotask_ids(
        "autotask_ids",
        "Autotask ids of the records to retry, after fixing what their errors say (empty: only list the errors).",
        title="Autotask ids to retry",
    ),
)


def known_companies(ledger: Ledger, settings: Settings) -> list[str]:
    """The QBO companies one may filter the error log by (BEY-07): the install's connections, in
    its order, then any other the log names (a route since removed)."""
    named = ledger.error_companies()
    return list(settings.qbo_conn_ids) + [c for c in named if c not in settings.qbo_conn_ids]


class UnknownCompany(forms.FormError):
    """A company filter naming a company neither the install nor the error log knows (BEY-07): a
    typo must not list nothing and look like a clean log."""

    def __init__(self, company: str, known: list[str]):
        self.problem = f"qbo_company: {company!r} is not one of {', '.join(known)}"
        self.fix = f"pick one of them, or {ALL!r} (or nothing) for every company"
        super().__init__(f"{self.problem}; {self.fix}")


def chosen_company(company: str | None, ledger: Ledger, settings: Settings) -> str | None:
    """The company filter: None for every company ("all" or empty), else one of ``known_companies``
    (read only then); another is ``UnknownCompany``."""
    if company in (None, "", ALL):
        return None
    known = known_companies(ledger, settings)
    if company not in known:
        raise UnknownCompany(company, known)
    return company


def since_datetime(since: date | datetime | None) -> datetime | None:
    """The form's ``since`` day as the first instant of that day, UTC."""
    if since is None or isinstance(since, datetime):
        return since
    return datetime.combine(since, time.min, tzinfo=UTC)


def select_entries(
    ledger: Ledger,
    entity: str | None = None,
    since: date | datetime | None = None,
    autotask_ids: Iterable[int] | None = None,
    qbo_company: str | None = None,
) -> list[dict[str, Any]]:
    """The open error-log entries matching the filters, newest first (the query the UI shows too).

    ``entity`` None or "all": every entity; ``since``: last occurred on or after it (a day means
    from its midnight UTC); ``autotask_ids`` None or empty: every record; ``qbo_company`` None or
    "all": every entry, else those naming that QBO company (BEY-07).
    """
    ids = list(autotask_ids) if autotask_ids else None
    return ledger.list_errors(
        entity=None if entity in (None, ALL) else entity,
        since=since_datetime(since),
        autotask_ids=ids,
        qbo_company=None if qbo_company in (None, "", ALL) else qbo_company,
    )


def unmatched_ids(requested: Iterable[int], entries: Iterable[dict[str, Any]]) -> list[int]:
    """The Autotask ids asked for that no selected entry names."""
    named = {int(e["autotask_id"]) for e in entries if e.get("autotask_id") is not None}
    return sorted({int(i) for i in requested} - named)


def describe_filters(entity: str | None, since: date | datetime | None, qbo_company: str | None = None) -> str:
    """``entity purchase_order, last occurred on or after 2026-03-01``: the filters in words."""
    parts = [f"entity {entity or ALL}"]
    if qbo_company:
        parts.append(f"QBO company {qbo_company}")
    if since is not None:
        parts.append(f"last occurred on or after {since.isoformat()}")
    return ", ".join(parts)
