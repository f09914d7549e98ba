"""One entity's mapping as SQLite SQL, for the rows the compiled mapper takes as they are.

A first load from an SQLite ERP into an SQLite overlay is done by the overlay itself
(`erp_crm.sync.bulk`): the rows never become Python objects, which is what makes it
several times faster than mapping them one by one. Each mapped field becomes an SQL
expression and a condition. The condition holds only for values that
`mapping.compile_mapper`'s function would take and turn into exactly the expression's
value: text, whole numbers and amounts of the right types, ISO dates that exist, map keys
the map has. Anything else (a text amount, a date with a time zone, a NUL character, an
unknown map value) fails it, and its batch goes the row path instead, where the row
meets quarantine with its reason. A definition using something not translated here
(composite keys, maps outside text fields, constants of other types) gets no SQL mapping
at all, and its entity is loaded row by row.

Text is checked apart, a batch at a time (`text_check`): SQLite cannot tell whether
text is UTF-8, and calling Python for every value would cost more than the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from erp_crm.model.canonical import Entity, Field, Kind
from erp_crm.model.tables.base import KEY_LENGTH
from erp_crm.model.tables.synced import ref_id_column, ref_key_column
from erp_crm.sync.definition import EntitySpec, FieldSpec
from erp_crm.sync.mapping import _FLOAT_LIMIT, _NUL, FIRST_DATE, LAST_DATE, RowMapper, _lookup

# The Python types a value of each kind has when the mapper takes it as it is.
_PLAIN: dict[Kind, tuple[type, ...]] = {
    Kind.TEXT: (str,),
    Kind.DECIMAL: (int, float),
    Kind.INT: (int,),
    Kind.BOOL: (bool,),
}
_NUMBER = "typeof({x}) IN ('integer', 'real')"
# Each condition lets NULL through (`required` is asked apart), with one typeof() call:
# a statement runs them for every row, so they are written to cost few operations.
_TEXT = "typeof({x}) IN ('null', 'integer', 'text')"  # NUL and UTF-8: `text_check`
_KEY = f"typeof({{x}}) IN ('null', 'integer') OR typeof({{x}}) = 'text' AND length({{x}}) <= {KEY_LENGTH}"
# Between two numbers only a number is: SQLite orders every number before any text or blob
# (and the raw value has no affinity to convert it by), so no typeof() is needed.
_AMOUNT = f"{{x}} IS NULL OR {{x}} > {-_FLOAT_LIMIT!r} AND {{x}} < {_FLOAT_LIMIT!r}"
_AS_TEXT = "CAST({x} AS TEXT)"  # an integer's digits; text as it is (the conditions leave no other type)
# ISO text that names a moment that exists: SQLite's datetime() with a modifier moves
# '2024-02-30' on to March, so only a real date comes back unchanged.
_MOMENT = "CASE length({x}) WHEN 10 THEN {x} || ' 00:00:00' WHEN 19 THEN substr({x}, 1, 10) || ' ' || substr({x}, 12) END"
_DATE = (
    "(typeof({x}) = 'text' AND length({x}) IN (10, 19) AND substr({x}, 11, 1) IN ('', ' ', 'T') AND datetime({x}, '+0 days') IS ({moment})"
    f" AND {{x}} >= '{FIRST_DATE.year}' AND {{x}} < '{LAST_DATE.year + 1}')"
)


class Untranslated(Exception):
    """The definition uses something the SQL mapping does not do: the entity goes row by row."""


class SqliteSql:
    """How SQLite writes each test and conversion: its columns hold any type, so a value's type is asked per row.

    `sql_mapping_pg.PgSql` writes the same for PostgreSQL, where a column's type is
    known before any row is read. Conditions let NULL through (`required` is asked apart).
    """

    coalesce_first = True  # a default stands in for NULL before the conversion checks it

    def raw(self, position: int) -> str:
        return f"+r.c{position}"  # unary plus: no column affinity in comparisons

    def placeholder(self, name: str) -> str:
        return f":{name}"

    def key(self, x: str) -> str:
        return _KEY.format(x=x)

    def as_text(self, x: str) -> str:
        return _AS_TEXT.format(x=x)

    def text(self, x: str) -> list[str]:
        return [_TEXT.format(x=x)]

    def amount(self, x: str) -> tuple[str, list[str]]:
        return x, [_AMOUNT.format(x=x)]

    def whole(self, x: str) -> tuple[str, list[str]]:
        return x, [f"typeof({x}) IN ('null', 'integer')"]

    def yes_no(self, x: str) -> tuple[str, list[str]]:
        return x, [f"{x} IS NULL OR typeof({x}) = 'integer' AND {x} IN (0, 1)"]

    def day(self, x: str) -> tuple[str, list[str]]:
        return f"substr({x}, 1, 10)", [f"{x} IS NULL OR {_DATE.format(x=x, moment=_MOMENT.format(x=x))}"]

    def moment(self, x: str) -> tuple[str, list[str]]:
        moment = _MOMENT.format(x=x)
        return moment, [f"{x} IS NULL OR {_DATE.format(x=x, moment=moment)}"]

    def groups(self, x: str) -> list[tuple[str, bool]]:
        """Tests telling numbers from text, each with whether it is the text one (Python's dict tells 8 from '8')."""
        return [(_NUMBER.format(x=x), False), (f"typeof({x}) = 'text'", True)]

    def default(self, f: Field, value: Any, placeholder: str) -> str:
        return placeholder

    def constant(self, f: Field, value: Any, placeholder: str) -> str:
        return placeholder


@dataclass
class SqlMapping:
    """The pieces of one entity's INSERT … SELECT (`bulk.BulkLoad` puts them together).

    `inner` is the SELECT list over the ERP's row `r` (named k, f0, f1, …, ok); `columns`
    and `values` are the overlay's columns and their expressions over that row `m` and
    the joined referenced rows; `joins` the LEFT JOINs that resolve references; `texts`
    the items of `inner` that hold text the mapper would check for NUL and broken bytes.
    """

    inner: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    joins: list[tuple[str, str]] = field(default_factory=list)  # (referenced entity, the mapped row's key column)
    resolved: list[str] = field(default_factory=list)  # conditions on the joins: required references found
    texts: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    sql: SqliteSql = field(default_factory=SqliteSql)

    def param(self, value: Any) -> str:
        name = f"b_{len(self.params)}"
        self.params[name] = value
        return self.sql.placeholder(name)


def translate(entity: Entity, spec: EntitySpec, mapper: RowMapper, sql: SqliteSql | None = None) -> SqlMapping:
    """The SQL mapping of one entity (SQLite's unless `sql` says otherwise); `Untranslated` when the definition uses what it does not translate."""
    if len(spec.key) != 1:
        raise Untranslated("a composite key")
    out = SqlMapping(sql=sql or SqliteSql())
    positions = {(s.column, s.sql): i for i, s in enumerate(mapper.select)}

    def raw(column: str | None, sql: str | None) -> str:
        return out.sql.raw(positions[(column, sql)])

    key = out.sql.raw(mapper.key_positions[0])
    checks = [f"{key} IS NOT NULL AND ({out.sql.key(key)})"]
    out.inner.append(f"{out.sql.as_text(key)} AS k")
    for i, f in enumerate(entity.fields):
        s = spec.fields.get(f.name)
        column = ref_key_column(f.name) if f.ref else f.name
        if s is None:
            continue
        if s.has_value:
            out.columns.append(column)
            value = _constant(f, s)
            out.values.append(out.sql.constant(f, value, out.param(value)))
            continue
        expression, conditions = _field(f, s, raw, out)
        out.inner.append(f"{expression} AS f{i}")
        checks += conditions
        out.columns.append(column)
        out.values.append(f"m.f{i}")
        if (f.ref or f.kind is Kind.TEXT) and s.map is None:
            out.texts.append(f"m.f{i}")
        if f.ref:
            out.joins.append((f.ref, f"m.f{i}"))
            out.columns.append(ref_id_column(f.name))
            out.values.append(f"j{len(out.joins) - 1}.id")
            if f.required:
                out.resolved.append(f"j{len(out.joins) - 1}.id IS NOT NULL")
    out.inner.append("(" + " AND ".join(f"({c})" for c in checks) + ") AS ok")
    return out


def text_check(*texts: str | None) -> bool:
    """Whether a batch's text, each field's values joined by newlines, can be stored as the mapper stores it.

    SQLite hands text to Python decoded, so text that is not UTF-8 raises before this
    runs, which fails the statement as a False would; a newline between values keeps a
    broken sequence at one value's end from being completed by the next value's start.
    """
    return not any(t is not None and _NUL in t for t in texts)


def _constant(f: Field, s: FieldSpec) -> Any:
    """A `value:` the mapper keeps as it is, or Untranslated."""
    value = s.value
    plain = _PLAIN.get(f.kind, ())
    if f.ref or value is None or type(value) not in plain or (isinstance(value, str) and _NUL in value):
        raise Untranslated(f"{f.name}: a constant of this type")
    if f.choices and value not in f.choices:
        raise Untranslated(f"{f.name}: a constant outside the choices")
    return value


def _field(f: Field, s: FieldSpec, raw: Callable[[str | None, str | None], str], out: SqlMapping) -> tuple[str, list[str]]:
    """The expression of one field read from the ERP, and the conditions under which the mapper gives the same."""
    x = raw(s.column, s.sql)
    if s.map is not None:
        if s.negate_when is not None or f.kind is not Kind.TEXT or f.ref:
            raise Untranslated(f"{f.name}: a map outside a text field")
        expression, conditions = _mapped(f, s, x, out)
    else:
        default = None
        if s.default is not None:
            if type(s.default) not in _PLAIN.get(f.kind, ()) or f.ref:
                raise Untranslated(f"{f.name}: a default of this type")
            default = out.sql.default(f, s.default, out.param(s.default))
            if out.sql.coalesce_first:
                x, default = f"coalesce({x}, {default})", None
        expression, conditions = _converted(f, x, out)
        if default is not None:
            expression = f"coalesce({expression}, {default})"
        if s.negate_when is not None:
            expression, conditions = _negated(f, s, expression, conditions, raw, out)
    if f.required:
        conditions.append(f"{expression} IS NOT NULL")
    return expression, conditions


def _mapped(f: Field, s: FieldSpec, x: str, out: SqlMapping) -> tuple[str, list[str]]:
    """A map: numbers and text compared as Python's dict compares them (8, 8.0 and '8' alike)."""
    assert s.map is not None
    table = _lookup(s.map)
    numbers: list[tuple[Any, Any]] = []
    texts: list[tuple[Any, Any]] = []
    for key, value in table.items():
        if key is None:
            continue
        if isinstance(key, bool) or not isinstance(value, (str, type(None))) or (isinstance(value, str) and _NUL in value):
            raise Untranslated(f"{f.name}: a map of this type")
        (texts if isinstance(key, str) else numbers).append((key, value))
    default = out.param(s.default)
    branches, found = [], [f"{x} IS NULL"]
    for test, is_text in out.sql.groups(x):
        pairs = texts if is_text else numbers
        if pairs:
            whens = " ".join(f"WHEN {out.param(k)} THEN {out.param(v)}" for k, v in pairs)
            branches.append(f"WHEN {test} THEN CASE {x} {whens} ELSE {default} END")
            found.append(f"{test} AND {x} IN ({', '.join(out.param(k) for k, _ in pairs)})")
    expression = f"CASE WHEN {x} IS NULL THEN {default} {' '.join(branches)} ELSE {default} END"
    return expression, ([] if s.default is not None else [" OR ".join(f"({c})" for c in found)])


def _converted(f: Field, x: str, out: SqlMapping) -> tuple[str, list[str]]:
    """A value of the field's kind as the mapper's fast path takes it (NULL passes: `required` is asked apart)."""
    sql = out.sql
    if f.ref or f.kind is Kind.TEXT:
        conditions = [sql.key(x)] if f.ref else sql.text(x)
        expression = sql.as_text(x)
        if f.choices and not f.ref:
            conditions.append(f"{x} IS NULL OR {expression} IN ({', '.join(out.param(c) for c in f.choices)})")
        return expression, conditions
    convert = {Kind.DECIMAL: sql.amount, Kind.INT: sql.whole, Kind.BOOL: sql.yes_no, Kind.DATE: sql.day}.get(f.kind, sql.moment)
    return convert(x)


def _negated(
    f: Field, s: FieldSpec, expression: str, conditions: list[str], raw: Callable[[str | None, str | None], str], out: SqlMapping
) -> tuple[str, list[str]]:
    """`negate_when`: the number negated when the condition's value is one of the listed (as the mapper's set has them)."""
    cond = s.negate_when
    assert cond is not None
    if f.kind not in (Kind.DECIMAL, Kind.INT):
        raise Untranslated(f"{f.name}: negate_when outside numbers")
    members = _lookup(dict.fromkeys(cond.values, True))
    if any(m is None or isinstance(m, bool) for m in members):
        raise Untranslated(f"{f.name}: negate_when on empty or yes/no values")
    c = raw(cond.column, cond.sql)
    numbers = [m for m in members if not isinstance(m, str)]
    texts = [m for m in members if isinstance(m, str)]
    tests = [
        f"{test} AND {c} IN ({', '.join(out.param(m) for m in group)})"
        for test, is_text in out.sql.groups(c)
        if (group := texts if is_text else numbers)
    ]
    when = " OR ".join(f"({t})" for t in tests)
    return f"CASE WHEN {when} THEN -({expression}) ELSE {expression} END", conditions
