"""The preflight's settings part: what the ``atqbo_settings`` Variable turns on, and the rules across
keys that the syncs enforce when they start (so a missing to-do setting shows now, not at the first
purchase order run). A Variable that does not validate at all stops the preflight's first task with
the one message that lists every bad key (``atqbo.settings``). No I/O.
"""

from __future__ import annotations

from atqbo.exceptions import AtqboConfigError
from atqbo.settings import VARIABLE_NAME, Settings
from atqbo.tools.preflight.model import Check, blocking, ok, warning

PART = "settings"


def po_sync_on(settings: Settings) -> bool:
    """The purchase order sync runs on its schedule (PO-01: a look-back of 0 pauses it)."""
    return settings.po_lookback_days > 0


def check_settings(settings: Settings) -> list[Check]:
    checks = [_syncs(settings)]
    if po_sync_on(settings):
        try:
            settings.require_purchase_order_settings()
            checks.append(ok(PART, "Purchase order settings", "todo_action_type and todo_resource_id are set"))
        except AtqboConfigError as exc:
            checks.append(
                blocking(
                    PART,
                    "Purchase order settings",
                    f"the purchase order sync is on (po_lookback_days {settings.po_lookback_days}) but it cannot "
                    f"start: {exc}",
                    f"set the missing keys in the {VARIABLE_NAME} Variable (Admin > Variables), or set "
                    "po_lookback_days to 0 to leave purchase orders out",
                )
            )
    checks += _companies(settings)
    if settings.report_to:
        checks.append(ok(PART, "Report recipients", f"reports go to {', '.join(settings.report_to)}"))
    else:
        checks.append(
            warning(
                PART,
                "Report recipients",
                "report_to is empty: the syncs' reports and failure alerts are only written to the task logs",
                f"set report_to in the {VARIABLE_NAME} Variable to the billing team's address(es)",
            )
        )
    if settings.dry_run:
        checks.append(
            warning(
                PART,
                "Dry run",
                "dry_run is true: every scheduled sync only plans and writes nothing to QBO or Autotask",
                f"set dry_run to false in the {VARIABLE_NAME} Variable when the preflight is clean, to go live",
            )
        )
    return checks


def _companies(settings: Settings) -> list[Check]:
    """BEY-07: with ``qbo_routes``, each QBO company's settings (its route's applied: what its
    documents are made with, checked on their own when the Variable was read) and what goes there."""
    if not settings.qbo_routes:
        return []
    checks = []
    for conn_id in settings.qbo_conn_ids:
        company = settings.for_company(conn_id)
        route = next((r for r in settings.qbo_routes if r["qbo_conn_id"] == conn_id), None)
        if route is None:
            gets = "every document no route takes (the default qbo_conn_id)"
        else:
            taken = [f"division {d!r}" for d in route["divisions"]] + [
                f"Autotask company {i}" for i in route["company_ids"]
            ]
            gets = f"the documents of {', '.join(taken)}"
        edition = f"qbo_edition {company.qbo_edition}"
        if company.qbo_edition == "US":
            edition += f", tax_mode {company.tax_mode}"
        named = [
            f"{key} {getattr(company, key)!r}"
            for key in ("sales_tax_code", "exempt_sales_tax_code", "purchase_tax_code", "default_class")
            if getattr(company, key)
        ]
        own = sorted(route["settings"]) if route else []
        checks.append(
            ok(
                PART,
                "QBO company settings",
                f"{conn_id} gets {gets}; {edition}"
                + (f"; {', '.join(named)}" if named else "")
                + (
                    f"; its own settings: {', '.join(own)}"
                    if own
                    else ("" if route is None else "; no settings of its own")
                ),
            ).of_company(conn_id)
        )
    return checks


def _syncs(settings: Settings) -> Check:
    on = [
        name
        for name, enabled in (
            ("invoices", settings.invoice_sync_enabled),
            ("voids", settings.void_sync_enabled),
            ("payments", settings.payment_sync_enabled),
            ("purchase orders", po_sync_on(settings)),
        )
        if enabled
    ]
    if not on:
        return warning(
            PART,
            "Syncs turned on",
            "no sync is turned on: invoice_sync_enabled, void_sync_enabled and payment_sync_enabled are false "
            "and po_lookback_days is 0",
            f"turn on the syncs you want in the {VARIABLE_NAME} Variable",
        )
    edition = f"QBO edition {settings.qbo_edition}"
    if settings.qbo_edition == "US":
        edition += f", tax_mode {settings.tax_mode}"
    return ok(PART, "Syncs turned on", f"{', '.join(on)}; {edition}; marker field {settings.invoice_marker_field}")
