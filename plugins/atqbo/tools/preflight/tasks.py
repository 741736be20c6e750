"""The preflight's tasks (``atqbo_preflight``): the form, one task per part, the report.

Each part's task runs its checks, stages them in the state database under the run's key, logs
each one, and ends failed when one of them is blocking, so the grid shows which part needs work.
An error that stops a part (a connection refused, a permission missing) becomes that part's
blocking check with the error's text. The report task runs whatever the parts' states, reads what
they staged and sends one report: the task log, an HTML email with the CSV of every check.

Nothing is written to Autotask or QBO: the parts only read, and the data part runs the syncs in
dry run. The state database keeps the run's scratch data until the report clears it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from atqbo import forms
from atqbo.exceptions import AtqboError
from atqbo.runs import RunInfo
from atqbo.tools.preflight.model import PARTS, Check, blocking, counts, from_docs, to_docs

log = logging.getLogger(__name__)

STAGE_KIND = "preflight"
FIELDS = (
    forms.whole_number(
        "window_days",
        "Check the invoices and purchase orders of this many days before now (empty: the invoice_lookback_days "
        "setting, the window of the next runs).",
        None,
        1,
        3650,
        title="Window (days)",
    ),
    forms.emails(
        "email",
        "Also send the report to these addresses, one per line (report_to always gets it). Optional.",
        title="Also email the report to",
    ),
)
CONNECTION_FIX = (
    "fix what the error names (run atqbo_check_connections for the connections), then trigger atqbo_preflight again"
)


class PreflightBlocked(AtqboError):
    """A part found something that would make the first live run go wrong."""


def start_preflight(context: dict[str, Any], params: Mapping[str, Any] | None) -> RunInfo:
    """The form, then the settings (validated, as a dry run) and the window."""
    from atqbo.runs import start_tool_run
    from atqbo.settings import load_settings

    form = forms.read_form(params, FIELDS)
    days = form["window_days"] if form["window_days"] is not None else load_settings().invoice_lookback_days
    run = start_tool_run(context, {"dry_run": True}, window_days=days, extra_recipients=form["email"])
    run.ledger().create_schema()
    log.info("Preflight of the tenant, window %s (READ ONLY: nothing will be written)", run.describe_window())
    return run


def run_part(run: RunInfo, part: str) -> dict[str, int]:
    """Run one part's checks, stage and log them; raise ``PreflightBlocked`` when one is blocking."""
    cost: dict[str, int] = {}
    try:
        checks = _checks_of(run, part, cost)
    except Exception as exc:  # a part that cannot run is itself the finding
        log.exception("The %s checks stopped", PARTS[part])
        checks = [
            blocking(
                part,
                f"{PARTS[part]} could not be checked",
                f"{type(exc).__name__}: {exc}",
                CONNECTION_FIX,
            )
        ]
    ledger = run.ledger()
    ledger.stage_put(run.run_key, STAGE_KIND, {part: {"checks": to_docs(checks), "cost": cost}})
    for check in checks:
        level = logging.INFO if check.verdict == "ok" else logging.WARNING
        log.log(
            level,
            "[%s] %s%s: %s%s",
            check.verdict,
            f"QBO company {check.company}: " if check.company else "",
            check.topic,
            check.finding,
            f" Fix: {check.fix}" if check.fix else "",
        )
    tally = counts(checks)
    if tally["blocking"]:
        raise PreflightBlocked(
            f"{tally['blocking']} blocking check(s) in {PARTS[part]}: "
            + "; ".join(c.topic for c in checks if c.verdict == "blocking")
            + ". The report task lists each with its fix."
        )
    return tally


def _checks_of(run: RunInfo, part: str, cost: dict[str, int]) -> list[Check]:
    if part == "settings":
        from atqbo.settings import load_settings
        from atqbo.tools.preflight.settings_checks import check_settings

        return check_settings(load_settings())  # as the syncs will run: the preflight's own run is a dry run
    if part == "autotask":
        from atqbo.tools.preflight.autotask_checks import check_autotask

        autotask = run.autotask()
        try:
            return check_autotask(run, autotask)
        finally:
            cost["autotask_calls"] = autotask.total_calls
    if part == "qbo" and len(run.qbo_conn_ids) > 1:
        return _qbo_checks_by_company(run, cost)
    if part == "qbo":
        from atqbo.tools.preflight.qbo_checks import check_qbo

        ledger = run.ledger()
        qbo = run.qbo(ledger)
        autotask = run.autotask()
        try:
            return check_qbo(run, qbo, autotask_terms=_active_payment_terms(autotask))
        finally:
            cost["qbo_calls"] = qbo.api_calls
            cost["autotask_calls"] = autotask.total_calls
    if part == "data":
        from atqbo.tools.preflight.data_checks import check_data

        return check_data(run, cost)
    raise ValueError(f"unknown preflight part {part!r}")


def _qbo_checks_by_company(run: RunInfo, cost: dict[str, int]) -> list[Check]:
    """BEY-07: the QBO checks of every company, each with its own settings (``RunInfo.for_company``:
    its route's settings applied) and hook, each check naming its company. A company that cannot be
    checked (its connection, its token) is one blocking check of its own; the others are checked."""
    from atqbo.tools.preflight.qbo_checks import check_qbo

    ledger = run.ledger()
    autotask = run.autotask()
    checks: list[Check] = []
    cost["qbo_calls"] = 0
    try:
        terms = _active_payment_terms(autotask)
    finally:
        cost["autotask_calls"] = autotask.total_calls
    for conn_id in run.qbo_conn_ids:
        qbo = None
        try:
            company_run = run.for_company(conn_id)
            qbo = company_run.qbo(ledger)
            found = check_qbo(company_run, qbo, autotask_terms=terms)
        except Exception as exc:  # this company's connection or token: the others are still checked
            log.exception("The QBO checks of QBO company %s stopped", conn_id)
            found = [
                blocking(
                    "qbo",
                    "QBO company could not be checked",
                    f"QBO company {conn_id} could not be reached or used: {type(exc).__name__}: {exc}",
                    CONNECTION_FIX,
                )
            ]
        finally:
            cost["qbo_calls"] += qbo.api_calls if qbo is not None else 0
        checks += [c.of_company(conn_id) for c in found]
    return checks


def _active_payment_terms(autotask: Any) -> list[str]:
    """The labels of Autotask's active payment terms (``Invoices.paymentTerm``), one cached read."""
    from atqbo.hooks.autotask_picklists import picklist_field

    info = picklist_field(autotask.entity_fields("Invoices"), "Invoices", "paymentTerm")
    return [str(v["label"]) for v in info.get("picklistValues") or [] if v.get("isActive", True)]


def report_preflight(run: RunInfo) -> dict[str, Any]:
    """Log and email the report of every part (a part that did not finish is a blocking check),
    then clear the run's scratch data; ends failed (after sending) when a check is blocking."""
    from atqbo.notify.delivery import report_recipients, send_html_email, smtp_error, write_text_attachment
    from atqbo.tools.preflight.report import PreflightReport

    ledger = run.ledger()
    staged = ledger.stage_get(run.run_key, STAGE_KIND)
    checks: list[Check] = []
    autotask_calls = qbo_calls = 0
    for part, title in PARTS.items():
        if part not in staged:
            checks.append(
                blocking(
                    part,
                    f"{title} was not checked",
                    f"the check_{part} task did not finish (it was stopped or its worker died)",
                    "read that task's log in this run, then trigger atqbo_preflight again",
                )
            )
            continue
        checks += from_docs(staged[part]["checks"])
        autotask_calls += staged[part]["cost"].get("autotask_calls", 0)
        qbo_calls += staged[part]["cost"].get("qbo_calls", 0)
    report = PreflightReport(
        dag_id=run.dag_id,
        run_id=run.run_id,
        window=run.describe_window(),
        checks=checks,
        notes=[
            f"The preflight made {autotask_calls} Autotask call(s) and {qbo_calls} QBO call(s), all reads; "
            "the data part ran the invoice and purchase order syncs in dry run.",
        ],
    )
    from atqbo.notify.delivery import report_log

    report_log.info("%s", report.to_text())
    settings = run.parsed_settings
    recipients = report_recipients(settings, run.extra_recipients)
    if recipients:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory(prefix="atqbo-preflight-") as tmp:
            attachment = write_text_attachment(Path(tmp), report.csv_filename(), report.to_csv())
            try:
                send_html_email(
                    settings.smtp_conn_id, recipients, report.email_subject(), report.to_html(), [attachment]
                )
            except Exception as exc:
                raise smtp_error(
                    settings.smtp_conn_id,
                    "the preflight report",
                    exc,
                    "then clear this task to send it again. The full report is in this task's log above",
                ) from exc
        report_log.info("Preflight report emailed to %s.", ", ".join(recipients))
    else:
        report_log.info("The preflight report is only logged: set report_to (or the form's email) to get it by email.")
    ledger.stage_clear(run.run_key)
    tally = counts(checks)
    if tally["blocking"]:  # the run ends failed, so the run list shows it without opening it
        raise PreflightBlocked(
            f"the preflight found {tally['blocking']} blocking check(s); the report above lists each with its fix"
        )
    return {"verdict": report.verdict, **tally, "autotask_calls": autotask_calls, "qbo_calls": qbo_calls}
