"""Delivery of a run report: always to the task log, and by email (HTML + CSV attachments) to
``report_to`` plus per-run extra recipients when the run did anything (INV-21).

Mail goes through an Airflow SMTP connection (``smtp_conn_id``). The summary is logged before any
mail is attempted, so a report is never lost when there is nobody to mail it to or mail fails.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path

from atqbo.exceptions import AtqboError
from atqbo.notify.csv_export import CSV_ATTACHMENT_BOM
from atqbo.notify.report import RunReport
from atqbo.settings import VARIABLE_NAME, Settings

# The report itself goes to its own logger, so a deployment can route or silence it separately.
report_log = logging.getLogger("atqbo.report")

DEFAULT_FROM_EMAIL = "atqbo@localhost"  # when the SMTP connection has no ``from_email`` extra


def report_recipients(settings: Settings, extra_recipients: Iterable[str] | None = None) -> list[str]:
    """``report_to`` then the extra recipients, blanks dropped, de-duplicated ignoring case."""
    seen: set[str] = set()
    out = []
    for address in [*settings.report_to, *(extra_recipients or [])]:
        address = (address or "").strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            out.append(address)
    return out


def send_html_email(
    smtp_conn_id: str, to: list[str], subject: str, html_content: str, files: list[str] | None = None
) -> None:
    """Send one HTML email through an Airflow SMTP connection.

    ``from_email`` is passed explicitly (the connection's ``from_email`` extra, else
    ``DEFAULT_FROM_EMAIL``) rather than left to Airflow's mail defaults (apache/airflow#69262).
    Raises whatever the SMTP hook raises; callers wrap it with the fix.
    """
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=smtp_conn_id) as hook:
        hook.send_email_smtp(
            to=to,
            subject=subject,
            html_content=html_content,
            from_email=hook.from_email or DEFAULT_FROM_EMAIL,
            files=files,
        )


def smtp_error(smtp_conn_id: str, what: str, exc: BaseException, then: str) -> AtqboError:
    """The error for mail that could not be sent: which connection, and how to fix it."""
    return AtqboError(
        f"could not email {what} through the Airflow SMTP connection {smtp_conn_id!r} "
        f"({type(exc).__name__}: {exc}). Fix: check that connection's host, port, login and its "
        f"disable_ssl/disable_tls extras (or set smtp_conn_id in the {VARIABLE_NAME} Variable to a working "
        f"SMTP connection); {then}"
    )


def deliver_report(
    report: RunReport,
    settings: Settings,
    extra_recipients: list[str] | None = None,
    *,
    silent: bool = False,
) -> bool:
    """Log the summary; email it (HTML + CSV attachment) to report_to + extra recipients when the
    run did anything. Returns whether an email was sent.

    ``silent`` logs the report without emailing it (a caller that mails its own way).
    The summary is logged before any mail is attempted, so an SMTP failure (raised as
    :class:`AtqboError` naming the connection and the fix) never loses the report.
    """
    report_log.info("%s", report.summary_text())
    if not report.did_anything():
        report_log.info(
            "No report email for %s run %s: it only skipped records that needed nothing.", report.dag_id, report.run_id
        )
        return False
    if silent:
        report_log.info("Report email for %s run %s not sent: silenced by the caller.", report.dag_id, report.run_id)
        return False
    recipients = report_recipients(settings, extra_recipients)
    if not recipients:
        report_log.info(
            "Reports are only logged: no recipients. Set report_to in the %s Variable to receive them by email.",
            VARIABLE_NAME,
        )
        return False
    with tempfile.TemporaryDirectory(prefix="atqbo-report-") as tmp:
        files = write_csv_attachments(report, Path(tmp))
        try:
            send_html_email(settings.smtp_conn_id, recipients, report.email_subject(), report.to_html(), files)
        except Exception as exc:  # smtplib, socket and Airflow errors alike: the fix is the same
            raise smtp_error(
                settings.smtp_conn_id,
                f"the {report.title} report",
                exc,
                "then clear this task to send it again. The full report is in this task's log above",
            ) from exc
    report_log.info(
        "Report emailed to %s (attachments: %s).",
        ", ".join(recipients),
        ", ".join([report.csv_filename(), *report.attachments]),
    )
    return True


def write_csv_attachments(report: RunReport, directory: Path) -> list[str]:
    """The report's CSV and its further attachments as files in ``directory``; returns their paths."""
    return [
        write_text_attachment(directory, name, text)
        for name, text in {report.csv_filename(): report.to_csv(), **report.attachments}.items()
    ]


def write_text_attachment(directory: Path, name: str, text: str) -> str:
    """A CSV attachment as a file in ``directory`` (with Excel's byte-order mark); returns its path."""
    attachment = directory / name
    attachment.write_text(CSV_ATTACHMENT_BOM + text, encoding="utf-8", newline="")
    return str(attachment)
