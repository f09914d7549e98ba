"""A small overlay and home for chain tests: ERP users, partners, contacts, segments, and the chain files under test.

Rows are written straight into the synced tables (as the sync would leave them), so a
test can add a purchase or move a partner out of a segment between two ticks.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from erp_crm.automation.chain_words import with_chain_words
from erp_crm.automation.tick import Runtime, TickReport, tick
from erp_crm.model.tables.chains import enrolment, step_log, task
from erp_crm.model.tables.outbox import outbox
from erp_crm.model.tables.segments import segment, segment_event, segment_member
from erp_crm.model.tables.synced import SYNCED
from erp_crm.segments.metrics_fields import segment_registry
from erp_crm.settings.sending import ChainsSection, OutboxSection
from erp_crm.store.overlay import Overlay
from tests.support.outbox import outbox_overlay

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 3, 2, 9, 0)  # a Monday, UTC; Budapest is UTC+1 until 29 March
USERS = [(1, "kovacs", "Kovács Anna", True), (2, "szabo", "Szabó Béla", False), (3, "nagy", "Nagy Éva", True)]
PARTNERS = [  # id, name, email, mobile, lang, salesperson
    (1, "Példa Kft.", "info@pelda.hu", "+36 30 123 4567", "hu_HU", 1),
    (2, "Minta Bt.", None, "06-20/765 4321", "hu", 2),
    (3, "Sample Ltd.", "office@sample.co.uk", None, "en_GB", None),
    (4, "Teszt Zrt.", "rossz cím", "1234", None, 3),
    (5, "Árvíztűrő Kft.", "arviz@turo.hu", "+36 70 555 1234", "hu", 1),
]
CONTACTS = [(1, 2, "Minta Márta", "marta@minta.hu")]  # id, partner, name, email
SEGMENTS = {"lapsed": [1, 2, 3, 4, 5], "frequent_complainers": [], "vip": [5]}


def row(table: sa.Table, key: object, **values: Any) -> dict[str, Any]:
    return {"source": "erp", "erp_key": str(key), "row_hash": "x", "synced_at": T0, **values}


def seed(conn: sa.Connection) -> None:
    conn.execute(
        sa.insert(SYNCED["user"]),
        [row(SYNCED["user"], i, id=i, login=login, name=name, email=f"{login}@pelda.hu", active=active) for i, login, name, active in USERS],
    )
    conn.execute(
        sa.insert(SYNCED["partner"]),
        [
            row(SYNCED["partner"], f"P{i}", id=i, name=name, email=email, mobile=mobile, lang=lang, salesperson_id=sp, is_customer=True)
            for i, name, email, mobile, lang, sp in PARTNERS
        ],
    )
    conn.execute(
        sa.insert(SYNCED["contact"]),
        [row(SYNCED["contact"], f"C{i}", id=i, partner_id=p, name=name, email=email, active=True) for i, p, name, email in CONTACTS],
    )
    for n, (name, members) in enumerate(SEGMENTS.items(), start=1):
        conn.execute(sa.insert(segment).values(id=n, name=name, filter="true", source="config", updated_at=T0))
        if members:
            conn.execute(sa.insert(segment_member), [{"segment_id": n, "partner_id": p, "entered_at": T0} for p in members])


def buy(overlay: Overlay, partner_id: int, day: dt.date, key: str = "") -> None:
    """A posted invoice of the partner on `day`, as the sync would write it."""
    invoice = SYNCED["invoice"]
    with overlay.begin() as conn:
        conn.execute(
            sa.insert(invoice).values(
                row(invoice, key or f"INV-{partner_id}-{day}", partner_id=partner_id, date=day, status="posted", kind="invoice", amount_net=1000)
            )
        )


def enter(overlay: Overlay, segment_name: str, partner_id: int, at: dt.datetime) -> None:
    """The partner enters the segment, with its event, as a segment refresh records it."""
    with overlay.begin() as conn:
        segment_id = conn.execute(sa.select(segment.c.id).where(segment.c.name == segment_name)).scalar_one()
        conn.execute(sa.insert(segment_member).values(segment_id=segment_id, partner_id=partner_id, entered_at=at))
        conn.execute(sa.insert(segment_event).values(segment_id=segment_id, partner_id=partner_id, kind="entered", at=at))


def make_home(tmp_path: Path, chains: dict[str, str] | None = None) -> Path:
    """A home with the shipped templates and chains, plus `chains` ({name: YAML text}) written into jobs/chains/."""
    home = tmp_path / "home"
    shutil.copytree(ROOT / "templates", home / "templates")
    shutil.copytree(ROOT / "jobs", home / "jobs")
    for name, text in (chains or {}).items():
        (home / "jobs" / "chains" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return home


def runtime(home: Path, **chains: Any) -> Runtime:
    registry = with_chain_words(segment_registry(), "invoices")
    return Runtime(home, registry, ChainsSection(**chains), OutboxSection())


@contextmanager
def chain_overlay(url: str) -> Iterator[Overlay]:
    with outbox_overlay(url) as overlay:
        with overlay.begin() as conn:
            seed(conn)
        yield overlay


def ticks_at_once(overlay: Overlay, rt: Runtime, at: dt.datetime, count: int) -> list[TickReport]:
    """`count` ticks started together in threads (a race on PostgreSQL); their reports, once all have ended."""
    reports: list[TickReport] = []
    threads = [threading.Thread(target=lambda: reports.append(tick(overlay, rt, now=at))) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return reports


def run(overlay: Overlay, home: Path, at: dt.datetime, **options: Any) -> TickReport:
    return tick(overlay, runtime(home), now=at, **options)


def journey(overlay: Overlay) -> dict[int, list[tuple[str, str]]]:
    """{partner: [(step, outcome), ...]} over all enrolments, in order."""
    out: dict[int, list[tuple[str, str]]] = {}
    with overlay.connect() as conn:
        query = sa.select(enrolment.c.partner_id, step_log.c.step, step_log.c.outcome).join(enrolment, enrolment.c.id == step_log.c.enrolment_id)
        for partner, step, outcome in conn.execute(query.order_by(enrolment.c.id, step_log.c.seq)):
            out.setdefault(partner, []).append((step, outcome))
    return out


def table_rows(overlay: Overlay, table: sa.Table, *columns: str) -> list[tuple[Any, ...]]:
    with overlay.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(*(table.c[c] for c in columns)).order_by(table.c.id))]


__all__ = ["T0", "buy", "chain_overlay", "enter", "journey", "make_home", "outbox", "run", "runtime", "table_rows", "task"]
