"""The ledger's SQL: one named statement per file in ``sql/``, run inside one transaction (``Tx``).

The files are package data, read with ``importlib.resources``, so an installed atqbo finds them
wherever it lives. Each statement is written once for SQLite and PostgreSQL with ``:name``
parameters (sqlite3's style); ``Dialect.bind`` rewrites them for psycopg2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

SQL_DIR: Traversable = files("atqbo.ledger") / "sql"

_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@cache
def load_sql(name: str) -> str:
    """The text of statement ``name`` (``sql/<name>.sql``)."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no SQL statement {name!r} in {SQL_DIR}")
    return path.read_text(encoding="utf-8")


def statement_names() -> frozenset[str]:
    """The name of every packaged statement (``schema`` included)."""
    return frozenset(p.name.removesuffix(".sql") for p in SQL_DIR.iterdir() if p.name.endswith(".sql"))


@dataclass(frozen=True)
class Dialect:
    name: str
    serial_pk: str
    paramstyle: str  # "named" (sqlite3) or "pyformat" (psycopg2)

    def bind(self, sql: str) -> str:
        if self.paramstyle == "named":
            return sql
        # psycopg2: literal % must be doubled before :name becomes %(name)s
        return _NAMED_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


SQLITE = Dialect("sqlite", "INTEGER PRIMARY KEY AUTOINCREMENT", "named")
POSTGRESQL = Dialect("postgresql", "BIGSERIAL PRIMARY KEY", "pyformat")


class Tx:
    """One open transaction: run named statements from ``sql/``."""

    def __init__(self, conn: Any, dialect: Dialect):
        self._conn = conn
        self._dialect = dialect

    def execute(self, statement: str, /, **params: Any) -> int:
        """Run a statement; returns the number of rows it changed."""
        cur = self._conn.cursor()
        try:
            cur.execute(self._dialect.bind(load_sql(statement)), params)
            return cur.rowcount
        finally:
            cur.close()

    def all(self, statement: str, /, **params: Any) -> list[dict[str, Any]]:
        cur = self._conn.cursor()
        try:
            cur.execute(self._dialect.bind(load_sql(statement)), params)
            columns = [c[0] for c in cur.description]
            return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
        finally:
            cur.close()

    def one(self, statement: str, /, **params: Any) -> dict[str, Any] | None:
        rows = self.all(statement, **params)
        return rows[0] if rows else None

    def table_columns(self, table: str) -> frozenset[str]:
        """The column names of ``table`` (one of atqbo's own, never user input), on either database."""
        cur = self._conn.cursor()
        try:
            cur.execute(f"SELECT * FROM {table} WHERE 1 = 0")
            return frozenset(c[0] for c in cur.description)
        finally:
            cur.close()

    def execute_ddl(self, ddl: str) -> None:
        """Run one schema statement, given as text: ``schema.sql`` holds several, split by the caller."""
        cur = self._conn.cursor()
        try:
            cur.execute(ddl)
        finally:
            cur.close()
