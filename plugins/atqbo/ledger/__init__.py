"""The state ledger: what atqbo sent, what failed, its OAuth tokens and its run locks.

It lives in the database behind the ``atqbo_state`` Airflow connection: SQLite by default,
PostgreSQL for a distributed Airflow. Every statement is a file in ``sql/`` (package data) written
once for both; this package only loads, binds and runs them. Timestamps are ISO-8601 UTC text made
here, never by the database, so SQLite and PostgreSQL compare them the same way.

``Ledger`` is the one object the rest of atqbo uses. It is composed of the core (``core``:
which database, connections, transactions) and one part per concept, each in its own module and
each using only ``transaction()``: ``schema``, ``meta``, ``tokens``, ``sync_records``,
``error_log``, ``run_history``, ``staging``, ``run_locks``. The SQL itself is run by
``statements.Tx``; timestamps are made by ``timestamps``; the OAuth tokens are stored encrypted
with Airflow's Fernet key by ``token_cipher`` (BEY-11).
"""

from __future__ import annotations

from atqbo.ledger.core import LedgerCore
from atqbo.ledger.error_log import ErrorLog
from atqbo.ledger.meta import Meta
from atqbo.ledger.run_history import RunHistory
from atqbo.ledger.run_locks import RunLocks
from atqbo.ledger.schema import SCHEMA_VERSION, Schema
from atqbo.ledger.staging import Staging
from atqbo.ledger.statements import POSTGRESQL, SQL_DIR, SQLITE, Dialect, Tx, load_sql, statement_names
from atqbo.ledger.sync_records import SYNC_STATUSES, SyncRecords
from atqbo.ledger.timestamps import from_ts, to_ts, utcnow
from atqbo.ledger.tokens import OAuthTokens

__all__ = [
    "POSTGRESQL",
    "SCHEMA_VERSION",
    "SQLITE",
    "SQL_DIR",
    "SYNC_STATUSES",
    "Dialect",
    "Ledger",
    "Tx",
    "from_ts",
    "load_sql",
    "statement_names",
    "to_ts",
    "utcnow",
]


class Ledger(LedgerCore, Schema, Meta, OAuthTokens, SyncRecords, ErrorLog, RunHistory, Staging, RunLocks):
    """Access to the state database. Thread-safe: each thread keeps its own DB connection.

    Open one with ``Ledger.from_conn_id`` (an Airflow connection) or ``Ledger.from_url``, call
    ``create_schema`` once, then use the parts' methods; ``close`` ends this thread's connection.
    """
