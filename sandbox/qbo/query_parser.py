"""The QuickBooks Online query language, read: text to a ``Query``, or a 4000 fault.

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
``Query``; ``sandbox.qbo.query`` checks it against the entities and runs it over records.
Mistakes raise ``QueryError`` carrying the code/message/detail of the real service's fault:
4000 "Error parsing query" for syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_RESULTS = 100

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
