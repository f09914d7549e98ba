"""Rows written without a row hash, and how a later pass tells whether they changed.

A bulk load (`erp_crm.sync.bulk`) maps rows in SQL; hashing them as the row path does
(`mapping.row_hash`, marshal and md5 of Python values) would need a Python call per
row, which cost more than the whole rest of the load. Such rows keep `UNHASHED` as their
hash, and a pass that meets one again compares the values themselves: the mapped row
as the overlay would store it against what the overlay holds. Equal, the row is
unchanged and is not written; changed, it is written with its hash like any other.

"As stored" is as SQLite stores the values the sqlite3 adapters of
`erp_crm.store.overlay` hand it, or as PostgreSQL hands back what the row path's COPY
wrote: amounts rounded to the scale of NUMERIC(18, 4), half away from zero.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.engine import Connection

from erp_crm.model.canonical import Entity
from erp_crm.model.tables.synced import SYNCED, ref_key_column
from erp_crm.sync.mapping import AMOUNT_PLACES

UNHASHED = ""  # no md5 hex digest is empty
_SCALE = Decimal(1).scaleb(-AMOUNT_PLACES)


def _as_stored(value: Any) -> Any:
    """A mapped value as SQLite hands it back (dates as ISO text, amounts as numbers; 1 == True and 2 == 2.0 in Python)."""
    if value.__class__ is datetime:
        return value.isoformat(" ")
    if value.__class__ is date:
        return value.isoformat()
    if value.__class__ is Decimal:
        return float(value)
    return value


def _as_stored_pg(value: Any) -> Any:
    """A mapped value as PostgreSQL hands it back: an amount's digits (a float's as `repr` writes them) rounded to the column's scale."""
    if value.__class__ is float:
        return Decimal(repr(value)).quantize(_SCALE, ROUND_HALF_UP)
    if value.__class__ is Decimal:
        return value.quantize(_SCALE, ROUND_HALF_UP)
    return value


def same_as_stored(stored: Sequence[Any], mapped: tuple[Any, ...], dialect: str = "sqlite") -> bool:
    """Whether a mapped row (`RowMapper.map_row`: key, values, hash) holds what the overlay holds (`stored_values`)."""
    stored_as = _as_stored_pg if dialect == "postgresql" else _as_stored
    return all(s == (None if v is None else stored_as(v)) for s, v in zip(stored, mapped[1:-1], strict=True))


@functools.cache
def _values_sql(entity: Entity, keys: int, mark: str) -> str:
    """Key and values of unhashed rows by ERP key, for `keys` keys; written once per entity, count and parameter mark."""
    t = SYNCED[entity.name]
    columns = ", ".join(f'"{ref_key_column(f.name) if f.ref else f.name}"' for f in entity.fields)
    marks = ", ".join([mark] * keys)
    return f'SELECT erp_key, {columns} FROM "{t.name}" WHERE source = {mark} AND row_hash = \'{UNHASHED}\' AND erp_key IN ({marks})'


def stored_values(conn: Connection, entity: Entity, source: str, keys: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """The stored values (in the entity's field order) of the unhashed rows among these keys (at most `writer.IN_CHUNK`).

    Read through the driver, untyped on SQLite, as they are compared.
    """
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    rows = conn.exec_driver_sql(_values_sql(entity, len(keys), mark), (source, *keys))
    return {row[0]: tuple(row[1:]) for row in rows}
