"""Helpers for the Autotask emulator tests: the default credentials, a plain-``requests`` client
that discovers its zone the way a real client does, control-endpoint calls, and record builders
for seeds.
"""

from __future__ import annotations

from typing import Any

import requests

from sandbox.server import Sandbox

AT_USER = "atqbo-api@sandbox.local"
AT_SECRET = "sandbox-secret"
AT_CODE = "ATQBOSANDBOX"
AT_RESOURCE_ID = 29682885  # the API resource every reset leaves in place
ALL_IDS = {"op": "gte", "field": "id", "value": 0}


def seed(server: Sandbox, **part) -> None:
    server.seed({"autotask": part})


def control(server: Sandbox, method: str, what: str, doc=None) -> requests.Response:
    return requests.request(method, f"{server.base_url}/_sandbox/{what}", json=doc, timeout=10)


def companies(n: int, start: int = 0, **fields) -> list[dict]:
    return [
        {
            "companyName": f"Company {i:04d}",
            "companyType": 1,
            "phone": "555-0100",
            "ownerResourceID": AT_RESOURCE_ID,
            **fields,
        }
        for i in range(start, start + n)
    ]


def a_company(**fields) -> dict:
    return {**companies(1)[0], "companyName": "Contoso Dental", **fields}


def invoice_world(server: Sandbox) -> None:
    """One customer with one invoice and a line, and the lookups they reference."""
    seed(
        server,
        PaymentTerms=[{"id": 1, "name": "Net 30 Days", "paymentDueInDays": 30}, {"id": 2, "name": "Due on Receipt"}],
        BillingCodes=[
            {"id": 501, "name": "Remote Support", "externalNumber": "SUP-REM", "billingCodeType": 1, "useType": 1}
        ],
        OrganizationalLevel1s=[{"id": 1, "name": "Managed Services"}],
        OrganizationalLevel2s=[{"id": 1, "name": "Helpdesk"}],
        OrganizationalLevelAssociations=[{"id": 1, "organizationalLevel1ID": 1, "organizationalLevel2ID": 1}],
        Companies=[a_company(id=701)],
        Invoices=[
            {
                "id": 801,
                "companyID": 701,
                "invoiceNumber": "INV-1001",
                "invoiceTotal": 250.0,
                "invoiceDateTime": "2024-05-31T00:00:00Z",
                "paymentTerm": 1,
                "comments": "May",
            }
        ],
        BillingItems=[
            {
                "id": 901,
                "invoiceID": 801,
                "companyID": 701,
                "billingCodeID": 501,
                "quantity": 2,
                "rate": 125,
                "totalAmount": 250,
                "organizationalLevelAssociationID": 1,
            }
        ],
    )


class AutotaskClient:
    """Plain HTTP calls to the Autotask emulator: zoneInformation first, then the three headers."""

    def __init__(self, server: Sandbox, username: str = AT_USER, secret: str = AT_SECRET, code: str = AT_CODE):
        self.server = server
        self.headers = {"ApiIntegrationCode": code, "UserName": username, "Secret": secret}
        self.discover()

    def discover(self) -> str:
        zone = requests.get(
            f"{self.server.base_url}/atservicesrest/v1.0/zoneInformation",
            params={"user": self.headers["UserName"]},
            timeout=10,
        )
        zone.raise_for_status()
        self.url = zone.json()["url"] + "v1.0/"
        return self.url

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        headers = {**self.headers, **kwargs.pop("headers", {})}
        url = path if path.startswith("http") else self.url + path
        return requests.request(method, url, headers=headers, **kwargs)

    def query(self, entity: str, *filters: dict[str, Any], **extra: Any) -> dict[str, Any]:
        response = self.call("POST", f"{entity}/query", json={"filter": list(filters), **extra})
        assert response.status_code == 200, response.text
        return response.json()

    def ids(self, entity: str, *filters: dict[str, Any]) -> list[int]:
        return [item["id"] for item in self.query(entity, *filters)["items"]]

    def count(self, entity: str, *filters: dict[str, Any]) -> int:
        response = self.call("POST", f"{entity}/query/count", json={"filter": list(filters)})
        assert response.status_code == 200, response.text
        return response.json()["queryCount"]

    def get(self, entity: str, item_id: int) -> dict[str, Any] | None:
        response = self.call("GET", f"{entity}/{item_id}")
        assert response.status_code == 200, response.text
        return response.json()["item"]

    def create(self, entity: str, body: dict[str, Any]) -> int:
        response = self.call("POST", entity, json=body)
        assert response.status_code == 200, response.text
        return response.json()["itemId"]


def picklist(autotask: AutotaskClient, entity: str, field: str) -> dict[str, str] | None:
    """A field's picklist as entityInformation/fields serves it (value -> label), None if it has none."""
    fields = autotask.call("GET", f"{entity}/entityInformation/fields").json()["fields"]
    spec = next(f for f in fields if f["name"] == field)
    if not spec["isPickList"]:
        return None
    return {v["value"]: v["label"] for v in spec["picklistValues"]}
