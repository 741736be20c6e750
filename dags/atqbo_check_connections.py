"""
### atqbo: check connections

Run this first, and whenever a sync stops on an authentication or configuration error. It checks,
each in its own task so the failing one is obvious:

* **settings**: the `atqbo_settings` Variable is valid (one message lists every bad key);
* **state database**: the `atqbo_state` connection works and the ledger's tables exist;
* **Autotask**: zone discovery, the API user's credentials, the hourly request budget, picklists;
* **QuickBooks Online**: the OAuth refresh (the rotated refresh token is saved in the state
  database), company info and the preferences atqbo depends on (automated sales tax,
  multi-currency, custom fields, closed books). With several QBO companies (`qbo_routes`), every
  company's connection is checked, each logged with its realm and name or its failure; the task
  fails when one fails, its message naming every company's result;
* **SMTP**: the server that reports go through answers.

It writes nothing to Autotask or QuickBooks Online and sends no email.

**A dead QBO token** (ERR-04). When QBO refuses atqbo's refresh token (`invalid_grant`: the app
was disconnected, the token went unused for 100 days, the state database was restored from a
backup, or the sandbox restarted while the state database kept its old token), the QuickBooks
Online check fails saying so in plain words, with the fix. To recover: get a new refresh token,
paste it into the `qbo_default` connection (or that company's connection; extra field
`refresh_token`), and trigger this DAG with **Adopt the QBO refresh token in the connection**
on: that token is tried (each company's, with several) and, if QBO accepts it, replaces the one
stored in the state database for the company. No table needs editing, and no token is ever
logged.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from atqbo.forms import form_params
from atqbo.qbo_token_help import ADOPT, FIELDS


@dag(
    dag_id="atqbo_check_connections",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["atqbo", "tools"],
    default_args={"owner": "atqbo", "retries": 0},
    params=form_params(FIELDS),
)
def atqbo_check_connections():
    @task
    def validate_settings(params: dict | None = None) -> dict:
        """Read and validate the trigger form and the atqbo_settings Variable."""
        from atqbo.forms import read_form
        from atqbo.settings import load_settings

        read_form(params, FIELDS)  # a key the form lacks is refused before any check
        return load_settings().to_dict()

    @task
    def check_state_database(settings: dict) -> dict:
        """The ledger's database is reachable and has its tables."""
        from atqbo.settings import Settings
        from atqbo.sync import connection_check

        return connection_check.check_state_database(Settings.from_dict(settings))

    @task
    def check_autotask(settings: dict) -> dict:
        """Autotask answers with these credentials; report the hourly budget."""
        from atqbo.settings import Settings
        from atqbo.sync import connection_check

        return connection_check.check_autotask(Settings.from_dict(settings))

    @task
    def check_quickbooks_online(settings: dict, _state: dict, params: dict | None = None) -> dict:
        """QBO answers; the refreshed token is stored in the (already checked) state database. With the
        form's option, the connection's refresh token replaces the stored one first."""
        from atqbo.forms import read_form
        from atqbo.settings import Settings
        from atqbo.sync import connection_check

        adopt = read_form(params, FIELDS)[ADOPT]
        return connection_check.check_qbo_connections(Settings.from_dict(settings), adopt_connection_token=adopt)

    @task
    def check_smtp(settings: dict) -> dict:
        """The SMTP server for reports answers."""
        from atqbo.settings import Settings
        from atqbo.sync import connection_check

        return connection_check.check_smtp(Settings.from_dict(settings))

    settings = validate_settings()
    state = check_state_database(settings)
    check_autotask(settings)
    check_quickbooks_online(settings, state)
    check_smtp(settings)


atqbo_check_connections()
