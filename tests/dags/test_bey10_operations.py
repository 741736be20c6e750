"""BEY-10, operations at a glance, with dag.test() against the sandbox over HTTP: a run whose
records failed ends FAILED in Airflow (its ``outcome`` task, not retried) with the counts as the
run's note and no second alert; skip reasons at WARNING and as the note; a fresh install's
scheduled syncs skip with one warning saying what to set; the failure alert carries the real
error, redacted; the metrics reach a real StatsD listener (a UDP socket)."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from datetime import timedelta

import pytest

from tests.dags.dag_support import load_dag, outcome_state, run_note, task_states, work_state
from tests.sync import po_support as ps

pytestmark = pytest.mark.integration

PO_DAG = "atqbo_purchase_orders"


@pytest.fixture
def tenant(airflow_db, sandbox_connections, monkeypatch):
    """The PO sync's seed: two POs that fail (a vendor name a QBO customer has, a non-purchasable
    item), the others sent."""
    ps.reset_and_seed(sandbox_connections, monkeypatch)
    return sandbox_connections


def _run(dag_id: str, minutes_later: int = 0, **overrides):
    dag = load_dag(dag_id)
    for task in dag.tasks:
        for key, value in overrides.items():
            setattr(task, key, value)
    return dag.test(logical_date=ps.LOGICAL_DATE + timedelta(minutes=minutes_later))


@pytest.fixture
def logged():
    """What atqbo logged (its ``atqbo.*`` loggers) during the test, as (level name, message)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    logger = logging.getLogger("atqbo")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def _warnings(records: list[logging.LogRecord], text: str) -> list[str]:
    return [r.getMessage() for r in records if r.levelno == logging.WARNING and text in r.getMessage()]


def test_bey10_failed_records_end_the_run_failed_not_retried_with_the_counts_as_note_and_no_second_alert(
    tenant, logged
):
    dagrun = _run(PO_DAG, retries=2)  # retries on every task: the verdict must not use them

    assert dagrun.state == "failed"  # red in the grid and the run list
    assert work_state(dagrun) == "success" and set(task_states(dagrun).values()) == {"success"}
    assert outcome_state(dagrun) == "failed"
    outcome_ti = next(ti for ti in dagrun.get_task_instances() if ti.task_id == "outcome")
    assert outcome_ti.try_number == 1 and outcome_ti.max_tries == 2  # failed at once, no retry

    note = run_note(dagrun)
    assert note.splitlines()[0] == "3 transferred, 2 failed, 1 warning", note
    assert f"PO {ps.PO_CLASH}" in note and "fix:" in note

    # The report's email and the PO-08 to-dos, once; no failure email and no run-failure to-do.
    subjects = [m["subject"] for m in tenant.mail.messages()]
    assert subjects == ["[atqbo] purchase orders: 3 transferred, 2 failed, 1 warning"], subjects
    assert len(ps.todos(tenant)) == 2 and all("run failed" not in t["activityDescription"] for t in ps.todos(tenant))
    assert _warnings(logged, "failed because records failed; the run's report has them, so no failure alert")
    # The failed records at WARNING, not only inside the INFO summary
    (failed,) = _warnings(logged, "2 record(s) failed:")
    assert f"  - PO {ps.PO_CLASH}: Autotask PO {ps.PO_CLASH}" in failed and f"PO {ps.PO_NOT_PURCHASABLE}" in failed


def test_bey10_a_clean_run_is_green_with_its_counts_as_note(tenant):
    dagrun = _run(PO_DAG, minutes_later=60 * 24 * 60)  # 60 days on: no PO left in the 14-day window
    assert dagrun.state == "success" and outcome_state(dagrun) == "success", task_states(dagrun)
    assert run_note(dagrun) == "Nothing to do: no records"


def test_bey10_a_switched_off_sync_skips_with_one_warning_and_says_why_in_the_note(
    airflow_db, sandbox_connections, monkeypatch, logged
):
    sandbox_connections.reset()
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({"report_to": ["billing@msp.example"]}))
    dagrun = _run("atqbo_invoice_voids")
    assert dagrun.state == "success" and outcome_state(dagrun) == "skipped"
    assert run_note(dagrun) == "Skipped: void sync is off (void_sync_enabled=false): nothing to do"
    assert len(_warnings(logged, "void sync is off")) == 1
    assert sandbox_connections.requests.list() == []


@pytest.mark.parametrize(
    "dag_id", ["atqbo_invoices", "atqbo_purchase_orders", "atqbo_invoice_voids", "atqbo_payments", "atqbo_reconcile"]
)
def test_bey10_a_fresh_install_without_the_settings_variable_skips_every_scheduled_sync_saying_what_to_set(
    dag_id, airflow_db, sandbox_connections, monkeypatch, logged
):
    sandbox_connections.reset()
    monkeypatch.delenv("AIRFLOW_VAR_ATQBO_SETTINGS", raising=False)
    dagrun = _run(dag_id)
    assert dagrun.state == "success", task_states(dagrun)  # never a failed run every 15 minutes
    assert task_states(dagrun)["start"] == "skipped"
    assert run_note(dagrun).startswith("Skipped: atqbo is not set up yet: the atqbo_settings Variable does not exist")
    assert len(_warnings(logged, "atqbo is not set up yet")) == 1
    assert sandbox_connections.requests.list() == [] and sandbox_connections.mail.messages() == []


def test_bey10_po_sync_without_its_todo_settings_skips_saying_which_to_set(tenant, monkeypatch, logged):
    ps.set_settings(monkeypatch, todo_action_type=None)
    dagrun = _run(PO_DAG)
    assert dagrun.state == "success" and task_states(dagrun)["start"] == "skipped"
    assert "the purchase order sync needs todo_action_type" in run_note(dagrun)
    assert len(_warnings(logged, "the purchase order sync needs todo_action_type")) == 1
    assert ps.bills(tenant) == {} and ps.todos(tenant) == []


def test_bey10_the_failure_alert_carries_the_real_error_with_no_secret(tenant, monkeypatch):
    """A wrong Autotask secret: the run fails once; the email and the to-do say what Autotask said,
    not "see the task log", and the secret appears nowhere in them."""
    secret = "Sup3r-Secret-Value-42"
    conn = tenant.connections()["autotask_default"]
    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps({**conn, "password": secret}))

    dagrun = _run(PO_DAG)

    assert work_state(dagrun) == "failed" and task_states(dagrun)["extract"] == "failed"
    mails = [m for m in tenant.mail.messages() if m["subject"] == f"[atqbo] {PO_DAG} run failed"]
    assert len(mails) == 1, [m["subject"] for m in tenant.mail.messages()]
    html = mails[0]["html"]
    assert "AutotaskAuthError" in html and "the task log has it" not in html
    assert secret not in html and secret not in json.dumps(tenant.state()["autotask"].get("CompanyToDos", []))
    assert run_note(dagrun).startswith("Failed: extract failed")


def test_bey10_redaction_removes_tokens_passwords_and_client_secrets():
    from atqbo.notify.failure import redact_secrets

    text = (
        "401 for https://api:hunter2@example.com/x with Authorization: Bearer eyJhbGciOi.abc.def, "
        'body {"client_secret": "cs-123456", "refresh_token": "RT-987"} password=pa55w0rd Secret: s3cr3t'
    )
    out = redact_secrets(text)
    for secret in ("hunter2", "eyJhbGciOi", "cs-123456", "RT-987", "pa55w0rd", "s3cr3t"):
        assert secret not in out, out
    assert "401 for https://api:***@example.com/x" in out


@pytest.fixture
def otlp_metrics(monkeypatch):
    """A real OpenTelemetry collector endpoint (OTLP over HTTP, protobuf: an HTTP server on a free
    port) that Airflow's ``[metrics] otel_on`` points at for one test; ``received()`` flushes
    Airflow's meter provider and returns {metric name: [(value, attributes), ...]}.

    Not StatsD: Airflow's StatsD backend needs the ``statsd`` package, which requirements.txt does
    not have (Airflow then logs "Could not configure StatsClient" and sends nothing)."""
    from airflow.sdk.observability import stats
    from airflow.sdk.observability.metrics.stats_utils import get_stats_factory
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    bodies: list[bytes] = []

    class Collector(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the handler's name is http.server's)
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AIRFLOW__METRICS__OTEL_ON", "True")
    monkeypatch.setenv("AIRFLOW__METRICS__OTEL_HOST", "127.0.0.1")
    monkeypatch.setenv("AIRFLOW__METRICS__OTEL_PORT", str(server.server_address[1]))
    monkeypatch.setenv("AIRFLOW__METRICS__OTEL_SSL_ACTIVE", "False")
    monkeypatch.setenv("AIRFLOW__METRICS__OTEL_INTERVAL_MILLISECONDS", "60000")
    stats.initialize(factory=get_stats_factory(), export_legacy_names=False)

    def received() -> dict[str, list[tuple[float, dict]]]:
        from opentelemetry import metrics

        metrics.get_meter_provider().force_flush()
        found: dict[str, list[tuple[float, dict]]] = {}
        for body in bodies:
            request = ExportMetricsServiceRequest.FromString(body)
            for resource in request.resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        points = metric.sum.data_points if metric.HasField("sum") else metric.gauge.data_points
                        for point in points:
                            value = point.as_int if point.HasField("as_int") else point.as_double
                            attrs = {a.key: a.value.string_value for a in point.attributes}
                            found.setdefault(metric.name, []).append((value, attrs))
        return found

    yield received
    from opentelemetry import metrics

    metrics.get_meter_provider().shutdown()  # before the collector goes: nothing left to send at exit
    monkeypatch.undo()
    stats.initialize(factory=get_stats_factory(), export_legacy_names=False)
    server.shutdown()


def test_bey10_records_api_calls_and_the_autotask_budget_reach_the_metrics_backend(tenant, otlp_metrics):
    dagrun = _run(PO_DAG)
    assert outcome_state(dagrun) == "failed"
    found = otlp_metrics()
    last = {name: points[-1][0] for name, points in found.items()}  # cumulative sums: the last is the total
    assert last.get(f"airflow.atqbo.records.transferred.{PO_DAG}") == 3, sorted(found)
    assert last.get(f"airflow.atqbo.records.failed.{PO_DAG}") == 2
    assert last.get(f"airflow.atqbo.records.warning.{PO_DAG}") == 1
    autotask_logged = len(tenant.requests.list(api="autotask"))
    assert last.get("airflow.atqbo.api.calls.autotask") == autotask_logged > 0  # each request, once
    assert last.get("airflow.atqbo.api.calls.qbo", 0) > 0
    assert 0 <= last.get("airflow.atqbo.autotask.budget_used_pct", -1) <= 100


def _detached_run(owner: str):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    dag_id, _, run_id = owner.partition("/")
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).one()
        session.expunge(run)  # as dag.test() hands it to the listener
    return run


def test_bey10_the_listener_never_replaces_a_note_a_person_wrote(live_run):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from atqbo.run_notes import set_run_note

    person, untouched = live_run("atqbo_invoices"), live_run("atqbo_invoices")
    with create_session() as session:
        dag_id, _, run_id = person.partition("/")
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).one()
        run.note = {"content": "looked at it: QBO was down, fine now", "user_id": "ana"}

    set_run_note(_detached_run(person), failed=True)
    set_run_note(_detached_run(untouched), failed=True)

    assert run_note(_detached_run(person)) == "looked at it: QBO was down, fine now"
    assert run_note(_detached_run(untouched)).startswith("Failed: the run failed.")
