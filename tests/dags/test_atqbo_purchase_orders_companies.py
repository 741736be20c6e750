"""BEY-07: ``atqbo_purchase_orders`` with several QBO companies, run with ``dag.test()`` on the
sandbox's ``multi-company`` seed (the us-ast tenant, its company with automated sales tax and
multi-currency on ``qbo_default``, the Australian GST company ``qbo_au`` with multi-currency off,
home AUD).

A PO goes to the QBO company its Autotask company (``purchaseForCompanyID``) routes to, with that
company's settings (the AU route's ``purchase_tax_code`` "GST" on every bill line); each company's
books are checked bill by bill. The seed's active AUD currency (Autotask bills the Australian
customer in AUD) does not stop the run (PO-06 per company, docs/features.md BEY-07): each PO is
judged by its own currency (its vendor's) against its company's home currency, and one QBO would
book in the wrong currency fails on its own, with no bill."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pendulum
import pytest

from tests.dags.companies_support import (
    au_customer,
    books,
    ledger_realms,
    realms,
    report_html,
    route_settings,
    run,
    use_settings,
)
from tests.dags.dag_support import outcome_state

pytestmark = pytest.mark.integration

DAG_ID = "atqbo_purchase_orders"
AUD_VENDOR = 29683605  # added here: an Australian supplier, in AUD in Autotask
AU_PO = 29686021  # AUD vendor, for the Australian customer: a bill in qbo_au
AU_PO_IN_USD = 29686004  # the demo's Pax8 (USD) PO for City Power & Light, routed to qbo_au: refused
CITY_POWER = 29683514
DEFAULT_PO_IN_AUD = 29686022  # AUD vendor, for Contoso Dental: a bill in AUD in qbo_default (multi-currency on)
CONTOSO = 29683501


def autotask(sb) -> dict:
    return sb.state()["autotask"]


def add_aud_vendor_and_pos(sb) -> None:
    """An Australian supplier (AUD) and two Submitted POs from it: one for the Australian customer,
    one for a US customer; their lines copy the demo PO 29686003's."""
    from sandbox.seeds.multi_company import AUD_CURRENCY_ID

    at = autotask(sb)
    pax8 = next(c for c in at["Companies"] if c["companyName"] == "Pax8")
    vendor = {**pax8, "id": AUD_VENDOR, "companyName": "Harbour Bridge Supplies", "currencyID": AUD_CURRENCY_ID}
    template = next(p for p in at["PurchaseOrders"] if p["id"] == 29686003)
    lines = [i for i in at["PurchaseOrderItems"] if i["orderID"] == 29686003]
    created = (pendulum.now("UTC") - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    orders, items = [], []
    for po_id, customer in ((AU_PO, au_customer(sb)), (DEFAULT_PO_IN_AUD, CONTOSO)):
        orders.append(
            {
                **template,
                "id": po_id,
                "vendorID": AUD_VENDOR,
                "purchaseForCompanyID": customer,
                "createDateTime": created,
                "submitDateTime": created,
            }
        )
        items += [{**line, "id": po_id * 10 + n, "orderID": po_id} for n, line in enumerate(lines)]
    sb.seed({"autotask": {"Companies": [vendor], "PurchaseOrders": orders, "PurchaseOrderItems": items}})


def eligible(sb) -> dict[int, dict]:
    """The Submitted POs with a blank External PO Number: every one the run looks at (45 days back)."""
    return {p["id"]: p for p in autotask(sb)["PurchaseOrders"] if p["status"] == 2 and not p.get("externalPONumber")}


def bills_by_company(sb) -> dict[str, dict[int, list[dict]]]:
    """Each company's atqbo bills by Autotask PO id (a list, so a duplicate shows)."""
    import re

    out: dict[str, dict[int, list[dict]]] = {}
    for conn_id, book in books(sb).items():
        for bill in book.get("Bill", []):
            found = re.match(r"Autotask PO (\d+)", bill.get("PrivateNote") or "")
            if found:
                out.setdefault(conn_id, {}).setdefault(int(found.group(1)), []).append(bill)
    return out


def external_numbers(sb) -> dict[int, str | None]:
    return {p["id"]: p.get("externalPONumber") for p in autotask(sb)["PurchaseOrders"]}


def line_total(sb, po_id: int) -> Decimal:
    return sum(
        (
            Decimal(str(i["quantity"])) * Decimal(str(i["unitCost"]))
            for i in autotask(sb)["PurchaseOrderItems"]
            if i["orderID"] == po_id
        ),
        Decimal(0),
    )


def qbo_writes(sb) -> list[dict]:
    return [
        r
        for r in sb.requests.list("qbo")
        if r["method"] == "POST" and not r["path"].lower().endswith(("/query", "/tokens/bearer"))
    ]


def au_routes(sb, *more_ids: int) -> list[dict]:
    return [
        {"qbo_conn_id": "qbo_au", "company_ids": [au_customer(sb), *more_ids], "settings": route_settings("qbo_au")}
    ]


def test_bey07_each_po_goes_as_a_bill_to_the_qbo_company_its_autotask_company_routes_to(multi_company, monkeypatch):
    sb = multi_company
    add_aud_vendor_and_pos(sb)
    use_settings(monkeypatch, au_routes(sb, CITY_POWER))
    pos = eligible(sb)
    to_default = {i for i, p in pos.items() if p["purchaseForCompanyID"] not in (au_customer(sb), CITY_POWER)}
    assert len(to_default) == 4 and {AU_PO, AU_PO_IN_USD, DEFAULT_PO_IN_AUD} <= to_default | {AU_PO, AU_PO_IN_USD}

    dagrun = run(DAG_ID)
    assert outcome_state(dagrun) == "failed"  # the PO in a currency its company cannot take
    found = bills_by_company(sb)
    assert {i: len(b) for i, b in found.get("qbo_default", {}).items()} == dict.fromkeys(to_default, 1)
    assert {i: len(b) for i, b in found.get("qbo_au", {}).items()} == {AU_PO: 1}
    assert "qbo_manual" not in found
    numbers = external_numbers(sb)
    au_book = books(sb)["qbo_au"]

    # qbo_default: US bills, no tax code on any line, the PO's amounts
    for po_id in to_default:
        (bill,) = found["qbo_default"][po_id]
        assert numbers[po_id] == bill["Id"]
        assert all("TaxCodeRef" not in line["ItemBasedExpenseLineDetail"] for line in bill["Line"])
        assert Decimal(str(bill["TotalAmt"])) == line_total(sb, po_id)
    # qbo_au: the route's purchase_tax_code (GST) on every line, QBO adds 10% GST, AUD (its home)
    gst = next(c["Id"] for c in au_book["TaxCode"] if c["Name"] == "GST")
    (bill,) = found["qbo_au"][AU_PO]
    assert numbers[AU_PO] == bill["Id"]
    assert bill["GlobalTaxCalculation"] == "TaxExcluded"
    assert all(line["ItemBasedExpenseLineDetail"]["TaxCodeRef"] == {"value": gst} for line in bill["Line"])
    net = line_total(sb, AU_PO)
    assert Decimal(str(bill["TotalAmt"])) == net + (net / 10).quantize(Decimal("0.01"))
    assert (bill.get("CurrencyRef") or {"value": "AUD"})["value"] == "AUD"
    assert "Harbour Bridge Supplies" in {v["DisplayName"] for v in au_book.get("Vendor", [])}
    # each company its own vendor record (the default's took the AUD vendor's PO for Contoso)
    au_vendor = next(v for v in au_book["Vendor"] if v["DisplayName"] == "Harbour Bridge Supplies")
    assert (au_vendor.get("CurrencyRef") or {"value": "AUD"})["value"] == "AUD"

    # the default company (us-ast) has multi-currency on: the AUD vendor's PO is a bill in AUD there
    assert found["qbo_default"][DEFAULT_PO_IN_AUD][0]["CurrencyRef"]["value"] == "AUD"
    # a PO in a currency its company cannot take: no bill anywhere, ERROR, the reason names both currencies
    assert not any(AU_PO_IN_USD in by_po for by_po in found.values()) and numbers[AU_PO_IN_USD] == "ERROR"
    report = report_html(sb, "[atqbo] purchase orders")
    assert "goes to QBO company qbo_au, whose home currency is AUD with multi-currency off" in report
    assert "Multi-currency is on in Autotask" not in report  # the run was not refused as a whole

    # the ledger says which realm has each bill
    company_realms = realms(sb)
    assert ledger_realms("purchase_order") == {
        **dict.fromkeys(to_default, company_realms["qbo_default"]),
        AU_PO: company_realms["qbo_au"],
    }

    # a second run creates nothing, in either company
    before = bills_by_company(sb)
    sb.requests.clear()
    run(DAG_ID)
    assert bills_by_company(sb) == before and qbo_writes(sb) == []


def test_bey07_a_token_revoked_in_one_company_fails_its_pos_only_without_error_and_the_next_run_sends_them(
    multi_company, monkeypatch
):
    from atqbo.ledger import Ledger
    from sandbox.seeds.multi_company import AU_REALM_ID

    sb = multi_company
    add_aud_vendor_and_pos(sb)
    use_settings(monkeypatch, au_routes(sb))
    pos = eligible(sb)
    to_default = {i for i, p in pos.items() if p["purchaseForCompanyID"] != au_customer(sb)}
    connections = sb.connections()
    sb.qbo.revoke_realm(AU_REALM_ID)  # the user disconnected the app from the AU company

    dagrun = run(DAG_ID)
    assert outcome_state(dagrun) == "failed"
    found = bills_by_company(sb)
    numbers = external_numbers(sb)
    assert "qbo_au" not in found and numbers[AU_PO] is None  # no ERROR: nothing is wrong with the PO
    assert {i: len(b) for i, b in found["qbo_default"].items()} == dict.fromkeys(to_default, 1)
    assert all(numbers[i] == found["qbo_default"][i][0]["Id"] for i in to_default)
    report = report_html(sb, "[atqbo] purchase orders")
    assert "QBO company qbo_au could not be reached or used" in report
    led = Ledger.from_conn_id("atqbo_state")
    try:
        assert not [e for e in led.list_errors() if e["autotask_id"] == AU_PO]
    finally:
        led.close()
    todos = autotask(sb).get("CompanyToDos", [])
    assert not [t for t in todos if str(AU_PO) in t["activityDescription"]]  # no to-do per PO
    (todo,) = [t for t in todos if "QBO company qbo_au could not be reached" in t["activityDescription"]]
    assert todo["companyID"] == 0  # one, for the run, under the local organization

    # reconnected (a new refresh token in its connection): the next run sends it, once; the others stay
    sb.seed({"qbo": {"companies": [{"realm_id": AU_REALM_ID, "oauth": {"refresh_token": "reconnected-au"}}]}})
    conn = dict(connections["qbo_au"], extra={**connections["qbo_au"]["extra"], "refresh_token": "reconnected-au"})
    monkeypatch.setenv("AIRFLOW_CONN_QBO_AU", json.dumps(conn))
    run(DAG_ID)
    again = bills_by_company(sb)
    assert {i: len(b) for i, b in again["qbo_au"].items()} == {AU_PO: 1}
    assert external_numbers(sb)[AU_PO] == again["qbo_au"][AU_PO][0]["Id"]
    assert again["qbo_default"] == found["qbo_default"]
