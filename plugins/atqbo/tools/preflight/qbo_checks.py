"""The preflight's QuickBooks Online part: the company against the settings, read only.

Country and edition (``qbo_edition``), sales tax (automated, manual or the company's own codes),
multi-currency and the home currency, custom transaction numbers, class tracking, the custom field
of ``po_number_custom_field``, books closed, and every account, class, tax code and item the
settings name: it exists, is active, has the right type and currency. Where a sync has its own
check (the A/P account, the purchase tax code, the invoice tax code), that check is called and its
refusal becomes the verdict, so the preflight says what the sync would say.

About a dozen reads whatever the company's size: CompanyInfo, Preferences, the tax codes (and
rates), then one query per kind of object the settings name (accounts, classes, items, terms).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from atqbo.exceptions import AtqboConfigError
from atqbo.hooks.qbo import where_eq
from atqbo.qbo_names import find_names
from atqbo.settings import VARIABLE_NAME
from atqbo.tools.preflight.model import Check, blocking, listed, ok, warning
from atqbo.tools.preflight.settings_checks import po_sync_on

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.runs import RunInfo
    from atqbo.settings import Settings
    from atqbo.transform.invoices import QboCompany
    from atqbo.transform.tax_codes import TaxCodes

PART = "qbo"
SETTINGS_FIX = f"in the {VARIABLE_NAME} Variable (Admin > Variables)"
INCOME_TYPES = ("Income", "Other Income")
EXPENSE_TYPES = ("Cost of Goods Sold", "Expense", "Other Expense")


def check_qbo(run: RunInfo, qbo: QuickBooksOnlineHook, autotask_terms: list[str] | None = None) -> list[Check]:
    """Every QBO check; ``autotask_terms``: the labels of Autotask's active payment terms (checked
    against QBO's terms by name, INV-08), when the caller read them."""
    from atqbo.qbo_tax import read_qbo_company

    settings = run.parsed_settings
    info = qbo.company_info()
    company, codes = read_qbo_company(qbo, settings)
    preferences = qbo.preferences()
    prefs = preferences.get("Preferences", preferences)
    checks = [_edition(info, settings), *_tax(qbo, company, codes, settings), _currency(company)]
    checks.append(_numbering(company, settings))
    checks += _classes(qbo, company, settings)
    checks.append(_custom_field(company, settings))
    checks += _accounts(qbo, company, settings)
    checks += _items(qbo, settings)
    if autotask_terms is not None and settings.invoice_sync_enabled:
        checks.append(_terms(qbo, autotask_terms))
    checks.append(_books_closed(prefs, run))
    return checks


def _edition(info: dict[str, Any], settings: Settings) -> Check:
    name = info.get("CompanyName") or "(no name)"
    country = str(info.get("Country") or "").strip().upper()
    topic = "Company and edition"
    if not country:
        return warning(
            PART,
            topic,
            f"the QBO company {name!r} does not say its country; qbo_edition is {settings.qbo_edition!r}",
            "check in QBO (Settings > Account and settings > Company) that the company's country is set, and that "
            f"qbo_edition {SETTINGS_FIX} matches it",
        )
    us = country in ("US", "USA", "UNITED STATES")
    if us == (settings.qbo_edition == "US"):
        return ok(PART, topic, f"{name!r}, country {country}, qbo_edition {settings.qbo_edition!r}")
    want = "US" if us else "non-US"
    return blocking(
        PART,
        topic,
        f"qbo_edition is {settings.qbo_edition!r} but the QBO company {name!r} is in {country}: tax would be sent "
        f"the {settings.qbo_edition} way to a {want} company",
        f"set qbo_edition to {want!r} {SETTINGS_FIX}" + ("" if us else ", with sales_tax_code and its tax settings"),
    )


def _tax(qbo: QuickBooksOnlineHook, company: QboCompany, codes: TaxCodes, settings: Settings) -> list[Check]:
    """The company's sales tax regime against tax_mode, and every tax code the settings name."""
    from atqbo.sync.invoices.taxes import require_invoice_tax_code

    topic = "Sales tax"
    checks: list[Check] = []
    if company.tax_regime == "automated":
        what = "automated sales tax is on: QBO computes each invoice's tax"
        if settings.tax_mode == "autotask":
            what += "; tax_mode 'autotask' overrides it with Autotask's tax amount"
        checks.append(ok(PART, topic, what))
    elif company.tax_regime == "manual":
        checks.append(ok(PART, topic, f"sales tax with the company's own codes: {codes.describe()}"))
    elif company.tax_regime == "none":
        checks.append(ok(PART, topic, "no sales tax in QBO: invoices carry Autotask's tax as it is"))
    else:
        checks.append(ok(PART, topic, f"the company's tax codes: {codes.describe()}"))
    try:
        if settings.invoice_sync_enabled:
            require_invoice_tax_code(company, codes, settings)
    except AtqboConfigError as exc:
        checks.append(blocking(PART, "Invoice tax code", str(exc), f"set sales_tax_code {SETTINGS_FIX}"))
    named = _named_tax_codes(settings)
    missing = {setting: name for setting, name in named.items() if codes.find(name) is None}
    if missing and (settings.non_us or company.tax_regime == "manual"):
        checks.append(
            blocking(
                PART,
                "Tax codes named in the settings",
                "QBO has no active tax code named "
                + "; ".join(f"{name!r} ({setting})" for setting, name in missing.items())
                + f". QBO's tax codes: {codes.describe()}",
                f"correct those names {SETTINGS_FIX} to QBO tax codes (Taxes > Sales tax settings), or make the "
                "codes active in QBO",
            )
        )
    elif named and (settings.non_us or company.tax_regime == "manual"):
        checks.append(ok(PART, "Tax codes named in the settings", listed(f"{s}: {n}" for s, n in named.items())))
    if settings.non_us and settings.invoice_sync_enabled and not settings.exempt_sales_tax_code:
        checks.append(
            warning(
                PART,
                "Exempt tax code",
                "exempt_sales_tax_code is not set: invoices of tax-exempt companies and lines Autotask does not "
                "tax cannot be sent (they fail, named in the report)",
                f"set exempt_sales_tax_code {SETTINGS_FIX} to the QBO code for exempt or zero-rated sales "
                '(e.g. "Exempt", "No VAT", "GST free")',
            )
        )
    if settings.non_us and po_sync_on(settings) and settings.purchase_tax_code:  # unset: the settings part says so
        checks.append(_purchase_tax_code(qbo, settings))
    return checks


def _named_tax_codes(settings: Settings) -> dict[str, str]:
    """Setting (or ``tax_code_map[key]``) -> the QBO tax code name it holds; purchase codes apart."""
    named = {}
    if settings.sales_tax_code:
        named["sales_tax_code"] = settings.sales_tax_code
    if settings.exempt_sales_tax_code:
        named["exempt_sales_tax_code"] = settings.exempt_sales_tax_code
    for key, name in sorted(settings.tax_code_map.items()):
        named[f"tax_code_map[{key!r}]"] = name
    return named


def _purchase_tax_code(qbo: QuickBooksOnlineHook, settings: Settings) -> Check:
    from atqbo.sync.purchase_orders.taxes import find_purchase_tax_code

    topic = "Purchase tax code"
    try:
        code = find_purchase_tax_code(qbo, settings)
    except AtqboConfigError as exc:
        return blocking(PART, topic, str(exc), f"correct purchase_tax_code {SETTINGS_FIX}")
    return ok(PART, topic, f"bill lines carry {code['Name'] if code else settings.purchase_tax_code!r}")


def _currency(company: QboCompany) -> Check:
    if company.multi_currency:
        finding = f"multi-currency is on; home currency {company.home_currency}"
    else:
        finding = (
            f"multi-currency is off; every document is in {company.home_currency} (an Autotask company billed in "
            "another currency fails, named in the report)"
        )
    return ok(PART, "Currency", finding)


def _numbering(company: QboCompany, settings: Settings) -> Check:
    numbers = "on" if company.custom_txn_numbers else "off"
    who = {
        "qbo": "QBO numbers the invoices",
        "autotask_number": "invoices take Autotask's number",
        "autotask_id": "invoices take the Autotask id",
    }[settings.invoice_numbering]
    topic = "Invoice numbers"
    if settings.invoice_numbering != "qbo" and not company.custom_txn_numbers:
        return warning(
            PART,
            topic,
            f"invoice_numbering is {settings.invoice_numbering!r} ({who}) but custom transaction numbers are off in "
            "QBO: QBO numbers its own documents, and numbers sent to it can collide with the ones it assigns "
            "(Intuit: 'can lead to unwanted duplicates')",
            "turn on custom transaction numbers in QBO (Settings > Sales > Sales form content), or set "
            f"invoice_numbering to 'qbo' {SETTINGS_FIX}",
        )
    return ok(PART, topic, f"custom transaction numbers {numbers}; {who}")


def _classes(qbo: QuickBooksOnlineHook, company: QboCompany, settings: Settings) -> list[Check]:
    wanted = {name: "default_class" for name in [settings.default_class] if name}
    for lob, name in sorted(settings.lob_class_map.items()):
        wanted.setdefault(name, f"lob_class_map[{lob!r}]")
    topic = "Classes"
    if not wanted:
        return [ok(PART, topic, f"class tracking: {company.class_tracking}; the settings name no class")]
    if company.class_tracking == "none":
        return [
            blocking(
                PART,
                topic,
                f"the settings name classes ({listed(wanted)}) but class tracking is off in QBO: invoices would be "
                "sent without them",
                "turn on class tracking in QBO (Settings > Advanced > Categories), or clear default_class and "
                f"lob_class_map {SETTINGS_FIX}",
            )
        ]
    found = find_names(qbo, "Class", "Name", wanted, active_only=True)
    missing = [f"{name!r} ({setting})" for name, setting in wanted.items() if name.lower() not in found]
    if missing:
        return [
            blocking(
                PART,
                topic,
                f"QBO has no active class named {listed(missing)}: invoices would be sent without that class",
                f"create the class in QBO (Settings > All lists > Classes) or correct the name {SETTINGS_FIX}",
            )
        ]
    return [ok(PART, topic, f"class tracking per {company.class_tracking}; found {listed(repr(n) for n in wanted)}")]


def _custom_field(company: QboCompany, settings: Settings) -> Check:
    from atqbo.transform.invoices.payload import find_custom_field

    topic = "PO number custom field"
    wanted = settings.po_number_custom_field
    if not wanted:
        return ok(PART, topic, "po_number_custom_field is not set: Autotask PO numbers are not sent")
    if find_custom_field(wanted, company.custom_fields) is None:
        enabled = listed(repr(n) for n in company.custom_fields) or "none"
        return blocking(
            PART,
            topic,
            f"po_number_custom_field is {wanted!r} but QBO has no such invoice custom field switched on (enabled: "
            f"{enabled}): the PO numbers would not be sent",
            "add the custom field in QBO (Settings > Custom fields, on invoices) or correct po_number_custom_field "
            f"{SETTINGS_FIX}",
        )
    return ok(PART, topic, f"Autotask PO numbers go to the custom field {wanted!r}")


def _accounts(qbo: QuickBooksOnlineHook, company: QboCompany, settings: Settings) -> list[Check]:
    checks: list[Check] = []
    if settings.invoice_sync_enabled and settings.missing_item_action == "create":
        checks.append(_account(qbo, company, settings.new_item_income_account, "new_item_income_account", INCOME_TYPES))
    if po_sync_on(settings):
        if settings.po_missing_item_action == "create":
            checks.append(
                _account(
                    qbo, company, settings.po_new_item_expense_account, "po_new_item_expense_account", EXPENSE_TYPES
                )
            )
        checks.append(_ap_account(qbo, settings, company))
    return checks


def _account(qbo: QuickBooksOnlineHook, company: QboCompany, name: str, setting: str, types: tuple[str, ...]) -> Check:
    topic = f"Account {setting}"
    account = next(iter(qbo.query_all("Account", where=[where_eq("Name", name)])), None)
    if account is None:
        return blocking(
            PART,
            topic,
            f"QBO has no active account named {name!r} ({setting}): the items atqbo creates need it",
            f"set {setting} {SETTINGS_FIX} to the name of an existing {' or '.join(types)} account (QBO: Chart of "
            "accounts), or create it",
        )
    kind = str(account.get("AccountType"))
    if kind not in types:
        return blocking(
            PART,
            topic,
            f"the QBO account {name!r} ({setting}) is of type {kind!r}, not {' or '.join(types)}",
            f"set {setting} {SETTINGS_FIX} to an account of type {' or '.join(types)}",
        )
    currency = str((account.get("CurrencyRef") or {}).get("value") or company.home_currency)
    if company.multi_currency and currency != company.home_currency:
        return blocking(
            PART,
            topic,
            f"the QBO account {name!r} ({setting}) is in {currency}, not the home currency {company.home_currency}",
            f"set {setting} {SETTINGS_FIX} to a {company.home_currency} account",
        )
    return ok(PART, topic, f"{name!r}, {kind}, {currency}")


def _ap_account(qbo: QuickBooksOnlineHook, settings: Settings, company: QboCompany) -> Check:
    from atqbo.sync.purchase_orders.accounts import find_ap_account
    from atqbo.sync.purchase_orders.currency import QboCurrencies

    topic = "Account po_ap_account"
    currencies = QboCurrencies(multi_currency=company.multi_currency, home=company.home_currency)
    try:
        account = find_ap_account(qbo, settings, currencies)
    except AtqboConfigError as exc:
        return blocking(PART, topic, str(exc), f"correct po_ap_account {SETTINGS_FIX}")
    return ok(PART, topic, f"{account['Name']!r}, Accounts Payable, {company.home_currency}")


def _items(qbo: QuickBooksOnlineHook, settings: Settings) -> list[Check]:
    name = settings.default_item_name
    if not name or not settings.invoice_sync_enabled:
        return []
    topic = "Item default_item_name"
    found = find_names(qbo, "Item", "Name", {name}, active_only=True)
    if name.lower() in found:
        return [ok(PART, topic, f"{name!r} is an active QBO item")]
    if settings.missing_item_action == "default_item":
        return [
            blocking(
                PART,
                topic,
                f"missing_item_action is 'default_item' but QBO has no active item named {name!r}: every line whose "
                "item is missing would fail",
                f"create the item {name!r} in QBO (Sales > Products and services) or correct default_item_name "
                f"{SETTINGS_FIX}",
            )
        ]
    return [
        warning(
            PART,
            topic,
            f"QBO has no active item named {name!r} (default_item_name, the item of lines without a billing code)",
            f"create the item {name!r} in QBO, or let the first run create it (missing_item_action "
            f"{settings.missing_item_action!r})",
        )
    ]


def _terms(qbo: QuickBooksOnlineHook, autotask_terms: list[str]) -> Check:
    topic = "Payment terms"
    if not autotask_terms:
        return ok(PART, topic, "Autotask has no active payment terms")
    found = find_names(qbo, "Term", "Name", autotask_terms, active_only=True)
    missing = [t for t in autotask_terms if t.lower() not in found]
    if missing:
        return warning(
            PART,
            topic,
            f"QBO has no active term named {listed(repr(t) for t in missing)} (Autotask's payment terms, matched by "
            "name): invoices with those terms are sent with the customer's own QBO term",
            "create terms with exactly those names in QBO (Settings > All lists > Terms), or rename them in Autotask",
            detail="; ".join(missing),
        )
    return ok(PART, topic, f"every Autotask payment term has a QBO term of its name ({len(autotask_terms)})")


def _books_closed(prefs: dict[str, Any], run: RunInfo) -> Check:
    topic = "Books closed"
    closed = (prefs.get("AccountingInfoPrefs") or {}).get("BookCloseDate")
    if not closed:
        return ok(PART, topic, "QBO's books are not closed")
    through = date.fromisoformat(str(closed)[:10])
    earliest = run.parsed_settings.earliest_sync_date
    if earliest is not None and earliest > through:
        return ok(PART, topic, f"books closed through {through}; earliest_sync_date {earliest} is after it")
    return warning(
        PART,
        topic,
        f"QBO's books are closed through {through} and earliest_sync_date is "
        f"{earliest or 'not set'}: a document dated on or before {through} would be refused by QBO",
        f"set earliest_sync_date {SETTINGS_FIX} to the first day after {through} (or your cut-over day)",
    )
