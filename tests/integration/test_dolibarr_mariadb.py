"""connectors/dolibarr.yaml against Dolibarr's real table layout on MariaDB.

The database is built by the demo generator (erp_crm/demo), which creates the subset of
Dolibarr's tables the definition reads with Dolibarr's own MySQL DDL and fills it with a
small Hungarian history. The tests prove that every table and column the definition
names exists there (asked of information_schema), that every query, filter and SQL
expression runs on MariaDB, and that `erp-crm check` and `erp-crm sync` bring exactly
the rows Dolibarr's rules say they must (validated invoices only, credit notes
negative, nothing quarantined, every reference resolved, a second run writing nothing),
reading through PyMySQL and through pyodbc with the MariaDB ODBC driver.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erp_crm.demo import build_demo_erp
from erp_crm.demo.expected import dolibarr_entity_counts
from tests.erp_layouts import Expected
from tests.erp_layouts.check import load, schema_problems, source_counts
from tests.erp_layouts.run import check_and_sync, erp_crm
from tests.support.homes import make_home
from tests.support.odbc import MARIADB_DRIVER, odbc_connection_string

DEFINITION = Path(__file__).resolve().parents[2] / "connectors" / "dolibarr.yaml"
TODAY = date(2024, 11, 20)
_ALIAS = re.compile(r"\b(?:FROM|JOIN)\s+(llx_\w+)\s+(?:AS\s+)?(\w+)", re.IGNORECASE)
_QUALIFIED = re.compile(r"\b([a-z]\w*)\.(\w+)\b")
LINES = ("quote_line", "order_line", "invoice_line")


def add_draft_invoice(conn: sa.Connection) -> tuple[int, int]:
    """A draft invoice with one line, as Dolibarr writes it before validation."""
    soc = conn.exec_driver_sql("SELECT MIN(rowid) FROM llx_societe WHERE client = 1").scalar_one()
    invoice = conn.exec_driver_sql("SELECT MAX(rowid) + 1 FROM llx_facture").scalar_one()
    line = conn.exec_driver_sql("SELECT MAX(rowid) + 1 FROM llx_facturedet").scalar_one()
    conn.exec_driver_sql(
        "INSERT INTO llx_facture (rowid, ref, entity, type, fk_soc, datec, datef, tms, fk_statut, paye,"
        " total_ht, total_tva, total_ttc, fk_cond_reglement, multicurrency_code)"
        " VALUES (%s, %s, 1, 0, %s, '2024-11-19 10:00:00', '2024-11-19', '2024-11-19 10:00:00', 0, 0,"
        " 10000, 2700, 12700, 1, 'HUF')",
        (invoice, f"(PROV{invoice})", soc),
    )
    conn.exec_driver_sql(
        "INSERT INTO llx_facturedet (rowid, fk_facture, fk_product, description, tva_tx, qty, subprice,"
        " total_ht, total_tva, total_ttc, fk_code_ventilation) VALUES (%s, %s, 1, 'Vázlat', 27, 1, 10000,"
        " 10000, 2700, 12700, 0)",
        (line, invoice),
    )
    return invoice, line


def expected_after(conn: sa.Connection, excluded: dict[str, list[str]]) -> Expected:
    note = conn.exec_driver_sql(
        "SELECT rowid, total_ttc FROM llx_facture WHERE type = 2 AND fk_statut > 0 ORDER BY rowid"
    ).first()
    assert note is not None, "the demo history has no credit note"
    return Expected(
        counts=dolibarr_entity_counts(conn),
        credit_note_key=str(note[0]),
        credit_note_total=Decimal(str(note[1])).quantize(Decimal(1)),
        excluded=excluded,
    )


@pytest.fixture
def dolibarr_db(mariadb_url: str) -> tuple[str, Expected]:
    """A fresh MariaDB database with Dolibarr's layout, a small history and one draft invoice."""
    engine = sa.create_engine(mariadb_url)
    try:
        build_demo_erp(engine, customers=40, years=2, seed=11, today=TODAY)
        with engine.begin() as conn:
            invoice, line = add_draft_invoice(conn)
            expected = expected_after(conn, {"invoice": [str(invoice)], "invoice_line": [str(line)]})
    finally:
        engine.dispose()
    return mariadb_url, expected


def with_params(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with its :params written into the filters, for plain SQL checks."""
    out = {**definition, "entities": {}}
    for name, spec in definition["entities"].items():
        spec = dict(spec)
        for param, value in definition.get("params", {}).items():
            if spec.get("filter"):
                spec["filter"] = re.sub(rf":{param}\b", repr(value), spec["filter"])
        out["entities"][name] = spec
    return out


def test_every_table_and_column_the_definition_names_exists(dolibarr_db: tuple[str, Expected]) -> None:
    url, _ = dolibarr_db
    definition = load(DEFINITION)
    wanted: dict[str, set[str]] = {}
    for spec in definition["entities"].values():
        if "table" in spec:
            names = set(spec["key"] if isinstance(spec["key"], list) else [spec["key"]])
            names |= {spec["change"]} if isinstance(spec.get("change"), str) else set()
            names |= {f if isinstance(f, str) else f["column"] for f in spec["fields"].values()
                      if isinstance(f, str) or "column" in f}
            wanted.setdefault(spec["table"], set()).update(names)
        else:
            aliases = {alias: table for table, alias in _ALIAS.findall(spec["query"])}
            for table in aliases.values():
                wanted.setdefault(table, set())
            for alias, column in _QUALIFIED.findall(spec["query"]):
                if alias in aliases:
                    wanted[aliases[alias]].add(column)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            have: dict[str, set[str]] = {}
            for table, column in conn.exec_driver_sql(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = DATABASE()"
            ):
                have.setdefault(table, set()).add(column)
    finally:
        engine.dispose()
    assert "llx_facture" in wanted and "llx_paiement_facture" in wanted
    missing = {table: sorted(columns - have.get(table, set())) for table, columns in wanted.items()}
    assert {t: c for t, c in missing.items() if c or t not in have} == {}


def test_queries_filters_and_expressions_run_on_mariadb(dolibarr_db: tuple[str, Expected]) -> None:
    url, expected = dolibarr_db
    definition = with_params(load(DEFINITION))
    engine = sa.create_engine(url)
    try:
        assert schema_problems(engine, definition) == []
        counts = source_counts(engine, definition)
    finally:
        engine.dispose()
    # lines are counted here without their parent's filter; the sync reads only kept parents' lines
    assert {k: v for k, v in counts.items() if k not in LINES} == {
        k: v for k, v in expected.counts.items() if k not in LINES
    }


def test_a_missing_column_is_reported(dolibarr_db: tuple[str, Expected], tmp_path: Path) -> None:
    url, _ = dolibarr_db
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE llx_facture DROP COLUMN date_lim_reglement")
    finally:
        engine.dispose()
    outcome = erp_crm(dolibarr_home(tmp_path, url), "check")
    assert outcome.code != 0, outcome.explain()
    assert "date_lim_reglement" in outcome.stdout + outcome.stderr, outcome.explain()


def dolibarr_home(tmp_path: Path, url: str, *, odbc: str | None = None) -> Path:
    """A test home reading `url` with connectors/dolibarr.yaml, through ODBC driver `odbc` if given."""
    if odbc is None:
        return make_home(tmp_path, erp_url=url, connector=str(DEFINITION))
    dialect = sa.engine.make_url(url).get_backend_name()
    return make_home(tmp_path, odbc=odbc_connection_string(url), dialect=dialect, connector=str(DEFINITION))


@pytest.mark.parametrize("access", ["pymysql", "odbc"])
def test_check_and_sync_bring_dolibarr_into_the_overlay(
    access: str, dolibarr_db: tuple[str, Expected], tmp_path: Path, odbc_driver
) -> None:
    url, expected = dolibarr_db
    driver = odbc_driver(MARIADB_DRIVER) if access == "odbc" else None
    check_and_sync(dolibarr_home(tmp_path, url, odbc=driver), DEFINITION, expected)
