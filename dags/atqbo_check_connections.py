"""
### atqbo: check connections

Run this first, and whenever a sync stops on an authentication or configuration error. It checks,
each in its own task so the failing one is obvious:

* **settings**: the `atqbo_settings` Variable is valid (one message lists every bad key);
* **state database**: the `atqbo_state` connection works and the ledger's tables exist;
* **Autotask**: zone discovery, the API user's credentials, the hourly request budget, picklists;
* **QuickBooks Online**: the OAuth refresh (the rotated refresh token is saved in the state
  database), company info and the preferences atqbo depends on (automated sales tax,
  multi-currency, custom fields, closed books);
* **SMTP**: the server that reports go through answers.

It writes nothing to Autotask or QuickBooks Online and sends no email.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="atqbo_check_connections",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["atqbo", "tools"],
    default_args={"owner": "atqbo", "retries": 0},
)
def atqbo_check_connections():
    @task
    def validate_settings() -> dict:
        """Read and validate the atqbo_settings Variable."""
        from atqbo.settings import load_settings

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
    def check_quickbooks_online(settings: dict, _state: dict) -> dict:
        """QBO answers; the refreshed token is stored in the (already checked) state database."""
        from atqbo.settings import Settings
        from atqbo.sync import connection_check

        return connection_check.check_qbo(Settings.from_dict(settings))

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
