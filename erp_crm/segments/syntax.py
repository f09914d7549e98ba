"""The filter language's vocabulary: positions, the error type, the AST and the word tables.

Everything the other parts of the language share; it produces no SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from erp_crm.errors import UserError

Path = tuple[str | int, ...]
MAX_LENGTH = 20_000  # characters; a filter is written by hand
MAX_DEPTH = 40  # nesting of parentheses and `not`; keeps recursion far from Python's limit
MAX_CONDITIONS = 200  # per filter; SQLite refuses an expression 1,000 levels deep, and a long OR is that deep


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
SYMBOLS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
WORD_HINTS = {"like": "contains", "equals": "=", "has": "contains", "since": "after", "greater": ">", "less": "<"}
SYMBOL_HINTS = {"=>": ">=", "=<": "<=", "!": "not", "=!": "!=", "===": "="}
WORDS = {
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
    **{s: (op == "!=", "=" if op == "!=" else op) for s, op in SYMBOLS.items()},
    **{w: (False, op) for w, op in WORDS.items()},
    **{f"not {w}": (True, op) for w, op in WORDS.items()},
    "is": (False, "is null"),
    "is not": (True, "is null"),
}
AND_WORDS, OR_WORDS, NOT_WORDS = {"and", "és"}, {"or", "vagy"}, {"not", "nem"}
UNITS = {"day": "day", "days": "day", "d": "day", "week": "week", "weeks": "week", "w": "week"}
UNITS |= {"month": "month", "months": "month", "m": "month", "year": "year", "years": "year", "y": "year"}
NEGATABLE = "in, between, contains, starts with, ends with, before, after or within"
RESERVED = frozenset(
    AND_WORDS | OR_WORDS | NOT_WORDS | {w for s in WORDS for w in s.split()}
    | {"is", "null", "empty", "today", "true", "false"}
)


YAML_KEYS = frozenset({"all", "any", "and", "or", "not", "field"})  # structure in the YAML form
NAME = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")
