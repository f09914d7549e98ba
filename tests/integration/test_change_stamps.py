"""Change stamps that must not become the cursor: PostgreSQL's 'infinity', which no
Python date holds, stamps in the future and text that is no date (it sorts after every
date), after which every row changed on the real day would fall behind the cursor until
a full run. Either kind of row is read on every
run (it is always at or after the cursor); the rest sync as usual, changes included.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from erp_crm.settings.root import Settings
from erp_crm.sync import state
from tests.support.mini_erp import overlay_rows, quarantined, settings_with_connector
from tests.support.services import run_sync

CONNECTOR = """\
name: stamps
entities:
  partner:
    table: soc
    key: rowid
    change: tms
    fields: {name: nom}
"""
NOW = datetime(2026, 12, 2, 8, 0)


def _erp(url: str, stamps: dict[int, str]) -> sa.Engine:
    """A partner table whose rows carry `stamps` (SQL text), written by the dialect's own date type."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE soc (rowid int PRIMARY KEY, nom text, tms timestamp)")
        for key, stamp in stamps.items():
            conn.exec_driver_sql(f"INSERT INTO soc VALUES ({key}, 'p{key}', {stamp})")
    return engine


def _changes_after_a_sync_arrive(engine: sa.Engine, settings: Settings, now_sql: str) -> None:
    run_sync(settings)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE soc SET nom = 'changed', tms = {now_sql} WHERE rowid = 1")
    run_sync(settings)
    assert overlay_rows(settings, "partner", "name")["1"] == ("changed",)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE soc SET nom = 'changed again', tms = {now_sql} WHERE rowid = 1")
    run_sync(settings)
    assert overlay_rows(settings, "partner", "name")["1"] == ("changed again",)
    assert quarantined(settings) == {}


def test_an_infinite_change_stamp_neither_stops_the_sync_nor_becomes_the_cursor(pg_url: str, tmp_path: Path) -> None:
    engine = _erp(pg_url, {1: "now() - interval '2 days'", 2: "'infinity'", 3: "'-infinity'", 4: "NULL"})
    settings = settings_with_connector(tmp_path, "stamps", CONNECTOR, erp_url=pg_url)
    _changes_after_a_sync_arrive(engine, settings, "now()")
    assert set(overlay_rows(settings, "partner", "name")) == {"1", "2", "3", "4"}
    engine.dispose()


@pytest.mark.parametrize("erp", ["sqlite", "postgresql"])
def test_a_change_stamp_in_the_future_does_not_hold_back_later_changes(erp: str, pg_url: str, tmp_path: Path) -> None:
    url = pg_url if erp == "postgresql" else f"sqlite:///{tmp_path / 'erp.sqlite'}"
    now_sql = "now()" if erp == "postgresql" else "datetime('now', 'localtime')"
    past = "now() - interval '2 days'" if erp == "postgresql" else "datetime('now', 'localtime', '-2 days')"
    engine = _erp(url, {1: past, 2: "'2099-12-31 00:00:00'"})
    settings = settings_with_connector(tmp_path, "stamps", CONNECTOR, erp_url=url)
    _changes_after_a_sync_arrive(engine, settings, now_sql)
    engine.dispose()


def test_text_that_is_no_date_in_a_text_change_column_does_not_become_the_cursor(tmp_path: Path) -> None:
    """SQLite keeps dates as text; 'N/A' sorts after every one of them."""
    url = f"sqlite:///{tmp_path / 'erp.sqlite'}"
    engine = _erp(url, {1: "datetime('now', 'localtime', '-2 days')", 2: "'N/A'"})
    settings = settings_with_connector(tmp_path, "stamps", CONNECTOR, erp_url=url)
    _changes_after_a_sync_arrive(engine, settings, "datetime('now', 'localtime')")
    engine.dispose()


@pytest.mark.parametrize("value, unordered", [("N/A", True), ("", True), ("2024-01-01 10:00:00", False), ("2024-01-01", False), ("000123", False), (5, False), (None, False)])
def test_only_text_that_is_neither_a_date_nor_digits_is_unordered(value: object, unordered: bool) -> None:
    assert state.unordered_text(value) is unordered


@pytest.mark.parametrize(
    "value, limit",
    [
        (datetime(2099, 1, 1), NOW + state.FUTURE_MARGIN),
        (NOW + timedelta(hours=20), None),  # clocks and time zones: within the margin
        (NOW.date() + timedelta(days=30), (NOW + state.FUTURE_MARGIN).date()),
        (NOW.date(), None),
        ("2099-01-01 00:00:00", "2026-12-03 08:00:00"),
        ("2099-01-01T00:00:00", "2026-12-03T08:00:00"),
        ("2099-01-01", "2026-12-03"),
        ("2026-11-30 10:00:00", None),
        ("not a date", None),
        (123456789, None),  # a row version has no future
        (None, None),
    ],
)
def test_the_cursor_limit_keeps_the_change_columns_shape(value: object, limit: object) -> None:
    assert state.future_limit(value, NOW) == limit
