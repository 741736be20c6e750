-- atqbo state database. Runs on SQLite and PostgreSQL alike: timestamps are ISO-8601 UTC text
-- written by atqbo (never the database's clock), so comparisons mean the same on both.
-- __SERIAL_PK__ is the one dialect word: an auto-numbered integer primary key.

CREATE TABLE IF NOT EXISTS atqbo_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS atqbo_sync_records (
    entity TEXT NOT NULL,            -- invoice | invoice_void | payment | purchase_order
    autotask_id BIGINT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,  -- bumped by a deliberate re-copy (overwrite)
    realm_id TEXT,
    qbo_id TEXT,
    qbo_number TEXT,
    status TEXT NOT NULL,            -- PENDING | IN_PROGRESS | SYNCED | ERROR | SKIPPED
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    payload_hash TEXT,
    request_id TEXT,
    run_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (entity, autotask_id)
);

CREATE INDEX IF NOT EXISTS atqbo_sync_records_status ON atqbo_sync_records (entity, status);

CREATE TABLE IF NOT EXISTS atqbo_error_log (
    id __SERIAL_PK__,
    entity TEXT NOT NULL,
    autotask_id BIGINT,
    qbo_id TEXT,
    dag_id TEXT,
    run_id TEXT,
    message TEXT NOT NULL,
    fix TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    occurred_at TEXT NOT NULL,
    retry_requested_at TEXT,
    resolved_at TEXT,
    qbo_company TEXT                 -- the QBO company's Airflow connection id (BEY-07); NULL before version 3
);

CREATE INDEX IF NOT EXISTS atqbo_error_log_open ON atqbo_error_log (entity, resolved_at);

CREATE TABLE IF NOT EXISTS atqbo_oauth_tokens (
    realm_id TEXT PRIMARY KEY,
    refresh_token TEXT,
    access_token TEXT,
    access_expires_at TEXT,
    refresh_expires_at TEXT,
    version INTEGER NOT NULL DEFAULT 0,
    source_fingerprint TEXT,
    lease_owner TEXT,
    lease_until TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS atqbo_run_locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    details TEXT
);

-- Work in progress of one DAG run, shared by its tasks (which may run on different workers):
-- XCom carries only the run key. Purged after a week (every run's report purges what is older).
CREATE TABLE IF NOT EXISTS atqbo_staging (
    run_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    item_key TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_key, kind, item_key)
);

-- One row per finished sync or tool run: its report's counts (the UI view's "last runs").
CREATE TABLE IF NOT EXISTS atqbo_run_history (
    dag_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    counts TEXT NOT NULL,            -- JSON object: outcome -> number of records
    run_window TEXT,
    dry_run INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dag_id, run_id)
);

CREATE INDEX IF NOT EXISTS atqbo_run_history_finished ON atqbo_run_history (finished_at);
CREATE INDEX IF NOT EXISTS atqbo_run_history_dag ON atqbo_run_history (dag_id, finished_at);
CREATE INDEX IF NOT EXISTS atqbo_staging_created ON atqbo_staging (created_at);
