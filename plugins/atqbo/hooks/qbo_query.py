"""QuickBooks Online's query language: literals, WHERE conditions and the statements the hook sends.

QBO's dialect has no parameters, so every value goes into the statement as a literal; ``quote``
is the one place that writes them (a wrongly escaped quote would read another customer's records).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def quote(value: Any) -> str:
    """A literal for QBO's query language.

    Strings are single-quoted with backslashes and single quotes escaped by a backslash
    (``O'Brien \\ Sons`` -> ``'O\\'Brien \\\\ Sons'``); numbers are bare; booleans are
    ``true``/``false``; dates and datetimes are quoted ISO-8601 (a datetime must be aware);
    ``None`` is QBO's null, a quoted single space.
    """
    if value is None:
        return "' '"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"QBO query datetimes need a timezone: {value!r}")
        value = value.isoformat()
    elif isinstance(value, date):
        value = value.isoformat()
    text = str(value)
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def where_eq(field: str, value: Any) -> str:
    """``field = literal`` for a WHERE clause."""
    return f"{field} = {quote(value)}"


def where_in(field: str, values: Iterable[Any]) -> str:
    """``field IN (literal, ...)`` for a WHERE clause; an empty list is an error, not a match-all."""
    literals = [quote(v) for v in values]
    if not literals:
        raise ValueError(f"where_in({field!r}) needs at least one value")
    return f"{field} IN ({', '.join(literals)})"


def where_text(where: str | Iterable[str] | None) -> str:
    """One condition, or several AND-ed, as the text after WHERE ("" for none)."""
    if where is None:
        return ""
    if isinstance(where, str):
        return where.strip()
    return " AND ".join(w.strip() for w in where if w and w.strip())


def select_statement(
    entity: str, where: str | Iterable[str] | None = None, order_by: str | None = None, *, count: bool = False
) -> str:
    """``SELECT * FROM entity [WHERE ...] [ORDERBY ...]`` (``SELECT COUNT(*)`` with ``count``), without paging."""
    statement = f"SELECT {'COUNT(*)' if count else '*'} FROM {entity}"
    condition = where_text(where)
    if condition:
        statement += f" WHERE {condition}"
    if order_by:
        statement += f" ORDERBY {order_by}"
    return statement
