"""Helpers of the error-log view's tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.net_support import REPO

RETRY_DAG_ID = "atqbo_retry_errors"  # the DAG the view's Retry button triggers
RETRY_DAG_FILE = REPO / "dags" / f"{RETRY_DAG_ID}.py"

# The browser of the UI tests: Debian's Chromium (scripts/install-browser.sh), driven by Playwright;
# no browser is downloaded.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NEEDS_CHROMIUM = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is missing: scripts/install-browser.sh (apt-get install chromium)",
)
