"""The invoice sync's extract step against the sandbox: which Autotask invoices a run picks up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.sync.invoices.extract import extract_invoices
from atqbo.sync.invoices.scope import begin_invoice_run

COMPANY_ID = 29683501
DAY = "2026-03-01"


def autotask_invoice(invoice_id: int, number: str | None) -> dict:
    return {
        "id": invoice_id,
        "companyID": COMPANY_ID,
        "invoiceNumber": number,  # the marker in invoiceNumber mode, as the vendor app kept it
        "invoiceDateTime": f"{DAY}T00:00:00Z",
        "invoiceTotal": 100.0,
        "totalTaxValue": 0,
        "isVoided": False,
    }


@pytest.fixture
def sandbox(sandbox_connections, monkeypatch):
    sandbox_connections.reset()
    for conn_id, conn in sandbox_connections.connections().items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return sandbox_connections


def test_line03_a_blank_marker_is_unsynced_whatever_autotask_stored(sandbox, state_ledger):
    """Null, empty and blank markers are all "not synced yet": decided in code, since a notExist
    filter does not match a field cleared to "" (the real API's behaviour is undocumented)."""
    invoices = [
        autotask_invoice(41, None),
        autotask_invoice(42, ""),
        autotask_invoice(43, "   "),
        autotask_invoice(44, "1044"),  # synced: QBO's number written back
        autotask_invoice(45, "ERROR"),  # failed: a person clears it to retry
    ]
    company = {"id": COMPANY_ID, "companyName": "Contoso Dental", "companyType": 1}
    # a tenant that keeps "" as "" (what the real API does is undocumented): notExist misses it
    sandbox.seed({"autotask": {"settings": {"keep_empty_strings": True}, "Companies": [company]}})
    sandbox.seed({"autotask": {"Invoices": invoices}})
    stored = {i["id"]: i["invoiceNumber"] for i in sandbox.state()["autotask"]["Invoices"]}
    assert stored[42] == "" and stored[41] is None
    end = datetime(2026, 3, 2, tzinfo=UTC)
    run = RunInfo(
        "atqbo_invoices",
        "manual__x",
        "atqbo_invoices/manual__x",
        Settings.from_dict({"invoice_marker_field": "invoiceNumber", "invoice_numbering": "qbo"}).to_dict(),
        (end - timedelta(days=14)).isoformat(),
        end.isoformat(),
    )
    from atqbo.hooks.autotask import AutotaskHook

    begin_invoice_run(run, state_ledger)
    counts = extract_invoices(run, AutotaskHook(), state_ledger)
    staged = state_ledger.stage_get(run.run_key, "invoice")
    assert sorted(int(k) for k in staged) == [41, 42, 43], stored
    assert counts["invoices"] == 3
