"""How the item tools read Autotask's and QBO's values: as text, as an active flag, Ids in numeric
order, and how a report names a billing code. No I/O."""

from __future__ import annotations

from typing import Any


def text(value: Any) -> str:
    """A value as text; None is blank."""
    return "" if value is None else str(value)


def is_active(value: Any) -> bool:
    """Autotask's isActive / QBO's Active; absent means active (QBO leaves out defaults)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no")
    return value is None or bool(value)


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def numeric_order(key: Any) -> tuple[int, str]:
    """Ids (Autotask ints, QBO numeric strings) in numeric order; anything else after them."""
    value = text(key)
    return (int(value), "") if value.isdigit() else (1 << 62, value)


def code_label(code: dict[str, Any]) -> str:
    """``billing code 'Remote Support' (id 29682803)``: how a note or reason names a billing code."""
    return f"billing code {text(code.get('name'))!r} (id {code.get('id')})"
