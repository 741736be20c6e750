"""The QBO names an invoice refers to, found or created before the invoices are: customers (INV-05)
in the company's currency (CUR-01) and non-taxable when Autotask exempts the company (TAX-04),
items (INV-06, INV-07, INV-22), terms (INV-08) and classes (INV-09)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import TYPE_CHECKING, Any

from atqbo.hooks.qbo import QboFault
from atqbo.qbo_names import create_names, find_account, find_names, name_list_write, names_taken
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
    from atqbo.settings import Settings
    from atqbo.transform.invoices import InvoicePlan, QboCompany

Failures = dict[int, tuple[str, str]]  # Autotask id -> (reason, fix) of a plan that cannot be sent
US_SALES_TAX = ("automated", "manual")  # the US tax regimes where a customer's Taxable matters (TAX-04)


def find_or_create_references(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    plans: list[InvoicePlan],
    reference: dict[str, Any],
    company: QboCompany,
    notes: list[str],
    tax_codes: dict[int, dict[str, str]] | None = None,
) -> tuple[dict[int, QboRefs], Failures, dict[int, list[str]]]:
    """Customers, items, terms and classes for ``plans``: found, or created.

    ``reference`` is what the extract staged (Autotask companies and billing codes, by id as text);
    ``tax_codes``: each plan's QBO tax code ids by name (``taxes.refuse_before_writing``).
    Returns the refs of each plan that can be sent, (reason, fix) of each that cannot, and
    warnings per plan, all by Autotask id; run-level problems go to ``notes``.
    """
    failures: Failures = {}
    warnings: dict[int, list[str]] = {plan.autotask_id: [] for plan in plans}
    needed = {p.autotask_id: item_keys_needed(p, company) for p in plans}
    taxable = taxed_item_keys(plans) if company.automated_sales_tax else None
    # BEY-05: the items, the terms and the classes are found (and items created) while the
    # customers are; nothing of one needs the other. Each side writes only its own results.
    item_notes: list[str] = []
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="atqbo-references") as pool:
        items_found = pool.submit(
            copy_context().run,
            find_or_create_items,
            run,
            qbo,
            needed,
            reference.get("billing_codes", {}),
            item_notes,
            taxable,
        )
        terms_found = pool.submit(names_by_id, qbo, "Term") if any(p.term_name for p in plans) else None
        classes_found = pool.submit(names_by_id, qbo, "Class") if company.class_tracking != "none" else None
        customers = find_or_create_customers(run, qbo, plans, reference.get("companies", {}), company, failures)
        keep_exempt_customers_non_taxable(run, qbo, plans, customers, company, failures, warnings)
        items, alias = items_found.result()
        terms = terms_found.result() if terms_found else {}
        classes = classes_found.result() if classes_found else {}
    notes.extend(item_notes)
    for plan in plans:
        absent = sorted(k for k in needed[plan.autotask_id] if (alias.get(k) or k).lower() not in items)
        if absent and plan.autotask_id not in failures:
            failures[plan.autotask_id] = missing_item_failure(absent, run.parsed_settings, notes)
    refs: dict[int, QboRefs] = {}
    for plan in plans:
        if plan.autotask_id in failures:
            continue
        customer = customers[plan.customer_name.lower()]
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
            tax_codes=(tax_codes or {}).get(plan.autotask_id, {}),
        )
    return refs, failures, warnings


def names_by_id(qbo: QuickBooksOnlineHook, entity: str) -> dict[str, str]:
    """Every ``entity`` record's Id by its name (terms, classes: short lists)."""
    return {r["Name"]: r["Id"] for r in qbo.query_all(entity)}


def find_or_create_customers(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    plans: list[InvoicePlan],
    companies: dict[str, Any],
    company: QboCompany,
    failures: Failures,
) -> dict[str, dict[str, Any]]:
    """Each plan's QBO customer by its (lower-cased) name, created when missing (INV-05) in the
    plan's currency; a name QBO gives a vendor or employee, a customer QBO refuses to create, an
    inactive customer or one in another currency (CUR-01) is a failure of the plans that need it."""
    customers = find_names(qbo, "Customer", "DisplayName", {p.customer_name for p in plans}, active_only=False)
    missing = {p.customer_name: p for p in plans if p.customer_name.lower() not in customers}
    owners = {name: kind for name, (kind, _) in names_taken(qbo, missing, ("Vendor", "Employee")).items()}
    creatable = {
        name: customer_payload(
            companies[str(plan.company_id)],
            name,
            run.parsed_settings,
            currency=(plan.currency or company.home_currency) if company.multi_currency else None,
            non_taxable=plan.tax_exempt and company.tax_regime in US_SALES_TAX,
        )
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
        elif found is not None and company.multi_currency:
            mismatch = customer_currency_problem(plan, found, company)
            if mismatch:
                failures[plan.autotask_id] = mismatch
    return customers


def customer_currency_problem(
    plan: InvoicePlan, customer: dict[str, Any], company: QboCompany
) -> tuple[str, str] | None:
    """CUR-01: a QBO customer's currency is fixed once it has transactions; an invoice in another
    currency cannot be its."""
    theirs = (customer.get("CurrencyRef") or {}).get("value") or company.home_currency
    ours = plan.currency or company.home_currency
    if theirs == ours:
        return None
    return (
        f"the QBO customer {plan.customer_name!r} is in {theirs}, but Autotask bills the company in {ours}; "
        "a QBO invoice is in its customer's currency, so it was not sent",
        f"give the {theirs} customer another name in QBO (atqbo then creates a {ours} customer named after the "
        f"Autotask company), or bill the company in {theirs} in Autotask; then clear the marker",
    )


def keep_exempt_customers_non_taxable(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    plans: list[InvoicePlan],
    customers: dict[str, dict[str, Any]],
    company: QboCompany,
    failures: Failures,
    warnings: dict[int, list[str]],
) -> None:
    """TAX-04: a taxable QBO customer of a company Autotask exempts from tax is made non-taxable (a
    sparse update of ``Taxable``), once per customer, and each invoice of it says so; when QBO
    refuses the update, its invoices are not sent (QBO would tax them)."""
    if company.tax_regime not in US_SALES_TAX or run.parsed_settings.tax_mode != "qbo":
        return
    done: dict[str, tuple[str, bool]] = {}
    for plan in plans:
        customer = customers.get(plan.customer_name.lower())
        if not plan.tax_exempt or plan.autotask_id in failures or customer is None:
            continue
        if customer.get("Taxable") is False and customer["Id"] not in done:
            continue
        if customer["Id"] not in done:
            done[customer["Id"]] = _make_non_taxable(run, qbo, customer)
        message, made = done[customer["Id"]]
        if made:
            warnings[plan.autotask_id].append(message)
        else:
            failures[plan.autotask_id] = (message, "make the customer non-taxable in QBO, then clear the marker")


def _make_non_taxable(run: RunInfo, qbo: QuickBooksOnlineHook, customer: dict[str, Any]) -> tuple[str, bool]:
    """(what happened, whether the customer is (or in a dry run would be) non-taxable now)."""
    name = customer.get("DisplayName")
    if run.dry_run:
        return (
            f"the QBO customer {name!r} is taxable; the company is tax-exempt in Autotask: would make it non-taxable",
            True,
        )
    try:
        with name_list_write(qbo):
            updated = qbo.update(
                "Customer",
                {"Id": customer["Id"], "SyncToken": customer.get("SyncToken"), "Taxable": False},
                requestid=f"atqbo-exempt-{qbo.realm_id}-{customer['Id']}-{customer.get('SyncToken')}",
            )
    except QboFault as fault:
        return (
            f"the QBO customer {name!r} is taxable but the company is tax-exempt in Autotask, and QBO refused to make "
            f"it non-taxable: {fault}",
            False,
        )
    customer.update(updated)
    return (
        f"the QBO customer {name!r} was taxable; it is now non-taxable, as the company is tax-exempt in Autotask "
        "(pick its exemption reason in QBO)",
        True,
    )


def missing_item_failure(absent: list[str], settings: Settings, notes: list[str]) -> tuple[str, str]:
    """(reason, fix) of a plan whose items QBO does not have: the income account when atqbo was to
    create them but could not (the setting that is wrong), else ``missing_item_action``."""
    names = ", ".join(repr(a) for a in absent)
    account = settings.new_item_income_account
    if settings.missing_item_action == "create" and _no_income_account_note(account) in notes:
        return (
            f"no QBO item for {names}, and atqbo could not create it: QBO has no income account named {account!r} "
            "(new_item_income_account)",
            f"create an income account named {account!r} in QBO, or set new_item_income_account in atqbo_settings "
            "to the name of an existing income account; then clear the marker",
        )
    return (
        f"no QBO item for {names} (missing_item_action is {settings.missing_item_action!r})",
        "create the item in QBO (or use atqbo_copy_missing_items), check item_match_field, or set "
        "missing_item_action to 'create'; then clear the marker",
    )


def _no_income_account_note(account: str) -> str:
    """The run's note when the items to create have no income account (one place for its words)."""
    return f"QBO has no account named {account!r} (new_item_income_account): missing items cannot be created"


def taxed_item_keys(plans: list[InvoicePlan]) -> set[str]:
    """TAX-04: the items Autotask taxes (a line of it carries tax). QBO's automated sales tax taxes a
    line by its item's ``Taxable``, so an item atqbo creates is taxable exactly when Autotask taxed
    the line that needed it; one created before keeps what it has (a person may have set it)."""
    return {line.item_key for plan in plans for line in plan.lines if line.item_key and line.autotask_tax > 0}


def find_or_create_items(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    needed: dict[int, dict[str, int | None]],
    codes: dict[str, Any],
    notes: list[str],
    taxable: set[str] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The QBO items the plans' lines need, by lower-cased name, found or handled as
    ``missing_item_action`` says (INV-07): created (the generic and tax items always are), or
    replaced by ``default_item_name`` (returned as an alias: item key -> the name used).
    ``taxable``: under automated sales tax, the keys of the items to create taxable (the rest are
    created non-taxable); None: QBO's default."""
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
        notes.append(_no_income_account_note(settings.new_item_income_account))
        return items, alias
    payloads = {
        key: item_payload(
            key,
            codes.get(str(code_by_key[key])) if code_by_key.get(key) else None,
            income["Id"],
            settings,
            None if taxable is None else key in taxable,
        )
        for key in to_create
    }
    created, faults = create_names(qbo, "Item", "Name", payloads, run_id=run.run_id, dry_run=run.dry_run)
    items.update(created)
    notes.extend(f"QBO item {key!r} could not be created: {fault}" for key, fault in faults.items())
    return items, alias
