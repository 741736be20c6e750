"""The QBO Invoice JSON of a plan: the plan + the QBO ids found or created for its names + what the
QBO company allows (numbering INV-04, online payment INV-16, email INV-17, custom field INV-10,
classes INV-09, sales tax INV-18 and TAX-01..05, currency CUR-01)."""

from __future__ import annotations

from typing import Any

from atqbo.exceptions import AtqboError
from atqbo.money import json_number
from atqbo.settings import Settings
from atqbo.transform.invoices.header import INVOICE_EMAIL_FIELD, class_amounts
from atqbo.transform.invoices.lines import line_class, lines_to_send
from atqbo.transform.invoices.model import InvoicePlan, PlannedLine, QboCompany, QboRefs
from atqbo.transform.invoices.tax import header_tax_fields, line_tax_code_ref
from atqbo.transform.values import MAX_CUSTOM_FIELD_VALUE

# -- the QBO invoice -----------------------------------------------------------------------------


def build_invoice_payload(
    plan: InvoicePlan, refs: QboRefs, company: QboCompany, settings: Settings
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The QBO Invoice JSON for a plan to send, and any warnings found while building it.

    Raises ``AtqboError`` for a plan not to send or an item the load step did not resolve.
    """
    if plan.decision != "send":
        raise AtqboError(f"{plan.label}: its plan is {plan.decision!r} ({plan.reason}); only 'send' plans are built")
    warnings: list[str] = []
    payload: dict[str, Any] = {**_numbering(plan, company)}
    if plan.txn_date:
        payload["TxnDate"] = plan.txn_date.isoformat()
    if plan.due_date:
        payload["DueDate"] = plan.due_date.isoformat()
    payload["CustomerRef"] = {"value": str(refs.customer_id)}
    if company.multi_currency:
        # CUR-01: with multi-currency on every transaction names its currency; the load step has
        # refused a foreign one into a company without it (CUR-02)
        payload["CurrencyRef"] = {"value": plan.currency or company.home_currency}
    if refs.term_id:
        payload["SalesTermRef"] = {"value": str(refs.term_id)}
    payload["PrivateNote"] = plan.private_note
    if plan.customer_memo:
        payload["CustomerMemo"] = {"value": plan.customer_memo}
    payload.update(_email_fields(plan, refs, settings, warnings))
    payload.update(_online_payment_flags(refs, settings))
    payload.update(_custom_fields(plan, company, settings, warnings))
    payload.update(_transaction_class_ref(plan, refs, company, settings, warnings))
    if company.automated_sales_tax:
        payload.update(_ast_ship_address(plan, warnings))
    payload.update(header_tax_fields(plan, refs, company, settings))
    payload["Line"] = _payload_lines(plan, refs, company, settings, warnings)
    return payload, tuple(warnings)


def _numbering(plan: InvoicePlan, company: QboCompany) -> dict[str, Any]:
    """INV-04: our DocNumber, or ask QBO for its next number.

    With custom transaction numbers on, QBO leaves an invoice without DocNumber unnumbered unless
    AutoDocNumber is true; with them off it numbers every invoice itself (and AutoDocNumber is moot).
    """
    if plan.doc_number:
        return {"DocNumber": plan.doc_number}
    return {"AutoDocNumber": True} if company.custom_txn_numbers else {}


def _email_fields(plan: InvoicePlan, refs: QboRefs, settings: Settings, warnings: list[str]) -> dict[str, Any]:
    """INV-17: BillEmail when known; EmailStatus NeedToSend only when emailing and an address exists."""
    email = refs.customer_email or plan.bill_email
    fields: dict[str, Any] = {"BillEmail": {"Address": email}} if email else {}
    if settings.email_invoices and email:
        fields["EmailStatus"] = "NeedToSend"
        return fields
    if settings.email_invoices:
        warnings.append(
            f"{plan.label}: customer {plan.customer_name!r} has no email address in QBO or Autotask; "
            "the invoice is not emailed (add an email to the customer, or the company's "
            f"{INVOICE_EMAIL_FIELD!r} field in Autotask)"
        )
    fields["EmailStatus"] = "NotSet"
    return fields


def _online_payment_flags(refs: QboRefs, settings: Settings) -> dict[str, bool]:
    """INV-16: credit card (optionally only with a default payment method) and ACH."""
    card = settings.allow_credit_card and (
        not settings.credit_card_only_with_default_method or refs.customer_has_default_payment_method
    )
    return {"AllowOnlineCreditCardPayment": card, "AllowOnlineACHPayment": settings.allow_ach}


def _custom_fields(plan: InvoicePlan, company: QboCompany, settings: Settings, warnings: list[str]) -> dict[str, Any]:
    """INV-10: the PO number in the configured custom field, when QBO has that field switched on."""
    wanted = settings.po_number_custom_field
    if not wanted or not plan.po_number:
        return {}
    label = find_custom_field(wanted, company.custom_fields)
    if label is None:
        warnings.append(
            f"{plan.label}: custom field {wanted!r} is not enabled in QBO (Settings > Sales > Custom fields); "
            f"PO number {plan.po_number!r} not sent"
        )
        return {}
    value = plan.po_number
    if len(value) > MAX_CUSTOM_FIELD_VALUE:
        warnings.append(
            f"{plan.label}: PO number {value!r} is longer than the {MAX_CUSTOM_FIELD_VALUE} characters a QBO custom "
            f"field holds; cut to {value[:MAX_CUSTOM_FIELD_VALUE]!r}"
        )
        value = value[:MAX_CUSTOM_FIELD_VALUE]
    field_ = {"DefinitionId": company.custom_fields[label], "Name": label, "Type": "StringType", "StringValue": value}
    return {"CustomField": [field_]}


def find_custom_field(wanted: str, enabled: dict[str, str]) -> str | None:
    """The enabled custom field's label for a configured name (exact, else ignoring case and spaces)."""
    if wanted in enabled:
        return wanted
    folded = wanted.strip().casefold()
    return next((label for label in enabled if label.strip().casefold() == folded), None)


def _transaction_class_ref(
    plan: InvoicePlan, refs: QboRefs, company: QboCompany, settings: Settings, warnings: list[str]
) -> dict[str, Any]:
    """INV-09: ClassRef on the invoice under transaction tracking; a warning when a class is lost."""
    if company.class_tracking == "transaction":
        amounts = class_amounts(plan.lines)
        if len(amounts) > 1:
            mix = ", ".join(f"{name} {amount}" for name, amount in amounts.items())
            warnings.append(
                f"{plan.label}: lines of business map to several classes ({mix}); QBO tracks one class per "
                f"invoice, so the invoice's class is {plan.class_name} (the largest amount)"
            )
        ref = _class_ref(plan.class_name, plan, refs, warnings)
        return {"ClassRef": ref} if ref else {}
    if company.class_tracking == "none":
        wanted = sorted({n for n in (plan.class_name, *(line.class_name for line in plan.lines)) if n})
        if wanted:
            warnings.append(
                f"{plan.label}: class tracking is off in QBO, so no class is set (wanted: {', '.join(wanted)}); "
                "turn on class tracking in QBO (Settings > Advanced > Categories)"
            )
    return {}


def _class_ref(name: str | None, plan: InvoicePlan, refs: QboRefs, warnings: list[str]) -> dict[str, str] | None:
    """A ClassRef for a class name, or None (and one warning) when the load found no such class."""
    if not name:
        return None
    class_id = refs.classes.get(name)
    if class_id is None:
        message = (
            f"{plan.label}: no class named {name!r} in QBO; that class is not set "
            "(create the class in QBO, or correct lob_class_map / default_class)"
        )
        if message not in warnings:
            warnings.append(message)
        return None
    return {"value": str(class_id)}


def _ast_ship_address(plan: InvoicePlan, warnings: list[str]) -> dict[str, Any]:
    """INV-18: under automated sales tax the shipping address is where QBO taxes the sale."""
    if plan.ship_address:
        return {"ShipAddr": dict(plan.ship_address)}
    warnings.append(
        f"{plan.label}: company {plan.company_name!r} has no address in Autotask; QBO's automated sales tax "
        "uses the customer's own address"
    )
    return {}


def _payload_lines(
    plan: InvoicePlan, refs: QboRefs, company: QboCompany, settings: Settings, warnings: list[str]
) -> list[dict[str, Any]]:
    """The QBO lines, numbered in order: the billing period, the sales lines, the tax line (if sent)."""
    out = []
    for number, line in enumerate(lines_to_send(plan, company), start=1):
        if line.kind == "description":
            out.append(
                {
                    "LineNum": number,
                    "Description": line.description,
                    "DetailType": "DescriptionOnly",
                    "DescriptionLineDetail": {},
                }
            )
            continue
        out.append(
            {
                "LineNum": number,
                "Description": line.description,
                "Amount": json_number(line.amount),
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": _sales_item_detail(line, plan, refs, company, settings, warnings),
            }
        )
    return out


def _sales_item_detail(
    line: PlannedLine, plan: InvoicePlan, refs: QboRefs, company: QboCompany, settings: Settings, warnings: list[str]
) -> dict[str, Any]:
    """SalesItemLineDetail of a line: item, quantity, unit price, service date, and the class per line."""
    item_id = refs.items.get(line.item_key)
    if item_id is None:
        raise AtqboError(
            f"{plan.label}: no QBO item id for {line.item_key!r}; the load step must find or create every item "
            "of item_keys_needed(plan, company) before building the invoice"
        )
    detail: dict[str, Any] = {"ItemRef": {"value": str(item_id), "name": line.item_key}}
    if line.quantity is not None:
        detail["Qty"] = json_number(line.quantity)
    if line.unit_price is not None:
        detail["UnitPrice"] = json_number(line.unit_price)
    if line.service_date:
        detail["ServiceDate"] = line.service_date.isoformat()
    tax_code = line_tax_code_ref(line, plan, refs, company)
    if tax_code:
        detail["TaxCodeRef"] = tax_code
    if company.class_tracking == "line":
        ref = _class_ref(line_class(line, settings), plan, refs, warnings)
        if ref:
            detail["ClassRef"] = ref
    return detail
