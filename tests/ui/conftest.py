"""A real ``airflow api-server`` with the atqbo plugin, for the error-log UI tests (TOOL-08).

One server for the session, on a free port, in a scratch Airflow home whose metadata DB is a copy
of the migrated test DB. SimpleAuthManager with two users from a passwords file: ``admin`` (may
retry) and ``viewer`` (may only read). The state database is a SQLite file the server reaches
through ``AIRFLOW_CONN_ATQBO_STATE``; ``atqbo_settings`` is set through Airflow's REST API (stored in
the metadata DB, as Admin > Variables does), so tests can change it while the server runs.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.net_support import REPO, free_port
from tests.ui.ui_support import CHROMIUM, CHROMIUM_ARGS, RETRY_DAG_FILE, RETRY_DAG_ID

PASSWORDS = {"admin": secrets.token_urlsafe(12), "viewer": secrets.token_urlsafe(12)}


@dataclass
class UiServer:
    base: str
    home: Path
    state_db: Path
    env: dict[str, str]
    proc: subprocess.Popen
    log: Path
    _tokens: dict[str, str]

    def token(self, user: str = "admin") -> str:
        if user not in self._tokens:
            body = {"username": user, "password": PASSWORDS[user]}
            r = requests.post(f"{self.base}/auth/token", json=body, timeout=10)
            assert r.status_code == 201, r.text
            self._tokens[user] = r.json()["access_token"]
        return self._tokens[user]

    def headers(self, user: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def get(self, path: str, user: str | None = "admin", headers: dict | None = None, **kwargs) -> requests.Response:
        """GET as ``user`` (a Bearer JWT), or anonymously with ``user=None``."""
        return requests.get(
            f"{self.base}{path}",
            headers={**(self.headers(user) if user else {}), **(headers or {})},
            timeout=30,
            **kwargs,
        )

    def post(self, path: str, user: str | None = "admin", headers: dict | None = None, **kwargs) -> requests.Response:
        return requests.post(
            f"{self.base}{path}",
            headers={**(self.headers(user) if user else {}), **(headers or {})},
            timeout=30,
            **kwargs,
        )

    def set_settings(self, settings: dict | str | None) -> None:
        """Store atqbo_settings in the metadata DB (None: delete it = all defaults)."""
        requests.delete(f"{self.base}/api/v2/variables/atqbo_settings", headers=self.headers(), timeout=10)
        if settings is None:
            return
        value = settings if isinstance(settings, str) else json.dumps(settings)
        r = requests.post(
            f"{self.base}/api/v2/variables",
            headers=self.headers(),
            json={"key": "atqbo_settings", "value": value},
            timeout=10,
        )
        assert r.status_code == 201, r.text

    def retry_dag_known(self) -> bool:
        return self.get(f"/api/v2/dags/{RETRY_DAG_ID}").status_code == 200

    def dag_runs(self, dag_id: str = RETRY_DAG_ID) -> list[dict]:
        """Every run of the DAG, page by page (a reused checkout's metadata DB holds more than a page)."""
        runs: list[dict] = []
        while True:
            r = self.get(f"/api/v2/dags/{dag_id}/dagRuns?limit=100&offset={len(runs)}")
            assert r.status_code == 200, r.text
            page = r.json()
            runs += page["dag_runs"]
            if not page["dag_runs"] or len(runs) >= page["total_entries"]:
                return runs


def _copy_metadata_db(source: Path, target: Path) -> None:
    """A consistent copy even while other test sessions write to the source (SQLite backup API)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.fixture(scope="session")
def ui_server(airflow_db, tmp_path_factory):
    """The API server; stopped (its whole process group) at the end of the session."""
    home = tmp_path_factory.mktemp("airflow-ui-home")
    _copy_metadata_db(Path(airflow_db) / "airflow.db", home / "airflow.db")
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    state_db = home / "atqbo_state.db"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_VAR_", "AIRFLOW_CONN_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API__EXPOSE_CONFIG": "False",
            "AIRFLOW_CONN_ATQBO_STATE": json.dumps({"conn_type": "sqlite", "host": str(state_db)}),
        }
    )
    airflow = str(Path(sys.executable).with_name("airflow"))
    log = home / "api-server.log"
    with log.open("w") as out:
        command = [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = UiServer(f"http://127.0.0.1:{port}", home, state_db, env, proc, log, {})
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"airflow api-server exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
            try:
                if requests.get(f"{server.base}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"airflow api-server did not answer within 60 s:\n{log.read_text()[-4000:]}")
            time.sleep(0.3)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


@pytest.fixture
def state(ui_server):
    """The server's state database, empty, with its schema (as the first DAG run leaves it)."""
    from atqbo.ledger import Ledger

    ledger = Ledger.from_url(f"sqlite:///{ui_server.state_db}")
    ledger.create_schema()
    with ledger.transaction() as tx:
        for table in ("atqbo_error_log", "atqbo_run_history", "atqbo_sync_records"):
            tx._conn.cursor().execute(f"DELETE FROM {table}")
    yield ledger
    ledger.close()


@pytest.fixture
def settings(ui_server):
    """Set atqbo_settings for the server; the default used by these tests is invoiceNumber marker mode."""

    def apply(**values) -> None:
        ui_server.set_settings({"invoice_marker_field": "invoiceNumber", **values})

    apply()
    return apply


@pytest.fixture
def retry_dag(ui_server):
    """The real atqbo_retry_errors DAG parsed into the server's metadata DB, as the DAG processor would."""
    assert RETRY_DAG_FILE.is_file(), f"{RETRY_DAG_FILE.relative_to(REPO)} is missing: the view's Retry triggers it"
    if not ui_server.retry_dag_known():
        airflow = str(Path(sys.executable).with_name("airflow"))
        result = subprocess.run(
            [airflow, "dags", "reserialize"], cwd=REPO, env=ui_server.env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr[-3000:]
        output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        assert ui_server.retry_dag_known(), f"{RETRY_DAG_ID} not parsed:\n{output}"
    return RETRY_DAG_ID


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (the tests that use it skip where it is missing)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright missing: pip install -r requirements-test.txt"
    )
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def dags_loaded(ui_server) -> None:
    """atqbo's DAGs parsed into the server's metadata DB, as the DAG processor would: always, since
    the database may hold an older version of them (a form or a task as it was)."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    result = subprocess.run(
        [airflow, "dags", "reserialize"], cwd=REPO, env=ui_server.env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture
def page(browser, ui_server):
    """A browser tab signed in to Airflow as admin, the way the Airflow UI is (the _token cookie)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_cookies([{"name": "_token", "value": ui_server.token("admin"), "url": ui_server.base}])
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()
