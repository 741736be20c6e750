"""The hand-written baseline: the invoice sync a careful person writes in an afternoon.

Sequential, one invoice at a time, with the public libraries: ``requests`` for Autotask REST and
``python-quickbooks`` (with Intuit's ``intuitlib`` for OAuth) for QBO, pointed at the sandbox the way
``tests/sandbox/test_qbo_thirdparty.py`` points them (only the base URLs change). It does what
atqbo's sync does for the benchmark's invoices (plain US invoices, no tax, one currency), and
no more (no ledger, no crash safety, no report):

1. find the Autotask zone, then page through the window's invoices (``nextPageUrl``, 500 a page),
   not voided and without a ``webServiceDate`` (the marker atqbo writes by default);
2. for each invoice, in turn: its company (``GET Companies/{id}``, cached), its QBO customer by
   name (a query, cached; created if missing), its billing items (one query per invoice), each
   line's billing code (``GET BillingCodes/{id}``, cached) and QBO item by name (a query, cached;
   created if missing), then the QBO invoice (lines with item, quantity, rate and amount, the
   Autotask id in ``PrivateNote`` like atqbo's), then ``PATCH Invoices`` with ``webServiceDate``.

So per invoice it costs two Autotask calls (its items and its marker) and one QBO call (its
invoice), plus two calls per new customer or item.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests


class Autotask:
    """A thin Autotask REST client, as in the vendor's examples."""

    def __init__(self, host: str, username: str, secret: str, integration_code: str):
        self.session = requests.Session()
        self.session.headers.update(
            {
                "ApiIntegrationCode": integration_code,
                "UserName": username,
                "Secret": secret,
                "Content-Type": "application/json",
            }
        )
        zone = self.session.get(f"{host}/atservicesrest/v1.0/zoneInformation", params={"user": username}, timeout=60)
        zone.raise_for_status()
        self.base = zone.json()["url"].rstrip("/") + "/v1.0"

    def query(self, entity: str, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        query = json.dumps({"filter": filters})
        response = self.session.post(f"{self.base}/{entity}/query", data=query, timeout=60)
        response.raise_for_status()
        body = response.json()
        records = body["items"]
        while body.get("pageDetails", {}).get("nextPageUrl"):  # POSTed again with the query, as Autotask wants
            response = self.session.post(body["pageDetails"]["nextPageUrl"], data=query, timeout=60)
            response.raise_for_status()
            body = response.json()
            records += body["items"]
        return records

    def get(self, entity: str, record_id: int) -> dict[str, Any]:
        response = self.session.get(f"{self.base}/{entity}/{record_id}", timeout=60)
        response.raise_for_status()
        return response.json()["item"]

    def patch(self, entity: str, fields: dict[str, Any]) -> None:
        response = self.session.patch(f"{self.base}/{entity}", data=json.dumps(fields), timeout=60)
        response.raise_for_status()


def quickbooks_client(base_url: str, conn: dict[str, Any]) -> Any:
    from intuitlib.client import AuthClient
    from quickbooks import QuickBooks

    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain HTTP on loopback (the sandbox)
    extra = conn["extra"]
    auth = AuthClient(
        client_id=conn["login"],
        client_secret=conn["password"],
        redirect_uri="http://localhost/callback",
        environment=base_url + "/.well-known/openid_configuration/",
        refresh_token=extra["refresh_token"],
        realm_id=extra["realm_id"],
    )
    client = QuickBooks(
        auth_client=auth, refresh_token=extra["refresh_token"], company_id=extra["realm_id"], minorversion=75
    )
    client.api_url_v3 = base_url + "/v3"  # the production URL, pointed at the sandbox
    return client


def run(base_url: str, connections: dict[str, Any], lookback_days: int = 14) -> dict[str, Any]:
    """Sync the window's unsynced Autotask invoices to QBO, one at a time; returns what it did."""
    from quickbooks.objects.base import Ref
    from quickbooks.objects.customer import Customer
    from quickbooks.objects.detailline import DescriptionOnlyLine, SalesItemLine, SalesItemLineDetail
    from quickbooks.objects.invoice import Invoice
    from quickbooks.objects.item import Item

    started = time.perf_counter()
    at_conn = connections["autotask_default"]
    autotask = Autotask(at_conn["host"], at_conn["login"], at_conn["password"], at_conn["extra"]["integration_code"])
    qb = quickbooks_client(base_url, connections["qbo_default"])

    since = (datetime.now(UTC) - timedelta(days=lookback_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    invoices = autotask.query(
        "Invoices",
        [
            {"op": "gte", "field": "invoiceDateTime", "value": since},
            {"op": "eq", "field": "isVoided", "value": False},
            {"op": "notExist", "field": "webServiceDate"},
        ],
    )
    companies: dict[int, dict[str, Any]] = {}
    codes: dict[int, dict[str, Any]] = {}
    customers: dict[str, Any] = {}
    items: dict[str, Any] = {}

    def ref(value: str, name: str | None = None) -> Ref:
        r = Ref()
        r.value = value
        if name:
            r.name = name
        return r

    def customer_for(company: dict[str, Any]) -> Any:
        name = company["companyName"]
        if name not in customers:
            found = Customer.filter(DisplayName=name, qb=qb)
            if found:
                customers[name] = found[0]
            else:
                customer = Customer()
                customer.DisplayName = name
                customer.CompanyName = name
                customers[name] = customer.save(qb=qb)
        return customers[name]

    def item_for(code: dict[str, Any]) -> Any:
        name = code["name"]
        if name not in items:
            found = Item.filter(Name=name, qb=qb)
            if found:
                items[name] = found[0]
            else:
                item = Item()
                item.Name = name
                item.Type = "Service"
                item.UnitPrice = code.get("unitPrice") or 0
                item.IncomeAccountRef = ref("1")
                items[name] = item.save(qb=qb)
        return items[name]

    sent = 0
    for invoice in invoices:
        company_id = invoice["companyID"]
        if company_id not in companies:
            companies[company_id] = autotask.get("Companies", company_id)
        customer = customer_for(companies[company_id])
        lines = autotask.query("BillingItems", [{"op": "eq", "field": "invoiceID", "value": invoice["id"]}])
        qbo_invoice = Invoice()
        qbo_invoice.CustomerRef = ref(customer.Id, customer.DisplayName)
        qbo_invoice.TxnDate = invoice["invoiceDateTime"][:10]
        if invoice.get("dueDate"):
            qbo_invoice.DueDate = invoice["dueDate"][:10]
        qbo_invoice.PrivateNote = f"Autotask invoice {invoice['id']} - baseline"
        period = DescriptionOnlyLine()
        period.Description = f"Billing period: {invoice['fromDate'][:10]} - {invoice['toDate'][:10]}"
        qbo_invoice.Line.append(period)
        for line in sorted(lines, key=lambda b: b["id"]):
            code_id = line["billingCodeID"]
            if code_id not in codes:
                codes[code_id] = autotask.get("BillingCodes", code_id)
            item = item_for(codes[code_id])
            detail = SalesItemLineDetail()
            detail.ItemRef = ref(item.Id, item.Name)
            detail.Qty = line["quantity"]
            detail.UnitPrice = line["rate"]
            sales_line = SalesItemLine()
            sales_line.Description = line.get("description") or line.get("itemName")
            sales_line.Amount = line["extendedPrice"]
            sales_line.SalesItemLineDetail = detail
            qbo_invoice.Line.append(sales_line)
        qbo_invoice.save(qb=qb)
        autotask.patch(
            "Invoices", {"id": invoice["id"], "webServiceDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        )
        sent += 1
    return {
        "seconds": round(time.perf_counter() - started, 3),
        "invoices": sent,
        "cached": {"companies": len(companies), "codes": len(codes), "customers": len(customers), "items": len(items)},
    }
