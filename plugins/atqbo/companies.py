"""The run's QBO companies as the syncs that follow documents after they were sent see them (BEY-07):
the void sync, the payment sync and the mark-paid tool.

Each company is a connection of the settings (``qbo_conn_id``, then each route's), with its hook
and its realm (``QuickBooksOnlineHook.realm_id``). The ledger's ``invoice`` record says the realm
an invoice went to; a record without one was written before routes existed and belongs to the
default company, as does everything when there is one company (then nothing here changes what the
syncs did before: the realm is not looked at).

A company that cannot be used (its connection missing or wrong) is still listed, with the reason
in ``problem``: the syncs fail its own records with that reason and go on with the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from atqbo.exceptions import AtqboError
from atqbo.hooks.autotask_errors import AutotaskError
from atqbo.notify import ReportRow

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo

log = logging.getLogger(__name__)

STOPPED_FIX = "fix the QBO company's connection (or reconnect the app to it) as said above; the next run does the rest"


@dataclass
class QboCompany:
    """One QBO company of the run: its connection, its run (its settings), hook and realm."""

    conn_id: str
    run: RunInfo
    default: bool
    qbo: QuickBooksOnlineHook | None = None
    realm_id: str | None = None
    problem: str = ""  # why it cannot be used this run (its connection), or ""

    def owns(self, record: dict[str, Any] | None) -> bool:
        """The ledger record is of this company: its realm, or none (written before routes: the default's)."""
        realm = (record or {}).get("realm_id")
        return realm == self.realm_id if realm else self.default


def company_failure(exc: BaseException) -> bool:
    """``exc`` stops one QBO company (its token, connection, settings, QBO's answers), not the run:
    any atqbo error but Autotask's (Autotask is every company's; its failure stops the run)."""
    return isinstance(exc, AtqboError) and not isinstance(exc, AutotaskError)


def stopped_reason(conn_id: str, exc: BaseException | str) -> str:
    """Why one company's records failed when the company could not go on."""
    return f"QBO company {conn_id} could not be reached or used: {exc}"


def run_companies(run: RunInfo, ledger: Ledger) -> list[QboCompany]:
    """The run's QBO companies, the default first; each with its hook and realm, or its ``problem``."""
    companies = []
    for conn_id in run.qbo_conn_ids:
        company_run = run if len(run.qbo_conn_ids) == 1 else run.for_company(conn_id)
        company = QboCompany(conn_id, company_run, default=conn_id == run.parsed_settings.qbo_conn_id)
        try:
            company.qbo = company_run.qbo(ledger)
            company.realm_id = company.qbo.realm_id  # reads the connection: a missing one raises here
        except AtqboError as exc:
            if len(run.qbo_conn_ids) == 1:
                raise  # one company: what stops it stops the run, as always
            company.problem = stopped_reason(conn_id, exc)
            log.warning("%s", company.problem)
        companies.append(company)
    return companies


def company_of_record(companies: list[QboCompany], record: dict[str, Any] | None) -> QboCompany | None:
    """The company a ledger record's document went to (its realm; none: the default company), or
    None when its realm is no company of the run's (a connection changed, or one that cannot be read)."""
    if len(companies) == 1:
        return companies[0]
    return next((c for c in companies if c.owns(record)), None)


def by_conn_id(companies: list[QboCompany]) -> dict[str, QboCompany]:
    return {c.conn_id: c for c in companies}


def company_row(row: ReportRow, conn_id: str | None) -> ReportRow:
    """``row`` saying which QBO company it is about (its ``qbo_company``)."""
    return replace(row, qbo_company=conn_id) if conn_id else row
