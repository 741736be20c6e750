"""A plain wheel install of atqbo has every file the package reads: each file under
plugins/atqbo that is not Python is declared as package data in pyproject.toml."""

from __future__ import annotations

import fnmatch
import tomllib

from tests.net_support import REPO

PACKAGE = REPO / "plugins" / "atqbo"
SKIPPED = {"__pycache__"}


def declared(pyproject: dict) -> dict[str, list[str]]:
    return pyproject["tool"]["setuptools"]["package-data"]


def is_declared(path, package_data: dict[str, list[str]]) -> bool:
    for package, patterns in package_data.items():
        root = PACKAGE.parent.joinpath(*package.split("."))
        if root in path.parents:
            relative = path.relative_to(root).as_posix()
            if any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
                return True
    return False


def test_every_file_the_package_reads_ships_in_the_wheel():
    package_data = declared(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8")))
    data_files = [
        p
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and not SKIPPED & set(p.relative_to(PACKAGE).parts)
    ]
    assert data_files, "the package holds SQL, templates and static files"
    undeclared = [str(p.relative_to(REPO)) for p in data_files if not is_declared(p, package_data)]
    assert undeclared == [], "add these to [tool.setuptools.package-data] in pyproject.toml"


def test_the_check_catches_an_undeclared_file():
    package_data = {"atqbo.ledger": ["sql/*.sql"]}
    assert is_declared(PACKAGE / "ledger" / "sql" / "schema.sql", package_data)
    assert not is_declared(PACKAGE / "ui" / "templates" / "error_log.html", package_data)
