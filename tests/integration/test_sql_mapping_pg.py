"""The PostgreSQL SQL mapping (`sql_mapping_pg`) never takes a value the compiled mapper would not take as it is.

As tests/unit/test_sql_mapping.py does for SQLite: each column of a typed table meets a
grid of hostile values of its type (amounts at the overlay's limits and past them, NaN
and infinity, floats whose digits round either way, impossible and implausible dates,
date text in forms Python and PostgreSQL read differently, long keys), one row at a
time. Where PostgreSQL says a row passes, the mapper must take it too and give what
PostgreSQL gives once stored (amounts rounded to NUMERIC(18, 4)); a row PostgreSQL
refuses, or whose statement fails, goes the row path, so refusing more is allowed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from erp_crm.model.canonical import BY_NAME, Kind
from erp_crm.model.tables.synced import ref_key_column
from erp_crm.sync.definition import EntitySpec
from erp_crm.sync.mapping import BadValue, compile_mapper
from erp_crm.sync.sql_mapping import translate
from erp_crm.sync.sql_mapping_pg import PgSql
from erp_crm.sync.unhashed import same_as_stored
from tests.unit.test_sql_mapping import CASES

DATE_TEXTS = [
    "2024-03-01", "2024-02-29", "2023-02-29", "2024-02-30", "2024-13-01", "2024-1-01", " 2024-03-01", "2024-03-01 ",
    "2024-03-01 10:00:00", "2024-03-01T10:00:00", "2024-01-01 24:00:00", "2024-01-01 25:61:00", "2024-01-01 10:00:60",
    "2024-03-01 10:00:00.5", "2024-03-01T10:00:00+02:00", "2024-03-01Z", "0000-00-00", "1899-12-31", "1900-01-01",
    "2999-12-31", "2999-12-31 23:59:59", "3000-01-01", "20240301", "infinity", "epoch", "today",
]  # fmt: skip
GRID: dict[str, list[Any]] = {
    "integer": [None, 0, 1, 2, 3, 8, -5, 2**31 - 1],
    "smallint": [None, 0, 1, 2, 3, -1],
    "bigint": [None, 0, 1, 2, 8, 2**62, 10**14 - 1, 10**14, -(10**14), 2**63 - 1],
    "text": [None, "", "abc", "8", " 8", "2", "42", "1 234,5", "Ő Kft.", "👩‍👩‍👧", "K" * 201, "K" * 200, "true", "x", *DATE_TEXTS],
    "numeric": [
        None, Decimal(0), Decimal("10.5"), Decimal("1.23455"), Decimal("-1.23455"), Decimal("1.23445"), Decimal("99999999999999.99994"),
        Decimal("99999999999999.99995"), Decimal("-99999999999999.99995"), Decimal("NaN"), Decimal("1E+20"), Decimal(2),
    ],
    "double precision": [None, 0.0, -0.0, 1.5, 0.1, 2.0, 1e14, -1e14, 99999999999999.98, float("inf"), float("nan"), 1.00005, 0.12345, 0.12344999999999999],
    "real": [None, 0.1, 1.00005, 3.4e38, 2.0],
    "boolean": [None, True, False],
    "date": [None, date(2024, 3, 1), date(1899, 12, 31), date(1900, 1, 1), date(2999, 12, 31), date(3000, 1, 1)],
    "timestamp": [None, datetime(2024, 3, 1, 10), datetime(1899, 12, 31, 23, 59, 59), datetime(2999, 12, 31, 23, 59, 59, 999999), datetime(3000, 1, 1)],
}  # fmt: skip
# Each entity of tests/unit/test_sql_mapping.py with its ERP columns typed two ways, and a row that maps.
SCHEMAS: dict[str, list[dict[str, tuple[str, Any]]]] = {
    "invoice": [
        {
            "rowid": ("integer", 1), "ref": ("text", "F1"), "fk_soc": ("integer", 7), "datef": ("date", date(2024, 3, 1)),
            "due": ("text", None), "st": ("integer", 1), "typ": ("integer", 0), "total_ht": ("numeric", Decimal("10.5")),
            "tva": ("double precision", 2.0),
        },
        {
            "rowid": ("text", "F1"), "ref": ("integer", 1), "fk_soc": ("text", "7"), "datef": ("timestamp", datetime(2024, 3, 1)),
            "due": ("date", None), "st": ("text", "3"), "typ": ("text", "x"), "total_ht": ("real", 10.5), "tva": ("bigint", 2),
        },
    ],
    "partner": [
        {
            "rowid": ("text", "P1"), "nom": ("text", "Kovács Kft."), "typent": ("integer", 8), "client": ("integer", 1),
            "status": ("integer", 1), "datec": ("timestamp", datetime(2024, 1, 1, 10)), "lim": ("numeric", Decimal(5)), "fk_user": ("integer", None),
        },
        {
            "rowid": ("integer", 1), "nom": ("integer", 42), "typent": ("text", "8"), "client": ("smallint", 1),
            "status": ("boolean", True), "datec": ("text", "2024-01-01 10:00:00"), "lim": ("bigint", 5), "fk_user": ("text", None),
        },
    ],
}  # fmt: skip


def _rows(schema: dict[str, tuple[str, Any]]) -> Iterator[dict[str, Any]]:
    good = {column: value for column, (_type, value) in schema.items()}
    yield good
    for column, (kind, _value) in schema.items():
        for value in GRID[kind]:
            yield {**good, column: value}


@pytest.mark.parametrize(("entity_name", "n"), [(e, n) for e in sorted(SCHEMAS) for n in range(2)])
def test_what_postgresql_takes_the_mapper_takes_and_maps_alike(pg_url: str, entity_name: str, n: int) -> None:
    entity = BY_NAME[entity_name]
    fields, _sqlite_row = CASES[entity_name]
    schema = SCHEMAS[entity_name][n]
    spec = EntitySpec(key="rowid", table="t", fields=fields)
    mapper = compile_mapper(entity, spec)
    db = psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
    db.execute(f"CREATE TABLE t (n integer PRIMARY KEY, {', '.join(f'{c} {t}' for c, (t, _v) in schema.items())})")
    rows = list(_rows(schema))
    with db.cursor() as cursor:
        cursor.executemany(f"INSERT INTO t VALUES (%s, {', '.join(['%s'] * len(schema))})", [(i, *row.values()) for i, row in enumerate(rows)])
    items = ", ".join(f"({s.sql}) AS c{i}" if s.sql else f"{s.column} AS c{i}" for i, s in enumerate(mapper.select))
    description = db.execute(f"SELECT {items} FROM t LIMIT 0").description or []
    mapping = translate(entity, spec, mapper, PgSql([c.type_code for c in description]))
    kinds = {ref_key_column(f.name) if f.ref else f.name: f.kind for f in entity.fields}
    outputs = ", ".join(
        "NULL" if value.endswith(".id") else f"CAST({value} AS numeric(18, 4))" if kinds.get(column) is Kind.DECIMAL else value
        for column, value in zip(mapping.columns, mapping.values, strict=True)
    )
    query = f"SELECT m.ok, m.k, {outputs} FROM (SELECT r.n, {', '.join(mapping.inner)} FROM (SELECT n, {items} FROM t) AS r) AS m WHERE m.n = %(b_row)s"
    taken = 0
    for i, row in enumerate(rows):
        try:
            ok, key, *values = db.execute(query, {**mapping.params, "b_row": i}).fetchone() or ()
        except psycopg.DataError:
            continue  # the statement fails: the batch goes the row path
        if not ok:
            continue
        taken += 1
        raw = db.execute(f"SELECT {items} FROM t WHERE n = %s", (i,)).fetchone()
        assert raw is not None
        try:
            mapped = mapper.map_row(tuple(raw))
        except BadValue as exc:
            pytest.fail(f"PostgreSQL takes {row}, the mapper refuses it: {exc}")
        assert key == mapped[0], row
        by_column = dict(zip(mapping.columns, values, strict=True))
        stored = [by_column.get(c) for c in kinds]
        assert same_as_stored(stored, mapped, "postgresql"), f"{row}: PostgreSQL gives {stored}, the mapper {mapped[1:-1]}"
    db.close()
    assert taken >= len(schema) * 3, "the grid's plain values go the bulk way"
