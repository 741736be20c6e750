"""TOOL-08's retry: the error log asks for it, the ledger re-queues the record (a payment stays
ERROR), and the Autotask ERROR marker is cleared once per record (the sandbox's Autotask)."""

from __future__ import annotations

import json

import pytest

from atqbo.tools.errors.retry import NEXT_RUN, needs_marker_cleared, requeue, retry_entries
from tests.tools.errors.errors_support import INVOICE, PAYMENT, PO, VOID, record_failure, settings_with

# -- re-queueing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("entity, autotask_id", [("invoice", INVOICE), ("purchase_order", PO), ("invoice_void", VOID)])
def test_tool08_requeue_asks_for_a_retry_and_puts_the_record_back_in_the_queue(ledger, failures, entity, autotask_id):
    assert requeue(ledger, failures[entity])
    assert ledger.get_error(failures[entity]["id"])["retry_requested_at"]
    assert ledger.get_sync_record(entity, autotask_id)["status"] == "PENDING"
    others = [e for key, e in failures.items() if key not in (entity, "run")]
    assert all(ledger.get_sync_record(e["entity"], e["autotask_id"])["status"] == "ERROR" for e in others)


def test_tool08_a_payment_stays_error_because_the_payment_sync_retries_only_error_records(ledger, failures):
    assert requeue(ledger, failures["payment"])
    assert ledger.get_error(failures["payment"]["id"])["retry_requested_at"]
    assert ledger.get_sync_record("payment", PAYMENT)["status"] == "ERROR"


def test_tool08_a_resolved_or_run_level_entry_is_not_requeued(ledger, failures):
    assert not requeue(ledger, failures["run"])
    ledger.resolve_errors("invoice", INVOICE)
    ledger.set_sync_status("invoice", INVOICE, "SYNCED", qbo_id="9")
    assert not requeue(ledger, ledger.get_error(failures["invoice"]["id"]))
    assert ledger.get_sync_record("invoice", INVOICE)["status"] == "SYNCED"


def test_tool08_a_retry_that_fails_again_uses_the_request_up(ledger, failures):
    """Else a record failing the same way would be retried at every run without anyone asking."""
    requeue(ledger, failures["invoice"])
    record_failure(ledger, "invoice", INVOICE)  # the next run: the same failure
    entry = ledger.get_error(failures["invoice"]["id"])
    assert entry["attempts"] == 2 and entry["retry_requested_at"] is None
    assert ledger.get_sync_record("invoice", INVOICE)["status"] == "ERROR"


def test_tool08_retry_entries_reports_what_happened_to_each(ledger, failures):
    settings = settings_with(invoice_marker_field="webServiceDate")
    chosen = [failures[k] for k in ("invoice", "payment", "run")]
    outcomes = {o.error_id: o for o in retry_entries(ledger, settings, chosen, autotask=None)}
    invoice, payment, run = (outcomes[failures[k]["id"]] for k in ("invoice", "payment", "run"))
    assert (invoice.requeued, invoice.marker, invoice.status) == (True, "", "ERROR")
    assert invoice.describe() == f"re-queued; the next {NEXT_RUN['invoice']} run sends it again"
    assert payment.requeued and payment.describe().startswith("re-queued; the next atqbo_payments run")
    assert not run.requeued and "run-level error names no record" in run.describe()


def test_tool08_a_synced_record_is_not_said_to_be_sent_again(ledger):
    """An error logged after the record was created (say a totals mismatch): nothing is re-sent."""
    ledger.set_sync_status("invoice", INVOICE, "SYNCED", qbo_id="77")
    entry = ledger.get_error(ledger.log_error("invoice", INVOICE, "QBO total differs by 0.05", fix="check the tax"))
    (outcome,) = retry_entries(ledger, settings_with(), [entry], autotask=None)
    assert outcome.requeued and outcome.status == "SYNCED"
    assert "already in QBO (ledger status SYNCED)" in outcome.describe() and "re-sends nothing" in outcome.describe()
    assert ledger.get_sync_record("invoice", INVOICE)["status"] == "SYNCED"


def test_tool08_markers_need_an_autotask_hook_only_where_a_sync_writes_them(ledger, failures):
    webservice, number = (
        settings_with(invoice_marker_field="webServiceDate"),
        settings_with(invoice_marker_field="invoiceNumber", invoice_numbering="qbo"),
    )
    assert not needs_marker_cleared(failures["invoice"], webservice)
    assert needs_marker_cleared(failures["invoice"], number)
    assert needs_marker_cleared(failures["purchase_order"], webservice)
    assert not needs_marker_cleared(failures["payment"], number) and not needs_marker_cleared(failures["run"], number)
    with pytest.raises(ValueError, match="an Autotask hook is needed"):
        retry_entries(ledger, webservice, [failures["purchase_order"]], autotask=None)
    assert ledger.get_error(failures["purchase_order"]["id"])["retry_requested_at"] is None  # nothing half-done


# -- the Autotask marker (the sandbox's Autotask) ----------------------------------------------------------------


@pytest.fixture
def autotask(sandbox_connections, monkeypatch):
    from atqbo.hooks.autotask import AutotaskHook
    from tests.sync import po_support as ps

    sb = sandbox_connections
    sb.reset()
    sb.seed({"autotask": ps.autotask_seed()})
    for conn_id, conn in sb.connections().items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return sb, AutotaskHook("autotask_default")


def test_tool08_retry_clears_the_po_error_marker_once_and_leaves_a_number_alone(ledger, autotask):
    from tests.sync import po_support as ps

    sb, hook = autotask
    po = ps.purchase_orders(sb)[ps.PO_CLASH]
    sb.seed({"autotask": {"PurchaseOrders": [{**po, "externalPONumber": "ERROR"}]}})
    first = record_failure(ledger, "purchase_order", ps.PO_CLASH, "vendor name clash")
    second = record_failure(ledger, "purchase_order", ps.PO_CLASH, "item inactive")  # two open entries, one record
    billed = record_failure(ledger, "purchase_order", ps.PO_BILLED, "write-back refused")  # External PO Number "1001"
    sb.requests.clear()
    outcomes = retry_entries(ledger, settings_with(), [first, second, billed], hook)
    assert ps.external_numbers(sb)[ps.PO_CLASH] is None and ps.external_numbers(sb)[ps.PO_BILLED] == "1001"
    assert len(ps.writes(sb, "autotask")) == 1  # one PATCH: cleared once for both entries
    assert [o.marker for o in outcomes] == ["cleared ERROR from its externalPONumber in Autotask"] * 2 + [
        "externalPONumber is '1001', not ERROR: left as it is"
    ]
    assert all(o.requeued for o in outcomes)
    assert ledger.get_sync_record("purchase_order", ps.PO_CLASH)["status"] == "PENDING"


def test_tool08_a_marker_autotask_refuses_to_clear_leaves_the_record_unqueued(ledger, autotask):
    from atqbo.hooks.autotask import AutotaskHook
    from tests.sync import po_support as ps

    sb, _ = autotask
    hook = AutotaskHook("autotask_default", max_retries=0)  # the error at once, not after the hook's backoff
    po = ps.purchase_orders(sb)[ps.PO_CLASH]
    sb.seed({"autotask": {"PurchaseOrders": [{**po, "externalPONumber": "ERROR"}]}})
    entry = record_failure(ledger, "purchase_order", ps.PO_CLASH)
    sb.faults.add({"api": "autotask", "method": "PATCH", "path": "PurchaseOrders", "mode": "error_500", "times": 1})
    (outcome,) = retry_entries(ledger, settings_with(), [entry], hook)
    assert not outcome.requeued and "could not be cleared in Autotask" in outcome.describe()
    assert ledger.get_sync_record("purchase_order", ps.PO_CLASH)["status"] == "ERROR"
    assert ledger.get_error(entry["id"])["retry_requested_at"] is None
    assert ps.external_numbers(sb)[ps.PO_CLASH] == "ERROR"
