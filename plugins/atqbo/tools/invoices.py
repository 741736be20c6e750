"""The invoice tools (TOOL-03/04/05): their trigger forms, what their first task decides, and the
words their reports add. The work is the invoice sync's own steps (``atqbo.sync.invoices.tasks``),
run with another ``InvoiceScope``:

- ``atqbo_preview_invoices`` (Check for invoices): a dry run over the last ``max_age_days`` with a
  numbering option; nothing is written to QBO or Autotask, and no lock is needed.
- ``atqbo_sync_now`` (Sync now): the whole sync, now, over the look-back, report to alternate
  recipients; it holds the invoice sync lock, so it never runs alongside ``atqbo_invoices``.
- ``atqbo_copy_invoice`` (Manually copy an invoice): one invoice by Autotask id whatever its
  marker and date; Overwrite makes a second QBO copy of one that was transferred.

This module stays light (the DAG files import it when they are parsed): the sync's code is
imported inside the functions that run in tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from atqbo import forms
from atqbo.forms import FormError
from atqbo.runs import RunInfo
from atqbo.settings import Settings

log = logging.getLogger(__name__)

# "settings" = the invoice_numbering setting; the others are its values (INV-04).
NUMBERING_CHOICES = ("settings", "qbo", "autotask_number", "autotask_id")
NUMBERING_WORDS = {
    "qbo": "QBO numbers the invoices",
    "autotask_number": "Autotask's invoice number",
    "autotask_id": "the Autotask invoice id",
}

PREVIEW_FIELDS = (
    forms.choice(
        "invoice_numbering",
        "How the invoices would be numbered: 'settings' = the invoice_numbering setting, 'qbo' = QBO numbers "
        "them, 'autotask_number' = Autotask's invoice number, 'autotask_id' = the Autotask invoice id.",
        NUMBERING_CHOICES,
        "settings",
        title="Invoice numbering",
        labels={
            "settings": "Use the setting (invoice_numbering)",
            "qbo": "QBO numbers them",
            "autotask_number": "Autotask's invoice number",
            "autotask_id": "The Autotask invoice id",
        },
    ),
    forms.whole_number(
        "max_age_days",
        "Oldest invoice to list, in days before now (empty: the invoice_lookback_days setting).",
        None,
        0,
        3650,
        title="Oldest invoice (days)",
    ),
    forms.emails(
        "email",
        "Also send the report to these addresses, one per line (report_to always gets it). Optional.",
        title="Also email the report to",
    ),
)

SYNC_NOW_FIELDS = (
    forms.emails(
        "email",
        "Alternate email(s) for this run's report, one per line; they replace report_to for this run "
        "(empty: report_to).",
        title="Email the report to instead",
    ),
)

COPY_FIELDS = (
    forms.autotask_id("autotask_invoice_id", "The Autotask invoice's id (required).", title="Autotask invoice id"),
    forms.flag(
        "overwrite",
        "Copy it even if it was transferred: QBO then has a second copy (the report names the older one, "
        "to void in QBO). Off: an invoice already in QBO is not copied.",
        title="Overwrite (make a second copy)",
    ),
    forms.emails(
        "email",
        "Also send the report to these addresses, one per line (report_to always gets it). Optional.",
        title="Also email the report to",
    ),
)


# -- pure decisions ---------------------------------------------------------------------------------


def numbering_override(choice: str, settings: Settings) -> str | None:
    """The ``invoice_numbering`` a preview runs with (None: the setting's own).

    Raises ``FormError`` for a choice the settings cannot take: in ``invoiceNumber`` marker mode an
    Autotask-numbered invoice would never look unsynced, so only QBO numbering works there.
    """
    if choice == "settings":
        return None
    if choice != "qbo" and settings.invoice_marker_field == "invoiceNumber":
        raise FormError(
            f"invoice_numbering: {choice!r} cannot be previewed while invoice_marker_field is 'invoiceNumber' "
            "(every Autotask-numbered invoice would look synced); nothing was done. Fix: choose 'settings' or "
            "'qbo', or change invoice_marker_field to 'webServiceDate' in atqbo_settings"
        )
    return choice


def preview_notes(choice: str, max_age_days: int, settings: Settings) -> tuple[str, ...]:
    """What the preview was asked, at the top of its report."""
    numbering = settings.invoice_numbering if choice == "settings" else choice
    source = "the invoice_numbering setting" if choice == "settings" else "chosen for this check"
    return (
        f"Check for invoices: what the next run would pick up from the last {max_age_days} day(s); nothing was "
        "written to QBO or Autotask.",
        f"Invoice numbering: {numbering} ({NUMBERING_WORDS[numbering]}; {source}).",
    )


def check_invoice_to_copy(autotask_id: int, invoice: Mapping[str, Any] | None) -> None:
    """Refuse, before anything is written, an id Autotask does not have or a voided invoice."""
    if invoice is None:
        raise FormError(
            f"autotask_invoice_id: Autotask has no invoice with id {autotask_id}; nothing was copied or written. "
            "Fix: look the invoice up in Autotask (its ID, not its invoice number) and trigger again"
        )
    if invoice.get("isVoided"):
        number = f" ({invoice['invoiceNumber']})" if invoice.get("invoiceNumber") else ""
        raise FormError(
            f"autotask_invoice_id: Autotask invoice {autotask_id}{number} is voided; a voided invoice is not copied "
            "to QBO and nothing was written. Fix: check the id; a QBO copy made before it was voided is voided by "
            "atqbo_invoice_voids (void_sync_enabled)"
        )


# -- first tasks ------------------------------------------------------------------------------------


def start_preview(context: dict[str, Any], params: Mapping[str, Any] | None) -> RunInfo:
    """TOOL-03: the form, then a dry run's settings (numbering override) and window (max age)."""
    from atqbo.runs import start_tool_run
    from atqbo.settings import load_settings
    from atqbo.sync.invoices.scope import InvoiceScope, begin_invoice_run

    form = forms.read_form(params, PREVIEW_FIELDS)
    settings = load_settings()
    numbering = numbering_override(form["invoice_numbering"], settings)
    days = settings.invoice_lookback_days if form["max_age_days"] is None else form["max_age_days"]
    run = start_tool_run(
        context,
        {"dry_run": True, "invoice_numbering": numbering},
        window_days=days,
        extra_recipients=form["email"],
    )
    scope = InvoiceScope(
        tool="preview",
        title="atqbo check for invoices",
        always_email=True,
        notes=preview_notes(form["invoice_numbering"], days, settings),
    )
    begin_invoice_run(run, run.ledger(), scope)
    log.info(
        "Checking the invoices dated %s with invoice_numbering %r (DRY RUN: nothing will be written)",
        run.describe_window(),
        run.parsed_settings.invoice_numbering,
    )
    return run


def start_sync_now(context: dict[str, Any], params: Mapping[str, Any] | None) -> RunInfo:
    """TOOL-04: the form, the look-back window up to now, the alternate recipients, the lock."""
    from atqbo.runs import start_tool_run
    from atqbo.settings import load_settings
    from atqbo.sync.invoices.scope import InvoiceScope, begin_invoice_run

    form = forms.read_form(params, SYNC_NOW_FIELDS)
    lookback = load_settings().invoice_lookback_days
    run = start_tool_run(context, window_days=lookback, alternate_recipients=form["email"])
    begin_invoice_run(run, run.ledger(), InvoiceScope(tool="sync_now", title="atqbo sync now", always_email=True))
    log.info(
        "Syncing the invoices dated %s now; the report goes to %s",
        run.describe_window(),
        ", ".join(run.parsed_settings.report_to) or "nobody (report_to is empty)",
    )
    return run


def start_copy(context: dict[str, Any], params: Mapping[str, Any] | None) -> RunInfo:
    """TOOL-05: the form, the invoice checked in Autotask (exists, not voided), then the lock."""
    from atqbo.hooks.autotask import AutotaskNotFoundError
    from atqbo.runs import start_tool_run
    from atqbo.sync.invoices.scope import InvoiceScope, begin_invoice_run

    form = forms.read_form(params, COPY_FIELDS)
    autotask_id = form["autotask_invoice_id"]
    run = start_tool_run(context, extra_recipients=form["email"])
    try:
        invoice = run.autotask().get("Invoices", autotask_id)
    except AutotaskNotFoundError:
        invoice = None
    check_invoice_to_copy(autotask_id, invoice)
    overwrite = "on: a new QBO invoice even if one exists" if form["overwrite"] else "off: not copied if already in QBO"
    scope = InvoiceScope(
        tool="copy",
        title=f"atqbo copy invoice {autotask_id}",
        autotask_ids=(autotask_id,),
        overwrite=form["overwrite"],
        always_email=True,
        notes=(f"Overwrite {overwrite}.",),
    )
    begin_invoice_run(run, run.ledger(), scope)
    log.info("Copying Autotask invoice %s to QBO (Overwrite %s)", autotask_id, overwrite)
    return run
