"""The YAML form of a filter (`{all: [...]}`, `{field: x, ">=": 1}`) read into the same AST as the text form.

Both forms keep the same limits: at most MAX_LENGTH characters (the YAML form measured
as its text form), MAX_DEPTH levels and MAX_CONDITIONS conditions. A filter beyond them is
refused where it is read, with the place, rather than by the database as an expression
too large to run long after.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from erp_crm.segments.formatting import format_filter
from erp_crm.segments.syntax import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    NAME,
    NOT_WORDS,
    TESTS,
    YAML_KEYS,
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
    Ref,
    Text,
    Value,
    Where,
)
from erp_crm.segments.text_form import Parser, parse_text
from erp_crm.segments.tokens import check_characters, tokenize


def parse_data(data: Any, path: Path = ()) -> Node:
    """Parse the YAML form (already loaded: dicts, lists, scalars); a string is the text form."""
    node = _checked_size(_node(data, path, 0))
    length = len(format_filter(node))
    if length > MAX_LENGTH:
        raise FilterError(f"a filter is at most {MAX_LENGTH:,} characters long, and this one written as text has {length:,}", Where(path=path))
    return node


def parse_filter(source: Any, path: Path = ()) -> Node:
    """Either form: text is parsed as text, anything else as the YAML form."""
    return _checked_size(parse_text(source, path)) if isinstance(source, str) else parse_data(source, path)


def _checked_size(node: Node) -> Node:
    """`node`, or a FilterError at the first condition beyond MAX_CONDITIONS or MAX_DEPTH.

    Each parser bounds its own nesting; this also bounds a text filter inside a YAML one.
    A top-level and/or is no level, as it needs no parentheses in the text form.
    """
    count = 0
    stack: list[tuple[Node, int]] = [(node, -1 if isinstance(node, And | Or) else 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Condition | Not) and depth > MAX_DEPTH:
            raise FilterError(f"the filter is nested more than {MAX_DEPTH} levels deep", item.where)
        if isinstance(item, Condition):
            count += 1
            if count > MAX_CONDITIONS:
                raise FilterError(f"a filter has at most {MAX_CONDITIONS} conditions (a list of values is one: city in (...))", item.subject.where)
        elif isinstance(item, Not):
            stack.append((item.item, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in reversed(item.items))
    return node


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
        hint = "; a text filter holding ': ' must be quoted" if " " in name.strip() else ""
        raise FilterError(f"unknown key {name!r}{hint}", where)
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
        parser = Parser(tokenize(raw))
        value = parser.value()
    except FilterError:
        return Text(raw, where)
    if parser.peek.kind != "end" or isinstance(value, Number | Bool) or (isinstance(value, Text) and value.bare):
        return Text(raw, where)
    return dataclasses.replace(value, where=where)


def _kind_of(value: Any) -> str:
    names = {bool: "yes/no", list: "a list", dict: "a mapping", str: "text", int: "a number", float: "a number"}
    if value is None:
        return "nothing"
    return next((n for t, n in names.items() if isinstance(value, t)), type(value).__name__)
