"""Hypothesis strategies for segment filters, the registry they draw from, and the safety property.

`filters` draws ASTs (mostly well-typed, so they reach the compiler, with random strings,
numbers and dates as values, injection payloads among them). `check` is the property
every filter must hold: compiling it raises only FilterError, or gives SQL whose text
for SQLite and PostgreSQL (`literal_binds` off) equals the SQL of the same filter with
every free-text value replaced by "x" — so the text depends on the filter's shape
alone — and contains none of the user's strings, which must show up in the bound
parameters instead. Given engines, `check` also runs the statement on each of them.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from erp_crm.segments.compiler import compile_filter
from erp_crm.segments.fields import Context, Param, PredicateDef, date_param, default_registry, fold_text, glob_pattern, text_equals
from erp_crm.segments.language import OPS, Ago, And, Arg, Bool, Condition, Day, FilterError, Node, Not, Number, Or, Period, Ref, Text, Today, Value

TODAY = date(2024, 6, 30)
DIALECTS = (sqlite.dialect(), postgresql.dialect())
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _contact(
    ctx: Context, channel: str, since: date | None = None, at_least: Decimal | None = None, flag: bool | None = None
) -> Any:
    """A predicate with every parameter kind but period, so each kind's values reach a build."""
    p = ctx.partner
    parts = [p.c.email.is_not(None) if channel == "email" else p.c.mobile.is_not(None)]
    if since is not None:
        parts.append(p.c.created_at >= date_param(p.c.created_at, since))
    if at_least is not None:
        parts.append(p.c.credit_limit >= sa.literal(at_least, sa.Numeric()))
    if flag is not None:
        parts.append(p.c.active.is_(flag))
    return sa.and_(*parts)


REGISTRY = default_registry({"branch": "text", "employees": "number", "joined": "date", "vip": "bool"})
REGISTRY.add(
    PredicateDef(
        "contact",
        {"channel": Param("choice", True, ("email", "sms")), "since": "date", "at_least": "number", "flag": "bool"},
        _contact,
    )
)
REGISTRY.add(
    PredicateDef("named", {"name": Param("text", True)}, lambda ctx, name: text_equals(ctx.partner.c.name, name))
)
PARAMS = [p for d in REGISTRY if isinstance(d, PredicateDef) for p in d.params.values() if isinstance(p, Param)]
CHOICES = {c for d in REGISTRY for c in d.choices} | {c for p in PARAMS for c in p.choices}

# ---------------------------------------------------------------- the property


def free_strings(node: Node) -> list[Text]:
    """Every free-text value in a filter (choices are checked against the registry, so not free)."""
    if isinstance(node, And | Or):
        return [t for item in node.items for t in free_strings(item)]
    if isinstance(node, Not):
        return free_strings(node.item)
    values = [*node.values, *(a.value for a in node.subject.args)]
    return [v for v in values if isinstance(v, Text) and v.value.casefold() not in CHOICES]


def _neutral(node: Node) -> Node:
    """The same filter with every free-text value replaced by "x"."""
    if isinstance(node, And | Or):
        return type(node)(tuple(_neutral(item) for item in node.items))
    if isinstance(node, Not):
        return Not(_neutral(node.item))
    free = {id(t) for t in free_strings(node)}
    if node.op == "between":  # both ends, or "x" may fall after a choice word kept at the other end
        free |= {id(v) for v in node.values if isinstance(v, Text)}

    def swap(v: Value) -> Value:
        return Text("x") if id(v) in free else v

    args = tuple(dataclasses.replace(a, value=swap(a.value)) for a in node.subject.args)
    subject = dataclasses.replace(node.subject, args=args)
    return dataclasses.replace(node, values=tuple(swap(v) for v in node.values), subject=subject)


def _params(compiled: sa.engine.Compiled) -> list[str]:
    out: list[str] = []
    for value in compiled.params.values():
        out += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return out


def _like_escaped(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def check(node: Node, engines: list[sa.Engine] | None = None) -> None:
    """Compile `node`: a FilterError, or SQL whose text carries no user string (module docstring); run it on `engines`."""
    try:
        condition = compile_filter(node, REGISTRY, TODAY)
    except FilterError:
        return
    stmt = sa.select(REGISTRY.partner.c.id).where(condition)
    neutral = sa.select(REGISTRY.partner.c.id).where(compile_filter(_neutral(node), REGISTRY, TODAY))
    for dialect in DIALECTS:
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": False})
        sql = str(compiled)
        neutral_sql = str(neutral.compile(dialect=dialect, compile_kwargs={"literal_binds": False}))
        params = _params(compiled)
        for text in free_strings(node):
            s = text.value
            if s not in neutral_sql:  # "a" or "crm_" are in any SQL; nothing else may be
                assert s not in sql, (s, sql)
            forms = {s, fold_text(s), _like_escaped(fold_text(s)), glob_pattern(s)}
            assert any(f in p for f in forms for p in params), (s, params)
        assert sql == neutral_sql
    for engine in engines or ():
        with engine.connect() as conn:
            conn.execute(stmt).all()


# ---------------------------------------------------------------- strategies

PAYLOADS = [
    "'; DROP TABLE crm_partner; --",
    '" OR 1=1 --',
    "' OR '1'='1",
    "Robert'); DROP TABLE crm_partner;--",
    "\\",
    "\\'",
    '\\"',
    "''",
    '""',
    "%",
    "_",
    "/",
    "a%' OR name LIKE '%",
    ") OR (1=1",
    "$$; DROP TABLE crm_partner; $$",
    "%(param_1)s",
    ":param_1",
    "?",
    "/* */ --",
    "\n--",
    "\r\n",
    "\x00",
    "a\x00b",
    "\u202e",
    "😀",
    "Árvíztűrő tükörfúrógép",
    "crm_partner.id",
    "E'\\x27'",
    "90 days ago",
    "today",
    "2024-01-01",
    "365d",
]
free_text = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(max_size=20),
    st.tuples(st.sampled_from(PAYLOADS), st.text(max_size=6)).map("".join),
)
units = st.sampled_from(["day", "week", "month", "year"])
names = st.sampled_from([d.name for d in REGISTRY] + ["revenu", "crm_partner", "x", "bought2", "custom.nope"])
numbers = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**15), max_value=10**15),
    st.integers(-(10**30), 10**30).map(Decimal),
)
dates = st.one_of(
    st.dates().map(Day),
    st.just(Today()),
    st.builds(Ago, st.integers(0, 500), units),
    st.builds(Ago, st.integers(0, 10**7), units),
)
periods = st.builds(Period, st.one_of(st.integers(0, 500), st.integers(0, 10**7)), units)


def values_of(kind: str, choices: tuple[str, ...] = ()) -> st.SearchStrategy[Value]:
    if kind == "text":
        return free_text.map(Text)
    if kind == "number":
        return numbers.map(Number)
    if kind == "date":
        return dates
    if kind == "period":
        return st.one_of(periods, dates)
    if kind == "bool":
        return st.booleans().map(Bool)
    picked = st.sampled_from(choices)
    bare, upper = picked.map(lambda c: Text(c, bare=True)), picked.map(lambda c: Text(c.upper()))
    return st.one_of(bare, upper, free_text.map(Text))


any_value: st.SearchStrategy[Value] = st.one_of(
    *(values_of(k) for k in ("text", "number", "date", "bool")),
    periods,
    st.sampled_from(["email", "company", "at_risk", "x"]).map(lambda w: Text(w, bare=True)),
)
OPS_BY_KIND = {
    "text": ["=", "<", "<=", ">", ">=", "between", "in", "contains", "starts with", "ends with", "is null"],
    "number": ["=", "<", "<=", ">", ">=", "between", "in", "is null"],
    "date": ["=", "<", "<=", ">", ">=", "between", "within", "is null"],
    "choice": ["=", "in", "is null"],
    "bool": ["=", "is null", "true"],
}


@st.composite
def typed_conditions(draw: st.DrawFn) -> Condition:
    """A condition that fits the registry in shape, so it reaches SQL unless a value is wrong."""
    definition = draw(st.sampled_from(list(REGISTRY)))
    args: list[Arg] = []
    if isinstance(definition, PredicateDef):
        for i, (pname, param) in enumerate(definition.params.items()):
            assert isinstance(param, Param)
            if param.required or draw(st.booleans()):
                positional = len(args) == i and draw(st.booleans())
                args.append(Arg(None if positional else pname, draw(values_of(param.kind, param.choices))))
    op = draw(st.sampled_from(OPS_BY_KIND[definition.kind]))
    kind_values = values_of(definition.kind, definition.choices)
    count = {"between": 2, "is null": 0, "true": 0, "in": draw(st.integers(1, 4))}.get(op, 1)
    values = [draw(periods if op == "within" else kind_values) for _ in range(count)]
    return Condition(Ref(definition.name, tuple(args)), op, tuple(values))


@st.composite
def random_conditions(draw: st.DrawFn) -> Condition:
    """Anything the AST can hold: unknown names, wrong kinds, stray arguments."""
    arg_names = st.none() | st.sampled_from(["within", "category", "x", "name"])
    args = draw(st.lists(st.builds(Arg, arg_names, any_value), max_size=3))
    op = draw(st.sampled_from(OPS))
    count = {"between": 2, "is null": 0, "true": 0, "in": draw(st.integers(1, 3))}.get(op, 1)
    return Condition(Ref(draw(names), tuple(args)), op, tuple(draw(any_value) for _ in range(count)))


def trees(leaves: st.SearchStrategy[Condition]) -> st.SearchStrategy[Node]:
    def branches(kids: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        many = st.lists(kids, min_size=2, max_size=4).map(tuple)
        return st.one_of(kids.map(Not), many.map(And), many.map(Or))

    return st.recursive(leaves, branches, max_leaves=8)


filters = trees(st.one_of(typed_conditions(), typed_conditions(), typed_conditions(), random_conditions()))
