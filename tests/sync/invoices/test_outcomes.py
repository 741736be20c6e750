"""The invoice sync's outcomes over several QBO companies (BEY-07): each failure's error-log entry and
report row name the company (the connection id) the invoice went to."""

from __future__ import annotations

from decimal import Decimal

import pytest

from atqbo.ledger import Ledger
from atqbo.records import INVOICE
from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.sync.invoices.outcomes import Outcomes
from atqbo.sync.invoices.report import build_invoice_report
from atqbo.transform.invoices.model import InvoicePlan


@pytest.fixture
def ledger(tmp_path):
    """A state database of its own (tests/sync's ``ledger`` is the sandbox's): the ledger's own tests
    run it on PostgreSQL too."""
    led = Ledger.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    led.create_schema()
    yield led
    led.close()


def _plan(autotask_id: int, conn_id: str, decision: str = "send", reason: str = "") -> InvoicePlan:
    return InvoicePlan(
        autotask_id=autotask_id,
        invoice_number=f"INV-{autotask_id}",
        company_id=29683500 + autotask_id,
        company_name=f"Company {autotask_id}",
        decision=decision,
        reason=reason,
        total=Decimal("100.00"),
        payload_hash=f"hash-{autotask_id}",
        qbo_conn_id=conn_id,
    )


def _run() -> RunInfo:
    return RunInfo(
        "atqbo_invoices",
        "manual__bey07",
        "atqbo_invoices/manual__bey07",
        Settings.from_dict({}).to_dict(),
        "2026-11-01T00:00:00+00:00",
        "2026-11-02T00:00:00+00:00",
    )


def test_bey07_invoice_failures_are_logged_and_reported_with_their_qbo_company(ledger):
    run, outcomes = _run(), Outcomes()
    outcomes.add(_plan(1, "qbo_default"), "transferred", qbo={"Id": "145", "DocNumber": "1038", "TotalAmt": 100})
    outcomes.add(_plan(2, "qbo_au", "error"), "failed", reason="no QBO tax code 'GST'", fix="create it", marker="error")
    outcomes.add(_plan(3, "qbo_default", "error"), "failed", reason="negative total", fix="credit it", marker="error")
    outcomes.add(_plan(4, ""), "failed", reason="staged before routes", marker="error")  # no company known
    outcomes.record_failures(run, ledger)
    entries = {e["autotask_id"]: e for e in ledger.list_errors(entity=INVOICE)}
    assert {i: e["qbo_company"] for i, e in entries.items()} == {2: "qbo_au", 3: "qbo_default", 4: None}
    assert ledger.get_sync_record(INVOICE, 2)["status"] == "ERROR"

    outcomes.stage(run, ledger)
    report = build_invoice_report(run, ledger)
    assert [(r.autotask_id, r.outcome, r.qbo_company) for r in report.rows] == [
        (1, "transferred", "qbo_default"),
        (2, "failed", "qbo_au"),
        (3, "failed", "qbo_default"),
        (4, "failed", None),
    ]
    assert report.describe_counts_by_qbo_company() == (
        "qbo_au: 1 failed; qbo_default: 1 transferred, 1 failed; no QBO company: 1 failed"
    )
    assert (
        "  - INV-2 (Autotask id 2), Company 2, QBO company qbo_au; Autotask total 100.00: no QBO tax code 'GST'"
        in report.summary_text().splitlines()
    )


def test_bey07_a_single_company_runs_report_has_no_qbo_company_column(ledger):
    run, outcomes = _run(), Outcomes()
    outcomes.add(_plan(1, "qbo_default"), "transferred", qbo={"Id": "145", "DocNumber": "1038", "TotalAmt": 100})
    outcomes.add(_plan(2, "qbo_default", "error"), "failed", reason="negative total", marker="error")
    outcomes.record_failures(run, ledger)
    assert [e["qbo_company"] for e in ledger.list_errors()] == ["qbo_default"]  # the log still says which
    outcomes.stage(run, ledger)
    report = build_invoice_report(run, ledger)
    assert not report.spans_qbo_companies()
    assert "QBO company" not in report.summary_text() + report.to_html() and "qbo_company" not in report.to_csv()
