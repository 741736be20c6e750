"""Delivery of reports over real parts: the sandbox's SMTP server receives the mail (checked the way
a recipient reads it); the summary is always in the task log.

Connections come from ``sandbox_connections`` (AIRFLOW_CONN_* variables); settings from
``AIRFLOW_VAR_ATQBO_SETTINGS``. Each test starts from a reset sandbox (no mail).
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest

from atqbo.exceptions import AtqboError
from atqbo.notify import CSV_ATTACHMENT_BOM, ReportRow, RunReport, deliver_report, report_recipients
from atqbo.settings import Settings
from tests.notify.delivery_support import SANDBOX_FROM, point_connection_at_closed_port, set_settings


def test_inv21_recipients_are_report_to_then_extra_without_duplicates():
    settings = Settings.from_dict({"report_to": ["billing@msp.example", "owner@msp.example"]})
    assert report_recipients(settings, ["Billing@MSP.example", " ", "extra@msp.example", "extra@msp.example"]) == [
        "billing@msp.example",
        "owner@msp.example",
        "extra@msp.example",
    ]
    assert report_recipients(Settings.from_dict({})) == []


def _report(**kwargs) -> RunReport:
    report = RunReport(
        title="atqbo invoices",
        dag_id="atqbo_invoices",
        run_id="manual__2026-11-21T00:15:00+00:00",
        window="2026-11-07 00:00 to 2026-11-21 00:15 UTC",
        **kwargs,
    )
    report.rows += [
        ReportRow(
            "transferred",
            "invoice",
            29684001,
            "INV-1001",
            "Acme, Inc.",
            "145",
            "1038",
            Decimal("1234.50"),
            Decimal("1234.50"),
        ),
        ReportRow(
            "failed",
            "invoice",
            29684003,
            "INV-1003",
            "O'Brien & Sons <x>",
            reason="Invoice total is negative",
            fix="Issue a credit memo in QBO by hand",
        ),
        ReportRow("skipped", "invoice", 29684004, "INV-1004", 'Gamma, "the" company', reason="already transferred"),
    ]
    return report


def _report_log_records(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "atqbo.report"]


def test_inv21_report_is_emailed_with_html_and_the_csv_attached(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    settings = set_settings(monkeypatch, report_to=["billing@msp.example", "owner@msp.example"])
    report = _report(dry_run=True)

    sent = deliver_report(report, settings, extra_recipients=["Owner@msp.example", "controller@msp.example"])

    assert sent is True
    (mail,) = sandbox.mail.messages()
    assert mail["envelope_to"] == ["billing@msp.example", "owner@msp.example", "controller@msp.example"]
    assert mail["to"] == "billing@msp.example, owner@msp.example, controller@msp.example"
    assert mail["from"] == SANDBOX_FROM and mail["envelope_from"] == SANDBOX_FROM
    assert mail["subject"] == "[atqbo] invoices: 1 transferred, 1 failed, 1 skipped (dry run)"
    assert mail["html"] == report.to_html()
    assert "O&#x27;Brien &amp; Sons &lt;x&gt;" in mail["html"] and "DRY RUN: nothing was written" in mail["html"]
    (attachment,) = mail["attachments"]
    assert attachment["filename"] == "atqbo-invoices-manual__2026-11-21T00-15-00-00-00.csv"
    assert attachment["text"] == CSV_ATTACHMENT_BOM + report.to_csv()
    assert '"Gamma, ""the"" company"' in attachment["text"]
    # The whole summary went to the task log first, in one record.
    assert report.summary_text() in _report_log_records(caplog)


def test_inv21_report_from_address_falls_back_when_the_connection_has_none(sandbox, monkeypatch):
    conn = dict(sandbox.connections()["smtp_default"])
    conn["extra"] = {k: v for k, v in conn["extra"].items() if k != "from_email"}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
    settings = set_settings(monkeypatch, report_to=["billing@msp.example"])

    assert deliver_report(_report(), settings) is True
    (mail,) = sandbox.mail.messages()
    assert mail["from"] == "atqbo@localhost"


def test_inv21_report_goes_through_the_configured_smtp_connection(sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", json.dumps(sandbox.connections()["smtp_default"]))
    point_connection_at_closed_port(sandbox, monkeypatch, "smtp_default")  # the default must not be used
    settings = set_settings(monkeypatch, report_to=["billing@msp.example"], smtp_conn_id="smtp_reports")

    assert deliver_report(_report(), settings) is True
    assert len(sandbox.mail.messages()) == 1


def test_inv21_no_email_when_the_run_only_skipped_records(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    settings = set_settings(monkeypatch, report_to=["billing@msp.example"])
    report = RunReport("atqbo invoices", "atqbo_invoices", "scheduled__1")
    report.rows = [ReportRow("skipped", "invoice", 1, "INV-1", reason="already transferred")]

    assert deliver_report(report, settings) is False
    assert sandbox.mail.messages() == []
    messages = _report_log_records(caplog)
    assert report.summary_text() in messages  # still logged
    assert any("No report email" in m and "only skipped" in m for m in messages)


def test_inv21_no_recipients_means_the_report_is_only_logged(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    settings = set_settings(monkeypatch)  # report_to defaults to []
    report = _report()

    assert deliver_report(report, settings) is False
    assert sandbox.mail.messages() == []
    messages = _report_log_records(caplog)
    assert messages[0] == report.summary_text()
    assert any("only logged" in m and "set report_to" in m.lower() for m in messages)


def test_inv21_a_silenced_report_is_logged_not_mailed(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    settings = set_settings(monkeypatch, report_to=["billing@msp.example"])
    assert deliver_report(_report(), settings, silent=True) is False
    assert sandbox.mail.messages() == []
    assert _report().summary_text() in _report_log_records(caplog)


def test_inv21_smtp_failure_keeps_the_report_in_the_log_and_names_the_fix(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    point_connection_at_closed_port(sandbox, monkeypatch, "smtp_default")
    settings = set_settings(monkeypatch, report_to=["billing@msp.example"])
    report = _report()

    with pytest.raises(AtqboError) as raised:
        deliver_report(report, settings)

    message = str(raised.value)
    assert "'smtp_default'" in message and "Fix:" in message and "The full report is in this task's log" in message
    assert report.summary_text() in _report_log_records(caplog)
