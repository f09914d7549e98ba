"""What must hold in any overlay, however many commands wrote it at once: checks that return the problems found."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables.segments import segment, segment_event, segment_member
from erp_crm.model.tables.sync import sync_run


def membership_problems(conn: Connection) -> list[str]:
    """A partner with two current rows in a segment, or events that are not one per entry and one per exit.

    A row closed at its own start (left_at = entered_at) is a double that migration 0006
    closed; it has no events.
    """
    m, e = segment_member, segment_event
    names = dict(conn.execute(sa.select(segment.c.id, segment.c.name)).all())
    rows = conn.execute(sa.select(m.c.segment_id, m.c.partner_id, m.c.entered_at, m.c.left_at)).all()
    current = Counter((r.segment_id, r.partner_id) for r in rows if r.left_at is None)
    problems = [f"{names[s]}: partner {p} has {n} current rows" for (s, p), n in current.items() if n > 1]
    real = [r for r in rows if r.left_at != r.entered_at]
    expected = Counter((r.segment_id, r.partner_id, "entered", r.entered_at) for r in real)
    expected.update((r.segment_id, r.partner_id, "left", r.left_at) for r in real if r.left_at is not None)
    found = Counter(tuple(ev) for ev in conn.execute(sa.select(e.c.segment_id, e.c.partner_id, e.c.kind, e.c.at)).all())
    problems += [f"{names[s]}: partner {p}: {n} more {kind} events at {at} than entries" for (s, p, kind, at), n in (found - expected).items()]
    problems += [f"{names[s]}: partner {p}: no {kind} event at {at}" for (s, p, kind, at) in expected - found]
    return problems


def current_members(conn: Connection) -> dict[str, set[int]]:
    """Segment name → the partner ids that are members now."""
    m = segment_member
    rows = conn.execute(sa.select(segment.c.name, m.c.partner_id).join(m, m.c.segment_id == segment.c.id).where(m.c.left_at.is_(None))).all()
    members: dict[str, set[int]] = {}
    for name, partner_id in rows:
        members.setdefault(name, set()).add(partner_id)
    return members


def runs_left_running(conn: Connection) -> list[int]:
    """Sync runs still marked running: with no sync working, each is one that ended without saying so."""
    return list(conn.execute(sa.select(sync_run.c.id).where(sync_run.c.status == "running")).scalars())
