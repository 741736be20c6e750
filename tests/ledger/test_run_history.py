"""Run history on SQLite and PostgreSQL: each run's counts, newest first."""

from __future__ import annotations


def test_run_history_keeps_each_runs_counts_newest_first(ledger):
    ledger.record_run("atqbo_invoices", "scheduled__1", {"transferred": 3, "failed": 1}, window="w1")
    ledger.record_run("atqbo_payments", "scheduled__1", {"matched": 2}, dry_run=True)
    ledger.record_run(
        "atqbo_invoices", "scheduled__1", {"transferred": 4, "failed": 0}, window="w1"
    )  # a retried report
    runs = ledger.list_runs()
    assert [(r["dag_id"], r["counts"]) for r in runs] == [
        ("atqbo_invoices", {"transferred": 4, "failed": 0}),
        ("atqbo_payments", {"matched": 2}),
    ]
    assert runs[1]["dry_run"] is True and runs[0]["run_window"] == "w1"
    assert [r["dag_id"] for r in ledger.list_runs(dag_id="atqbo_payments")] == ["atqbo_payments"]
    assert len(ledger.list_runs(limit=1)) == 1
