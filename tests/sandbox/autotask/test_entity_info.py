"""entityInformation over real HTTP: the fixed and live picklists, entity info and UDF definitions."""

from __future__ import annotations

from tests.sandbox.autotask_support import (
    a_company,
    invoice_world,
    picklist,
)


def test_fixed_and_live_picklists(autotask):
    invoice_world(autotask.server)
    assert picklist(autotask, "Companies", "companyType") == {
        "1": "Customer",
        "2": "Lead",
        "3": "Prospect",
        "4": "Dead",
        "6": "Cancellation",
        "7": "Vendor",
        "8": "Partner",
    }
    assert picklist(autotask, "PurchaseOrders", "status") == {
        "1": "New",
        "2": "Submitted",
        "3": "Received Partial",
        "4": "Received Full",
        "5": "Canceled",
    }
    assert picklist(autotask, "Invoices", "paymentTerm") == {"1": "Net 30 Days", "2": "Due on Receipt"}
    assert picklist(autotask, "PurchaseOrders", "paymentTerm") == {"1": "Net 30 Days", "2": "Due on Receipt"}
    assert picklist(autotask, "BillingItems", "billingItemType")["1"] == "Labor"
    assert picklist(autotask, "BillingCodes", "billingCodeType") and picklist(autotask, "BillingCodes", "useType")
    assert picklist(autotask, "PurchaseOrders", "vendorID") is None

    fields = {f["name"]: f for f in autotask.call("GET", "invoices/ENTITYINFORMATION/fields").json()["fields"]}
    assert {name for name, f in fields.items() if not f["isReadOnly"]} == {
        "comments",
        "paidDate",
        "webServiceDate",
        "invoiceNumber",
    }
    assert fields["companyID"]["isReference"] and fields["companyID"]["referenceEntityType"] == "Company"
    assert fields["dueDate"]["isQueryable"] is False and fields["invoiceTotal"]["dataType"] == "double"
    sample = fields["paymentTerm"]
    assert set(sample) == {
        "name",
        "dataType",
        "length",
        "isRequired",
        "isReadOnly",
        "isQueryable",
        "isReference",
        "referenceEntityType",
        "isPickList",
        "picklistValues",
        "picklistParentValueField",
        "isSupportedWebhookField",
    }
    assert set(sample["picklistValues"][0]) == {
        "value",
        "label",
        "isDefaultValue",
        "sortOrder",
        "parentValue",
        "isActive",
        "isSystem",
    }


def test_entity_information_and_udf_definitions(autotask):
    info = {
        name: autotask.call("GET", f"{name}/entityInformation").json()["info"]
        for name in ("Companies", "Invoices", "BillingCodes", "CompanyToDos")
    }
    assert (info["Companies"]["canCreate"], info["Companies"]["canUpdate"]) == (True, True)
    assert (info["Invoices"]["canCreate"], info["Invoices"]["canUpdate"]) == (False, True)
    assert (info["BillingCodes"]["canCreate"], info["BillingCodes"]["canUpdate"], info["BillingCodes"]["canQuery"]) == (
        False,
        False,
        True,
    )
    assert info["CompanyToDos"]["canDelete"] is True and info["Companies"]["name"] == "Company"
    autotask.create("Companies", a_company(userDefinedFields=[{"name": "Invoice Email", "value": None}]))
    udfs = autotask.call("GET", "Companies/entityInformation/userDefinedFields").json()["fields"]
    assert [u["name"] for u in udfs] == ["Invoice Email"]
