"""docs/ checked against the code, both ways, so the documentation cannot drift from what it documents.

* The feature catalogue (docs/features.md): every feature ID used anywhere in the code, tests, scripts
  or README has an entry; every entry marked built names test files that exist and tests in them that
  carry its ID; nothing in the code claims an ID the catalogue calls not built yet; every
  ``atqbo....`` name and file an entry cites exists.
* The settings reference (docs/settings.md): its built keys are exactly ``atqbo.settings.SPEC``'s,
  with the same defaults and allowed values; the keys it lists as not built yet are not in ``SPEC``.
* Every "api-facts N.N" section cited anywhere exists in docs/api-facts.md, every page of docs/ is in
  its index, every relative link in docs/ resolves, and nothing in the repository points to material
  outside it.

A feature ID is a family (the letters of the catalogue's IDs: INV, PO, TOOL, ...) and two digits, in
any of its spellings: ``INV-13``, ``INV13``, ``inv13`` (as in ``test_inv13_...``), ``INV_13``.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FEATURES = DOCS / "features.md"
SETTINGS = DOCS / "settings.md"
API_FACTS = DOCS / "api-facts.md"

# Where feature IDs are used (and must therefore be catalogued).
ID_SOURCES = ("plugins", "dags", "sandbox", "tests", "bench", "scripts", "README.md")
# Never read: tool caches, virtual environments, build output, local Airflow homes.
SKIPPED_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".airflow-test", "airflow-home"}
SKIPPED_DIRS |= {".run", "build", "dist", "node_modules"}

NOT_BUILT_PART = "## Not built yet"
ENTRY_HEADING = re.compile(r"^### (?P<id>[A-Z]+-\d{2}) (?P<title>\S.*)$", re.MULTILINE)
STATUS = re.compile(r"^- \*\*Status:\*\* (?P<status>built|not built yet)\b", re.MULTILINE)
FIELD = "- **{name}:**"
TICKED = re.compile(r"`([^`]+)`")
TEST_FILE = re.compile(r"^tests/\S+\.py$")
REPO_FILE = re.compile(r"^(dags|plugins|bench|sandbox|scripts)/\S+$")
ATQBO_NAME = re.compile(r"^atqbo(\.[A-Za-z_]\w*)+$")


# -- reading the repository ------------------------------------------------------------------------


def repository_files(*tops: str) -> list[Path]:
    """Text files under ``tops`` (files or folders of the repository), skipping caches and envs."""
    found: list[Path] = []
    for top in tops:
        path = ROOT / top
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        for candidate in candidates:
            parts = candidate.relative_to(ROOT).parts
            if any(p in SKIPPED_DIRS or p.endswith(".egg-info") for p in parts) or not candidate.is_file():
                continue
            if b"\0" not in candidate.read_bytes()[:8192]:
                found.append(candidate)
    return found


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def where(path: Path, text: str, offset: int) -> str:
    """``file:line`` of ``offset`` in ``text``, for failure messages."""
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, offset) + 1}"


# -- the feature catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One feature of docs/features.md: its heading, its body, and whether it says it is built."""

    feature_id: str
    title: str
    body: str
    built: bool
    in_not_built_part: bool

    def field(self, name: str) -> str:
        """The text of a ``- **Name:**`` bullet (up to the next bullet), or ""."""
        start = self.body.find(FIELD.format(name=name))
        if start < 0:
            return ""
        end = self.body.find("\n- **", start + 1)
        return self.body[start : end if end >= 0 else len(self.body)]

    def named_tests(self) -> dict[str, list[str]]:
        """Test file -> the test names the Tests bullet gives for it ("`file`: `test_a`, `test_b`; ...")."""
        named: dict[str, list[str]] = {}
        current = None
        for token in TICKED.findall(self.field("Tests")):
            if TEST_FILE.match(token):
                current = named.setdefault(token, [])
            elif token.startswith("test") and current is not None:
                current.append(token)
        return named

    def cited_code(self) -> list[str]:
        return [t for t in TICKED.findall(self.field("Code")) if ATQBO_NAME.match(t) or REPO_FILE.match(t)]


@cache
def catalogue() -> dict[str, Entry]:
    text = text_of(FEATURES)
    not_built_at = text.find("\n" + NOT_BUILT_PART + "\n")
    assert not_built_at > 0, f"docs/features.md has no '{NOT_BUILT_PART}' part"
    headings = list(ENTRY_HEADING.finditer(text))
    entries: dict[str, Entry] = {}
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        end = following.start() if following else len(text)
        part_end = text.find("\n## ", heading.end())
        body = text[heading.end() : min(end, part_end) if part_end >= 0 else end]
        status = STATUS.search(body)
        feature_id = heading["id"]
        assert status, f"docs/features.md: {feature_id} has no '- **Status:** built|not built yet' line"
        assert feature_id not in entries, f"docs/features.md: {feature_id} has two entries"
        entries[feature_id] = Entry(
            feature_id, heading["title"], body, status["status"] == "built", heading.start() > not_built_at
        )
    return entries


@cache
def id_pattern() -> re.Pattern[str]:
    """Any spelling of an ID of a family the catalogue knows; not inside a longer word or number."""
    families = sorted({fid.split("-")[0] for fid in catalogue()}, key=len, reverse=True)
    return re.compile(rf"(?<![A-Za-z0-9])({'|'.join(families)})[-_]?(\d{{2}})(?!\d)", re.IGNORECASE)


def ids_in(text: str) -> set[str]:
    return {f"{m.group(1).upper()}-{m.group(2)}" for m in id_pattern().finditer(text or "")}


@cache
def id_uses() -> dict[str, list[str]]:
    """Feature ID -> every ``file:line`` of the code, tests, scripts and README that uses it."""
    uses: dict[str, list[str]] = {}
    for path in repository_files(*ID_SOURCES):
        text = text_of(path)
        for match in id_pattern().finditer(text):
            feature_id = f"{match.group(1).upper()}-{match.group(2)}"
            uses.setdefault(feature_id, []).append(where(path, text, match.start()))
    return uses


@cache
def ids_by_test(relative: str) -> dict[str, set[str]]:
    """Test functions of a test file -> the feature IDs in their names and docstrings."""
    tree = ast.parse(text_of(ROOT / relative))
    return {
        node.name: ids_in(node.name) | ids_in(ast.get_docstring(node))
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def files_defining(test_name: str) -> list[str]:
    """Where a test lives now (to say where a moved test went)."""
    return [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "tests").rglob("test_*.py"))
        if test_name in ids_by_test(str(path.relative_to(ROOT)))
    ]


def resolve(dotted: str) -> object:
    """The object a dotted ``atqbo....`` name stands for: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(dotted)


def test_every_entry_of_the_catalogue_says_whether_it_is_built_in_the_right_part():
    entries = catalogue()
    assert entries, "docs/features.md lists no feature"
    misplaced = [e.feature_id for e in entries.values() if e.built == e.in_not_built_part]
    assert not misplaced, (
        f"docs/features.md: {', '.join(misplaced)}: a built feature belongs above '{NOT_BUILT_PART}', "
        "one not built yet below it; move the entry or fix its Status line"
    )
    incomplete = [e.feature_id for e in entries.values() if not (e.field("Meaning") and e.field("Source"))]
    assert not incomplete, f"docs/features.md: {', '.join(incomplete)} lack a Meaning or a Source line"


def test_every_feature_id_used_in_the_repository_has_an_entry():
    unknown = {fid: places for fid, places in id_uses().items() if fid not in catalogue()}
    assert not unknown, "feature IDs used but not in docs/features.md (add an entry, or fix the ID):\n" + "\n".join(
        f"  {fid}: {', '.join(places[:5])}" for fid, places in sorted(unknown.items())
    )


def test_no_code_claims_a_feature_not_built_yet():
    claimed = {fid: places for fid, places in id_uses().items() if fid in catalogue() and not catalogue()[fid].built}
    assert not claimed, (
        "docs/features.md says these are not built yet, but the repository uses their IDs (if they are built "
        "now, move their entries up, mark them built and name their tests):\n"
        + "\n".join(f"  {fid}: {', '.join(places[:5])}" for fid, places in sorted(claimed.items()))
    )


@pytest.mark.parametrize("feature_id", sorted(f for f, e in catalogue().items() if e.built))
def test_a_built_feature_names_tests_that_exist_and_carry_its_id(feature_id):
    entry = catalogue()[feature_id]
    named = entry.named_tests()
    assert named and all(named.values()), (
        f"docs/features.md: {feature_id} is built but its Tests line names no test file with tests "
        "('`tests/....py`: `test_...`')"
    )
    problems = []
    for test_file, names in named.items():
        if not (ROOT / test_file).is_file():
            moved = {name: files_defining(name) for name in names}
            problems.append(f"{test_file} does not exist (its tests are now in: {moved})")
            continue
        found = ids_by_test(test_file)
        for name in names:
            if name not in found:
                problems.append(f"{test_file} has no test {name} (it is in: {files_defining(name) or 'no file'})")
            elif feature_id not in found[name]:
                problems.append(f"{test_file}::{name} does not carry {feature_id} in its name or docstring")
    assert not problems, f"docs/features.md, {feature_id}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("feature_id", sorted(f for f, e in catalogue().items() if e.built))
def test_the_code_a_built_feature_names_exists(feature_id):
    cited = catalogue()[feature_id].cited_code()
    assert cited, f"docs/features.md: {feature_id} is built but its Code line names no atqbo name or file"
    missing = []
    for name in cited:
        if REPO_FILE.match(name):
            if not (ROOT / name).exists():
                missing.append(name)
            continue
        try:
            resolve(name)
        except (ImportError, AttributeError) as exc:
            missing.append(f"{name} ({type(exc).__name__}: {exc})")
    assert not missing, f"docs/features.md, {feature_id}: its Code line names what does not exist: {missing}"


# -- the settings reference ------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingRow:
    key: str
    default: object
    allowed: str
    features: tuple[str, ...]


def settings_rows(part: str) -> dict[str, SettingRow]:
    """The rows of docs/settings.md's tables above (``part="built"``) or below its "Not built yet" heading."""
    text = text_of(SETTINGS)
    cut = text.find("\n" + NOT_BUILT_PART + "\n")
    assert cut > 0, f"docs/settings.md has no '{NOT_BUILT_PART}' part"
    rows: dict[str, SettingRow] = {}
    for line in (text[:cut] if part == "built" else text[cut:]).splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]  # "\|" is a pipe in a cell
        if not line.startswith("| `") or len(cells) < 6:
            continue
        key = cells[0].strip("`")
        assert key not in rows, f"docs/settings.md lists {key} twice"
        rows[key] = SettingRow(key, json.loads(cells[2].strip("`")), cells[3], tuple(sorted(ids_in(cells[4]))))
    return rows


def same_default(documented: object, default: object) -> bool:
    if isinstance(default, Decimal):
        return not isinstance(documented, bool) and Decimal(str(documented)) == default
    return type(documented) is type(default) and documented == default


def allowed_values_problem(row: SettingRow, check) -> str | None:
    """How the documented allowed values differ from what the key's check accepts (None: they agree)."""
    _, accepts = check(object())  # what a value of no accepted type is told
    if accepts.startswith("one of "):
        options = set(re.findall(r"'([^']*)'", accepts))
        documented = set(TICKED.findall(row.allowed))
        return None if options == documented else f"allows {sorted(options)}, documented {sorted(documented)}"
    bounds = re.fullmatch(r"a (?:whole )?number from (\S+) to (\S+)", accepts)
    if bounds:
        documented = [Decimal(d) for d in re.findall(r"\d+(?:\.\d+)?", row.allowed)]
        if documented != [Decimal(b) for b in bounds.groups()]:
            return f"allows {accepts!r}, documented {row.allowed!r}"
    return None


def test_the_documented_settings_are_exactly_the_contract_with_its_defaults():
    from atqbo.settings import SPEC, Settings

    rows = settings_rows("built")
    assert set(rows) == set(SPEC), (
        f"docs/settings.md vs atqbo.settings.SPEC: documented only {sorted(set(rows) - set(SPEC))}, "
        f"in SPEC only {sorted(set(SPEC) - set(rows))}"
    )
    assert set(Settings.__dataclass_fields__) == set(SPEC)
    wrong = [
        f"{key}: documented {row.default!r}, SPEC {SPEC[key][0]!r}"
        for key, row in rows.items()
        if not same_default(row.default, SPEC[key][0])
    ]
    assert not wrong, "docs/settings.md defaults differ from atqbo.settings.SPEC:\n  " + "\n  ".join(wrong)


def test_the_documented_allowed_values_are_what_each_setting_accepts():
    from atqbo.settings import SPEC

    wrong = {}
    for key, row in settings_rows("built").items():
        problem = allowed_values_problem(row, SPEC[key][1])
        if problem:
            wrong[key] = problem
    assert not wrong, f"docs/settings.md allowed values differ from atqbo.settings.SPEC: {wrong}"


def test_settings_name_catalogued_features_and_the_unbuilt_ones_are_not_in_the_contract():
    from atqbo.settings import SPEC

    built, not_built = settings_rows("built"), settings_rows("not built")
    # (empty since BEY-07, the last: the section stays for the next feature that is not built)
    assert not set(not_built) & set(SPEC), (
        f"docs/settings.md lists {sorted(set(not_built) & set(SPEC))} as not built, but atqbo.settings.SPEC has "
        "them: move their rows into the tables above"
    )
    unknown = {r.key: f for r in [*built.values(), *not_built.values()] for f in r.features if f not in catalogue()}
    assert not unknown, f"docs/settings.md names features docs/features.md does not have: {unknown}"


# -- sections, index, links, and nothing outside the repository ------------------------------------

API_FACTS_CITATION = re.compile(r"api-facts(?:\.md)?\)?,? (?:section )?(\d+\.\d+(?:(?:, | and )\d+\.\d+)*)")
# Paths to the project's old notes outside the repository, anywhere.
OUTSIDE = re.compile(r"\.\./shared|/work/shared|shared/spec|spec/api-shapes|seeds/0\d\d|real-tenants|airflow3-notes")
# Outside docs/, the old notes' file names without a path: those pages live in docs/ now, so say "docs/...".
OLD_NOTE_NAME = re.compile(r"(?<![\w/.-])(?:api-facts|features|settings|sandbox)\.md|(?<![\w/.-])api-facts(?![\w.])")
# Known references the maintainers repoint when they apply the docs/ change (then this empties):
# file -> the offending texts still tolerated there.
NOT_YET_REPOINTED: dict[str, set[str]] = {}


def test_every_api_facts_section_cited_exists():
    sections = set(re.findall(r"^### (\d+\.\d+) ", text_of(API_FACTS), re.MULTILINE))
    missing = []
    for path in repository_files(*ID_SOURCES, "docs"):
        text = text_of(path)
        for match in API_FACTS_CITATION.finditer(text):
            missing += [f"{n} at {where(path, text, match.start())}" for n in re.findall(r"\d+\.\d+", match[1])]
    missing = [m for m in missing if m.split(" at ")[0] not in sections]
    assert not missing, f"api-facts sections cited but not in docs/api-facts.md: {missing}"


def test_the_docs_index_lists_every_page_and_every_link_in_docs_resolves():
    index = text_of(DOCS / "README.md")
    unlisted = [p.name for p in sorted(DOCS.glob("*.md")) if p.name != "README.md" and f"({p.name})" not in index]
    assert not unlisted, f"docs/README.md does not list {unlisted}"
    broken = []
    for page in sorted(DOCS.glob("*.md")):
        text = text_of(page)
        for match in re.finditer(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            target = match[1]
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{target} at {where(page, text, match.start())}")
    assert not broken, f"links in docs/ that lead nowhere: {broken}"


def test_nothing_in_the_repository_points_outside_it():
    this_file = Path(__file__).resolve()
    found = []
    for path in repository_files("."):
        if path.resolve() == this_file:
            continue
        relative, text = str(path.relative_to(ROOT)), text_of(path)
        patterns = [OUTSIDE] if relative.startswith("docs/") else [OUTSIDE, OLD_NOTE_NAME]
        for match in (m for pattern in patterns for m in pattern.finditer(text)):
            if match[0] not in NOT_YET_REPOINTED.get(relative, set()):
                found.append(f"{where(path, text, match.start())}: {match[0]!r}")
    assert not found, (
        "references to material outside the repository (point them into docs/: the feature catalogue, "
        "settings, api-facts, sandbox contract and Airflow facts live there):\n  " + "\n  ".join(found)
    )
