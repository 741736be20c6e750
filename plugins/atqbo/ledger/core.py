"""The ledger's core: which database it is (from a URL or an Airflow connection), one connection
per thread, and transactions. The concept parts (sync records, error log, ...) only ever call
``transaction()``.

SQLite runs in autocommit mode with transactions opened by ``BEGIN IMMEDIATE``, so concurrent
writers (several Airflow tasks) queue on the lock instead of deadlocking; PostgreSQL (psycopg2)
opens a transaction by itself.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urlparse

from atqbo.exceptions import AtqboConfigError
from atqbo.ledger.statements import POSTGRESQL, SQLITE, Dialect, Tx


def _unusable_sqlite_path(conn_id: str, path: str, exc: Exception) -> AtqboConfigError:
    """The error of a state database file that cannot be made or opened: the path, why, the fix."""
    return AtqboConfigError(
        f"the atqbo state database {path!r} (host of connection {conn_id!r}) cannot be opened: "
        f"{type(exc).__name__}: {exc}. Fix: set the host of {conn_id!r} to a file path in a directory the "
        "Airflow workers may create and write (a file, not a directory; on a disk they all share)"
    )


class LedgerPart:
    """What a concept part of the ledger uses of the core: one transaction at a time.

    An annotation only: ``LedgerCore`` provides it when the parts are composed into ``Ledger``.
    """

    transaction: Callable[[], AbstractContextManager[Tx]]


class LedgerCore(LedgerPart):
    """Connections and transactions. Thread-safe: each thread keeps its own DB connection."""

    def __init__(self, connect: Callable[[], Any], dialect: Dialect, description: str):
        self._connect = connect
        self.dialect = dialect
        self.description = description  # for messages; never contains a password
        self._local = threading.local()

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_url(cls, url: str) -> Self:
        """``sqlite:////abs/path.db`` or ``postgresql://user:pw@host:port/dbname``."""
        parsed = urlparse(url)
        if parsed.scheme == "sqlite":
            path = unquote(parsed.path)
            if url.startswith("sqlite:////"):
                path = "/" + path.lstrip("/")
            return cls.for_sqlite(path)
        if parsed.scheme in ("postgres", "postgresql"):
            return cls.for_postgres(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or 5432,
                user=unquote(parsed.username or "postgres"),
                password=unquote(parsed.password) if parsed.password else None,
                dbname=parsed.path.lstrip("/") or "postgres",
            )
        raise AtqboConfigError(f"unsupported state database URL scheme {parsed.scheme!r}: use sqlite or postgresql")

    @classmethod
    def for_sqlite(cls, path: str, conn_id: str = "atqbo_state") -> Self:
        if not path or path == ":memory:":
            raise AtqboConfigError(
                f"the {conn_id} SQLite connection needs a file path (host = /absolute/path/atqbo_state.db); "
                "an in-memory database would not be shared between tasks"
            )
        if not Path(path).is_absolute():
            # relative to each worker's own directory: every task would find another database
            raise AtqboConfigError(
                f"the {conn_id} SQLite connection's host {path!r} is a relative path, so each Airflow worker would "
                f"open a database of its own; set the host of connection {conn_id!r} to an absolute file path "
                "(e.g. /opt/airflow/atqbo/atqbo_state.db)"
            )
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # FileNotFoundError, PermissionError, NotADirectoryError, a read-only disk
            raise _unusable_sqlite_path(conn_id, path, exc) from exc

        def connect() -> sqlite3.Connection:
            # isolation_level=None: autocommit; transaction() opens each one with BEGIN IMMEDIATE.
            try:
                conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:  # "unable to open database file": a directory, no rights
                raise _unusable_sqlite_path(conn_id, path, exc) from exc
            conn.execute("PRAGMA busy_timeout=30000")
            return conn

        return cls(connect, SQLITE, f"sqlite:{path}")

    @classmethod
    def for_postgres(cls, host: str, port: int, user: str, password: str | None, dbname: str) -> Self:
        import psycopg2

        def connect() -> Any:
            return psycopg2.connect(
                host=host, port=port, user=user, password=password, dbname=dbname, connect_timeout=10
            )

        return cls(connect, POSTGRESQL, f"postgresql://{user}@{host}:{port}/{dbname}")

    @classmethod
    def from_conn_id(cls, conn_id: str = "atqbo_state") -> Self:
        """The ledger behind an Airflow connection (conn type ``sqlite`` or ``postgres``)."""
        from airflow.sdk import BaseHook

        try:
            conn = BaseHook.get_connection(conn_id)
        except Exception as exc:  # Airflow raises its own not-found type; the fix is the same
            raise AtqboConfigError(
                f"Airflow connection {conn_id!r} for the atqbo state database is missing: create it "
                f"(conn type sqlite with host = an absolute file path, or postgres), "
                f"or set state_conn_id in the atqbo_settings Variable"
            ) from exc
        return cls.from_connection(conn, conn_id)

    @classmethod
    def from_connection(cls, conn: Any, conn_id: str) -> Self:
        """The ledger behind an Airflow ``Connection`` object, however it was read."""
        conn_type = (conn.conn_type or "").lower()
        if conn_type == "sqlite":
            return cls.for_sqlite(conn.host or "", conn_id)
        if conn_type in ("postgres", "postgresql"):
            return cls.for_postgres(
                host=conn.host or "127.0.0.1",
                port=conn.port or 5432,
                user=conn.login or "postgres",
                password=conn.password or None,
                dbname=conn.schema or "postgres",
            )
        raise AtqboConfigError(
            f"connection {conn_id!r} has conn type {conn.conn_type!r}; the atqbo state database must be sqlite or "
            "postgres"
        )

    # -- connections and transactions ----------------------------------------------------------

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        conn = self._conn()
        if self.dialect is SQLITE:
            conn.execute("BEGIN IMMEDIATE")
        try:
            yield Tx(conn, self.dialect)
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
