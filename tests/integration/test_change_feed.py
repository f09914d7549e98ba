"""The partner change feed: the sync says whose data changed, including what row stamps cannot show.

Each test changes the mini ERP (tests/support/mini_erp.py) in one way, syncs, and checks
which (partner, entity) pairs the run added to `crm_partner_change`. Runs with a SQLite and
a PostgreSQL overlay.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erp_crm.model.tables.feed import partner_change
from erp_crm.settings.root import Settings
from erp_crm.store import change_feed
from tests.support.mini_erp import MiniErp, mini_settings, overlay_rows
from tests.support.services import overlay_engine, run_sync


@pytest.fixture
def setup(tmp_path: Path, overlay_url: str) -> tuple[MiniErp, Settings]:
    erp = MiniErp(f"sqlite:///{tmp_path / 'erp.sqlite'}")
    settings = mini_settings(tmp_path, overlay_url, erp_url=erp.url)
    run_sync(settings, mode="full")
    return erp, settings


def feed_after(settings: Settings, after_id: int, *, days: bool = False) -> set[tuple[Any, ...]]:
    """(partner ERP key or None for everyone, entity[, day]) of the feed rows after `after_id`."""
    keys = {v[0]: k for k, v in overlay_rows(settings, "partner", "id").items()}
    engine = overlay_engine(settings.overlay.full_url())
    c = partner_change.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(c.partner_id, c.entity, c.day).where(c.id > after_id)).all()
    engine.dispose()
    return {(None if pid is None else keys[pid], entity, *((day,) if days else ())) for pid, entity, day in rows}


def last_id(settings: Settings) -> int:
    engine = overlay_engine(settings.overlay.full_url())
    with engine.connect() as conn:
        found = conn.execute(sa.select(sa.func.max(partner_change.c.id))).scalar()
    engine.dispose()
    return found or 0


def test_a_first_load_says_everyone_once_per_entity_and_no_rows(tmp_path: Path) -> None:
    erp = MiniErp(f"sqlite:///{tmp_path / 'erp.sqlite'}")
    settings = mini_settings(tmp_path, erp_url=erp.url)
    run_sync(settings, mode="full")
    assert feed_after(settings, 0) == {(None, "partner"), (None, "product"), (None, "invoice"), (None, "invoice_line")}


def test_nothing_changed_adds_nothing(setup: tuple[MiniErp, Settings]) -> None:
    _, settings = setup
    before = last_id(settings)
    run_sync(settings)
    run_sync(settings, mode="full")
    assert feed_after(settings, before) == set()


def test_changed_partners_documents_and_lines_name_their_partner(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    before = last_id(settings)
    erp.run("update soc set nom = 'Alfa Zrt.', tms = '2024-03-01 10:00:00' where rowid = 1")
    erp.run("insert into fac values (4, 2, '2024-03-02', 'F4', 0, 99, 1, '2024-03-02 10:00:00')")
    erp.run("insert into facdet values (5, 4, 'S1', 99, 'new')")
    run_sync(settings)
    assert feed_after(settings, before) == {("1", "partner"), ("2", "invoice"), ("2", "invoice_line")}


def test_a_document_moved_to_another_partner_names_both(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    before = last_id(settings)
    erp.run("update fac set fk_soc = 2, tms = '2024-04-01 10:00:00' where rowid = 1")
    run_sync(settings)
    assert feed_after(settings, before) == {("1", "invoice"), ("2", "invoice")}


def test_documents_and_lines_name_the_days_they_change(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    before = last_id(settings)
    erp.run("update fac set datef = '2024-02-20', tms = '2024-04-01 10:00:00' where rowid = 1")  # redated
    erp.run("update facdet set total_ht = 300 where rowid = 3")  # a line of invoice 2, whose stamp moves
    erp.run("update fac set tms = '2024-04-01 10:00:00' where rowid = 2")
    run_sync(settings)
    day = dt.date
    assert feed_after(settings, before, days=True) == {
        ("1", "invoice", day(2024, 2, 1)), ("1", "invoice", day(2024, 2, 20)),  # the day it left and the day it joined
        ("2", "invoice_line", day(2024, 2, 2)),
    }


def test_deleted_lines_and_documents_name_their_partner(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    before = last_id(settings)
    erp.run("delete from facdet where rowid = 2")
    erp.run("update fac set tms = '2024-04-01 10:00:00' where rowid = 1")  # the ERP stamps the invoice, totals unchanged
    run_sync(settings)
    assert feed_after(settings, before) == {("1", "invoice_line")}

    before = last_id(settings)
    erp.run("delete from facdet where fk_facture = 2")
    erp.run("delete from fac where rowid = 2")
    run_sync(settings, mode="reconcile")
    assert feed_after(settings, before) == {("2", "invoice"), ("2", "invoice_line")}


def test_a_changed_product_may_change_anyone(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    before = last_id(settings)
    erp.run("update prod set typ = 1 where ref = 'P1'")
    run_sync(settings, mode="full")  # products have no change column here: a whole pass finds it
    assert feed_after(settings, before) == {(None, "product")}


def test_changed_since_answers_ids_or_everyone(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    engine = overlay_engine(settings.overlay.full_url())
    start = dt.datetime.now().replace(microsecond=0)
    with engine.connect() as conn:
        assert change_feed.changed_since(conn, start - dt.timedelta(hours=1)) is None, "the first load said everyone"
        assert change_feed.changed_since(conn, start + dt.timedelta(seconds=1)) == set()
        assert change_feed.changed_since(conn, start - dt.timedelta(days=change_feed.KEPT_DAYS + 1)) is None, "older rows may be pruned"
    erp.run("update soc set nom = 'Alfa Zrt.', tms = '2024-03-01 10:00:00' where rowid = 1")
    run_sync(settings)
    partner_id = overlay_rows(settings, "partner", "id")["1"][0]
    with engine.begin() as conn:
        conn.execute(sa.update(partner_change).where(partner_change.c.partner_id.is_(None)).values(changed_at=start - dt.timedelta(days=1)))
        assert change_feed.changed_since(conn, start - dt.timedelta(minutes=1)) == {partner_id}
        assert change_feed.changed_since(conn, start - dt.timedelta(minutes=1), ["invoice"]) == set()
        change_feed.prune(conn, dt.datetime.now() + dt.timedelta(days=change_feed.KEPT_DAYS - 0.5))
        assert conn.execute(sa.select(sa.func.count()).select_from(partner_change)).scalar_one() == 1, "only the recent row is kept"
    engine.dispose()
