"""The Overlay object: the one way services reach the overlay database.

It refuses a schema the code does not know and a database kind the overlay cannot be,
names an unreachable overlay in one line without its password, commits a unit of work
whole or not at all, and its locks keep a second holder out and can be looked at without
taking them. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from erp_crm.errors import UserError
from erp_crm.model import migrate
from erp_crm.model.tables.profile import partner_profile
from erp_crm.model.tables.synced import SYNCED
from erp_crm.store.overlay import Overlay


def _url(text: str) -> sa.URL:
    return sa.engine.make_url(text)


def test_a_new_overlay_is_refused_until_it_is_upgraded(overlay_url: str) -> None:
    with pytest.raises(UserError, match=r"the overlay has no erp-crm tables yet and this erp-crm needs version .*: run `erp-crm db upgrade`"):
        Overlay.open(_url(overlay_url))
    with Overlay.open(_url(overlay_url), at_head=False) as overlay:
        assert overlay.upgrade() == migrate.head()
    with Overlay.open(_url(overlay_url)) as overlay:
        assert overlay.schema_version() == migrate.head()


def test_an_older_schema_is_refused(overlay_url: str) -> None:
    with Overlay.open(_url(overlay_url), at_head=False) as overlay, overlay.begin() as conn:
        migrate.upgrade(conn, "0004")
    with pytest.raises(UserError, match=r"the overlay is at version 0004 and this erp-crm needs version"):
        Overlay.open(_url(overlay_url))


def test_only_sqlite_and_postgresql_can_be_the_overlay(mariadb_url: str) -> None:
    with pytest.raises(UserError, match=r"^overlay.url: the overlay must be SQLite or PostgreSQL, not mysql$"):
        Overlay.open(_url(mariadb_url))


def test_an_unreachable_overlay_is_one_line_without_the_password() -> None:
    url = _url("postgresql+psycopg://crm:s3cret-pw@127.0.0.1:1/crm")
    with pytest.raises(UserError) as caught:
        Overlay.open(url)
    message = str(caught.value)
    assert message.startswith("cannot open the overlay database postgresql+psycopg://crm:***@127.0.0.1:1/crm (overlay.url): ")
    assert "s3cret" not in message and "\n" not in message


def test_a_unit_of_work_commits_whole_or_not_at_all(overlay_url: str) -> None:
    with Overlay.open(_url(overlay_url), at_head=False) as overlay:
        overlay.upgrade()
        partner = SYNCED["partner"]
        values = {"source": "t", "erp_key": "1", "name": "Alfa Kft.", "row_hash": "x", "synced_at": sa.func.now()}
        with pytest.raises(ZeroDivisionError), overlay.begin() as conn:
            conn.execute(sa.insert(partner).values(values))
            raise ZeroDivisionError  # a bug half-way: nothing of the unit stays
        with overlay.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(partner)).scalar_one() == 0
        with overlay.begin() as conn:
            partner_id = conn.execute(sa.insert(partner).values(values).returning(partner.c.id)).scalar_one()
            conn.execute(sa.insert(partner_profile).values(partner_id=partner_id, industry="IT", updated_at=sa.func.now()))
        with overlay.connect() as conn:
            assert conn.execute(sa.select(partner_profile.c.industry)).scalars().all() == ["IT"]


def test_a_lock_keeps_a_second_holder_out_until_released(overlay_url: str) -> None:
    with Overlay.open(_url(overlay_url), at_head=False) as first, Overlay.open(_url(overlay_url), at_head=False) as second:
        with first.lock("metrics", "another metrics run is working on this overlay"):
            with pytest.raises(UserError, match="^busy"), second.lock("metrics", "busy"):
                pass
            with second.lock("sync.erp", "another sync"):  # other names are other locks
                pass
        with second.lock("metrics", "another metrics run is working on this overlay"):
            pass


def test_is_locked_sees_a_named_holder_without_taking_its_lock(overlay_url: str) -> None:
    with Overlay.open(_url(overlay_url), at_head=False) as first, Overlay.open(_url(overlay_url), at_head=False) as second:
        assert not second.is_locked("sync.erp")
        with first.lock("sync.erp", "another sync"):
            assert second.is_locked("sync.erp") and not second.is_locked("sync.other")
            with pytest.raises(UserError, match="^another sync"), second.lock("sync.erp", "another sync"):
                pass
        assert not second.is_locked("sync.erp")
        with first.lock_whole("upgrading"):  # an upgrade in progress does not make a dead run look alive
            assert not second.is_locked("sync.erp")
        with first.lock("sync.erp", "another sync"), second.lock("metrics", "metrics"):  # probing left no lock behind
            assert second.is_locked("metrics") and first.is_locked("sync.erp")


def test_a_lock_on_one_postgresql_overlay_is_not_seen_on_another_of_the_same_server(pg_url_factory: Callable[[], str]) -> None:
    """Advisory locks belong to a database; pg_locks lists every database's, so a probe must look at its own only."""
    first, second = Overlay(sa.create_engine(pg_url_factory())), Overlay(sa.create_engine(pg_url_factory()))
    try:
        with first.lock("sync.erp", "busy"):
            assert first.is_locked("sync.erp") and not second.is_locked("sync.erp")
            with second.lock("sync.erp", "busy"):  # and each database's lock is its own
                assert second.is_locked("sync.erp")
    finally:
        first.close()
        second.close()
