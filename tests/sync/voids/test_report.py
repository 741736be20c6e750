"""The void sync's report (atqbo.sync.voids.report): what makes a run worth an email."""

from __future__ import annotations

from atqbo.sync.voids.report import build_void_report
from tests.sync.voids import support as vs
from tests.sync.voids.support import make_run, run_voids

AT_OTHER = 29684103


def test_void02_a_run_that_only_skipped_is_emailed_once(sandbox, ledger):
    """Skips alone are not worth an email, but "not created by atqbo" is something a person must
    hear once (they may have to void QBO's copy by hand): the report carries a note for it."""
    from atqbo.notify import ReportRow

    vs.seed_books(sandbox, [vs.autotask_invoice(AT_OTHER, "INV-2003")], [])
    run = make_run("scheduled__1")
    report = build_void_report(run, [ReportRow.from_dict(r) for r in run_voids(run)])
    assert [r.outcome for r in report.rows] == ["skipped"]
    assert report.notes and report.notes[0].startswith("1 invoice(s) voided in Autotask were not created by atqbo")
    assert report.did_anything()

    run = make_run("scheduled__2")
    assert not build_void_report(run, [ReportRow.from_dict(r) for r in run_voids(run)]).did_anything()
