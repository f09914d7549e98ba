"""The ERP database failing in the middle of a read: one line naming the entity and the database's words.

A definition's filter or expression is accepted with the query and then fails on the
one row it cannot compute (a division by zero, a cast of text that is no number). The
servers report that while the rows are fetched, long after the query was accepted, so
the sync must turn it into a `SourceError` there too; the entities before it stay synced.
Each test runs with a SQLite overlay and with a PostgreSQL one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from erp_crm.errors import SourceError
from erp_crm.settings.root import Settings
from tests.support.mini_erp import MiniErp, mini_settings, overlay_rows
from tests.support.services import run_sync

# Invoice 3 is the draft (statut 0) and its ref is 'F3'.
DIVISION_BY_ZERO = 'filter: "100 / statut > 0"'
BAD_CAST = "filter: \"CASE WHEN rowid = 3 THEN CAST(SUBSTRING(ref, 1, 1) AS INTEGER) ELSE statut END > 0\""


def settings_with_filter(tmp_path: Path, erp: MiniErp, overlay_url: str, invoice_filter: str) -> Settings:
    settings = mini_settings(tmp_path, overlay_url, erp_url=erp.url)
    path = settings.home / "connectors" / "mini.yaml"
    path.write_text(path.read_text().replace('filter: "statut > 0"', invoice_filter))
    return settings


@pytest.mark.parametrize(
    "invoice_filter, words",
    [(DIVISION_BY_ZERO, "division by zero"), (BAD_CAST, 'invalid input syntax for type integer: "F"')],
    ids=["division-by-zero", "bad-cast"],
)
def test_a_filter_failing_on_one_row_is_one_line_naming_the_entity(
    tmp_path: Path, pg_url_factory: Callable[[], str], overlay_url: str, invoice_filter: str, words: str
) -> None:
    erp = MiniErp(pg_url_factory())
    settings = settings_with_filter(tmp_path, erp, overlay_url, invoice_filter)
    with pytest.raises(SourceError) as caught:
        run_sync(settings, mode="full")
    message = str(caught.value)
    assert message.startswith(f"invoice: the ERP database failed while reading rows: {words}"), message
    assert "\n" not in message
    assert set(overlay_rows(settings, "partner")) == {"1", "2"}, "the entities read before stay synced"


def test_a_subquery_failing_on_one_row_of_a_streamed_mariadb_read_is_one_line(
    tmp_path: Path, mariadb_url_factory: Callable[[], str], overlay_url: str
) -> None:
    erp = MiniErp(mariadb_url_factory())
    many = 'filter: "statut > (SELECT 0 FROM soc WHERE fac.rowid = 3 UNION ALL SELECT 0 FROM soc WHERE fac.rowid = 3)"'
    settings = settings_with_filter(tmp_path, erp, overlay_url, many)
    with pytest.raises(SourceError, match="^invoice: the ERP database failed while reading rows: .*Subquery returns more than 1 row"):
        run_sync(settings, mode="full")


def test_the_same_filter_fixed_syncs(tmp_path: Path, pg_url_factory: Callable[[], str], overlay_url: str) -> None:
    erp = MiniErp(pg_url_factory())
    settings = settings_with_filter(tmp_path, erp, overlay_url, 'filter: "100 / NULLIF(statut, 0) > 0"')
    run_sync(settings, mode="full")
    assert set(overlay_rows(settings, "invoice")) == {"1", "2"}
