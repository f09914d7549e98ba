"""The SQL mapping's tests and conversions as PostgreSQL writes them (`sql_mapping.translate` puts them together).

A PostgreSQL column has one type, known before any row is read, so what SQLite asks of
every value (`typeof`) is decided here once per column: a column of a type the compiled
mapper takes as it is gets range checks only, one it would convert differently (text
amounts, time zones, `numeric` keys) leaves the entity to the row path (`Untranslated`).
PostgreSQL text holds neither NUL nor broken UTF-8 in a UTF-8 database, so there is no
text check. A cast that fails (a text date that does not exist) fails the statement,
and its batch goes the row path.

Amounts are written as the row path's COPY writes Python's numbers: a `Decimal` as its
digits, a float as its shortest text. The driver reads a float as PostgreSQL's shortest
text of it (a `real`'s too), and Python's `repr` gives those digits back; `::text`
gives the same, so no float passes through `float8_numeric`'s 15 digits.
"""

from __future__ import annotations

from typing import Any

from erp_crm.model.canonical import Field, Kind
from erp_crm.model.tables.base import KEY_LENGTH
from erp_crm.sync.mapping import _AFTER_LAST, _AMOUNT_LIMIT, _FIRST_MOMENT, _FLOAT_LIMIT, FIRST_DATE, LAST_DATE, WHOLE_MAX, WHOLE_MIN
from erp_crm.sync.sql_mapping import SqliteSql, Untranslated

# Types by OID (pg_type), each with the type a staging column of it is declared with:
# binary COPY hands values on only between columns of the same type.
INTS = {21: "smallint", 23: "integer", 20: "bigint"}
TEXTS = {25: "text", 1043: "text", 1042: "text"}  # varchar and char(n) send as text does; char(n) keeps its padding, as Python gets it
NUMERIC, FLOATS = {1700: "numeric"}, {700: "real", 701: "double precision"}
BOOL, DATE, TIMESTAMP = {16: "boolean"}, {1082: "date"}, {1114: "timestamp"}
STAGED: dict[int, str] = {**INTS, **TEXTS, **NUMERIC, **FLOATS, **BOOL, **DATE, **TIMESTAMP}
# ISO text Python's `datetime.fromisoformat` reads the same as PostgreSQL: a date, or a date and a time of day.
_ISO = r"^\d{4}-\d\d-\d\d([ T]([01]\d|2[0-3]):[0-5]\d:[0-5]\d)?$"


class PgSql(SqliteSql):
    """PostgreSQL's tests and conversions over the staged columns r.c0, r.c1, … whose types (OIDs) are `types`."""

    coalesce_first = False  # a default's type is not the column's: it stands in for NULL after the conversion

    def __init__(self, types: list[int]) -> None:
        unstaged = [t for t in types if t not in STAGED]
        if unstaged:
            raise Untranslated(f"a column of type {unstaged[0]}")
        self.types = {f"r.c{i}": t for i, t in enumerate(types)}

    def _type(self, x: str) -> int:
        return self.types[x]

    def raw(self, position: int) -> str:
        return f"r.c{position}"

    def placeholder(self, name: str) -> str:
        return f"%({name})s"

    def key(self, x: str) -> str:
        if self._type(x) in INTS:
            return "TRUE"
        if self._type(x) in TEXTS:
            return f"{x} IS NULL OR length({x}) <= {KEY_LENGTH}"
        raise Untranslated(f"a key of type {self._type(x)}")

    def as_text(self, x: str) -> str:
        return f"{x}::text" if self._type(x) in INTS else x

    def text(self, x: str) -> list[str]:
        if self._type(x) not in INTS and self._type(x) not in TEXTS:
            raise Untranslated(f"text from type {self._type(x)}")
        return []

    def amount(self, x: str) -> tuple[str, list[str]]:
        t = self._type(x)
        if t in FLOATS:
            return f"{x}::text::numeric", [f"{x} IS NULL OR {x} > {-_FLOAT_LIMIT!r} AND {x} < {_FLOAT_LIMIT!r}"]
        if t in INTS or t in NUMERIC:  # NaN is above every number: it fails the upper bound
            return x, [f"{x} IS NULL OR {x} > -{_AMOUNT_LIMIT} AND {x} < {_AMOUNT_LIMIT}"]
        raise Untranslated(f"an amount of type {t}")

    def whole(self, x: str) -> tuple[str, list[str]]:
        if self._type(x) not in INTS:
            raise Untranslated(f"a whole number of type {self._type(x)}")
        return x, []

    def yes_no(self, x: str) -> tuple[str, list[str]]:
        if self._type(x) in BOOL:
            return x, []
        if self._type(x) in INTS:
            return f"{x} <> 0", [f"{x} IS NULL OR {x} IN (0, 1)"]
        raise Untranslated(f"yes/no of type {self._type(x)}")

    def day(self, x: str) -> tuple[str, list[str]]:
        expression, conditions = self._moment(x, "date")
        return expression, [*conditions, f"{expression} IS NULL OR {expression} BETWEEN '{FIRST_DATE}' AND '{LAST_DATE}'"]

    def moment(self, x: str) -> tuple[str, list[str]]:
        expression, conditions = self._moment(x, "timestamp")
        return expression, [*conditions, f"{expression} IS NULL OR {expression} >= '{_FIRST_MOMENT}' AND {expression} < '{_AFTER_LAST}'"]

    def _moment(self, x: str, to: str) -> tuple[str, list[str]]:
        """A date or timestamp column cast as Python converts it (a moment's day, a day's midnight); ISO text parsed."""
        t = self._type(x)
        if t in DATE or t in TIMESTAMP:
            return f"{x}::{to}", []
        if t in TEXTS:
            return f"{x}::timestamp::{to}", [f"{x} IS NULL OR {x} ~ '{_ISO}'"]
        raise Untranslated(f"a date of type {t}")

    def groups(self, x: str) -> list[tuple[str, bool]]:
        if self._type(x) in INTS:
            return [("TRUE", False)]
        if self._type(x) in TEXTS:
            return [("TRUE", True)]
        raise Untranslated(f"a map over type {self._type(x)}")

    def default(self, f: Field, value: Any, placeholder: str) -> str:
        """The default as a value of the converted type, in the overlay's range (a float's digits are not the row path's)."""
        if f.kind is Kind.TEXT:
            if f.choices and value not in f.choices:
                raise Untranslated(f"{f.name}: a default outside the choices")
            return f"CAST({placeholder} AS text)"
        if f.kind is Kind.BOOL:
            return f"CAST({placeholder} AS boolean)"
        if type(value) is not int or not WHOLE_MIN <= value <= WHOLE_MAX or (f.kind is Kind.DECIMAL and not -_FLOAT_LIMIT < value < _FLOAT_LIMIT):
            raise Untranslated(f"{f.name}: a default of this value")
        return f"CAST({placeholder} AS bigint)"

    def constant(self, f: Field, value: Any, placeholder: str) -> str:
        """A `value:` as the row path stores it; a float would reach NUMERIC by `float8_numeric`'s 15 digits, not its shortest text."""
        if type(value) is float:
            raise Untranslated(f"{f.name}: a float constant")
        return placeholder
