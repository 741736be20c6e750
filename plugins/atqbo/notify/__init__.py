"""Reports and alerts: what a run did, by email (HTML + CSV) and in the task log; Autotask to-dos
and an email when a run cannot proceed at all.

Every sync builds a ``RunReport`` of ``ReportRow``s (one per record it looked at) and calls
``deliver_report`` (INV-21). A DAG's ``on_failure_callback`` is ``notify_run_failure`` (PO-08
for whole runs): it emails the report recipients and creates one Autotask to-do under the local
organization (company 0), once per failed run.

The vendor apps mailed their reports to the QBO admin's mailbox; atqbo mails ``report_to`` (plus
per-run extra recipients) through an Airflow SMTP connection, and always writes the same summary
to the task log, so a report is never lost when there is nobody to mail it to or mail fails.

The modules, lowest first: ``wording`` (outcomes, section titles, how a record is named),
``csv_export``, ``html_style``, ``text`` and ``report_html`` (the renderings), ``report`` (the
model), ``delivery`` (log and email), ``todos`` (Autotask error to-dos), ``failure`` (a failed
run and its words), ``alert_record`` (once per failure, in the ledger) and ``alert`` (the
callback).
"""

from __future__ import annotations

from atqbo.notify.alert import (
    ALERT_AUTOTASK_RETRIES,
    ALERT_SETTING_KEYS,
    create_failure_todo,
    email_run_failure,
    load_alert_settings,
    notify_run_failure,
)
from atqbo.notify.alert_record import ALERT_LOCK_TTL_S, ALERT_STAGE_KIND, ALERT_STAGE_RUN_KEY
from atqbo.notify.csv_export import CSV_ATTACHMENT_BOM, CSV_COLUMNS, csv_table
from atqbo.notify.delivery import DEFAULT_FROM_EMAIL, deliver_report, report_log, report_recipients, send_html_email
from atqbo.notify.failure import FAILURE_REASONS, MAX_ERROR_CHARS, RunFailure
from atqbo.notify.report import ReportRow, RunReport
from atqbo.notify.report_html import HTML_SECTION_ORDER
from atqbo.notify.text import TEXT_SECTION_ORDER
from atqbo.notify.todos import LOCAL_COMPANY_ID, MAX_TODO_DESCRIPTION_CHARS, TODO_DURATION, create_local_todo
from atqbo.notify.wording import DRY_RUN_BANNER, OUTCOMES, SECTION_TITLES, Outcome

__all__ = [
    "ALERT_AUTOTASK_RETRIES",
    "ALERT_LOCK_TTL_S",
    "ALERT_SETTING_KEYS",
    "ALERT_STAGE_KIND",
    "ALERT_STAGE_RUN_KEY",
    "CSV_ATTACHMENT_BOM",
    "CSV_COLUMNS",
    "DEFAULT_FROM_EMAIL",
    "DRY_RUN_BANNER",
    "FAILURE_REASONS",
    "HTML_SECTION_ORDER",
    "LOCAL_COMPANY_ID",
    "MAX_ERROR_CHARS",
    "MAX_TODO_DESCRIPTION_CHARS",
    "OUTCOMES",
    "SECTION_TITLES",
    "TEXT_SECTION_ORDER",
    "TODO_DURATION",
    "Outcome",
    "ReportRow",
    "RunFailure",
    "RunReport",
    "create_failure_todo",
    "create_local_todo",
    "csv_table",
    "deliver_report",
    "email_run_failure",
    "load_alert_settings",
    "notify_run_failure",
    "report_log",
    "report_recipients",
    "send_html_email",
]
