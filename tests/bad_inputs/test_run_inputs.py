"""The bad-input corpus, the run's own inputs (issue 11, item 5): the state database connection, the
Autotask and QBO connections, the trigger form, the income account for new items, a lock left by a
killed run, a settings Variable that cannot be read and a fresh state database at a failure. Each
gets one exact message naming the setting or connection and the fix; those retrying cannot fix are
never retried (``atqbo.dags.NOT_RETRYABLE``)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import RetryAction

from atqbo import forms
from atqbo.dags import NOT_RETRYABLE, on_sync_failure
from atqbo.exceptions import AtqboConfigError
from atqbo.ledger import Ledger
from atqbo.locks import INVOICE_SYNC_LOCK
from atqbo.settings import Settings
from atqbo.sync.invoices.references import missing_item_failure
from atqbo.sync.invoices.scope import lock_skip_message
from tests.notify.failure_support import airflow_dag_failure_context

STATE_FIX = (
    "Fix: set the host of 'atqbo_state' to a file path in a directory the Airflow workers may create and write "
    "(a file, not a directory; on a disk they all share)"
)


def _not_retried(exc: BaseException) -> bool:
    return NOT_RETRYABLE.evaluate(exc, try_number=1, max_tries=3).action is RetryAction.FAIL


# -- the state database ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StatePath:
    name: str
    host: str  # "{tmp}" is the test's temporary directory
    message: str


STATE_PATHS = [
    StatePath(
        "relative_path",
        "atqbo/atqbo_state.db",
        "the atqbo_state SQLite connection's host 'atqbo/atqbo_state.db' is a relative path, so each Airflow worker "
        "would open a database of its own; set the host of connection 'atqbo_state' to an absolute file path "
        "(e.g. /opt/airflow/atqbo/atqbo_state.db)",
    ),
    StatePath(
        "parent_is_a_file",
        "{tmp}/a_file/atqbo_state.db",
        "the atqbo state database '{tmp}/a_file/atqbo_state.db' (host of connection 'atqbo_state') cannot be "
        "opened: FileExistsError: [Errno 17] File exists: '{tmp}/a_file'. " + STATE_FIX,
    ),
    StatePath(
        "path_is_a_directory",
        "{tmp}/a_directory",
        "the atqbo state database '{tmp}/a_directory' (host of connection 'atqbo_state') cannot be opened: "
        "OperationalError: unable to open database file. " + STATE_FIX,
    ),
    StatePath(
        "no_path",
        "",
        "the atqbo_state SQLite connection needs a file path (host = /absolute/path/atqbo_state.db); an in-memory "
        "database would not be shared between tasks",
    ),
]


@pytest.mark.parametrize("case", STATE_PATHS, ids=lambda c: c.name)
def test_bey12_an_unusable_state_database_path_is_one_config_error_never_retried(case, tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("not a directory")
    (tmp_path / "a_directory").mkdir()
    host = case.host.format(tmp=tmp_path)
    monkeypatch.setenv("AIRFLOW_CONN_ATQBO_STATE", json.dumps({"conn_type": "sqlite", "host": host}))
    with pytest.raises(AtqboConfigError) as err:
        Ledger.from_conn_id("atqbo_state").create_schema()
    assert str(err.value) == case.message.format(tmp=tmp_path)
    assert _not_retried(err.value)
    assert not (Path.cwd() / "atqbo").exists()  # nothing was made where a relative path would point


# -- the Autotask and QBO connections -------------------------------------------------------------


def _autotask_hook(conn_id: str):
    from atqbo.hooks.autotask import AutotaskHook

    return AutotaskHook(conn_id).get_conn()


def _qbo_hook(conn_id: str):
    from atqbo.hooks.qbo import QuickBooksOnlineHook

    return QuickBooksOnlineHook(conn_id).config


@pytest.mark.parametrize(
    ("open_hook", "what", "setting"),
    [
        (_autotask_hook, "the Autotask API user", "autotask_conn_id"),
        (_qbo_hook, "the QBO app and company", "qbo_conn_id"),
    ],
    ids=["autotask", "qbo"],
)
def test_bey12_a_missing_connection_names_itself_and_the_fix_and_is_not_retried(open_hook, what, setting):
    with pytest.raises(AtqboConfigError) as err:
        open_hook("atqbo_no_such_connection")
    assert str(err.value) == (
        f"Airflow connection 'atqbo_no_such_connection' ({what}) does not exist. Fix: create it in Admin > "
        f"Connections (the atqbo README, 'Connections', lists its fields), or set {setting} in the atqbo_settings "
        "Variable to the id of the connection you made"
    )
    assert _not_retried(err.value)


# -- the trigger form ---------------------------------------------------------------------------------

SYNC_FIELDS = forms.sync_run_fields(
    forms.whole_number("invoice_lookback_days", "Override invoice_lookback_days.", None, 0, 3650)
)
FORM_FIX = ". Fix: trigger the DAG again with the field corrected"
SYNC_FIELD_NAMES = "invoice_lookback_days, dry_run, report_to"


@pytest.mark.parametrize(
    ("conf", "problems"),
    [
        (
            {"dry_rn": True},
            f"dry_rn: not a field of this form (did you mean 'dry_run'? its fields: {SYNC_FIELD_NAMES})",
        ),
        (
            {"lookback_days": 30},
            "lookback_days: not a field of this form (did you mean 'invoice_lookback_days'? its fields: "
            f"{SYNC_FIELD_NAMES})",
        ),
        (
            {"window": "last month", "dry_run": True},
            f"window: not a field of this form (its fields: {SYNC_FIELD_NAMES})",
        ),
        (
            {"Report_To": ["ops@msp.example"], "invoice_lookback_days": -1},
            "Report_To: not a field of this form (did you mean 'report_to'? its fields: "
            f"{SYNC_FIELD_NAMES}); invoice_lookback_days: -1 is less than 0",
        ),
    ],
    ids=["typo", "old_name", "no_such_field", "wrong_case_with_a_bad_value"],
)
def test_bey12_a_trigger_form_key_the_form_lacks_is_refused_not_ignored(conf, problems):
    with pytest.raises(forms.FormError) as err:
        forms.read_form(conf, SYNC_FIELDS)
    assert str(err.value) == "the trigger form has bad input, so nothing was done: " + problems + FORM_FIX
    assert _not_retried(err.value)


def test_bey12_a_form_with_only_its_own_fields_is_read_as_before():
    assert forms.read_form({"dry_run": True, "invoice_lookback_days": 3}, SYNC_FIELDS) == {
        "invoice_lookback_days": 3,
        "dry_run": True,
        "report_to": [],
    }


# -- the income account for new items ----------------------------------------------------------------


def test_bey12_a_missing_income_account_is_named_not_missing_item_action():
    settings = Settings.from_dict({"missing_item_action": "create", "new_item_income_account": "Consulting Income"})
    notes = ["QBO has no account named 'Consulting Income' (new_item_income_account): missing items cannot be created"]
    assert missing_item_failure(["SUP-REM", "Travel"], settings, notes) == (
        "no QBO item for 'SUP-REM', 'Travel', and atqbo could not create it: QBO has no income account named "
        "'Consulting Income' (new_item_income_account)",
        "create an income account named 'Consulting Income' in QBO, or set new_item_income_account in "
        "atqbo_settings to the name of an existing income account; then clear the marker",
    )
    # when atqbo was not asked to create items, the setting that says so is still the one named
    assert missing_item_failure(["Travel"], Settings.from_dict({"missing_item_action": "error"}), [])[1] == (
        "create the item in QBO (or use atqbo_copy_missing_items), check item_match_field, or set "
        "missing_item_action to 'create'; then clear the marker"
    )


# -- a lock left by a run that was killed ------------------------------------------------------------


def test_bey12_a_run_that_finds_the_lock_held_says_what_to_do_if_its_owner_was_killed():
    assert lock_skip_message("atqbo_sync_now/manual__2026-12-01T10:00:00+00:00") == (
        "atqbo_sync_now run 'manual__2026-12-01T10:00:00+00:00' holds the invoice sync lock (it is creating invoices "
        "right now), so this scheduled run does nothing; the next scheduled run picks up whatever is left. If that "
        "run is not running any more (killed, and Airflow still shows it running), mark it failed in the Airflow "
        "UI: the next run then takes the lock over; or run atqbo_reset (at the latest, the lock expires 6 hours "
        "after it was taken)"
    )


# -- failures: a fresh state database, a Variable that cannot be read ---------------------------------


def _failure_context(run_id: str) -> dict[str, Any]:
    return airflow_dag_failure_context("atqbo_invoices", run_id, "start")


def test_bey12_a_failure_on_a_fresh_state_database_logs_no_missing_table(sandbox, monkeypatch, caplog, tmp_path):
    """The run failed before its first task made the tables; the callback gives back the lock without
    "no such table: atqbo_run_locks"."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_ATQBO_STATE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "fresh" / "state.db")})
    )
    with caplog.at_level(logging.WARNING):
        on_sync_failure(_failure_context("manual__fresh"))
    assert not [r for r in caplog.records if "no such table" in r.getMessage() or "Could not release" in r.getMessage()]
    assert Ledger.from_conn_id("atqbo_state").get_run_lock(INVOICE_SYNC_LOCK) is None


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"AIRFLOW__ATQBO__ALERT_TO": "oncall@msp.example, owner@msp.example"},
            ["oncall@msp.example", "owner@msp.example"],
        ),
        ({"AIRFLOW__EMAIL__FROM_EMAIL": "Airflow <airflow@msp.example>"}, ["airflow@msp.example"]),
        ({"AIRFLOW__SMTP__SMTP_MAIL_FROM": "ops@msp.example"}, ["ops@msp.example"]),
    ],
    ids=["atqbo_alert_to", "airflow_from_email", "airflow_smtp_mail_from"],
)
def test_bey12_an_unreadable_settings_variable_still_alerts_someone(sandbox, monkeypatch, config, expected):
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", '{"report_to": ["ops@msp.example"],')  # cut short
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    on_sync_failure(_failure_context("manual__unreadable"))
    (mail,) = sandbox.mail.messages()
    assert mail["envelope_to"] == expected
    assert "not valid JSON" in mail["html"]  # the alert says what is wrong with the Variable


def test_bey12_with_nobody_to_alert_the_log_says_where_to_set_a_recipient(sandbox, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", "{not json")
    with caplog.at_level(logging.WARNING):
        on_sync_failure(_failure_context("manual__nobody"))
    assert sandbox.mail.messages() == []
    assert (
        "No failure email for atqbo_invoices run manual__nobody: report_to is empty (the Variable could not be "
        "used). Set report_to in the atqbo_settings Variable, and [atqbo] alert_to in airflow.cfg "
        "(AIRFLOW__ATQBO__ALERT_TO) for when the Variable cannot be read."
    ) in [r.getMessage() for r in caplog.records]
