"""Every DAG in dags/ imports cleanly, fast, and reads as a document: doc, tags, explicit retries."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
ALLOWED_TOP_LEVEL_IMPORTS = ("airflow.sdk", "pendulum", "atqbo", "__future__", "datetime")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    started = time.monotonic()
    bag = DagBag(dag_folder=str(DAGS_DIR))
    bag.parse_seconds = time.monotonic() - started
    return bag


def test_dags_folder_is_not_empty():
    assert DAG_FILES, "dags/ holds no DAG files"


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_every_file_defines_dags(dagbag):
    files_with_dags = {Path(d.fileloc).name for d in dagbag.dags.values()}
    assert files_with_dags == {p.name for p in DAG_FILES}


def test_parsing_is_fast(dagbag):
    # The DAG processor re-parses every 30 s; heavy work belongs inside tasks.
    assert dagbag.parse_seconds < 10, f"parsing dags/ took {dagbag.parse_seconds:.1f}s"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_only_the_sdk_pendulum_and_atqbo_at_top_level(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert name.startswith(ALLOWED_TOP_LEVEL_IMPORTS), f"{path.name}: top-level import of {name}"


def test_every_dag_is_documented_tagged_and_has_explicit_retries(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag_id.startswith("atqbo_"), dag_id
        assert dag.doc_md and len(dag.doc_md.strip()) > 100, f"{dag_id}: doc_md missing or thin"
        assert "atqbo" in dag.tags, f"{dag_id}: tags {dag.tags}"
        assert "retries" in dag.default_args, f"{dag_id}: retries not set explicitly in default_args"
        assert dag.max_active_runs is not None
        for task in dag.tasks:  # no task quietly overrides the DAG's retry policy
            assert task.retries == dag.default_args["retries"], f"{dag_id}.{task.task_id}"


TOOL_DAGS = {
    "atqbo_compare_items": "TOOL-01",
    "atqbo_copy_missing_items": "TOOL-02",
    "atqbo_preview_invoices": "TOOL-03",
    "atqbo_sync_now": "TOOL-04",
    "atqbo_copy_invoice": "TOOL-05",
    "atqbo_mark_invoice_paid": "TOOL-06",
    "atqbo_sync_po": "TOOL-07",
    "atqbo_retry_errors": "TOOL-08",
    "atqbo_reset": "TOOL-09",
}


@pytest.mark.parametrize("dag_id", sorted(TOOL_DAGS))
def test_every_tool_is_a_manual_dag_with_a_described_trigger_form(dagbag, dag_id):
    """TOOL-01..09: manual DAGs (schedule None), not retried behind the operator's back, whose
    trigger-form fields each say what they take, and whose doc names the feature."""
    dag = dagbag.dags[dag_id]
    assert type(dag.timetable).__name__ == "NullTimetable" and not dag.timetable.can_be_scheduled, dag.timetable
    assert "tools" in dag.tags
    assert dag.default_args["retries"] == 0
    assert TOOL_DAGS[dag_id] in dag.doc_md
    for name, param in dag.params.items():
        assert param.description and len(param.description) > 10, f"{dag_id}.{name}: no description"


def test_reconcile_runs_daily_and_alerts_on_failure(dagbag):
    """BEY-04: a scheduled DAG, retried and alerting like the syncs."""
    dag = dagbag.dags["atqbo_reconcile"]
    assert dag.timetable.can_be_scheduled and "BEY-04" in dag.doc_md
    assert dag.default_args["retries"] == 2 and dag.on_failure_callback


def test_bey10_every_param_of_every_dag_has_a_label_a_description_and_optional_ones_allow_null(dagbag):
    """BEY-10: every trigger-form field (tools and syncs) shows a human label (``title``) and says
    what it takes; a field the form may leave empty allows null, so Airflow's form marks it not
    required; the rest are the ones a run needs (an id, a number) or drop-downs that always hold one
    of their choices."""
    problems = []
    for dag_id, dag in sorted(dagbag.dags.items()):
        for name, param in dag.params.items():
            schema = param.schema
            title = schema.get("title") or ""
            if not title or title == name or "_" in title:
                problems.append(f"{dag_id}.{name}: no human label (title), has {title!r}")
            if not param.description or len(param.description) < 15:
                problems.append(f"{dag_id}.{name}: no description")
            kinds = schema.get("type")
            nullable = isinstance(kinds, list) and "null" in kinds
            always_set = "enum" in schema and param.value in schema["enum"]
            if not nullable and not always_set and param.has_value:
                problems.append(f"{dag_id}.{name}: has a default but its type {kinds!r} does not allow null")
            if "enum" in schema and "values_display" not in schema:
                problems.append(f"{dag_id}.{name}: a drop-down without values_display (shows raw values)")
    assert not problems, "\n".join(problems)


def test_bey10_the_syncs_dry_run_is_a_three_way_choice_back_to_the_setting(dagbag):
    """BEY-10: dry_run on each sync's form is "Use the setting" / yes / no, "Use the setting" by default."""
    syncs = [d for d in dagbag.dags.values() if "dry_run" in d.params]
    assert {d.dag_id for d in syncs} >= {
        "atqbo_invoices",
        "atqbo_invoice_voids",
        "atqbo_payments",
        "atqbo_purchase_orders",
    }
    for dag in syncs:
        param = dag.params.get_param("dry_run")
        assert param.value is None and param.schema["enum"] == [None, "yes", "no"], dag.dag_id
        assert param.schema["values_display"]["null"] == "Use the setting"
