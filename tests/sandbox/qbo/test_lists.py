"""The rules of QBO's name lists and other lists, over real HTTP: DisplayName unique across
customers, vendors and employees, forbidden characters, name lengths, and items, accounts, terms
and classes."""

from __future__ import annotations

import pytest

from tests.sandbox.qbo_support import fault_of


def test_display_name_is_unique_across_customers_vendors_and_employees(qbo):
    qbo.customer("Tailspin Toys")
    for entity, body in (
        ("customer", {"DisplayName": "tailspin toys"}),
        ("vendor", {"DisplayName": "Tailspin Toys"}),
        ("employee", {"GivenName": "Tailspin", "FamilyName": "Toys"}),
    ):
        error = fault_of(qbo.post(entity, body))
        assert error["code"] == "6240" and error["Message"] == "Duplicate Name Exists Error"
        assert error["Detail"].startswith("The name supplied already exists.")
    employee = qbo.create("Employee", {"GivenName": "Jane", "FamilyName": "Admin"})
    assert employee["DisplayName"] == "Jane Admin"
    assert fault_of(qbo.post("vendor", {"DisplayName": "Jane Admin"}))["code"] == "6240"
    # renaming frees the old name
    qbo.create("Employee", {"Id": employee["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Jane A. Admin"})
    assert qbo.create("Vendor", {"DisplayName": "Jane Admin"})["DisplayName"] == "Jane Admin"


@pytest.mark.parametrize("name", ["O'Brien & Sons: Plumbing", "Tab\tName", "New\nLine"])
def test_display_name_cannot_hold_colon_tab_or_newline(qbo, name):
    error = fault_of(qbo.post("customer", {"DisplayName": name}))
    assert error["code"] == "2040" and error["element"] == "DisplayName"


@pytest.mark.parametrize(
    ("entity", "body", "element", "maximum"),
    [
        ("customer", {"DisplayName": "x" * 501}, "DisplayName", 500),
        ("item", {"Name": "x" * 101, "IncomeAccountRef": {"value": "1"}}, "Name", 100),
    ],
)
def test_name_lengths_are_limited(qbo, entity, body, element, maximum):
    error = fault_of(qbo.post(entity, body))
    assert error["code"] == "2050" and error["element"] == element
    assert f"Max:{maximum} supported. Supplied length:{maximum + 1}" in error["Detail"]


def test_items_accounts_terms_and_classes(qbo):
    assert fault_of(qbo.post("item", {"Name": "No Accounts", "Type": "Service"}))["code"] == "2020"
    inventory = {
        "Name": "Dell OptiPlex 7020",
        "Type": "Inventory",
        "IncomeAccountRef": {"value": "2"},
        "ExpenseAccountRef": {"value": "3"},
        "AssetAccountRef": {"value": "8"},
        "TrackQtyOnHand": True,
        "QtyOnHand": 4,
        "InvStartDate": "2025-01-01",
    }
    assert qbo.create("Item", inventory)["Type"] == "Inventory"
    assert fault_of(qbo.post("item", {**inventory, "Name": "Dell 2"} | {"AssetAccountRef": None}))["code"] == "2020"
    assert fault_of(qbo.post("item", {**inventory, "Name": "dell optiplex 7020"}))["code"] == "6240"
    account = qbo.create("Account", {"Name": "Hardware Sales", "AccountType": "Income"})
    assert account["Classification"] == "Revenue"
    assert fault_of(qbo.post("account", {"Name": "Bad", "AccountType": "Shoebox"}))["code"] == "2170"
    term = qbo.create("Term", {"Name": "Net 45", "DueDays": 45})
    assert term["Type"] == "STANDARD" and term["Active"] is True
    parent = qbo.create("Class", {"Name": "Managed"})
    child = qbo.create("Class", {"Name": "Security", "ParentRef": {"value": parent["Id"]}})
    assert child["FullyQualifiedName"] == "Managed:Security" and child["SubClass"] is True
