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


def test_bey05_every_report_purges_week_old_staging_and_quarter_old_history(ledger, monkeypatch):
    """Months of scheduled runs (here one every 6 hours for 120 days): what each report purges
    (RunInfo.publish) keeps a week of staged data and 90 days of history, so the tables stop growing."""
    from datetime import UTC, datetime, timedelta

    import atqbo.ledger.run_history as run_history
    import atqbo.ledger.staging as staging

    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = {"now": start}
    for module in (run_history, staging):
        monkeypatch.setattr(module, "utcnow", lambda: clock["now"])
    runs = range(4 * 120)
    for n in runs:
        clock["now"] = start + timedelta(hours=6 * n)
        ledger.stage_put(f"atqbo_invoices/scheduled__{n}", "scope", {"scope": {"tool": "sync"}})
        ledger.record_run("atqbo_invoices", f"scheduled__{n}", {"transferred": 0})
        ledger.stage_purge()
        ledger.purge_run_history()

    staged = [n for n in runs if ledger.stage_get(f"atqbo_invoices/scheduled__{n}", "scope")]
    assert staged == list(runs[-(7 * 4 + 1) :])  # the last week's runs (and the one on the boundary)
    history = ledger.list_runs(limit=10_000)
    assert len(history) == 90 * 4 + 1
    assert min(r["finished_at"] for r in history).startswith((clock["now"] - timedelta(days=90)).isoformat()[:19])
