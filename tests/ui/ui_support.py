"""Helpers of the error-log view's tests (the fixtures are in conftest.py)."""

from __future__ import annotations

from tests.net_support import REPO

RETRY_DAG_ID = "atqbo_retry_errors"  # the DAG the view's Retry button triggers
RETRY_DAG_FILE = REPO / "dags" / f"{RETRY_DAG_ID}.py"
