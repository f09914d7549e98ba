"""Turning one raw ERP row into canonical values, fast.

A sync pushes millions of rows through this code, so each entity's mapping is compiled
once into a single Python function (the way attrs and SQLAlchemy build theirs): plain
local variables and type checks on the fast path, conversion helpers only for values
that need converting.  Only names and positions reach the generated source; every
value from a definition (maps, defaults, constants) is passed in as an object, never
pasted into code.

A value that cannot be converted raises `BadValue`, which sends the row to quarantine.
"""

from __future__ import annotations

import hashlib
import marshal
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from erp_crm.model.canonical import Entity, Field, Kind
from erp_crm.sync.definition import Condition, EntitySpec, FieldSpec

KEY_SEPARATOR = "|"


class BadValue(Exception):
    """A value the canonical schema cannot take; the row goes to quarantine."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        super().__init__(f"{field}: {reason} ({_show(value)})")
        self.field = field
        self.value = value
        self.reason = reason


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# Broken bytes decoded with surrogateescape show up as lone surrogates.
_UNDECODABLE = re.compile("[\udc80-\udcff]").search
_ZERO_DATE = "0000-00-00"
_BOOLS: dict[Any, bool] = {}
for _true in ("1", "y", "yes", "t", "true", "i", "igen"):
    _BOOLS[_true] = True
for _false in ("0", "n", "no", "f", "false", "n", "nem"):
    _BOOLS[_false] = False


def erp_key(value: Any) -> str:
    """One key part as text: integers without decimals, so 42, 42.0 and '42' agree."""
    cls = value.__class__
    if cls is str:
        return value
    if cls is int:
        return str(value)
    if cls is float or cls is Decimal:
        return str(int(value)) if value == int(value) else str(value)
    if cls is bytes:
        return value.hex()
    return str(value)


def to_text(value: Any, field: str) -> str:
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise BadValue(field, value, "text is not valid UTF-8") from None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def check_text(value: str, field: str) -> str:
    if _UNDECODABLE(value):
        raise BadValue(field, value.encode("utf-8", "surrogateescape"), "text has bytes that are not valid UTF-8")
    return value


def to_decimal(value: Any, field: str) -> Any:
    if isinstance(value, bool):
        raise BadValue(field, value, "expected a number")
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise BadValue(field, value, "not a number") from None
        if number.is_finite():
            return number
    raise BadValue(field, value, "not a number")


def to_int(value: Any, field: str) -> int:
    number = to_decimal(value, field)
    if number != int(number):
        raise BadValue(field, value, "expected a whole number")
    return int(number)


def to_bool(value: Any, field: str) -> bool:
    if isinstance(value, (int, Decimal)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLS:
        return _BOOLS[value.strip().lower()]
    raise BadValue(field, value, "expected yes/no (1/0, Y/N, true/false)")


def to_date(value: Any, field: str, required: bool) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(_ZERO_DATE) and not required:
            return None  # MySQL's "no date"
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
    raise BadValue(field, value, "not a date")


def to_datetime(value: Any, field: str, required: bool) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone().replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(_ZERO_DATE) and not required:
            return None
        try:
            return to_datetime(datetime.fromisoformat(text), field, required)
        except ValueError:
            pass
    raise BadValue(field, value, "not a date and time")


def row_hash(values: tuple[Any, ...]) -> str:
    """A stable fingerprint of canonical values (made marshal-able by `_hash_form`).

    marshal format 2: later formats emit back-references that depend on reference counts,
    so equal values could serialise differently.
    """
    return hashlib.md5(marshal.dumps(values, 2), usedforsecurity=False).hexdigest()


def _lookup(mapping: dict[Any, Any]) -> dict[Any, Any]:
    """Map keys as given, as text and as numbers, so 8, '8' and 8.0 all hit."""
    table: dict[Any, Any] = {}
    for key, value in mapping.items():
        table[key] = value
        table[str(key)] = value
        if isinstance(key, str) and re.fullmatch(r"-?\d+", key.strip()):
            table[int(key)] = value
    return table


@dataclass
class Selected:
    """One item of the SELECT list: a column or an SQL expression."""

    label: str
    column: str | None
    sql: str | None

    def expression(self, source: sa.FromClause) -> sa.ColumnElement[Any]:
        if self.column is not None:
            return source.c[self.column].label(self.label) if self.column in source.c else sa.column(self.column).label(self.label)
        return sa.literal_column(f"({self.sql})").label(self.label)


class _Select:
    """Collects distinct columns/expressions and hands out their positions."""

    def __init__(self) -> None:
        self.items: list[Selected] = []
        self._index: dict[tuple[str, str], int] = {}

    def add(self, column: str | None = None, sql: str | None = None) -> int:
        ident = ("c", column) if column is not None else ("s", sql or "")
        if ident not in self._index:
            self._index[ident] = len(self.items)
            self.items.append(Selected(f"c{len(self.items)}", column, sql))
        return self._index[ident]


@dataclass
class RowMapper:
    """A compiled mapping for one entity."""

    entity: Entity
    select: list[Selected]
    key_positions: list[int]
    change_position: int | None
    parent_position: int | None
    map_row: Callable[[tuple[Any, ...]], tuple[Any, ...]]
    source_code: str

    def raw(self, row: tuple[Any, ...]) -> dict[str, Any]:
        """The row's values by source column, for quarantine."""
        return {(s.column or s.sql or s.label): row[i] for i, s in enumerate(self.select)}

    def key_of(self, row: tuple[Any, ...]) -> str | None:
        parts = [row[i] for i in self.key_positions]
        if any(p is None for p in parts):
            return None
        return KEY_SEPARATOR.join(erp_key(p) for p in parts)


def _hash_form(var: str, field: Field) -> str:
    if field.kind is Kind.DATE:
        return f"({var}.toordinal() if {var} is not None else None)"
    if field.kind is Kind.DATETIME:
        return f"({var}.isoformat() if {var} is not None else None)"
    if field.kind is Kind.DECIMAL:
        return f"(float({var}) if {var}.__class__ is _Decimal else {var})"
    return var


def _convert(var: str, field: Field, ns: dict[str, Any], check_encoding: bool) -> list[str]:
    """Lines converting `var` to the field's kind; the fast path is one type test."""
    name = repr(field.name)
    required = repr(field.required)
    if field.ref:
        return [f"if {var} is not None and {var}.__class__ is not str: {var} = str({var}) if {var}.__class__ is int else _erp_key({var})"]
    if field.kind is Kind.TEXT:
        lines = [f"if {var} is not None and {var}.__class__ is not str: {var} = _to_text({var}, {name})"]
        if check_encoding:
            lines.append(f"if {var} is not None: _check_text({var}, {name})")
        return lines
    if field.kind is Kind.DECIMAL:
        return [
            f"if {var} is not None and {var}.__class__ is not float and {var}.__class__ is not int"
            f" and {var}.__class__ is not _Decimal: {var} = _to_decimal({var}, {name})"
        ]
    if field.kind is Kind.INT:
        return [f"if {var} is not None and {var}.__class__ is not int: {var} = _to_int({var}, {name})"]
    if field.kind is Kind.BOOL:
        return [f"if {var} is not None and {var}.__class__ is not bool: {var} = _to_bool({var}, {name})"]
    if field.kind is Kind.DATE:
        return [f"if {var} is not None and {var}.__class__ is not _date: {var} = _to_date({var}, {name}, {required})"]
    return [f"if {var} is not None and {var}.__class__ is not _datetime: {var} = _to_datetime({var}, {name}, {required})"]


def _field_lines(i: int, field: Field, spec: FieldSpec | None, sel: _Select, ns: dict[str, Any], check_encoding: bool) -> list[str]:
    var = f"v{i}"
    name = repr(field.name)
    if spec is None:
        return [f"{var} = None"]
    if spec.has_value:
        ns[f"K{i}"] = spec.value
        lines = [f"{var} = K{i}"]
    else:
        lines = [f"{var} = r[{sel.add(spec.column, spec.sql)}]"]
    if spec.map is not None:
        ns[f"M{i}"] = _lookup(spec.map)
        ns[f"D{i}"] = spec.default
        missing = f"D{i}" if spec.default is not None else f"_bad({name}, {var}, 'unknown value: add it to the map or give a default')"
        lines += [
            f"if {var} is None: {var} = D{i}",
            "else:",
            f"    {var} = M{i}.get({var}, _MISSING)",
            f"    if {var} is _MISSING: {var} = {missing}",
        ]
    else:
        if spec.default is not None:
            ns[f"D{i}"] = spec.default
            lines.append(f"if {var} is None: {var} = D{i}")
        lines += _convert(var, field, ns, check_encoding)
        if field.choices:
            ns[f"C{i}"] = frozenset(field.choices)
            lines.append(
                f"if {var} is not None and {var} not in C{i}: _bad({name}, {var}, 'not one of {', '.join(field.choices)}: map it')"
            )
    if spec.negate_when is not None:
        cond: Condition = spec.negate_when
        ns[f"N{i}"] = frozenset(_lookup(dict.fromkeys(cond.values, True)))
        lines.append(f"if {var} is not None and r[{sel.add(cond.column, cond.sql)}] in N{i}: {var} = -{var}")
    if field.required:
        lines.append(f"if {var} is None: _bad({name}, None, 'required but empty')")
    return lines


def _bad(field: str, value: Any, reason: str) -> Any:
    raise BadValue(field, value, reason)


_MISSING = object()


def compile_mapper(entity: Entity, spec: EntitySpec, *, check_encoding: bool = False) -> RowMapper:
    """Build the select list and the mapping function of one entity."""
    sel = _Select()
    key_positions = [sel.add(column=k) for k in spec.key]
    change_position = None
    if spec.change is not None:
        change_position = sel.add(spec.change.column, spec.change.sql)
    parent = entity.parent_field
    parent_position = None
    if parent is not None and parent.name in spec.fields and spec.fields[parent.name].column is not None:
        parent_position = sel.add(column=spec.fields[parent.name].column)

    ns: dict[str, Any] = {
        "_erp_key": erp_key,
        "_to_text": to_text,
        "_check_text": check_text,
        "_to_decimal": to_decimal,
        "_to_int": to_int,
        "_to_bool": to_bool,
        "_to_date": to_date,
        "_to_datetime": to_datetime,
        "_Decimal": Decimal,
        "_date": date,
        "_datetime": datetime,
        "_bad": _bad,
        "_MISSING": _MISSING,
        "_hash": row_hash,
    }
    body: list[str] = []
    key_vars = []
    for n, pos in enumerate(key_positions):
        ns[f"KEYMSG{n}"] = f"the row has no key ({spec.key[n]} is empty)"
        body += [
            f"k{n} = r[{pos}]",
            f"if k{n} is None: _bad('key', None, KEYMSG{n})",
            f"if k{n}.__class__ is not str: k{n} = str(k{n}) if k{n}.__class__ is int else _erp_key(k{n})",
        ]
        key_vars.append(f"k{n}")
    key_expr = key_vars[0] if len(key_vars) == 1 else f"'{KEY_SEPARATOR}'.join(({', '.join(key_vars)},))"
    for i, field in enumerate(entity.fields):
        body += _field_lines(i, field, spec.fields.get(field.name), sel, ns, check_encoding)
    values = [f"v{i}" for i in range(len(entity.fields))]
    hashed = [_hash_form(f"v{i}", f) for i, f in enumerate(entity.fields)]
    body.append(f"return ({key_expr}, {', '.join(values)}, _hash(({', '.join(hashed)},)))")
    source = "def map_row(r):\n" + "\n".join("    " + line for line in body) + "\n"
    exec(compile(source, f"<mapper {entity.name}>", "exec"), ns)
    return RowMapper(entity, sel.items, key_positions, change_position, parent_position, ns["map_row"], source)
