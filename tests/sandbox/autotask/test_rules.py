"""Rules across records, over real HTTP and through seeds: one compounded tax per tax region and
category (writes and seeds), a non-billable billing item shown on its invoice at 0, and, in a tenant
with tax tables, an invoice's tax and totals that agree with its lines and their rates (seeds;
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


def quebec_invoice(
    server, *, tax_dollars: float, total_tax: float, invoice_total: float, compounded: bool = False, **company
) -> None:
    """A Quebec customer's invoice of one 200.00 labour line (GST 5% + QST 9.975% = 29.95), with
    the tax and totals given; ``compounded``: QST on the amount plus GST."""
    tax_tables(server)
    if compounded:
        seed(server, Taxes=[{"id": 2, **tax(taxName="QST", taxRate=9.975, isCompounded=True)}])
    seed(
        server,
        BillingCodes=[{"id": 501, "name": "Remote Support", "billingCodeType": 1, "useType": 1, "taxCategoryID": 1}],
        Companies=[{"id": 701, "companyName": "Gatineau Dental", "companyType": 1, "taxRegionID": QUEBEC, **company}],
        Invoices=[
            {
                "id": 801,
                "companyID": 701,
                "invoiceNumber": "INV-2001",
                "invoiceTotal": invoice_total,
                "totalTaxValue": total_tax,
            }
        ],
        BillingItems=[
            {"id": 901, "invoiceID": 801, "companyID": 701, "billingCodeID": 501, "quantity": 2, "rate": 100}
            | {"extendedPrice": 200, "totalAmount": 200, "taxDollars": tax_dollars}
        ],
    )


def test_a_seeded_invoice_taxed_at_its_region_and_category_rates_is_loaded(fresh_sandbox, autotask):
    quebec_invoice(fresh_sandbox, tax_dollars=29.95, total_tax=29.95, invoice_total=229.95)
    assert autotask.get("Invoices", 801)["invoiceTotal"] == 229.95


def test_a_seeded_line_may_be_a_cent_per_tax_off_its_exact_tax(fresh_sandbox):
    """Autotask's rounding is not documented: a seed may round each tax once per invoice and spread
    the cents, so 29.95 may be 29.93 to 29.97 on a line taxed twice."""
    quebec_invoice(fresh_sandbox, tax_dollars=29.97, total_tax=29.97, invoice_total=229.97)


def test_a_seeded_line_taxed_at_another_rate_is_refused(fresh_sandbox):
    with pytest.raises(SeedError) as refused:
        quebec_invoice(fresh_sandbox, tax_dollars=26.0, total_tax=26.0, invoice_total=226.0)
    assert str(refused.value) == (
        "autotask seed: billing item 901 of invoice 801 (INV-2001) has taxDollars 26.0, but its amount 200.0 "
        "at GST 5.0%, QST 9.975% (tax region 3 of company 701) is 29.95: recompute its tax"
    )


def test_a_compounded_tax_is_on_the_amount_plus_the_other_taxes(fresh_sandbox):
    """QST compounded on GST (Quebec before 2013): 200 x 5% = 10, (200 + 10) x 9.975% = 20.95."""
    quebec_invoice(fresh_sandbox, tax_dollars=30.95, total_tax=30.95, invoice_total=230.95, compounded=True)
    with pytest.raises(SeedError, match=r"has taxDollars 29\.95, .* is 30\.95: recompute its tax"):
        quebec_invoice(fresh_sandbox, tax_dollars=29.95, total_tax=29.95, invoice_total=229.95, compounded=True)


def test_a_tax_exempt_company_s_seeded_line_carries_no_tax(fresh_sandbox):
    quebec_invoice(fresh_sandbox, tax_dollars=0, total_tax=0, invoice_total=200, isTaxExempt=True)
    with pytest.raises(SeedError, match="company 701 is tax exempt: set taxDollars to 0"):
        quebec_invoice(fresh_sandbox, tax_dollars=29.95, total_tax=29.95, invoice_total=229.95, isTaxExempt=True)


def test_a_seeded_invoice_whose_totals_disagree_with_its_lines_is_refused(fresh_sandbox):
    with pytest.raises(SeedError) as refused:
        quebec_invoice(fresh_sandbox, tax_dollars=29.95, total_tax=26.0, invoice_total=226.0)
    assert str(refused.value) == (
        "autotask seed: invoice 801 (INV-2001) has totalTaxValue 26.0 but its billing items' taxDollars add up "
        "to 29.95: make totalTaxValue their sum"
    )
    with pytest.raises(SeedError, match=r"invoiceTotal 250\.0 but .* is 229\.95: make invoiceTotal that sum"):
        quebec_invoice(fresh_sandbox, tax_dollars=29.95, total_tax=29.95, invoice_total=250.0)


def test_a_tenant_without_tax_tables_keeps_the_seed_s_tax(fresh_sandbox, autotask):
    """The demo tenant states a flat tax with no Taxes rows: nothing to check it against."""
    invoice_world(fresh_sandbox)
    seed(fresh_sandbox, BillingItems=[{"id": 901, "taxDollars": 17.5}])
    assert autotask.get("BillingItems", 901)["taxDollars"] == 17.5
