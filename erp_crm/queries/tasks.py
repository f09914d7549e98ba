"""Tasks as people read them: one person's, the overdue ones, any list, and one task's history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables.chains import task, task_event
from erp_crm.model.tables.synced import SYNCED


def tasks(
    conn: Connection, *, login: str | None = None, role: str | None = None, overdue_on: dt.date | None = None, status: str | None = "open", limit: int = 100
) -> list[dict[str, Any]]:
    """Tasks, soonest due first: of one ERP user (`login`) or role, overdue on a day, in a state (None: any)."""
    user, partner = SYNCED["user"], SYNCED["partner"]
    query = (
        sa.select(
            task.c.id,
            task.c.title,
            task.c.status,
            task.c.priority,
            task.c.due_on,
            task.c.role,
            task.c.origin,
            user.c.login.label("owner"),
            partner.c.erp_key.label("partner_key"),
            partner.c.name.label("partner"),
        )
        .outerjoin(user, user.c.id == task.c.owner_id)
        .outerjoin(partner, partner.c.id == task.c.partner_id)
        .order_by(task.c.due_on, sa.case((task.c.priority == "high", 0), (task.c.priority == "normal", 1), else_=2), task.c.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(task.c.status == status)
    if login is not None:
        query = query.where(user.c.login == login)
    if role is not None:
        query = query.where(task.c.role == role)
    if overdue_on is not None:
        query = query.where(task.c.due_on < overdue_on, task.c.status == "open")
    return [dict(row) for row in conn.execute(query).mappings()]


def task_history(conn: Connection, task_id: int) -> list[dict[str, Any]]:
    e = task_event.c
    query = sa.select(e.at, e.kind, e.by, e.before, e.after, e.reason).where(e.task_id == task_id).order_by(e.id)
    return [dict(row) for row in conn.execute(query).mappings()]
