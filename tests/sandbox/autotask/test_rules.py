"""Rules across records, over real HTTP and through seeds: one compounded tax per tax region and
category (writes and seeds), and a non-billable billing item shown on its invoice at 0 (seeds;
billing items are not written through the API)."""

from __future__ import annotations

import pytest

from sandbox.core import SeedError
from tests.sandbox.autotask_support import invoice_world, seed

QUEBEC, LABOUR = 3, 1


def tax_tables(server) -> None:
    seed(
        server,
        TaxRegions=[{"id": QUEBEC, "name": "Quebec"}],
        TaxCategories=[{"id": LABOUR, "name": "Labour"}, {"id": 2, "name": "Hardware"}],
        Taxes=[
            {"id": 1, "taxRegionID": QUEBEC, "taxCategoryID": LABOUR, "taxName": "GST", "taxRate": 5},
            {"id": 2, "taxRegionID": QUEBEC, "taxCategoryID": LABOUR, "taxName": "QST", "taxRate": 9.975},
        ],
    )


def tax(**fields) -> dict:
    return {"taxRegionID": QUEBEC, "taxCategoryID": LABOUR, "taxName": "Levy", "taxRate": 1.5, **fields}


def test_one_tax_per_region_and_category_may_be_compounded(autotask):
    tax_tables(autotask.server)
    assert autotask.call("PATCH", "Taxes", json={"id": 2, "isCompounded": True}).json() == {"itemId": 2}
    second = autotask.call("POST", "Taxes", json=tax(isCompounded=True))
    assert second.status_code == 500
    assert second.json()["errors"] == [
        "Only one tax rate can be compounded per TaxRegion and TaxCategory combination: "
        "Tax 2 is already compounded for taxRegionID 3 and taxCategoryID 1"
    ]
    assert autotask.create("Taxes", tax(isCompounded=True, taxCategoryID=2)) > 0  # another category
    assert autotask.create("Taxes", tax(isCompounded=False)) > 0
    assert autotask.call("PATCH", "Taxes", json={"id": 2, "taxRate": 9.98}).json() == {"itemId": 2}  # itself


def test_a_seed_with_two_compounded_taxes_for_one_pair_is_refused(fresh_sandbox):
    tax_tables(fresh_sandbox)
    seed(fresh_sandbox, Taxes=[{"id": 2, **tax(taxName="QST", taxRate=9.975, isCompounded=True)}])
    with pytest.raises(SeedError, match=r"Taxes\[0\] \(id 7\): Only one tax rate can be compounded"):
        seed(fresh_sandbox, Taxes=[{"id": 7, **tax(isCompounded=True)}])


def test_a_seeded_non_billable_item_must_show_zero(fresh_sandbox):
    invoice_world(fresh_sandbox)
    shown = {"id": 902, "invoiceID": 801, "companyID": 701, "quantity": 1, "rate": 150, "nonBillable": 1}
    with pytest.raises(SeedError) as refused:
        seed(fresh_sandbox, BillingItems=[{**shown, "extendedPrice": 150, "totalAmount": 150}])
    assert "BillingItems[0] (id 902): a non-billable billing item (nonBillable 1) is shown on the invoice at 0" in str(
        refused.value
    )
    assert "set them to 0, or nonBillable to 0 for billable work" in str(refused.value)
    seed(fresh_sandbox, BillingItems=[{**shown, "extendedPrice": 0, "totalAmount": 0, "taxDollars": 0}])
    assert [i["id"] for i in fresh_sandbox.state()["autotask"]["BillingItems"]] == [901, 902]
