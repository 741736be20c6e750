"""The demo tenant after the real syncs sent its documents, for the tools that work on what atqbo sent
(BEY-04 reconciliation, TOOL-06 mark paid): atqbo_invoices sent its invoices, atqbo_invoice_voids
voided INV-1005 in QBO (voided in Autotask since), atqbo_purchase_orders made bills of its POs.

The three sync runs happen once per test session; before each test the sandbox's state (both APIs,
the live QBO refresh token included) and the state database are restored from that snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pendulum

from tests.dags.dag_support import load_dag, task_states, work_state

REPORT_TO = "billing@msp.example"
API_RESOURCE = 29682885
SETTINGS = {
    "invoice_lookback_days": 45,
    "void_sync_enabled": True,
    "void_lookback_days": 45,
    "report_to": [REPORT_TO],
    "todo_action_type": 3,
    "todo_resource_id": API_RESOURCE,
}

# state: the sandbox's dump after the syncs; db: a copy of the state database then (per test session)
_SNAPSHOT: dict = {}


def export_connections(sb, monkeypatch) -> None:
    for conn_id, conn in sb.connections().items():  # after a reset: its refresh token is the valid one
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


class Tenant:
    """The synced sandbox tenant, with ways to run DAGs, act as a user in either system, and look."""

    def __init__(self, sandbox, monkeypatch, state_db: Path):
        self.sb = sandbox
        self.monkeypatch = monkeypatch
        self.state_db = state_db

    def settings(self, **changes) -> None:
        self.monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({**SETTINGS, **changes}))

    def run(self, dag_id: str, conf: dict | None = None, expect: str = "success"):
        # to the microsecond: no other test's run of the same DAG (other sessions share the Airflow DB) has this date
        dagrun = load_dag(dag_id).test(logical_date=pendulum.now("UTC"), run_conf=conf)
        assert work_state(dagrun) == expect, task_states(dagrun)
        return dagrun

    def ledger(self):
        from atqbo.ledger import Ledger

        return Ledger.from_conn_id("atqbo_state")

    def qbo(self):
        from atqbo.hooks.qbo import QuickBooksOnlineHook

        return QuickBooksOnlineHook("qbo_default", ledger=self.ledger())

    def autotask(self):
        from atqbo.hooks.autotask import AutotaskHook

        return AutotaskHook("autotask_default")

    def at_invoices(self) -> dict[int, dict]:
        return {i["id"]: i for i in self.sb.state()["autotask"]["Invoices"]}

    def qbo_invoices(self) -> dict[int, dict]:
        """atqbo's live invoices in QBO, by Autotask id (their PrivateNote)."""
        from atqbo.qbo_docs import INVOICE_NOTE

        out: dict[int, dict] = {}
        for inv in self.sb.state()["qbo"].get("Invoice", []):
            autotask_id = INVOICE_NOTE.autotask_id(inv.get("PrivateNote"))
            if autotask_id is not None:
                out[autotask_id] = inv
        return out

    def bills(self) -> dict[int, dict]:
        from atqbo.qbo_docs import BILL_NOTE

        return {BILL_NOTE.autotask_id(b.get("PrivateNote")): b for b in self.sb.state()["qbo"].get("Bill", [])}

    def writes(self) -> list[dict]:
        """Requests that change data in Autotask or QBO (queries and token refreshes are reads)."""
        return [
            r
            for r in self.sb.requests.list()
            if r["method"] in ("POST", "PATCH", "PUT", "DELETE")
            and r["api"] in ("autotask", "qbo")
            and not r["path"].lower().endswith(("/query", "/query/count", "/query/next", "/tokens/bearer"))
            and "query" not in (r["query"] or "")
        ]


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database in WAL mode (its -wal file included), by SQLite's backup."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def synced_tenant(sandbox, monkeypatch, tmp_path: Path) -> Tenant:
    """The demo tenant after the syncs (built on the first call, restored on the next ones); request log
    and mailbox empty. ``sandbox`` is the ``sandbox_connections`` fixture (its state DB in ``tmp_path``)."""
    sb = sandbox
    state_db = tmp_path / "atqbo_state.db"  # where sandbox_connections points the state connection
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps(SETTINGS))
    t = Tenant(sb, monkeypatch, state_db)
    if not _SNAPSHOT:
        from sandbox.seeds import load_seed

        sb.reset()
        sb.seed(load_seed("demo"))
        export_connections(sb, monkeypatch)
        for dag_id in ("atqbo_invoices", "atqbo_invoice_voids", "atqbo_purchase_orders"):
            t.run(dag_id)
        _SNAPSHOT["state"] = sb.state()
        _SNAPSHOT["db"] = tmp_path / "snapshot.db"
        copy_sqlite(state_db, _SNAPSHOT["db"])  # pytest keeps the last few tmp dirs: the copy outlives this test
    else:
        sb.reset()
        sb.seed(_SNAPSHOT["state"])
        copy_sqlite(_SNAPSHOT["db"], state_db)
        export_connections(sb, monkeypatch)
    sb.requests.clear()
    sb.mail.clear()
    return t
