"""The text form of a filter (`rfm_group in ("at_risk") and not key_account`) parsed into the AST."""

from __future__ import annotations

import difflib

from erp_crm.segments.syntax import (
    AND_WORDS,
    MAX_DEPTH,
    NEGATABLE,
    NOT_WORDS,
    OR_WORDS,
    RESERVED,
    SYMBOLS,
    UNITS,
    WORD_HINTS,
    WORDS,
    Ago,
    And,
    Arg,
    Bool,
    Condition,
    Day,
    FilterError,
    Node,
    Not,
    Number,
    Or,
    Path,
    Period,
    Ref,
    Text,
    Today,
    Value,
    Where,
)
from erp_crm.segments.tokens import Token, tokenize


def parse_text(text: str, path: Path = ()) -> Node:
    """Parse a filter in the text form; `path` places it inside a YAML document."""
    return Parser(tokenize(text, path)).filter()


class Parser:
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
                raise self.fail(f"expected {NEGATABLE} after not, found {self.peek.describe()}")
            if self.peek.kind == "name" and self.peek.word not in AND_WORDS | OR_WORDS:
                raise self.unknown_operator(subject)
            return Condition(subject, "true", (), subject.where)
        op = WORDS[spelling]
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
            if spelling in WORDS:
                for _ in range(width):
                    self.advance()
                return spelling
        return None

    def unknown_operator(self, subject: Ref) -> FilterError:
        tok = self.peek
        known = [*SYMBOLS, *WORDS, "is null", "is not null"]
        hint = WORD_HINTS.get(tok.word or "")
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
        words: dict[str, Value] = {"today": Today(tok.where), "true": Bool(True, tok.where), "false": Bool(False, tok.where)}
        if tok.word in words:
            return words[tok.word]
        if tok.word in ("null", "empty"):
            raise self.fail("write `is null` (or `is not null`) to test for an empty field", tok)
        raise self.fail(f"expected a value, found {tok.describe()}", tok)


def _span(first: Where, last: Where) -> int:
    """Length from the start of `first` to the end of `last` when both are on one line."""
    return last.column + last.length - first.column if last.line == first.line else first.length
