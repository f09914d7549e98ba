"""A small ERP that keeps its sales as orders and invoices nowhere (or has an empty invoice table).

Many small ERPs and webshops confirm, deliver and close orders and leave invoicing to a
separate program; their connector maps orders and order lines, and no invoice entity
(`CONNECTOR`), or maps an invoice table that stays empty (`WITH_INVOICES`). The metrics
then count purchases from orders (`metrics.purchases_from: orders`). Tables are created
through SQLAlchemy in a SQLite file; `OrdersErp.run` changes them the way the ERP would
(a changed line stamps its order, since lines have no change column).

    soc(rowid, nom, tms)                                         partners
    prod(ref, label, typ)                                        products (typ 1 = service)
    cmd(rowid, fk_soc, datec, ref, statut, total_ht, tms)        orders (-1 cancelled, 0 draft, 1 confirmed, 2 delivered, 3 closed)
    cmddet(rowid, fk_commande, fk_product, total_ht)             order lines
    fac, facdet                                                  invoices and their lines, as tests/support/mini_erp.py has them: empty
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.pool import NullPool

from erp_crm.settings.root import Settings
from tests.support import mini_erp
from tests.support.mini_erp import settings_with_connector

ORDER_ENTITIES: dict[str, Any] = {
    "order": {
        "table": "cmd",
        "key": "rowid",
        "change": "tms",
        "fields": {
            "partner": "fk_soc",
            "date": "datec",
            "number": "ref",
            "status": {"column": "statut", "map": {-1: "cancelled", 0: "draft", 1: "confirmed", 2: "delivered", 3: "closed"}},
            "amount_net": "total_ht",
        },
    },
    "order_line": {"table": "cmddet", "key": "rowid", "fields": {"order": "fk_commande", "product": "fk_product", "amount_net": "total_ht"}},
}


def _connector(*mini_entities: str) -> str:
    """The mini ERP's definition of `mini_entities` (invoices with their status mapped), and the orders."""
    mini = yaml.safe_load(mini_erp.CONNECTOR)
    mini["entities"]["invoice"]["fields"]["status"] = {"column": "statut", "map": {1: "posted", 2: "paid"}}
    entities = {name: mini["entities"][name] for name in mini_entities}
    return yaml.safe_dump({"name": "orders", "lookback": "10m", "batch_size": 3, "entities": {**entities, **ORDER_ENTITIES}}, sort_keys=False)


CONNECTOR = _connector("partner", "product")
WITH_INVOICES = _connector("partner", "product", "invoice", "invoice_line")

metadata = sa.MetaData()
for name in ("soc", "prod", "fac", "facdet"):  # partners, products and invoices as the mini ERP has them
    mini_erp.metadata.tables[name].to_metadata(metadata)


def _table(name: str, *columns: tuple[str, sa.types.TypeEngine[Any]]) -> sa.Table:
    """An ERP table keyed by `rowid`, its other columns as (name, type)."""
    return sa.Table(name, metadata, sa.Column("rowid", sa.Integer, primary_key=True, autoincrement=False), *(sa.Column(n, t) for n, t in columns))


_table("cmd", ("fk_soc", sa.Integer()), ("datec", sa.Date()), ("ref", sa.String(30)), ("statut", sa.Integer()), ("total_ht", sa.Numeric(14, 2)), ("tms", sa.DateTime()))
_table("cmddet", ("fk_commande", sa.Integer()), ("fk_product", sa.String(40)), ("total_ht", sa.Numeric(14, 2)))

SYNCED = "2024-01-01 10:00:00"
# Alfa: two confirmed orders on 10 Jan (one purchase day of 1500), a delivered one on
# 10 Mar with a service line, a closed one on 10 May; a cancelled and a draft order.
# Béta: one delivered order. Gamma: a cancelled order only (no purchase). Delta: an order
# dated after the run's date. Epszilon: nothing at all.
ROWS = [
    f"insert into soc values (1, 'Alfa Kft.', '{SYNCED}'), (2, 'Béta Bt.', '{SYNCED}'), (3, 'Gamma Zrt.', '{SYNCED}'),"
    f" (4, 'Delta Kft.', '{SYNCED}'), (5, 'Epszilon Kft.', '{SYNCED}')",
    "insert into prod values ('P1', 'Csavar', 0), ('S1', 'Szerviz', 1)",
    f"insert into cmd values (1, 1, '2024-01-10', 'C1', 1, 1000, '{SYNCED}'), (2, 1, '2024-01-10', 'C2', 1, 500, '{SYNCED}'),"
    f" (3, 1, '2024-03-10', 'C3', 2, 2000, '{SYNCED}'), (4, 1, '2024-05-10', 'C4', 3, 700, '{SYNCED}'),"
    f" (5, 1, '2024-04-01', 'C5', -1, 9999, '{SYNCED}'), (6, 1, '2024-04-02', 'C6', 0, 8888, '{SYNCED}'),"
    f" (7, 2, '2024-06-01', 'C7', 2, 400, '{SYNCED}'), (8, 3, '2024-02-15', 'C8', -1, 600, '{SYNCED}'),"
    f" (9, 4, '2024-07-15', 'C9', 1, 300, '{SYNCED}')",
    "insert into cmddet values (1, 1, 'P1', 1000), (2, 2, 'P1', 500), (3, 3, 'P1', 1200), (4, 3, 'S1', 800),"
    " (5, 4, 'P1', 700), (6, 5, 'S1', 9999), (7, 7, 'P1', 400), (8, 8, 'S1', 600), (9, 9, 'S1', 300)",
]


class OrdersErp:
    """The ERP database, a SQLite file; `run` changes it the way the ERP would."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self.engine = sa.create_engine(self.url, poolclass=NullPool)
        metadata.create_all(self.engine)
        for statement in ROWS:
            self.run(statement)

    def run(self, *statements: str) -> None:
        """The statements in one transaction."""
        with self.engine.begin() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)


def orders_settings(tmp_path: Path, erp: OrdersErp, overlay_url: str | None = None, connector: str = CONNECTOR, **metrics: Any) -> Settings:
    """A home reading `erp` with `connector` and the `metrics` settings given, its overlay migrated."""
    return settings_with_connector(tmp_path, "orders", connector, overlay_url, erp_url=erp.url, extra={"metrics": metrics} if metrics else None)
