"""The SQL mapping of a bulk load never takes a value the compiled mapper would not take as it is.

Every field kind meets a grid of hostile SQLite values (text numbers, floats, huge and
negative integers, impossible dates, dates with times and zones, NUL, blobs, long keys)
one row at a time. Where SQLite says a row passes (the mapping's condition and the
batch text check), the mapper must take it too and give what SQLite gives, as the
overlay stores it; rows SQLite refuses go the row path, so refusing more is allowed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from erp_crm.model.canonical import BY_NAME
from erp_crm.sync.definition import EntitySpec
from erp_crm.sync.mapping import BadValue, compile_mapper
from erp_crm.sync.sql_mapping import Untranslated, text_check, translate
from erp_crm.sync.sql_mapping_pg import PgSql
from erp_crm.sync.unhashed import same_as_stored

GRID: list[Any] = [
    None, 0, 1, 2, 3, 8, -5, 2**62, 2**63 - 1, -(2**63), 1.5, 2.0, 8.0, -0.0, 1e14, -1e14, 99999999999999.98, 1e300, float("inf"),
    "", "abc", "42", " 8", "8", "2", "1 234,5", "1e3", "Ő Kft.", "👩‍👩‍👧", "A\x00B", "K" * 201, "K" * 200, b"\x01\x02",
    "true", "Y", "0", "1",
    "2024-03-01", "2024-02-29", "2023-02-29", "2024-02-30", "2024-13-01", "2024-1-01", " 2024-03-01", "2024-03-01 ",
    "2024-03-01 10:00:00", "2024-03-01T10:00:00", "2024-01-01 24:00:00", "2024-01-01 25:61:00", "2024-01-01 10:00:60",
    "2024-03-01 10:00:00.5", "2024-03-01T10:00:00+02:00", "2024-03-01Z", "0000-00-00", "1899-12-31", "1900-01-01",
    "2999-12-31", "2999-12-31 23:59:59", "3000-01-01", "20240301",
]  # fmt: skip

CASES = {
    "invoice": (
        {
            "number": "ref",
            "partner": "fk_soc",
            "date": "datef",
            "due_date": "due",
            "status": {"column": "st", "map": {1: "posted", 2: "paid", "3": "cancelled", 8.0: "draft"}},
            "kind": {"column": "typ", "map": {2: "credit_note"}, "default": "invoice"},
            "amount_net": {"column": "total_ht", "negate_when": {"column": "typ", "in": [2, "x"]}},
            "amount_tax": {"column": "tva", "default": 0},
            "currency": {"value": "HUF"},
        },
        {"rowid": 1, "ref": "F1", "fk_soc": 7, "datef": "2024-03-01", "due": None, "st": 1, "typ": 0, "total_ht": 10.5, "tva": 2},
    ),
    "partner": (
        {
            "name": "nom",
            "kind": {"column": "typent", "map": {8: "person"}, "default": "company"},
            "is_customer": {"sql": "CASE WHEN client IN (1, 3) THEN 1 ELSE client END"},
            "active": {"column": "status", "default": True},
            "created_at": "datec",
            "country": {"value": "HU"},
            "credit_limit": "lim",
            "salesperson": "fk_user",
        },
        {"rowid": "P1", "nom": "Kovács Kft.", "typent": 8, "client": 1, "status": 1, "datec": "2024-01-01 10:00:00", "lim": 5, "fk_user": None},
    ),
}


def _rows(good: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield good
    for column in good:
        for value in GRID:
            yield {**good, column: value}


@pytest.mark.parametrize("entity_name", sorted(CASES))
def test_what_sql_takes_the_mapper_takes_and_maps_alike(entity_name: str) -> None:
    entity = BY_NAME[entity_name]
    fields, good = CASES[entity_name]
    spec = EntitySpec(key="rowid", table="t", fields=fields)
    mapper = compile_mapper(entity, spec)
    mapping = translate(entity, spec, mapper)
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE t (n INTEGER PRIMARY KEY, {', '.join(good)})")  # no declared types: values stay as given
    rows = list(_rows(good))
    db.executemany(f"INSERT INTO t VALUES (?, {', '.join('?' * len(good))})", [(n, *row.values()) for n, row in enumerate(rows)])
    items = ", ".join(f"({s.sql}) AS c{i}" if s.sql else f"{s.column} AS c{i}" for i, s in enumerate(mapper.select))
    outputs = ", ".join("NULL" if value.endswith(".id") else value for value in mapping.values)  # no referenced rows here
    texts = ", ".join(["m.k", *mapping.texts])
    query = f"SELECT m.ok, m.k, {outputs}, {texts} FROM (SELECT r.n, {', '.join(mapping.inner)} FROM (SELECT n, {items} FROM t) AS r) AS m ORDER BY m.n"
    taken = 0
    for n, (ok, key, *rest) in enumerate(db.execute(query, mapping.params)):
        values, text = rest[: len(mapping.values)], rest[len(mapping.values) :]
        raw = db.execute(f"SELECT {items} FROM t WHERE n = ?", (n,)).fetchone()
        if not ok or not text_check(*text):
            continue
        taken += 1
        try:
            mapped = mapper.map_row(raw)
        except BadValue as exc:
            pytest.fail(f"SQL takes {rows[n]}, the mapper refuses it: {exc}")
        assert key == mapped[0], rows[n]
        by_column = dict(zip(mapping.columns, values, strict=True))
        columns = [f"{f.name}_key" if f.ref else f.name for f in entity.fields]
        stored = [by_column.get(c) for c in columns]
        assert same_as_stored(stored, mapped), f"{rows[n]}: SQL gives {stored}, the mapper {mapped[1:-1]}"
    assert taken >= len(good) * 5, "the grid's plain values go the bulk way"


@pytest.mark.parametrize(
    ("fields", "types"),
    [
        ({"amount_net": {"value": 1.5}}, [23]),  # a float constant: PostgreSQL would not store the row path's digits
        ({"amount_net": {"column": "x", "default": 0.5}}, [23, 701]),  # nor of a float default
        ({"amount_net": "x"}, [23, 1184]),  # timestamptz: no staging column of it
        ({"amount_net": "x"}, [23, 25]),  # a text amount: the mapper converts it
        ({"number": "x"}, [1700, 25]),  # a numeric key: the mapper writes 42.0 as 42
    ],
)
def test_what_postgresql_does_not_map_is_loaded_row_by_row(fields: dict[str, Any], types: list[int]) -> None:
    entity = BY_NAME["invoice"]
    spec = EntitySpec(key="rowid", table="t", fields=fields)
    mapper = compile_mapper(entity, spec)
    with pytest.raises(Untranslated):
        translate(entity, spec, mapper, PgSql(types[: len(mapper.select)]))
