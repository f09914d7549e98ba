"""The partner-day table (`crm_partner_day`): the purchase documents that count, summed per partner and day.

A customer's whole purchase history is needed for its figures (the median gap between
purchases, the services among its lines), but reading it again from the documents and
their lines for every new invoice would cost an incremental run as much per customer as
a full run. The day table holds that history in a few rows per customer, side by side in
the file (the primary key is partner, day). It holds the days of one kind of document,
invoices or orders (`metrics.purchases_from`): a run with another setting than the last
one's is a full run, which writes it whole from the documents. An incremental run
recounts only the (partner, day) cells that the change feed names (the sync records the
date of every document it changes, before and after) and reads the touched customers'
day rows. It holds every day, whatever a run's date: a run takes the days up to its
`as_of`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.metrics.invoice_days import EPOCH, FIELDS, DocumentDays, day_number_sql, day_rows_query, matrix, read_days
from erp_crm.metrics.purchases import Documents
from erp_crm.model.tables.metrics import partner_day
from erp_crm.store.driver import insert_sql
from erp_crm.store.idset import day_set, id_set

ROWS_PER_STATEMENT = 10_000


def replace_all(conn: Connection, days: DocumentDays) -> None:
    """The whole table from `days` (a full run's reading of every purchase document)."""
    conn.execute(sa.delete(partner_day))
    _insert(conn, days)


def replace_all_in_database(conn: Connection, documents: Documents) -> None:
    """The whole table from the purchase `documents` by one INSERT … SELECT: the database sums, no row passes through Python."""
    conn.execute(sa.delete(partner_day))
    conn.execute(sa.insert(partner_day).from_select([c.name for c in partner_day.columns], day_rows_query(documents, conn.dialect.name)))


def recount(conn: Connection, documents: Documents, cells: Iterable[tuple[int, dt.date]], whole: Collection[int]) -> None:
    """Count again from the purchase `documents` the `cells` (partner, day) and every day of the `whole` partners."""
    t = partner_day
    if whole:
        with id_set(conn, whole, "erp_crm_day_partners") as ids:
            conn.execute(sa.delete(t).where(t.c.partner_id.in_(ids)))
            _insert(conn, read_days(conn, documents, partners=ids))
    with day_set(conn, (c for c in cells if c[0] not in whole)) as chosen:
        conn.execute(sa.delete(t).where(sa.tuple_(t.c.partner_id, t.c.day).in_(sa.select(chosen.c.partner_id, chosen.c.day))))
        _insert(conn, read_days(conn, documents, cells=chosen))


def read(conn: Connection, partners: sa.Select[tuple[int]] | None) -> DocumentDays:
    """The day rows of the partners `partners` selects (None: everyone's), sorted by partner and day."""
    t = partner_day
    query = sa.select(t.c.partner_id, day_number_sql(t.c.day, conn.dialect.name), *(t.c[f] for f in FIELDS)).order_by(t.c.partner_id, t.c.day)
    if partners is not None:
        query = query.where(t.c.partner_id.in_(partners))
    data = matrix(conn, query, 2 + len(FIELDS))
    return DocumentDays.of(data[:, 0], data[:, 1], data[:, 2:])


def _insert(conn: Connection, days: DocumentDays) -> None:
    sql, columns = insert_sql(conn, partner_day)
    values = {
        "partner_id": days.partner_id.tolist(),
        "day": (np.datetime64(EPOCH, "D") + days.day.astype("timedelta64[D]")).astype(object).tolist(),
        "invoices": days.invoices.astype(np.int64).tolist(),
        "credit_notes": days.credit_notes.astype(np.int64).tolist(),
        **{f: getattr(days, f).tolist() for f in FIELDS[2:]},
    }
    rows = list(zip(*(values[c] for c in columns)))
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        conn.exec_driver_sql(sql, rows[start : start + ROWS_PER_STATEMENT])
