"""connectors/dolibarr.yaml on the demo ERP: the same definition reads SQLite as MariaDB.

`erp-crm demo` builds its ERP in SQLite with the Dolibarr layout and syncs it with the
shipped definition; here that is proven through the sqlite3 module and through pyodbc
with the SQLite ODBC driver, and an incremental run after Dolibarr-style changes (an
invoice paid: its tms moves, a payment row appears) reads only what changed.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from erp_crm.demo import build_demo_erp
from tests.erp_layouts.run import check_and_sync, erp_crm, sync_report
from tests.integration.test_dolibarr_mariadb import DEFINITION, dolibarr_home, expected_after
from tests.support.odbc import SQLITE_DRIVER

TODAY = date(2025, 3, 10)


@pytest.fixture
def demo_erp(tmp_path: Path) -> Path:
    path = tmp_path / "demo_erp.sqlite"
    build_demo_erp(path, customers=60, years=2, seed=5, today=TODAY)
    return path


@pytest.mark.parametrize("access", ["sqlite3", "odbc"])
def test_check_and_sync_bring_the_demo_into_the_overlay(access: str, demo_erp: Path, tmp_path: Path, odbc_driver) -> None:
    url = f"sqlite:///{demo_erp}"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            drafts = [str(k) for k in conn.exec_driver_sql("SELECT rowid FROM llx_facture WHERE fk_statut = 0").scalars()]
            expected = expected_after(conn, {"invoice": drafts})
    finally:
        engine.dispose()
    driver = odbc_driver(SQLITE_DRIVER) if access == "odbc" else None
    check_and_sync(dolibarr_home(tmp_path, url, odbc=driver), DEFINITION, expected)


def test_an_incremental_run_reads_what_dolibarr_changed(demo_erp: Path, tmp_path: Path) -> None:
    home = dolibarr_home(tmp_path, f"sqlite:///{demo_erp}")
    assert erp_crm(home, "db", "upgrade").code == 0
    sync_report(home)  # full history first
    with sqlite3.connect(demo_erp) as db:
        invoice, soc, total = db.execute(
            "SELECT rowid, fk_soc, total_ttc FROM llx_facture WHERE type = 0 AND fk_statut = 1 ORDER BY rowid LIMIT 1"
        ).fetchone()
        paid = db.execute("SELECT COALESCE(SUM(amount), 0) FROM llx_paiement_facture WHERE fk_facture = ?", (invoice,)).fetchone()[0]
        now = "2025-03-10 09:00:00"  # the history closes at the end of the day before TODAY
        db.execute("INSERT INTO llx_paiement (rowid, ref, entity, datec, tms, datep, amount, fk_paiement, fk_bank, statut)"
                   " VALUES (100000, 'PAY2503-9999', 1, ?, ?, ?, ?, 2, 0, 0)", (now, now, now, total - paid))
        db.execute("INSERT INTO llx_paiement_facture (rowid, fk_paiement, fk_facture, amount) VALUES (100000, 100000, ?, ?)",
                   (invoice, total - paid))
        db.execute("UPDATE llx_facture SET fk_statut = 2, paye = 1, tms = ? WHERE rowid = ?", (now, invoice))
    report = sync_report(home)
    entities = report["entities"]
    assert entities["invoice"]["updated"] == 1 and entities["payment"]["inserted"] == 1, entities
    assert sum(e["inserted"] + e["updated"] for e in entities.values()) == 2, entities
    overlay = sa.create_engine(f"sqlite:///{home / 'var' / 'crm.sqlite'}")
    try:
        with overlay.connect() as conn:
            status = conn.exec_driver_sql("SELECT status FROM crm_invoice WHERE erp_key = ?", (str(invoice),)).scalar_one()
            partner = conn.exec_driver_sql("SELECT partner_key FROM crm_payment WHERE erp_key = '100000'").scalar_one()
    finally:
        overlay.dispose()
    assert status == "paid" and partner == str(soc)
