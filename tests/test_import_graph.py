"""The import graph of the ``atqbo`` package, read from the source with ``ast``: no cycles, and
each layer imports only what is below it (the "one home per concept" rules of the README's
"Layout").

Layers, bottom up: the hooks (each service's I/O) and the pure transforms; the shared layer every
flow uses (runs, locks, money, records, qbo_docs, qbo_names, forms, dags, settings, ledger,
notify, ...); the flows (``atqbo.sync.<flow>``), which never import each other or a tool; the
tools (``atqbo.tools.<tool>``), which may import the one flow they wrap but never another tool;
the UI view on top. For the layers every import counts: at module top, inside a function, or
under ``TYPE_CHECKING``. For cycles, an import only for annotations (under ``TYPE_CHECKING``) does
not: a report's renderings may name the report type they render without the two modules loading
each other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.net_support import REPO

PACKAGE = REPO / "plugins" / "atqbo"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def type_checking_nodes(tree: ast.Module) -> set[int]:
    """The ids of the import nodes under ``if TYPE_CHECKING:`` blocks."""
    found: set[int] = set()
    for node in ast.walk(tree):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
            found |= {id(n) for child in node.body for n in ast.walk(child)}
    return found


def imported_modules(name: str, path: Path, known: set[str], runtime_only: bool = False) -> Iterator[tuple[str, int]]:
    """The atqbo modules ``name`` imports (an imported name that is a module counts as that module);
    ``runtime_only``: not those imported only for annotations."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text())
    annotations_only = type_checking_nodes(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if id(node) in annotations_only:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] == "atqbo" and target != name:
                while target not in known and "." in target:
                    target = target.rsplit(".", 1)[0]
                yield target, node.lineno


def graph(runtime_only: bool = False) -> dict[str, dict[str, int]]:
    found = modules()
    known = set(found)
    return {name: dict(imported_modules(name, path, known, runtime_only)) for name, path in found.items()}


GRAPH = graph()
RUNTIME_GRAPH = graph(runtime_only=True)


def test_the_package_has_no_import_cycles():
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(RUNTIME_GRAPH.get(node, {})):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target] if target in trail else [node, target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for start in sorted(RUNTIME_GRAPH):
        if start not in state:
            visit(start, [start])
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def layer(name: str) -> tuple[str, str | None]:
    """(layer, unit): a flow or tool is the unit under sync/ or tools/ (a module or a package)."""
    parts = name.split(".")
    if len(parts) >= 3 and parts[1] in ("sync", "tools"):
        return parts[1], parts[2]
    if len(parts) >= 2 and parts[1] in ("hooks", "transform", "ui"):
        return parts[1], None
    return "shared", None


def imports_in(layer_name: str) -> Iterator[tuple[str, str, int]]:
    for name, targets in GRAPH.items():
        if layer(name)[0] == layer_name:
            for target, line in targets.items():
                yield name, target, line


def where(name: str, line: int) -> str:
    path = modules()[name].relative_to(REPO)
    return f"{path}:{line}"


def test_a_flow_imports_no_other_flow_no_tool_and_no_view():
    bad = [
        f"{where(name, line)} imports {target}"
        for name, target, line in imports_in("sync")
        if layer(target)[0] in ("tools", "ui") or (layer(target)[0] == "sync" and layer(target) != layer(name))
    ]
    assert bad == []


def test_a_tool_imports_no_other_tool_and_no_view():
    bad = [
        f"{where(name, line)} imports {target}"
        for name, target, line in imports_in("tools")
        if layer(target)[0] == "ui" or (layer(target)[0] == "tools" and layer(target) != layer(name))
    ]
    assert bad == []


@pytest.mark.parametrize("below", ["shared", "hooks", "transform"])
def test_the_layers_below_the_flows_import_no_flow_tool_or_view(below):
    bad = [
        f"{where(name, line)} imports {target}"
        for name, target, line in imports_in(below)
        if layer(target)[0] in ("sync", "tools", "ui")
    ]
    assert bad == []


def test_the_hooks_import_only_the_hooks_the_errors_and_the_ledger_of_their_tokens():
    allowed = ("atqbo.hooks", "atqbo.exceptions", "atqbo.ledger")
    bad = [
        f"{where(name, line)} imports {target}"
        for name, target, line in imports_in("hooks")
        if not target.startswith(allowed)
    ]
    assert bad == []


def test_the_transforms_do_no_io():
    """transform/ is pure: no hook, ledger, notification or Airflow; only data rules below it."""
    allowed = (
        "atqbo.transform",
        "atqbo.money",
        "atqbo.settings",
        "atqbo.exceptions",
        "atqbo.qbo_notes",
        "atqbo.routes",
    )
    bad = [
        f"{where(name, line)} imports {target}"
        for name, target, line in imports_in("transform")
        if not target.startswith(allowed)
    ]
    assert bad == []


def test_the_checker_sees_imports_of_every_kind():
    """The rules above can fail: the graph holds a lazy import, a TYPE_CHECKING one and a package."""
    assert "atqbo.ledger" in GRAPH["atqbo.runs"]  # a function-level import in RunInfo.ledger
    assert "atqbo.sync.invoices.scope" in GRAPH["atqbo.tools.invoices"]
    assert "atqbo.transform.invoices.plan" in GRAPH["atqbo.transform.invoices"]
    assert layer("atqbo.sync.invoices.load") == ("sync", "invoices") != layer("atqbo.sync.voids")
    assert "atqbo.ledger" in GRAPH["atqbo.locks"] and "atqbo.ledger" not in RUNTIME_GRAPH["atqbo.locks"]
