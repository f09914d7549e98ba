"""The segment filter language: a text form and a YAML form, parsed into one small AST.

Admins type filters into config files and panels, so what arrives here is untrusted
text that will end up in SQL. This module therefore only turns text into plain data
(the frozen dataclasses below) and produces no SQL at all: the compiler looks every
name up in the field registry and binds every value as a parameter. Every mistake is a
FilterError that says where it is: line and column in the text form, the key path in
the YAML form. The grammar is in docs/filters.md.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from erp_crm.errors import UserError

Path = tuple[str | int, ...]
MAX_LENGTH = 20_000  # characters; a filter is written by hand
MAX_DEPTH = 40  # nesting of parentheses and `not`; keeps recursion far from Python's limit


@dataclass(frozen=True)
class Where:
    """A place in a filter: line and column in text, a key path in the YAML form, or both."""

    line: int = 0
    column: int = 0
    length: int = 1
    path: Path = ()

    def __str__(self) -> str:
        parts = [format_path(self.path)] if self.path else []
        if self.line:
            parts.append(f"line {self.line}, column {self.column}")
        return ", ".join(parts)


NOWHERE = Where()


def format_path(path: Path) -> str:
    """`("all", 2, "field")` → `all[2].field`, the way YAML users think of a place."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class FilterError(UserError):
    """A filter that cannot be read, or asks for something the registry does not have."""

    def __init__(self, problem: str, where: Where | None = None) -> None:
        self.problem = problem
        self.where = where
        super().__init__(f"{where}: {problem}" if where is not None and str(where) else problem)

    def at(self, where: Where) -> FilterError:
        """This error placed at `where`, unless it already knows its place."""
        return self if self.where is not None else FilterError(self.problem, where)

    def pretty(self, text: str) -> str:
        """The message, then the offending line of `text` with a caret under the place."""
        lines = text.split("\n")
        if self.where is None or not 0 < self.where.line <= len(lines):
            return str(self)
        line = lines[self.where.line - 1].rstrip("\r").replace("\t", " ")
        return f"{self}\n  {line}\n  {' ' * (self.where.column - 1)}{'^' * self.where.length}"


# ---------------------------------------------------------------- the AST

def _place() -> Any:
    """A node's place: shown in errors, but never makes two filters differ."""
    return field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Text:
    """Quoted text, or a bare word (`at_risk`, `email`) where a choice is expected.

    Both are text so that `consent(email)` and YAML's `consent: email` are one filter;
    `bare` only lets the compiler ask for quotes where free text is expected.
    """

    value: str
    where: Where = _place()
    bare: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Number:
    value: Decimal
    where: Where = _place()


@dataclass(frozen=True)
class Day:
    """An absolute date, 2024-03-01."""

    value: date
    where: Where = _place()


@dataclass(frozen=True)
class Today:
    where: Where = _place()


@dataclass(frozen=True)
class Ago:
    """`90 days ago`: a date relative to the `today` the filter is compiled for."""

    amount: int
    unit: str  # day, week, month, year
    where: Where = _place()


@dataclass(frozen=True)
class Period:
    """`90 days`: the window from that long before today up to today."""

    amount: int
    unit: str
    where: Where = _place()


@dataclass(frozen=True)
class Bool:
    value: bool
    where: Where = _place()


Value = Text | Number | Day | Today | Ago | Period | Bool


@dataclass(frozen=True)
class Arg:
    name: str | None  # None: positional
    value: Value
    where: Where = _place()


@dataclass(frozen=True)
class Ref:
    """A field (`revenue_12m`) or a predicate call (`bought(category: "Csavarok")`)."""

    name: str  # case-folded
    args: tuple[Arg, ...] = ()
    where: Where = _place()


@dataclass(frozen=True)
class Condition:
    """`subject op values`; op is one of OPS (negated forms are Not around a Condition)."""

    subject: Ref
    op: str
    values: tuple[Value, ...] = ()
    where: Where = _place()


@dataclass(frozen=True)
class Not:
    item: Node
    where: Where = _place()


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Condition | Not | And | Or

OPS = ("=", "<", "<=", ">", ">=", "between", "in", "contains", "starts with", "ends with", "within", "is null", "true")
# every way to write a test → (negated, op); shared by both forms so they cannot drift apart
_SYMBOLS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_WORD_HINTS = {"like": "contains", "equals": "=", "has": "contains", "since": "after", "greater": ">", "less": "<"}
_SYMBOL_HINTS = {"=>": ">=", "=<": "<=", "!": "not", "=!": "!=", "===": "="}
_WORDS = {
    "before": "<",
    "after": ">",
    "between": "between",
    "in": "in",
    "contains": "contains",
    "starts with": "starts with",
    "ends with": "ends with",
    "within": "within",
    "within last": "within",
    "in last": "within",
}
TESTS: dict[str, tuple[bool, str]] = {
    **{s: (op == "!=", "=" if op == "!=" else op) for s, op in _SYMBOLS.items()},
    **{w: (False, op) for w, op in _WORDS.items()},
    **{f"not {w}": (True, op) for w, op in _WORDS.items()},
    "is": (False, "is null"),
    "is not": (True, "is null"),
}
AND_WORDS, OR_WORDS, NOT_WORDS = {"and", "és"}, {"or", "vagy"}, {"not", "nem"}
UNITS = {"day": "day", "days": "day", "d": "day", "week": "week", "weeks": "week", "w": "week"}
UNITS |= {"month": "month", "months": "month", "m": "month", "year": "year", "years": "year", "y": "year"}
_NEGATABLE = "in, between, contains, starts with, ends with, before, after or within"
RESERVED = frozenset(
    AND_WORDS | OR_WORDS | NOT_WORDS | {w for s in _WORDS for w in s.split()}
    | {"is", "null", "empty", "today", "true", "false"}
)
YAML_KEYS = frozenset({"all", "any", "and", "or", "not", "field"})  # structure in the YAML form
NAME = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")

# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"(?P<space>\s+|\#[^\n]*)"
    r"|(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})(?![\w.])"
    r"|(?P<number>-?[0-9]+(?:_[0-9]+)*(?:\.[0-9]+)?)"
    rf"|(?P<name>{NAME.pattern})"
    r"|(?P<op>[<>=!]+)"
    r"|(?P<punct>[(),:])"
    r"|(?P<quote>[\"'])"
)
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}
_FORBIDDEN = re.compile(r"[\x00\ud800-\udfff]")  # NUL and lone surrogates: no database stores them


@dataclass(frozen=True)
class Token:
    kind: str  # name, string, number, date, op, punctuation itself, or "end"
    text: str  # as written
    value: Any  # name: case-folded; string: unescaped; number: Decimal; date: date; op: canonical
    where: Where

    @property
    def word(self) -> str | None:
        return self.value if self.kind == "name" else None

    def describe(self) -> str:
        if self.kind == "end":
            return "the end of the filter"
        shown = self.text if len(self.text) <= 30 else self.text[:27] + "..."
        return shown if self.kind == "string" else f"'{shown}'"


def check_characters(text: str, where: Where = NOWHERE) -> None:
    """Refuse NUL and unpaired surrogates: PostgreSQL rejects them, and no filter needs them."""
    bad = _FORBIDDEN.search(text)
    if bad:
        raise FilterError(f"character U+{ord(bad.group()):04X} is not allowed in a filter", where)


class _Source:
    """Turns offsets into lines and columns."""

    def __init__(self, text: str, path: Path) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.path = path

    def where(self, start: int, end: int) -> Where:
        line = bisect.bisect_right(self.starts, start)
        return Where(line, start - self.starts[line - 1] + 1, max(1, end - start), self.path)


def tokenize(text: str, path: Path = ()) -> list[Token]:
    """Split a text filter into tokens; unknown characters, operators and bad strings are errors."""
    src = _Source(text, path)
    if len(text) > MAX_LENGTH:
        raise FilterError(f"a filter is at most {MAX_LENGTH:,} characters long", src.where(0, 1))
    bad = _FORBIDDEN.search(text)
    if bad:
        check_characters(text, src.where(bad.start(), bad.end()))
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterError(f"unexpected character {text[pos]!r}", src.where(pos, pos + 1))
        kind = m.lastgroup
        assert kind is not None
        where = src.where(m.start(), m.end())
        if kind == "quote":
            value, end = _string(text, pos, src)
            tokens.append(Token("string", text[pos:end], value, src.where(pos, end)))
            pos = end
            continue
        pos = m.end()
        raw = m.group(kind)
        if kind == "space":
            continue
        tokens.append(Token(*_token_value(kind, raw, where)))
    tokens.append(Token("end", "", None, src.where(len(text), len(text) + 1)))
    return tokens


def _token_value(kind: str, raw: str, where: Where) -> tuple[str, str, Any, Where]:
    if kind == "date":
        try:
            return kind, raw, date.fromisoformat(raw), where
        except ValueError:
            raise FilterError(f"{raw} is not a date (year-month-day)", where) from None
    if kind == "number":
        return kind, raw, Decimal(raw.replace("_", "")), where
    if kind == "name":
        return kind, raw, raw.casefold(), where
    if kind == "op":
        if raw not in _SYMBOLS:
            hint = _SYMBOL_HINTS.get(raw) or next(iter(difflib.get_close_matches(raw, _SYMBOLS, 1)), None)
            raise FilterError(f"unknown operator '{raw}'" + (f" (did you mean '{hint}'?)" if hint else ""), where)
        return kind, raw, _SYMBOLS[raw], where
    return raw, raw, raw, where  # punctuation: its own kind


def _string(text: str, start: int, src: _Source) -> tuple[str, int]:
    """A quoted string from `start` (the quote); returns its value and the offset after it."""
    quote, out, i = text[start], [], start + 1
    while i < len(text) and text[i] != "\n":
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt not in _ESCAPES:
                raise FilterError(
                    f"unknown escape '\\{nxt}' in a string (use \\\\ \\\" \\' \\n or \\t)", src.where(i, i + 2)
                )
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise FilterError(f"this string is never closed (the closing {quote} is missing)", src.where(start, start + 1))


# ---------------------------------------------------------------- the text form


def parse_text(text: str, path: Path = ()) -> Node:
    """Parse a filter in the text form; `path` places it inside a YAML document."""
    return _Parser(tokenize(text, path)).filter()


class _Parser:
    """Recursive descent over the grammar in docs/filters.md (or < and < not < condition)."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def ahead(self, n: int = 1) -> Token:
        return self.tokens[min(self.i + n, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def fail(self, problem: str, tok: Token | None = None) -> FilterError:
        return FilterError(problem, (tok or self.peek).where)

    def filter(self) -> Node:
        if self.peek.kind == "end":
            raise self.fail("the filter is empty")
        node = self.or_()
        if self.peek.kind == ")":
            raise self.fail("this ) closes nothing")
        if self.peek.kind != "end":
            raise self.fail(f"expected and, or or the end of the filter, found {self.peek.describe()}")
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.peek.word in OR_WORDS:
            self.advance()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while self.peek.word in AND_WORDS:
            self.advance()
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items))

    def nested(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"the filter is nested more than {MAX_DEPTH} levels deep", tok)

    def not_(self) -> Node:
        if self.peek.word in NOT_WORDS:
            tok = self.advance()
            self.nested(tok)
            node: Node = Not(self.not_(), tok.where)
            self.depth -= 1
            return node
        if self.peek.kind == "(":
            return self.group()
        return self.condition()

    def group(self) -> Node:
        opening = self.advance()
        self.nested(opening)
        node = self.or_()
        if self.peek.kind == "end":
            raise self.fail("this ( is never closed", opening)
        if self.peek.kind != ")":
            raise self.fail(f"expected and, or or ), found {self.peek.describe()}")
        self.advance()
        self.depth -= 1
        return node

    def condition(self) -> Node:
        subject = self.ref()
        tok = self.peek
        negated = False
        if tok.word in NOT_WORDS:
            negated = True
            self.advance()
        if tok.kind == "op" and not negated:
            self.advance()
            cond = Condition(subject, "=" if tok.value == "!=" else tok.value, (self.value(),), tok.where)
            return Not(cond, tok.where) if tok.value == "!=" else cond
        if tok.word == "is" and not negated:
            return self.is_null(subject)
        spelling = self.word_test()
        if spelling is None:
            if negated:
                raise self.fail(f"expected {_NEGATABLE} after not, found {self.peek.describe()}")
            if self.peek.kind == "name" and self.peek.word not in AND_WORDS | OR_WORDS:
                raise self.unknown_operator(subject)
            return Condition(subject, "true", (), subject.where)
        op = _WORDS[spelling]
        if op == "between":
            low = self.value()
            if self.peek.word not in AND_WORDS:
                raise self.fail(f"expected and between the two ends of the range, found {self.peek.describe()}")
            self.advance()
            values: tuple[Value, ...] = (low, self.value())
        elif op == "in":
            values = self.value_list()
        else:
            values = (self.value(),)
        cond = Condition(subject, op, values, tok.where)
        return Not(cond, tok.where) if negated else cond

    def word_test(self) -> str | None:
        """The longest word operator at the cursor (`in last` before `in`), consumed."""
        one, two = self.peek.word, f"{self.peek.word} {self.ahead().word}"
        for spelling, width in ((two, 2), (one, 1)):
            if spelling in _WORDS:
                for _ in range(width):
                    self.advance()
                return spelling
        return None

    def unknown_operator(self, subject: Ref) -> FilterError:
        tok = self.peek
        known = [*_SYMBOLS, *_WORDS, "is null", "is not null"]
        hint = _WORD_HINTS.get(tok.word or "")
        hint = hint or next(iter(difflib.get_close_matches(tok.word or tok.text, known, 1)), None)
        problem = f"unknown operator {tok.describe()} after {subject.name}"
        return self.fail(problem + (f" (did you mean '{hint}'?)" if hint else ""))

    def is_null(self, subject: Ref) -> Node:
        tok = self.advance()
        negated = self.peek.word in NOT_WORDS
        if negated:
            self.advance()
        if self.peek.word not in ("null", "empty"):
            raise self.fail(f"expected null or empty after is, found {self.peek.describe()}")
        self.advance()
        cond = Condition(subject, "is null", (), tok.where)
        return Not(cond, tok.where) if negated else cond

    def ref(self) -> Ref:
        tok = self.peek
        if tok.kind != "name" or tok.word in RESERVED:
            if tok.kind == "end":
                raise self.fail("the filter ends where a condition should follow")
            raise self.fail(f"expected a field or a condition, found {tok.describe()}")
        self.advance()
        if self.peek.kind == "(":
            return Ref(tok.word or "", self.args(), tok.where)
        if self.peek.kind in ("string", "number", "date"):  # `tag "vip"`: one argument, no parentheses
            value = self.value()
            return Ref(tok.word or "", (Arg(None, value, value.where),), tok.where)
        return Ref(tok.word or "", (), tok.where)

    def args(self) -> tuple[Arg, ...]:
        opening = self.advance()
        args: list[Arg] = []
        while self.peek.kind != ")":
            start = self.peek
            name = None
            if start.kind == "name" and self.ahead().kind == ":":
                name = start.word
                self.advance()
                self.advance()
            args.append(Arg(name, self.value(), start.where))
            if self.peek.kind == ",":
                self.advance()
            elif self.peek.kind == "end":
                raise self.fail("this ( is never closed", opening)
            elif self.peek.kind != ")":
                raise self.fail(f"expected , or ) after an argument, found {self.peek.describe()}")
        self.advance()
        return tuple(args)

    def value_list(self) -> tuple[Value, ...]:
        opening = self.peek
        if opening.kind != "(":
            raise self.fail(f"expected ( and a list of values after in, found {opening.describe()}")
        args = self.args()
        if not args:
            raise self.fail("the list after in is empty", opening)
        named = next((a for a in args if a.name is not None), None)
        if named is not None:
            raise FilterError("a list after in holds values, not name: value pairs", named.where)
        return tuple(a.value for a in args)

    def value(self) -> Value:
        tok = self.advance()
        if tok.kind == "string":
            return Text(tok.value, tok.where)
        if tok.kind == "date":
            return Day(tok.value, tok.where)
        if tok.kind == "number":
            unit = UNITS.get(self.peek.word or "")
            if unit is None:
                return Number(tok.value, tok.where)
            unit_tok = self.advance()
            if tok.value != tok.value.to_integral_value() or tok.value < 0 or "." in tok.text:
                raise self.fail(f"a period is a whole number of {unit}s, not {tok.text}", tok)
            end = unit_tok
            if self.peek.word == "ago":
                end = self.advance()
            where = Where(tok.where.line, tok.where.column, _span(tok.where, end.where), tok.where.path)
            return (Ago if end is not unit_tok else Period)(int(tok.value), unit, where)
        if tok.kind == "name" and tok.word not in RESERVED:
            return Text(tok.text, tok.where, bare=True)
        words = {"today": Today(tok.where), "true": Bool(True, tok.where), "false": Bool(False, tok.where)}
        if tok.word in words:
            return words[tok.word]
        if tok.word in ("null", "empty"):
            raise self.fail("write `is null` (or `is not null`) to test for an empty field", tok)
        raise self.fail(f"expected a value, found {tok.describe()}", tok)


def _span(first: Where, last: Where) -> int:
    """Length from the start of `first` to the end of `last` when both are on one line."""
    return last.column + last.length - first.column if last.line == first.line else first.length


# ---------------------------------------------------------------- the YAML form


def parse_data(data: Any, path: Path = ()) -> Node:
    """Parse the YAML form (already loaded: dicts, lists, scalars); a string is the text form."""
    return _node(data, path, 0)


def parse_filter(source: Any, path: Path = ()) -> Node:
    """Either form: text is parsed as text, anything else as the YAML form."""
    return parse_text(source, path) if isinstance(source, str) else parse_data(source, path)


def _node(data: Any, path: Path, depth: int) -> Node:
    here = Where(path=path)
    if depth > MAX_DEPTH:
        raise FilterError(f"the filter is nested more than {MAX_DEPTH} levels deep", here)
    if isinstance(data, str):
        return parse_text(data, path)
    if not isinstance(data, Mapping) or not data:
        raise FilterError(f"expected a condition (a mapping or a text filter), found {_kind_of(data)}", here)
    for key in data:
        if not isinstance(key, str):
            raise FilterError(f"keys are text; {key!r} is {_kind_of(key)} (quote it)", here)
    group = [k for k in data if k.casefold() in YAML_KEYS - {"field"}]
    if group:
        key = group[0]
        if len(data) > 1:
            others = ", ".join(k for k in data if k != key)
            raise FilterError(f"{key} stands alone in its mapping; move {others} into a condition of its own", here)
        if key.casefold() == "not":
            return Not(_node(data[key], path + (key,), depth + 1), Where(path=path + (key,)))
        items = data[key]
        if not isinstance(items, list) or not items:
            raise FilterError(f"{key} takes a non-empty list of conditions", Where(path=path + (key,)))
        nodes = tuple(_node(item, path + (key, i), depth + 1) for i, item in enumerate(items))
        if len(nodes) == 1:
            return nodes[0]
        return And(nodes) if key.casefold() in ("all", "and") else Or(nodes)
    return _condition(data, path)


def _condition(data: Mapping[str, Any], path: Path) -> Node:
    tests = [k for k in data if _test_key(k) in TESTS]
    rest = [k for k in data if k not in tests]
    if len(tests) > 1:
        raise FilterError(f"one condition, one operator: {' and '.join(tests)} are two", Where(path=path))
    field_key = next((k for k in rest if k.casefold() == "field"), None)
    if field_key is not None:
        rest.remove(field_key)
        name, where = data[field_key], Where(path=path + (field_key,))
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise FilterError(f"expected a field name, found {name!r}", where)
        subject = Ref(name.casefold(), (), where)
    elif rest:
        key = rest.pop(0)
        subject = _call(key, data[key], path + (key,))
    else:
        raise FilterError("a condition needs field: NAME or a predicate such as bought:", Where(path=path))
    if rest:
        hint = next(iter(difflib.get_close_matches(rest[0], [*TESTS, "field"], 1)), None)
        raise FilterError(
            f"unknown key '{rest[0]}'" + (f" (did you mean '{hint}'?)" if hint else ""), Where(path=path + (rest[0],))
        )
    if not tests:
        return Condition(subject, "true", (), subject.where)
    key = tests[0]
    negated, op = TESTS[_test_key(key)]
    where = Where(path=path + (key,))
    cond = Condition(subject, op, _test_values(op, data[key], where), where)
    return Not(cond, where) if negated else cond


def _test_key(key: str) -> str:
    words = ["not" if w in NOT_WORDS else w for w in key.casefold().split()]
    return " ".join(words)


def _test_values(op: str, raw: Any, where: Where) -> tuple[Value, ...]:
    if op == "is null":
        if raw is None or (isinstance(raw, str) and raw.casefold() in ("null", "empty")):
            return ()
        raise FilterError("is takes null (write `is: null` or `is not: null`)", where)
    if op in ("between", "in"):
        size_ok = isinstance(raw, list) and (len(raw) == 2 if op == "between" else len(raw) >= 1)
        if not size_ok:
            shape = "a list of two values, [low, high]" if op == "between" else "a non-empty list of values"
            raise FilterError(f"{op} takes {shape}", where)
        return tuple(yaml_value(v, Where(path=where.path + (i,))) for i, v in enumerate(raw))
    return (yaml_value(raw, where),)


def _call(name: str, raw: Any, path: Path) -> Ref:
    where = Where(path=path)
    if not NAME.fullmatch(name):
        raise FilterError(f"unknown key {name!r}", where)
    if raw is None:
        args: tuple[Arg, ...] = ()
    elif isinstance(raw, Mapping):
        for key in raw:
            if not isinstance(key, str) or not NAME.fullmatch(key):
                raise FilterError(f"{key!r} is not a parameter name", where)
        args = tuple(_arg(k.casefold(), v, path + (k,)) for k, v in raw.items())
    elif isinstance(raw, list):
        args = tuple(_arg(None, v, path + (i,)) for i, v in enumerate(raw))
    else:
        args = (Arg(None, yaml_value(raw, where), where),)
    return Ref(name.casefold(), args, where)


def _arg(name: str | None, raw: Any, path: Path) -> Arg:
    where = Where(path=path)
    return Arg(name, yaml_value(raw, where), where)


def yaml_value(raw: Any, where: Where) -> Value:
    """A YAML scalar as a value. Strings that read as dates or periods are those; else text."""
    if isinstance(raw, bool):
        return Bool(raw, where)
    if isinstance(raw, int):
        return Number(Decimal(raw), where)
    if isinstance(raw, Decimal) and raw.is_finite():  # dicts built in Python
        return Number(raw, where)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise FilterError(f"{raw} is not a number a filter can use", where)
        return Number(Decimal(repr(raw)), where)
    if isinstance(raw, datetime):
        raise FilterError("filters compare dates, not times: write 2024-03-01", where)
    if isinstance(raw, date):
        return Day(raw, where)
    if isinstance(raw, str):
        check_characters(raw, where)
        return _text_or_date(raw, where)
    if raw is None:
        raise FilterError("a value is missing (to test for an empty field, use is: null)", where)
    raise FilterError(f"expected a single value, found {_kind_of(raw)}", where)


def _text_or_date(raw: str, where: Where) -> Value:
    """`90 days ago`, `today`, `2024-03-01`, `365 days` or `'"quoted"'` are read; anything else is text."""
    try:
        parser = _Parser(tokenize(raw))
        value = parser.value()
    except FilterError:
        return Text(raw, where)
    if parser.peek.kind != "end" or isinstance(value, Number | Bool) or isinstance(value, Text) and value.bare:
        return Text(raw, where)
    return dataclasses.replace(value, where=where)


def _kind_of(value: Any) -> str:
    names = {bool: "yes/no", list: "a list", dict: "a mapping", str: "text", int: "a number", float: "a number"}
    if value is None:
        return "nothing"
    return next((n for t, n in names.items() if isinstance(value, t)), type(value).__name__)


# ---------------------------------------------------------------- back to text


def format_filter(node: Node) -> str:
    """The text form of an AST; parsing it gives the same AST back."""
    return _fmt(node, 0)


def _fmt(node: Node, outer: int) -> str:
    """`outer`: 0 top level or inside or, 1 inside and, 2 inside not."""
    if isinstance(node, Or | And):
        level, joiner = (0, " or ") if isinstance(node, Or) else (1, " and ")
        text = joiner.join(_fmt(item, level + 1) for item in node.items)
        return f"({text})" if outer > level else text
    if isinstance(node, Not):
        item = node.item
        if isinstance(item, Condition) and item.op in _NEGATED_SPELLING:
            return _fmt_condition(item, _NEGATED_SPELLING[item.op])
        return f"not {_fmt(item, 2)}"
    return _fmt_condition(node, node.op)


# how `not (x op …)` reads best; the parser turns each back into exactly that
_NEGATED_SPELLING = {"=": "!=", "is null": "is not null"}
_NEGATED_SPELLING |= {op: f"not {op}" for op in _WORDS.values() if op.isalpha() or " " in op}


def _fmt_condition(node: Condition, spelling: str) -> str:
    subject = _fmt_ref(node.subject)
    values = [format_value(v) for v in node.values]
    if node.op == "true":
        return subject
    if node.op == "is null":
        return f"{subject} {spelling}"
    if node.op == "between":
        return f"{subject} {spelling} {values[0]} and {values[1]}"
    if node.op == "in":
        return f"{subject} {spelling} ({', '.join(values)})"
    return f"{subject} {spelling} {values[0]}"


def _fmt_ref(ref: Ref) -> str:
    if not ref.args:
        return ref.name
    args = ", ".join((f"{a.name}: " if a.name else "") + format_value(a.value) for a in ref.args)
    return f"{ref.name}({args})"


def format_value(value: Value) -> str:
    """A value as the text form writes it."""
    if isinstance(value, Text):
        if value.bare and NAME.fullmatch(value.value) and value.value.casefold() not in RESERVED:
            return value.value
        escaped = value.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(value, Number):
        return format(value.value, "f")
    if isinstance(value, Day):
        return value.value.isoformat()
    if isinstance(value, Ago | Period):
        text = f"{value.amount} {value.unit}{'' if value.amount == 1 else 's'}"
        return f"{text} ago" if isinstance(value, Ago) else text
    if isinstance(value, Bool):
        return "true" if value.value else "false"
    return "today"
