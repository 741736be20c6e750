"""The run report model: counts per outcome, whether a run is worth an email, a row's JSON round
trip, the email subject and the attachment's name. No network, no DB.
"""

from __future__ import annotations

import json

import pytest

from atqbo.notify import OUTCOMES, ReportRow, RunReport
from tests.notify.report_support import invoice_report


def test_inv21_counts_list_every_outcome_in_order():
    counts = invoice_report().counts()
    assert list(counts) == list(OUTCOMES)
    assert counts == {
        "transferred": 2,
        "matched": 0,
        "planned": 0,
        "voided": 0,
        "failed": 1,
        "warning": 1,
        "skipped": 1,
    }
    assert RunReport("t", "d", "r").counts() == dict.fromkeys(OUTCOMES, 0)


@pytest.mark.parametrize(
    ("outcomes", "notes", "expected"),
    [
        ([], [], False),  # nothing looked at
        (["skipped", "skipped"], [], False),  # only already-synced records: no email
        (["skipped"], ["lookback widened"], True),  # a note is worth an email
        ([], ["settings: invoice sync is disabled"], True),
        (["skipped", "warning"], [], True),
        (["failed"], [], True),
        (["planned"], [], True),  # a dry run's plan is the point of the run
        (["matched"], [], True),
        (["voided"], [], True),
    ],
)
def test_inv21_did_anything_is_any_non_skip_row_or_a_note(outcomes, notes, expected):
    report = RunReport("atqbo invoices", "d", "r", notes=list(notes))
    report.rows = [ReportRow(o, "invoice", i) for i, o in enumerate(outcomes)]  # type: ignore[arg-type]
    assert report.did_anything() is expected


def test_report_row_round_trips_through_a_json_dict():
    for row in invoice_report().rows + [ReportRow("skipped", "payment", None)]:
        doc = json.loads(json.dumps(row.to_dict()))  # what staging in the ledger does
        assert ReportRow.from_dict(doc) == row
    assert invoice_report().rows[0].to_dict()["autotask_total"] == "1234.50"  # amounts as exact strings, not floats


def test_inv21_email_subject_and_attachment_name():
    assert invoice_report().email_subject() == "[atqbo] invoices: 2 transferred, 1 failed, 1 warning, 1 skipped"
    assert invoice_report(dry_run=True).email_subject().endswith("1 skipped (dry run)")
    notes_only = RunReport("atqbo invoices", "atqbo_invoices", "r", notes=["a", "b"])
    assert notes_only.email_subject() == "[atqbo] invoices: no records, 2 notes"
    assert invoice_report().csv_filename() == "atqbo-invoices-scheduled__2026-11-21T00-15-00-00-00.csv"
