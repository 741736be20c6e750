"""A plain-``requests`` client of the sandbox's QuickBooks Online emulator, for the QBO tests.

It does what any real client does: get an access token from the token endpoint with HTTP Basic
client auth and the refresh token, then call ``/v3/company/{realmId}/...`` with a Bearer token
and ``minorversion=75``. Nothing here reaches into the sandbox's objects.
"""

from __future__ import annotations

import base64
from typing import Any

import requests

from sandbox.qbo import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REALM_ID, DEFAULT_REFRESH_TOKEN

# The Detail of the 5010 a stale SyncToken gets.
FIXTURE_5010 = (
    "Stale Object Error : You and Jane Admin were working on this at the same time. "
    "Jane Admin finished before you did, so your work was not saved."
)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class QboClient:
    def __init__(
        self,
        base_url: str,
        realm_id: str = DEFAULT_REALM_ID,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        refresh_token: str = DEFAULT_REFRESH_TOKEN,
    ):
        self.base_url = base_url
        self.realm_id = realm_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.access_token: str | None = None

    # -- OAuth ---------------------------------------------------------------------------------

    def token_request(self, **form: str) -> requests.Response:
        return requests.post(
            self.base_url + "/oauth2/v1/tokens/bearer",
            data=form,
            headers={"Authorization": basic(self.client_id, self.client_secret), "Accept": "application/json"},
            timeout=10,
        )

    def refresh(self) -> dict[str, Any]:
        response = self.token_request(grant_type="refresh_token", refresh_token=self.refresh_token)
        assert response.status_code == 200, response.text
        body = response.json()
        self.access_token = body["access_token"]
        self.refresh_token = body["refresh_token"]
        return body

    # -- API -----------------------------------------------------------------------------------

    @property
    def company_url(self) -> str:
        return f"{self.base_url}/v3/company/{self.realm_id}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if self.access_token is None:
            self.refresh()
        headers = {"Authorization": f"Bearer {self.access_token}", "Accept": "application/json"}
        headers.update(kwargs.pop("headers", {}))
        params = {"minorversion": "75", **kwargs.pop("params", {})}
        kwargs.setdefault("timeout", 20)
        url = path if path.startswith("http") else f"{self.company_url}/{path.lstrip('/')}"
        return requests.request(method, url, headers=headers, params=params, **kwargs)

    def post(self, path: str, body: Any, **params: str) -> requests.Response:
        return self.call("POST", path, json=body, params=params)

    def create(self, entity: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        response = self.post(entity.lower(), body, **params)
        assert response.status_code == 200, response.text
        return response.json()[entity]

    def get(self, entity: str, record_id: str) -> dict[str, Any]:
        response = self.call("GET", f"{entity.lower()}/{record_id}")
        assert response.status_code == 200, response.text
        return response.json()[entity]

    def query(self, text: str, via: str = "GET") -> dict[str, Any]:
        response = self.query_response(text, via)
        assert response.status_code == 200, response.text
        return response.json()["QueryResponse"]

    def query_response(self, text: str, via: str = "GET") -> requests.Response:
        if via == "GET":
            return self.call("GET", "query", params={"query": text})
        return self.call("POST", "query", data=text.encode("utf-8"), headers={"Content-Type": "application/text"})

    # -- common records ------------------------------------------------------------------------

    def customer(self, name: str, **extra: Any) -> dict[str, Any]:
        return self.create("Customer", {"DisplayName": name, **extra})

    def service_item(self, name: str, price: float = 100.0, **extra: Any) -> dict[str, Any]:
        body = {"Name": name, "Type": "Service", "UnitPrice": price, "IncomeAccountRef": {"value": "1"}, **extra}
        return self.create("Item", body)

    def invoice_body(self, customer_id: str, item_id: str, *amounts: float, **extra: Any) -> dict[str, Any]:
        lines = [
            {
                "Amount": amount,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": item_id}, "Qty": 1, "UnitPrice": amount},
            }
            for amount in (amounts or (100.0,))
        ]
        return {"CustomerRef": {"value": customer_id}, "Line": lines, **extra}


def fault_of(response: requests.Response) -> dict[str, Any]:
    """The first Error of a QBO fault response (asserting it is one)."""
    assert response.status_code == 400, f"expected a 400 fault, got {response.status_code}: {response.text}"
    body = response.json()
    assert body["Fault"]["type"] == "ValidationFault", body
    error = body["Fault"]["Error"][0]
    assert isinstance(error["code"], str)
    return error


def set_preferences(qbo: QboClient, sections: dict[str, Any]) -> dict[str, Any]:
    """POST Preferences sections (sparse) with the current SyncToken; the Preferences after it."""
    current = qbo.call("GET", "preferences").json()["Preferences"]
    response = qbo.post("preferences", {"SyncToken": current["SyncToken"], "sparse": True, **sections})
    assert response.status_code == 200, response.text
    return response.json()["Preferences"]


def invoice_of(qbo: QboClient, books: dict[str, Any], *amounts: float, **extra: Any) -> dict[str, Any]:
    """An invoice for the ``books`` fixture's customer, one line of its service item per amount."""
    return qbo.create("Invoice", qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], *amounts, **extra))
