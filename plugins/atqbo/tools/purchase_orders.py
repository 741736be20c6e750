"""Sync one purchase order (TOOL-07): the trigger form of ``atqbo_sync_po`` and its report title.

The work itself is the PO sync's own steps (``atqbo.sync.purchase_orders``) run over the one PO
asked for (``extract_purchase_orders(..., autotask_ids=[id])``), so a PO sent by hand becomes
exactly the bill the scheduled run would have made, under the same exactly-once rules. This
module stays light: the DAG file imports it when it is parsed.
"""

from __future__ import annotations

from atqbo import forms

REPORT_TITLE = "atqbo sync one PO"

SYNC_PO_FIELDS = (
    forms.autotask_id("autotask_po_id", "The Autotask purchase order's id (required)."),
    forms.emails(
        "email",
        "Alternate email(s) for this run's report, one per line; they replace report_to for this run "
        "(empty: report_to).",
    ),
)
