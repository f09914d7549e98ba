"""Segment membership stays one current row per partner: under concurrent refreshes, and after migration 0006 repairs an overlay.

Two refreshes of the same overlay used to run side by side: on PostgreSQL both saw a
partner as a non-member and both inserted it, with two "entered" events, and no later
refresh repaired it. Refreshes now hold a lock (a second one stops with one line), and
the schema allows one current row per segment and partner.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from erp_crm.errors import UserError
from erp_crm.model import migrate
from erp_crm.model.tables.metrics import partner_metrics
from erp_crm.model.tables.segments import segment, segment_event, segment_member
from erp_crm.model.tables.synced import SYNCED
from erp_crm.segments.definitions import SEGMENTS_FILE
from erp_crm.segments.metrics_fields import segment_registry
from erp_crm.segments.refresh import refresh_segments
from erp_crm.store import change_feed
from erp_crm.store.overlay import Overlay
from tests.support.metrics_rows import metrics_row
from tests.support.overlay_checks import current_members, membership_problems
from tests.support.services import overlay_engine, upgrade

AS_OF = dt.date(2024, 6, 30)
STAMP = dt.datetime(2024, 1, 1)
PARTNERS = 300
ROUNDS = 10
WORKERS = 4


def _bounds(round_: int) -> dict[str, tuple[int, int]]:
    """Each segment's revenue range in a round: both widen every round, so their members only enter unless revenues move."""
    return {"big": (900 - 80 * round_, 1000), "small": (0, 100 + 80 * round_)}


def _write_segments(home: Path, round_: int) -> None:
    lines = ["segments:"]
    for name, (low, high) in _bounds(round_).items():
        lines += [f"  {name}:", f"    filter: revenue_net >= {low} and revenue_net < {high}"]
    (home / SEGMENTS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _fill(engine: sa.Engine, rng: random.Random) -> dict[int, int]:
    """Partners with a metrics row each; returns partner id → revenue."""
    partner = SYNCED["partner"]
    rows = [{"source": "t", "erp_key": f"p{n}", "name": f"Partner {n}", "row_hash": "x", "synced_at": STAMP} for n in range(PARTNERS)]
    with engine.begin() as conn:
        conn.execute(sa.insert(partner), rows)
        ids = list(conn.execute(sa.select(partner.c.id)).scalars())
        revenue = {pid: rng.randrange(1000) for pid in ids}
        conn.execute(sa.insert(partner_metrics), [metrics_row(pid, AS_OF, revenue_net=r) for pid, r in revenue.items()])
        change_feed.record_partners(conn, "metrics", ids, dt.datetime.now())
    return revenue


def _change_revenue(engine: sa.Engine, revenue: dict[int, int], rng: random.Random) -> None:
    """A metrics run's worth of change: a fifth of the partners get a new revenue, told to the change feed."""
    changed = rng.sample(sorted(revenue), len(revenue) // 5)
    m = partner_metrics
    with engine.begin() as conn:
        for pid in changed:
            revenue[pid] = rng.randrange(1000)
            conn.execute(sa.update(m).where(m.c.partner_id == pid).values(revenue_net=revenue[pid]))
        change_feed.record_partners(conn, "metrics", changed, dt.datetime.now())


def _refresh_together(url: sa.URL, home: Path) -> list[str]:
    """WORKERS refreshes started at the same moment, each with its own Overlay; what each ended with."""
    registry = segment_registry()
    start = threading.Barrier(WORKERS)
    outcomes: list[str] = []

    def worker() -> None:
        with Overlay.open(url) as overlay:
            start.wait()
            try:
                refresh_segments(overlay, home / SEGMENTS_FILE, registry, as_of=AS_OF)
                outcomes.append("done")
            except UserError as exc:
                outcomes.append(f"refused: {exc}")
            except Exception as exc:  # noqa: BLE001 - the test reports it below
                outcomes.append(f"failed: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a refresh hung"
    return outcomes


def _membership_problems(engine: sa.Engine, revenue: dict[int, int], bounds: dict[str, tuple[int, int]]) -> list[str]:
    """What is wrong with the stored membership: a second current row, events that are not one per change, a wrong member."""
    with engine.connect() as conn:
        problems = membership_problems(conn)
        members = current_members(conn)
    for name, (low, high) in bounds.items():
        wanted = {pid for pid, r in revenue.items() if low <= r < high}
        found = members.get(name, set())
        if found != wanted:
            problems.append(f"{name}: {len(found - wanted)} members that do not match, {len(wanted - found)} matching partners missing")
    return problems


@pytest.mark.slow
def test_concurrent_refreshes_leave_one_current_membership_per_partner(overlay_url: str, tmp_path: Path) -> None:
    url = sa.engine.make_url(overlay_url)
    engine = overlay_engine(url)
    upgrade(engine)
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    rng = random.Random(6)
    revenue = _fill(engine, rng)
    refused = 0
    for round_ in range(ROUNDS):
        _write_segments(home, round_)
        if round_ % 2:
            _change_revenue(engine, revenue, rng)
        outcomes = _refresh_together(url, home)
        assert [o for o in outcomes if o.startswith("failed")] == [], f"round {round_}"
        assert "done" in outcomes, f"round {round_}: every refresh refused"
        busy = [o for o in outcomes if o.startswith("refused")]
        assert all("another segment refresh is working on this overlay" in o and "\n" not in o for o in busy), busy
        refused += len(busy)
        assert _membership_problems(engine, revenue, _bounds(round_)) == [], f"round {round_}"
    engine.dispose()
    assert refused, "no two refreshes ever met: the test proved nothing"


def _at(minute: int) -> dt.datetime:
    return dt.datetime(2024, 6, 1, 8, minute)


def test_migration_0006_closes_doubled_memberships_and_their_events(overlay_url: str) -> None:
    """Doubles from before the lock: the earliest row stays, later ones close at their start, their events go."""
    engine = overlay_engine(sa.engine.make_url(overlay_url))
    with engine.begin() as conn:
        migrate.upgrade(conn, "0005")
    partner = SYNCED["partner"]
    history = {  # partner: membership rows (entered, left) and events (kind, minute) as two refreshes at once left them
        "doubled": ([(1, None), (2, None)], [("entered", 1), ("entered", 2)]),
        "tripled, two at one stamp": ([(1, None), (3, None), (3, None)], [("entered", 1), ("entered", 3), ("entered", 3)]),
        "doubled, then left": ([(1, 9), (2, 9)], [("entered", 1), ("entered", 2), ("left", 9), ("left", 9)]),
        "left and came back": ([(1, 5), (6, None)], [("entered", 1), ("left", 5), ("entered", 6)]),
    }
    with engine.begin() as conn:
        sid = conn.execute(sa.insert(segment).values(name="big", filter="revenue_net >= 1", source="config", updated_at=STAMP).returning(segment.c.id)).scalar_one()
        ids = {}
        for key, (rows, events) in history.items():
            ids[key] = pid = conn.execute(sa.insert(partner).values(source="t", erp_key=key, row_hash="x", synced_at=STAMP).returning(partner.c.id)).scalar_one()
            for entered, left in rows:
                conn.execute(sa.insert(segment_member).values(segment_id=sid, partner_id=pid, entered_at=_at(entered), left_at=left and _at(left)))
            for kind, minute in events:
                conn.execute(sa.insert(segment_event).values(segment_id=sid, partner_id=pid, kind=kind, at=_at(minute)))
    upgrade(engine)

    m, e = segment_member, segment_event
    with engine.connect() as conn:
        rows = {key: conn.execute(sa.select(m.c.entered_at, m.c.left_at).where(m.c.partner_id == pid).order_by(m.c.id)).all() for key, pid in ids.items()}
        events = {key: conn.execute(sa.select(e.c.kind, e.c.at).where(e.c.partner_id == pid).order_by(e.c.id)).all() for key, pid in ids.items()}
    assert rows == {
        "doubled": [(_at(1), None), (_at(2), _at(2))],
        "tripled, two at one stamp": [(_at(1), None), (_at(3), _at(3)), (_at(3), _at(3))],
        "doubled, then left": [(_at(1), _at(9)), (_at(2), _at(2))],
        "left and came back": [(_at(1), _at(5)), (_at(6), None)],
    }
    assert events == {
        "doubled": [("entered", _at(1))],
        "tripled, two at one stamp": [("entered", _at(1))],
        "doubled, then left": [("entered", _at(1)), ("left", _at(9))],
        "left and came back": [("entered", _at(1)), ("left", _at(5)), ("entered", _at(6))],
    }
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:  # a second current row is refused from now on
        conn.execute(sa.insert(m).values(segment_id=sid, partner_id=ids["doubled"], entered_at=_at(30)))
    engine.dispose()
