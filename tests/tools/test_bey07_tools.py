"""BEY-07, the pure parts of the tools with several QBO companies: which company a document went to
(the reconciliation's ``home_of``), a copy in another company as a drift, the report rows, CSV and
notes naming each company, a company not reached; the preflight's checks naming their company; and
the settings part listing each company's settings. One company: nothing of this shows."""

from __future__ import annotations

import csv
import io

from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.tools.preflight.model import blocking, ok
from atqbo.tools.preflight.report import PreflightReport
from atqbo.tools.preflight.settings_checks import check_settings
from atqbo.tools.reconcile.by_company import home_of
from atqbo.tools.reconcile.compare import compare_document
from atqbo.tools.reconcile.model import ELSEWHERE, MISSING_IN_QBO, DocumentPair
from atqbo.tools.reconcile.report import build_reconcile_report
from tests.tools.reconcile.reconcile_support import RULES, at_invoice, invoice_pair, qbo_invoice

ROUTES = [
    {
        "qbo_conn_id": "qbo_au",
        "company_ids": [29683560],
        "settings": {"qbo_edition": "non-US", "sales_tax_code": "GST", "exempt_sales_tax_code": "GST free"},
    }
]


def _run(**settings) -> RunInfo:
    return RunInfo(
        dag_id="atqbo_reconcile",
        run_id="manual__2026-12-04T06:00:00+00:00",
        run_key="atqbo_reconcile/manual__2026-12-04T06:00:00+00:00",
        settings=Settings.from_dict(settings).to_dict(),
        window_start="2026-11-04T06:00:00+00:00",
        window_end="2026-12-04T06:00:00+00:00",
    )


def test_bey07_a_document_goes_to_its_records_company_else_where_its_note_is_else_the_route():
    # the ledger record decides, even when another company carries its note or the routes changed since
    assert home_of("qbo_au", True, ["qbo_default"], "qbo_default") == "qbo_au"
    # a record whose realm is none of the run's companies: no company (not compared, reported)
    assert home_of(None, True, ["qbo_default"], "qbo_default") is None
    # no record: the company whose books carry its note; the routed one among several
    assert home_of(None, False, ["qbo_au"], "qbo_default") == "qbo_au"
    assert home_of(None, False, ["qbo_default", "qbo_au"], "qbo_au") == "qbo_au"
    assert home_of(None, False, ["qbo_default", "qbo_manual"], "qbo_au") == "qbo_default"
    # found nowhere: the routes' rule
    assert home_of(None, False, [], "qbo_au") == "qbo_au"


def test_bey07_a_copy_in_another_company_is_a_drift_naming_both_companies():
    pair = invoice_pair(
        at_invoice(), qbo_invoice(), qbo_company="qbo_default", elsewhere=("qbo_au: invoice 12 (Id 3)",)
    )
    check = compare_document(pair, RULES)
    assert [d.kind for d in check.drifts] == [ELSEWHERE]
    drift = check.drifts[0]
    assert "qbo_au: invoice 12 (Id 3)" in drift.qbo_value and "(qbo_default)" in drift.what
    assert "QBO invoice 1044 (Id 187) in QBO company qbo_default" in drift.fix
    # the QBO document deleted in its company, a copy in another: both said
    gone = compare_document(
        invoice_pair(at_invoice(), None, qbo_company="qbo_au", elsewhere=("qbo_default: invoice Id 187",)), RULES
    )
    assert [d.kind for d in gone.drifts] == [MISSING_IN_QBO, ELSEWHERE]


def test_bey07_a_staged_pair_keeps_its_company_and_one_companys_pair_stages_as_before():
    pair = invoice_pair(at_invoice(), qbo_invoice(), qbo_company="qbo_au", elsewhere=("qbo_default: invoice Id 9",))
    assert DocumentPair.from_doc(pair.to_doc()) == pair
    single = invoice_pair(at_invoice(), qbo_invoice())
    assert "qbo_company" not in single.to_doc() and DocumentPair.from_doc(single.to_doc()) == single


def test_bey07_the_reconciliation_report_names_each_company_and_one_not_reached():
    run = _run(qbo_routes=ROUTES)
    checks = [
        compare_document(invoice_pair(at_invoice(), qbo_invoice(), qbo_company="qbo_default"), RULES),
        compare_document(invoice_pair(at_invoice("300.00"), qbo_invoice(), qbo_company="qbo_au"), RULES),
    ]
    unreached = {
        "qbo_manual": {
            "reason": "QBO company qbo_manual could not be reached or used: invalid_grant",
            "documents": ["INV-1003 (Autotask id 29684003)"],
        }
    }
    report = build_reconcile_report(run, checks, "", [], unreached)
    assert report.headline == "2 checked, 1 with drift, QBO company qbo_manual not reached"
    failed = [r for r in report.rows if r.outcome == "failed"]
    assert len(failed) == 1 and failed[0].reference == "qbo_manual"
    assert "INV-1003 (Autotask id 29684003)" in failed[0].reason and "atqbo_check_connections" in failed[0].fix
    drifted = [r for r in report.rows if r.outcome == "warning"]
    assert len(drifted) == 1 and "qbo_au" in str(drifted[0].to_dict())
    assert "QBO company qbo_default: 1 document(s) checked, 0 with drift" in report.notes
    assert "QBO company qbo_au: 1 document(s) checked, 1 with drift" in report.notes
    assert "QBO company qbo_manual: not reached, nothing compared" in report.notes
    (name,) = [n for n in report.attachments if n.endswith("-documents.csv")]
    rows = list(csv.DictReader(io.StringIO(report.attachments[name].lstrip("\ufeff"))))
    assert [r["qbo_company"] for r in rows] == ["qbo_default", "qbo_au"]


def test_bey07_one_companys_reconciliation_report_has_no_company_column_or_notes():
    checks = [compare_document(invoice_pair(at_invoice(), qbo_invoice()), RULES)]
    report = build_reconcile_report(_run(), checks)
    (name,) = [n for n in report.attachments if n.endswith("-documents.csv")]
    header = report.attachments[name].lstrip("\ufeff").splitlines()[0]
    assert "qbo_company" not in header and not [n for n in report.notes if "QBO company" in n]
    assert report.headline == "1 checked, all agree"


def test_bey07_preflight_checks_name_their_company_in_the_text_html_and_csv():
    report = PreflightReport(
        dag_id="atqbo_preflight",
        run_id="manual__2026-12-04T10:00:00+00:00",
        window="w",
        checks=[
            ok("qbo", "Classes", "found 'Managed'").of_company("qbo_default"),
            blocking("qbo", "Classes", "QBO has no active class named 'X'", "create it").of_company("qbo_au"),
            ok("settings", "Report recipients", "reports go to a@b.example"),
        ],
    )
    assert "[QuickBooks Online, QBO company qbo_au] Classes: QBO has no active class named 'X'" in report.to_text()
    assert "QuickBooks Online, QBO company qbo_au" in report.to_html()
    rows = list(csv.DictReader(io.StringIO(report.to_csv().lstrip("\ufeff"))))
    assert [(r["qbo_company"], r["topic"]) for r in rows] == [
        ("qbo_au", "Classes"),
        ("", "Report recipients"),
        ("qbo_default", "Classes"),
    ]
    one = PreflightReport("atqbo_preflight", "r", "w", [ok("qbo", "Classes", "found")])
    assert "qbo_company" not in one.to_csv().splitlines()[0] and "[QuickBooks Online] Classes" in one.to_text()


def test_bey07_the_settings_part_lists_each_companys_settings():
    settings = Settings.from_dict({"qbo_routes": ROUTES})
    checks = {c.company: c for c in check_settings(settings) if c.topic == "QBO company settings"}
    assert set(checks) == {"qbo_default", "qbo_au"}
    assert "qbo_au gets the documents of Autotask company 29683560; qbo_edition non-US" in checks["qbo_au"].finding
    assert "sales_tax_code 'GST'" in checks["qbo_au"].finding
    assert "qbo_default gets every document no route takes" in checks["qbo_default"].finding
    assert all(c.verdict == "ok" for c in checks.values())
    assert not [c for c in check_settings(Settings.from_dict({})) if c.company or c.topic == "QBO company settings"]
