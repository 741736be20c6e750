"""Airflow plugin: the atqbo error log (TOOL-08) in the Airflow UI, under Browse > atqbo error log.

The vendor app's "View your logs / Retry" page, inside Airflow: the API server mounts the
``atqbo.ui`` app under ``/atqbo`` and the UI shows its page in an iframe. The ``atqbo`` package next
to this file is imported as the installed package, never loaded as plugin files (see
``.airflowignore``): this file is the only plugin.

It also registers ``atqbo.run_notes``, the listener that gives each atqbo DAG run its note when the
run ends (BEY-10), in the scheduler and wherever else Airflow decides a run's state.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from atqbo import run_notes
from atqbo.ui import DeferredApp
from atqbo.ui.paths import PAGE_PATH, URL_PREFIX

VIEW_NAME = "atqbo error log"


class AtqboUiPlugin(AirflowPlugin):
    name = "atqbo_ui"
    fastapi_apps = [{"app": DeferredApp(), "url_prefix": URL_PREFIX, "name": VIEW_NAME}]
    listeners = [run_notes]  # BEY-10: the run's note
    external_views = [
        {
            "name": VIEW_NAME,
            "href": f"{URL_PREFIX}{PAGE_PATH}",
            "destination": "nav",
            "category": "browse",  # the UI's menus: browse, admin, docs, user (else a top-level item)
            "url_route": "atqbo-error-log",
        }
    ]
