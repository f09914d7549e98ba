"""``build_demo_erp``: the demo ERP, a Dolibarr database filled with the simulated history.

The history comes from :mod:`erp_crm.demo.simulation`, which knows no ERP; the rows from
:mod:`erp_crm.demo.dolibarr_writer`, which knows Dolibarr.  This module only opens the
target and puts the two together in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

from erp_crm.demo.dolibarr_writer import DolibarrWriter
from erp_crm.demo.simulation import simulate


def _open(target: Any) -> tuple[Connection, Callable[[], None], bool]:
    """A connection for `target` (URL, path, Engine or Connection), a closer, and whether to commit."""
    if isinstance(target, Connection):
        return target, lambda: None, not target.in_transaction()
    if isinstance(target, Engine):
        conn = target.connect()
        return conn, conn.close, True
    if isinstance(target, Path) or (isinstance(target, str) and "://" not in target):
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(f"sqlite:///{path}")
    else:
        engine = create_engine(str(target))
    conn = engine.connect()

    def close() -> None:
        conn.close()
        engine.dispose()

    return conn, close, True


def build_demo_erp(
    url_or_connection: Any,
    *,
    customers: int = 400,
    years: int = 3,
    seed: int = 42,
    today: date | None = None,
) -> dict[str, int]:
    """Create the Dolibarr tables at `url_or_connection` and fill them; return rows per table.

    `url_or_connection` is a SQLAlchemy URL, a path to an SQLite file, an Engine or a
    Connection (whose open transaction is left for the caller to commit).  Existing
    demo tables are dropped first.  The result is the same for the same `customers`,
    `years`, `seed` and `today`; `today` defaults to the current date.  The history
    covers `years` up to the end of the day before `today`; only deadlines (a
    proposal's validity, an invoice's due date) may lie later.
    """
    today = today or date.today()
    conn, close, commit = _open(url_or_connection)
    try:
        writer = DolibarrWriter(conn)
        # The history closes at the end of yesterday: no timestamp can be later than the
        # moment the demo is built, so an incremental sync after a change today sees it.
        counts = simulate(writer, customers=customers, years=years, seed=seed, today=today - timedelta(days=1))
        if commit:
            conn.commit()
        return counts
    except BaseException:
        if commit:
            conn.rollback()
        raise
    finally:
        close()
