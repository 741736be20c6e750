"""The run-failure alert (PO-08 for whole runs): a DAG's ``on_failure_callback`` is
``notify_run_failure``. It emails the report recipients and creates one Autotask to-do under the
local organization (company 0), once per failed run, even when Airflow calls it twice.

The failure may be the settings themselves, so an invalid settings Variable does not stop the
alert (``load_alert_settings``); the email and the to-do are attempted independently, and the
callback never raises: what failed is logged instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from atqbo.notify.alert_record import alert_record, open_alert_ledger, save_alert_record
from atqbo.notify.delivery import report_recipients, send_html_email, smtp_error
from atqbo.notify.failure import MAX_ERROR_CHARS, RunFailure, redact_secrets
from atqbo.notify.todos import create_local_todo
from atqbo.outcome import OUTCOME_TASK_ID
from atqbo.settings import SPEC, VARIABLE_NAME, Settings

log = logging.getLogger(__package__)  # "atqbo.notify", one logger for the package as before its split

TASK_ERROR_STAGE_KIND = "task_error"  # ledger staging: run_key "dag_id/run_id", item task_id -> {"error", "at"}
ALERT_AUTOTASK_RETRIES = 2  # a callback should finish quickly; the email has gone out already
# What a failure alert needs from the settings; salvaged one by one when the Variable is invalid.
ALERT_SETTING_KEYS: tuple[str, ...] = (
    "autotask_conn_id",
    "state_conn_id",
    "smtp_conn_id",
    "report_to",
    "autotask_budget_share",
    "todo_action_type",
    "todo_resource_id",
)


def notify_run_failure(context: dict[str, Any]) -> None:
    """DAG ``on_failure_callback``: email the report recipients and create an Autotask to-do.

    Each failed run is alerted once (keyed by DAG id and run id in the state database), even when
    Airflow calls the callback twice. The email and the to-do are attempted independently, and
    this function never raises: what failed is logged instead.
    """
    try:
        _notify_run_failure(context)
    except Exception:  # a callback that raises only adds noise to the dag processor's log
        log.exception("The atqbo failure alert itself failed; see the error above.")


def _notify_run_failure(context: Mapping[str, Any]) -> None:
    failure = RunFailure.from_context(context)
    if failure.failed_tasks and set(failure.failed_tasks) <= {OUTCOME_TASK_ID}:
        # Only the last task failed, saying records failed: the run's report (email, CSV, error log,
        # the PO sync's to-dos) told everyone already; a second alert would be noise.
        log.warning(
            "%s run %s failed because records failed; the run's report has them, so no failure alert.",
            failure.dag_id,
            failure.run_id,
        )
        return
    settings, settings_problem = load_alert_settings()
    if settings_problem:
        log.warning("Alerting with what is valid of the settings; the Variable has problems: %s", settings_problem)
    ledger = open_alert_ledger(settings)
    if not failure.error:
        failure = failure.with_error(remembered_error(ledger, failure))
    log.error("atqbo run failure:\n%s", "\n".join(failure.summary_lines()))
    try:
        with alert_record(ledger, failure.alert_key) as record:
            if record is None:
                log.info("Another callback is alerting about %s right now; nothing more to do.", failure.alert_key)
                return
            if record.get("emailed_at"):
                log.info("Failure email for %s was sent already at %s.", failure.alert_key, record["emailed_at"])
            else:
                try:
                    if email_run_failure(failure, settings, settings_problem):
                        record["emailed_at"] = datetime.now(UTC).isoformat()
                        save_alert_record(ledger, failure.alert_key, record)
                except Exception as exc:
                    log.error("%s", exc)
            if record.get("todo_id") or record.get("todo_uncertain"):
                log.info(
                    "The Autotask to-do for %s exists already (%s).",
                    failure.alert_key,
                    record.get("todo_id") or "unconfirmed",
                )
            else:
                _create_todo_once(failure, settings, settings_problem, record)
                save_alert_record(ledger, failure.alert_key, record)
    finally:
        if ledger is not None:
            ledger.close()


def remember_task_error(context: dict[str, Any]) -> None:
    """A task's ``on_failure_callback`` (in ``atqbo.dags.DEFAULT_ARGS``): keep the task's error,
    redacted, in the state database for the run's failure alert, which Airflow does not give it
    (a DAG's failure callback gets no exception). Runs in the task's own process, where Airflow's
    secrets masker knows the passwords of the connections the task read. Never raises."""
    try:
        exception = context.get("exception")
        ti = context.get("ti") or context.get("task_instance")
        dag_run = context.get("dag_run")
        task_id = str(getattr(ti, "task_id", "") or "")
        if exception is None or task_id in ("", OUTCOME_TASK_ID):
            return
        dag_id = getattr(dag_run, "dag_id", None) or getattr(ti, "dag_id", "")
        run_key = f"{dag_id}/{context.get('run_id') or getattr(ti, 'run_id', '')}"
        error = redact_secrets(f"{type(exception).__name__}: {exception}")[:MAX_ERROR_CHARS]
        settings, _ = load_alert_settings()
        ledger = open_alert_ledger(settings)
        if ledger is None:
            return
        try:
            ledger.stage_put(
                run_key, TASK_ERROR_STAGE_KIND, {task_id: {"error": error, "at": datetime.now(UTC).isoformat()}}
            )
        finally:
            ledger.close()
    except Exception as exc:  # the alert goes out without the error text; the log has it
        log.warning("Could not keep the task's error for the failure alert: %s", exc)


def remembered_error(ledger: Any, failure: RunFailure) -> str:
    """The error the failed task(s) of ``failure`` kept (``remember_task_error``), or ""."""
    if ledger is None:
        return ""
    try:
        kept = ledger.stage_get(f"{failure.dag_id}/{failure.run_id}", TASK_ERROR_STAGE_KIND)
    except Exception as exc:
        log.warning("Could not read the error of %s/%s: %s", failure.dag_id, failure.run_id, exc)
        return ""
    names = [t.split("[")[0] for t in failure.failed_tasks] or sorted(kept)
    found = [(t, kept[t]) for t in names if t in kept] or sorted(kept.items(), key=lambda kv: kv[1].get("at", ""))[-1:]
    return "\n".join(
        f"{t}: {doc.get('error', '')}" if len(found) > 1 else str(doc.get("error", "")) for t, doc in found
    )


def load_alert_settings() -> tuple[Settings, str]:
    """Settings for a failure alert, and the settings problem if there is one.

    The failure may be the settings themselves, so an invalid Variable does not stop the alert:
    each key an alert needs is taken from the Variable when it is valid on its own, else its default.
    """
    from atqbo.settings import load_settings

    try:
        return load_settings(), ""
    except Exception as exc:  # AtqboConfigError, or the Variable could not be read at all
        problem = str(exc)
    salvaged: dict[str, Any] = {}
    try:
        from airflow.sdk import Variable

        raw = Variable.get(VARIABLE_NAME, default=None)
        doc = json.loads(raw) if isinstance(raw, str) else raw
        if isinstance(doc, dict):
            for key in ALERT_SETTING_KEYS:
                if key in doc and SPEC[key][1](doc[key])[1] is None:
                    salvaged[key] = doc[key]
    except Exception:  # unreadable or not JSON: defaults for everything
        salvaged = {}
    try:
        return Settings.from_dict(salvaged), problem
    except Exception:  # cannot happen with keys valid on their own; defaults are the last resort
        return Settings.from_dict({}), problem


def email_run_failure(failure: RunFailure, settings: Settings, settings_problem: str = "") -> bool:
    """Email the failure to ``report_to``; False (logged) when there is nobody to mail."""
    recipients = report_recipients(settings) or fallback_recipients(settings_problem)
    if not recipients:
        log.warning(
            "No failure email for %s run %s: report_to is empty%s. Set report_to in the %s Variable, and "
            "[atqbo] alert_to in airflow.cfg (AIRFLOW__ATQBO__ALERT_TO) for when the Variable cannot be read.",
            failure.dag_id,
            failure.run_id,
            " (the Variable could not be used)" if settings_problem else "",
            VARIABLE_NAME,
        )
        return False
    try:
        send_html_email(
            settings.smtp_conn_id, recipients, failure.email_subject(), failure.email_html(settings_problem)
        )
    except Exception as exc:
        raise smtp_error(
            settings.smtp_conn_id,
            f"the failure alert for {failure.dag_id} run {failure.run_id}",
            exc,
            "the failure itself is in the DAG's callback log",
        ) from exc
    log.info("Failure alert for %s run %s emailed to %s.", failure.dag_id, failure.run_id, ", ".join(recipients))
    return True


AIRFLOW_DEFAULT_SENDER = "airflow@example.com"  # [smtp] smtp_mail_from as Airflow ships it: nobody's


def fallback_recipients(settings_problem: str) -> list[str]:
    """Who gets a failure alert when ``report_to`` names nobody: ``[atqbo] alert_to`` of Airflow's
    configuration (``AIRFLOW__ATQBO__ALERT_TO``, comma-separated), set outside the Variable so a
    Variable that cannot be read still alerts someone; and when the Variable is the problem and
    that is not set either, Airflow's own sender address (``[email] from_email``, else
    ``[smtp] smtp_mail_from`` unless it is Airflow's placeholder)."""
    from airflow.sdk.configuration import conf

    configured = [a.strip() for a in (conf.get("atqbo", "alert_to", fallback="") or "").split(",") if a.strip()]
    if configured or not settings_problem:
        return configured
    for section, key in (("email", "from_email"), ("smtp", "smtp_mail_from")):
        sender = (conf.get(section, key, fallback="") or "").strip()
        address = sender.rpartition("<")[2].rstrip(">").strip()  # "Airflow <ops@msp.example>"
        if address and address != AIRFLOW_DEFAULT_SENDER:
            return [address]
    return []


def create_failure_todo(failure: RunFailure, settings: Settings, settings_problem: str = "") -> int | None:
    """Create the Autotask to-do for a failed run under company 0; None (logged) when the
    to-do settings are not set."""
    missing = [k for k in ("todo_action_type", "todo_resource_id") if getattr(settings, k) is None]
    if missing:
        log.warning(
            "No Autotask to-do for %s run %s: %s not set in the %s Variable (the action type and the resource "
            "who gets error to-dos).",
            failure.dag_id,
            failure.run_id,
            " and ".join(missing),
            VARIABLE_NAME,
        )
        return None
    from atqbo.hooks.autotask import AutotaskHook

    hook = AutotaskHook(
        settings.autotask_conn_id, budget_share=settings.autotask_budget_share, max_retries=ALERT_AUTOTASK_RETRIES
    )
    todo_id = create_local_todo(hook, settings, failure.todo_description(settings_problem))
    log.info("Autotask to-do %s created for %s run %s.", todo_id, failure.dag_id, failure.run_id)
    return todo_id


def _create_todo_once(failure: RunFailure, settings: Settings, settings_problem: str, record: dict[str, Any]) -> None:
    from atqbo.hooks.autotask import AutotaskAmbiguousWriteError

    try:
        todo_id = create_failure_todo(failure, settings, settings_problem)
    except AutotaskAmbiguousWriteError as exc:
        # Autotask may have created it: do not create a second one on a repeated callback.
        record["todo_uncertain"] = True
        log.error(
            "The Autotask to-do for %s may or may not have been created (%s); check the to-dos of the local "
            "organization (company 0).",
            failure.alert_key,
            exc,
        )
    except Exception as exc:
        log.error(
            "Could not create the Autotask to-do for %s (%s: %s). Fix: check the Autotask connection %r and that "
            "todo_action_type %s and todo_resource_id %s exist in Autotask.",
            failure.alert_key,
            type(exc).__name__,
            exc,
            settings.autotask_conn_id,
            settings.todo_action_type,
            settings.todo_resource_id,
        )
    else:
        if todo_id is not None:
            record["todo_id"] = todo_id
