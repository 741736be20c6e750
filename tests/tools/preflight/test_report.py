"""The preflight's report (BEY-08): blocking first, every value escaped, the CSV has every check."""

import csv
import io

from atqbo.tools.preflight.model import blocking, ok, warning
from atqbo.tools.preflight.report import PreflightReport


def _report():
    return PreflightReport(
        dag_id="atqbo_preflight",
        run_id="manual__2026-12-03T10:00:00+00:00",
        window="2026-11-18 10:00 to 2026-12-03 10:00 UTC",
        checks=[
            ok("qbo", "Currency", "multi-currency is on; home currency GBP"),
            warning("data", "Customers to create", "3 customers will be created", "check their names", "A, B, C"),
            blocking("qbo", "Account po_ap_account", "QBO has no account named '<A/P>'", "set po_ap_account"),
            blocking("settings", "Purchase order settings", "todo_action_type is not set", "set it"),
        ],
        notes=["The preflight made 20 Autotask call(s) and 9 QBO call(s), all reads."],
    )


def test_bey08_blocking_checks_come_first_by_part_then_warnings_then_ok():
    report = _report()
    assert [c.topic for c in report.ordered()] == [
        "Purchase order settings",
        "Account po_ap_account",
        "Customers to create",
        "Currency",
    ]
    assert report.verdict == "blocking"
    assert report.email_subject() == (
        "[atqbo] preflight: 2 blocking, 1 warning, 1 ok (fix the blocking checks before the first live run)"
    )
    text = report.to_text()
    assert text.index("Blocking (2)") < text.index("Warning (1)") < text.index("OK (1)")
    assert "    Fix: set po_ap_account" in text
    assert "READ ONLY: nothing was written to QBO or Autotask" in text


def test_bey08_the_email_escapes_names_and_the_csv_lists_every_check_with_its_records():
    report = _report()
    html = report.to_html()
    assert "&lt;A/P&gt;" in html and "<A/P>" not in html
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [r["verdict"] for r in rows] == ["blocking", "blocking", "warning", "ok"]
    assert rows[2]["detail"] == "A, B, C" and rows[2]["part"] == "The window's data"
    assert report.csv_filename() == "atqbo-preflight-manual__2026-12-03T10-00-00-00-00.csv"
