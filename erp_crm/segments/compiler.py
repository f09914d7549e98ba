"""Filter AST → one SQLAlchemy condition on the partner table.

A segment refresh must be one SQL statement over all partners, and a filter is untrusted
text, so: names only select registry definitions, values only become bound parameters
(`sa.literal` with an explicit type), and nothing is ever formatted into SQL text. The
statement's text therefore depends on the filter's shape alone, never on its values.

Meaning, beyond plain SQL (docs/filters.md explains it to admins):
- a comparison with an empty (NULL) value is false, and `not` turns it true, so
  `not city = "Budapest"` and `city != "Budapest"` include partners without a city;
- text compares without case and Hungarian accents; dates compare by day, also on
  datetime columns; relative dates are fixed from the `today` given.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from erp_crm.segments.fields import (
    Context,
    Expr,
    FieldDef,
    FieldRegistry,
    Kind,
    Param,
    PredicateDef,
    Window,
    date_param,
    fold,
    fold_text,
    on_or_after,
    on_or_before,
    shift,
)
from erp_crm.segments.language import (
    Ago,
    And,
    Bool,
    Condition,
    Day,
    FilterError,
    Node,
    Not,
    Number,
    Or,
    Period,
    Ref,
    Text,
    Today,
    Value,
    check_characters,
    format_value,
    parse_filter,
)

_OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "text": ("=", "<", "<=", ">", ">=", "between", "in", "contains", "starts with", "ends with", "is null"),
    "number": ("=", "<", "<=", ">", ">=", "between", "in", "is null"),
    "date": ("=", "<", "<=", ">", ">=", "between", "within", "is null"),
    "choice": ("=", "in", "is null"),
    "bool": ("=", "is null", "true"),
}
_KIND_NAMES = {"text": "text", "number": "a number", "date": "a date", "bool": "yes/no", "choice": "a choice"}
_COMPARE = {"=": "__eq__", "<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}


def compile_filter(node: Node, registry: FieldRegistry, today: date) -> Expr:
    """The filter as a condition on `registry.partner`, for `select(partner.c.id).where(...)`.

    `today` anchors "90 days ago" and "within 12 months", so a refresh can be repeated.
    """
    return _Compiler(registry, Context(registry.partner, today)).node(node, negated=False)


@dataclass(frozen=True)
class Compiled:
    """A compiled filter, and what a refresh needs to know to look at fewer partners."""

    condition: Expr
    uses_today: bool  # means something else on another day ("within 90 days", rows dated in the future)
    tracked: bool  # every field and predicate it names reports its changes (FieldDef.tracked)


def compile_for_refresh(node: Node, registry: FieldRegistry, today: date) -> Compiled:
    """The filter compiled for `today`; whether it depends on the day is seen by compiling it for the next day too."""
    compiler = _Compiler(registry, Context(registry.partner, today))
    condition = compiler.node(node, negated=False)
    tomorrow = compile_filter(node, registry, shift(today, 1, "day"))
    return Compiled(condition, _fingerprint(condition) != _fingerprint(tomorrow), all(d.tracked for d in compiler.used))


def _fingerprint(condition: Expr) -> tuple[str, dict[str, Any]]:
    """The SQL text and its bound values: equal for two compilations that mean the same."""
    compiled = condition.compile()
    return str(compiled), compiled.params


def select_partners(source: Any, registry: FieldRegistry, today: date) -> sa.Select[Any]:
    """Parse a filter (text or YAML form) and select the ids of the partners it matches."""
    return sa.select(registry.partner.c.id).where(compile_filter(parse_filter(source), registry, today))


@dataclass(frozen=True)
class _Subject:
    """What a condition tests: a field's or a predicate call's SQL, with its kind."""

    label: str  # for messages: the field's name or `bought(...)`
    kind: Kind
    expr: Expr
    choices: tuple[str, ...]
    predicate: bool


class _Compiler:
    def __init__(self, registry: FieldRegistry, ctx: Context) -> None:
        self.registry = registry
        self.ctx = ctx
        self.used: list[FieldDef | PredicateDef] = []  # the definitions the filter names

    def node(self, node: Node, negated: bool) -> Expr:
        """`negated`: some `not` is above, so NULL must become false before it is turned."""
        if isinstance(node, And):
            return sa.and_(*(self.node(item, negated) for item in node.items))
        if isinstance(node, Or):
            return sa.or_(*(self.node(item, negated) for item in node.items))
        if isinstance(node, Not):
            return sa.not_(self.node(node.item, True))
        subject = self.subject(node.subject)
        allowed = _OPS_BY_KIND[subject.kind]
        if node.op not in allowed:
            raise FilterError(_misfit(subject, node.op, allowed), node.where)
        test = self.test(subject, node)
        if negated and node.op not in ("is null", "true") and subject.kind != "bool":
            test = sa.func.coalesce(test, sa.false(), type_=sa.Boolean())
        return test

    # ------------------------------------------------------------ subjects

    def subject(self, ref: Ref) -> _Subject:
        definition = self.registry.get(ref.name)
        if definition is None:
            hint = self.registry.suggest(ref.name)
            raise FilterError(f"unknown field '{ref.name}'" + (f" (did you mean '{hint}'?)" if hint else ""), ref.where)
        self.used.append(definition)
        if isinstance(definition, FieldDef):
            if ref.args:
                hint = f"; did you mean {ref.name} = {format_value(ref.args[0].value)}?" if len(ref.args) == 1 else ""
                raise FilterError(f"{ref.name} is a field and takes no arguments{hint}", ref.where)
            expr = definition.build(self.ctx)
            return _Subject(ref.name, definition.kind, expr, definition.choices, False)
        try:
            expr = definition.build(self.ctx, **self.arguments(definition, ref))
        except FilterError as exc:
            raise exc.at(ref.where) from None
        return _Subject(f"{ref.name}(…)", definition.kind, expr, definition.choices, True)

    def arguments(self, pred: PredicateDef, ref: Ref) -> dict[str, Any]:
        names = list(pred.params)
        values: dict[str, Any] = {}
        for i, arg in enumerate(ref.args):
            if arg.name is None:
                if any(a.name is not None for a in ref.args[:i]):
                    raise FilterError("arguments without a name come before named ones", arg.where)
                if i >= len(names):
                    most = f"at most {len(names)} argument{'s' * (len(names) != 1)}" if names else "no arguments"
                    raise FilterError(f"{pred.name} takes {most}", arg.where)
                name = names[i]
            elif arg.name not in pred.params:
                hint = next(iter(_close(arg.name, names)), None)
                known = ", ".join(names) or "none"
                raise FilterError(
                    f"{pred.name} has no parameter '{arg.name}'"
                    + (f" (did you mean '{hint}'?)" if hint else f" (it has: {known})"),
                    arg.where,
                )
            else:
                name = arg.name
            if name in values:
                raise FilterError(f"{name} is given twice", arg.where)
            values[name] = self.argument(f"{name} of {pred.name}", pred.param(name), arg.value)
        missing = [n for n in names if pred.param(n).required and n not in values]
        if missing:
            raise FilterError(f"{pred.name} needs {', '.join(missing)}", ref.where)
        return values

    def argument(self, label: str, param: Param, value: Value) -> Any:
        kind = param.kind
        if kind == "period":
            if isinstance(value, Period):
                return Window(self.resolve(Ago(value.amount, value.unit, value.where)), self.ctx.today)
            if isinstance(value, Day | Today | Ago):  # a date: since then
                return Window(self.resolve(value), self.ctx.today)
            raise _wrong(label, "a length of time such as 90 days, or a date", value)
        subject = _Subject(label, kind, sa.null(), param.choices, False)
        return self.scalar(subject, value)

    # ------------------------------------------------------------ tests

    def test(self, s: _Subject, cond: Condition) -> Expr:
        op, expr = cond.op, s.expr
        if op == "true":
            return expr if s.predicate else expr.is_(True)
        if op == "is null":
            return sa.or_(expr.is_(None), expr == sa.literal("", sa.Text())) if s.kind == "text" else expr.is_(None)
        if s.kind == "bool":
            return expr.is_(self.scalar(s, cond.values[0]))
        if s.kind == "date":
            return self.date_test(s, cond)
        left = fold(expr) if s.kind == "text" else expr
        values = [self.scalar(s, v) for v in cond.values]
        if s.kind == "text":
            values = [fold_text(v) for v in values]
        if op in ("contains", "starts with", "ends with"):
            text = values[0].replace("/", "//").replace("%", "/%").replace("_", "/_")
            pattern = {"contains": f"%{text}%", "starts with": f"{text}%", "ends with": f"%{text}"}[op]
            return left.like(sa.literal(pattern, sa.Text()), escape="/")
        bind_type = sa.Numeric() if s.kind == "number" else sa.Text()
        if op == "in":
            return left.in_(sa.bindparam(None, values, expanding=True, type_=bind_type))
        binds = [sa.literal(v, bind_type) for v in values]
        if op == "between":
            _check_range(values, cond)
            return left.between(binds[0], binds[1])
        return getattr(left, _COMPARE[op])(binds[0])

    def date_test(self, s: _Subject, cond: Condition) -> Expr:
        """By whole days: `= D` is all of day D, so datetime columns compare as people expect."""
        expr, op = s.expr, cond.op
        if op == "within":
            period = cond.values[0]
            if not isinstance(period, Period):
                raise _wrong(s.label, "a length of time after within, such as 90 days", period)
            return Window(self.resolve(Ago(period.amount, period.unit, period.where)), self.ctx.today).contains(expr)
        days = [self.scalar(s, v) for v in cond.values]
        if op == "between":
            _check_range(days, cond)
            return sa.and_(on_or_after(expr, days[0]), on_or_before(expr, days[1]))
        day = days[0]
        if op == "=":
            return sa.and_(on_or_after(expr, day), on_or_before(expr, day))
        if op == "<":
            return expr < date_param(expr, day)
        if op == "<=":
            return on_or_before(expr, day)
        if op == ">":
            return on_or_after(expr, shift(day, 1, "day"))
        return on_or_after(expr, day)

    # ------------------------------------------------------------ values

    def scalar(self, s: _Subject, value: Value) -> Any:
        """A value as the Python object bound for a subject of kind `s.kind`, or a FilterError."""
        kind = s.kind
        if kind == "text":
            if isinstance(value, Text) and not value.bare:
                check_characters(value.value, value.where)  # ASTs may be built in code, not parsed
                return value.value
            quotable = isinstance(value, Number) or (isinstance(value, Text) and value.bare)
            hint = f'; write it in quotes: "{format_value(value)}"' if quotable else ""
            raise _wrong(s.label, "text", value, hint)
        if kind == "number":
            if isinstance(value, Number):
                return value.value
            raise _wrong(s.label, "a number", value)
        if kind == "date":
            if isinstance(value, Day | Today | Ago):
                return self.resolve(value)
            hint = ""
            if isinstance(value, Period):
                hint = f"; for a date write {format_value(value)} ago"
            elif isinstance(value, Text):
                hint = "; write dates without quotes: 2024-03-01, today or 90 days ago"
            raise _wrong(s.label, "a date", value, hint)
        if kind == "bool":
            if isinstance(value, Bool):
                return value.value
            raise _wrong(s.label, "true or false", value)
        return self.choice(s, value)

    def choice(self, s: _Subject, value: Value) -> str:
        if not isinstance(value, Text):
            raise _wrong(s.label, f"one of {', '.join(s.choices)}", value)
        by_folded = {c.casefold(): c for c in s.choices}
        found = by_folded.get(value.value.casefold())
        if found is None:
            hint = next(iter(_close(value.value.casefold(), list(by_folded))), None)
            more = f" (did you mean '{by_folded[hint]}'?)" if hint else f" (one of: {', '.join(s.choices)})"
            raise FilterError(f"{s.label} has no choice '{value.value}'{more}", value.where)
        return found

    def resolve(self, value: Day | Today | Ago) -> date:
        if isinstance(value, Day):
            return value.value
        if isinstance(value, Today):
            return self.ctx.today
        try:
            return shift(self.ctx.today, -value.amount, value.unit)
        except FilterError as exc:
            raise exc.at(value.where) from None


def _close(word: str, candidates: list[str]) -> list[str]:
    return difflib.get_close_matches(word, candidates, 1, 0.6)


def _value_kind(value: Value) -> str:
    if isinstance(value, Day | Today | Ago):
        return "a date"
    if isinstance(value, Text) and value.bare:
        return "a bare word"
    return {Text: "text", Number: "a number", Period: "a length of time", Bool: "yes/no"}[type(value)]


def _wrong(label: str, expected: str, value: Value, hint: str = "") -> FilterError:
    shown = format_value(value)
    return FilterError(f"{label} takes {expected}, but {shown} is {_value_kind(value)}{hint}", value.where)


def _misfit(s: _Subject, op: str, allowed: tuple[str, ...]) -> str:
    kind = _KIND_NAMES[s.kind] if s.kind != "choice" else f"one of {', '.join(s.choices)}"
    if op == "true":
        return f"{s.label} is {kind}, not yes/no: compare it (with {', '.join(a for a in allowed if a != 'true')})"
    usable = ", ".join(a for a in allowed if a != "true")
    return f"{op} does not apply to {s.label}, which is {kind} (use {usable})"


def _check_range(ends: list[Any], cond: Condition) -> None:
    low, high = ends
    if low > high:
        raise FilterError(
            f"the range is empty: {format_value(cond.values[0])} comes after {format_value(cond.values[1])}"
            " (write the lower end first)",
            cond.values[0].where if cond.values[0].where.line or cond.values[0].where.path else cond.where,
        )


