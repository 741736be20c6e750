"""The ledger's SQL statements: packaged with the code (importlib.resources), every one the code
runs present, and bound for both databases."""

from __future__ import annotations

import ast
import tomllib
from fnmatch import fnmatch
from importlib.resources import files
from pathlib import Path

import pytest

import atqbo
from atqbo.ledger import POSTGRESQL, SQL_DIR, SQLITE, load_sql, statement_names
from tests.net_support import REPO

_TX_METHODS = {"execute", "all", "one"}


def _statements_the_code_runs() -> set[str]:
    """Every statement name atqbo's code passes to ``tx.execute/all/one`` or ``load_sql``."""
    names = set()
    for source in Path(atqbo.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
                continue
            func = node.func
            by_tx = (
                isinstance(func, ast.Attribute)
                and func.attr in _TX_METHODS
                and isinstance(func.value, ast.Name)
                and func.value.id == "tx"
            )
            by_loader = isinstance(func, ast.Name) and func.id == "load_sql"
            if by_tx or by_loader:
                names.add(node.args[0].value)
    return names


def test_every_statement_is_packaged_sql():
    names = {p.name.removesuffix(".sql") for p in SQL_DIR.iterdir() if p.name.endswith(".sql")}
    assert {"schema", "sync_record_intent", "token_claim_refresh", "run_lock_acquire", "error_log_insert"} <= names
    with pytest.raises(FileNotFoundError, match="no SQL statement"):
        load_sql("does_not_exist")


def test_every_statement_the_code_runs_is_a_packaged_resource():
    used = _statements_the_code_runs()
    assert len(used) > 30  # the scan found the ledger's statements, not nothing
    packaged = statement_names()
    assert used - packaged == set(), "statements run by the code but missing from atqbo/ledger/sql/"
    assert packaged - used == set(), "packaged statements no code runs"
    for name in used:
        assert (files("atqbo.ledger") / "sql" / f"{name}.sql").read_text(encoding="utf-8").strip()
        assert load_sql(name).strip()


def test_pyproject_declares_the_sql_as_package_data():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["atqbo.ledger"]
    for name in statement_names():
        assert any(fnmatch(f"sql/{name}.sql", pattern) for pattern in patterns), name


def test_named_parameters_are_bound_for_psycopg2_and_a_literal_percent_survives():
    sql = "SELECT :a, x::text FROM t WHERE b LIKE '10%' AND c = :c_1"
    assert SQLITE.bind(sql) == sql
    assert POSTGRESQL.bind(sql) == "SELECT %(a)s, x::text FROM t WHERE b LIKE '10%%' AND c = %(c_1)s"
