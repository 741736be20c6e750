"""The run-failure alert: settings salvaged from an invalid Variable, and the callback over real
parts (the sandbox's SMTP server receives the email, its Autotask API the to-do), once per failure.

Connections come from ``sandbox_connections`` (AIRFLOW_CONN_* variables and a fresh SQLite state
database per test); settings from ``AIRFLOW_VAR_ATQBO_SETTINGS``. Each test starts from a reset
sandbox (no mail, no to-dos).
"""

from __future__ import annotations

import json
import logging

from atqbo.notify import load_alert_settings, notify_run_failure
from atqbo.settings import Settings
from tests.notify.delivery_support import ACTION_TYPE, API_RESOURCE_ID, point_connection_at_closed_port, set_settings
from tests.notify.failure_support import airflow_dag_failure_context


def test_alert_settings_salvage_valid_keys_of_an_invalid_variable(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_VAR_ATQBO_SETTINGS",
        json.dumps(
            {
                "report_to": ["ops@msp.example"],
                "todo_action_type": 3,
                "todo_resource_id": "me",
                "invoice_lookback_days": "two weeks",
                "smtp_conn_id": "smtp_ops",
            }
        ),
    )
    settings, problem = load_alert_settings()
    assert settings.report_to == ["ops@msp.example"]
    assert settings.smtp_conn_id == "smtp_ops"
    assert settings.todo_action_type == 3
    assert settings.todo_resource_id is None  # invalid on its own: default
    assert "invoice_lookback_days" in problem and "todo_resource_id" in problem


def test_alert_settings_of_unparsable_json_are_the_defaults(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", "{not json")
    settings, problem = load_alert_settings()
    assert settings == Settings.from_dict({})
    assert "not valid JSON" in problem


def test_alert_settings_of_a_valid_variable_have_no_problem(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({"report_to": ["ops@msp.example"]}))
    settings, problem = load_alert_settings()
    assert settings.report_to == ["ops@msp.example"] and problem == ""


def _failure_context(run_id: str = "scheduled__2026-11-21T00:15:00+00:00", task_id: str = "create_invoices"):
    return airflow_dag_failure_context("atqbo_invoices", run_id, task_id)


def _todos(sandbox) -> list[dict]:
    return sandbox.state()["autotask"]["CompanyToDos"]


def test_po08_run_failure_emails_and_creates_one_todo_under_company_0(sandbox, monkeypatch):
    set_settings(
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
    set_settings(
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
    set_settings(monkeypatch, report_to=["ops@msp.example"], todo_action_type=ACTION_TYPE)

    notify_run_failure(_failure_context())

    assert _todos(sandbox) == []
    assert len(sandbox.mail.messages()) == 1  # the email still went out
    assert any(
        "No Autotask to-do" in r.getMessage() and "todo_resource_id not set" in r.getMessage() for r in caplog.records
    )


def test_po08_autotask_unreachable_still_emails_and_does_not_raise(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    point_connection_at_closed_port(sandbox, monkeypatch, "autotask_default")
    set_settings(
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
    point_connection_at_closed_port(sandbox, monkeypatch, "smtp_default")
    set_settings(
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
    set_settings(
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
    set_settings(
        monkeypatch, report_to=["ops@msp.example"], todo_action_type=ACTION_TYPE, todo_resource_id=API_RESOURCE_ID
    )

    notify_run_failure(_failure_context())
    assert sandbox.faults.list()[0]["fired"] == 1  # the create really got the 502
    notify_run_failure(_failure_context())

    assert len(_todos(sandbox)) == 1
    assert len(sandbox.mail.messages()) == 1


def test_po08_a_callback_running_concurrently_for_the_same_run_leaves_the_alerts_to_it(sandbox, monkeypatch):
    from atqbo.ledger import Ledger

    set_settings(
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
