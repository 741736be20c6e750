"""BEY-10: the verdict of a run's ``outcome`` task and the run's note, from a report (no Airflow run:
the DAG tests in tests/dags/test_bey10_operations.py run them for real)."""

from __future__ import annotations

from atqbo.notify import ReportRow, RunReport
from atqbo.outcome import MAX_NOTE_CHARS, MAX_NOTE_RECORDS, judge_outcome, run_note


def _report(*outcomes: str, dry_run: bool = False) -> RunReport:
    rows = [
        ReportRow(outcome=o, entity="invoice", autotask_id=i, reference=f"INV-{i}", reason=f"why {i}", fix=f"fix {i}")
        for i, o in enumerate(outcomes, start=1)
    ]
    return RunReport(title="atqbo invoices", dag_id="atqbo_invoices", run_id="r", rows=rows, dry_run=dry_run)


def _outcome(report: RunReport) -> dict:
    return {
        "counts": {k: n for k, n in report.counts().items() if n},
        "dry_run": report.dry_run,
        "note": run_note(report),
    }


def test_bey10_failed_records_fail_warnings_skip_and_a_clean_run_succeeds():
    assert judge_outcome(_outcome(_report("transferred", "failed")))[0] == "failed"
    assert judge_outcome(_outcome(_report("transferred", "warning")))[0] == "skipped"
    assert judge_outcome(_outcome(_report("transferred", "skipped", "matched")))[0] == "success"
    assert judge_outcome(_outcome(_report()))[0] == "success"
    assert judge_outcome(None)[0] == "success"  # a run that reported nothing at all


def test_bey10_a_dry_run_that_would_fail_records_is_a_warning_not_a_failure():
    assert judge_outcome(_outcome(_report("planned", "failed", dry_run=True)))[0] == "skipped"


def test_bey10_the_note_has_the_counts_then_the_failed_records_with_their_fix():
    note = run_note(_report("transferred", "transferred", "failed", "warning", "skipped"))
    assert note.splitlines()[0] == "2 transferred, 1 failed, 1 warning, 1 skipped"
    assert "- failed: INV-3: why 3 (fix: fix 3)" in note
    assert "INV-4" not in note  # warnings are named only when nothing failed


def test_bey10_the_note_names_a_few_records_and_fits_airflows_note_column():
    note = run_note(_report(*["failed"] * 40))
    assert note.count("- failed:") == MAX_NOTE_RECORDS and "- and 35 more: see the report" in note
    long = _report("failed")
    long.rows[0] = ReportRow(outcome="failed", entity="invoice", autotask_id=1, reason="x" * 5000)
    assert len(run_note(long)) <= MAX_NOTE_CHARS
    assert run_note(_report("transferred", dry_run=True)) == "Dry run: 1 transferred"
