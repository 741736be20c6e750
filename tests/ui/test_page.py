"""TOOL-08 in the Airflow UI: the error-log page in a real headless Chromium (Playwright driving the
system's /usr/bin/chromium; no browser is downloaded), on its own and inside Airflow's UI iframe.

Signed in as Airflow's UI is: the JWT in the ``_token`` cookie. Checks the rows rendered from the
ledger, clicks Retry and checks the page and the ledger. Screenshots go to the test's tmp path.
"""

from __future__ import annotations

import pytest

from tests.ui.ui_support import NEEDS_CHROMIUM, RETRY_DAG_ID

pytestmark = [pytest.mark.integration, NEEDS_CHROMIUM]


def _seed(state) -> dict[str, int]:
    ids = {
        "invoice": state.log_error(
            "invoice",
            29684001,
            'Customer <b>Acme</b> & "Sons" not found in QBO',
            fix="Create the customer in QBO",
            dag_id="atqbo_invoices",
        ),
        "po": state.log_error(
            "purchase_order",
            7001,
            "Vendor currency EUR differs from USD",
            fix="Set the vendor's currency",
            dag_id="atqbo_purchase_orders",
        ),
        "payment": state.log_error("payment", 501, "Invoice 1043 not found in QBO", dag_id="atqbo_payments"),
        "run": state.log_error("invoice", None, "QBO refresh token revoked", fix="Reconnect QBO"),
    }
    state.set_sync_status("purchase_order", 7001, "ERROR", last_error="Vendor currency EUR differs from USD")
    state.set_sync_status("payment", 501, "ERROR", last_error="Invoice 1043 not found in QBO")
    state.record_run("atqbo_invoices", "scheduled__older", {"created": 9})
    state.record_run("atqbo_payments", "scheduled__p1", {"applied": 2, "error": 1})
    state.record_run("atqbo_invoices", "scheduled__latest", {"created": 3, "error": 1}, window="2026-01-01..2026-01-15")
    return ids


def test_tool08_page_lists_the_ledgers_errors_and_runs_and_retry_marks_the_row(
    page, ui_server, state, settings, tmp_path
):
    ids = _seed(state)
    response = page.goto(f"{ui_server.base}/atqbo/errors")
    assert response.status == 200

    rows = page.locator("table.errors tbody tr")
    assert rows.count() == 4
    invoice = page.locator(f'tr[data-error-id="{ids["invoice"]}"]')
    cells = invoice.locator("td")
    assert cells.nth(1).inner_text() == "invoice" and cells.nth(2).inner_text() == "29684001"
    # Escaped, so shown literally (no bold element made of the message).
    assert cells.nth(3).inner_text().startswith('Customer <b>Acme</b> & "Sons" not found in QBO')
    assert invoice.locator("td.message b").count() == 0
    assert cells.nth(4).inner_text() == "Create the customer in QBO" and cells.nth(5).inner_text() == "1"
    assert invoice.locator("td.retry-state").inner_text() == "no"
    assert page.locator(f'tr[data-error-id="{ids["run"]}"] button').count() == 0  # a run-level error: nothing to retry
    assert page.locator("button.retry").count() == 3

    runs = page.locator("table.runs tbody tr")
    dags = [runs.nth(i).get_attribute("data-dag-id") for i in range(runs.count())]
    assert dags == ["atqbo_invoices", "atqbo_payments"]  # the latest run of each
    latest = page.locator('table.runs tr[data-dag-id="atqbo_invoices"]')
    assert latest.locator("td.counts").inner_text() == "created 3 · error 1"
    assert latest.locator("td.run-id").inner_text() == "scheduled__latest"

    row = page.locator(f'tr[data-error-id="{ids["payment"]}"]')
    row.locator("button.retry").click()
    status = page.locator("#status")
    status.filter(has_text="Retry requested").wait_for()
    assert status.inner_text() == "Retry requested: payment 501: re-queued; the next atqbo_payments run sends it again."
    requested = state.get_error(ids["payment"])["retry_requested_at"]
    assert requested is not None
    assert row.locator("td.retry-state").inner_text() == f"yes, {requested[:10]} {requested[11:19]} UTC"
    assert row.locator("button.retry").inner_text() == "Retry requested"
    assert row.locator("button.retry").is_disabled()
    page.screenshot(path=str(tmp_path / "error_log_after_retry.png"), full_page=True)
    assert (tmp_path / "error_log_after_retry.png").stat().st_size > 10_000

    # What the ledger now says is what the page shows after a reload.
    page.reload()
    row = page.locator(f'tr[data-error-id="{ids["payment"]}"]')
    assert row.locator("td.retry-state").inner_text() == f"yes, {requested[:10]} {requested[11:19]} UTC"
    assert row.locator("button.retry").inner_text() == "Retry again"

    # A filter narrows the list.
    page.select_option("select[name=entity]", "purchase_order")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/atqbo/errors?entity=purchase_order*")
    assert [rows.nth(i).get_attribute("data-error-id") for i in range(rows.count())] == [str(ids["po"])]


def test_tool08_page_inside_airflows_ui_retries_a_po_through_atqbo_retry_errors(
    page, ui_server, state, settings, retry_dag, tmp_path
):
    """From the Browse menu to the iframe: Retry on a PO (ERROR in its External PO Number) starts the retry DAG."""
    ids = _seed(state)
    page.goto(f"{ui_server.base}/")
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="atqbo error log").click()
    page.wait_for_url("**/plugin/atqbo-error-log**")
    frame = page.frame_locator('iframe[title="atqbo error log"]')
    frame.locator("h1", has_text="atqbo error log").wait_for()
    assert frame.locator("table.errors tbody tr").count() == 4

    before = {run["dag_run_id"] for run in ui_server.dag_runs()}
    frame.locator(f'tr[data-error-id="{ids["po"]}"] button.retry').click()
    status = frame.locator("#status")
    status.filter(has_text="Retry requested").wait_for()
    [run] = [run for run in ui_server.dag_runs() if run["dag_run_id"] not in before]
    assert run["conf"] == {"entity": "purchase_order", "autotask_ids": [7001]}
    assert f"{RETRY_DAG_ID} run {run['dag_run_id']} clears its ERROR marker in Autotask" in status.inner_text()
    assert state.get_error(ids["po"])["retry_requested_at"] is not None
    assert state.get_sync_record("purchase_order", 7001)["status"] == "PENDING"
    page.screenshot(path=str(tmp_path / "airflow_ui_error_log.png"))
    assert (tmp_path / "airflow_ui_error_log.png").stat().st_size > 10_000
