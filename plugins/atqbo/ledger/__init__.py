"""The state ledger: what atqbo sent, what failed, its OAuth tokens and its run locks.

It lives in the database behind the ``atqbo_state`` Airflow connection: SQLite by default,
PostgreSQL for a distributed Airflow. Every statement is a file in ``sql/`` (package data, read
with ``importlib.resources``) written once for both; this module only loads, binds and runs them.
Timestamps are ISO-8601 UTC text made here, never by the database, so SQLite and PostgreSQL
compare them the same way.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from atqbo.exceptions import AtqboConfigError

SQL_DIR = files(__name__) / "sql"
SCHEMA_VERSION = "2"

SYNC_STATUSES = ("PENDING", "IN_PROGRESS", "SYNCED", "ERROR", "SKIPPED")

_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _json_default(value: Any) -> Any:
    """Staged data may hold dates and amounts: dates as ISO text, amounts as exact strings."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot stage a {type(value).__name__}")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_ts(value: datetime | None) -> str | None:
    """A datetime as the ledger's sortable UTC text."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("ledger timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime(_TS_FORMAT)


def from_ts(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.strptime(value, _TS_FORMAT).replace(tzinfo=UTC)


@cache
def load_sql(name: str) -> str:
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no SQL statement {name!r} in {SQL_DIR}")
    return path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class _Dialect:
    name: str
    serial_pk: str
    paramstyle: str  # "named" (sqlite3) or "pyformat" (psycopg2)

    def bind(self, sql: str) -> str:
        if self.paramstyle == "named":
            return sql
        # psycopg2: literal % must be doubled before :name becomes %(name)s
        return _NAMED_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


SQLITE = _Dialect("sqlite", "INTEGER PRIMARY KEY AUTOINCREMENT", "named")
POSTGRESQL = _Dialect("postgresql", "BIGSERIAL PRIMARY KEY", "pyformat")


class Tx:
    """One open transaction: run named statements from the package's sql/."""

    def __init__(self, conn: Any, dialect: _Dialect):
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


class Ledger:
    """Access to the state database. Thread-safe: each thread keeps its own DB connection."""

    def __init__(self, connect: Callable[[], Any], dialect: _Dialect, description: str):
        self._connect = connect
        self.dialect = dialect
        self.description = description  # for messages; never contains a password
        self._local = threading.local()

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_url(cls, url: str) -> Ledger:
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
    def for_sqlite(cls, path: str) -> Ledger:
        if not path or path == ":memory:":
            raise AtqboConfigError(
                "the atqbo_state SQLite connection needs a file path (host = /absolute/path/atqbo_state.db); "
                "an in-memory database would not be shared between tasks"
            )
        Path(path).parent.mkdir(parents=True, exist_ok=True)

        def connect() -> sqlite3.Connection:
            # autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE so that
            # concurrent writers (several Airflow tasks) queue on the lock instead of deadlocking.
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            return conn

        return cls(connect, SQLITE, f"sqlite:{path}")

    @classmethod
    def for_postgres(cls, host: str, port: int, user: str, password: str | None, dbname: str) -> Ledger:
        import psycopg2

        def connect() -> Any:
            return psycopg2.connect(
                host=host, port=port, user=user, password=password, dbname=dbname, connect_timeout=10
            )

        return cls(connect, POSTGRESQL, f"postgresql://{user}@{host}:{port}/{dbname}")

    @classmethod
    def from_conn_id(cls, conn_id: str = "atqbo_state") -> Ledger:
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
    def from_connection(cls, conn: Any, conn_id: str) -> Ledger:
        """The ledger behind an Airflow ``Connection`` object, however it was read."""
        conn_type = (conn.conn_type or "").lower()
        if conn_type == "sqlite":
            return cls.for_sqlite(conn.host or "")
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

    # -- plumbing --------------------------------------------------------------------------

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

    def create_schema(self) -> None:
        """Create the tables if missing (idempotent; safe to call at every task start)."""
        ddl = load_sql("schema").replace("__SERIAL_PK__", self.dialect.serial_pk)
        statements = [s.strip() for s in re.sub(r"--[^\n]*", "", ddl).split(";") if s.strip()]
        conn = self._conn()
        if self.dialect is SQLITE:
            conn.execute("BEGIN IMMEDIATE")
        try:
            cur = conn.cursor()
            for statement in statements:
                cur.execute(statement)
            cur.close()
            Tx(conn, self.dialect).execute("meta_set", key="schema_version", value=SCHEMA_VERSION)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    # -- small values kept between runs (atqbo_meta) ---------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A value atqbo keeps between runs (say a sync's watermark), or None when never set."""
        with self.transaction() as tx:
            row = tx.one("meta_get", key=key)
        return None if row is None else row["value"]

    def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing what was there."""
        with self.transaction() as tx:
            tx.execute("meta_set", key=key, value=value)

    # -- OAuth tokens (used by the QBO hook) -----------------------------------------------

    def get_oauth_token(self, realm_id: str) -> dict[str, Any] | None:
        with self.transaction() as tx:
            row = tx.one("token_get", realm_id=realm_id)
        if row is None:
            return None
        for key in ("access_expires_at", "refresh_expires_at", "lease_until", "updated_at"):
            row[key] = from_ts(row[key])
        return row

    def claim_token_refresh(self, realm_id: str, owner: str, lease_seconds: float) -> bool:
        now = utcnow()
        with self.transaction() as tx:
            tx.execute("token_ensure_row", realm_id=realm_id, now=to_ts(now))
            changed = tx.execute(
                "token_claim_refresh",
                realm_id=realm_id,
                owner=owner,
                now=to_ts(now),
                lease_until=to_ts(now + timedelta(seconds=lease_seconds)),
            )
        return changed == 1

    def save_oauth_token(
        self,
        realm_id: str,
        *,
        refresh_token: str,
        access_token: str | None,
        access_expires_at: datetime | None,
        refresh_expires_at: datetime | None,
        source_fingerprint: str | None,
        owner: str,
    ) -> None:
        now = utcnow()
        with self.transaction() as tx:
            tx.execute("token_ensure_row", realm_id=realm_id, now=to_ts(now))
            tx.execute(
                "token_save",
                realm_id=realm_id,
                refresh_token=refresh_token,
                access_token=access_token,
                access_expires_at=to_ts(access_expires_at),
                refresh_expires_at=to_ts(refresh_expires_at),
                source_fingerprint=source_fingerprint,
                now=to_ts(now),
            )

    def release_token_refresh(self, realm_id: str, owner: str) -> None:
        with self.transaction() as tx:
            tx.execute("token_release", realm_id=realm_id, owner=owner)

    # -- sync records ----------------------------------------------------------------------

    def get_sync_record(self, entity: str, autotask_id: int) -> dict[str, Any] | None:
        with self.transaction() as tx:
            return tx.one("sync_record_get", entity=entity, autotask_id=int(autotask_id))

    def list_sync_records(self, entity: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        with self.transaction() as tx:
            return tx.all("sync_record_list", entity=entity, status=status)

    def record_intent(
        self,
        entity: str,
        autotask_id: int,
        *,
        payload_hash: str,
        request_id: str,
        run_id: str | None = None,
        realm_id: str | None = None,
        generation: int = 0,
    ) -> None:
        """Say, before a QBO write, what is about to be sent and under which requestid."""
        with self.transaction() as tx:
            tx.execute(
                "sync_record_intent",
                entity=entity,
                autotask_id=int(autotask_id),
                generation=generation,
                realm_id=realm_id,
                payload_hash=payload_hash,
                request_id=request_id,
                run_id=run_id,
                now=to_ts(utcnow()),
            )

    def set_sync_status(
        self,
        entity: str,
        autotask_id: int,
        status: str,
        *,
        qbo_id: str | None = None,
        qbo_number: str | None = None,
        last_error: str | None = None,
        run_id: str | None = None,
        realm_id: str | None = None,
        payload_hash: str | None = None,
    ) -> None:
        if status not in SYNC_STATUSES:
            raise ValueError(f"unknown sync status {status!r}; expected one of {SYNC_STATUSES}")
        with self.transaction() as tx:
            tx.execute(
                "sync_record_set_status",
                entity=entity,
                autotask_id=int(autotask_id),
                status=status,
                qbo_id=qbo_id,
                qbo_number=qbo_number,
                last_error=last_error,
                run_id=run_id,
                realm_id=realm_id,
                payload_hash=payload_hash,
                now=to_ts(utcnow()),
            )

    def reset_in_progress(self, entity: str | None = None) -> int:
        with self.transaction() as tx:
            return tx.execute("sync_record_reset_in_progress", entity=entity, now=to_ts(utcnow()))

    def requeue_sync_record(self, entity: str, autotask_id: int) -> bool:
        """TOOL-08: an ERROR record back to PENDING; True when there was one."""
        with self.transaction() as tx:
            return (
                tx.execute("sync_record_requeue", entity=entity, autotask_id=int(autotask_id), now=to_ts(utcnow())) == 1
            )

    def list_in_progress(self) -> list[dict[str, Any]]:
        """TOOL-09: records marked IN_PROGRESS (a QBO write was about to be sent) and never settled."""
        with self.transaction() as tx:
            return tx.all("sync_record_list_in_progress")

    def reset_in_progress_record(self, entity: str, autotask_id: int) -> bool:
        with self.transaction() as tx:
            return (
                tx.execute("sync_record_reset_one", entity=entity, autotask_id=int(autotask_id), now=to_ts(utcnow()))
                == 1
            )

    def count_sync_records(self) -> list[dict[str, Any]]:
        with self.transaction() as tx:
            return tx.all("sync_record_count_by_status")

    # -- error log -------------------------------------------------------------------------

    def log_error(
        self,
        entity: str,
        autotask_id: int | None,
        message: str,
        *,
        fix: str | None = None,
        qbo_id: str | None = None,
        dag_id: str | None = None,
        run_id: str | None = None,
    ) -> int:
        """Record a failure; the same open failure of the same record is counted, not repeated.

        Returns the error log entry's id.
        """
        now = to_ts(utcnow())
        with self.transaction() as tx:
            existing = None
            if autotask_id is not None:
                existing = tx.one("error_log_find_open", entity=entity, autotask_id=int(autotask_id), message=message)
            if existing:
                tx.execute("error_log_bump", id=existing["id"], now=now, dag_id=dag_id, run_id=run_id, fix=fix)
                return int(existing["id"])
            row = tx.one(
                "error_log_insert",
                entity=entity,
                autotask_id=None if autotask_id is None else int(autotask_id),
                qbo_id=qbo_id,
                dag_id=dag_id,
                run_id=run_id,
                message=message,
                fix=fix,
                attempts=1,
                now=now,
            )
            return int(row["id"])

    def list_errors(
        self,
        entity: str | None = None,
        since: datetime | None = None,
        include_resolved: bool = False,
        autotask_ids: Iterable[int] | None = None,
    ) -> list[dict[str, Any]]:
        """Error log entries, newest first: open ones (or all), of one entity, since a time, of some records."""
        with self.transaction() as tx:
            rows = tx.all(
                "error_log_list", entity=entity, since=to_ts(since), include_resolved=1 if include_resolved else 0
            )
        if autotask_ids is not None:
            wanted = {int(i) for i in autotask_ids}
            rows = [r for r in rows if r["autotask_id"] is not None and int(r["autotask_id"]) in wanted]
        return rows

    def get_error(self, error_id: int) -> dict[str, Any] | None:
        with self.transaction() as tx:
            return tx.one("error_log_get", id=int(error_id))

    def resolve_errors(self, entity: str, autotask_id: int) -> int:
        with self.transaction() as tx:
            return tx.execute("error_log_resolve", entity=entity, autotask_id=int(autotask_id), now=to_ts(utcnow()))

    def request_retry(self, error_id: int) -> bool:
        with self.transaction() as tx:
            return tx.execute("error_log_request_retry", id=int(error_id), now=to_ts(utcnow())) == 1

    # -- run history: each finished run's counts -----------------------------------------------

    def record_run(
        self, dag_id: str, run_id: str, counts: Mapping[str, int], *, window: str | None = None, dry_run: bool = False
    ) -> None:
        with self.transaction() as tx:
            tx.execute(
                "run_history_put",
                dag_id=dag_id,
                run_id=run_id,
                now=to_ts(utcnow()),
                counts=json.dumps(dict(counts), sort_keys=True),
                run_window=window or None,
                dry_run=1 if dry_run else 0,
            )

    def list_runs(self, dag_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The latest finished runs, newest first, counts decoded."""
        with self.transaction() as tx:
            rows = tx.all("run_history_list", dag_id=dag_id, limit=int(limit))
        for row in rows:
            row["counts"] = json.loads(row["counts"])
            row["dry_run"] = bool(row["dry_run"])
        return rows

    # -- staging: one run's work in progress, shared by its tasks --------------------------

    def stage_put(self, run_key: str, kind: str, items: dict[str, Any]) -> None:
        """Store JSON-able ``items`` (key -> value) under ``run_key``/``kind``, replacing same keys."""
        now = to_ts(utcnow())
        with self.transaction() as tx:
            for key, value in items.items():
                tx.execute(
                    "staging_put",
                    run_key=run_key,
                    kind=kind,
                    item_key=str(key),
                    data=json.dumps(value, default=_json_default, sort_keys=True),
                    now=now,
                )

    def stage_get(self, run_key: str, kind: str) -> dict[str, Any]:
        with self.transaction() as tx:
            rows = tx.all("staging_get", run_key=run_key, kind=kind)
        return {row["item_key"]: json.loads(row["data"]) for row in rows}

    def stage_clear(self, run_key: str, kind: str | None = None) -> int:
        with self.transaction() as tx:
            return tx.execute("staging_clear", run_key=run_key, kind=kind)

    def stage_purge(self, older_than: timedelta = timedelta(days=7)) -> int:
        with self.transaction() as tx:
            return tx.execute("staging_purge", before=to_ts(utcnow() - older_than))

    # -- run locks -------------------------------------------------------------------------

    def acquire_run_lock(self, name: str, owner: str, ttl_seconds: float, details: str | None = None) -> bool:
        """Hold ``name`` for ``owner`` until released or ``ttl_seconds`` pass (then anyone may take it)."""
        now = utcnow()
        with self.transaction() as tx:
            tx.execute(
                "run_lock_acquire",
                name=name,
                owner=owner,
                now=to_ts(now),
                expires_at=to_ts(now + timedelta(seconds=ttl_seconds)),
                details=details,
            )
            row = tx.one("run_lock_get", name=name)
        return row is not None and row["owner"] == owner

    def get_run_lock(self, name: str) -> dict[str, Any] | None:
        with self.transaction() as tx:
            row = tx.one("run_lock_get", name=name)
        if row:
            row["acquired_at"] = from_ts(row["acquired_at"])
            row["expires_at"] = from_ts(row["expires_at"])
        return row

    def release_run_lock(self, name: str, owner: str) -> bool:
        with self.transaction() as tx:
            return tx.execute("run_lock_release", name=name, owner=owner) == 1

    def list_run_locks(self) -> list[dict[str, Any]]:
        with self.transaction() as tx:
            rows = tx.all("run_lock_list")
        for row in rows:
            row["acquired_at"] = from_ts(row["acquired_at"])
            row["expires_at"] = from_ts(row["expires_at"])
        return rows

    def clear_run_locks(self, stale_only: bool = True) -> int:
        with self.transaction() as tx:
            return tx.execute("run_lock_clear", stale_only=1 if stale_only else 0, now=to_ts(utcnow()))
