"""The same ERP read through every kind of connection: SQLite, PostgreSQL and MariaDB,
each through its native driver and through ODBC (pyodbc with Debian's drivers, the path
SQL Server ERPs take).  The overlay must come out identical, and the ERP is only read:
a role that can do nothing but SELECT syncs it completely.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from erp_crm.errors import SourceError
from erp_crm.settings.root import Settings
from tests.support.mini_erp import MiniErp, mini_settings, overlay_rows
from tests.support.odbc import MARIADB_DRIVER, POSTGRESQL_DRIVER, SQLITE_DRIVER, odbc_connection_string
from tests.support.roles import mariadb_user, pg_role
from tests.support.services import compare, run_sync

EXPECTED_INVOICES = {"1": ("F1", "invoice", Decimal(1000)), "2": ("F2", "credit_note", Decimal(-500))}
DIALECTS = {"sqlite": "sqlite", "pg": "postgresql", "mariadb": "mysql"}
DRIVERS = {"sqlite": SQLITE_DRIVER, "pg": POSTGRESQL_DRIVER, "mariadb": MARIADB_DRIVER}


@pytest.fixture(params=["sqlite", "pg", "mariadb"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'erp.sqlite'}"
    return request.getfixturevalue("pg_url" if request.param == "pg" else "mariadb_url")


def _settings(tmp_path: Path, url: str, via: str, odbc_driver: Callable[[str], str]) -> Settings:
    kind = {"sqlite": "sqlite", "postgresql": "pg", "mysql": "mariadb"}[make_url(url).get_backend_name()]
    if via == "odbc":
        odbc_driver(DRIVERS[kind])
        return mini_settings(tmp_path, odbc=odbc_connection_string(url), dialect=DIALECTS[kind])
    return mini_settings(tmp_path, erp_url=url)


@pytest.mark.parametrize("via", ["native", "odbc"])
def test_every_connection_kind_gives_the_same_overlay(tmp_path: Path, server: str, via: str, odbc_driver: Callable[[str], str]) -> None:
    erp = MiniErp(server)
    settings = _settings(tmp_path, server, via, odbc_driver)
    run_sync(settings, mode="full")
    invoices = overlay_rows(settings, "invoice", "number", "kind", "amount_net", "date")
    assert {k: v[:3] for k, v in invoices.items()} == EXPECTED_INVOICES
    assert str(invoices["1"][3]) == "2024-02-01"
    assert set(overlay_rows(settings, "invoice_line")) == {"1", "2", "3"}

    # An ERP day: a late commit inside the lookback, a new invoice with a line, a deleted line.
    erp.run("update fac set total_ht = 1001, tms = '2024-02-02 09:55:00' where rowid = 1")
    erp.run("insert into fac values (4, 2, '2024-03-02', 'F4', 0, 99.5, 1, '2024-03-02 10:00:00')")
    erp.run("insert into facdet values (5, 4, 'S1', 99.5, 'új sor – ő, ű')")
    erp.run("delete from facdet where rowid = 2")
    report = run_sync(settings)
    assert report.entities["invoice"].inserted == 1 and report.entities["invoice"].updated == 1
    assert report.entities["invoice_line"].deleted == 1
    assert overlay_rows(settings, "invoice", "amount_net")["1"] == (Decimal(1001),)
    assert overlay_rows(settings, "invoice_line", "description")["5"] == ("új sor – ő, ű",)
    assert all(c.complete for c in compare(settings))
    assert run_sync(settings).entities["invoice"].updated == 0, "a second run finds nothing new"


SELECT_ONLY = {"pg": (pg_role, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"), "mariadb": (mariadb_user, "GRANT SELECT ON `{database}`.* TO {user}")}


@pytest.mark.parametrize("kind", ["pg", "mariadb"])
def test_a_select_only_role_syncs_everything_and_a_writer_is_refused(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> None:
    admin_url = request.getfixturevalue("pg_url" if kind == "pg" else "mariadb_url")
    MiniErp(admin_url)
    role, grant = SELECT_ONLY[kind]
    with role(admin_url, [grant]) as reader_url:
        guarded = {"erp": {"require_read_only": True}}
        settings = mini_settings(tmp_path, erp_url=reader_url)
        settings = settings.model_copy(update={"erp": settings.erp.model_copy(update=guarded["erp"])})
        report = run_sync(settings, mode="reconcile")  # every read the engine can do, as a reader
        assert report.entities["invoice"].inserted == 2
        assert all(c.complete for c in compare(settings))

        writer = settings.model_copy(update={"erp": settings.erp.model_copy(update={"url": admin_url})})
        with pytest.raises(SourceError, match="can write .*read-only role"):
            run_sync(writer)
