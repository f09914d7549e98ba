"""The outbox as people read it: how many messages are in each state, and the messages themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables.outbox import SENDING_SWITCH, communication, outbox, switch

_SHOWN = (
    "id",
    "status",
    "channel",
    "recipient",
    "subject",
    "origin",
    "attempts",
    "created_at",
    "due_at",
    "finished_at",
    "answer_code",
    "answer",
    "reason",
    "settled",
    "partner_id",
)


def status_counts(conn: Connection) -> dict[str, dict[str, int]]:
    """{channel: {status: messages}}."""
    counts: dict[str, dict[str, int]] = {}
    for channel, status, n in conn.execute(sa.select(outbox.c.channel, outbox.c.status, sa.func.count()).group_by(outbox.c.channel, outbox.c.status)):
        counts.setdefault(channel, {})[status] = n
    return counts


def messages(conn: Connection, statuses: Sequence[str] = (), *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest messages (of `statuses`, when given), newest first."""
    query = sa.select(*(outbox.c[name] for name in _SHOWN)).order_by(outbox.c.id.desc()).limit(limit)
    if statuses:
        query = query.where(outbox.c.status.in_(list(statuses)))
    return [dict(row) for row in conn.execute(query).mappings()]


def sending_switch(conn: Connection) -> dict[str, Any] | None:
    """The kill switch as last flipped, or None if it never was."""
    row = conn.execute(sa.select(switch.c.paused, switch.c.reason, switch.c.changed_at).where(switch.c.name == SENDING_SWITCH)).mappings().first()
    return dict(row) if row else None


def partner_log(conn: Connection, partner_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
    """A partner's communication log, newest first, with each message's state in the outbox."""
    c = communication.c
    query = (
        sa.select(c.at, c.channel, c.direction, c.subject, c.outbox_id, outbox.c.recipient, outbox.c.origin)
        .join(outbox, outbox.c.id == c.outbox_id, isouter=True)
        .where(c.partner_id == partner_id)
        .order_by(c.at.desc(), c.id.desc())
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(query).mappings()]
