"""`erp-crm segments refresh`: bring every segment's membership up to date, a few SQL statements each.

For a segment, the filter is compiled once (docs/filters.md) and then, in one
transaction:

1. current members that no longer match (or were deleted in the ERP) get `left_at`;
2. matching live partners that are not current members get a new membership row;
3. both become rows of `crm_segment_event` (entered, left), read back from the
   memberships stamped with this refresh's time.

Each step is one INSERT ... SELECT or UPDATE over all partners: the number of statements
does not depend on the number of partners, and no partner passes through Python. A
refresh with nothing changed writes no membership and no event. The refresh time of a
segment is kept strictly increasing, so the stamps of two refreshes never mix.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from erp_crm.errors import UserError
from erp_crm.model import migrate
from erp_crm.model.db import overlay_errors
from erp_crm.model.tables import segment, segment_event, segment_member
from erp_crm.segments.compiler import compile_filter
from erp_crm.segments.fields import Expr, FieldRegistry
from erp_crm.segments.metrics_fields import segment_registry
from erp_crm.segments.store import SegmentDef, load_config_segments, sync_config, user_segments

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class SegmentResult:
    name: str
    members: int
    entered: int
    left: int
    seconds: float


@dataclass
class RefreshReport:
    as_of: dt.date
    segments: list[SegmentResult] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "seconds": self.seconds, "segments": [asdict(s) for s in self.segments]}


def overlay_at_head(settings: Any) -> Engine:
    """The overlay's engine, once its schema is at the newest version (else a UserError)."""
    return migrate.engine_at_head(settings.overlay_url())


def read_overlay(settings: Any, work: Callable[[Connection], T]) -> T:
    """`work(connection)` on the overlay at head, the engine disposed of afterwards."""
    engine = overlay_at_head(settings)
    try:
        with overlay_errors(engine.url), engine.connect() as conn:
            return work(conn)
    finally:
        engine.dispose()


def settings_registry(settings: Any) -> FieldRegistry:
    """The registry segment filters compile against: the overlay's fields and the metrics."""
    return segment_registry()


def refresh_segments(
    settings: Any,
    names: Iterable[str] = (),
    *,
    as_of: dt.date | None = None,
    registry: FieldRegistry | None = None,
) -> RefreshReport:
    """Refresh the named segments (all active ones when none are named) as of `as_of` (today)."""
    as_of = as_of or dt.date.today()
    registry = registry or settings_registry(settings)
    clock = time.perf_counter()
    config = load_config_segments(settings.home, registry, as_of)
    report = RefreshReport(as_of)
    engine = overlay_at_head(settings)
    try:
        with overlay_errors(engine.url):
            with engine.begin() as conn:
                sync_config(conn, config, dt.datetime.now())
                segments = config + user_segments(conn, registry, as_of)
                ids = dict(conn.execute(sa.select(segment.c.name, segment.c.id)).all())
            wanted = list(dict.fromkeys(names))
            unknown = [n for n in wanted if n not in {d.name for d in segments}]
            if unknown:
                known = ", ".join(sorted(d.name for d in segments)) or "none"
                raise UserError(f"no segment named {unknown[0]!r} (known: {known})")
            for d in segments:
                if wanted and d.name not in wanted:
                    continue
                with engine.begin() as conn:
                    report.segments.append(refresh_one(conn, ids[d.name], d, registry, as_of))
    finally:
        engine.dispose()
    report.seconds = round(time.perf_counter() - clock, 3)
    return report


def refresh_one(conn: Connection, segment_id: int, d: SegmentDef, registry: FieldRegistry, as_of: dt.date) -> SegmentResult:
    """One segment's membership brought up to date: a constant number of statements."""
    clock = time.perf_counter()
    condition = compile_filter(d.node, registry, as_of)
    last = conn.execute(sa.select(segment.c.refreshed_at).where(segment.c.id == segment_id)).scalar()
    now = dt.datetime.now()
    if last is not None and now <= last:  # stamps must differ from every earlier refresh's
        now = last + dt.timedelta(microseconds=1)
    stamp = sa.literal(now, sa.DateTime())
    sid = sa.literal(segment_id, sa.Integer())
    m = segment_member

    left = conn.execute(
        sa.update(m)
        .where(m.c.segment_id == sid, m.c.left_at.is_(None), ~sa.exists(_matching(registry, condition, m.c.partner_id)))
        .values(left_at=stamp)
    ).rowcount

    partner = registry.partner
    current = m.alias("current_member")
    entering = sa.select(sid, partner.c.id, stamp).where(
        condition,
        partner.c.erp_deleted_at.is_(None),
        ~sa.exists().where(current.c.segment_id == sid, current.c.partner_id == partner.c.id, current.c.left_at.is_(None)),
    )
    inserting = sa.insert(m).from_select(["segment_id", "partner_id", "entered_at"], entering)
    entered = conn.execute(inserting.execution_options(preserve_rowcount=True)).rowcount

    columns = ["segment_id", "partner_id", "kind", "at"]
    if entered:
        went_in = sa.select(m.c.segment_id, m.c.partner_id, sa.literal("entered", sa.String()), m.c.entered_at)
        conn.execute(sa.insert(segment_event).from_select(columns, went_in.where(m.c.segment_id == sid, m.c.entered_at == stamp)))
    if left:
        went_out = sa.select(m.c.segment_id, m.c.partner_id, sa.literal("left", sa.String()), m.c.left_at)
        conn.execute(sa.insert(segment_event).from_select(columns, went_out.where(m.c.segment_id == sid, m.c.left_at == stamp)))

    conn.execute(sa.update(segment).where(segment.c.id == sid).values(refreshed_at=stamp, refreshed_as_of=as_of))
    members = conn.execute(sa.select(sa.func.count()).where(m.c.segment_id == sid, m.c.left_at.is_(None))).scalar_one()
    seconds = round(time.perf_counter() - clock, 3)
    log.info("segment %s as of %s: %d members, %d entered, %d left, %.2f s", d.name, as_of, members, entered, left, seconds)
    return SegmentResult(d.name, members, entered, left, seconds)


def _matching(registry: FieldRegistry, condition: Expr, partner_id: Expr) -> sa.Select[Any]:
    """The live partner `partner_id` if it matches the filter (for a correlated NOT EXISTS)."""
    partner = registry.partner
    return sa.select(partner.c.id).where(partner.c.id == partner_id, partner.c.erp_deleted_at.is_(None), condition)


def format_report(report: RefreshReport) -> str:
    lines = [f"segments as of {report.as_of}: {len(report.segments)} refreshed in {report.seconds:.2f} s"]
    width = max((len(s.name) for s in report.segments), default=10)
    lines.append(f"  {'segment':<{width}} {'members':>9} {'entered':>9} {'left':>9} {'seconds':>9}")
    for s in report.segments:
        lines.append(f"  {s.name:<{width}} {s.members:>9,} {s.entered:>9,} {s.left:>9,} {s.seconds:>9.2f}")
    return "\n".join(lines)


__all__ = ["RefreshReport", "SegmentResult", "format_report", "overlay_at_head", "read_overlay", "refresh_one", "refresh_segments", "settings_registry"]
