"""The QuickBooks Online query language, as the sandbox understands it: parse, check, run.

QBO's ``query`` endpoint takes a small SQL dialect::

    SELECT * | COUNT(*) | prop[, prop...] FROM Entity
      [WHERE prop op value [AND prop op value ...]]
      [ORDERBY prop [ASC|DESC][, ...]]
      [STARTPOSITION n] [MAXRESULTS m]

with the operators ``= < > <= >= IN (...) LIKE`` (``%`` is the only wildcard), no OR, no
joins, keywords in any case and the entity name case-sensitive. Strings are single-quoted;
``\\'`` is a quote and ``\\\\`` a backslash inside one (any other backslash is kept as is,
which is what a client that escapes only quotes, like python-quickbooks, relies on).

This module knows nothing about the sandbox's state: ``parse_query`` turns text into a
``Query``, ``check_query`` validates it against the entities' property names, and
``run_query`` evaluates it over plain records (the JSON dicts the API returns).
Mistakes raise ``QueryError`` carrying the code/message/detail of the real service's fault:
4000 "Error parsing query" for syntax, 4001 "Invalid query" for a valid sentence about an
unknown entity or property, or a MAXRESULTS over 1000.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")

DEFAULT_MAX_RESULTS = 100
MAX_MAX_RESULTS = 1000

# Properties that exist but cannot be filtered or sorted on (the real service says
# "property 'X' is not queryable" for these).
NOT_QUERYABLE = {"Line", "CustomField", "LinkedTxn", "TxnTaxDetail", "MetaData", "AttachableRef"}

_KEYWORDS = {
    "select",
    "count",
    "from",
    "where",
    "and",
    "or",
    "in",
    "like",
    "orderby",
    "order",
    "by",
    "asc",
    "desc",
    "startposition",
    "maxresults",
}


class QueryError(Exception):
    """A query the real service would refuse; ``code``/``message``/``detail`` are its fault's."""

    def __init__(self, code: str, message: str, detail: str):
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail


def _parse_error(detail: str) -> QueryError:
    return QueryError("4000", "Error parsing query", f"QueryParserError: {detail}")


def _validation_error(detail: str) -> QueryError:
    return QueryError("4001", "Invalid query", f"QueryValidationError: {detail}")


@dataclass
class Token:
    kind: str  # "word", "string", "number", "op", "punct", "eof"
    text: str  # the token as written (for error messages)
    value: Any  # the decoded value (unescaped string, number, lower-cased keyword...)
    column: int  # 1-based


@dataclass
class Condition:
    path: str
    op: str  # "=", "<", ">", "<=", ">=", "in", "like"
    values: list[Any]  # one value, or several for IN


@dataclass
class Query:
    entity: str
    count: bool = False
    fields: list[str] | None = None  # None: every property ("*"); else a projection
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (path, descending)
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


# -- tokenizer ---------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        column = i + 1
        if ch == "'":
            value, i = _read_string(text, i)
            tokens.append(Token("string", text[column - 1 : i], value, column))
            continue
        if ch.isdigit() or (ch == "-" and i + 1 < n and text[i + 1].isdigit()):
            m = _NUMBER.match(text, i)
            assert m is not None
            raw = m.group(0)
            tokens.append(Token("number", raw, float(raw) if "." in raw else int(raw), column))
            i = m.end()
            continue
        if ch.isalpha() or ch == "_":
            m = _WORD.match(text, i)
            assert m is not None
            raw = m.group(0)
            tokens.append(Token("word", raw, raw, column))
            i = m.end()
            continue
        two = text[i : i + 2]
        if two in ("<=", ">=", "!=", "<>"):
            tokens.append(Token("op", two, two, column))
            i += 2
            continue
        if ch in "=<>":
            tokens.append(Token("op", ch, ch, column))
            i += 1
            continue
        if ch in "*(),":
            tokens.append(Token("punct", ch, ch, column))
            i += 1
            continue
        raise _parse_error(
            f'Invalid content. Lexical error at line 1, column {column}.  Encountered: "{ch}" ({ord(ch)}), after : ""'
        )
    tokens.append(Token("eof", "<EOF>", None, n + 1))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Read a quoted string starting at ``text[start] == "'"``; return (value, index after it)."""
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in ("'", "\\"):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == "'":
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise _parse_error(f'Lexical error at line 1, column {n + 1}.  Encountered: <EOF> after : "\'{"".join(out)}"')


# -- parser ------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.pos = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind != "eof":
            self.pos += 1
        return tok

    def is_keyword(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.text.lower() in words

    def expect_keyword(self, word: str) -> Token:
        if not self.is_keyword(word):
            self.fail(f'"{word}" ...')
        return self.advance()

    def expect_punct(self, ch: str) -> Token:
        if not (self.tok.kind == "punct" and self.tok.text == ch):
            self.fail(f'"{ch}" ...')
        return self.advance()

    def fail(self, expected: str) -> None:
        tok = self.tok
        shown = "<EOF>" if tok.kind == "eof" else f'"{tok.text} "'
        raise _parse_error(
            f'Encountered " {shown}" at line 1, column {tok.column}.\nWas expecting one of:\n    {expected}\n    '
        )

    def property_name(self) -> str:
        tok = self.tok
        if tok.kind != "word" or tok.text.lower() in _KEYWORDS:
            self.fail("<IDENTIFIER> ...")
        self.advance()
        return tok.text

    def integer(self) -> int:
        tok = self.tok
        if tok.kind != "number" or not isinstance(tok.value, int):
            self.fail("<INTEGER> ...")
        self.advance()
        return int(tok.value)

    def value(self) -> Any:
        tok = self.tok
        if tok.kind in ("string", "number"):
            self.advance()
            return tok.value
        if tok.kind == "word" and tok.text.lower() in ("true", "false"):
            self.advance()
            return tok.text.lower() == "true"
        self.fail("<STRING> ...\n    <NUMBER> ...\n    <BOOLEAN> ...")
        return None  # unreachable

    def parse(self) -> Query:
        if self.tok.kind == "eof":
            raise _parse_error("The query provided was empty")
        self.expect_keyword("select")
        count = False
        fields: list[str] | None = None
        if self.is_keyword("count"):
            self.advance()
            self.expect_punct("(")
            self.expect_punct("*")
            self.expect_punct(")")
            count = True
        else:
            star = False
            props: list[str] = []
            while True:
                if self.tok.kind == "punct" and self.tok.text == "*":
                    self.advance()
                    star = True
                else:
                    props.append(self.property_name())
                if self.tok.kind == "punct" and self.tok.text == ",":
                    self.advance()
                    continue
                break
            fields = None if star else props
        self.expect_keyword("from")
        entity = self.property_name()
        query = Query(entity=entity, count=count, fields=fields)
        if self.is_keyword("where"):
            self.advance()
            query.conditions.append(self.condition())
            while self.is_keyword("and", "or"):
                if self.is_keyword("or"):
                    raise _parse_error(
                        f"OR is not supported at line 1, column {self.tok.column}; "
                        "QBO queries only combine conditions with AND"
                    )
                self.advance()
                query.conditions.append(self.condition())
        seen: set[str] = set()
        while self.tok.kind != "eof":
            if self.is_keyword("orderby", "order") and "order" not in seen:
                if self.advance().text.lower() == "order":
                    self.expect_keyword("by")
                seen.add("order")
                query.order = self.order_list()
            elif self.is_keyword("startposition") and "start" not in seen:
                self.advance()
                seen.add("start")
                query.start_position = self.integer()
            elif self.is_keyword("maxresults") and "max" not in seen:
                self.advance()
                seen.add("max")
                query.max_results = self.integer()
            else:
                self.fail('<EOF> \n    <AND> ...\n    "maxresults" ...\n    "orderby" ...\n    "startposition" ...')
        return query

    def condition(self) -> Condition:
        path = self.property_name()
        if self.is_keyword("in"):
            self.advance()
            self.expect_punct("(")
            values = [self.value()]
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.advance()
                values.append(self.value())
            self.expect_punct(")")
            return Condition(path, "in", values)
        if self.is_keyword("like"):
            self.advance()
            tok = self.tok
            if tok.kind != "string":
                self.fail("<STRING> ...")
            self.advance()
            return Condition(path, "like", [tok.value])
        tok = self.tok
        if tok.kind != "op" or tok.text in ("!=", "<>"):
            self.fail('"=" ...\n    "<" ...\n    ">" ...\n    "<=" ...\n    ">=" ...\n    "in" ...\n    "like" ...')
        self.advance()
        return Condition(path, tok.text, [self.value()])

    def order_list(self) -> list[tuple[str, bool]]:
        order = []
        while True:
            path = self.property_name()
            descending = False
            if self.is_keyword("asc", "desc"):
                descending = self.advance().text.lower() == "desc"
            order.append((path, descending))
            if self.tok.kind == "punct" and self.tok.text == ",":
                self.advance()
                continue
            return order


def parse_query(text: str) -> Query:
    """Parse a query statement; raise ``QueryError`` (4000) on a syntax error."""
    return _Parser(text.strip()).parse()


# -- validation --------------------------------------------------------------------------------


def check_query(query: Query, properties: Mapping[str, Iterable[str]]) -> None:
    """Check the entity and every property against ``properties`` (entity -> property names).

    A dotted path (``MetaData.LastUpdatedTime``, ``CustomerRef.value``, ``BillAddr.City``) is
    accepted when its first part is a property of the entity. Raises ``QueryError`` (4001).
    """
    if query.entity not in properties:
        raise _validation_error(f"Invalid entity name: {query.entity}")
    known = set(properties[query.entity])
    used = [c.path for c in query.conditions] + [p for p, _ in query.order]
    for path in used:
        head = path.split(".", 1)[0]
        if head not in known:
            raise _validation_error(f"property '{path}' is not queryable")
        if path in NOT_QUERYABLE:
            raise _validation_error(f"property '{path}' is not queryable")
    for path in query.fields or []:
        if path.split(".", 1)[0] not in known:
            raise _validation_error(f"property '{path}' is not queryable")
    if query.max_results > MAX_MAX_RESULTS:
        raise _validation_error(f"value {query.max_results} is too large. Max allowed value is {MAX_MAX_RESULTS}.")
    if query.max_results < 1:
        raise _validation_error(f"value {query.max_results} is too small. Min allowed value is 1.")


# -- evaluation --------------------------------------------------------------------------------

# When a path ends on an object, the scalar inside that QBO filters on.
_SCALAR_KEYS = ("value", "Address", "URI", "FreeFormNumber")


def resolve(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or None; a reference compares by its ``value``."""
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    if isinstance(current, Mapping):
        for key in _SCALAR_KEYS:
            if key in current:
                return current[key]
        return None
    return current


_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_datetime(text: str) -> datetime | None:
    """An ISO date or date-time as an aware datetime (naive ones are US Pacific, as in QBO)."""
    if not isinstance(text, str):
        return None
    raw = text.strip()
    if _DATE_RE.match(raw):
        d = date.fromisoformat(raw)
        return datetime(d.year, d.month, d.day, tzinfo=PACIFIC)
    if not _DATETIME_RE.match(raw):
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=PACIFIC)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Bring a record value and a query value to one comparable type, or None if impossible."""
    if isinstance(left, bool) or isinstance(right, bool):
        lb = _as_bool(left)
        rb = _as_bool(right)
        return (lb, rb) if lb is not None and rb is not None else None
    ln, rn = _as_number(left), _as_number(right)
    if ln is not None and rn is not None:
        return ln, rn
    if isinstance(left, str) and isinstance(right, str):
        if _DATETIME_RE.match(left) or _DATETIME_RE.match(right):
            ld, rd = parse_datetime(left), parse_datetime(right)
            if ld is not None and rd is not None:
                return ld, rd
        return left.casefold(), right.casefold()
    return str(left).casefold(), str(right).casefold()


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _like(pattern: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in pattern.split("%")]
    return re.compile(".*".join(parts), re.IGNORECASE | re.DOTALL)


def matches(record: Mapping[str, Any], cond: Condition) -> bool:
    actual = resolve(record, cond.path)
    if actual is None:
        return False
    if cond.op == "like":
        return _like(str(cond.values[0])).fullmatch(str(actual)) is not None
    if cond.op == "in":
        return any(_compare(actual, "=", v) for v in cond.values)
    return _compare(actual, cond.op, cond.values[0])


def _compare(actual: Any, op: str, wanted: Any) -> bool:
    pair = _comparable(actual, wanted)
    if pair is None:
        return False
    left, right = pair
    try:
        if op == "=":
            return left == right
        if op == "<":
            return left < right
        if op == ">":
            return left > right
        if op == "<=":
            return left <= right
        if op == ">=":
            return left >= right
    except TypeError:
        return False
    raise ValueError(f"unknown operator {op}")


def _sort_key(value: Any) -> tuple[int, Any]:
    """Order numbers numerically, date-times by instant, strings case-insensitively; missing last."""
    if value is None:
        return (3, "")
    number = _as_number(value)
    if number is not None:
        return (0, number)
    if isinstance(value, str) and _DATETIME_RE.match(value):
        parsed = parse_datetime(value)
        if parsed is not None:
            return (1, parsed.timestamp())
    return (2, str(value).casefold())


def _id_key(record: Mapping[str, Any]) -> tuple[int, Any]:
    return _sort_key(record.get("Id"))


def run_query(query: Query, records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Evaluate ``query`` over ``records``; return the body of ``QueryResponse``.

    Rows come in Id order unless ORDERBY says otherwise. ``maxResults`` in the answer is the
    number of rows returned, as the real service reports it; no rows gives ``{}``.
    """
    rows = [r for r in records if all(matches(r, c) for c in query.conditions)]
    if query.count:
        return {"totalCount": len(rows)}
    rows.sort(key=_id_key)
    for path, descending in reversed(query.order):
        present = [r for r in rows if resolve(r, path) is not None]
        missing = [r for r in rows if resolve(r, path) is None]
        present.sort(key=lambda r: _sort_key(resolve(r, path)), reverse=descending)
        rows = present + missing
    start = max(query.start_position, 1)
    page = rows[start - 1 : start - 1 + query.max_results]
    if not page:
        return {}
    if query.fields is not None:
        page = [_project(r, query.fields) for r in page]
    return {query.entity: page, "startPosition": start, "maxResults": len(page)}


def _project(record: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": record.get("Id")}
    for path in fields:
        head = path.split(".", 1)[0]
        if head in record:
            out[head] = record[head]
    return out
