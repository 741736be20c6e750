"""QBO seeds and state: seeded records obey the rules, a bad seed loads nothing, realm and
credentials, the demo company, and a dumped state loading back."""

from __future__ import annotations

from datetime import date

import pytest

from sandbox.core import SeedError
from sandbox.qbo import DEFAULT_REALM_ID
from sandbox.seeds import demo_qbo
from sandbox.server import Sandbox
from tests.sandbox.qbo_support import QboClient, fault_of, invoice_of


def test_seeded_records_obey_the_rules(fresh_sandbox, qbo):
    fresh_sandbox.seed(
        {
            "qbo": {
                "Customer": [{"Id": "58", "DisplayName": "Contoso Dental", "Balance": 999}],
                "Item": [{"Id": "21", "Name": "Managed Services", "IncomeAccountRef": {"value": "1"}}],
                "Invoice": [
                    {
                        "Id": "1047",
                        "DocNumber": "INV-10421",
                        "CustomerRef": {"value": "58"},
                        "TotalAmt": 1,
                        "Line": [
                            {
                                "Amount": 1200,
                                "DetailType": "SalesItemLineDetail",
                                "SalesItemLineDetail": {"ItemRef": {"value": "21"}, "Qty": 10, "UnitPrice": 120},
                            },
                        ],
                    }
                ],
                "Payment": [
                    {
                        "CustomerRef": {"value": "58"},
                        "TotalAmt": 200,
                        "Line": [{"Amount": 200, "LinkedTxn": [{"TxnId": "1047", "TxnType": "Invoice"}]}],
                    }
                ],
            }
        }
    )
    invoice = qbo.get("Invoice", "1047")
    assert (invoice["TotalAmt"], invoice["Balance"], invoice["SyncToken"]) == (1200, 1000, "0")
    assert invoice["CustomerRef"] == {"value": "58", "name": "Contoso Dental"}
    assert qbo.get("Customer", "58")["Balance"] == 1000
    assert qbo.create("Customer", {"DisplayName": "Next Customer"})["Id"] == "59"  # ids continue past seeded ones
    state = fresh_sandbox.state()["qbo"]
    assert state["realm_id"] == DEFAULT_REALM_ID and state["Payment"][0]["Id"] == "1048"
    assert {a["Name"] for a in state["Account"]} >= {"Services", "Accounts Payable (A/P)", "Undeposited Funds"}


def test_a_seed_that_breaks_a_rule_names_it_and_loads_nothing(fresh_sandbox):
    with pytest.raises(SeedError) as refused:
        fresh_sandbox.seed(
            {
                "qbo": {
                    "Customer": [{"DisplayName": "Fine Co"}, {"DisplayName": "Bad: Name"}],
                }
            }
        )
    assert "Customer[1]" in str(refused.value) and "Bad: Name" in str(refused.value) and "2040" in str(refused.value)
    assert fresh_sandbox.state()["qbo"]["Customer"] == []
    with pytest.raises(SeedError, match="2500"):
        fresh_sandbox.seed({"qbo": {"Invoice": [{"CustomerRef": {"value": "77"}, "Line": []}]}})
    with pytest.raises(SeedError, match="unknown keys"):
        fresh_sandbox.seed({"qbo": {"Customers": []}})


def test_seed_changes_realm_and_credentials(fresh_sandbox):
    fresh_sandbox.seed(
        {
            "qbo": {
                "realm_id": "4620816365212676460",
                "oauth": {
                    "client_id": "other-client",
                    "client_secret": "other-secret",
                    "refresh_token": "other-refresh",
                },
            }
        }
    )
    client = QboClient(fresh_sandbox.base_url, "4620816365212676460", "other-client", "other-secret", "other-refresh")
    client.refresh()
    assert client.call("GET", "companyinfo/4620816365212676460").status_code == 200
    assert fresh_sandbox.connections()["qbo_default"]["login"] == "other-client"


def test_the_demo_seed_loads_and_is_deterministic(fresh_sandbox, qbo):
    today = date(2026, 3, 5)
    part = demo_qbo.build(today)
    assert part == demo_qbo.build(today)
    fresh_sandbox.seed({"qbo": part})
    synced = demo_qbo.synced_invoices(today)
    customers = {c["DisplayName"] for c in qbo.query("select * from Customer")["Customer"]}
    assert customers == {name for name, in_qbo in demo_qbo.COMPANIES if in_qbo} | {s["companyName"] for s in synced}
    assert [v["DisplayName"] for v in qbo.query("select * from Vendor")["Vendor"]] == ["Ingram Micro", "TD Synnex"]
    names = {i["Name"] for i in qbo.query("select * from Item")["Item"]}
    assert {"Managed Services - Per Device", "SUP-ONS", "Dell OptiPlex 7020"} <= names
    assert not {"Travel", "FW-SUB", "Logitech MX Keys"} & names
    for done in synced:  # what atqbo pushed earlier is there, under Autotask's number and total
        pushed = qbo.query(f"select * from Invoice where DocNumber = '{done['invoiceNumber']}'")["Invoice"]
        assert [(p["TotalAmt"], p["CustomerRef"]["name"]) for p in pushed] == [
            (done["invoiceTotal"], done["companyName"])
        ]
    invoices = qbo.query("select * from Invoice where DocNumber < 'A'")["Invoice"]
    assert len(invoices) == 9 and all(i["TxnDate"].startswith("2026-02") for i in invoices)
    balances = sorted(i["Balance"] < i["TotalAmt"] for i in invoices)
    assert balances.count(True) == 4  # two invoices paid by one payment, one partly paid, one paid
    assert qbo.query("select count(*) from Payment")["totalCount"] == 3
    prefs = qbo.call("GET", "preferences").json()["Preferences"]
    assert prefs["SalesFormsPrefs"]["CustomField"][0]["CustomField"][0]["BooleanValue"] is True


def test_a_dumped_state_loads_back_identically(fresh_sandbox, qbo, books):
    paid = invoice_of(qbo, books, 300, DocNumber="RT-1")
    voided = invoice_of(qbo, books, 40, DocNumber="RT-2")
    qbo.create("Invoice", {"Id": voided["Id"], "SyncToken": "0"}, operation="void")
    qbo.create(
        "Payment",
        {
            "CustomerRef": {"value": books["customer"]["Id"]},
            "TotalAmt": 100,
            "Line": [{"Amount": 100, "LinkedTxn": [{"TxnId": paid["Id"], "TxnType": "Invoice"}]}],
        },
    )
    qbo.create("Customer", {"Id": books["customer"]["Id"], "SyncToken": "0", "sparse": True, "Notes": "edited"})
    dumped = fresh_sandbox.state()["qbo"]
    other = Sandbox(port=0).start()
    try:
        other.seed({"qbo": dumped})
        again = other.state()["qbo"]
        for entity in ("Customer", "Vendor", "Item", "Account", "Invoice", "Payment"):
            assert again[entity] == dumped[entity], entity
        client = QboClient(other.base_url, refresh_token=dumped["oauth"]["refresh_token"])
        refused = client.post("invoice", {"Id": voided["Id"], "SyncToken": "1"}, operation="void")
        assert "already been voided" in fault_of(refused)["Detail"]
        assert (
            fault_of(client.post("invoice", {"Id": paid["Id"], "SyncToken": "1"}, operation="delete"))["code"] == "6000"
        )
    finally:
        other.stop()
