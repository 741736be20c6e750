"""Sync one purchase order (TOOL-07): the trigger form of ``atqbo_sync_po``, its report title, and
its ``start`` task's work.

The work itself is the PO sync's own steps (``atqbo.sync.purchase_orders``) run over the one PO
asked for (``extract_purchase_orders(..., autotask_ids=[id])``), so a PO sent by hand becomes
exactly the bill the scheduled run would have made, under the same exactly-once rules. This
module stays light: the DAG file imports it when it is parsed.
"""

from __future__ import annotations

from typing import Any

from atqbo import forms

REPORT_TITLE = "atqbo sync one PO"

SYNC_PO_FIELDS = (
    forms.autotask_id(
        "autotask_po_id", "The Autotask purchase order's id (required).", title="Autotask purchase order id"
    ),
    forms.emails(
        "email",
        "Alternate email(s) for this run's report, one per line; they replace report_to for this run "
        "(empty: report_to).",
        title="Email the report to instead",
    ),
)


def start_sync_po(context: dict[str, Any], params: dict | None) -> dict[str, Any]:
    """Read the form and the settings (the PO sync's to-do settings are required, PO-08); returns
    what ``purchase_order_sync_tasks`` needs: the run, the one PO's id, the title, always email."""
    from atqbo.runs import start_tool_run

    form = forms.read_form(params, SYNC_PO_FIELDS)
    run = start_tool_run(context, alternate_recipients=form["email"])
    run.parsed_settings.require_purchase_order_settings()
    run.ledger().create_schema()
    recipients = ", ".join(form["email"]) or "report_to"
    print(f"Syncing Autotask purchase order {form['autotask_po_id']}; the report goes to {recipients}")
    return {
        "run": run.to_xcom(),
        "autotask_ids": [form["autotask_po_id"]],
        "title": REPORT_TITLE,
        "always_email": True,
    }
