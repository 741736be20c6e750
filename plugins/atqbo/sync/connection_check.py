"""Checks that every connection atqbo needs works, each returning a small summary (no secrets).

Used by the ``atqbo_check_connections`` DAG: the first thing to run after setting up
connections, and what to run when a sync fails with an authentication or configuration error.
"""

from __future__ import annotations

from typing import Any

from atqbo.exceptions import AtqboConfigError
from atqbo.settings import Settings


def check_state_database(settings: Settings) -> dict[str, Any]:
    """Create the ledger's tables if missing and count what it holds."""
    from atqbo.ledger import Ledger

    ledger = Ledger.from_conn_id(settings.state_conn_id)
    ledger.create_schema()
    counts = {f"{r['entity']}:{r['status']}": r["n"] for r in ledger.count_sync_records()}
    return {
        "database": ledger.description,
        "sync_records": counts,
        "open_errors": len(ledger.list_errors()),
        "run_locks": [lock["name"] for lock in ledger.list_run_locks()],
    }


def check_autotask(settings: Settings) -> dict[str, Any]:
    """Zone discovery, authentication, the hourly budget and a picklist read."""
    from atqbo.hooks.autotask import AutotaskHook

    hook = AutotaskHook(settings.autotask_conn_id, budget_share=settings.autotask_budget_share)
    threshold = hook.threshold_information()
    statuses = hook.picklist("PurchaseOrders", "status")
    limit = threshold["externalRequestThreshold"]
    used = threshold["currentTimeframeRequestCount"]
    return {
        "requests_used_this_hour": used,
        "hourly_threshold": limit,
        "atqbo_budget": int(limit * settings.autotask_budget_share),
        "purchase_order_statuses": sorted(statuses.values()),
    }


def check_qbo(settings: Settings, adopt_connection_token: bool = False) -> dict[str, Any]:
    """OAuth refresh (rotated token saved in the ledger), company info and the preferences atqbo uses.

    ``adopt_connection_token``: first replace the stored refresh token with the connection's (after a
    reconnect, ERR-04). A refused token fails with ``QboTokenRevoked`` saying in plain words what it
    means and how to recover (``atqbo.qbo_token_help.explain_refused_token``).
    """
    from atqbo.hooks.qbo import QboTokenRevoked, QuickBooksOnlineHook
    from atqbo.qbo_token_help import explain_refused_token

    hook = QuickBooksOnlineHook(settings.qbo_conn_id, state_conn_id=settings.state_conn_id)
    adopted = hook.tokens.adopt_connection_token() if adopt_connection_token else None
    try:
        info = hook.company_info()
    except QboTokenRevoked:
        sandbox = hook.config.host.startswith(("http://127.", "http://localhost"))  # the local sandbox
        raise QboTokenRevoked(
            explain_refused_token(hook.tokens.stored_token_facts(), hook.config.conn_id, hook.realm_id, sandbox)
        ) from None
    prefs = hook.preferences()
    sales = prefs.get("SalesFormsPrefs", {})
    custom_fields = [
        pair.get("StringValue")
        for group in sales.get("CustomField", [])
        for pair in group.get("CustomField", [])
        if pair.get("Type") == "StringType" and pair.get("StringValue")
    ]
    return {
        "company": info.get("CompanyName"),
        "country": info.get("Country"),
        "automated_sales_tax": bool(prefs.get("TaxPrefs", {}).get("PartnerTaxEnabled")),
        "multi_currency": bool(prefs.get("CurrencyPrefs", {}).get("MultiCurrencyEnabled")),
        "custom_transaction_numbers": bool(sales.get("CustomTxnNumbers")),
        "custom_fields": custom_fields,
        "books_closed_through": prefs.get("AccountingInfoPrefs", {}).get("BookCloseDate"),
        **({"adopted_refresh_token": adopted} if adopted else {}),
    }


def check_qbo_companies(settings: Settings, adopt_connection_token: bool = False) -> dict[str, dict[str, Any]]:
    """BEY-07: ``check_qbo`` for every QBO connection of the settings (the default, then each
    route's), each with its company's settings; never stops at one. Connection id -> that company's
    summary with its ``realm_id``, or ``{"realm_id", "error"}`` saying why it failed."""
    from atqbo.hooks.qbo import QuickBooksOnlineHook

    results: dict[str, dict[str, Any]] = {}
    for conn_id in settings.qbo_conn_ids:
        realm_id = None
        try:
            company = settings.for_company(conn_id)
            realm_id = QuickBooksOnlineHook(conn_id, state_conn_id=settings.state_conn_id).realm_id
            results[conn_id] = {"realm_id": realm_id, **check_qbo(company, adopt_connection_token)}
        except Exception as exc:  # this company's connection or token; the others are still checked
            results[conn_id] = {"realm_id": realm_id, "error": f"{type(exc).__name__}: {exc}"}
    return results


def describe_qbo_companies(results: dict[str, dict[str, Any]]) -> list[str]:
    """One line per QBO company: its realm and name, or its failure."""
    lines = []
    for conn_id, result in results.items():
        realm = f"realm {result['realm_id']}" if result.get("realm_id") else "realm unknown"
        if "error" in result:
            lines.append(f"QBO company {conn_id} ({realm}): FAILED: {result['error']}")
        else:
            lines.append(f"QBO company {conn_id} ({realm}): ok, {result.get('company')!r}, {result.get('country')}")
    return lines


def check_qbo_connections(settings: Settings, adopt_connection_token: bool = False) -> dict[str, Any]:
    """The QBO check of the ``atqbo_check_connections`` DAG: with one company ``check_qbo`` as it
    always was; with several (BEY-07) every company is checked and logged, then a failure of any
    fails the check naming each company's result (the others' results are not hidden)."""
    import logging

    if len(settings.qbo_conn_ids) == 1:
        return check_qbo(settings, adopt_connection_token)
    log = logging.getLogger(__name__)
    results = check_qbo_companies(settings, adopt_connection_token)
    lines = describe_qbo_companies(results)
    for line in lines:
        log.log(logging.ERROR if "FAILED" in line else logging.INFO, "%s", line)
    failed = [conn_id for conn_id, result in results.items() if "error" in result]
    if failed:
        raise QboCompaniesFailed(
            f"{len(failed)} of {len(results)} QBO companies failed the check ({', '.join(failed)}):\n"
            + "\n".join(lines)
        )
    return {"companies": results}


class QboCompaniesFailed(AtqboConfigError):
    """At least one QBO company's connection does not work (each company's result in the message)."""


def check_smtp(settings: Settings) -> dict[str, Any]:
    """Connect and say hello to the SMTP server reports go through (sends nothing)."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=settings.smtp_conn_id) as hook:
        ok, message = hook.test_connection()
    if not ok:
        raise AtqboConfigError(
            f"the SMTP connection {settings.smtp_conn_id!r} does not answer ({message}); "
            "check its host, port and the disable_tls/disable_ssl extras"
        )
    return {"smtp": message, "report_to": settings.report_to or "(none: reports are only logged)"}
