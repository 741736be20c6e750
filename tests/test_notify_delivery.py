"""Delivery of reports and failure alerts over real parts: the sandbox's SMTP server receives the
mail (checked the way a recipient reads it) and its Autotask API receives the to-dos.

Connections come from ``sandbox_connections`` (AIRFLOW_CONN_* variables and a fresh SQLite state
database per test); settings from ``AIRFLOW_VAR_ATQBO_SETTINGS``. Each test starts from a reset
sandbox (no mail, no to-dos).
"""

from __future__ import annotations

import json
import logging
import socket
from decimal import Decimal

import pytest

from atqbo.exceptions import AtqboError
from atqbo.notify import CSV_ATTACHMENT_BOM, ReportRow, RunReport, deliver_report, notify_run_failure
from atqbo.settings import Settings
from tests.notify_support import airflow_dag_failure_context

API_RESOURCE_ID = 29682885  # the sandbox's API resource, the one resource that exists after reset
ACTION_TYPE = 3
SANDBOX_FROM = "atqbo@sandbox.local"  # the from_email extra of the sandbox's SMTP connection


@pytest.fixture
def sandbox(sandbox_connections, monkeypatch):
    from atqbo.hooks.autotask import AutotaskHook

    sandbox_connections.reset()  # clears mail, requests, faults and Autotask records
    AutotaskHook.clear_zone_cache()
    monkeypatch.delenv("AIRFLOW_VAR_ATQBO_SETTINGS", raising=False)
    return sandbox_connections


def _set_settings(monkeypatch, **doc) -> Settings:
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps(doc))
    return Settings.from_dict(doc)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _point_connection_at_closed_port(sandbox, monkeypatch, conn_id: str) -> None:
    conn = dict(sandbox.connections()[conn_id])
    port = _closed_port()
    if conn["conn_type"] == "smtp":
        conn["port"] = port
    else:
        conn["host"] = f"http://127.0.0.1:{port}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


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


# -- deliver_report -------------------------------------------------------------------------------------


def test_inv21_report_is_emailed_with_html_and_the_csv_attached(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    settings = _set_settings(monkeypatch, report_to=["billing@msp.example", "owner@msp.example"])
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
    settings = _set_settings(monkeypatch, report_to=["billing@msp.example"])

    assert deliver_report(_report(), settings) is True
    (mail,) = sandbox.mail.messages()
    assert mail["from"] == "atqbo@localhost"


def test_inv21_report_goes_through_the_configured_smtp_connection(sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_REPORTS", json.dumps(sandbox.connections()["smtp_default"]))
    _point_connection_at_closed_port(sandbox, monkeypatch, "smtp_default")  # the default must not be used
    settings = _set_settings(monkeypatch, report_to=["billing@msp.example"], smtp_conn_id="smtp_reports")

    assert deliver_report(_report(), settings) is True
    assert len(sandbox.mail.messages()) == 1


def test_inv21_no_email_when_the_run_only_skipped_records(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    settings = _set_settings(monkeypatch, report_to=["billing@msp.example"])
    report = RunReport("atqbo invoices", "atqbo_invoices", "scheduled__1")
    report.rows = [ReportRow("skipped", "invoice", 1, "INV-1", reason="already transferred")]

    assert deliver_report(report, settings) is False
    assert sandbox.mail.messages() == []
    messages = _report_log_records(caplog)
    assert report.summary_text() in messages  # still logged
    assert any("No report email" in m and "only skipped" in m for m in messages)


def test_inv21_no_recipients_means_the_report_is_only_logged(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    settings = _set_settings(monkeypatch)  # report_to defaults to []
    report = _report()

    assert deliver_report(report, settings) is False
    assert sandbox.mail.messages() == []
    messages = _report_log_records(caplog)
    assert messages[0] == report.summary_text()
    assert any("only logged" in m and "set report_to" in m.lower() for m in messages)


def test_inv21_a_silenced_report_is_logged_not_mailed(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    settings = _set_settings(monkeypatch, report_to=["billing@msp.example"])
    assert deliver_report(_report(), settings, silent=True) is False
    assert sandbox.mail.messages() == []
    assert _report().summary_text() in _report_log_records(caplog)


def test_inv21_smtp_failure_keeps_the_report_in_the_log_and_names_the_fix(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    _point_connection_at_closed_port(sandbox, monkeypatch, "smtp_default")
    settings = _set_settings(monkeypatch, report_to=["billing@msp.example"])
    report = _report()

    with pytest.raises(AtqboError) as raised:
        deliver_report(report, settings)

    message = str(raised.value)
    assert "'smtp_default'" in message and "Fix:" in message and "The full report is in this task's log" in message
    assert report.summary_text() in _report_log_records(caplog)


# -- notify_run_failure ---------------------------------------------------------------------------------


def _failure_context(run_id: str = "scheduled__2026-11-21T00:15:00+00:00", task_id: str = "create_invoices"):
    return airflow_dag_failure_context("atqbo_invoices", run_id, task_id)


def _todos(sandbox) -> list[dict]:
    return sandbox.state()["autotask"]["CompanyToDos"]


def test_po08_run_failure_emails_and_creates_one_todo_under_company_0(sandbox, monkeypatch):
    _set_settings(
        monkeypatch, report_to=["ops@msp.example"], todo_action_type=ACTION_TYPE, todo_resource_id=API_RESOURCE_ID
    )

    notify_run_failure(_failure_context())

    (mail,) = sandbox.mail.messages()
    assert mail["envelope_to"] == ["ops@msp.example"]
    assert mail["subject"] == "[atqbo] atqbo_invoices run failed"
    assert "scheduled__2026-11-21T00:15:00+00:00" in mail["html"] and "create_invoices" in mail["html"]
    assert "a task failed" in mail["html"] and "/tasks/create_invoices?try_number=3" in mail["html"]
    (todo,) = _todos(sandbox)
    assert todo["companyID"] == 0
    assert todo["actionType"] == ACTION_TYPE
    assert todo["assignedToResourceID"] == API_RESOURCE_ID
    assert todo["activityDescription"].startswith("atqbo: atqbo_invoices run failed.\nDAG: atqbo_invoices\n")
    assert "Failed task(s): create_invoices" in todo["activityDescription"]
    assert todo["endDateTime"] > todo["startDateTime"]


def test_po08_a_second_callback_for_the_same_run_creates_no_second_todo(sandbox, monkeypatch):
    _set_settings(
        monkeypatch, report_to=["ops@msp.example"], todo_action_type=ACTION_TYPE, todo_resource_id=API_RESOURCE_ID
    )

    notify_run_failure(_failure_context())
    notify_run_failure(_failure_context())

    assert len(_todos(sandbox)) == 1
    assert len(sandbox.mail.messages()) == 1
    writes = [
        r for r in sandbox.requests.list("autotask") if r["method"] == "POST" and r["path"].lower().endswith("/todos")
    ]
    assert len(writes) == 1
    # Another run's failure is alerted on its own.
    notify_run_failure(_failure_context(run_id="scheduled__2026-11-22T00:15:00+00:00"))
    assert len(_todos(sandbox)) == 2
    assert len(sandbox.mail.messages()) == 2


def test_po08_without_todo_settings_no_todo_is_created_and_the_log_says_why(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    _set_settings(monkeypatch, report_to=["ops@msp.example"], todo_action_type=ACTION_TYPE)

    notify_run_failure(_failure_context())

    assert _todos(sandbox) == []
    assert len(sandbox.mail.messages()) == 1  # the email still went out
    assert any(
        "No Autotask to-do" in r.getMessage() and "todo_resource_id not set" in r.getMessage() for r in caplog.records
    )


def test_po08_autotask_unreachable_still_emails_and_does_not_raise(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    _point_connection_at_closed_port(sandbox, monkeypatch, "autotask_default")
    _set_settings(
        monkeypatch, report_to=["ops@msp.example"], todo_action_type=ACTION_TYPE, todo_resource_id=API_RESOURCE_ID
    )

    notify_run_failure(_failure_context())  # must not raise

    assert len(sandbox.mail.messages()) == 1
    assert _todos(sandbox) == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("Could not create the Autotask to-do" in m and "'autotask_default'" in m for m in errors)

    # Autotask is back: the next callback for the same run creates the to-do, without mailing again.
    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps(sandbox.connections()["autotask_default"]))
    notify_run_failure(_failure_context())
    assert len(_todos(sandbox)) == 1
    assert len(sandbox.mail.messages()) == 1


def test_po08_smtp_unreachable_still_creates_the_todo(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    _point_connection_at_closed_port(sandbox, monkeypatch, "smtp_default")
    _set_settings(
        monkeypatch, report_to=["ops@msp.example"], todo_action_type=ACTION_TYPE, todo_resource_id=API_RESOURCE_ID
    )

    notify_run_failure(_failure_context())

    assert len(_todos(sandbox)) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("could not email the failure alert" in m and "'smtp_default'" in m for m in errors)


def test_po08_invalid_settings_still_alert_with_what_is_valid(sandbox, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_VAR_ATQBO_SETTINGS",
        json.dumps(
            {
                "report_to": ["ops@msp.example"],
                "todo_action_type": ACTION_TYPE,
                "todo_resource_id": API_RESOURCE_ID,
                "invoice_lookback_days": "two weeks",
            }
        ),
    )

    notify_run_failure(_failure_context(task_id="validate_settings"))

    (mail,) = sandbox.mail.messages()
    assert "invoice_lookback_days" in mail["html"]  # the email says what is wrong with the settings
    (todo,) = _todos(sandbox)
    assert "Settings problem:" in todo["activityDescription"]


def test_po08_state_database_unusable_still_alerts(sandbox, monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    # The state DB "path" is a directory: SQLite cannot open it. Alerts go out without the duplicate check.
    monkeypatch.setenv("AIRFLOW_CONN_ATQBO_STATE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path)}))
    _set_settings(
        monkeypatch, report_to=["ops@msp.example"], todo_action_type=ACTION_TYPE, todo_resource_id=API_RESOURCE_ID
    )

    notify_run_failure(_failure_context())

    assert len(sandbox.mail.messages()) == 1
    assert len(_todos(sandbox)) == 1
    assert any("state database (connection 'atqbo_state') is not available" in r.getMessage() for r in caplog.records)


def test_po08_a_todo_that_may_exist_is_not_created_again(sandbox, monkeypatch):
    # Autotask applies the create but the answer is lost (502): the to-do may exist, so a repeated
    # callback must not add a second one.
    sandbox.faults.add(
        {"api": "autotask", "mode": "commit_then_error", "method": "POST", "path": "(?i)/todos$", "times": 1}
    )
    _set_settings(
        monkeypatch, report_to=["ops@msp.example"], todo_action_type=ACTION_TYPE, todo_resource_id=API_RESOURCE_ID
    )

    notify_run_failure(_failure_context())
    assert sandbox.faults.list()[0]["fired"] == 1  # the create really got the 502
    notify_run_failure(_failure_context())

    assert len(_todos(sandbox)) == 1
    assert len(sandbox.mail.messages()) == 1


def test_po08_a_callback_running_concurrently_for_the_same_run_leaves_the_alerts_to_it(sandbox, monkeypatch):
    from atqbo.ledger import Ledger

    _set_settings(
        monkeypatch, report_to=["ops@msp.example"], todo_action_type=ACTION_TYPE, todo_resource_id=API_RESOURCE_ID
    )
    ledger = Ledger.from_conn_id("atqbo_state")
    ledger.create_schema()
    key = "atqbo_invoices/scheduled__2026-11-21T00:15:00+00:00"
    assert ledger.acquire_run_lock(f"atqbo_alert:{key}", "the-other-callback", 600)

    notify_run_failure(_failure_context())
    assert sandbox.mail.messages() == [] and _todos(sandbox) == []

    ledger.release_run_lock(f"atqbo_alert:{key}", "the-other-callback")
    ledger.close()
    notify_run_failure(_failure_context())
    assert len(sandbox.mail.messages()) == 1 and len(_todos(sandbox)) == 1
