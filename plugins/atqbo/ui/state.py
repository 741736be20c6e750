"""How the error-log view reads ``atqbo_settings`` and opens the state database inside the API server.

The DAGs use ``atqbo.settings.load_settings`` and ``Ledger.from_conn_id``, which read through the
Task SDK (``airflow.sdk.Variable`` / ``airflow.sdk.BaseHook``). In Airflow 3.3 those pick their
secrets backends by context: a task asks its supervisor; outside a task they read the metadata
database only when the private ``_AIRFLOW_PROCESS_CONTEXT=server`` marker is set (``airflow
api-server`` sets it in ``airflow/api_fastapi/main.py``), and otherwise fall back to environment
variables alone, where a Variable saved in Admin > Variables would silently read as missing, i.e.
"all defaults". The API server's own models, ``airflow.models.Variable.get`` and
``airflow.models.Connection.get_connection_from_secrets``, read the configured secrets backends,
environment variables and then the metastore, in any server-side process, so they are used here.

Every failure becomes ``Unavailable`` (what is wrong + how to fix it, never a password or a
stack trace); the app answers it with a 503 and the page shows it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from atqbo.exceptions import AtqboConfigError
from atqbo.ledger import Ledger
from atqbo.settings import VARIABLE_NAME, Settings, parse_settings

T = TypeVar("T")

_SETTINGS_FIX = f"fix the {VARIABLE_NAME} Variable in Admin > Variables (or AIRFLOW_VAR_ATQBO_SETTINGS)"


class ViewProblem(Exception):
    """What the view could not do, answered with HTTP ``status``: ``message`` says what is wrong,
    ``fix`` what to do (never a stack trace)."""

    status = 500

    def __init__(self, message: str, fix: str, status: int | None = None):
        super().__init__(f"{message}; {fix}")
        self.message = message
        self.fix = fix
        if status is not None:
            self.status = status


class Unavailable(ViewProblem):
    """The view cannot reach atqbo's state (settings or the state database)."""

    status = 503


def read_settings() -> Settings:
    """``atqbo_settings`` as the DAGs see it (missing = all defaults), read the API server's way."""
    from airflow.models.variable import Variable

    try:
        raw = Variable.get(VARIABLE_NAME, default_var=None)
    except Exception as exc:  # a secrets backend or the metadata DB failing: say so, without details
        raise Unavailable(
            f"the {VARIABLE_NAME} Variable could not be read ({type(exc).__name__})",
            "check the Airflow metadata database and secrets backend",
        ) from None
    try:
        return parse_settings(raw)  # the same reading as atqbo.settings.load_settings
    except AtqboConfigError as exc:
        raise Unavailable(str(exc), _SETTINGS_FIX) from None


@dataclass
class StateDb:
    """The ledger behind ``state_conn_id``, with what a failure message may name about it."""

    ledger: Ledger
    conn_id: str
    password: str | None = field(default=None, repr=False)  # only to blank it out of driver messages

    def run(self, query: Callable[[Ledger], T]) -> T:
        """Run ``query``; a database that cannot be reached or has no atqbo tables is ``Unavailable``."""
        try:
            return query(self.ledger)
        except (sqlite3.Error, OSError) as exc:
            raise self._failure(exc) from None
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("psycopg2", "psycopg"):
                raise self._failure(exc) from None
            raise

    def close(self) -> None:
        self.ledger.close()

    def _failure(self, exc: BaseException) -> Unavailable:
        lines = str(exc).strip().splitlines()
        text = lines[0][:200] if lines else ""
        if self.password:
            text = text.replace(self.password, "***")
        where = f"the state database {self.ledger.description} (connection {self.conn_id!r})"
        if "no such table" in text or ("relation" in text and "does not exist" in text):
            return Unavailable(
                f"{where} has no atqbo tables",
                "no atqbo DAG has run against it yet, or the connection "
                "points at the wrong database: check it in Admin > Connections",
            )
        if "no such column" in text or ("column" in text and "does not exist" in text):
            # the tables of an older atqbo (BEY-07 added atqbo_error_log.qbo_company in schema version 3):
            # the view changes nothing, the first task of any atqbo DAG upgrades them
            return Unavailable(
                f"{where} has the tables of an older atqbo version ({text})",
                "trigger atqbo_check_connections (or wait for the next scheduled atqbo run): the first task "
                "of any atqbo DAG upgrades the tables, keeping every entry",
            )
        # Ledger.description names host, port, database and user, never the password.
        return Unavailable(
            f"{where} cannot be reached ({type(exc).__name__}: {text})",
            f"check the connection {self.conn_id!r} in Admin > Connections (host, port, database, "
            "login) and that the database server is running",
        )


@contextmanager
def state_db(settings: Settings) -> Iterator[StateDb]:
    """``open_state_db`` for one request: closed when the request is done with it."""
    db = open_state_db(settings)
    try:
        yield db
    finally:
        db.close()


def open_state_db(settings: Settings) -> StateDb:
    """The state database behind ``settings.state_conn_id`` (connected at its first query).

    Mirrors ``Ledger.from_conn_id`` with the connection read the API server's way. Unlike a DAG
    task it never creates the database or its tables: a view that did would hide a connection
    pointing at the wrong place behind an empty error log.
    """
    from airflow.models.connection import Connection

    conn_id = settings.state_conn_id
    fix = (
        f"create or fix the Airflow connection {conn_id!r} in Admin > Connections (conn type sqlite with "
        "host = the absolute path of the file the atqbo DAGs use, or postgres), "
        f"or set state_conn_id in the {VARIABLE_NAME} Variable"
    )
    try:
        conn = Connection.get_connection_from_secrets(conn_id)
    except Exception:  # AirflowNotFoundException, or a backend failing: the fix is the same
        raise Unavailable(f"the Airflow connection {conn_id!r} for the atqbo state database is missing", fix) from None
    conn_type = (conn.conn_type or "").lower()
    if conn_type == "sqlite":
        path = conn.host or ""
        if not path or path == ":memory:" or not Path(path).is_absolute():
            raise Unavailable(
                f"connection {conn_id!r} needs host = an absolute SQLite file path (it has {path!r})", fix
            )
        if not Path(path).is_file():
            raise Unavailable(
                f"the state database file {path} (connection {conn_id!r}) does not exist",
                "point the connection at the file the atqbo DAGs use; it is created by their first run",
            )
    elif conn_type not in ("postgres", "postgresql"):
        raise Unavailable(f"connection {conn_id!r} has conn type {conn.conn_type!r}", fix)
    return StateDb(Ledger.from_connection(conn, conn_id), conn_id, conn.password or None)
