"""A company's tax setup over real HTTP: TaxAgency, TaxRate and TaxCode read and queried with their
real fields, created only by seeds (QBO's TaxService is not served), checked when seeded; and a
company's tax and currency setup surviving a dump and reload of the state."""

from __future__ import annotations

import pytest

from sandbox.core import SeedError
from sandbox.server import Sandbox
from tests.sandbox.qbo.tax_support import profile_seed, sales_line
from tests.sandbox.qbo_support import QboClient


def test_tax_codes_and_rates_read_and_query_with_their_real_fields(fresh_sandbox, qbo):
    fresh_sandbox.seed(profile_seed("ca-gst"))
    code = qbo.get("TaxCode", "3")
    assert {k: code[k] for k in ("Name", "Active", "Taxable", "TaxGroup", "Hidden")} == {
        "Name": "GST/PST BC",
        "Active": True,
        "Taxable": True,
        "TaxGroup": True,
        "Hidden": False,
    }
    assert code["SalesTaxRateList"]["TaxRateDetail"] == [
        {"TaxRateRef": {"value": "1", "name": "GST"}, "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0},
        {"TaxRateRef": {"value": "3", "name": "PST BC"}, "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0},
    ]
    assert [d["TaxRateRef"]["value"] for d in code["PurchaseTaxRateList"]["TaxRateDetail"]] == ["1"]
    rate = qbo.get("TaxRate", "2")
    assert (rate["Name"], rate["RateValue"], rate["AgencyRef"], rate["SpecialTaxType"]) == (
        "HST ON",
        13,
        {"value": "1", "name": "Canada Revenue Agency"},
        "NONE",
    )
    assert qbo.query("select * from TaxRate where RateValue > '6'")["TaxRate"][0]["Name"] == "HST ON"
    assert qbo.query("select count(*) from TaxCode")["totalCount"] == 5
    agencies = qbo.query("select * from TaxAgency")["TaxAgency"]
    assert [a["DisplayName"] for a in agencies] == ["Canada Revenue Agency", "Ministry of Finance (BC)"]


def test_inactive_tax_codes_are_left_out_of_queries_unless_asked_for(fresh_sandbox, qbo):
    doc = profile_seed("uk-vat")
    doc["qbo"]["TaxCode"].append({"Id": "6", "Name": "17.5% S", "Active": False})
    fresh_sandbox.seed(doc)
    assert "17.5% S" not in [c["Name"] for c in qbo.query("select * from TaxCode")["TaxCode"]]
    assert [c["Name"] for c in qbo.query("select * from TaxCode where Active = false")["TaxCode"]] == ["17.5% S"]


def test_tax_codes_and_rates_cannot_be_written_through_the_api(fresh_sandbox, qbo):
    fresh_sandbox.seed(profile_seed("uk-vat"))
    for entity, body in (("taxcode", {"Name": "25.0% X"}), ("taxrate", {"Name": "25.0% X", "RateValue": 25})):
        response = qbo.post(entity, body)
        assert response.status_code == 400 and response.json()["Fault"]["Error"][0]["code"] == "500"
        assert "TaxService" in response.json()["Fault"]["Error"][0]["Detail"]
    agency = qbo.create("TaxAgency", {"DisplayName": "Isle of Man Customs"})  # agencies can be added
    assert (agency["TaxTrackedOnSales"], agency["TaxTrackedOnPurchases"]) == (True, True)


def test_a_seeded_tax_setup_is_checked_like_any_record(fresh_sandbox):
    with pytest.raises(SeedError, match=r"TaxCode\[0\] Id=1 '20.0% S' breaks rule 2500"):
        fresh_sandbox.seed(
            {
                "qbo": {
                    "TaxCode": [
                        {
                            "Id": "1",
                            "Name": "20.0% S",
                            "SalesTaxRateList": {"TaxRateDetail": [{"TaxRateRef": {"value": "9"}}]},
                        }
                    ]
                }
            }
        )
    with pytest.raises(SeedError, match="RateValue"):
        fresh_sandbox.seed({"qbo": {"TaxRate": [{"Name": "Too much", "RateValue": 120}]}})
    with pytest.raises(SeedError, match="2170"):
        fresh_sandbox.seed(
            {
                "qbo": {
                    "TaxRate": [{"Id": "1", "Name": "GST", "RateValue": 5}],
                    "TaxCode": [
                        {
                            "Name": "GST",
                            "SalesTaxRateList": {
                                "TaxRateDetail": [{"TaxRateRef": {"value": "1"}, "TaxTypeApplicable": "OnTop"}]
                            },
                        }
                    ],
                }
            }
        )
    with pytest.raises(SeedError, match="Multicurrency is not enabled"):
        fresh_sandbox.seed({"qbo": {"ExchangeRate": [{"SourceCurrencyCode": "CAD", "Rate": 0.7}]}})


def test_a_dumped_global_company_loads_back_identically(fresh_sandbox, qbo):
    doc = profile_seed("uk-vat", multi_currency=True)
    fresh_sandbox.seed(doc)
    qbo.create("Invoice", {"CustomerRef": {"value": "91"}, "Line": [sales_line("1", 2, 45, "5")]})
    qbo.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [sales_line("1", 2, 45, "1")]})
    dumped = fresh_sandbox.state()["qbo"]
    other = Sandbox(port=0).start()
    try:
        other.seed({"qbo": dumped})
        again = other.state()["qbo"]
        for entity in (
            "CompanyInfo",
            "TaxAgency",
            "TaxRate",
            "TaxCode",
            "CompanyCurrency",
            "ExchangeRate",
            "Account",
            "Invoice",
        ):
            assert again[entity] == dumped[entity], entity
        client = QboClient(other.base_url, refresh_token=dumped["oauth"]["refresh_token"])
        assert client.get("Invoice", dumped["Invoice"][1]["Id"])["TxnTaxDetail"]["TotalTax"] == 18
    finally:
        other.stop()
