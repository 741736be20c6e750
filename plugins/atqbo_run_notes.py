"""The Airflow plugin that gives each atqbo DAG run its note when it ends (``atqbo.run_notes``)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from atqbo import run_notes


class AtqboRunNotesPlugin(AirflowPlugin):
    name = "atqbo_run_notes"
    listeners = [run_notes]
