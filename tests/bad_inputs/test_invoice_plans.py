"""The bad-input corpus, invoice plans (issue 11, item 2): every Autotask invoice atqbo knows is
wrong is refused before anything is written, with the exact message naming the invoice and the
billing item and the fix; the invoice planned beside it is still sent (the rest of the run
continues). Text QBO cannot store is cleaned, and the warning says so. Planning does no I/O, so
nothing can be written here; tests/bad_inputs/test_dag_runs.py checks that through the sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from atqbo.transform.invoices import InvoicePlan, build_invoice_payload, plan_invoices
from tests.transform.test_invoices import (
    AST_OFF_LINE,
    COMPANY_ID,
    INVOICE_ID,
    TODAY,
    make_company,
    make_data,
    make_invoice,
    make_item,
    make_settings,
    refs_for,
)

LABEL = f"Autotask invoice {INVOICE_ID} (INV-1001) of Contoso Dental"
GOOD_ID = INVOICE_ID + 1
GOOD_COMPANY_ID = COMPANY_ID + 1
RETRY = "then clear the marker (or retry from the error log)"
ITEM_FIX = (
    "correct the {field} of billing item 1 in Autotask (void the invoice, unpost the item, fix it, post it and "
    "invoice it again), " + RETRY
)
TOTAL_FIX = (
    "check the invoice in Autotask (open it and save it again, or void it and invoice the items again), " + RETRY
)
DIGITS_FIX = "correct the invoice in Autotask (QBO amounts have at most 10 digits before the decimal point and 5 after)"


@dataclass(frozen=True)
class Case:
    """One bad invoice: its billing item 1 and invoice changed from a good 2 x 125.00 invoice."""

    name: str
    item: dict[str, Any] = field(default_factory=dict)  # changes to billing item 1
    invoice: dict[str, Any] = field(default_factory=dict)  # changes to the invoice (after its total)
    settings: dict[str, Any] = field(default_factory=dict)
    company: dict[str, Any] = field(default_factory=dict)
    no_items: bool = False
    reason: str = ""
    fix: str = ""


def _null(name: str) -> Case:
    return Case(
        f"{name}_null",
        item={name: None},
        reason=f"{LABEL}: billing item 1 has no {name} in Autotask (it is null), so what its line costs is not known; "
        "not sent",
        fix=ITEM_FIX.format(field=name),
    )


def _junk(name: str, value: Any, case: str) -> Case:
    return Case(
        f"{name}_{case}",
        item={name: value},
        reason=f"{LABEL}: billing item 1 has {name} {value!r}, which is not a number, so what its line costs is not "
        "known; not sent",
        fix=ITEM_FIX.format(field=name),
    )


REFUSED = [
    _null("rate"),
    _null("quantity"),
    Case(
        "rate_null_even_with_blended_rate",
        item={"rate": None},
        settings={"blended_rate": True},
        reason=_null("rate").reason,
        fix=_null("rate").fix,
    ),
    Case(
        "quantity_null_on_non_billable_work",
        item={"quantity": None, "nonBillable": True, "extendedPrice": 0.0, "totalAmount": 0.0},
        invoice={"invoiceTotal": 0.0},
        reason=_null("quantity").reason,
        fix=_null("quantity").fix,
    ),
    _junk("rate", "abc", "text"),
    _junk("quantity", "NaN", "nan"),
    _junk("rate", "Infinity", "infinity"),
    _junk("rate", True, "boolean"),
    _junk("quantity", "", "empty_text"),
    _junk("extendedPrice", "n/a", "text"),
    _junk("totalAmount", "abc", "text"),
    _junk("taxDollars", "-", "dash"),
    Case(
        "invoice_total_null",
        invoice={"invoiceTotal": None},
        reason=f"{LABEL}: Autotask gave the invoice no invoiceTotal (it is null), so its total cannot be checked; "
        "not sent",
        fix=TOTAL_FIX,
    ),
    Case(
        "invoice_total_text",
        invoice={"invoiceTotal": "250,00"},
        reason=f"{LABEL}: Autotask gave the invoice invoiceTotal '250,00', which is not a number, so its total "
        "cannot be checked; not sent",
        fix=TOTAL_FIX,
    ),
    Case(
        "tax_text",
        invoice={"totalTaxValue": "abc"},
        reason=f"{LABEL}: Autotask gave the invoice totalTaxValue 'abc', which is not a number, so its total "
        "cannot be checked; not sent",
        fix=TOTAL_FIX,
    ),
    Case(
        "negative_tax_on_a_positive_invoice",
        invoice={"invoiceTotal": 245.0, "totalTaxValue": -5.0},
        reason=f"{LABEL}: its tax is negative (-5.00) while its total is 245.00; QBO cannot carry a negative tax on "
        "an invoice, so it was not sent",
        fix="correct the tax of the invoice's items in Autotask (a refund of tax belongs on a credit), " + RETRY,
    ),
    Case(
        "total_past_qbo_digits",
        item={"quantity": 1, "rate": 10_000_000_000.0, "extendedPrice": 10_000_000_000.0},
        invoice={"invoiceTotal": 10_000_000_000.0},
        reason=f"{LABEL}: its total 10000000000.00 has more than the 10 digits before the decimal point QBO "
        "holds; not sent",
        fix=f"{DIGITS_FIX}, {RETRY}",
    ),
    Case(
        "quantity_past_qbo_digits",
        item={"quantity": 20_000_000_000, "rate": 0.00001, "extendedPrice": 200_000.0},
        invoice={"invoiceTotal": 200_000.0},
        reason=f"{LABEL}: the quantity of billing item 1 (20000000000) has more than the 10 digits before the "
        "decimal point QBO holds; not sent",
        fix=f"correct billing item 1 in Autotask; {RETRY}",
    ),
    Case(
        "quantity_with_six_decimals",
        item={"quantity": 1.123456, "rate": 100.0, "extendedPrice": 112.35},
        invoice={"invoiceTotal": 112.35},
        reason=f"{LABEL}: the quantity of billing item 1 (1.123456) has 6 decimals, more than the 5 QBO keeps; "
        "not sent",
        fix=f"correct billing item 1 in Autotask; {RETRY}",
    ),
    Case(
        "rate_with_six_decimals",
        item={"quantity": 1, "rate": 10.123456, "extendedPrice": 10.12},
        invoice={"invoiceTotal": 10.12},
        reason=f"{LABEL}: the unit price of billing item 1 (10.123456) has 6 decimals, more than the 5 QBO keeps; "
        "not sent",
        fix="correct billing item 1 in Autotask, or turn on blended_rate so the line is sent at the amount "
        f"Autotask bills for it; {RETRY}",
    ),
    Case(
        "quantity_with_six_decimals_under_blended_rate",
        item={"quantity": 2.000001, "rate": 125.0, "extendedPrice": 250.0},
        settings={"blended_rate": True},
        reason=f"{LABEL}: the quantity of billing item 1 (2.000001) has 6 decimals, more than the 5 QBO keeps; "
        "not sent",
        fix=f"correct billing item 1 in Autotask; {RETRY}",
    ),
    Case(
        "invoice_total_five_above_its_lines",
        invoice={"invoiceTotal": 255.0},
        reason=f"{LABEL}: QBO's lines would add up to 250.00 before tax but Autotask's invoice is 255.00 before tax "
        "(total 255.00, tax 0.00; difference -5.00), so it was not sent: the 1 billing item(s) atqbo can read add "
        "up to 250.00",
        fix="the billing items the atqbo API user can see do not add up to the invoice: give the API user access "
        "to every line of business (Autotask: Admin > Resources/Users > the API user > Security), or correct the "
        f"invoice in Autotask; {RETRY}",
    ),
    Case(
        "rate_missing_becomes_zero_line_of_a_fifty_invoice",
        item={"quantity": 1, "rate": 0, "extendedPrice": None, "totalAmount": 50.0},
        invoice={"invoiceTotal": 50.0},
        reason=f"{LABEL}: QBO's lines would add up to 0.00 before tax but Autotask's invoice is 50.00 before tax "
        "(total 50.00, tax 0.00; difference -50.00), so it was not sent: billing item 1 is sent as 1 x 0 = 0.00, "
        "Autotask bills 50.00",
        fix=f"turn on blended_rate in atqbo_settings so each line is sent at the amount Autotask bills for it, {RETRY}",
    ),
    Case(
        "negative_line_where_autotask_bills_a_positive_amount",
        item={"quantity": -2, "rate": 125.0, "extendedPrice": 250.0},
        invoice={"invoiceTotal": 250.0},
        reason=f"{LABEL}: QBO's lines would add up to -250.00 before tax but Autotask's invoice is 250.00 before "
        "tax (total 250.00, tax 0.00; difference -500.00), so it was not sent: billing item 1 is sent as -2 x "
        "125.0 = -250.00, Autotask bills 250.00",
        fix=f"turn on blended_rate in atqbo_settings so each line is sent at the amount Autotask bills for it, {RETRY}",
    ),
    Case(
        "dated_1900",
        invoice={"invoiceDateTime": "1900-01-01T00:00:00Z"},
        reason=f"{LABEL}: dated 1900-01-01, which cannot be its real date (atqbo sends invoices dated 1990-01-01 to "
        "2025-06-16); not sent",
        fix="correct the invoice date in Autotask (void the invoice and invoice its items again with the right "
        f"date), {RETRY}",
    ),
    Case(
        "dated_2999",
        invoice={"invoiceDateTime": "2999-05-31T00:00:00Z"},
        reason=f"{LABEL}: dated 2999-05-31, which cannot be its real date (atqbo sends invoices dated 1990-01-01 to "
        "2025-06-16); not sent",
        fix="correct the invoice date in Autotask (void the invoice and invoice its items again with the right "
        f"date), {RETRY}",
    ),
    Case(
        "invoice_number_with_a_control_character",
        invoice={"invoiceNumber": "INV-1001\x01"},
        settings={"invoice_numbering": "autotask_number"},
        reason=f"Autotask invoice {INVOICE_ID} (INV-1001\x01) of Contoso Dental: invoice number 'INV-1001\\x01' "
        "holds control characters QBO cannot store (\\x01), and atqbo will not send it under another number",
        fix="correct the invoice number in Autotask, or set invoice_numbering to 'qbo' or 'autotask_id'",
    ),
    # refusals built before issue 11, in the corpus so that their words stay as they are
    Case(
        "company_not_in_autotask",
        company={"id": 1},
        reason=f"Autotask invoice {INVOICE_ID} (INV-1001) of company {COMPANY_ID}: its company (Autotask company id "
        f"{COMPANY_ID}) was not found in Autotask",
        fix=f"check that company {COMPANY_ID} exists in Autotask and that the atqbo API user may read it",
    ),
    Case(
        "company_without_a_name",
        company={"companyName": "  "},
        reason=f"Autotask invoice {INVOICE_ID} (INV-1001) of   : Autotask company {COMPANY_ID} has no name, so no "
        "QBO customer can be matched",
        fix=f"give company {COMPANY_ID} a name in Autotask",
    ),
    Case(
        "no_billing_items",
        no_items=True,
        reason=f"{LABEL}: has no billing items in Autotask (total 250.00); nothing to put on a QBO invoice",
        fix="check the invoice's items in Autotask (a $0 invoice without items can be skipped with skip_zero_invoices)",
    ),
    Case(
        "unknown_billing_code",
        item={"billingCodeID": 99},
        reason=f"{LABEL}: billing item 1 references billing code 99, which was not found in Autotask",
        fix="check that billing code 99 exists in Autotask and that the atqbo API user may read it",
    ),
    Case(
        "billing_code_without_external_number_when_missing_items_are_errors",
        item={"billingCodeID": 11},
        settings={"missing_item_action": "error", "item_match_field": "external_number"},
        reason=f"{LABEL}: billing item 1 uses billing code 'Travel' (id 11), which has no External Number to match "
        "a QBO item (item_match_field is 'external_number')",
        fix="fill in the External Number of billing code 'Travel' (id 11) in Autotask, or set item_match_field to "
        "'external_number_or_name'",
    ),
    Case(
        "no_invoice_number_when_autotask_numbers",
        invoice={"invoiceNumber": None},
        settings={"invoice_numbering": "autotask_number"},
        reason=f"Autotask invoice {INVOICE_ID} of Contoso Dental: invoice_numbering is 'autotask_number' but "
        "Autotask gave the invoice no number",
        fix="turn on invoice numbering in Autotask (Admin > Invoice settings), or set invoice_numbering to 'qbo' "
        "or 'autotask_id'",
    ),
    Case(
        "invoice_number_longer_than_qbo_holds",
        invoice={"invoiceNumber": "INV-2024-05-CONTOSO-0001"},
        settings={"invoice_numbering": "autotask_number"},
        reason=f"Autotask invoice {INVOICE_ID} (INV-2024-05-CONTOSO-0001) of Contoso Dental: invoice number "
        "'INV-2024-05-CONTOSO-0001' has 24 characters; QBO allows at most 21 in DocNumber",
        fix="use shorter invoice numbers in Autotask, or set invoice_numbering to 'qbo' or 'autotask_id'",
    ),
    Case(
        "negative_invoice",
        item={"quantity": -2, "extendedPrice": -250.0},
        invoice={"invoiceTotal": -250.0},
        settings={"invoice_marker_field": "webServiceDate"},
        reason="The invoice total is negative. Negative invoices cannot be sent to QuickBooks Online. The Autotask "
        f"invoice id {INVOICE_ID} of account Contoso Dental was not sent; it is in the atqbo error log. return code 1.",
        fix="credit the invoice in Autotask (or void it) instead of sending a negative invoice",
    ),
]


def _plan_pair(case: Case) -> tuple[InvoicePlan, InvoicePlan]:
    """The bad invoice and a good one of another company, planned together."""
    bad_items = [] if case.no_items else [{**make_item(1), **case.item}]
    bad = make_invoice([make_item(1)], **case.invoice)
    good_items = [make_item(2, invoiceID=GOOD_ID, companyID=GOOD_COMPANY_ID)]
    good = make_invoice(good_items, id=GOOD_ID, invoiceNumber="INV-1002", companyID=GOOD_COMPANY_ID)
    companies = {GOOD_COMPANY_ID: make_company(id=GOOD_COMPANY_ID, companyName="Fabrikam Law")}
    company = make_company(**case.company)
    if company["id"] == COMPANY_ID:  # else the bad invoice's company is not in Autotask
        companies[COMPANY_ID] = company
    data = make_data([bad, good], [*bad_items, *good_items], companies=companies)
    bad_plan, good_plan = plan_invoices(data, make_settings(**case.settings), TODAY)
    return bad_plan, good_plan


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_line02_an_invoice_known_to_be_wrong_is_refused_with_its_reason_and_fix(case: Case):
    bad, good = _plan_pair(case)
    assert (bad.decision, bad.reason, bad.fix) == ("error", case.reason, case.fix)
    assert bad.lines == () and bad.payload_hash == ""  # nothing to build a document from
    assert good.decision == "send", good.reason  # the rest of the run continues


def test_line02_the_corpus_has_each_refusal_once():
    assert len({c.name for c in REFUSED}) == len(REFUSED)
    assert len({c.reason for c in REFUSED if c.name != "rate_null_even_with_blended_rate"}) == len(REFUSED) - 2


def test_line02_negative_lines_that_autotask_bills_on_a_positive_invoice_are_sent():
    """The counterpart of the refusals: a credit line Autotask bills (its sign agrees) is sent."""
    items = [make_item(1), make_item(2, quantity=-1, rate=50.0)]
    plan = plan_invoices(make_data([make_invoice(items)], items), make_settings(), TODAY)[0]
    assert plan.decision == "send"
    assert [line.amount for line in plan.lines if line.kind == "item"] == [Decimal("250.00"), Decimal("-50.00")]


# -- text QBO cannot store: cleaned, with a warning ----------------------------------------------


@dataclass(frozen=True)
class Cleaned:
    name: str
    item: dict[str, Any] = field(default_factory=dict)
    invoice: dict[str, Any] = field(default_factory=dict)
    company: dict[str, Any] = field(default_factory=dict)
    warning: str | None = None  # None: cleaned without a word (names and addresses, as INV-05 cleans names)
    sent: dict[str, Any] = field(default_factory=dict)  # payload path -> value QBO gets


CLEANED = [
    Cleaned(
        "vertical_tab_in_a_description",
        item={"lineItemFullDescription": "Backup\x0bcheck"},
        warning=f"{LABEL}: the description of billing item 1 holds control characters QBO cannot store (\\x0b); "
        "they were removed (correct the description in Autotask to silence this)",
        sent={"line_description": "Backupcheck"},
    ),
    Cleaned(
        "nul_and_unit_separator_in_a_description",
        item={"lineItemFullDescription": "Patch\x00ing\x1f done\tand\nchecked"},
        warning=f"{LABEL}: the description of billing item 1 holds control characters QBO cannot store (\\x00, "
        "\\x1f); they were removed (correct the description in Autotask to silence this)",
        sent={"line_description": "Patching done\tand\nchecked"},
    ),
    Cleaned(
        "bell_in_the_comments",
        invoice={"comments": "Thank you\x07 for your business."},
        warning=f"{LABEL}: the invoice comments hold control characters QBO cannot store (\\x07); they were removed "
        "from the customer message (correct the comments in Autotask to silence this)",
        sent={"CustomerMemo": {"value": "Thank you for your business."}},
    ),
    Cleaned(
        "escape_in_the_company_name",
        company={"companyName": "Contoso\x1b Dental"},
        sent={"customer_name": "Contoso Dental"},
    ),
    Cleaned(
        "form_feed_in_the_address",
        company={"address1": "12 Main St\x0c"},
        sent={"ship_line1": "12 Main St"},
    ),
    Cleaned(
        "delete_in_the_po_number",
        invoice={"orderNumber": "ORD-77\x7f"},
        sent={"po_number": "ORD-77"},
    ),
]


@pytest.mark.parametrize("case", CLEANED, ids=lambda c: c.name)
def test_bey12_control_characters_qbo_cannot_store_are_removed_and_said(case: Cleaned):
    items = [{**make_item(1), **case.item}]
    company = make_company(**case.company)
    plan = plan_invoices(
        make_data([make_invoice(items, **case.invoice)], items, companies={COMPANY_ID: company}), make_settings(), TODAY
    )[0]
    assert plan.decision == "send", plan.reason
    if case.warning is None:
        assert not any("control characters" in w for w in plan.warnings)
    else:
        assert case.warning in plan.warnings
    payload, _ = build_invoice_payload(plan, refs_for(plan), AST_OFF_LINE, make_settings())
    got = {
        "line_description": next(line["Description"] for line in payload["Line"] if "SalesItemLineDetail" in line),
        "CustomerMemo": payload.get("CustomerMemo"),
        "customer_name": plan.customer_name,
        "ship_line1": (plan.ship_address or {}).get("Line1"),
        "po_number": plan.po_number,
    }
    assert {key: got[key] for key in case.sent} == case.sent
    assert not any(chr(c) in str(payload) for c in (*range(0, 9), 11, 12, *range(14, 32), 127))
