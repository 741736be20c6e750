"""Several QBO companies (BEY-07): each invoice planned with its own company's settings.

``plan_invoices_by_company`` routes every invoice (``atqbo.routes.route_of``: its Autotask company
id, its lines' divisions) and plans each company's invoices with that company's settings
(``Settings.for_company``: its route's tax codes, accounts, classes, edition); every plan says its
company in ``qbo_conn_id``. An invoice whose lines span divisions of two routes is an error plan
naming them. Without routes this is ``plan_invoices`` with the default company. No I/O.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date
from typing import Any

from atqbo.money import cents
from atqbo.routes import division_of, route_of
from atqbo.settings import Settings
from atqbo.transform.invoices.model import AutotaskInvoiceData, InvoicePlan
from atqbo.transform.invoices.plan import plan_invoices
from atqbo.transform.values import as_text, date_of


def invoice_divisions(items: list[dict[str, Any]], data: AutotaskInvoiceData) -> set[str]:
    """The Autotask divisions of an invoice's lines (from their lines of business)."""
    names = (data.lines_of_business.get(i.get("organizationalLevelAssociationID")) for i in items)
    return {d for d in (division_of(n) for n in names) if d}


def plan_invoices_by_company(data: AutotaskInvoiceData, settings: Settings, today: date) -> list[InvoicePlan]:
    """One plan per invoice of ``data`` (same order), each planned with its company's settings."""
    routes = settings.routes
    if not routes:
        return [replace(p, qbo_conn_id=settings.qbo_conn_id) for p in plan_invoices(data, settings, today)]
    items_by_invoice: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for item in data.billing_items:
        items_by_invoice[item.get("invoiceID")].append(item)
    by_company: dict[str, list[dict[str, Any]]] = defaultdict(list)
    refused: dict[Any, InvoicePlan] = {}
    for invoice in data.invoices:
        company = data.companies.get(invoice.get("companyID")) or {}
        head = InvoicePlan(
            autotask_id=invoice.get("id"),
            invoice_number=as_text(invoice.get("invoiceNumber")).strip() or None,
            company_id=invoice.get("companyID"),
            company_name=as_text(company.get("companyName")),
            decision="error",
            txn_date=date_of(invoice.get("invoiceDateTime")),
            total=cents(invoice.get("invoiceTotal")),
            tax=cents(invoice.get("totalTaxValue")),
        )
        divisions = invoice_divisions(items_by_invoice.get(invoice.get("id"), []), data)
        routing = route_of(routes, settings.qbo_conn_id, invoice.get("companyID"), divisions, head.label)
        if routing.error:
            refused[invoice.get("id")] = replace(head, reason=routing.error, fix=routing.fix)
        else:
            by_company[routing.qbo_conn_id].append(invoice)
    planned: dict[Any, InvoicePlan] = dict(refused)
    for conn_id, invoices in by_company.items():
        company_data = replace(data, invoices=invoices)
        for plan in plan_invoices(company_data, settings.for_company(conn_id), today):
            planned[plan.autotask_id] = replace(plan, qbo_conn_id=conn_id)
    return [planned[invoice.get("id")] for invoice in data.invoices]
