"""Segment filters without a database: parsing, both forms, formatting, the SQL text, refused input.

The registry and its stand-in tables are in tests.support.filter_registry, the handmade
overlay's filters in tests.support.filter_overlay. The partners those filters select,
on SQLite and on PostgreSQL, are checked in tests/integration/test_filter_selection.py.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.dialects import postgresql, sqlite

from erp_crm.errors import UserError
from erp_crm.model.tables.synced import SYNCED
from erp_crm.segments.compiler import compile_filter, compile_for_refresh, select_partners
from erp_crm.segments.fields import FieldDef, FieldRegistry
from erp_crm.segments.language import FilterError, format_filter, parse_data, parse_text
from tests.support.filter_overlay import CASES, INJECTIONS, THE_ISSUES_EXAMPLE, YAML_FORMS
from tests.support.filter_registry import REGISTRY, TODAY

# ---------------------------------------------------------------- both forms, formatting, one statement


@pytest.mark.parametrize("text, document", YAML_FORMS, ids=[f"y{i}" for i in range(len(YAML_FORMS))])
def test_the_yaml_form_parses_to_the_same_filter(text: str, document: str) -> None:
    assert parse_data(yaml.safe_load(document)) == parse_text(text)


def test_formatting_gives_back_the_same_filter() -> None:
    for text, _ in CASES:
        node = parse_text(text)
        assert parse_text(format_filter(node)) == node
    assert format_filter(parse_text("NEM a   és (b vagy c != 'x' or d in (e, \"f\"))")) == 'not a and (b or c != "x" or d in (e, "f"))'


def test_one_statement_over_partners_with_bound_values() -> None:
    stmt = select_partners(THE_ISSUES_EXAMPLE, REGISTRY, TODAY)
    compiled = stmt.compile(dialect=sqlite.dialect())
    assert "Budapest".casefold() not in str(compiled).casefold()
    assert "budapest" in compiled.params.values() and Decimal(500000) in compiled.params.values()
    assert str(compiled).count("SELECT crm_partner.id") == 1


# ---------------------------------------------------------------- refused input, with its place

REFUSED = [
    ("revenu_12m >= 5", "line 1, column 1: unknown field 'revenu_12m' (did you mean 'revenue_12m'?)"),
    (
        'city = "Budapest" and\n  zip bewteen "1000" and "1239"',
        "line 2, column 7: unknown operator 'bewteen' after zip (did you mean 'between'?)",
    ),
    ('(city = "Budapest" or kind = "person"', "line 1, column 1: this ( is never closed"),
    ('city = "Budapest")', "line 1, column 18: this ) closes nothing"),
    ('city = "Budapest', 'line 1, column 8: this string is never closed (the closing " is missing)'),
    ("revenue_12m => 5", "line 1, column 13: unknown operator '=>' (did you mean '>='?)"),
    ("name like 'Kft'", "line 1, column 6: unknown operator 'like' after name (did you mean 'contains'?)"),
    ('revenue_12m >= "sok"', 'line 1, column 16: revenue_12m takes a number, but "sok" is text'),
    ("city < 5", 'line 1, column 8: city takes text, but 5 is a number; write it in quotes: "5"'),
    ("city = Budapest", 'line 1, column 8: city takes text, but Budapest is a bare word; write it in quotes: "Budapest"'),
    ('revenue_12m contains "5"', "line 1, column 13: contains does not apply to revenue_12m, which is a number"),
    ("rfm_group = 'at risk'", "line 1, column 13: rfm_group has no choice 'at risk' (did you mean 'at_risk'?)"),
    ("last_purchase before 90 days", "line 1, column 22: last_purchase takes a date, but 90 days is a length of time"),
    ("last_purchase before '2024-01-01'", "line 1, column 22: last_purchase takes a date, but \"2024-01-01\" is text"),
    ('bought(categroy: "Csavarok")', "line 1, column 8: bought has no parameter 'categroy' (did you mean 'category'?)"),
    ("consent(fax)", "line 1, column 9: channel of consent has no choice 'fax' (one of: email, sms, phone, post)"),
    ("tag", "line 1, column 1: tag needs name"),
    ("name", "line 1, column 1: name is text, not yes/no: compare it"),
    ('city "Budapest"', 'line 1, column 1: city is a field and takes no arguments; did you mean city = "Budapest"?'),
    ("revenue_12m between 10 and 5", "line 1, column 21: the range is empty: 10 comes after 5"),
    ("last_purchase > 2024-02-30", "line 1, column 17: 2024-02-30 is not a date (year-month-day)"),
    ("last_purchase > 999999 years ago", "line 1, column 17: 999999 years from 2024-06-30 is outside the calendar"),
    ("a and", "line 1, column 6: the filter ends where a condition should follow"),
    ("", "line 1, column 1: the filter is empty"),
    ("  # only a comment", "line 1, column 19: the filter is empty"),
    ("city = 'x\\q'", "line 1, column 10: unknown escape '\\q'"),
    # injection attempts where names go: refused before any lookup
    ("city; DROP TABLE crm_partner; --", "line 1, column 5: unexpected character ';'"),
    ('"city" = 1', 'line 1, column 1: expected a field or a condition, found "city"'),
    ("crm_partner.id = 1", "line 1, column 1: unknown field 'crm_partner.id'"),
    ("city = 'a\x00b'", "line 1, column 10: character U+0000 is not allowed in a filter"),
    ("(" * 60 + "city" + ")" * 60, "line 1, column 41: the filter is nested more than 40 levels deep"),
]


@pytest.mark.parametrize("text, message", REFUSED, ids=[f"r{i}" for i in range(len(REFUSED))])
def test_refused_filters_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(parse_text(text), REGISTRY, TODAY)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, UserError)


YAML_REFUSED = [
    (
        {"field": "city; DROP TABLE crm_partner", "=": "x"},
        "field: expected a field name, found 'city; DROP TABLE crm_partner'",
    ),
    ({"all": [{"field": "city", "=": "x"}, {"field": "revnue_12m", ">": 1}]}, "all[1].field: unknown field"),
    ({"any": [{"field": "city", "like": "x"}]}, "any[0].like: unknown key 'like'"),
    ({"field": "city", "=": "x", "in": ["y"]}, "one condition, one operator: = and in are two"),
    ({"all": []}, "all: all takes a non-empty list of conditions"),
    ({"not": ["city = 'x'"]}, "not: expected a condition (a mapping or a text filter), found a list"),
    ({"all": ["city = 'x' and (", "kind = 'person'"]}, "all[0], line 1, column 17: the filter ends where"),
    ({"field": "revenue_12m", "between": [1]}, "between: between takes a list of two values"),
    ({"field": "created_at", "=": datetime(2024, 1, 1, 10, 0)}, "=: filters compare dates, not times"),
    ({"bought": {"within": [1, 2]}}, "bought.within: expected a single value, found a list"),
    ({"all": [{"field": "city", "=": "x"}, {"field": "kind", "=": None}]}, "all[1].=: a value is missing"),
]


@pytest.mark.parametrize("data, message", YAML_REFUSED, ids=[f"yr{i}" for i in range(len(YAML_REFUSED))])
def test_refused_yaml_says_which_key(data: Any, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(parse_data(data), REGISTRY, TODAY)
    assert str(caught.value).startswith(message)


def test_pretty_error_puts_a_caret_under_the_place() -> None:
    text = 'city = "Budapest"\n  and revenu_12m >= 5'
    with pytest.raises(FilterError) as caught:
        compile_filter(parse_text(text), REGISTRY, TODAY)
    assert caught.value.pretty(text).splitlines() == [
        "line 2, column 7: unknown field 'revenu_12m' (did you mean 'revenue_12m'?)",
        "    and revenu_12m >= 5",
        "        ^^^^^^^^^^",
    ]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_attempts_in_values_stay_out_of_the_sql(payload: str) -> None:
    data = {"any": [{"field": "name", "=": payload}, {"field": "city", "contains": payload}, {"tag": payload}]}
    stmt = select_partners(data, REGISTRY, TODAY)
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert payload not in str(stmt.compile(dialect=dialect))


def test_registry_refuses_keywords_and_duplicates() -> None:
    registry = FieldRegistry()
    registry.add(FieldDef("city", "text", SYNCED["partner"].c.city))
    for bad in ("and", "between", "all", "City", "1st", "drop table"):
        with pytest.raises(ValueError):
            registry.add(FieldDef(bad, "text", SYNCED["partner"].c.city))
    with pytest.raises(ValueError):
        registry.add(FieldDef("city", "text", SYNCED["partner"].c.city))
    with pytest.raises(ValueError):
        registry.add(FieldDef("group", "choice", SYNCED["partner"].c.city))  # a choice without choices
    registry.add(FieldDef("city", "text", SYNCED["partner"].c.name), replace=True)


@pytest.mark.parametrize(
    ("text", "uses_today"),
    [
        ("lapsed_rule and rfm_group in (at_risk, lost)", False),
        ('city = "Győr" and revenue_net > 1000', False),
        ("first_purchase within 90 days", True),
        ("bought(within: 12 months)", True),
        ('bought(category: "Irodabútor")', True),  # rows dated in the future have not happened yet
        ("last_purchase >= 2024-01-01", False),
        ("revenue_12m > 0", True),
    ],
)
def test_a_filter_says_whether_it_depends_on_the_day(text: str, uses_today: bool) -> None:
    from erp_crm.segments.metrics_fields import segment_registry

    compiled = compile_for_refresh(parse_text(text), segment_registry(), date(2024, 6, 30))
    assert (compiled.uses_today, compiled.tracked) == (uses_today, True)


def test_an_untracked_field_makes_a_filter_untracked() -> None:
    from erp_crm.segments.metrics_fields import segment_registry

    registry = segment_registry()
    registry.add(FieldDef("loyalty_points", "number", lambda ctx: sa.literal(0)))
    assert compile_for_refresh(parse_text("loyalty_points > 10 or lapsed_rule"), registry, date(2024, 6, 30)).tracked is False
    assert compile_for_refresh(parse_text("lapsed_rule"), registry, date(2024, 6, 30)).tracked is True
