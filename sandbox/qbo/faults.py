"""QBO faults: the ``{"Fault": {"Error": [...], "type": ...}}`` a request gets when it breaks a rule,
one constructor per code, each with the real Message (and the real Detail where it is known).
"""

from __future__ import annotations

from typing import Any

# The admin who "finished first" in the stale-object message.
ADMIN_USER = "Jane Admin"


class Fault(Exception):
    """A QBO fault: HTTP ``status`` with ``{"Fault": {"Error": [...], "type": kind}}``.

    ``replayable`` is False for faults that mean "try again" (the one-name-at-a-time 6000):
    those are not kept for a ``requestid`` replay, so the retry really runs again.
    """

    def __init__(
        self,
        code: str,
        message: str,
        detail: str = "",
        element: str = "",
        *,
        status: int = 400,
        kind: str = "ValidationFault",
        replayable: bool = True,
    ):
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.status = status
        self.kind = kind
        self.replayable = replayable

    def fault(self) -> dict[str, Any]:
        return {
            "Error": [{"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}],
            "type": self.kind,
        }


def required(element: str) -> Fault:
    return Fault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def too_long(element: str, maximum: int, length: int) -> Fault:
    return Fault(
        "2050",
        "String length is either shorter or longer than supported by specification",
        "String length specified does not match the supported length. "
        f"Min:0 Max:{maximum} supported. Supplied length:{length}",
        element,
    )


def invalid_property(detail: str, element: str = "") -> Fault:
    return Fault("2010", "Request has invalid or unsupported property", f"Property Name:{detail}", element)


def wrong_shape(exc: Exception) -> Fault:
    """A body whose JSON types are not what the entity's schema says (an object where a list
    belongs, a string where an object does): the real service's deserializer refuses those."""
    return invalid_property(f"a value of the wrong JSON type specified is unsupported or invalid ({exc})")


def invalid_enum(element: str, value: Any) -> Fault:
    return Fault("2170", "Invalid Enumeration", f"Invalid Enumeration : {value}", element)


def invalid_reference(entity: str, element: str) -> Fault:
    return Fault(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {entity} assigned to this transaction has been deleted. "
        f"Before you can modify this transaction, you must restore {entity}",
        element,
    )


def inactive_reference(element: str) -> Fault:
    return Fault(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
        element,
    )


def object_not_found(transaction: bool) -> Fault:
    detail = (
        "Object Not Found : Another user has deleted this transaction."
        if transaction
        else "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees."
    )
    return Fault("610", "Object Not Found", detail)


def business(detail: str, element: str = "", *, replayable: bool = True) -> Fault:
    return Fault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
        replayable=replayable,
    )


def one_name_at_a_time() -> Fault:
    # Not kept for a requestid replay: it means "try again", so the retry must really run.
    return business("You can only add or edit one name at a time. Please try again.", replayable=False)


def one_foreign_currency(detail: str) -> Fault:
    """A transaction that mixes currencies (the real text, QB-FX), followed by what was mixed."""
    return business(f"You can only use one foreign currency per transaction. {detail}", "CurrencyRef")


def missing_tax_rate(tax_word: str) -> Fault:
    """A line of a global (non-US) company's transaction without a TaxCodeRef: the real text, with
    "VAT" (UK), "GST/HST" (Canada) or "GST" (Australia)."""
    return business(f"Make sure all your transactions have a {tax_word} rate before you save.")


def stale_object() -> Fault:
    return Fault(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and {ADMIN_USER} were working on this at the same time. "
        f"{ADMIN_USER} finished before you did, so your work was not saved.",
    )


def duplicate_name(kind: str) -> Fault:
    return Fault(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {kind} is already using this name. Please use a different name.",
    )


def duplicate_doc_number(doc_number: str, txn_type: str, txn_id: str) -> Fault:
    return Fault(
        "6140",
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. This number has already been used. "
        f"DocNumber={doc_number} is assigned to TxnType={txn_type} with TxnId={txn_id}",
    )


def period_closed() -> Fault:
    return Fault(
        "6210",
        "Account Period Closed",
        "The account period has closed and the books cannot be updated through the QBO services API. "
        "Please use the QBO user interface to make these changes.",
    )


def unsupported(detail: str) -> Fault:
    return Fault("500", "Unsupported Operation", detail)
