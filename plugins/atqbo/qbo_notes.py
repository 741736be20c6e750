"""The PrivateNote atqbo writes on the QBO documents it creates, and what QBO writes there when it
voids one: how atqbo, and a person, tell atqbo's documents apart. Pure (no I/O), so the transforms
use it too; finding and reading the documents is ``atqbo.qbo_docs``.

An invoice's note starts ``Autotask invoice {id}``, a bill's ``Autotask PO {id}``
(``INVOICE_NOTE``, ``BILL_NOTE``). QBO keeps a voided invoice or payment with zero amounts and
``Voided - <the note it had>`` as its note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atqbo.money import as_decimal

# QBO keeps a voided transaction with zero amounts and "Voided - <the note it had>" as its note.
VOIDED_NOTE_PREFIX = "Voided"
_VOIDED_NOTE_SEPARATOR = "Voided - "


@dataclass(frozen=True)
class DocumentNote:
    """The PrivateNote atqbo writes on the documents it creates for one kind of Autotask record."""

    prefix: str  # "Autotask invoice", "Autotask PO"

    def text(self, autotask_id: int, reference: str | None = None) -> str:
        """``Autotask invoice 29684001 (INV-1001) - sent by atqbo``: what atqbo writes."""
        return self.mark(autotask_id) + (f" ({reference})" if reference else "") + " - sent by atqbo"

    def mark(self, autotask_id: int) -> str:
        """``Autotask invoice 29684001``: the part of the note that identifies the record."""
        return f"{self.prefix} {autotask_id}"

    def autotask_id(self, private_note: str | None) -> int | None:
        """The Autotask id in such a note, or None for any other note.

        The id is every digit after the prefix, so ``Autotask invoice 123`` is invoice 123, never
        12; a voided document's note has QBO's ``Voided - `` in front of atqbo's.
        """
        note = private_note or ""
        if note.startswith(_VOIDED_NOTE_SEPARATOR):
            note = note[len(_VOIDED_NOTE_SEPARATOR) :]
        head = self.prefix + " "
        if not note.startswith(head):
            return None
        rest = note[len(head) :]
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        return int(digits) if digits else None


INVOICE_NOTE = DocumentNote("Autotask invoice")
BILL_NOTE = DocumentNote("Autotask PO")


def is_voided(document: dict[str, Any]) -> bool:
    """How QBO shows a voided invoice or payment: zeroed, its PrivateNote starting "Voided"."""
    zeroed = as_decimal(document.get("TotalAmt")) == 0
    return zeroed and str(document.get("PrivateNote") or "").startswith(VOIDED_NOTE_PREFIX)


def pick_document(
    copies: list[dict[str, Any]], recorded_qbo_id: str | None = None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Which of atqbo's QBO documents for one Autotask record (``copies``, oldest first) stands for
    it: the one the ledger recorded, else the first one not voided, else the newest voided one.
    Also returns the other documents not voided (duplicates, for a person to look at)."""
    live = [c for c in copies if not is_voided(c)]
    recorded = next((c for c in copies if recorded_qbo_id and str(c["Id"]) == str(recorded_qbo_id)), None)
    chosen = recorded or (live[0] if live else (copies[-1] if copies else None))
    others = [c for c in live if chosen is None or str(c["Id"]) != str(chosen["Id"])]
    return chosen, others
