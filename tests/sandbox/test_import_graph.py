"""The sandbox's import graph: every import at module top, no cycle, every module says what it is for.

Read from the source with ``ast`` (nothing is imported), so a lazy import inside a function
counts as much as one at the top: a cycle hidden that way still fails here. A package's
``__init__`` runs before any of its submodules, but only the imports a file writes are edges;
a submodule that imports its own package (``from sandbox.qbo import X`` inside ``sandbox.qbo``)
is therefore a cycle, as it is at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "sandbox"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sandbox_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((ROOT / PACKAGE).rglob("*.py"))}


def imported_modules(name: str, path: Path, known: set[str]) -> list[tuple[str, ast.stmt]]:
    """(sandbox module, import statement) for every import in the file, wherever it is."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, ast.stmt]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            # ``from pkg import sub`` imports the submodule when there is one, else a name of pkg.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target in known:
                found.append((target, node))
    return found


def import_graph() -> dict[str, set[str]]:
    modules = sandbox_modules()
    known = set(modules)
    return {name: {target for target, _ in imported_modules(name, path, known)} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that starts and ends on the same module, or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once fully explored
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_sandbox_import_graph_has_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_every_import_is_at_module_top():
    late = []
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
                late.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert late == [], f"imports not at module top (move them up, or give the shared name a lower home): {late}"


def test_every_module_starts_with_a_docstring():
    missing = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / PACKAGE).rglob("*.py"))
        if not ast.get_docstring(ast.parse(path.read_text()))
    ]
    assert missing == []


def test_the_graph_is_read_from_every_kind_of_import():
    graph = import_graph()
    assert "sandbox.server" in graph["sandbox"]  # from sandbox.server import Sandbox
    assert "sandbox.core" in graph["sandbox.server"]
    assert {"sandbox.seeds.demo_autotask", "sandbox.seeds.demo_qbo"} <= graph["sandbox.seeds"]  # from pkg import sub


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"a"}}, ["a", "a"]),
        ({"x": {"a"}, "a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
    ],
)
def test_find_cycle_finds_every_kind_of_cycle(graph, cycle):
    assert find_cycle(graph) == cycle
