"""`erp-crm segments refresh`: bring every segment's membership up to date, a few SQL statements each.

For a segment, the filter is compiled once (docs/filters.md) and then, in one
transaction:

1. current members that no longer match (or were deleted in the ERP) get `left_at`;
2. matching live partners that are not current members get a new membership row;
3. both become rows of `crm_segment_event` (entered, left), read back from the
   memberships stamped with this refresh's time.

Each step is one INSERT ... SELECT or UPDATE: the number of statements does not depend on
the number of partners, and no partner passes through Python. A refresh with nothing
changed writes no membership and no event. The refresh time of a segment is kept
strictly increasing, so the stamps of two refreshes never mix.

A refresh is incremental where the filter allows it: when the segment was refreshed
before with the same filter, every field it names is tracked (`FieldDef.tracked`), and
it does not depend on the day or the day is the same, only the partners that the change
feed (`erp_crm.store.change_feed`) or `crm_partner_profile.updated_at` name since the last
refresh (less `CHANGE_MARGIN`, for late commits) can have entered or left, and the
statements look at them alone.

One refresh per overlay at a time (`Overlay.lock("segments")`); a second one is refused
with one line rather than queued, as sync and metrics runs are. The schema backs this
up: a partner has at most one current membership row per segment (a partial unique
index), so a refresh that slipped past the lock would fail rather than double a member.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.errors import UserError
from erp_crm.metrics.compute import last_run
from erp_crm.metrics.progress import Progress, silent
from erp_crm.model.tables.profile import partner_profile
from erp_crm.model.tables.segments import segment, segment_event, segment_member
from erp_crm.segments.compiler import Compiled, compile_for_refresh
from erp_crm.segments.definitions import SegmentDef, load_config_segments, sync_config, user_segments
from erp_crm.segments.fields import Expr, FieldRegistry
from erp_crm.store import change_feed
from erp_crm.store.idset import id_set
from erp_crm.store.overlay import Overlay

log = logging.getLogger(__name__)


CHANGE_MARGIN = dt.timedelta(minutes=5)  # changes stamped this long before the last refresh count as new
WHOLE_SHARE = 0.25  # above this share of partners changed, look at everyone
BUSY = "another segment refresh is working on this overlay"


@dataclass
class SegmentResult:
    name: str
    members: int
    entered: int
    left: int
    seconds: float
    looked_at: int | None = None  # partners an incremental refresh looked at; None: all of them


@dataclass
class RefreshReport:
    as_of: dt.date
    as_of_from: str = "given"  # given (--as-of), metrics (the day of the last metrics run) or today (no metrics run yet)
    segments: list[SegmentResult] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # what limits the result: read them before the table

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(), "as_of_from": self.as_of_from, "seconds": self.seconds,
            "notes": self.notes, "segments": [asdict(s) for s in self.segments],
        }  # fmt: skip


def refresh_segments(
    overlay: Overlay,
    config_file: Path,
    registry: FieldRegistry,
    names: Iterable[str] = (),
    *,
    as_of: dt.date | None = None,
    progress: Progress | None = None,
) -> RefreshReport:
    """Refresh the named segments (all active ones when none are named) as of `as_of`.

    `config_file` holds the built-in segments (config/segments.yaml); `registry` is what
    their filters may name (`segments.metrics_fields.segment_registry`). Without `as_of`,
    the day is the one the partners' figures were computed for (the last metrics run):
    a filter that mixes those figures with "within 90 days" of another day would flag
    partners neither day would, and every such entry or exit is an event chains act on.
    `progress` hears of each segment as its refresh begins: its name, its place, how many.
    """
    figures_day, as_of_from = _figures_day(overlay)
    notes = []
    if as_of is None:
        as_of = figures_day
    else:
        if as_of_from == "metrics" and as_of != figures_day:
            notes.append(
                f"the partners' figures are as of {figures_day} (the last metrics run) and the filters' dates as of {as_of}: "
                f"a filter that mixes them flags partners neither day would; run `erp-crm metrics compute --as-of {as_of}` first"
            )
        as_of_from = "given"
    clock = time.perf_counter()
    config = load_config_segments(config_file, registry, as_of)
    with overlay.lock("segments", BUSY):
        report = _refresh(overlay, config, registry, names, as_of, progress or silent)
    report.as_of_from, report.notes = as_of_from, notes
    report.seconds = round(time.perf_counter() - clock, 3)
    return report


def _figures_day(overlay: Overlay) -> tuple[dt.date, str]:
    """The day of the last metrics run, or today when metrics have never run."""
    with overlay.connect() as conn:
        last = last_run(conn)
    return (last.as_of, "metrics") if last is not None else (dt.date.today(), "today")


def _refresh(
    overlay: Overlay, config: list[SegmentDef], registry: FieldRegistry, names: Iterable[str], as_of: dt.date, progress: Progress
) -> RefreshReport:
    """The refresh itself, under the lock: two at once would both insert the partners that entered."""
    report = RefreshReport(as_of)
    with overlay.begin_writing() as conn:  # SQLite: the write lock from the start, as a read turned write mid-way fails at once when another process wrote meanwhile
        sync_config(conn, config, dt.datetime.now())
        segments = config + user_segments(conn, registry, as_of)
        ids = dict(conn.execute(sa.select(segment.c.name, segment.c.id)).all())
    wanted = list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in {d.name for d in segments}]
    if unknown:
        known = ", ".join(sorted(d.name for d in segments)) or "none"
        raise UserError(f"no segment named {unknown[0]!r} (known: {known})")
    chosen = [d for d in segments if not wanted or d.name in wanted]
    for number, d in enumerate(chosen, 1):
        progress(d.name, number, len(chosen))
        with overlay.begin_writing() as conn:
            report.segments.append(refresh_one(conn, ids[d.name], d, registry, as_of))
    return report


def refresh_one(conn: Connection, segment_id: int, d: SegmentDef, registry: FieldRegistry, as_of: dt.date) -> SegmentResult:
    """One segment's membership brought up to date: a constant number of statements."""
    clock = time.perf_counter()
    compiled = compile_for_refresh(d.node, registry, as_of)
    last = conn.execute(sa.select(segment.c.refreshed_at, segment.c.refreshed_as_of, segment.c.refreshed_filter).where(segment.c.id == segment_id)).one()
    now = dt.datetime.now()
    if last.refreshed_at is not None and now <= last.refreshed_at:  # stamps must differ from every earlier refresh's
        now = last.refreshed_at + dt.timedelta(microseconds=1)
    changed = _changed_since(conn, last, d, compiled, as_of, registry)
    with id_set(conn, changed) if changed is not None else nullcontext() as ids:
        entered, left = _update_membership(conn, segment_id, compiled.condition, registry, now, ids)
    m = segment_member
    conn.execute(
        sa.update(segment).where(segment.c.id == segment_id).values(refreshed_at=now, refreshed_as_of=as_of, refreshed_filter=d.text)
    )
    members = conn.execute(sa.select(sa.func.count()).where(m.c.segment_id == segment_id, m.c.left_at.is_(None))).scalar_one()
    seconds = round(time.perf_counter() - clock, 3)
    looked = "everyone" if changed is None else f"{len(changed)} changed partners"
    log.info("segment %s as of %s: %d members, %d entered, %d left, looked at %s, %.2f s", d.name, as_of, members, entered, left, looked, seconds)
    return SegmentResult(d.name, members, entered, left, seconds, None if changed is None else len(changed))


def _changed_since(conn: Connection, last: Any, d: SegmentDef, compiled: Compiled, as_of: dt.date, registry: FieldRegistry) -> set[int] | None:
    """The partners that can have entered or left since the last refresh; None: anyone can."""
    if last.refreshed_at is None or last.refreshed_filter != d.text or not compiled.tracked:
        return None
    if compiled.uses_today and last.refreshed_as_of != as_of:
        return None
    since = last.refreshed_at - CHANGE_MARGIN
    ids = change_feed.changed_since(conn, since)
    if ids is None:
        return None
    ids.update(conn.execute(sa.select(partner_profile.c.partner_id).where(partner_profile.c.updated_at >= since)).scalars())
    everyone = conn.execute(sa.select(sa.func.count()).select_from(registry.partner)).scalar_one()
    return ids if len(ids) <= WHOLE_SHARE * everyone else None


def _update_membership(
    conn: Connection, segment_id: int, condition: Expr, registry: FieldRegistry, now: dt.datetime, only: sa.Select[tuple[int]] | None
) -> tuple[int, int]:
    """Members that stopped matching leave, matching partners that are not members enter (of `only`, if given)."""
    stamp = sa.literal(now, sa.DateTime())
    sid = sa.literal(segment_id, sa.Integer())
    m = segment_member
    partner = registry.partner

    leaving = [m.c.segment_id == sid, m.c.left_at.is_(None), ~sa.exists(_matching(registry, condition, m.c.partner_id))]
    if only is not None:
        leaving.append(m.c.partner_id.in_(only))
    left = conn.execute(sa.update(m).where(*leaving).values(left_at=stamp)).rowcount

    current = m.alias("current_member")
    joining = [
        condition,
        partner.c.erp_deleted_at.is_(None),
        ~sa.exists().where(current.c.segment_id == sid, current.c.partner_id == partner.c.id, current.c.left_at.is_(None)),
    ]
    if only is not None:
        joining.append(partner.c.id.in_(only))
    inserting = sa.insert(m).from_select(["segment_id", "partner_id", "entered_at"], sa.select(sid, partner.c.id, stamp).where(*joining))
    entered = conn.execute(inserting.execution_options(preserve_rowcount=True)).rowcount

    columns = ["segment_id", "partner_id", "kind", "at"]
    if entered:
        went_in = sa.select(m.c.segment_id, m.c.partner_id, sa.literal("entered", sa.String()), m.c.entered_at)
        conn.execute(sa.insert(segment_event).from_select(columns, went_in.where(m.c.segment_id == sid, m.c.entered_at == stamp)))
    if left:
        went_out = sa.select(m.c.segment_id, m.c.partner_id, sa.literal("left", sa.String()), m.c.left_at)
        conn.execute(sa.insert(segment_event).from_select(columns, went_out.where(m.c.segment_id == sid, m.c.left_at == stamp)))
    return entered, left


def _matching(registry: FieldRegistry, condition: Expr, partner_id: Expr) -> sa.Select[Any]:
    """The live partner `partner_id` if it matches the filter (for a correlated NOT EXISTS)."""
    partner = registry.partner
    return sa.select(partner.c.id).where(partner.c.id == partner_id, partner.c.erp_deleted_at.is_(None), condition)
