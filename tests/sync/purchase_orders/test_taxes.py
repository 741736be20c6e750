"""TAX-03, the purchase tax code of a non-US company's bills (atqbo.sync.purchase_orders.taxes):
found once per run, before any write, only for a non-US company; the bill's tax is QBO's."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import unquote_plus

import pytest

from atqbo.exceptions import AtqboConfigError
from atqbo.settings import Settings
from atqbo.sync.purchase_orders.extract import extract_purchase_orders
from atqbo.sync.purchase_orders.load import load_purchase_orders
from atqbo.sync.purchase_orders.taxes import bill_total_before_tax, find_purchase_tax_code
from tests.sync import po_support as ps
from tests.sync.purchase_orders.support import hooks_for, make_run, run_sync


def _tax_reads(sandbox) -> list[str]:
    queries = [unquote_plus(r["query"]) for r in sandbox.requests.list("qbo") if r["path"].endswith("/query")]
    return [q for q in queries if " FROM TaxCode" in q or " FROM TaxRate" in q]


def test_tax03_a_us_company_reads_no_tax_codes_and_its_bills_carry_none(sandbox, ledger):
    _, qbo = hooks_for(ledger)
    assert find_purchase_tax_code(qbo, Settings.from_dict({**ps.SETTINGS, "purchase_tax_code": "20.0% S"})) is None
    run_sync(make_run("r1"), ledger)
    assert _tax_reads(sandbox) == []
    bill = ps.bills(sandbox)[ps.PO_OK]
    assert "GlobalTaxCalculation" not in bill and "TaxCodeRef" not in bill["Line"][0]["ItemBasedExpenseLineDetail"]


def test_tax03_the_purchase_tax_code_is_found_by_name_ignoring_case_and_spaces(sandbox, ledger):
    ps.uk_vat_qbo(sandbox)
    _, qbo = hooks_for(ledger)
    settings = Settings.from_dict({**ps.SETTINGS, **ps.UK_SETTINGS, "purchase_tax_code": " 20.0%  s"})
    code = find_purchase_tax_code(qbo, settings)
    assert (code["Id"], code["Name"]) == (ps.UK_STANDARD_CODE, "20.0% S")
    assert len(_tax_reads(sandbox)) == 2  # TaxCode and TaxRate, once each


def test_tax03_every_bill_line_carries_the_code_and_the_total_is_the_po_plus_qbo_vat(sandbox, ledger):
    ps.uk_vat_qbo(sandbox)
    outcomes = run_sync(make_run("r1", **ps.UK_SETTINGS), ledger)
    assert len(_tax_reads(sandbox)) == 2  # once per run, not once per bill
    bills = ps.bills(sandbox)
    assert set(bills) == {ps.PO_OK, ps.PO_NEW, ps.PO_LATER}
    for bill in bills.values():
        assert bill["GlobalTaxCalculation"] == "TaxExcluded"
        assert all(line["ItemBasedExpenseLineDetail"]["TaxCodeRef"] == {"value": "1"} for line in bill["Line"])
    # 20% VAT on 2 x 899.00 = 1,798.00 is 359.60, on 3 x 99.50 = 298.50 is 59.70 (by hand)
    assert (bills[ps.PO_OK]["TxnTaxDetail"]["TotalTax"], bills[ps.PO_OK]["TotalAmt"]) == (359.6, 2157.6)
    assert (bills[ps.PO_NEW]["TxnTaxDetail"]["TotalTax"], bills[ps.PO_NEW]["TotalAmt"]) == (59.7, 358.2)
    assert bill_total_before_tax(bills[ps.PO_OK]) == Decimal("1798.00")
    row = outcomes[ps.PO_OK]
    assert (row["autotask_total"], row["qbo_total"]) == ("1798.00", "1798.00")  # both before tax
    assert "QBO added 359.60 of tax: the bill's total is 2157.60" in row["reason"]


def test_tax03_a_purchase_tax_code_qbo_does_not_have_stops_the_run_before_any_write(sandbox, ledger):
    ps.uk_vat_qbo(sandbox)
    run = make_run("r1", **{**ps.UK_SETTINGS, "purchase_tax_code": "17.5% S"})
    autotask, qbo = hooks_for(ledger)
    extract_purchase_orders(run, autotask, ledger)
    with pytest.raises(AtqboConfigError) as raised:
        load_purchase_orders(run, qbo, ledger)
    message = str(raised.value)
    assert "QBO has no active tax code named '17.5% S' (purchase_tax_code)" in message
    assert "20.0% S (20%), 5.0% R (5%), 0.0% Z (0%), Exempt (0%), No VAT" in message  # QBO's codes
    assert "Fix: set purchase_tax_code in the atqbo_settings Variable" in message
    assert ps.writes(sandbox, "qbo") == [] and ps.bills(sandbox) == {}
    assert ledger.list_sync_records(entity="purchase_order") == []


def test_tax03_a_dry_run_says_the_bill_is_before_tax_at_the_purchase_code(sandbox, ledger):
    ps.uk_vat_qbo(sandbox)
    outcomes = run_sync(make_run("r1", dry_run=True, **ps.UK_SETTINGS), ledger)
    assert outcomes[ps.PO_OK]["reason"] == (
        "would create a QBO bill for Ingram Micro (1798.00 before tax, at tax code '20.0% S', 1 line(s))"
    )
    assert ps.writes(sandbox, "qbo") == []
