"""The hooks' public face: what the rest of atqbo imports from ``atqbo.hooks.autotask`` and
``atqbo.hooks.qbo`` stays there (in ``__all__``), the dotted paths Airflow resolves (provider hook
classes, the DAGs' retry policy) still match the classes that moved, and the package's imports
are all at module top and free of cycles.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from airflow.sdk import RetryAction, RetryRule

from atqbo.exceptions import AtqboConfigError, AtqboError
from atqbo.hooks import autotask, qbo
from atqbo.hooks.autotask import AutotaskAuthError, AutotaskError, AutotaskServerError
from atqbo.hooks.qbo import QboAuthError, QboFault, QboServerError, QboTokenRevoked

HOOKS = Path(autotask.__file__).parent

# What plugins/, dags/, tests/ and bench/ import from the two modules (grep "from atqbo.hooks.").
IMPORTED_FROM_AUTOTASK = {
    "AutotaskAmbiguousWriteError",
    "AutotaskAuthError",
    "AutotaskBudgetExhaustedError",
    "AutotaskError",
    "AutotaskHook",
    "AutotaskNotFoundError",
    "AutotaskPicklistError",
    "AutotaskServerError",
    "AutotaskThrottledError",
    "AutotaskValidationError",
    "and_",
    "begins_with",
    "contains",
    "eq",
    "exist",
    "gte",
    "in_",
    "lt",
    "lte",
    "normalize_filters",
    "not_exist",
    "or_",
}
IMPORTED_FROM_QBO = {
    "CDC_MAX_DAYS",
    "CDC_MAX_OBJECTS",
    "FAULT_CLASSES",
    "Backoff",
    "QboAuthError",
    "QboBusinessValidation",
    "QboDuplicateDocNumber",
    "QboDuplicateName",
    "QboFault",
    "QboInvalidReference",
    "QboObjectNotFound",
    "QboOneNameAtATime",
    "QboPeriodClosed",
    "QboServerError",
    "QboStaleObject",
    "QboThrottled",
    "QboTokenRevoked",
    "QboTokensUnreadable",
    "QuickBooksOnlineHook",
    "build_fault",
    "derive_requestid",
    "fault_from_payload",
    "parse_fault_body",
    "quote",
    "redact",
    "where_eq",
    "where_in",
}
# The limits flows size their chunks and worker pools by.
LIMITS = {
    autotask: {"MAX_IN_VALUES": 500, "MAX_PAGE_SIZE": 500, "MAX_CONCURRENT_PER_ENDPOINT": 3},
    qbo: {
        "MAX_IN_VALUES": 100,
        "MAX_BATCH_ITEMS": 30,
        "MAX_CONCURRENT_CALLS": 10,
        "CDC_MAX_DAYS": 30,
        "CDC_MAX_OBJECTS": 1000,
    },
}


@pytest.mark.parametrize("module, imported", [(autotask, IMPORTED_FROM_AUTOTASK), (qbo, IMPORTED_FROM_QBO)])
def test_everything_the_code_imports_is_declared_public(module, imported):
    assert imported <= set(module.__all__)
    assert len(set(module.__all__)) == len(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None, name


@pytest.mark.parametrize("module", [autotask, qbo])
def test_the_apis_limits_are_public_with_their_values(module):
    for name, value in LIMITS[module].items():
        assert name in module.__all__ and getattr(module, name) == value


def test_provider_hook_class_paths_still_resolve():
    from atqbo.provider_info import PROVIDER_INFO

    for entry in PROVIDER_INFO["connection-types"]:
        module, _, name = entry["hook-class-name"].rpartition(".")
        assert getattr(importlib.import_module(module), name).conn_type == entry["connection-type"]


def test_typed_errors_of_both_services_are_atqbo_errors():
    assert issubclass(QboFault, AtqboError) and issubclass(AutotaskError, AtqboError)


def test_retry_rule_paths_match_the_classes_that_moved():
    # Airflow's RetryRule imports a path string (module + attribute) and matches with isinstance, so
    # the public modules' re-exports keep the DAGs' old paths working after the classes moved.
    assert AutotaskAuthError.__module__ == "atqbo.hooks.autotask_errors"
    assert QboAuthError.__module__ == "atqbo.hooks.qbo_faults"
    rule = RetryRule(
        exception=[
            "atqbo.exceptions.AtqboConfigError",
            "atqbo.hooks.autotask.AutotaskAuthError",
            "atqbo.hooks.qbo.QboAuthError",
        ],
        action=RetryAction.FAIL,
    )
    for matching in (AtqboConfigError("x"), AutotaskAuthError("x"), QboAuthError("x"), QboTokenRevoked("x")):
        assert rule.matches(matching), matching
    for other in (AutotaskServerError("x"), QboServerError("x"), QboFault("x")):
        assert not rule.matches(other), other


def test_the_dags_retry_policy_fails_auth_errors_at_once():
    from atqbo.dags import NOT_RETRYABLE

    for exc in (AutotaskAuthError("x"), QboAuthError("x"), AtqboConfigError("x")):
        assert NOT_RETRYABLE.evaluate(exc, try_number=1, max_tries=3).action is RetryAction.FAIL
    assert NOT_RETRYABLE.evaluate(QboServerError("x"), try_number=1, max_tries=3).action is RetryAction.DEFAULT


def _hook_imports() -> dict[str, tuple[set[str], list[str]]]:
    """Per hooks module: the atqbo.hooks modules it imports, and any import not at module top."""
    found = {}
    for path in sorted(HOOKS.glob("*.py")):
        tree = ast.parse(path.read_text())
        top = {id(node) for node in tree.body}
        deps: set[str] = set()
        nested: list[str] = []
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if isinstance(node, ast.ImportFrom) and node.module == "atqbo.hooks":
                names = [f"atqbo.hooks.{a.name}" for a in node.names]
            if id(node) not in top:
                nested.append(f"line {node.lineno}: {', '.join(names)}")
            deps.update(n for n in names if n.startswith("atqbo.hooks."))
        found[f"atqbo.hooks.{path.stem}"] = (deps, nested)
    return found


def test_every_import_of_the_hooks_is_at_module_top():
    nested = {module: lines for module, (_, lines) in _hook_imports().items() if lines}
    assert nested == {}


def test_the_hooks_import_graph_has_no_cycle():
    graph = {module: deps for module, (deps, _) in _hook_imports().items()}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        assert module not in visiting, f"import cycle: {' -> '.join([*visiting[visiting.index(module) :], module])}"
        visiting.append(module)
        for dep in sorted(graph.get(module, ())):
            visit(dep)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert "atqbo.hooks.qbo" not in graph["atqbo.hooks.qbo_tokens"]  # the cycle there was
