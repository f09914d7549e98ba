"""connectors/odoo.yaml against Odoo's real table layout on PostgreSQL.

The database is built by tests/erp_layouts/odoo.py with the tables and columns of Odoo
16–17 that the definition reads, then filled with a small known data set. The tests
prove that every table, column and expression the definition uses exists there, that
each entity's filter selects exactly the expected rows, and that `erp-crm check` and
`erp-crm sync` bring those rows into the overlay (credit note negative, every reference
resolved, nothing quarantined, later runs writing nothing), reading PostgreSQL both
through psycopg and through pyodbc with the PostgreSQL ODBC driver.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.erp_layouts import Expected, odoo, run
from tests.erp_layouts.check import load, schema_problems

DEFINITION = Path(__file__).resolve().parents[2] / "connectors" / "odoo.yaml"


@pytest.fixture
def odoo_db(pg_url: str) -> tuple[str, Expected]:
    """A fresh PostgreSQL database with Odoo's layout and the known data set."""
    return pg_url, run.build_layout(pg_url, odoo)


def test_definition_fits_the_odoo_layout(odoo_db: tuple[str, Expected]) -> None:
    run.assert_definition_fits(odoo_db[0], DEFINITION, odoo_db[1])


def test_a_missing_column_is_reported(odoo_db: tuple[str, Expected], tmp_path: Path, odbc_driver) -> None:
    """A database that differs from the definition (no res_partner.mobile) fails both checks."""
    url = odoo_db[0]
    run.erp_execute(url, "ALTER TABLE res_partner DROP COLUMN mobile")
    engine = sa.create_engine(url)
    try:
        problems = schema_problems(engine, load(DEFINITION))
    finally:
        engine.dispose()
    assert any(p.startswith("partner:") and "mobile" in p for p in problems), problems

    outcome = run.erp_crm(run.erp_home(tmp_path, url, DEFINITION, odbc_driver), "check")
    assert outcome.code != 0, outcome.explain()
    assert "mobile" in outcome.stdout + outcome.stderr, outcome.explain()


@pytest.mark.parametrize("access", ["psycopg", "odbc"])
def test_check_and_sync_bring_odoo_into_the_overlay(
    access: str, odoo_db: tuple[str, Expected], tmp_path: Path, odbc_driver
) -> None:
    url, expected = odoo_db
    home = run.erp_home(tmp_path, url, DEFINITION, odbc_driver if access == "odbc" else None)
    run.check_and_sync(home, DEFINITION, expected)


def test_an_invoice_cancelled_after_posting_arrives_cancelled(odoo_db: tuple[str, Expected], tmp_path: Path) -> None:
    """posted_before keeps a cancelled invoice in the filter: the next incremental run updates it."""
    url = odoo_db[0]
    home = run.synced_home(tmp_path, url, DEFINITION)
    run.erp_execute(url, "UPDATE account_move SET state = 'cancel', write_date = now() AT TIME ZONE 'UTC' WHERE id = 2")
    assert run.sync_report(home)["entities"]["invoice"]["updated"] == 1
    assert run.overlay_value(home, "SELECT status FROM crm_invoice WHERE erp_key = '2'") == "cancelled"
