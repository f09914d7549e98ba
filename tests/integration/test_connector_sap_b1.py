"""connectors/sap_b1.yaml against SAP Business One's table layout.

SAP Business One runs on SQL Server, which is not available where these tests run. The
layout (tests/erp_layouts/sap_b1.py: OCRD, OSLP, OITM, OQUT/QUT1, ORDR/RDR1, OINV/INV1,
ORIN/RIN1, ORCT/RCT2, ... with B1's own capitalised names) is therefore built in
PostgreSQL, quoted exactly as B1 spells it, and read through pyodbc with the PostgreSQL
ODBC driver, the same path the engine takes to SQL Server. The definition's SQL is
plain and portable (CASE, COALESCE, CONCAT, UNION ALL, double-quoted identifiers, which
SQL Server accepts with QUOTED_IDENTIFIER ON, the ODBC default), so what runs here is
what runs there.

The data set has invoices and a credit memo sharing DocEntry 1 (kept apart by the
"13-" / "14-" keys), a cancelled invoice with its cancellation document, a cancelled
quotation, order and payment, and a vendor, all of which must stay out of the overlay.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.erp_layouts import Expected, run, sap_b1
from tests.erp_layouts.check import expressions, load

DEFINITION = Path(__file__).resolve().parents[2] / "connectors" / "sap_b1.yaml"


@pytest.fixture
def sap_db(pg_url: str) -> tuple[str, Expected]:
    """A fresh PostgreSQL database with SAP Business One's layout and the known data set."""
    return pg_url, run.build_layout(pg_url, sap_b1)


def test_definition_fits_the_sap_b1_layout(sap_db: tuple[str, Expected]) -> None:
    run.assert_definition_fits(sap_db[0], DEFINITION, sap_db[1])


def test_sql_stays_portable() -> None:
    """No PostgreSQL- or MariaDB-only syntax that SQL Server would reject, in any SQL the definition sends."""
    sql = []
    for spec in load(DEFINITION)["entities"].values():
        sql += [spec.get("query") or "", spec.get("filter") or ""] + expressions(spec)
    text = " ".join(sql).upper()
    for construct in ("||", "::", "`", " LIMIT ", "GREATEST(", "LEAST(", "ILIKE", "->>", " ~ ", " TRUE", " FALSE",
                      "NOW()", "IFNULL(", "ISNULL(", "TOP ", "[", "]"):
        assert construct not in text, construct
    assert '"' in text  # identifiers are double-quoted


def test_check_and_sync_through_odbc(sap_db: tuple[str, Expected], tmp_path: Path, odbc_driver) -> None:
    url, expected = sap_db
    home = run.erp_home(tmp_path, url, DEFINITION, odbc_driver)
    run.check_and_sync(home, DEFINITION, expected)

    # A foreign-currency invoice keeps its own currency's amounts, not the local ones.
    invoice = "FROM crm_invoice WHERE erp_key = '13-2'"
    assert run.overlay_value(home, f"SELECT currency {invoice}") == "EUR"
    assert Decimal(str(run.overlay_value(home, f"SELECT amount_total {invoice}"))) == Decimal("160.02")
    assert Decimal(str(run.overlay_value(home, f"SELECT amount_tax {invoice}"))) == Decimal("34.02")
    line_net = run.overlay_value(home, "SELECT amount_net FROM crm_invoice_line WHERE invoice_key = '13-2'")
    assert Decimal(str(line_net)) == Decimal(126)
