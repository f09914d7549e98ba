"""Chains in the overlay: publishing versions, and enrolling partners once per trigger occurrence.

A chain file is published when the tick (or `chains enrol`) finds it changed: a new
version row holds the definition as it was then, and enrolments already running stay on
the version they started on, so editing a live chain never changes what a customer
half-way through it receives next.

Enrolment is set-based (a segment of fifty thousand is a handful of statements), and
the unique (version, partner, occurrence) constraint makes a trigger occurrence enrol a
partner once, however often the tick that sees it runs or races another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.automation.chain_definition import ChainDef, parse_chain
from erp_crm.errors import UserError
from erp_crm.model.tables.chains import chain, chain_version, enrolment
from erp_crm.model.tables.segments import segment, segment_event, segment_member
from erp_crm.model.tables.synced import SYNCED
from erp_crm.store.driver import dialect_insert

_CHUNK = 1000
_EVENTS_AT_A_TIME = 10_000


@dataclass(frozen=True)
class Published:
    chain_id: int
    version_id: int
    version: int
    chain: ChainDef
    new: bool


@dataclass
class Enrolled:
    """What one enrolment call did: partners enrolled, and those skipped by reason."""

    enrolled: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, other: Enrolled) -> None:
        self.enrolled += other.enrolled
        self.skipped.update(other.skipped)


def publish(conn: Connection, chain_def: ChainDef, data: Any, source: str, now: dt.datetime) -> Published:
    """The chain's current version: the newest one if its definition is unchanged, else a new one."""
    stored = json.loads(json.dumps(data, default=str))  # YAML dates as text, as JSON holds them
    digest = hashlib.sha256(json.dumps(stored, sort_keys=True).encode()).hexdigest()
    chain_id = _chain_id(conn, chain_def.name, now)
    latest = conn.execute(
        sa.select(chain_version.c.id, chain_version.c.version, chain_version.c.digest)
        .where(chain_version.c.chain_id == chain_id)
        .order_by(chain_version.c.version.desc())
        .limit(1)
    ).first()
    if latest is not None and latest.digest == digest:
        return Published(chain_id, latest.id, latest.version, chain_def, False)
    number = (latest.version if latest else 0) + 1
    row = {"chain_id": chain_id, "version": number, "definition": stored, "digest": digest, "file": source, "published_at": now}
    new_id = conn.execute(dialect_insert(conn, chain_version).values(row).on_conflict_do_nothing().returning(chain_version.c.id)).scalar()
    if new_id is None:  # another tick published the same moment: take its version
        return publish(conn, chain_def, data, source, now)
    return Published(chain_id, new_id, number, chain_def, True)


def _chain_id(conn: Connection, name: str, now: dt.datetime) -> int:
    """The chain's row, made at its first publication; its triggers look only at segment events from then on."""
    found = conn.execute(sa.select(chain.c.id).where(chain.c.name == name)).scalar()
    if found is not None:
        return int(found)
    newest_event = conn.execute(sa.select(sa.func.coalesce(sa.func.max(segment_event.c.id), 0))).scalar()
    conn.execute(dialect_insert(conn, chain).values(name=name, events_seen=newest_event, created_at=now).on_conflict_do_nothing())
    return int(conn.execute(sa.select(chain.c.id).where(chain.c.name == name)).scalar_one())


def stored_version(conn: Connection, version_id: int) -> ChainDef:
    """A published version as the tick runs it (read back through the same reader that checked it)."""
    row = conn.execute(
        sa.select(chain.c.name, chain_version.c.version, chain_version.c.definition)
        .join(chain, chain.c.id == chain_version.c.chain_id)
        .where(chain_version.c.id == version_id)
    ).one()
    return parse_chain(row.name, row.definition, lambda path: f"chain {row.name} version {row.version}", None)


def enrol(conn: Connection, published: Published, partner_ids: Iterable[int], occurrence: str | dict[int, str], now: dt.datetime) -> Enrolled:
    """Enrol partners in the chain's current version, each once per occurrence; skipped ones are counted by reason.

    Skipped: members of a suppression segment; partners in the chain now (any version);
    partners it had before, unless it allows re-entry and their cool-down is over.
    """
    report = Enrolled()
    ids = list(dict.fromkeys(partner_ids))
    for start in range(0, len(ids), _CHUNK):
        report.add(_enrol_chunk(conn, published, ids[start : start + _CHUNK], occurrence, now))
    return report


def _enrol_chunk(conn: Connection, published: Published, ids: Sequence[int], occurrence: str | dict[int, str], now: dt.datetime) -> Enrolled:
    report = Enrolled()
    chain_def = published.chain
    suppressed = members(conn, chain_def.suppress, ids) if chain_def.suppress else set()
    e = enrolment.c
    history = conn.execute(
        sa.select(e.partner_id, sa.func.max(sa.case((e.status == "active", 1), else_=0)), sa.func.max(e.finished_at))
        .where(e.chain_id == published.chain_id, e.partner_id.in_(ids))
        .group_by(e.partner_id)
    ).all()
    before = {partner: (bool(active), finished) for partner, active, finished in history}
    rows = []
    for partner in ids:
        reason = _skip_reason(partner, suppressed, before, chain_def, now)
        if reason:
            report.skipped[reason] += 1
            continue
        rows.append(_enrolment_row(published, partner, occurrence if isinstance(occurrence, str) else occurrence[partner], now))
    _insert(conn, rows, report)
    return report


def enrol_occurrences(conn: Connection, published: Published, found: Sequence[tuple[int, str]], now: dt.datetime) -> Enrolled:
    """Enrol each (partner, occurrence) of an ERP-record trigger; only a suppression segment skips one.

    A record's occurrence enrols the partner even while it is in the chain for another
    record (two overdue invoices are two reminders), and `re_entry` does not apply: the
    occurrence names the record, so each record starts the chain once, ever (the caller
    leaves out occurrences the chain had in any version).
    """
    report = Enrolled()
    for start in range(0, len(found), _CHUNK):
        chunk = found[start : start + _CHUNK]
        suppressed = members(conn, published.chain.suppress, [p for p, _ in chunk]) if published.chain.suppress else set()
        report.skipped["in a suppression segment"] += sum(1 for p, _ in chunk if p in suppressed)
        _insert(conn, [_enrolment_row(published, p, occurrence, now) for p, occurrence in chunk if p not in suppressed], report)
    report.skipped = +report.skipped  # no zero counts
    return report


def _enrolment_row(published: Published, partner: int, occurrence: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "chain_id": published.chain_id,
        "version_id": published.version_id,
        "partner_id": partner,
        "occurrence": occurrence,
        "status": "active",
        "step": published.chain.first,
        "steps_taken": 0,
        "due_at": now,
        "enrolled_at": now,
        "enrolled_on": now.date(),
    }


def _insert(conn: Connection, rows: list[dict[str, Any]], report: Enrolled) -> None:
    """Insert enrolment rows; one the unique constraint already holds is counted as skipped."""
    if not rows:
        return
    inserted = conn.execute(dialect_insert(conn, enrolment).on_conflict_do_nothing().returning(enrolment.c.id), rows).all()
    report.enrolled += len(inserted)
    if len(inserted) < len(rows):
        report.skipped["enrolled for this occurrence before"] += len(rows) - len(inserted)


def _skip_reason(partner: int, suppressed: set[int], before: dict[int, tuple[bool, dt.datetime | None]], chain_def: ChainDef, now: dt.datetime) -> str | None:
    if partner in suppressed:
        return "in a suppression segment"
    if partner not in before:
        return None
    active, finished = before[partner]
    if active:
        return "in the chain already"
    if chain_def.re_entry_after is None:
        return "was in the chain before (re_entry: never)"
    if finished is not None and finished + dt.timedelta(seconds=chain_def.re_entry_after) > now:
        return "cooling down before re-entry"
    return None


def members(conn: Connection, names: Sequence[str], ids: Sequence[int]) -> set[int]:
    """Which of the partners `ids` are current members of any of the segments `names`."""
    m = segment_member.c
    query = (
        sa.select(m.partner_id)
        .join(segment, segment.c.id == m.segment_id)
        .where(segment.c.name.in_(list(names)), m.left_at.is_(None), m.partner_id.in_(list(ids)))
    )
    return set(conn.execute(query).scalars())


def segment_members(conn: Connection, name: str) -> list[int]:
    """The current members of a segment, for enrolling a whole segment by hand."""
    m = segment_member.c
    query = sa.select(m.partner_id).join(segment, segment.c.id == m.segment_id).where(segment.c.name == name, m.left_at.is_(None)).order_by(m.partner_id)
    return list(conn.execute(query).scalars())


def enrol_from_events(conn: Connection, published: Published, now: dt.datetime) -> Enrolled:
    """Enrol the partners who entered (or left) the trigger's segment since the chain last looked; one enrolment per event.

    An `entered` event counts only while the partner is still a member: a tick that ran
    late does not greet someone who has left again since.
    """
    report = Enrolled()
    trigger = published.chain.trigger
    if trigger.segment is None:
        return report
    seen = conn.execute(sa.select(chain.c.events_seen).where(chain.c.id == published.chain_id)).scalar_one()
    ev = segment_event.c
    while True:
        events = conn.execute(
            sa.select(ev.id, ev.partner_id)
            .join(segment, segment.c.id == ev.segment_id)
            .where(ev.id > seen, segment.c.name == trigger.segment, ev.kind == trigger.kind)
            .order_by(ev.id)
            .limit(_EVENTS_AT_A_TIME)
        ).all()
        if not events:
            break
        current = members(conn, [trigger.segment], [p for _, p in events]) if trigger.kind == "entered" else None
        occurrences = {partner: f"segment-event:{event_id}" for event_id, partner in events if current is None or partner in current}
        gone = len({p for _, p in events}) - len(occurrences)
        if gone:
            report.skipped["no longer in the segment"] += gone
        report.add(enrol(conn, published, list(occurrences), occurrences, now))
        seen = events[-1].id
        conn.execute(sa.update(chain).where(chain.c.id == published.chain_id).values(events_seen=seen))
    return report


def partner_by_key(conn: Connection, key: str, source: str | None = None) -> int:
    """The overlay id of the partner with ERP key `key` (a UserError naming it when there is none, or several sources have it)."""
    partner = SYNCED["partner"]
    query = sa.select(partner.c.id, partner.c.source).where(partner.c.erp_key == key, partner.c.erp_deleted_at.is_(None))
    if source:
        query = query.where(partner.c.source == source)
    found = conn.execute(query).all()
    if not found:
        raise UserError(f"no partner with the ERP key {key!r}")
    if len(found) > 1:
        raise UserError(f"partner key {key!r} is in several sources ({', '.join(r.source for r in found)})")
    return int(found[0].id)
