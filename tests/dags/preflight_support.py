"""Running atqbo_preflight with dag.test() on a seeded sandbox, and reading its verdicts (BEY-08).

A run's verdicts are read from the report it emails (the CSV of every check), and every run is
checked to have written nothing: no write in either API's request log, and the same state in both
systems before and after.
"""

from __future__ import annotations

import csv
import io
import json

import pendulum

from tests.dags.dag_support import load_dag, task_states
from tests.dags.tenant_support import export_connections

REPORT_TO = "billing@msp.example"
API_RESOURCE = 29682885
BASE_SETTINGS = {
    "invoice_lookback_days": 45,
    "po_lookback_days": 45,
    "report_to": [REPORT_TO],
    "todo_action_type": 3,
    "todo_resource_id": API_RESOURCE,
}


def writes(sb) -> list[dict]:
    """Every request that could change either system: not a GET, not a query sent as POST, not the
    OAuth token endpoint."""
    return [
        r
        for r in sb.requests.list()
        if r["method"] not in ("GET", "HEAD")
        and not r["path"].lower().endswith(("/query", "/query/count", "/query/next", "/tokens/bearer"))
    ]


class Preflight:
    """One preflight run's outcome: the DagRun's task states and the report's checks."""

    def __init__(self, dagrun, mail: dict | None, log_text: str = ""):
        self.dagrun = dagrun
        self.states = task_states(dagrun)
        self.mail = mail
        text = mail["attachments"][0]["text"].lstrip("\ufeff") if mail else ""
        self.rows = list(csv.DictReader(io.StringIO(text)))

    def verdicts(self, verdict: str) -> dict[str, dict]:
        """Topic -> row of the checks with ``verdict``."""
        return {r["topic"]: r for r in self.rows if r["verdict"] == verdict}

    def row(self, topic: str) -> dict:
        found = [r for r in self.rows if r["topic"] == topic]
        assert len(found) == 1, (topic, [r["topic"] for r in self.rows])
        return found[0]

    def describe(self) -> str:
        return "\n".join(f"{r['verdict']:8} {r['part']:18} {r['topic']}: {r['finding']}" for r in self.rows)


def seed(sb, monkeypatch, doc: dict, **settings) -> None:
    """Reset the sandbox, load ``doc``, point the connections at it and set the Variable."""
    sb.reset()
    sb.seed(doc)
    export_connections(sb, monkeypatch)
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({**BASE_SETTINGS, **settings}))


def run_preflight(sb, conf: dict | None = None) -> Preflight:
    """Trigger atqbo_preflight; check it wrote nothing and changed nothing; return its outcome."""
    before = sb.state()
    sb.requests.clear()
    sb.mail.clear()
    dagrun = load_dag("atqbo_preflight").test(logical_date=pendulum.now("UTC"), run_conf=conf)
    assert writes(sb) == [], "the preflight wrote to an API"
    after = sb.state()
    assert after["autotask"] == before["autotask"]
    assert _without_tokens(after["qbo"]) == _without_tokens(before["qbo"])
    mails = [m for m in sb.mail.messages() if m["subject"].startswith("[atqbo] preflight")]
    assert len(mails) <= 1
    outcome = Preflight(dagrun, mails[0] if mails else None)
    outcome.api_calls = len(sb.requests.list())
    return outcome


def _without_tokens(qbo_state: dict) -> dict:
    """QBO's state without its OAuth parts (the default company's and each extra company's, BEY-07): a
    refresh may rotate the refresh token (a read is allowed to)."""
    out = {k: v for k, v in qbo_state.items() if k not in ("oauth",)}
    if "companies" in out:
        out["companies"] = [_without_tokens(company) for company in out["companies"]]
    return out
