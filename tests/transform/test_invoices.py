"""Tests of ``atqbo.transform.invoices``: every INV rule on small hand-made records, the whole demo
seed planned end to end, and the demo's invoices created in the sandbox's QBO over real HTTP."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from atqbo.exceptions import AtqboError
from atqbo.settings import Settings
from atqbo.transform.invoices import (
    GENERIC_ITEM_NAME,
    TAX_ITEM_NAME,
    AutotaskInvoiceData,
    InvoicePlan,
    QboCompany,
    QboRefs,
    build_invoice_payload,
    class_names_needed,
    compare_totals,
    customer_payload,
    item_key_for_billing_code,
    item_keys_needed,
    item_payload,
    negative_invoice_message,
    payload_hash,
    plan_invoices,
    qbo_company_from_preferences,
)
from atqbo.transform.values import MAX_DISPLAY_NAME, MAX_LINE_DESCRIPTION, qbo_name

TODAY = date(2024, 6, 15)
COMPANY_ID = 29683501
INVOICE_ID = 29684001

SEED_NEGATIVE_TEXT = (
    "The invoice total is negative. Negative invoices cannot be sent to QuickBooks Online. The invoice number "
    "for the Autotaskinvoice id X and account X, was set to 'ERROR' in Autotask. return code 1."
)

CODES: dict[int, dict[str, Any]] = {
    10: {
        "id": 10,
        "name": "Remote Support",
        "externalNumber": "SUP-REM",
        "description": "Remote Support (labor)",
        "unitPrice": 125.0,
    },
    11: {"id": 11, "name": "Travel", "externalNumber": None, "description": "Travel (expense)", "unitPrice": 75.0},
    12: {
        "id": 12,
        "name": "Hardware - Workstation",
        "externalNumber": "HW-WS",
        "description": "Hardware - Workstation (hardware)",
        "unitPrice": 1199.0,
    },
}
LOBS = {1: "Managed Services:Helpdesk", 2: "Professional Services:Projects", 3: "Professional Services:Hardware"}
TERMS = {1: "Net 30 Days", 2: "Net 15 Days"}
AST_OFF_LINE = QboCompany(tax_regime="none", class_tracking="line", custom_fields={}, custom_txn_numbers=True)


def make_settings(**overrides: Any) -> Settings:
    return Settings.from_dict(overrides)


def make_company(**fields: Any) -> dict[str, Any]:
    company = {
        "id": COMPANY_ID,
        "companyName": "Contoso Dental",
        "address1": "12 Main St",
        "address2": "Suite 200",
        "city": "Columbus",
        "state": "OH",
        "postalCode": "43004",
        "phone": "614-555-1100",
        "isTaxExempt": False,
        "userDefinedFields": [{"name": "Invoice Email", "value": "billing@contoso.example"}],
    }
    company.update(fields)
    return company


def make_item(item_id: int, code: int | None = 10, quantity: float = 2.0, rate: float = 125.0, **fields: Any):
    extended = round(quantity * rate, 2)
    item = {
        "id": item_id,
        "invoiceID": INVOICE_ID,
        "companyID": COMPANY_ID,
        "billingCodeID": code,
        "organizationalLevelAssociationID": 1,
        "itemName": f"Line {item_id}",
        "description": f"Work on line {item_id}",
        "lineItemFullDescription": f"Work on line {item_id}",
        "itemDate": "2024-05-20T14:00:00Z",
        "quantity": quantity,
        "rate": rate,
        "extendedPrice": extended,
        "totalAmount": extended,
        "taxDollars": 0.0,
        "purchaseOrderNumber": None,
    }
    item.update(fields)
    return item


def make_invoice(items: list[dict[str, Any]], tax: float = 0.0, **fields: Any) -> dict[str, Any]:
    subtotal = sum(Decimal(str(i["extendedPrice"])) for i in items)
    invoice = {
        "id": INVOICE_ID,
        "companyID": COMPANY_ID,
        "invoiceNumber": "INV-1001",
        "invoiceDateTime": "2024-05-31T00:00:00Z",
        "dueDate": "2024-06-30T00:00:00Z",
        "fromDate": "2024-05-01T00:00:00Z",
        "toDate": "2024-05-30T00:00:00Z",
        "paymentTerm": 1,
        "invoiceTotal": float(subtotal + Decimal(str(tax))),
        "totalTaxValue": tax,
        "taxRegionName": "OH Sales Tax" if tax else None,
        "orderNumber": None,
        "comments": "Thank you for your business.",
        "isVoided": False,
        "webServiceDate": None,
    }
    invoice.update(fields)
    return invoice


def make_data(invoices: list[dict[str, Any]], items: list[dict[str, Any]], **parts: Any) -> AutotaskInvoiceData:
    return AutotaskInvoiceData(
        invoices=invoices,
        billing_items=items,
        companies=parts.get("companies", {COMPANY_ID: make_company()}),
        billing_codes=parts.get("billing_codes", CODES),
        payment_terms=parts.get("payment_terms", TERMS),
        lines_of_business=parts.get("lines_of_business", LOBS),
        tax_categories=parts.get("tax_categories", {}),
        tax_regions=parts.get("tax_regions", {}),
        currencies=parts.get("currencies", {}),
        internal_currency=parts.get("internal_currency"),
    )


def plan_one(
    items: list[dict[str, Any]] | None = None,
    settings: Settings | None = None,
    invoice: dict[str, Any] | None = None,
    **parts: Any,
) -> InvoicePlan:
    items = (
        [make_item(1), make_item(2, code=11, quantity=1.0, rate=75.0, organizationalLevelAssociationID=2)]
        if items is None
        else items
    )
    invoice = make_invoice(items) if invoice is None else invoice
    plans = plan_invoices(make_data([invoice], items, **parts), settings or make_settings(), TODAY)
    assert len(plans) == 1
    return plans[0]


def refs_for(plan: InvoicePlan, company: QboCompany = AST_OFF_LINE, settings: Settings | None = None, **fields: Any):
    """QBO ids for every name the plan needs (as the load step would find or create them)."""
    items = {key: str(100 + n) for n, key in enumerate(item_keys_needed(plan, company))}
    names = class_names_needed(plan, company, settings or make_settings())
    classes = {name: str(5000 + n) for n, name in enumerate(names)}
    options: dict[str, Any] = {"customer_id": "58", "items": items, "term_id": "3", "classes": classes}
    options.update(fields)
    return QboRefs(**options)


def build(plan: InvoicePlan, company: QboCompany = AST_OFF_LINE, settings: Settings | None = None, **refs: Any):
    settings = settings or make_settings()
    return build_invoice_payload(plan, refs_for(plan, company, settings, **refs), company, settings)


def sales_lines(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [line for line in payload["Line"] if line["DetailType"] == "SalesItemLineDetail"]


# -- INV-04 numbering ----------------------------------------------------------------------------


def test_inv04_qbo_numbering_omits_doc_number_and_asks_qbo_for_the_next_number():
    plan = plan_one(settings=make_settings(invoice_numbering="qbo"))
    assert plan.doc_number is None
    payload, _ = build(plan, replace(AST_OFF_LINE, custom_txn_numbers=True))
    assert "DocNumber" not in payload
    # with custom transaction numbers on, QBO leaves an invoice without DocNumber unnumbered otherwise
    assert payload["AutoDocNumber"] is True


def test_inv04_qbo_numbering_without_custom_numbers_sends_neither_number_nor_flag():
    payload, _ = build(plan_one(), replace(AST_OFF_LINE, custom_txn_numbers=False))
    assert "DocNumber" not in payload and "AutoDocNumber" not in payload


def test_inv04_autotask_number_becomes_doc_number():
    settings = make_settings(invoice_numbering="autotask_number")
    plan = plan_one(settings=settings)
    assert plan.decision == "send" and plan.doc_number == "INV-1001"
    payload, _ = build(plan, settings=settings)
    assert payload["DocNumber"] == "INV-1001" and "AutoDocNumber" not in payload


@pytest.mark.parametrize("number", [None, "", "   "])
def test_inv04_autotask_number_missing_is_an_error_naming_the_invoice(number):
    items = [make_item(1)]
    plan = plan_one(
        items, make_settings(invoice_numbering="autotask_number"), make_invoice(items, invoiceNumber=number)
    )
    assert plan.decision == "error"
    assert str(INVOICE_ID) in plan.reason and "Contoso Dental" in plan.reason and "no number" in plan.reason
    assert "invoice_numbering" in plan.fix


def test_inv04_autotask_number_over_21_characters_is_an_error_saying_so():
    items = [make_item(1)]
    long_number = "INV-2024-05-CONTOSO-0001"  # 24 characters
    invoice = make_invoice(items, invoiceNumber=long_number)
    plan = plan_one(items, make_settings(invoice_numbering="autotask_number"), invoice)
    assert plan.decision == "error"
    assert long_number in plan.reason and "24 characters" in plan.reason and "21" in plan.reason


def test_inv04_autotask_number_of_exactly_21_characters_is_sent():
    items = [make_item(1)]
    number = "X" * 21
    plan = plan_one(
        items, make_settings(invoice_numbering="autotask_number"), make_invoice(items, invoiceNumber=number)
    )
    assert plan.decision == "send" and plan.doc_number == number


def test_inv04_autotask_id_becomes_doc_number():
    plan = plan_one(settings=make_settings(invoice_numbering="autotask_id"))
    assert plan.doc_number == str(INVOICE_ID)
    assert build(plan)[0]["DocNumber"] == str(INVOICE_ID)


# -- INV-05 customers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("autotask_name", "qbo"),
    [
        ("O'Brien & Sons: Plumbing", "O'Brien & Sons- Plumbing"),
        ("Tab\tName", "Tab Name"),
        ("New\nLine\r\nCo", "New Line Co"),
        ("  Spaced    Out   LLC  ", "Spaced Out LLC"),
        ("Margie's Travel", "Margie's Travel"),
        ("a:b:c", "a-b-c"),
    ],
)
def test_inv05_customer_display_name_is_made_legal_for_qbo(autotask_name, qbo):
    plan = plan_one(companies={COMPANY_ID: make_company(companyName=autotask_name)})
    assert plan.decision == "send"
    assert plan.customer_name == qbo
    assert plan.company_name == autotask_name  # Autotask's own name is kept for messages


def test_inv05_customer_display_name_is_cut_to_100_characters():
    long_name = "Humongous Insurance " + "Holdings " * 20
    plan = plan_one(companies={COMPANY_ID: make_company(companyName=long_name)})
    assert len(plan.customer_name) <= MAX_DISPLAY_NAME
    assert plan.customer_name == qbo_name(long_name, MAX_DISPLAY_NAME)
    assert long_name.startswith(plan.customer_name)


def test_inv05_customer_payload_carries_name_address_phone_email_and_autotask_id():
    company = make_company(companyName="O'Brien & Sons: Plumbing")
    payload = customer_payload(company, qbo_name(company["companyName"], MAX_DISPLAY_NAME), make_settings())
    assert payload == {
        "DisplayName": "O'Brien & Sons- Plumbing",
        "CompanyName": "O'Brien & Sons: Plumbing",
        "BillAddr": {
            "Line1": "12 Main St",
            "Line2": "Suite 200",
            "City": "Columbus",
            "CountrySubDivisionCode": "OH",
            "PostalCode": "43004",
        },
        "PrimaryPhone": {"FreeFormNumber": "614-555-1100"},
        "PrimaryEmailAddr": {"Address": "billing@contoso.example"},
        "Notes": f"Autotask company {COMPANY_ID}",
    }


def test_inv05_customer_payload_without_email_or_phone_leaves_them_out():
    company = make_company(phone=None, address2=None, userDefinedFields=[{"name": "Invoice Email", "value": None}])
    payload = customer_payload(company, "Contoso Dental", make_settings())
    assert "PrimaryEmailAddr" not in payload and "PrimaryPhone" not in payload
    assert "Line2" not in payload["BillAddr"]


def test_inv05_customer_payload_bills_to_the_bill_to_address_when_autotask_has_one():
    company = make_company(billingAddress1="PO Box 4410", billToCity="Dayton", billToState="OH", billToZipCode="45402")
    payload = customer_payload(company, "Contoso Dental", make_settings())
    assert payload["BillAddr"] == {
        "Line1": "PO Box 4410",
        "City": "Dayton",
        "CountrySubDivisionCode": "OH",
        "PostalCode": "45402",
    }
    assert payload["ShipAddr"]["Line1"] == "12 Main St"


def test_inv05_company_without_name_is_an_error():
    plan = plan_one(companies={COMPANY_ID: make_company(companyName="  ")})
    assert plan.decision == "error" and "has no name" in plan.reason


# -- INV-06 / INV-07 / INV-22 items ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("match_field", "code_id", "key"),
    [
        ("name", 10, "Remote Support"),
        ("external_number", 10, "SUP-REM"),
        ("external_number_or_name", 10, "SUP-REM"),
        ("external_number_or_name", 11, "Travel"),  # no external number: the name
        ("external_number", 11, ""),  # blank: no key
    ],
)
def test_inv06_item_key_follows_item_match_field(match_field, code_id, key):
    assert item_key_for_billing_code(CODES[code_id], make_settings(item_match_field=match_field)) == key


def test_inv06_item_keys_on_the_plan_lines_follow_item_match_field():
    plan = plan_one(settings=make_settings(item_match_field="external_number_or_name"))
    assert [(line.item_key, line.billing_code_id) for line in plan.lines if line.kind == "item"] == [
        ("SUP-REM", 10),
        ("Travel", 11),
    ]


def test_inv06_item_key_is_made_legal_and_cut_to_100_characters():
    code = {"id": 20, "name": "Labor:\tSenior  Engineer " + "x" * 150, "externalNumber": None}
    key = item_key_for_billing_code(code, make_settings())
    assert key.startswith("Labor- Senior Engineer x") and len(key) == 100 and ":" not in key


def test_inv06_blank_external_number_goes_to_the_generic_item_with_a_warning():
    plan = plan_one(settings=make_settings(item_match_field="external_number"))
    travel = [line for line in plan.lines if line.kind == "item"][1]
    assert plan.decision == "send"
    assert travel.item_key == GENERIC_ITEM_NAME and travel.billing_code_id is None
    assert any("Travel" in w and GENERIC_ITEM_NAME in w for w in plan.warnings)


def test_inv06_blank_external_number_is_an_error_when_missing_items_fail():
    plan = plan_one(settings=make_settings(item_match_field="external_number", missing_item_action="error"))
    assert plan.decision == "error"
    assert "'Travel'" in plan.reason and "External Number" in plan.reason
    assert "External Number" in plan.fix


def test_inv07_item_payload_is_a_service_item_from_the_billing_code():
    payload = item_payload("SUP-REM", CODES[10], "1", make_settings())
    assert payload == {
        "Name": "SUP-REM",
        "Type": "Service",
        "IncomeAccountRef": {"value": "1"},
        "Description": "Remote Support (labor)",
        "UnitPrice": 125,
        "Sku": "SUP-REM",
    }


def test_inv07_item_payload_cuts_a_long_description_and_omits_a_missing_sku():
    code = {**CODES[11], "description": "d" * 5000}
    payload = item_payload("Travel", code, "1", make_settings())
    assert len(payload["Description"]) == 4000 and payload["Description"].endswith("...")
    assert "Sku" not in payload and payload["UnitPrice"] == 75


def test_inv07_item_payload_for_generic_and_tax_items_has_no_billing_code_fields():
    generic = item_payload(GENERIC_ITEM_NAME, None, "1", make_settings())
    tax = item_payload(TAX_ITEM_NAME, None, "1", make_settings())
    assert generic["Name"] == GENERIC_ITEM_NAME and tax["Name"] == TAX_ITEM_NAME
    for payload in (generic, tax):
        assert payload["Type"] == "Service" and payload["IncomeAccountRef"] == {"value": "1"}
        assert "Sku" not in payload and "UnitPrice" not in payload


def test_inv22_long_line_description_is_cut_to_4000_characters_with_an_ellipsis():
    text = "Project notes: " + "migrated mailboxes and verified DNS. " * 150
    assert len(text) > MAX_LINE_DESCRIPTION
    plan = plan_one([make_item(1, lineItemFullDescription=text, description=text)])
    line = next(line for line in plan.lines if line.kind == "item")
    assert len(line.description) <= MAX_LINE_DESCRIPTION and line.description.endswith("...")
    assert text.startswith(line.description[:-3])
    assert any("cut to QBO's 4000" in w for w in plan.warnings)
    payload, _ = build(plan)
    assert all(len(line.get("Description", "")) <= MAX_LINE_DESCRIPTION for line in payload["Line"])


def test_inv22_description_of_exactly_4000_characters_is_kept_whole():
    text = "y" * MAX_LINE_DESCRIPTION
    plan = plan_one([make_item(1, lineItemFullDescription=text)])
    assert next(line for line in plan.lines if line.kind == "item").description == text
    assert plan.warnings == ()


def test_inv22_billing_item_without_billing_code_uses_the_generic_item():
    plan = plan_one([make_item(1, code=None)])
    line = next(line for line in plan.lines if line.kind == "item")
    assert line.item_key == GENERIC_ITEM_NAME and line.billing_code_id is None


def test_inv22_generic_item_is_the_configured_default_item_when_set():
    plan = plan_one([make_item(1, code=None)], make_settings(default_item_name="Misc: Services"))
    assert next(line for line in plan.lines if line.kind == "item").item_key == "Misc- Services"


# -- INV-08 terms --------------------------------------------------------------------------------


def test_inv08_term_name_is_the_autotask_payment_term_label():
    plan = plan_one()
    assert plan.term_name == "Net 30 Days"
    payload, _ = build(plan, term_id="3")
    assert payload["SalesTermRef"] == {"value": "3"}


def test_inv08_unknown_payment_term_gives_no_term_and_a_warning():
    items = [make_item(1)]
    plan = plan_one(items, invoice=make_invoice(items, paymentTerm=99))
    assert plan.decision == "send" and plan.term_name is None
    assert any("payment term 99" in w and "without terms" in w for w in plan.warnings)


def test_inv08_no_term_in_qbo_means_no_sales_term_ref():
    payload, _ = build(plan_one(), term_id=None)
    assert "SalesTermRef" not in payload


# -- INV-09 classes ------------------------------------------------------------------------------

CLASS_MAP = {"Managed Services:Helpdesk": "Managed", "Professional Services:Projects": "Projects"}


def test_inv09_lines_take_the_class_of_their_line_of_business():
    plan = plan_one(settings=make_settings(lob_class_map=CLASS_MAP))
    assert [line.class_name for line in plan.lines if line.kind == "item"] == ["Managed", "Projects"]


def test_inv09_transaction_class_is_the_one_class_when_lines_agree():
    items = [make_item(1), make_item(2)]
    plan = plan_one(items, make_settings(lob_class_map=CLASS_MAP, default_class="Other"))
    assert plan.class_name == "Managed"


def test_inv09_transaction_class_is_the_largest_amount_when_lines_differ_with_a_warning():
    settings = make_settings(lob_class_map=CLASS_MAP)
    items = [make_item(1, quantity=1, rate=100), make_item(2, quantity=3, rate=100, organizationalLevelAssociationID=2)]
    plan = plan_one(items, settings)
    assert plan.class_name == "Projects"
    company = replace(AST_OFF_LINE, class_tracking="transaction")
    payload, warnings = build(plan, company, settings, classes={"Projects": "5001", "Managed": "5002"})
    assert payload["ClassRef"] == {"value": "5001"}
    assert all("ClassRef" not in line["SalesItemLineDetail"] for line in sales_lines(payload))
    assert any("Managed 100.00" in w and "Projects 300.00" in w for w in warnings)


def test_inv09_transaction_class_is_the_default_class_when_no_line_is_mapped():
    plan = plan_one(settings=make_settings(default_class="General"))
    assert plan.class_name == "General"


def test_inv09_line_tracking_puts_a_class_on_every_sales_line():
    settings = make_settings(lob_class_map={"Managed Services:Helpdesk": "Managed"}, default_class="General")
    items = [make_item(1), make_item(2, organizationalLevelAssociationID=3)]
    plan = plan_one(items, settings, make_invoice(items, tax=10.0))
    refs = {"classes": {"Managed": "5001", "General": "5002"}}
    payload, warnings = build(plan, AST_OFF_LINE, settings, **refs)
    assert "ClassRef" not in payload
    # mapped line: its class; unmapped line and the tax line: the default class
    assert [line["SalesItemLineDetail"]["ClassRef"]["value"] for line in sales_lines(payload)] == [
        "5001",
        "5002",
        "5002",
    ]
    assert warnings == ()


def test_inv09_line_tracking_leaves_an_unmapped_line_unclassified_without_a_default_class():
    settings = make_settings(lob_class_map={"Managed Services:Helpdesk": "Managed"})
    items = [make_item(1), make_item(2, organizationalLevelAssociationID=3)]
    plan = plan_one(items, settings)
    payload, _ = build(plan, AST_OFF_LINE, settings, classes={"Managed": "5001"})
    assert [line["SalesItemLineDetail"].get("ClassRef") for line in sales_lines(payload)] == [{"value": "5001"}, None]


def test_inv09_no_class_tracking_sends_no_class_and_warns():
    settings = make_settings(default_class="General")
    company = replace(AST_OFF_LINE, class_tracking="none")
    payload, warnings = build(plan_one(settings=settings), company, settings)
    assert "ClassRef" not in json.dumps(payload)
    assert any("class tracking is off" in w and "General" in w for w in warnings)


def test_inv09_class_missing_in_qbo_is_left_out_with_a_warning():
    settings = make_settings(default_class="General")
    company = replace(AST_OFF_LINE, class_tracking="transaction")
    payload, warnings = build(plan_one(settings=settings), company, settings, classes={})
    assert "ClassRef" not in payload
    assert any("no class named 'General'" in w for w in warnings)


# -- INV-10 PO number ----------------------------------------------------------------------------

PO_COMPANY = replace(AST_OFF_LINE, custom_fields={"PO Number": "1", "Crew #": "2"})


def test_inv10_po_number_is_the_invoice_order_number_first():
    items = [make_item(1, purchaseOrderNumber="PO-ITEM")]
    assert plan_one(items, invoice=make_invoice(items, orderNumber="PO-7781")).po_number == "PO-7781"


def test_inv10_po_number_falls_back_to_the_first_item_po_number():
    items = [
        make_item(1, purchaseOrderNumber="  "),
        make_item(2, purchaseOrderNumber="PO-2"),
        make_item(3, purchaseOrderNumber="PO-3"),
    ]
    assert plan_one(items).po_number == "PO-2"


def test_inv10_po_number_goes_to_the_enabled_custom_field():
    settings = make_settings(po_number_custom_field="PO Number")
    items = [make_item(1)]
    plan = plan_one(items, settings, make_invoice(items, orderNumber="PO-7781"))
    payload, warnings = build(plan, PO_COMPANY, settings)
    assert payload["CustomField"] == [
        {"DefinitionId": "1", "Name": "PO Number", "Type": "StringType", "StringValue": "PO-7781"}
    ]
    assert warnings == ()


def test_inv10_custom_field_not_enabled_in_qbo_gives_a_clear_warning():
    settings = make_settings(po_number_custom_field="Purchase Order")
    items = [make_item(1)]
    plan = plan_one(items, settings, make_invoice(items, orderNumber="PO-7781"))
    payload, warnings = build(plan, PO_COMPANY, settings)
    assert "CustomField" not in payload
    assert any(
        "custom field 'Purchase Order' is not enabled in QBO (Settings > Sales > Custom fields)" in w for w in warnings
    )


def test_inv10_po_number_longer_than_31_characters_is_cut_with_a_warning():
    settings = make_settings(po_number_custom_field="PO Number")
    po = "PO-" + "1234567890" * 4
    items = [make_item(1)]
    payload, warnings = build(plan_one(items, settings, make_invoice(items, orderNumber=po)), PO_COMPANY, settings)
    assert payload["CustomField"][0]["StringValue"] == po[:31]
    assert any("31" in w for w in warnings)


def test_inv10_no_custom_field_configured_sends_none():
    items = [make_item(1)]
    payload, warnings = build(plan_one(items, invoice=make_invoice(items, orderNumber="PO-1")), PO_COMPANY)
    assert "CustomField" not in payload and warnings == ()


# -- INV-11 billing period -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("MM/DD/YYYY", "Billing period: 05/01/2024 - 05/30/2024"),
        ("DD/MM/YYYY", "Billing period: 01/05/2024 - 30/05/2024"),
        ("YYYY-MM-DD", "Billing period: 2024-05-01 - 2024-05-30"),
    ],
)
def test_inv11_billing_period_is_the_first_line_in_the_date_format(fmt, text):
    settings = make_settings(date_format=fmt)
    payload, _ = build(plan_one(settings=settings), settings=settings)
    assert payload["Line"][0] == {
        "LineNum": 1,
        "Description": text,
        "DetailType": "DescriptionOnly",
        "DescriptionLineDetail": {},
    }


@pytest.mark.parametrize("missing", ["fromDate", "toDate"])
def test_inv11_no_billing_period_line_without_both_dates(missing):
    items = [make_item(1)]
    plan = plan_one(items, invoice=make_invoice(items, **{missing: None}))
    assert [line.kind for line in plan.lines] == ["item"]


# -- INV-12 customer message ---------------------------------------------------------------------


def test_inv12_customer_memo_is_the_invoice_comments():
    payload, _ = build(plan_one())
    assert payload["CustomerMemo"] == {"value": "Thank you for your business."}


def test_inv12_empty_customer_message_setting_sends_no_memo():
    settings = make_settings(empty_customer_message=True)
    plan = plan_one(settings=settings)
    assert plan.customer_memo is None and "CustomerMemo" not in build(plan, settings=settings)[0]


def test_inv12_long_comments_are_cut_to_1000_characters():
    items = [make_item(1)]
    plan = plan_one(items, invoice=make_invoice(items, comments="c" * 1500))
    assert len(plan.customer_memo) == 1000 and plan.customer_memo.endswith("...")


# -- INV-13 totals -------------------------------------------------------------------------------


def created_invoice(total: str, tax: str = "0") -> dict[str, Any]:
    return {"Id": "1047", "DocNumber": "1047", "TotalAmt": float(total), "TxnTaxDetail": {"TotalTax": float(tax)}}


def test_inv13_equal_totals_are_ok():
    plan = plan_one()
    assert compare_totals(plan, created_invoice(str(plan.total)), AST_OFF_LINE, make_settings()) == ("ok", "")


def test_inv13_a_cent_off_is_a_warning_unless_suppressed():
    plan = plan_one()  # total 325.00
    status, message = compare_totals(plan, created_invoice("325.01"), AST_OFF_LINE, make_settings())
    assert status == "warning" and "325.01" in message and "325.00" in message and "+0.01" in message
    quiet = make_settings(suppress_rounding_warnings=True)
    assert compare_totals(plan, created_invoice("324.99"), AST_OFF_LINE, quiet) == ("ok", "")


def test_inv13_larger_difference_is_an_error_naming_invoice_totals_and_difference():
    plan = plan_one()
    status, message = compare_totals(
        plan, created_invoice("330.00"), AST_OFF_LINE, make_settings(suppress_rounding_warnings=True)
    )
    assert status == "error"
    for part in (str(INVOICE_ID), "INV-1001", "Contoso Dental", "QBO invoice 1047", "330.00", "325.00", "+5.00"):
        assert part in message


def test_inv13_tolerance_is_configurable():
    plan = plan_one()
    wide = make_settings(rounding_tolerance="0.05", suppress_rounding_warnings=True)
    assert compare_totals(plan, created_invoice("325.04"), AST_OFF_LINE, wide) == ("ok", "")
    assert compare_totals(plan, created_invoice("325.06"), AST_OFF_LINE, wide)[0] == "error"


def test_tax04_with_automated_sales_tax_totals_are_compared_with_tax():
    items = [make_item(1)]
    plan = plan_one(items, invoice=make_invoice(items, tax=18.13))  # Autotask: 250.00 + 18.13
    ast = replace(AST_OFF_LINE, tax_regime="automated")
    assert compare_totals(plan, created_invoice("268.13", tax="18.13"), ast, make_settings()) == ("ok", "")
    # QBO computed its own 17.50 of tax: the sales agree, the totals do not, and the report says why
    status, message = compare_totals(plan, created_invoice("267.50", tax="17.50"), ast, make_settings())
    assert status == "error"
    assert "QBO's total 267.50 (tax 17.50) differs from Autotask's 268.13 (tax 18.13) by -0.63" in message
    assert "QBO's automated sales tax computed the tax" in message and "tax_mode 'autotask'" in message
    status, message = compare_totals(plan, created_invoice("268.50", tax="17.50"), ast, make_settings())
    assert status == "error" and "compare the QBO invoice's lines" in message


# -- INV-14 zero invoices ------------------------------------------------------------------------


def test_inv14_zero_invoice_is_sent_by_default():
    items = [make_item(1, quantity=0)]
    plan = plan_one(items)
    assert plan.total == 0 and plan.decision == "send"


def test_inv14_zero_invoice_is_skipped_with_the_reason_when_set():
    items = [make_item(1, quantity=0)]
    plan = plan_one(items, make_settings(skip_zero_invoices=True))
    assert plan.decision == "skip" and "skip_zero_invoices" in plan.reason and str(INVOICE_ID) in plan.reason


# -- INV-15 blended rate ---------------------------------------------------------------------------


def test_inv15_without_blended_rate_lines_use_autotask_rate_and_quantity():
    items = [make_item(1, quantity=1.25, rate=125.0)]  # 156.25
    plan = plan_one(items)
    line = next(line for line in plan.lines if line.kind == "item")
    assert (line.quantity, line.unit_price, line.amount) == (Decimal("1.25"), Decimal("125.0"), Decimal("156.25"))
    detail = sales_lines(build(plan)[0])[0]
    assert detail["Amount"] == 156.25
    assert detail["SalesItemLineDetail"]["Qty"] == 1.25 and detail["SalesItemLineDetail"]["UnitPrice"] == 125


def test_inv15_amount_rounds_half_up_to_the_cent():
    items = [make_item(1, quantity=0.5, rate=10.01)]  # 5.005 -> 5.01
    assert next(line for line in plan_one(items).lines if line.kind == "item").amount == Decimal("5.01")


def test_inv15_blended_rate_uses_the_billed_amount_and_derives_the_unit_price():
    # pre-paid block hours: 3 hours at 125 billed as 300 after the block discount
    items = [make_item(1, quantity=3, rate=125.0, extendedPrice=300.0, totalAmount=300.0)]
    plan = plan_one(items, make_settings(blended_rate=True), make_invoice(items))
    line = next(line for line in plan.lines if line.kind == "item")
    assert line.amount == Decimal("300.00") and line.quantity == 3 and line.unit_price == Decimal("100.00000")
    items = [make_item(1, quantity=3, rate=125.0, extendedPrice=100.0, totalAmount=100.0)]
    line = next(line for line in plan_one(items, make_settings(blended_rate=True)).lines if line.kind == "item")
    assert line.unit_price == Decimal("33.33333")  # five decimals; 3 x 33.33333 rounds to 100.00
    assert (line.quantity * line.unit_price).quantize(Decimal("0.01")) == line.amount


def test_inv15_blended_rate_makes_the_qbo_total_match_autotask():
    items = [
        make_item(1, quantity=7, rate=125.0, extendedPrice=555.55, totalAmount=555.55),
        make_item(2, quantity=3, rate=99.0, extendedPrice=250.0, totalAmount=250.0),
    ]
    invoice = make_invoice(items)  # total 805.55, where rate x quantity would give 1172.00
    on = plan_one(items, make_settings(blended_rate=True), invoice)
    assert sum(line.amount for line in on.lines) == on.total == Decimal("805.55")
    assert on.warnings == () and on.decision == "send"


def test_line01_non_billable_and_contract_covered_items_are_never_charged():
    """Without blended_rate, a non-billable item and one a block-hour contract covers are sent at
    what Autotask bills (0 and 150.00), not at rate x quantity (300.00 and 450.00)."""
    items = [
        make_item(1, quantity=2, rate=125.0),  # billed in full: rate x quantity
        make_item(2, quantity=2, rate=150.0, nonBillable=True, extendedPrice=0.0, totalAmount=0.0),
        make_item(3, quantity=3, rate=150.0, contractID=601, extendedPrice=150.0, totalAmount=150.0),
        make_item(4, quantity=1, rate=99.0, contractID=602),  # a contract that does not reduce it
    ]
    plan = plan_one(items, make_settings(), make_invoice(items))
    assert plan.decision == "send"
    sold = {line.billing_item_id: line for line in plan.lines if line.kind == "item"}
    assert (sold[1].quantity, sold[1].unit_price, sold[1].amount) == (Decimal(2), Decimal("125"), Decimal("250.00"))
    assert (sold[2].quantity, sold[2].unit_price, sold[2].amount) == (Decimal(2), Decimal("0"), Decimal("0.00"))
    assert (sold[3].quantity, sold[3].unit_price, sold[3].amount) == (
        Decimal(3),
        Decimal("50.00000"),
        Decimal("150.00"),
    )
    assert (sold[4].quantity, sold[4].unit_price, sold[4].amount) == (Decimal(1), Decimal("99"), Decimal("99.00"))
    assert sum(line.amount for line in plan.lines) == plan.total == Decimal("499.00")


def test_line02_covered_work_charged_at_rate_times_quantity_is_not_sent():
    """Autotask bills less than rate x quantity (covered work): without blended_rate the QBO total
    would be 1172.00 for an invoice of 805.55, so the plan refuses it before any write, line by line."""
    items = [
        make_item(1, quantity=7, rate=125.0, extendedPrice=555.55, totalAmount=555.55),
        make_item(2, quantity=3, rate=99.0, extendedPrice=250.0, totalAmount=250.0),
    ]
    plan = plan_one(items, make_settings(), make_invoice(items))
    assert plan.decision == "error" and plan.lines == ()
    assert "QBO's lines would add up to 1172.00 before tax but Autotask's invoice is 805.55 before tax" in plan.reason
    assert "(total 805.55, tax 0.00; difference +366.45)" in plan.reason
    assert "billing item 1 is sent as 7 x 125.0 = 875.00, Autotask bills 555.55" in plan.reason
    assert "billing item 2 is sent as 3 x 99.0 = 297.00, Autotask bills 250.00" in plan.reason
    assert "turn on blended_rate" in plan.fix


def test_line02_lines_the_api_user_cannot_see_stop_the_invoice():
    """Autotask's invoice total holds a line the API user may not read (another line of business):
    the lines atqbo sees add up to less, so the invoice is not sent, with the access fix."""
    seen = [make_item(1, quantity=2, rate=100.0, extendedPrice=200.0, totalAmount=200.0)]
    hidden = make_item(2, quantity=1, rate=50.0, extendedPrice=50.0, totalAmount=50.0)
    plan = plan_one(seen, make_settings(), make_invoice([*seen, hidden]))
    assert plan.decision == "error"
    assert "QBO's lines would add up to 200.00 before tax but Autotask's invoice is 250.00 before tax" in plan.reason
    assert "the 1 billing item(s) atqbo can read add up to 200.00" in plan.reason
    assert "access to every line of business" in plan.fix


def test_line02_a_cent_of_rounding_within_the_tolerance_is_sent():
    items = [make_item(1, quantity=3, rate=33.33, extendedPrice=100.0, totalAmount=100.0)]
    plan = plan_one(items, make_settings(), make_invoice(items))  # 3 x 33.33 = 99.99 for 100.00
    assert plan.decision == "send" and sum(line.amount for line in plan.lines) == Decimal("99.99")
    assert plan_one(items, make_settings(rounding_tolerance=0), make_invoice(items)).decision == "error"


def test_inv15_blended_rate_without_extended_price_uses_total_amount_less_tax():
    items = [make_item(1, quantity=2, rate=100.0, extendedPrice=None, totalAmount=214.5, taxDollars=14.5)]
    invoice = make_invoice([make_item(1, quantity=2, rate=100.0)], tax=14.5)
    plan = plan_one(items, make_settings(blended_rate=True), invoice)
    assert next(line for line in plan.lines if line.kind == "item").amount == Decimal("200.00")


def test_inv15_blended_rate_with_zero_quantity_bills_one_unit():
    items = [make_item(1, quantity=0, rate=125.0, extendedPrice=80.0, totalAmount=80.0)]
    line = next(line for line in plan_one(items, make_settings(blended_rate=True)).lines if line.kind == "item")
    assert (line.quantity, line.unit_price, line.amount) == (Decimal(1), Decimal("80.00"), Decimal("80.00"))


def test_inv15_blended_rate_with_a_huge_quantity_falls_back_to_one_unit_with_a_warning():
    # 1/3 at five decimals times 100,000 misses 33,333.33 by far more than a cent
    items = [make_item(1, quantity=300000, rate=0.11111, extendedPrice=33333.33, totalAmount=33333.33)]
    plan = plan_one(items, make_settings(blended_rate=True))
    line = next(line for line in plan.lines if line.kind == "item")
    assert (line.quantity, line.amount) == (Decimal(1), Decimal("33333.33"))
    assert any("quantity 1" in w for w in plan.warnings)


# -- INV-16 online payments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "only_default", "has_default", "ach", "expect_card"),
    [
        (False, False, False, False, False),
        (True, False, False, False, True),
        (True, True, False, True, False),
        (True, True, True, True, True),
        (False, False, True, True, False),
    ],
)
def test_inv16_online_payment_flags(card, only_default, has_default, ach, expect_card):
    settings = make_settings(allow_credit_card=card, credit_card_only_with_default_method=only_default, allow_ach=ach)
    payload, _ = build(plan_one(settings=settings), settings=settings, customer_has_default_payment_method=has_default)
    assert payload["AllowOnlineCreditCardPayment"] is expect_card
    assert payload["AllowOnlineACHPayment"] is ach


# -- INV-17 emailing -----------------------------------------------------------------------------


def test_inv17_email_invoices_asks_qbo_to_send_to_the_known_address():
    settings = make_settings(email_invoices=True)
    payload, warnings = build(plan_one(settings=settings), settings=settings)
    assert payload["EmailStatus"] == "NeedToSend"
    assert payload["BillEmail"] == {"Address": "billing@contoso.example"}
    assert warnings == ()


def test_inv17_the_qbo_customer_email_wins_over_autotask():
    settings = make_settings(email_invoices=True)
    payload, _ = build(plan_one(settings=settings), settings=settings, customer_email="ap@contoso.example")
    assert payload["BillEmail"] == {"Address": "ap@contoso.example"}


def test_inv17_no_email_known_means_not_set_and_a_warning():
    settings = make_settings(email_invoices=True)
    company = make_company(userDefinedFields=[])
    payload, warnings = build(plan_one(settings=settings, companies={COMPANY_ID: company}), settings=settings)
    assert payload["EmailStatus"] == "NotSet" and "BillEmail" not in payload
    assert any("has no email address" in w for w in warnings)


def test_inv17_without_the_setting_the_invoice_is_not_emailed():
    payload, warnings = build(plan_one())
    assert payload["EmailStatus"] == "NotSet" and warnings == ()


def test_inv17_several_addresses_in_the_invoice_email_field_use_the_first():
    company = make_company(userDefinedFields=[{"name": "Invoice Email", "value": "a@x.example; b@x.example"}])
    plan = plan_one(companies={COMPANY_ID: company})
    assert plan.bill_email == "a@x.example" and any("several addresses" in w for w in plan.warnings)


# -- INV-18 sales tax ----------------------------------------------------------------------------

AST = QboCompany(tax_regime="automated", class_tracking="none", custom_txn_numbers=True)


def test_inv18_without_ast_autotask_tax_is_one_extra_line():
    items = [make_item(1, code=12, quantity=1, rate=1199.0)]
    plan = plan_one(items, invoice=make_invoice(items, tax=86.93))
    payload, _ = build(plan)
    tax_line = sales_lines(payload)[-1]
    assert tax_line["Amount"] == 86.93 and tax_line["Description"] == "Sales tax (OH Sales Tax)"
    assert tax_line["SalesItemLineDetail"]["ItemRef"]["name"] == TAX_ITEM_NAME
    assert sum(Decimal(str(line["Amount"])) for line in sales_lines(payload)) == plan.total == Decimal("1285.93")
    assert "TxnTaxDetail" not in payload and "ShipAddr" not in payload
    assert TAX_ITEM_NAME in item_keys_needed(plan, AST_OFF_LINE)


def test_inv18_with_ast_no_tax_is_sent_and_the_company_address_is_the_shipping_address():
    items = [make_item(1, code=12, quantity=1, rate=1199.0)]
    plan = plan_one(items, invoice=make_invoice(items, tax=86.93))
    payload, warnings = build(plan, AST)
    assert all(line["SalesItemLineDetail"]["ItemRef"]["name"] != TAX_ITEM_NAME for line in sales_lines(payload))
    assert "TxnTaxDetail" not in payload
    assert payload["ShipAddr"] == {
        "Line1": "12 Main St",
        "Line2": "Suite 200",
        "City": "Columbus",
        "CountrySubDivisionCode": "OH",
        "PostalCode": "43004",
    }
    assert TAX_ITEM_NAME not in item_keys_needed(plan, AST)
    assert warnings == ()


def test_inv18_with_ast_and_bill_to_setting_the_bill_to_address_is_the_shipping_address():
    settings = make_settings(ast_shipping_address="bill_to")
    company = make_company(billingAddress1="PO Box 4410", billToCity="Dayton", billToState="OH", billToZipCode="45402")
    plan = plan_one(settings=settings, companies={COMPANY_ID: company})
    payload, _ = build(plan, AST, settings)
    assert payload["ShipAddr"] == {
        "Line1": "PO Box 4410",
        "City": "Dayton",
        "CountrySubDivisionCode": "OH",
        "PostalCode": "45402",
    }


def test_inv18_blank_bill_to_address_falls_back_to_the_company_address_with_a_warning():
    settings = make_settings(ast_shipping_address="bill_to")
    plan = plan_one(settings=settings)
    assert plan.ship_address["Line1"] == "12 Main St"
    assert any("no bill-to address" in w for w in plan.warnings)


def test_inv18_ast_needs_a_us_company():
    prefs = {"TaxPrefs": {"PartnerTaxEnabled": True}}
    assert qbo_company_from_preferences(prefs, make_settings(qbo_edition="US")).automated_sales_tax is True
    non_us = make_settings(qbo_edition="non-US", sales_tax_code="20.0% S")
    assert qbo_company_from_preferences(prefs, non_us).automated_sales_tax is False
    plan = plan_one(settings=non_us)
    assert plan.ship_address is None


# -- INV-19 negative invoices --------------------------------------------------------------------


def test_inv19_seed_message_is_reproduced_verbatim_in_invoice_number_mode():
    assert negative_invoice_message("X", "X", "invoiceNumber") == SEED_NEGATIVE_TEXT


def test_inv19_negative_invoice_is_an_error_with_the_seed_message_and_the_fix():
    settings = make_settings(invoice_marker_field="invoiceNumber")
    items = [make_item(1, quantity=-2)]
    plan = plan_one(items, settings)
    assert plan.decision == "error" and plan.total == Decimal("-250.00")
    assert plan.reason == SEED_NEGATIVE_TEXT.replace("id X", f"id {INVOICE_ID}").replace(
        "account X", "account Contoso Dental"
    )
    assert plan.fix == "credit the invoice in Autotask (or void it) instead of sending a negative invoice"


def test_inv19_web_service_date_mode_does_not_claim_an_error_marker():
    items = [make_item(1, quantity=-2)]
    plan = plan_one(items, make_settings(invoice_marker_field="webServiceDate"))
    assert plan.decision == "error"
    assert "'ERROR'" not in plan.reason
    assert plan.reason.startswith(
        "The invoice total is negative. Negative invoices cannot be sent to QuickBooks Online."
    )
    assert str(INVOICE_ID) in plan.reason and "Contoso Dental" in plan.reason and plan.reason.endswith("return code 1.")


def test_inv19_negative_lines_on_a_positive_invoice_are_sent():
    items = [make_item(1, quantity=4), make_item(2, quantity=-1)]
    plan = plan_one(items)
    assert plan.decision == "send" and plan.total == Decimal("375.00")


# -- ERR-01, voids, missing records --------------------------------------------------------------


def test_err01_invoice_before_earliest_sync_date_is_skipped_as_books_closed():
    plan = plan_one(settings=make_settings(earliest_sync_date="2024-06-01"))
    assert plan.decision == "skip"
    assert "2024-05-31" in plan.reason and "2024-06-01" in plan.reason and "books closed" in plan.reason


def test_err01_invoice_on_the_earliest_sync_date_is_sent():
    assert plan_one(settings=make_settings(earliest_sync_date="2024-05-31")).decision == "send"


def test_voided_invoice_is_skipped():
    items = [make_item(1)]
    plan = plan_one(items, invoice=make_invoice(items, isVoided=True))
    assert plan.decision == "skip" and "voided in Autotask" in plan.reason


def test_billing_item_with_unknown_billing_code_is_an_error_naming_it():
    plan = plan_one([make_item(7, code=999)])
    assert plan.decision == "error"
    assert "billing item 7" in plan.reason and "billing code 999" in plan.reason and str(INVOICE_ID) in plan.reason
    assert "999" in plan.fix


def test_invoice_of_unknown_company_is_an_error_naming_it():
    plan = plan_one(companies={})
    assert plan.decision == "error"
    assert f"company id {COMPANY_ID}" in plan.reason and str(INVOICE_ID) in plan.reason and plan.fix


def test_invoice_without_billing_items_is_an_error():
    plan = plan_one([], invoice=make_invoice([], invoiceTotal=100.0))
    assert plan.decision == "error" and "no billing items" in plan.reason


# -- private note, hash, dates and references ------------------------------------------------------


def test_private_note_names_the_autotask_invoice_and_its_number():
    plan = plan_one()
    assert plan.private_note == f"Autotask invoice {INVOICE_ID} (INV-1001) - sent by atqbo"
    items = [make_item(1)]
    unnumbered = plan_one(items, invoice=make_invoice(items, invoiceNumber=None))
    assert unnumbered.private_note == f"Autotask invoice {INVOICE_ID} - sent by atqbo"
    assert build(plan)[0]["PrivateNote"] == plan.private_note


def test_payload_hash_is_stable_across_runs_and_record_orders():
    items = [make_item(1), make_item(2, code=11, quantity=1.0, rate=75.0)]
    invoice = make_invoice(items)
    first = plan_one(items, invoice=invoice)
    shuffled_items = [dict(reversed(list(i.items()))) for i in reversed(items)]
    shuffled_invoice = dict(reversed(list(invoice.items())))
    second = plan_one(shuffled_items, invoice=shuffled_invoice)
    assert first.payload_hash == second.payload_hash
    assert len(first.payload_hash) == 64 and int(first.payload_hash, 16) >= 0


def test_payload_hash_changes_with_what_is_sent_but_not_with_warnings():
    items = [make_item(1)]
    base = plan_one(items)
    changed = plan_one([make_item(1, quantity=3)])
    assert base.payload_hash != changed.payload_hash
    items = [make_item(1)]
    other_comment = plan_one(items, invoice=make_invoice(items, comments="Paid by card"))
    assert other_comment.payload_hash != base.payload_hash
    assert payload_hash(replace(base, warnings=("something else",))) == base.payload_hash


def test_payload_dates_customer_and_numbered_lines():
    plan = plan_one()
    assert plan.txn_date == date(2024, 5, 31) and plan.due_date == date(2024, 6, 30)
    payload, _ = build(plan, customer_id="58")
    assert payload["TxnDate"] == "2024-05-31" and payload["DueDate"] == "2024-06-30"
    assert payload["CustomerRef"] == {"value": "58"}
    assert [line["LineNum"] for line in payload["Line"]] == [1, 2, 3]
    first = sales_lines(payload)[0]
    assert first["Description"] == "Work on line 1"
    assert first["SalesItemLineDetail"]["ServiceDate"] == "2024-05-20"
    assert first["SalesItemLineDetail"]["ItemRef"] == {"value": "100", "name": "Remote Support"}
    json.dumps(payload)  # plain JSON: no Decimals or dates left in it


def test_plans_keep_the_order_of_the_invoices():
    items_a = [make_item(1)]
    items_b = [make_item(2, invoiceID=INVOICE_ID + 1)]
    invoices = [make_invoice(items_b, id=INVOICE_ID + 1), make_invoice(items_a)]
    plans = plan_invoices(make_data(invoices, items_a + items_b), make_settings(), TODAY)
    assert [p.autotask_id for p in plans] == [INVOICE_ID + 1, INVOICE_ID]
    assert [line.billing_item_id for line in plans[0].lines if line.kind == "item"] == [2]


def test_build_refuses_a_plan_not_to_send_and_an_unresolved_item():
    skipped = plan_one(settings=make_settings(earliest_sync_date="2025-01-01"))
    with pytest.raises(AtqboError, match="only 'send' plans"):
        build_invoice_payload(skipped, QboRefs(customer_id="1", items={}), AST_OFF_LINE, make_settings())
    plan = plan_one()
    with pytest.raises(AtqboError, match="no QBO item id for 'Remote Support'"):
        build_invoice_payload(plan, QboRefs(customer_id="1", items={}), AST_OFF_LINE, make_settings())


# -- QBO preferences -----------------------------------------------------------------------------


def test_qbo_company_from_the_sandbox_default_preferences():
    from sandbox.qbo import default_preferences

    company = qbo_company_from_preferences(default_preferences(), make_settings())
    assert company == QboCompany(tax_regime="none", class_tracking="line", custom_fields={}, custom_txn_numbers=True)


def test_qbo_company_reads_enabled_custom_fields_tracking_ast_and_numbering():
    from sandbox.qbo import custom_field_prefs, default_preferences

    prefs = default_preferences()
    prefs["SalesFormsPrefs"]["CustomField"] = custom_field_prefs(
        {1: "PO Number", 2: "Crew #", 3: "Site"}, enabled=[1, 3]
    )
    prefs["SalesFormsPrefs"]["CustomTxnNumbers"] = False
    prefs["AccountingInfoPrefs"].update(ClassTrackingPerTxn=True, ClassTrackingPerTxnLine=False)
    prefs["TaxPrefs"]["PartnerTaxEnabled"] = True
    company = qbo_company_from_preferences({"Preferences": prefs}, make_settings())
    assert company.custom_fields == {"PO Number": "1", "Site": "3"}
    assert company.class_tracking == "transaction"
    assert company.automated_sales_tax is True
    assert company.custom_txn_numbers is False
    prefs["AccountingInfoPrefs"].update(ClassTrackingPerTxn=False)
    assert qbo_company_from_preferences(prefs, make_settings()).class_tracking == "none"


# -- the demo seed, end to end -------------------------------------------------------------------

DEMO_CLASS_MAP = {
    "Managed Services:Monitoring": "Managed",
    "Managed Services:Helpdesk": "Managed",
    "Managed Services:Security": "Managed",
    "Professional Services:Projects": "Projects",
    "Professional Services:Hardware": "Hardware Resale",
}


def demo_invoice_data(autotask: dict[str, Any]) -> AutotaskInvoiceData:
    """The extract step's output for the demo seed's Autotask part."""
    level1 = {r["id"]: r["name"] for r in autotask["OrganizationalLevel1s"]}
    level2 = {r["id"]: r["name"] for r in autotask["OrganizationalLevel2s"]}
    return AutotaskInvoiceData(
        invoices=autotask["Invoices"],
        billing_items=autotask["BillingItems"],
        companies={c["id"]: c for c in autotask["Companies"]},
        billing_codes={c["id"]: c for c in autotask["BillingCodes"]},
        payment_terms={t["id"]: t["name"] for t in autotask["PaymentTerms"]},
        lines_of_business={
            a["id"]: f"{level1[a['organizationalLevel1ID']]}:{level2[a['organizationalLevel2ID']]}"
            for a in autotask["OrganizationalLevelAssociations"]
        },
    )


@pytest.fixture(scope="module")
def demo_seed() -> dict[str, Any]:
    from sandbox.seeds import load_seed

    return load_seed("demo", TODAY)


def test_bey05_a_plan_as_a_dict_is_what_asdict_makes_of_it(demo_seed):
    """The staged plan and the payload hash come from ``plan_as_dict``, the fast copy of ``asdict``."""
    from dataclasses import asdict

    from atqbo.transform.invoices.model import plan_as_dict

    settings = make_settings(blended_rate=True, lob_class_map=DEMO_CLASS_MAP, default_class="Managed")
    plans = plan_invoices(demo_invoice_data(demo_seed["autotask"]), settings, TODAY)
    assert plans and any(p.lines for p in plans) and any(p.decision != "send" for p in plans)
    for plan in plans:
        assert plan_as_dict(plan) == asdict(plan)
        assert json.dumps(plan_as_dict(plan), default=str, sort_keys=True) == json.dumps(
            asdict(plan), default=str, sort_keys=True
        )


def test_inv15_every_demo_plan_is_coherent_and_adds_up_to_autotask(demo_seed):
    settings = make_settings(blended_rate=True, lob_class_map=DEMO_CLASS_MAP, default_class="Managed")
    data = demo_invoice_data(demo_seed["autotask"])
    plans = plan_invoices(data, settings, TODAY)
    assert [p.autotask_id for p in plans] == [i["id"] for i in data.invoices]
    by_id = {i["id"]: i for i in data.invoices}
    voided = [p for p in plans if by_id[p.autotask_id]["isVoided"]]
    assert voided and all(p.decision == "skip" and "voided" in p.reason for p in voided)
    to_send = [p for p in plans if p.decision == "send"]
    assert len(to_send) == len(plans) - len(voided)
    for plan in to_send:
        invoice = by_id[plan.autotask_id]
        items = [i for i in data.billing_items if i["invoiceID"] == plan.autotask_id]
        sold = [line for line in plan.lines if line.kind == "item"]
        assert len(sold) == len(items)
        # what QBO will total (item lines + Autotask's tax line) is Autotask's total to the cent
        assert abs(sum(line.amount for line in plan.lines) - Decimal(str(invoice["invoiceTotal"]))) <= Decimal("0.01")
        assert sum(line.amount for line in plan.lines if line.kind == "tax") == plan.tax
        for line in sold:
            assert (line.quantity * line.unit_price).quantize(Decimal("0.01")) == line.amount  # QBO's 6070 rule
            assert line.item_key and ":" not in line.item_key and len(line.description) <= MAX_LINE_DESCRIPTION
            assert line.class_name in {"Managed", "Projects", "Hardware Resale"}
        assert plan.lines[0].kind == "description" and plan.lines[0].description.startswith("Billing period: ")
        assert plan.customer_name and ":" not in plan.customer_name
        assert plan.term_name in {"Net 30 Days", "Net 15 Days", "Due on Receipt", "Net 45"}
        assert plan.private_note.startswith(f"Autotask invoice {plan.autotask_id} (")
        assert plan.txn_date and plan.due_date and plan.due_date >= plan.txn_date
        assert plan.po_number == invoice["orderNumber"]
        assert len(plan.payload_hash) == 64
    # the seed's special cases came through
    assert any(p.customer_name == "O'Brien & Sons- Plumbing" for p in to_send)
    assert any("cut to QBO's 4000" in w for p in to_send for w in p.warnings)
    assert len({p.payload_hash for p in to_send}) == len(to_send)
    # planning again gives the same hashes (a re-run recognises unchanged invoices)
    again = plan_invoices(demo_invoice_data(demo_seed["autotask"]), settings, TODAY)
    assert [p.payload_hash for p in again] == [p.payload_hash for p in plans]


# -- the demo's invoices created in the sandbox QBO (real HTTP) -------------------------------------


class QboNames:
    """The load step's look-ups, reduced to what this test needs: name -> Id, found once or created."""

    def __init__(self, hook: Any):
        self.hook = hook
        self.known: dict[tuple[str, str], str | None] = {}

    def id_of(self, entity: str, field: str, name: str, payload: dict[str, Any] | None = None) -> str | None:
        from atqbo.hooks.qbo import where_eq

        if (entity, name) not in self.known:
            found = self.hook.query(f"SELECT * FROM {entity} WHERE {where_eq(field, name)}")
            if found:
                self.known[entity, name] = found[0]["Id"]
            else:
                self.known[entity, name] = self.hook.create(entity, payload)["Id"] if payload else None
        return self.known[entity, name]


@pytest.mark.parametrize(
    "case",
    [
        {"settings": {"blended_rate": True, "po_number_custom_field": "PO Number"}, "ast": False},
        # TAX-05: under AST QBO takes Autotask's tax only as the override (tax_mode autotask)
        {
            "settings": {
                "invoice_numbering": "autotask_number",
                "ast_shipping_address": "bill_to",
                "tax_mode": "autotask",
            },
            "ast": True,
        },
    ],
    ids=["no-ast-blended", "ast-autotask-numbers"],
)
def test_inv13_demo_invoices_created_in_the_sandbox_match_autotask_totals(
    case, sandbox_connections, tmp_path, monkeypatch
):
    """The payloads as QBO (the sandbox) takes them: refs resolved, invoices created, totals checked."""
    import requests

    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from sandbox.seeds import load_seed

    server = sandbox_connections
    server.reset()  # a reset restores the initial refresh token: point the connection at it again
    monkeypatch.setenv("AIRFLOW_CONN_QBO_DEFAULT", json.dumps(server.connections()["qbo_default"]))
    seed = load_seed("demo", TODAY)
    if case["ast"]:
        seed["qbo"]["Preferences"]["TaxPrefs"] = {"PartnerTaxEnabled": True}
    server.seed(seed)
    # a few hundred calls per case: lift the per-minute limit rather than wait out the throttle
    requests.post(f"{server.base_url}/_sandbox/limits", json={"qbo": {"requests_per_minute": 100000}}, timeout=10)
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.create_schema()
    hook = QuickBooksOnlineHook(ledger=ledger, sleep=lambda s: None, backoff_base=0.01, backoff_max=0.05)
    try:
        settings = make_settings(lob_class_map=DEMO_CLASS_MAP, default_class="Managed", **case["settings"])
        company = qbo_company_from_preferences(hook.preferences(), settings)
        assert company.automated_sales_tax is case["ast"]
        assert company.custom_fields == {"PO Number": "1"}
        data = demo_invoice_data(seed["autotask"])
        # the demo's oldest invoices are already in QBO (webServiceDate set by a run before)
        unsynced = {i["id"] for i in data.invoices if not i["webServiceDate"]}
        plans = [p for p in plan_invoices(data, settings, TODAY) if p.decision == "send" and p.autotask_id in unsynced]
        assert len(plans) == len(unsynced)
        income = "1"  # sandbox.qbo.ACCOUNT_SERVICES_INCOME
        names = QboNames(hook)
        for plan in plans:
            new_customer = customer_payload(data.companies[plan.company_id], plan.customer_name, settings)
            items = {
                key: names.id_of("Item", "Name", key, item_payload(key, data.billing_codes.get(code), income, settings))
                for key, code in item_keys_needed(plan, company).items()
            }
            classes = {name: names.id_of("Class", "Name", name) for name in class_names_needed(plan, company, settings)}
            term = names.id_of("Term", "Name", plan.term_name) if plan.term_name else None
            refs = QboRefs(
                customer_id=names.id_of("Customer", "DisplayName", plan.customer_name, new_customer),
                items=items,
                term_id=term,
                classes={name: class_id for name, class_id in classes.items() if class_id},
            )
            payload, warnings = build_invoice_payload(plan, refs, company, settings)
            created = hook.create("Invoice", payload)
            status, message = compare_totals(plan, created, company, settings)
            assert status == "ok", message
            assert created["PrivateNote"] == plan.private_note
            assert created["DocNumber"] == (plan.doc_number or created["DocNumber"]) and created["DocNumber"]
            if plan.po_number and settings.po_number_custom_field:
                assert created["CustomField"][0]["StringValue"] == plan.po_number
            if case["ast"]:
                assert created["ShipAddr"]["Line1"] == (plan.ship_address or {}).get("Line1")
            if term is None and plan.term_name:
                assert plan.term_name == "Net 45"  # the one Autotask term the demo QBO lacks
    finally:
        ledger.close()
