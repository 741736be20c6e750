"""Helpers of the tests that deliver over the sandbox: settings in the Variable, and a connection
pointed at a closed port.
"""

from __future__ import annotations

import json

from atqbo.settings import Settings
from tests.net_support import free_port

API_RESOURCE_ID = 29682885  # the sandbox's API resource, the one resource that exists after reset
ACTION_TYPE = 3
SANDBOX_FROM = "atqbo@sandbox.local"  # the from_email extra of the sandbox's SMTP connection


def set_settings(monkeypatch, **doc) -> Settings:
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps(doc))
    return Settings.from_dict(doc)


def point_connection_at_closed_port(sandbox, monkeypatch, conn_id: str) -> None:
    conn = dict(sandbox.connections()[conn_id])
    port = free_port()
    if conn["conn_type"] == "smtp":
        conn["port"] = port
    else:
        conn["host"] = f"http://127.0.0.1:{port}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
