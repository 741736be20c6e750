"""The paid-date write: how atqbo sets ``paidDate`` on Autotask invoices, for the payment sync and
for the mark-paid tool (TOOL-06) alike. Autotask keeps the date only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from atqbo.hooks.autotask import AutotaskError, AutotaskHook


def write_paid_dates(autotask: AutotaskHook, marks: Iterable[tuple[int, date]]) -> dict[int, AutotaskError]:
    """PATCH each (Autotask invoice id, paid date), three at a time; Autotask's refusals by invoice id
    (the others were written). What concerns every invoice (credentials, Autotask down) raises."""
    return autotask.update_many("Invoices", [(invoice_id, {"paidDate": paid_on}) for invoice_id, paid_on in marks])
