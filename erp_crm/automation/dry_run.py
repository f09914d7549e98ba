"""`chains dry-run`: who a chain would enrol and what each would receive, with nothing sent and nothing kept.

It runs the real thing (publishing, enrolment, the steps up to the first wait, the
rendering of every message, the tasks) inside one transaction and rolls it back, so a
preview cannot drift from what the tick does, and a template that fails for some
partner's data fails here first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from erp_crm.automation.chain_store import enrol
from erp_crm.automation.erp_triggers import enrol_from_triggers
from erp_crm.automation.outbox import utc_now
from erp_crm.automation.sms_text import measure
from erp_crm.automation.tick import Runner, Runtime, TickReport, enrolments_by_id, publish_all
from erp_crm.model.tables.chains import enrolment, step_log, task
from erp_crm.model.tables.outbox import outbox
from erp_crm.model.tables.synced import SYNCED
from erp_crm.store.overlay import Overlay


@dataclass
class Preview:
    """What a dry run found: partners it would enrol (and skip), and for the first few, each step and message."""

    chain: str
    version: str
    enrolled: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    partners: list[dict[str, Any]] = field(default_factory=list)


class _RollBack(Exception):
    """Ends the dry run's transaction without keeping anything."""


def dry_run(overlay: Overlay, runtime: Runtime, name: str, partner_ids: list[int] | None, *, shown: int = 10, now: dt.datetime | None = None) -> Preview:
    """Preview chain `name` for `partner_ids` (None: the trigger's pending segment events); the first `shown` in full."""
    moment = now or utc_now()
    preview: Preview | None = None
    try:
        with overlay.begin_writing() as conn:
            (published,) = publish_all(conn, runtime, moment, [name])
            preview = Preview(name, f"v{published.version}{' (not yet published)' if published.new else ''}")
            if partner_ids is not None:
                done = enrol(conn, published, partner_ids, "dry-run", moment)
            else:
                done = enrol_from_triggers(conn, published, moment, ZoneInfo(runtime.chains.time_zone), runtime.purchases_from)
            preview.enrolled, preview.skipped = done.enrolled, dict(done.skipped)
            ids = (
                conn.execute(
                    sa.select(enrolment.c.id)
                    .where(enrolment.c.version_id == published.version_id, enrolment.c.enrolled_at == moment)
                    .order_by(enrolment.c.id)
                    .limit(shown)
                )
                .scalars()
                .all()
            )
            Runner(runtime, moment, TickReport()).batch(conn, enrolments_by_id(conn, ids))
            preview.partners = [_what_happened(conn, i) for i in ids]
            raise _RollBack
    except _RollBack:
        pass
    assert preview is not None
    return preview


def _what_happened(conn: sa.Connection, enrolment_id: int) -> dict[str, Any]:
    partner = SYNCED["partner"]
    e = conn.execute(
        sa.select(enrolment.c.partner_id, enrolment.c.status, enrolment.c.step, enrolment.c.due_at, enrolment.c.reason).where(enrolment.c.id == enrolment_id)
    ).one()
    who = conn.execute(sa.select(partner.c.erp_key, partner.c.name).where(partner.c.id == e.partner_id)).one()
    steps = []
    query = (
        sa.select(
            step_log.c.step,
            step_log.c.outcome,
            step_log.c.detail,
            outbox.c.channel,
            outbox.c.recipient,
            outbox.c.subject,
            outbox.c.body,
            outbox.c.reason,
            task.c.title,
            task.c.due_on,
        )
        .outerjoin(outbox, outbox.c.id == step_log.c.outbox_id)
        .outerjoin(task, task.c.id == step_log.c.task_id)
        .where(step_log.c.enrolment_id == enrolment_id)
        .order_by(step_log.c.seq)
    )
    for row in conn.execute(query):
        shown: dict[str, Any] = {"step": row.step, "outcome": row.outcome, "detail": row.detail}
        if row.channel:
            shown |= {"channel": row.channel, "to": row.recipient, "subject": row.subject, "text": row.body, "suppressed": row.reason}
            if row.channel == "sms":
                size = measure(row.body)
                shown |= {"encoding": size.encoding, "segments": size.segments}
        if row.title:
            shown |= {"task": row.title, "due": str(row.due_on)}
        steps.append(shown)
    waiting = f"then waits until {e.due_at:%Y-%m-%d %H:%M} UTC at {e.step}" if e.status == "active" and e.due_at else f"ends: {e.status} ({e.reason})"
    return {"partner": who.erp_key, "name": who.name, "steps": steps, "after": waiting}
