"""The migrations build exactly the schema that erp_crm/model/tables/ describes.

A table, column or index added to the tables without a migration would exist in tests
that create tables from the metadata and be missing in every real overlay; this compares
a migrated database with the metadata, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from erp_crm.i18n import lapse_reasons
from erp_crm.model import migrate
from erp_crm.model.tables import metadata
from erp_crm.model.tables.metrics import partner_metrics
from erp_crm.model.tables.synced import SYNCED
from tests.support.services import overlay_engine, upgrade


def test_a_migrated_overlay_has_the_tables_the_code_describes(overlay_url: str) -> None:
    engine = overlay_engine(sa.engine.make_url(overlay_url))
    upgrade(engine)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == []


def test_every_migration_downgrades_and_upgrades_again(overlay_url: str) -> None:
    engine = overlay_engine(sa.engine.make_url(overlay_url))
    upgrade(engine)
    with engine.begin() as connection:
        migrate.downgrade(connection, "base")
    upgrade(engine)
    with engine.connect() as connection:
        assert migrate.current(connection) == migrate.head()
    engine.dispose()


def test_erp_keys_compare_bytes_on_postgresql(pg_url_factory: Callable[[], str]) -> None:
    """The same equality as the database's language rules, a cheaper unique key: 'a' sorts after 'B', and 'é' after 'z'."""
    engine = overlay_engine(sa.engine.make_url(pg_url_factory()))
    upgrade(engine)
    with engine.begin() as conn:
        collations = conn.execute(
            sa.text("SELECT DISTINCT collation_name FROM information_schema.columns WHERE column_name = 'erp_key' AND table_name = ANY(:tables)"),
            {"tables": [t.name for t in SYNCED.values()]},
        ).scalars()
        assert set(collations) == {"C"}
        t = SYNCED["product"]
        conn.execute(sa.insert(t), [{"source": "erp", "erp_key": k, "row_hash": "", "synced_at": dt.datetime(2026, 1, 1)} for k in ("é", "a", "B", "z")])
        assert conn.execute(sa.select(t.c.erp_key).order_by(t.c.erp_key)).scalars().all() == ["B", "a", "z", "é"]
        assert conn.execute(sa.select(t.c.erp_key).where(t.c.erp_key == "é")).scalars().all() == ["é"]
    with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.insert(t).values(source="erp", erp_key="a", row_hash="", synced_at=dt.datetime(2026, 1, 1)))
    engine.dispose()


def _fill_required(table: sa.Table, **values: object) -> dict[str, object]:
    """`values`, plus a zero, a day or a stamp for every other NOT NULL column of `table` as it stands."""
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.autoincrement is True:
            continue
        python = column.type.python_type
        row[column.name] = {str: "x", int: 0, float: 0.0, bool: False}.get(python) if python not in (dt.date, dt.datetime) else python(2024, 1, 1)
    return row


def test_lapse_reasons_written_as_sentences_become_codes(overlay_url: str) -> None:
    """0005 rebuilds each reason from the figures beside it, taking which parts it had from the English text."""
    engine = overlay_engine(sa.engine.make_url(overlay_url))
    with engine.begin() as conn:
        migrate.upgrade(conn, "0004")
    old = sa.MetaData()
    partner = sa.Table("crm_partner", old, autoload_with=engine)
    metrics = sa.Table("crm_partner_metrics", old, autoload_with=engine)
    rows = {
        1: ("no purchase for 412 days; usually orders every 35 days (11.8× the usual gap); P(active) 12%", 412, 35.0, 11.77, 0.12),
        2: ("no purchase for 1,500 days; P(active) 5%", 1500, None, None, 0.05),
        3: ("", 20, 10.0, 2.0, 0.9),  # not lapsed
    }
    with engine.begin() as conn:
        for pid, (text, days, gap, ratio, p) in rows.items():
            conn.execute(sa.insert(partner).values(_fill_required(partner, id=pid, source="t", erp_key=str(pid), name=f"P{pid}")))
            figures = dict(recency_days=days, typical_gap_days=gap, overdue_ratio=ratio, p_alive=p, lapse_reason_en=text, lapse_reason_hu=text)
            conn.execute(sa.insert(metrics).values(_fill_required(metrics, partner_id=pid, as_of=dt.date(2024, 6, 30), **figures)))
    upgrade(engine)
    with engine.connect() as conn:
        found = dict(conn.execute(sa.select(partner_metrics.c.partner_id, partner_metrics.c.lapse_reason)).all())
    engine.dispose()
    assert found[1] == {"silent": {"days": 412}, "off_rhythm": {"usual_gap_days": 35.0, "ratio": 11.77}, "p_active": {"p": 0.12}}
    assert found[2] == {"silent": {"days": 1500}, "off_rhythm": None, "p_active": {"p": 0.05}}
    assert found[3] is None
    assert lapse_reasons.render(found[1], "hu") == "nem vásárolt 412 napja; általában 35 naponta rendel (11,8× a szokásos); P(aktív) 12%"
    assert lapse_reasons.render(found[2], "en") == "no purchase for 1,500 days; P(active) 5%"
