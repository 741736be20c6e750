"""The ledger's tables: ``sql/schema.sql``, created when missing at every task start, and the columns
later versions added to tables an older atqbo made (``ADDED_COLUMNS``).

The schema is one file for both databases; ``__SERIAL_PK__`` is its one dialect word (an
auto-numbered integer primary key). ``schema.sql`` always describes the newest tables, so a fresh
database gets every column at once; ``CREATE TABLE IF NOT EXISTS`` leaves an existing table as it
is, so a database made by an older version gains the columns it lacks, one ``ALTER TABLE ... ADD
COLUMN`` each, in the same transaction. Version 3: ``atqbo_error_log.qbo_company`` (BEY-07).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from atqbo.ledger.core import LedgerPart
from atqbo.ledger.statements import POSTGRESQL, Dialect, Tx, load_sql

SCHEMA_VERSION = "3"


@dataclass(frozen=True)
class AddedColumn:
    """A column a schema version added to a table that older versions had already made."""

    version: str
    table: str
    column: str
    sql_type: str

    def ddl(self) -> str:
        return f"ALTER TABLE {self.table} ADD COLUMN {self.column} {self.sql_type}"


# Oldest first. Each is in schema.sql too (fresh databases); an added column must be nullable or
# have a default, as the rows already there get NULL (or the default).
ADDED_COLUMNS: tuple[AddedColumn, ...] = (
    AddedColumn("3", "atqbo_error_log", "qbo_company", "TEXT"),  # BEY-07: which QBO company
)


def schema_statements(dialect: Dialect) -> list[str]:
    """The statements of ``schema.sql`` for ``dialect``, comments removed, one per ``;``."""
    ddl = load_sql("schema").replace("__SERIAL_PK__", dialect.serial_pk)
    return [s.strip() for s in re.sub(r"--[^\n]*", "", ddl).split(";") if s.strip()]


def add_missing_columns(tx: Tx) -> list[str]:
    """Add every column of ``ADDED_COLUMNS`` its table lacks; returns them as ``table.column``.

    Idempotent: a column already there (a fresh database, or one migrated before) is left alone.
    """
    added = []
    columns: dict[str, frozenset[str]] = {}
    for change in ADDED_COLUMNS:
        if change.table not in columns:
            columns[change.table] = tx.table_columns(change.table)
        if change.column not in columns[change.table]:
            tx.execute_ddl(change.ddl())
            added.append(f"{change.table}.{change.column}")
    return added


class Schema(LedgerPart):
    dialect: Dialect

    def create_schema(self) -> list[str]:
        """Create the tables if missing and add the columns a newer version added (idempotent; safe
        to call at every task start). Returns the columns it added (``table.column``), usually none.

        On PostgreSQL concurrent creators take turns (a transaction-scoped advisory lock,
        ``sql/schema_lock.sql``): its ``CREATE TABLE IF NOT EXISTS`` is not safe against itself, and
        on a distributed Airflow the first runs of several DAGs start together on a fresh state
        database (BEY-06); after an upgrade they start together on an older one, and the second to
        get the lock finds the columns the first added (PostgreSQL's DDL is transactional). SQLite's
        ``BEGIN IMMEDIATE`` already serializes them.
        """
        with self.transaction() as tx:
            if self.dialect is POSTGRESQL:
                tx.execute("schema_lock")
            for statement in schema_statements(self.dialect):
                tx.execute_ddl(statement)
            added = add_missing_columns(tx)
            tx.execute("meta_set", key="schema_version", value=SCHEMA_VERSION)
        return added
