"""A tenant's own picklist labels (the seed's ``picklists``), over real HTTP: entityInformation/fields
serves the seeded labels and ``isActive``, writes and seeds are checked against the tenant's
values, a reset brings the defaults back, the state round-trips, and a bad ``picklists`` key is
refused naming the key and the fix (nothing of the seed loaded)."""

from __future__ import annotations

import pytest

from sandbox.core import SeedError
from tests.sandbox.autotask_support import a_company, picklist, seed

# A tenant whose purchase order statuses read differently and which retired "Received Partial".
PO_STATUS = [
    {"value": 1, "label": "Draft"},
    {"value": 2, "label": "Sent to vendor", "isActive": True},
    {"value": 3, "label": "Partly received", "isActive": False},
    {"value": 4, "label": "Received"},
    {"value": 5, "label": "Cancelled"},
    {"value": 9, "label": "On hold"},
]
VENDOR = a_company(id=601, companyName="Ingram Micro", companyType=7)


def status_values(autotask) -> list[dict]:
    fields = autotask.call("GET", "PurchaseOrders/entityInformation/fields").json()["fields"]
    return next(f for f in fields if f["name"] == "status")["picklistValues"]


def test_the_tenants_labels_and_active_flags_are_served(autotask):
    seed(autotask.server, picklists={"purchaseOrderStatus": PO_STATUS})
    assert picklist(autotask, "PurchaseOrders", "status") == {
        "1": "Draft",
        "2": "Sent to vendor",
        "3": "Partly received",
        "4": "Received",
        "5": "Cancelled",
        "9": "On hold",
    }
    values = status_values(autotask)
    assert [(v["value"], v["isActive"]) for v in values] == [
        ("1", True),
        ("2", True),
        ("3", False),
        ("4", True),
        ("5", True),
        ("9", True),
    ]
    assert [v["sortOrder"] for v in values] == [1, 2, 3, 4, 5, 6] and values[0]["isDefaultValue"] is True
    # the other picklists keep their defaults
    assert picklist(autotask, "Companies", "companyType")["7"] == "Vendor"


def test_writes_take_the_tenants_values_inactive_ones_included(autotask):
    seed(autotask.server, picklists={"purchaseOrderStatus": PO_STATUS}, Companies=[VENDOR])
    po_id = autotask.create("PurchaseOrders", {"vendorID": 601, "status": 9})
    assert autotask.get("PurchaseOrders", po_id)["status"] == 9
    assert autotask.call("PATCH", "PurchaseOrders", json={"id": po_id, "status": 3}).json() == {"itemId": po_id}
    refused = autotask.call("PATCH", "PurchaseOrders", json={"id": po_id, "status": 6})
    assert refused.status_code == 500
    assert refused.json() == {"errors": ["Value 6 is not a valid picklist value for status"]}


def test_a_seeds_records_are_checked_against_the_picklist_it_brings(fresh_sandbox):
    seed(
        fresh_sandbox,
        picklists={"purchaseOrderStatus": PO_STATUS},
        Companies=[VENDOR],
        PurchaseOrders=[{"id": 1, "vendorID": 601, "status": 9}],
    )
    assert fresh_sandbox.state()["autotask"]["PurchaseOrders"][0]["status"] == 9
    with pytest.raises(SeedError, match=r"PurchaseOrders\[0\] \(id 2\): Value 7 is not a valid picklist value"):
        seed(fresh_sandbox, PurchaseOrders=[{"id": 2, "vendorID": 601, "status": 7}])


def test_a_picklist_must_keep_the_values_stored_records_hold(fresh_sandbox):
    seed(fresh_sandbox, Companies=[VENDOR], PurchaseOrders=[{"id": 1, "vendorID": 601, "status": 3}])
    without_3 = [v for v in PO_STATUS if v["value"] != 3]
    before = fresh_sandbox.state()
    with pytest.raises(SeedError) as refused:
        seed(fresh_sandbox, picklists={"purchaseOrderStatus": without_3})
    assert str(refused.value) == (
        "autotask seed: picklists.purchaseOrderStatus lacks value 3, which PurchaseOrders 1 holds in status; "
        'keep the value ("isActive": false retires it) or change the record'
    )
    assert fresh_sandbox.state() == before
    # the same seed may change that record as it goes
    seed(
        fresh_sandbox,
        picklists={"purchaseOrderStatus": without_3},
        PurchaseOrders=[{"id": 1, "vendorID": 601, "status": 4}],
    )
    assert fresh_sandbox.state()["autotask"]["PurchaseOrders"][0]["status"] == 4


def test_picklists_merge_by_name_round_trip_and_reset_to_the_defaults(fresh_sandbox, autotask_client):
    assert fresh_sandbox.state()["autotask"]["picklists"] == {}
    seed(fresh_sandbox, picklists={"purchaseOrderStatus": PO_STATUS})
    kinds = [{"value": 1, "label": "Client"}, {"value": 7, "label": "Supplier"}, {"value": 8, "label": "Us"}]
    seed(fresh_sandbox, picklists={"companyType": kinds})
    state = fresh_sandbox.state()["autotask"]
    assert set(state["picklists"]) == {"purchaseOrderStatus", "companyType"}
    assert state["picklists"]["purchaseOrderStatus"][0] == {"value": 1, "label": "Draft", "isActive": True}
    fresh_sandbox.reset()
    assert picklist(autotask_client(fresh_sandbox), "PurchaseOrders", "status")["2"] == "Submitted"
    fresh_sandbox.seed({"autotask": state})
    assert fresh_sandbox.state()["autotask"] == state
    assert picklist(autotask_client(fresh_sandbox), "Companies", "companyType") == {
        "1": "Client",
        "7": "Supplier",
        "8": "Us",
    }


@pytest.mark.parametrize(
    "picklists, expected",
    [
        (
            [{"value": 1, "label": "New"}],
            "'picklists' must be an object of picklist name -> [{value, label, isActive}]",
        ),
        (
            {"poStatus": [{"value": 1, "label": "New"}]},
            "picklists.poStatus is not a picklist the sandbox serves; use one of ['billToAddressToUse',",
        ),
        (
            {"paymentTerm": [{"value": 1, "label": "Net 30"}]},
            "picklists.paymentTerm is not a picklist the sandbox serves (paymentTerm lists the PaymentTerms records",
        ),
        ({"purchaseOrderStatus": []}, "picklists.purchaseOrderStatus must be a non-empty list of {value, label"),
        ({"purchaseOrderStatus": [{"value": 1}]}, "picklists.purchaseOrderStatus[0] must have value and label"),
        (
            {"purchaseOrderStatus": [{"value": 1, "label": "New", "sortOrder": 1}]},
            "picklists.purchaseOrderStatus[0] must have value and label (isActive optional)",
        ),
        ({"purchaseOrderStatus": [{"value": "1", "label": "New"}]}, "picklists.purchaseOrderStatus[0].value must be"),
        ({"purchaseOrderStatus": [{"value": 1, "label": " "}]}, "picklists.purchaseOrderStatus[0].label must be a non"),
        (
            {"purchaseOrderStatus": [{"value": 1, "label": "New", "isActive": "no"}]},
            "picklists.purchaseOrderStatus[0].isActive must be true or false",
        ),
        (
            {"purchaseOrderStatus": [{"value": 1, "label": "New"}, {"value": 1, "label": "Draft"}]},
            "picklists.purchaseOrderStatus[1]: value 1 appears twice in purchaseOrderStatus; list it once",
        ),
        (
            {"companyType": [{"value": 2, "label": "Lead"}]},
            "picklists.companyType lacks value 8, which Companies 0 holds in companyType",
        ),
    ],
)
def test_a_bad_picklists_key_is_refused_whole_naming_the_key(fresh_sandbox, picklists, expected):
    before = fresh_sandbox.state()
    with pytest.raises(SeedError) as refused:
        fresh_sandbox.seed({"autotask": {"Companies": [{"companyName": "Not loaded"}], "picklists": picklists}})
    assert expected in str(refused.value)
    assert fresh_sandbox.state() == before
