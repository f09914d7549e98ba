"""Turning one raw ERP row into canonical values, fast.

A sync pushes millions of rows through this code, so each entity's mapping is compiled
once into a single Python function (the way attrs and SQLAlchemy build theirs): plain
local variables and type checks on the fast path, conversion helpers only for values
that need converting.  Only names and positions reach the generated source; every
value from a definition (maps, defaults, constants) is passed in as an object, never
pasted into code.

A value that cannot be converted, or that the overlay's column cannot hold, raises
`BadValue`, which sends the row to quarantine: one such value must never fail a batch
on one overlay database and pass on the other.
"""

from __future__ import annotations

import hashlib
import marshal
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from erp_crm.model.canonical import Entity, Field, Kind
from erp_crm.model.tables.base import KEY_LENGTH
from erp_crm.sync.definition import Condition, EntitySpec, FieldSpec

KEY_SEPARATOR = "|"
SEPARATED_PART = f"a part of a composite key may not hold {KEY_SEPARATOR!r}, which joins the parts: two rows could have one key"


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
# The years a business document, contact or stamp can have: a 1066 or a 9999 is a typing
# mistake or a placeholder, and one such "first purchase" moves every customer's model.
FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2999, 12, 31)
_FIRST_MOMENT, _AFTER_LAST = datetime(1900, 1, 1), datetime(3000, 1, 1)
_IMPLAUSIBLE = f"outside the years {FIRST_DATE.year}–{LAST_DATE.year} a business record can have"
_BOOLS: dict[Any, bool] = {}
for _true in ("1", "y", "yes", "t", "true", "i", "igen"):
    _BOOLS[_true] = True
for _false in ("0", "n", "no", "f", "false", "n", "nem"):
    _BOOLS[_false] = False

# What the overlay's columns hold (erp_crm/model/tables/synced.py; tests/unit/test_mapping_limits.py
# keeps the two in step).  PostgreSQL refuses the rest and fails the whole batch, while
# SQLite would store it and hand it on (an infinite amount fails every metrics run later).
AMOUNT_DIGITS, AMOUNT_PLACES = 18, 4  # NUMERIC(18, 4): rounded to 4 places, below 10^14
_AMOUNT_LIMIT = Decimal(10) ** (AMOUNT_DIGITS - AMOUNT_PLACES) - Decimal(5).scaleb(-AMOUNT_PLACES - 1)  # from here on it rounds to 10^14
_FLOAT_LIMIT = float(10 ** (AMOUNT_DIGITS - AMOUNT_PLACES))  # no float lies between _AMOUNT_LIMIT and this
WHOLE_MIN, WHOLE_MAX = -(2**63), 2**63 - 1  # BIGINT
_NUL = "\x00"  # PostgreSQL text cannot hold it
_OUT_OF_RANGE = f"out of range: the overlay keeps amounts between -10^{AMOUNT_DIGITS - AMOUNT_PLACES} and 10^{AMOUNT_DIGITS - AMOUNT_PLACES}"
_NUL_IN_TEXT = "text with a NUL character (\\x00) cannot be stored"
_NUMBER_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", re.ASCII | re.IGNORECASE).fullmatch
# A date, then a time after T or a space: Python's own parser takes any character between them.
_DATE_TEXT = re.compile(r"\d{4}-?\d\d-?\d\d(?:[T ].+)?", re.ASCII | re.DOTALL).fullmatch


def erp_key(value: Any) -> str:
    """One key part as text: integers without decimals, so 42, 42.0 and '42' agree."""
    cls = value.__class__
    if cls is str:
        return value
    if cls is int:
        return str(value)
    if cls is float or cls is Decimal:
        return str(int(value)) if _whole(value) else str(value)
    if cls is bytes:
        return value.hex()
    return str(value)


def _whole(number: float | Decimal) -> bool:
    """Whether a number has no fraction; infinity and NaN have none to drop."""
    return _finite(number) and number == int(number)


def _finite(number: float | Decimal) -> bool:
    """Neither infinite nor NaN (a Decimal is asked itself: 1E+400 is finite but no float)."""
    return number.is_finite() if number.__class__ is Decimal else math.isfinite(number)


def storable_key(key: str) -> str:
    """The key as the quarantine can keep it when the overlay cannot store it as it is.

    A key that is too long or holds NUL or broken bytes sends its row to quarantine,
    whose own key column has the same limits: it gets the key's visible form, cut short
    and followed by a digest, so the same ERP row always meets the same entry.
    """
    if len(key) <= KEY_LENGTH and _NUL not in key and not _UNDECODABLE(key):
        return key
    visible = repr(key)[1:-1]
    digest = hashlib.md5(visible.encode(), usedforsecurity=False).hexdigest()
    return f"{visible[: KEY_LENGTH - len(digest) - 3]}...{digest}"


def bad_key(field: str, key: str) -> None:
    """Refuse a key (the row's own, or a reference's) that the overlay cannot store."""
    if len(key) > KEY_LENGTH:
        raise BadValue(field, key, f"a key longer than {KEY_LENGTH} characters cannot be stored")
    raise BadValue(field, key, "a key with a NUL character (\\x00) cannot be stored")


def to_text(value: Any, field: str) -> str:
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise BadValue(field, value, "text is not valid UTF-8") from None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_text(value: str, field: str) -> str:
    if _UNDECODABLE(value):
        raise BadValue(field, value.encode("utf-8", "surrogateescape"), "text has bytes that are not valid UTF-8")
    return value


def _number(value: Any, field: str) -> int | float | Decimal:
    """A finite number from a driver's value or from text (`1 234,5`); anything else is refused.

    Text must look like a number in ASCII digits: Python's own parsers also take `1_000`,
    other scripts' digits, `Infinity` and `NaN`, which no ERP means as an amount.
    """
    if isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            number = Decimal(text) if _NUMBER_TEXT(text) else None
        except InvalidOperation:  # an exponent beyond any Decimal
            number = None
        if number is None:
            raise BadValue(field, value, "not a number")
        return number
    if value.__class__ not in (int, float, Decimal):  # bool too: True is no amount
        raise BadValue(field, value, "expected a number")
    return value if value.__class__ is int else _finite_number(value, field)


def _finite_number(number: float | Decimal, field: str) -> float | Decimal:
    if not _finite(number):
        raise BadValue(field, number, "an infinite number cannot be stored" if number in (math.inf, -math.inf) else "not a number")
    return number


def to_decimal(value: Any, field: str) -> int | float | Decimal:
    number = _number(value, field)
    if not -_AMOUNT_LIMIT < number < _AMOUNT_LIMIT:
        raise BadValue(field, value, _OUT_OF_RANGE)
    return number


def to_int(value: Any, field: str) -> int:
    number = _number(value, field)
    if number != int(number):
        raise BadValue(field, value, "expected a whole number")
    if not WHOLE_MIN <= number <= WHOLE_MAX:
        raise BadValue(field, value, "out of range: the overlay keeps whole numbers of 64 bits")
    return int(number)


def to_bool(value: Any, field: str) -> bool:
    if isinstance(value, (int, Decimal)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLS:
        return _BOOLS[value.strip().lower()]
    raise BadValue(field, value, "expected yes/no (1/0, Y/N, true/false)")


def _from_text(value: str, field: str, required: bool, reason: str) -> datetime | None:
    """ISO date or date and time text, whole: `2024-02-30` and `10:61` are refused, not cut off."""
    text = value.strip()
    if text.startswith(_ZERO_DATE) and not required:
        return None  # MySQL's "no date"
    try:
        if _DATE_TEXT(text):
            return datetime.fromisoformat(text)
    except ValueError:
        pass
    raise BadValue(field, value, reason)


def to_date(value: Any, field: str, required: bool) -> date | None:
    if isinstance(value, datetime):
        day: date | None = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        parsed = _from_text(value, field, required, "not a date")
        day = None if parsed is None else parsed.date()
    else:
        raise BadValue(field, value, "not a date")
    if day is not None and not FIRST_DATE <= day <= LAST_DATE:
        raise BadValue(field, value, _IMPLAUSIBLE)
    return day


def to_datetime(value: Any, field: str, required: bool) -> datetime | None:
    moment = _to_moment(value, field, required)
    if moment is not None and not _FIRST_MOMENT <= moment < _AFTER_LAST:
        raise BadValue(field, value, _IMPLAUSIBLE)
    return moment


def _to_moment(value: Any, field: str, required: bool) -> datetime | None:
    if isinstance(value, str):
        value = _from_text(value, field, required, "not a date and time")
        if value is None:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value
        try:
            return value.astimezone().replace(tzinfo=None)
        except OverflowError:  # year 1 or 9999 moved across midnight by the offset
            raise BadValue(field, value, "outside the dates the overlay can hold") from None
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
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
        """The row's values by source column, for quarantine (JSON, where infinity and NaN are text)."""
        return {(s.column or s.sql or s.label): _json_number(row[i]) for i, s in enumerate(self.select)}

    def key_of(self, row: tuple[Any, ...]) -> str | None:
        """The row's key as the overlay keeps it: as `map_row` makes it, or as quarantine can hold it."""
        parts = [row[i] for i in self.key_positions]
        if any(p is None for p in parts):
            return None
        texts = [erp_key(p) for p in parts]
        if len(texts) > 1 and any(KEY_SEPARATOR in t for t in texts):
            return storable_key(repr(tuple(texts)))  # the parts as they are: joined, two such rows would meet one entry
        return storable_key(KEY_SEPARATOR.join(texts))


def _json_number(value: Any) -> Any:
    """PostgreSQL's json refuses the `Infinity` and `NaN` that Python writes for such floats."""
    return str(value) if value.__class__ is float and not math.isfinite(value) else value


def _hash_form(var: str, field: Field) -> str:
    if field.kind is Kind.DATE:
        return f"({var}.toordinal() if {var} is not None else None)"
    if field.kind is Kind.DATETIME:
        return f"({var}.isoformat() if {var} is not None else None)"
    if field.kind is Kind.DECIMAL:
        return f"(float({var}) if {var}.__class__ is _Decimal else {var})"
    return var


def _convert(var: str, field: Field, ns: dict[str, Any], check_encoding: bool) -> list[str]:
    """Lines converting `var` to the field's kind; the fast path is a type test (and a NUL test for text)."""
    name = repr(field.name)
    if field.ref:
        convert = f"if {var} is not None and {var}.__class__ is not str: {var} = str({var}) if {var}.__class__ is int else _erp_key({var})"
        check = f"if {var} is not None and (len({var}) > _KEY_LENGTH or _NUL in {var}): _bad_key({name}, {var})"
    elif field.kind is Kind.TEXT:
        convert = f"if {var} is not None and {var}.__class__ is not str: {var} = _to_text({var}, {name})"
        check = f"if {var} is not None and _NUL in {var}: _bad({name}, {var}, _NUL_IN_TEXT)"
    else:
        return [_convert_value(var, field)]
    # broken bytes are named first: a NUL among them is most likely one more symptom of the same bad encoding
    return [convert, f"if {var} is not None: _check_text({var}, {name})", check] if check_encoding else [convert, check]


def _convert_value(var: str, field: Field) -> str:
    """Numbers in the overlay's range and the right types pass on comparisons alone; the rest is converted or refused."""
    name = repr(field.name)
    required = repr(field.required)
    if field.kind is Kind.DECIMAL:
        return (
            f"if {var} is not None and not (({var}.__class__ is float or {var}.__class__ is int) and -_FLOAT_LIMIT < {var} < _FLOAT_LIMIT"
            f" or {var}.__class__ is _Decimal and {var}.is_finite() and -_AMOUNT_LIMIT < {var} < _AMOUNT_LIMIT): {var} = _to_decimal({var}, {name})"
        )
    if field.kind is Kind.INT:
        return f"if {var} is not None and not ({var}.__class__ is int and _WHOLE_MIN <= {var} <= _WHOLE_MAX): {var} = _to_int({var}, {name})"
    if field.kind is Kind.BOOL:
        return f"if {var} is not None and {var}.__class__ is not bool: {var} = _to_bool({var}, {name})"
    if field.kind is Kind.DATE:
        return f"if {var} is not None and not ({var}.__class__ is _date and _FIRST_DATE <= {var} <= _LAST_DATE): {var} = _to_date({var}, {name}, {required})"
    return (
        f"if {var} is not None and not ({var}.__class__ is _datetime and {var}.tzinfo is None and _FIRST_MOMENT <= {var} < _AFTER_LAST):"
        f" {var} = _to_datetime({var}, {name}, {required})"
    )


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
            f"    m = M{i}.get({var}, _MISSING)",  # the ERP's value stays in v{i} for the message
            f"    {var} = m if m is not _MISSING else {missing}",
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
        "_FIRST_DATE": FIRST_DATE,
        "_LAST_DATE": LAST_DATE,
        "_FIRST_MOMENT": _FIRST_MOMENT,
        "_AFTER_LAST": _AFTER_LAST,
        "_bad": _bad,
        "_bad_key": bad_key,
        "_MISSING": _MISSING,
        "_NUL": _NUL,
        "_NUL_IN_TEXT": _NUL_IN_TEXT,
        "_KEY_LENGTH": KEY_LENGTH,
        "_FLOAT_LIMIT": _FLOAT_LIMIT,
        "_AMOUNT_LIMIT": _AMOUNT_LIMIT,
        "_WHOLE_MIN": WHOLE_MIN,
        "_WHOLE_MAX": WHOLE_MAX,
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
    if len(key_vars) > 1:  # ('a|b', 'c') and ('a', 'b|c') would be one key: such a part is refused
        ns["SEPARATED"] = SEPARATED_PART
        body += [f"if '{KEY_SEPARATOR}' in {k}: _bad('key', {k}, SEPARATED)" for k in key_vars]
    body.append("key = " + (key_vars[0] if len(key_vars) == 1 else f"'{KEY_SEPARATOR}'.join(({', '.join(key_vars)},))"))
    if check_encoding:
        body.append("_check_text(key, 'key')")
    body.append("if len(key) > _KEY_LENGTH or _NUL in key: _bad_key('key', key)")
    for i, field in enumerate(entity.fields):
        body += _field_lines(i, field, spec.fields.get(field.name), sel, ns, check_encoding)
    values = [f"v{i}" for i in range(len(entity.fields))]
    hashed = [_hash_form(f"v{i}", f) for i, f in enumerate(entity.fields)]
    body.append(f"return (key, {', '.join(values)}, _hash(({', '.join(hashed)},)))")
    source = "def map_row(r):\n" + "\n".join("    " + line for line in body) + "\n"
    exec(compile(source, f"<mapper {entity.name}>", "exec"), ns)
    return RowMapper(entity, sel.items, key_positions, change_position, parent_position, ns["map_row"], source)
