"""The ledger's tables: ``sql/schema.sql``, created when missing at every task start.

The schema is one file for both databases; ``__SERIAL_PK__`` is its one dialect word (an
auto-numbered integer primary key).
"""

from __future__ import annotations

import re

from atqbo.ledger.core import LedgerPart
from atqbo.ledger.statements import POSTGRESQL, Dialect, load_sql

SCHEMA_VERSION = "2"


def schema_statements(dialect: Dialect) -> list[str]:
    """The statements of ``schema.sql`` for ``dialect``, comments removed, one per ``;``."""
    ddl = load_sql("schema").replace("__SERIAL_PK__", dialect.serial_pk)
    return [s.strip() for s in re.sub(r"--[^\n]*", "", ddl).split(";") if s.strip()]


class Schema(LedgerPart):
    dialect: Dialect

    def create_schema(self) -> None:
        """Create the tables if missing (idempotent; safe to call at every task start).

        On PostgreSQL concurrent creators take turns (a transaction-scoped advisory lock,
        ``sql/schema_lock.sql``): its ``CREATE TABLE IF NOT EXISTS`` is not safe against itself, and
        on a distributed Airflow the first runs of several DAGs start together on a fresh state
        database (BEY-06). SQLite's ``BEGIN IMMEDIATE`` already serializes them.
        """
        with self.transaction() as tx:
            if self.dialect is POSTGRESQL:
                tx.execute("schema_lock")
            for statement in schema_statements(self.dialect):
                tx.execute_ddl(statement)
            tx.execute("meta_set", key="schema_version", value=SCHEMA_VERSION)
