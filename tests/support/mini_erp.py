"""A small Dolibarr-like ERP, written row by row, on any of the test servers.

Engine tests use it to say exactly which ERP row changed and what the overlay must
then hold.  The tables are created through SQLAlchemy so that each server gets its
own native types (timestamps in PostgreSQL, DATETIME in MariaDB, text in SQLite, as
real ERPs on those servers have them); rows are plain SQL literals that all accept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from erp_crm.model.tables.sync import quarantine
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.root import Settings, load_settings
from tests.support.homes import make_home
from tests.support.services import overlay_engine, upgrade

CONNECTOR = """\
name: mini
lookback: 10m
batch_size: 2
entities:
  partner:
    table: soc
    key: rowid
    change: tms
    fields:
      name: nom
  product:
    table: prod
    key: ref
    fields:
      name: label
      kind: {column: typ, map: {0: goods, 1: service}, default: goods}
  invoice:
    table: fac
    key: rowid
    change: tms
    filter: "statut > 0"
    fields:
      partner: fk_soc
      date: datef
      number: ref
      kind: {column: type, map: {0: invoice, 2: credit_note}}
      amount_net: total_ht
  invoice_line:
    table: facdet
    key: rowid
    fields:
      invoice: fk_facture
      product: fk_product
      amount_net: total_ht
      description: descr
"""

metadata = sa.MetaData()
sa.Table("soc", metadata, sa.Column("rowid", sa.Integer, primary_key=True, autoincrement=False), sa.Column("nom", sa.String(100)), sa.Column("tms", sa.DateTime))
sa.Table("prod", metadata, sa.Column("ref", sa.String(20)), sa.Column("label", sa.String(100)), sa.Column("typ", sa.Integer))
sa.Table(
    "fac",
    metadata,
    sa.Column("rowid", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("fk_soc", sa.Integer),
    sa.Column("datef", sa.Date),
    sa.Column("ref", sa.String(30)),
    sa.Column("type", sa.Integer),
    sa.Column("total_ht", sa.Numeric(12, 2)),
    sa.Column("statut", sa.Integer),
    sa.Column("tms", sa.DateTime),
)
sa.Table(
    "facdet",
    metadata,
    sa.Column("rowid", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("fk_facture", sa.Integer, index=True),
    sa.Column("fk_product", sa.String(20)),
    sa.Column("total_ht", sa.Numeric(12, 2)),
    sa.Column("descr", sa.String(200)),
)

ROWS = [
    "insert into soc values (1, 'Alfa Kft.', '2024-01-01 10:00:00'), (2, 'Kovács Anna', '2024-01-01 10:00:00')",
    "insert into prod values ('P1', 'Csavar', 0), ('S1', 'Szerviz', 1)",
    "insert into fac values (1, 1, '2024-02-01', 'F1', 0, 1000, 1, '2024-02-01 10:00:00'),"
    " (2, 2, '2024-02-02', 'F2', 2, -500, 1, '2024-02-02 10:00:00'),"
    " (3, 1, '2024-02-03', 'F3', 0, 70, 0, '2024-02-03 10:00:00')",
    "insert into facdet values (1, 1, 'P1', 600, 'a'), (2, 1, 'S1', 400, 'b'), (3, 2, 'P1', -500, 'c'), (4, 3, 'P1', 70, 'draft')",
]


class MiniErp:
    """The ERP database; `run` changes it the way an ERP would."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url, poolclass=NullPool)
        metadata.create_all(self.engine)
        for statement in ROWS:
            self.run(statement)

    def run(self, sql: str) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(sql)


def mini_settings(tmp_path: Path, overlay_url: str | None = None, **erp: Any) -> Settings:
    """A home reading the mini ERP (erp_url=... or odbc=..., dialect=...), overlay migrated."""
    return settings_with_connector(tmp_path, "mini", CONNECTOR, overlay_url, **erp)


def settings_with_connector(tmp_path: Path, name: str, text: str, overlay_url: str | None = None, **home_options: Any) -> Settings:
    """A home reading the connector definition `text` (as connectors/<name>.yaml), overlay migrated; `home_options` go to `make_home`."""
    home = make_home(tmp_path, connector=name, overlay_url=overlay_url, **home_options)
    (home / "connectors").mkdir()
    (home / "connectors" / f"{name}.yaml").write_text(text, encoding="utf-8")
    settings = load_settings(home, environ={})
    engine = overlay_engine(settings.overlay.full_url())
    upgrade(engine)
    engine.dispose()
    return settings


def overlay_rows(settings: Settings, entity: str, *columns: str) -> dict[str, tuple[Any, ...]]:
    """Live rows of an entity by ERP key."""
    engine = overlay_engine(settings.overlay.full_url())
    t = SYNCED[entity]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.erp_key, *(t.c[c] for c in columns)).where(t.c.erp_deleted_at.is_(None))).all()
    engine.dispose()
    return {r[0]: tuple(r[1:]) for r in rows}


def quarantined(settings: Settings) -> dict[tuple[str, str | None], str]:
    """Quarantine entries: (entity, ERP key) → reason."""
    engine = overlay_engine(settings.overlay.full_url())
    with engine.connect() as conn:
        rows = conn.execute(sa.select(quarantine.c.entity, quarantine.c.erp_key, quarantine.c.reason)).all()
    engine.dispose()
    return {(e, k): r for e, k, r in rows}
