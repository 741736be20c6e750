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
