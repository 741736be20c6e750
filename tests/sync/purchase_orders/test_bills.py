"""PO-02, the bills (atqbo.sync.purchase_orders.bills): the payload, and exactly once against the
sandbox (BEY-01): a batch whose answer was lost is replayed, a refused PO is sent under a new key."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from atqbo.sync.purchase_orders.bills import bill_payload
from atqbo.sync.purchase_orders.currency import QboCurrencies, plan_bill_currency
from atqbo.sync.purchase_orders.model import PoLine, PurchaseOrder
from tests.sync import po_support as ps
from tests.sync.purchase_orders.support import bill_batches, make_run, run_sync

QBO_ON = QboCurrencies(multi_currency=True, home="USD")
QBO_OFF = QboCurrencies(multi_currency=False, home="USD")


def _order(**changes) -> PurchaseOrder:
    line = PoLine(
        product_id=1,
        product_name="Dell: OptiPlex",
        item_name="Dell- OptiPlex",
        quantity=Decimal(3),
        unit_cost=Decimal("33.335"),
        description="Desk PCs",
    )
    base = {
        "autotask_id": 29686003,
        "vendor_id": 7,
        "vendor_name": "Pax8",
        "created": datetime(2026, 3, 1, tzinfo=UTC),
        "txn_date": date(2026, 3, 1),
        "freight": Decimal(0),
        "lines": (line,),
    }
    return PurchaseOrder(**{**base, **changes})


def test_po02_bill_payload_has_item_lines_on_the_ap_account_and_nothing_about_tax():
    plan = plan_bill_currency(False, QBO_OFF, "USD")
    payload = bill_payload(_order(), "71", "4", {"dell- optiplex": "12"}, plan, "qbo")
    assert payload == {
        "VendorRef": {"value": "71"},
        "APAccountRef": {"value": "4"},
        "TxnDate": "2026-03-01",
        "PrivateNote": "Autotask PO 29686003 - sent by atqbo",
        "Line": [
            {
                "DetailType": "ItemBasedExpenseLineDetail",
                "Amount": 100.01,
                "Description": "Desk PCs",
                "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "12"}, "Qty": 3, "UnitPrice": 33.335},
            }
        ],
    }


def test_po04_autotask_numbering_puts_the_po_id_in_docnumber_and_po06_the_currency_on_the_bill():
    plan = plan_bill_currency(False, QBO_ON, "USD")
    payload = bill_payload(_order(), "71", "4", {"dell- optiplex": "12"}, plan, "autotask")
    assert payload["DocNumber"] == "29686003"
    assert (payload["CurrencyRef"], payload["ExchangeRate"]) == ({"value": "USD"}, 1)


def test_tax03_a_non_us_bill_puts_the_purchase_tax_code_on_every_line_and_its_amounts_before_tax():
    two = PoLine(
        product_id=2,
        product_name="Logitech MX Keys",
        item_name="Logitech MX Keys",
        quantity=Decimal(2),
        unit_cost=Decimal("99.5"),
        description="Keyboards",
    )
    po = _order(lines=(*_order().lines, two))
    plan = plan_bill_currency(False, QBO_OFF, "GBP")
    ids = {"dell- optiplex": "12", "logitech mx keys": "13"}
    payload = bill_payload(po, "71", "4", ids, plan, "qbo", tax_code_id="1")
    assert payload["GlobalTaxCalculation"] == "TaxExcluded"
    details = [line["ItemBasedExpenseLineDetail"] for line in payload["Line"]]
    assert [d["TaxCodeRef"] for d in details] == [{"value": "1"}, {"value": "1"}]
    assert [line["Amount"] for line in payload["Line"]] == [100.01, 199]  # the PO's amounts: QBO adds the tax
    assert "TxnTaxDetail" not in payload  # QBO computes it from the code
    # a US company's bill is the same bill without any of it
    us = bill_payload(po, "71", "4", ids, plan, "qbo")
    assert "GlobalTaxCalculation" not in us and all("TaxCodeRef" not in line[line["DetailType"]] for line in us["Line"])


def test_cur03_a_foreign_bill_without_a_currency_ap_account_names_none():
    plan = plan_bill_currency(True, QBO_ON, "CAD")
    payload = bill_payload(_order(), "80", None, {"dell- optiplex": "12"}, plan, "qbo")
    assert "APAccountRef" not in payload  # QBO opens (or picks) its A/P account in CAD
    assert payload["CurrencyRef"] == {"value": "CAD"} and "ExchangeRate" not in payload


def test_bey01_bill_batch_applied_but_its_answer_lost_creates_each_bill_once(sandbox, ledger):
    # the vendor and the item batches go through; the bill batch is applied and answered 502
    sandbox.faults.add(
        {"api": "qbo", "method": "POST", "path": r"/batch$", "mode": "commit_then_error", "after": 2, "times": 1}
    )
    outcomes = run_sync(make_run("r1"), ledger)
    assert {k for k, v in outcomes.items() if v["outcome"] == "transferred"} == {ps.PO_OK, ps.PO_NEW, ps.PO_LATER}
    batches = bill_batches(sandbox)
    assert len(batches) == 2 and batches[0]["requestid"] == batches[1]["requestid"]  # the retry replays
    assert set(ps.bills(sandbox)) == {ps.PO_OK, ps.PO_NEW, ps.PO_LATER}  # one each (bills() checks)


def test_bey01_a_po_refused_by_qbo_is_sent_under_a_new_requestid_once_fixed(sandbox, ledger):
    """QBO answers a repeated requestid with its first answer: a retry after a refusal must not reuse it."""
    sandbox.seed({"qbo": {"Preferences": {"AccountingInfoPrefs": {"BookCloseDate": "2026-02-28"}}}})
    outcomes = run_sync(make_run("r1"), ledger)
    refused = {k for k, v in outcomes.items() if v["outcome"] == "failed" and "6210" in v["reason"]}
    assert refused == {ps.PO_OK, ps.PO_NEW, ps.PO_LATER} and ps.bills(sandbox) == {}
    sandbox.seed({"qbo": {"Preferences": {"AccountingInfoPrefs": {"BookCloseDate": "2025-12-31"}}}})  # reopened
    orders = ps.purchase_orders(sandbox)
    sandbox.seed({"autotask": {"PurchaseOrders": [{**orders[i], "externalPONumber": None} for i in refused]}})
    outcomes = run_sync(make_run("r2"), ledger)
    assert {k for k, v in outcomes.items() if v["outcome"] == "transferred"} == refused
    first, second = bill_batches(sandbox)
    assert first["requestid"] != second["requestid"]
