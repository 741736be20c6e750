"""The QBO names an invoice refers to, found or created before the invoices are: customers (INV-05),
items (INV-06, INV-07, INV-22), terms (INV-08) and classes (INV-09)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atqbo.qbo_names import create_names, find_account, find_names, names_taken
from atqbo.transform.invoices import (
    GENERIC_ITEM_NAME,
    TAX_ITEM_NAME,
    QboRefs,
    class_names_needed,
    customer_payload,
    item_keys_needed,
    item_payload,
)

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.runs import RunInfo
    from atqbo.transform.invoices import InvoicePlan, QboCompany

Failures = dict[int, tuple[str, str]]  # Autotask id -> (reason, fix) of a plan that cannot be sent


def find_or_create_references(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    plans: list[InvoicePlan],
    reference: dict[str, Any],
    company: QboCompany,
    notes: list[str],
) -> tuple[dict[int, QboRefs], Failures, dict[int, list[str]]]:
    """Customers, items, terms and classes for ``plans``: found, or created.

    ``reference`` is what the extract staged (Autotask companies and billing codes, by id as text).
    Returns the refs of each plan that can be sent, (reason, fix) of each that cannot, and
    warnings per plan, all by Autotask id; run-level problems go to ``notes``.
    """
    failures: Failures = {}
    customers = find_or_create_customers(run, qbo, plans, reference.get("companies", {}), failures)
    needed = {p.autotask_id: item_keys_needed(p, company) for p in plans}
    items, alias = find_or_create_items(run, qbo, needed, reference.get("billing_codes", {}), notes)
    for plan in plans:
        absent = sorted(k for k in needed[plan.autotask_id] if (alias.get(k) or k).lower() not in items)
        if absent and plan.autotask_id not in failures:
            action = run.parsed_settings.missing_item_action
            failures[plan.autotask_id] = (
                f"no QBO item for {', '.join(repr(a) for a in absent)} (missing_item_action is {action!r})",
                "create the item in QBO (or use atqbo_copy_missing_items), check item_match_field, or set "
                "missing_item_action to 'create'; then clear the marker",
            )
    terms = {t["Name"]: t["Id"] for t in qbo.query_all("Term")} if any(p.term_name for p in plans) else {}
    classes = {c["Name"]: c["Id"] for c in qbo.query_all("Class")} if company.class_tracking != "none" else {}
    refs: dict[int, QboRefs] = {}
    warnings: dict[int, list[str]] = {}
    for plan in plans:
        if plan.autotask_id in failures:
            continue
        customer = customers[plan.customer_name.lower()]
        warnings[plan.autotask_id] = []
        if plan.term_name and plan.term_name not in terms:
            warnings[plan.autotask_id].append(
                f"no payment term named {plan.term_name!r} in QBO; invoice created without terms (INV-08)"
            )
        wanted = class_names_needed(plan, company, run.parsed_settings)  # a missing class is warned about by the build
        refs[plan.autotask_id] = QboRefs(
            customer_id=customer["Id"],
            items={key: items[(alias.get(key) or key).lower()]["Id"] for key in needed[plan.autotask_id]},
            term_id=terms.get(plan.term_name) if plan.term_name else None,
            classes={name: classes[name] for name in wanted if name in classes},
            customer_has_default_payment_method=bool(customer.get("PaymentMethodRef")),
            customer_email=(customer.get("PrimaryEmailAddr") or {}).get("Address"),
        )
    return refs, failures, warnings


def find_or_create_customers(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    plans: list[InvoicePlan],
    companies: dict[str, Any],
    failures: Failures,
) -> dict[str, dict[str, Any]]:
    """Each plan's QBO customer by its (lower-cased) name, created when missing (INV-05); a name QBO
    gives a vendor or employee, a customer QBO refuses to create or an inactive customer is a
    failure of the plans that need it."""
    customers = find_names(qbo, "Customer", "DisplayName", {p.customer_name for p in plans}, active_only=False)
    missing = {p.customer_name: p for p in plans if p.customer_name.lower() not in customers}
    owners = {name: kind for name, (kind, _) in names_taken(qbo, missing, ("Vendor", "Employee")).items()}
    creatable = {
        name: customer_payload(companies[str(plan.company_id)], name, run.parsed_settings)
        for name, plan in missing.items()
        if name.lower() not in owners
    }
    created, faults = create_names(qbo, "Customer", "DisplayName", creatable, run_id=run.run_id, dry_run=run.dry_run)
    customers.update(created)
    for plan in plans:
        name, found = plan.customer_name, customers.get(plan.customer_name.lower())
        if name.lower() in owners:
            failures[plan.autotask_id] = (
                f"QBO already has a {owners[name.lower()]} named {name!r}; QBO names must be unique across "
                "customers, vendors and employees, so the customer cannot be created",
                f"rename the {owners[name.lower()]} in QBO or the company in Autotask, then clear the marker",
            )
        elif name in faults:
            failures[plan.autotask_id] = (
                f"the QBO customer {name!r} could not be created: {faults[name]}",
                "fix what QBO names, then clear the marker (or retry from the error log)",
            )
        elif found is not None and not found.get("Active", True):
            failures[plan.autotask_id] = (
                f"the QBO customer {plan.customer_name!r} is inactive",
                "make the customer active in QBO, then clear the marker",
            )
    return customers


def find_or_create_items(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    needed: dict[int, dict[str, int | None]],
    codes: dict[str, Any],
    notes: list[str],
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The QBO items the plans' lines need, by lower-cased name, found or handled as
    ``missing_item_action`` says (INV-07): created (the generic and tax items always are), or
    replaced by ``default_item_name`` (returned as an alias: item key -> the name used)."""
    settings = run.parsed_settings
    code_by_key = {key: code for keys in needed.values() for key, code in keys.items()}
    items = find_names(qbo, "Item", "Name", set(code_by_key), active_only=True)
    missing = sorted(k for k in code_by_key if k.lower() not in items)
    alias: dict[str, str] = {}
    if not missing:
        return items, alias
    generic = {settings.default_item_name or GENERIC_ITEM_NAME, TAX_ITEM_NAME}
    to_create = [k for k in missing if settings.missing_item_action == "create" or k in generic]
    if settings.missing_item_action == "default_item":
        default = find_names(qbo, "Item", "Name", {settings.default_item_name}, active_only=True)
        if default:
            alias = {k: settings.default_item_name for k in missing if k not in generic}
            items.update(default)
    if not to_create:
        return items, alias
    income = find_account(qbo, settings.new_item_income_account)
    if income is None:
        notes.append(
            f"QBO has no account named {settings.new_item_income_account!r} "
            "(new_item_income_account): missing items cannot be created"
        )
        return items, alias
    payloads = {
        key: item_payload(
            key, codes.get(str(code_by_key[key])) if code_by_key.get(key) else None, income["Id"], settings
        )
        for key in to_create
    }
    created, faults = create_names(qbo, "Item", "Name", payloads, run_id=run.run_id, dry_run=run.dry_run)
    items.update(created)
    notes.extend(f"QBO item {key!r} could not be created: {fault}" for key, fault in faults.items())
    return items, alias
