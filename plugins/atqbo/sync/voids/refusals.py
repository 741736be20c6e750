"""What QBO's refusal of a void means: the requestid that lets a retry be a new request, what a
refusal is remembered by (so an unchanged invoice is not tried again), and its reason and fix."""

from __future__ import annotations

from typing import Any

from atqbo.hooks.qbo import QboBusinessValidation, QboFault
from atqbo.qbo_docs import applied_payment_ids
from atqbo.sync.voids.model import VoidTarget


def void_requestid(autotask_id: int, attempt: int) -> str:
    """The idempotency key of a void: stable for one attempt, new for a retry after a refusal."""
    base = f"atqbo-void-{autotask_id}"
    return base if attempt <= 1 else f"{base}-{attempt}"


def qbo_state_fingerprint(qbo_invoice: dict[str, Any]) -> str:
    """What a refusal is remembered by: the QBO invoice's version (any change to it moves the SyncToken)."""
    return f"Invoice {qbo_invoice['Id']} SyncToken {qbo_invoice.get('SyncToken')}"


def explain_void_refusal(target: VoidTarget, qbo_invoice: dict[str, Any], fault: QboFault) -> tuple[str, str]:
    """The failed row's reason and fix for a void QBO refused."""
    doc = qbo_invoice.get("DocNumber") or qbo_invoice["Id"]
    said = fault.detail or fault.message or str(fault)
    reason = (
        f"QBO refused to void invoice {doc} (Id {qbo_invoice['Id']}) for Autotask invoice {target.reference} "
        f"(id {target.autotask_id}): QBO fault {fault.code or '?'}: {said}"
    )
    text = f"{fault.message} {fault.detail}".lower()
    if isinstance(fault, QboBusinessValidation) and (applied_payment_ids(qbo_invoice) or "payment" in text):
        fix = (
            f"remove the payment in QBO (delete it, or unapply it from invoice {doc}), then the next run voids "
            "the invoice by itself (the change to the invoice is noticed)"
        )
    elif fault.hint:
        fix = (
            f"{fault.hint}; the next run tries again once the invoice changes in QBO, or ask for a retry in the "
            "error log"
        )
    else:
        fix = (
            f"fix what QBO says on invoice {doc}, or void it in QBO by hand; the next run tries again once the "
            "invoice changes in QBO, or ask for a retry in the error log"
        )
    return reason, fix
