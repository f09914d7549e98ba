"""Fuzzing the filter language: any input gives a FilterError or SQL that holds no user string.

Inputs: random text, soups of the language's own tokens and of injection payloads,
random ASTs (mostly well-typed, so they reach the compiler, with random strings,
numbers and dates as values) and random YAML-form data. For each, only FilterError may
be raised; when a filter compiles, its SQL text for SQLite and PostgreSQL
(`literal_binds` off) must equal the SQL of the same filter with every free-text value
replaced by "x" — so the text depends on the filter's shape alone — and contain none
of the user's strings, which must show up in the bound parameters instead. Compiled
filters also run on a small SQLite and PostgreSQL overlay, where drivers bind them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from erp_crm.model.tables.base import metadata
from erp_crm.model.tables.profile import partner_profile
from erp_crm.model.tables.synced import SYNCED
from erp_crm.segments.compiler import compile_filter
from erp_crm.segments.fields import (
    Context,
    Param,
    PredicateDef,
    date_param,
    default_registry,
    fold_text,
    text_equals,
)
from erp_crm.segments.language import (
    OPS,
    RESERVED,
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
    Period,
    Ref,
    Text,
    Today,
    Value,
    format_filter,
    format_value,
    parse_data,
    parse_text,
    yaml_value,
)
from tests.support.databases import POSTGRESQL, ScratchDatabases

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

# ---------------------------------------------------------------- the databases the compiled filters run on


def _fill(conn: sa.Connection) -> None:
    """One row in every table a filter reads, so that every expression is evaluated."""
    row = {"source": "erp", "erp_key": "1", "row_hash": "-", "synced_at": datetime(2024, 6, 1), "id": 1}
    custom = {"branch": "x", "employees": 3, "joined": "2021-01-01", "vip": True}
    rows = {
        "partner": {"name": "Teszt Kft.", "city": "Győr", "created_at": datetime(2020, 1, 1)},
        "product": {"name": "Csavar", "category": "Csavarok"},
        "invoice": {"partner_id": 1, "date": date(2024, 6, 1), "status": "sent"},
        "invoice_line": {"invoice_id": 1, "product_id": 1},
        "quote": {"partner_id": 1, "date": date(2024, 6, 1), "status": "sent"},
        "quote_line": {"quote_id": 1, "product_id": 1},
        "ticket": {"partner_id": 1, "category": "complaint", "opened_at": datetime(2024, 6, 2)},
    }
    for entity, values in rows.items():
        conn.execute(SYNCED[entity].insert(), [row | values])
    conn.execute(partner_profile.insert(), [{"partner_id": 1, "custom": custom, "updated_at": datetime(2024, 1, 1)}])


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[sa.Engine]]:
    with ScratchDatabases(POSTGRESQL) as make:
        urls = [f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'overlay.sqlite'}", make()]
        engines = [sa.create_engine(url) for url in urls]
        for engine in engines:
            metadata.create_all(engine)
            with engine.begin() as conn:
                _fill(conn)
        yield engines
        for engine in engines:
            engine.dispose()


# ---------------------------------------------------------------- the property


def _strings(node: Node) -> list[Text]:
    """Every free-text value in a filter (choices are checked against the registry, so not free)."""
    if isinstance(node, And | Or):
        return [t for item in node.items for t in _strings(item)]
    if isinstance(node, Not):
        return _strings(node.item)
    values = [*node.values, *(a.value for a in node.subject.args)]
    return [v for v in values if isinstance(v, Text) and v.value.casefold() not in CHOICES]


def _neutral(node: Node) -> Node:
    """The same filter with every free-text value replaced by "x"."""
    if isinstance(node, And | Or):
        return type(node)(tuple(_neutral(item) for item in node.items))
    if isinstance(node, Not):
        return Not(_neutral(node.item))
    free = {id(t) for t in _strings(node)}
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
    """Compile `node`: a FilterError, or SQL whose text carries no user string (module docstring)."""
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
        for text in _strings(node):
            s = text.value
            if s not in neutral_sql:  # "a" or "crm_" are in any SQL; nothing else may be
                assert s not in sql, (s, sql)
            forms = {s, fold_text(s), _like_escaped(fold_text(s))}
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


def _has_nul(node: Node) -> bool:
    return any("\x00" in t.value for t in _strings(node)) or "\x00" in format_filter(node)


# ---------------------------------------------------------------- properties


@FUZZ
@given(node=filters)
def test_random_filters_give_sql_without_their_strings(engines: list[sa.Engine], node: Node) -> None:
    check(node, engines)


@FUZZ
@given(node=filters)
def test_random_filters_survive_the_text_form(node: Node) -> None:
    text = format_filter(node)
    if _has_nul(node):
        with pytest.raises(FilterError):
            parse_text(text)
        return
    assert parse_text(text) == node


def to_data(node: Node) -> Any:
    """The YAML form of a filter: the inverse of parse_data, text form where YAML has no spelling."""
    if isinstance(node, And | Or):
        return {"all" if isinstance(node, And) else "any": [to_data(item) for item in node.items]}
    if isinstance(node, Not):
        return {"not": to_data(node.item)}
    args, values = node.subject.args, node.values
    named = [a.name for a in args if a.name]
    if 0 < len(named) < len(args) or len(set(named)) < len(named):  # no YAML spelling for these
        return format_filter(node)
    if not args:
        data: dict[str, Any] = {"field": node.subject.name}
    elif named:
        data = {node.subject.name: {a.name: _data_value(a.value) for a in args}}
    else:
        data = {node.subject.name: [_data_value(a.value) for a in args]}
    if node.op == "is null":
        data["is"] = None
    elif node.op in ("between", "in"):
        data[node.op] = [_data_value(v) for v in values]
    elif node.op != "true":
        data[node.op] = _data_value(values[0])
    return data


def _data_value(value: Value) -> Any:
    if isinstance(value, Text):
        as_yaml = yaml_value(value.value, value.where) if "\x00" not in value.value else value
        return value.value if as_yaml == value else format_value(value)
    if isinstance(value, Number | Day | Bool):
        return value.value
    return format_value(value)


@FUZZ
@given(node=filters)
def test_random_filters_survive_the_yaml_form(node: Node) -> None:
    assume(not _has_nul(node))
    assert parse_data(to_data(node)) == node


WORDS = sorted(RESERVED) + [d.name for d in REGISTRY] + ["ago", "days", "months", "d", "x", "category:", "within:"]
SYMBOLS = ["=", "!=", "<>", "<", "<=", ">", ">=", "=>", "(", ")", ",", ":", '"', "'", ";", "--", "#"]
LITERALS = st.one_of(
    free_text.map(lambda s: format_value(Text(s))),
    st.sampled_from(["500000", "1_000", "-3.5", "2024-03-01", "2024-02-30", "90 days ago", "12 months", "today"]),
)
piece = st.one_of(st.sampled_from(WORDS), st.sampled_from(SYMBOLS), LITERALS)
token_soup = st.lists(piece, max_size=14).map(" ".join)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid filter's text with a piece cut out and another put in: near misses."""
    text = format_filter(draw(filters))
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, min(len(text), start + 12)))
    return text[:start] + draw(st.sampled_from(["", " "]) | piece) + text[end:]


@settings(FUZZ, max_examples=2000)
@given(text=st.one_of(st.text(max_size=80), token_soup, mutated()))
def test_any_text_is_refused_or_safe(text: str) -> None:
    """Random characters, soups of the language's tokens, and near misses of valid filters."""
    try:
        node = parse_text(text)
    except FilterError:
        return
    assert parse_text(format_filter(node)) == node
    check(node)


yaml_keys = st.sampled_from(
    ["all", "any", "not", "field", "=", "!=", ">=", "in", "not in", "between", "contains", "is", "is not", "within"]
    + ["before", "bought", "complaints", "contact", "named", "city", "category", "channel", "since", "x"]
)
yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), free_text, st.dates(), st.datetimes(), names,
    st.sampled_from(["city = 'x'", "bought(category: 'x')", "(", "90 days", "email"]),
)
yaml_data = st.recursive(
    yaml_scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=3),
        st.dictionaries(st.one_of(yaml_keys, st.text(max_size=4), st.integers()), kids, max_size=3),
    ),
    max_leaves=10,
)


@FUZZ
@given(data=st.one_of(yaml_data, filters.map(to_data)))
@example(data={"field": "city", "between": ["'; DROP TABLE crm_partner; --", "email"]})  # a choice word at one end
def test_any_yaml_data_is_refused_or_safe(data: Any) -> None:
    try:
        node = parse_data(data)
    except FilterError:
        return
    check(node)
