"""connectors/erpnext.yaml against ERPNext's real table layout on MariaDB.

The database is built by tests/erp_layouts/erpnext.py the way Frappe builds DocType
tables (`tabSales Invoice` with spaces, the standard name/creation/modified/docstatus/idx
columns, child tables with parent/parenttype), with the columns of ERPNext 14–15 the
definition reads, and filled with a small known data set: drafts, cancelled documents,
a quotation to a lead and a supplier payment that must be left out, a return (credit
note) with negative amounts. The tests prove the definition fits the layout and that
`erp-crm check` and `erp-crm sync` bring the expected rows into the overlay, reading
MariaDB both through PyMySQL and through pyodbc with the MariaDB ODBC driver.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.erp_layouts import Expected, erpnext, run
from tests.erp_layouts.check import load

DEFINITION = Path(__file__).resolve().parents[2] / "connectors" / "erpnext.yaml"
CANCELLED = "ACC-SINV-2024-00002"


@pytest.fixture
def erpnext_db(mariadb_url: str) -> tuple[str, Expected]:
    """A fresh MariaDB database with ERPNext's layout and the known data set."""
    return mariadb_url, run.build_layout(mariadb_url, erpnext)


def test_definition_fits_the_erpnext_layout(erpnext_db: tuple[str, Expected]) -> None:
    run.assert_definition_fits(erpnext_db[0], DEFINITION, erpnext_db[1])


def test_child_rows_follow_their_document() -> None:
    """Child tables' `modified` is not trusted: line entities have no change column."""
    definition = load(DEFINITION)
    for name in ("quote_line", "order_line", "invoice_line"):
        assert "change" not in definition["entities"][name], name


@pytest.mark.parametrize("access", ["pymysql", "odbc"])
def test_check_and_sync_bring_erpnext_into_the_overlay(
    access: str, erpnext_db: tuple[str, Expected], tmp_path: Path, odbc_driver
) -> None:
    url, expected = erpnext_db
    home = run.erp_home(tmp_path, url, DEFINITION, odbc_driver if access == "odbc" else None)
    run.check_and_sync(home, DEFINITION, expected)


def test_an_invoice_cancelled_after_submitting_leaves_at_reconciliation(
    erpnext_db: tuple[str, Expected], tmp_path: Path
) -> None:
    """docstatus = 1 only: cancelling takes an invoice out of the filter, so incremental runs
    no longer see it, and the reconciliation pass marks it deleted (docs/erps.md)."""
    url = erpnext_db[0]
    home = run.synced_home(tmp_path, url, DEFINITION)
    run.erp_execute(
        url,
        f"UPDATE `tabSales Invoice` SET docstatus = 2, status = 'Cancelled', modified = NOW(6) WHERE name = '{CANCELLED}'",
        f"UPDATE `tabSales Invoice Item` SET docstatus = 2, modified = NOW(6) WHERE parent = '{CANCELLED}'",
    )
    deleted_at = f"SELECT erp_deleted_at FROM crm_invoice WHERE erp_key = '{CANCELLED}'"

    run.sync_report(home)
    assert run.overlay_value(home, deleted_at) is None
    assert run.sync_report(home, "--reconcile")["entities"]["invoice"]["deleted"] == 1
    assert run.overlay_value(home, deleted_at) is not None
