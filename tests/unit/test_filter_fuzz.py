"""Fuzzing the filter language: any input gives a FilterError or SQL that holds no user string.

Inputs: random text, soups of the language's own tokens and of injection payloads,
random ASTs and random YAML-form data. For each, only FilterError may be raised, and a
filter that compiles must hold the property of tests.support.filter_strategies.check
(its SQL text for SQLite and PostgreSQL carries none of the user's strings). Here no
statement runs; tests/integration/test_filter_fuzz_on_databases.py runs random filters
on a SQLite and a PostgreSQL overlay, where drivers bind them.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from erp_crm.segments.language import (
    RESERVED,
    And,
    Bool,
    Day,
    FilterError,
    Node,
    Not,
    Number,
    Or,
    Text,
    Value,
    format_filter,
    format_value,
    parse_data,
    parse_text,
    yaml_value,
)
from tests.support.filter_strategies import FUZZ, REGISTRY, check, filters, free_strings, free_text, names


def _has_nul(node: Node) -> bool:
    return any("\x00" in t.value for t in free_strings(node)) or "\x00" in format_filter(node)


# ---------------------------------------------------------------- properties


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
