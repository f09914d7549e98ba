"""Account owners over a real overlay (SQLite and PostgreSQL): precedence, fallback, the reassign step, least_loaded, races, hostile input."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erp_crm.automation import tick as tick_module
from erp_crm.automation.chain_store import enrol
from erp_crm.automation.owners import Actor, least_loaded, release_owner, set_owner
from erp_crm.automation.step_messages import recipient
from erp_crm.automation.tasks import chain_owner
from erp_crm.automation.tick import publish_all, tick
from erp_crm.errors import UserError
from erp_crm.model.tables.chains import step_log, task
from erp_crm.model.tables.owners import partner_owner, partner_owner_event
from erp_crm.model.tables.segments import segment, segment_event, segment_member
from erp_crm.model.tables.synced import SYNCED
from erp_crm.queries.owners import account_owner, owner_history
from erp_crm.segments.compiler import compile_filter
from erp_crm.segments.language import parse_filter
from erp_crm.segments.refresh import refresh_segments
from erp_crm.store.overlay import Overlay
from tests.support.chain_overlay import T0, chain_overlay, journey, make_home, runtime, ticks_at_once

# chain_overlay's users: 1 kovacs (active), 2 szabo (inactive), 3 nagy (active);
# partners P1..P5 with the ERP salespeople kovacs, szabo, none, nagy, kovacs.
ROLES = {"sales": ("kovacs", "nagy", "szabo"), "finance": ("szabo",), "nobody": ()}
DAY = dt.timedelta(days=1)


def by(who: str = "teszt", reason: str | None = "átszervezés", at: dt.datetime = T0) -> Actor:
    return Actor(who, reason, at)


def owner_login(overlay: Overlay, partner_id: int) -> str | None:
    with overlay.connect() as conn:
        return account_owner(conn, partner_id)["owner"]


def owned_by(overlay: Overlay, login: str) -> list[int]:
    """The partners a segment filter `owner = "login"` selects."""
    registry = runtime(Path("."), roles=ROLES).registry
    partner = registry.partner
    where = compile_filter(parse_filter(f'owner = "{login}"'), registry, T0.date())
    with overlay.connect() as conn:
        return sorted(conn.execute(sa.select(partner.c.id).where(where)).scalars())


def open_task(conn: sa.Connection, owner_id: int, partner_id: int | None = None, status: str = "open") -> None:
    conn.execute(
        sa.insert(task).values(
            title="t", owner_id=owner_id, partner_id=partner_id, due_on=T0.date(), priority="normal", status=status, origin="test", created_at=T0
        )
    )


def set_active(overlay: Overlay, login: str, active: bool | None) -> None:
    user = SYNCED["user"]
    with overlay.begin() as conn:
        conn.execute(sa.update(user).where(user.c.login == login).values(active=active))


def test_the_crm_owner_wins_while_active_and_the_erp_salesperson_stands_in_after(overlay_url: str) -> None:
    with chain_overlay(overlay_url) as overlay:
        assert owner_login(overlay, 1) == "kovacs" and owned_by(overlay, "kovacs") == [1, 5], "no CRM owner: the ERP's salesperson"
        with overlay.begin_writing() as conn:
            change = set_owner(conn, 1, "nagy", by())
        assert (change.outcome, change.before, change.after) == ("reassigned", "kovacs", "nagy")
        with overlay.connect() as conn:
            shown = account_owner(conn, 1)
            greeting = recipient(conn, 1).context["salesperson"]
            owner = chain_owner(conn, "salesperson", 1)
        assert (shown["owner"], shown["from"], shown["crm_owner"], shown["erp_salesperson"]) == ("nagy", "crm", "nagy", "kovacs")
        assert greeting == {"name": "Nagy Éva", "email": "nagy@pelda.hu"} and owner.user_id == 3
        assert owned_by(overlay, "nagy") == [1, 4] and owned_by(overlay, "kovacs") == [5]
        set_active(overlay, "nagy", False)  # nagy leaves: the ERP's salesperson takes over, nobody has to notice
        with overlay.connect() as conn:
            shown = account_owner(conn, 1)
            owner = chain_owner(conn, "salesperson", 1)
        assert (shown["owner"], shown["from"], shown["crm_owner_active"]) == ("kovacs", "erp", False) and owner.user_id == 1
        assert owned_by(overlay, "kovacs") == [1, 5] and owned_by(overlay, "nagy") == [4], "P4's ERP salesperson is still nagy: the ERP decides that"
        set_active(overlay, "nagy", None)  # an ERP that does not say: active, as everywhere
        assert owner_login(overlay, 1) == "nagy"
        with overlay.begin_writing() as conn:
            released = release_owner(conn, 1, by(reason="vissza"))
            again = release_owner(conn, 1, by(reason="vissza"))
            history = owner_history(conn, 1)
        assert (released.outcome, released.after, again.outcome) == ("released", "kovacs", "unchanged")
        assert [(h["kind"], h["from"], h["to"], h["by"], h["reason"]) for h in history] == [
            ("assigned", "kovacs", "nagy", "teszt", "átszervezés"),
            ("released", "nagy", "kovacs", "teszt", "vissza"),
        ]


def test_a_partner_without_any_salesperson_can_be_given_and_the_same_owner_twice_changes_nothing(overlay_url: str) -> None:
    with chain_overlay(overlay_url) as overlay:
        assert owner_login(overlay, 3) is None and owned_by(overlay, "nagy") == [4]
        with overlay.begin_writing() as conn:
            first = set_owner(conn, 3, "nagy", by())
            second = set_owner(conn, 3, "nagy", by())
            events = conn.execute(sa.select(sa.func.count()).select_from(partner_owner_event)).scalar()
        assert (first.before, first.after, second.outcome, events) == (None, "nagy", "unchanged", 1)


def test_least_loaded_counts_open_tasks_skips_inactive_users_and_breaks_ties_by_login(overlay_url: str) -> None:
    with chain_overlay(overlay_url) as overlay, overlay.begin() as conn:
        assert least_loaded(conn, ROLES["sales"]).login == "kovacs", "a tie at nothing: the first login; szabo is inactive"
        open_task(conn, 1)
        assert least_loaded(conn, ROLES["sales"]).login == "nagy"
        open_task(conn, 3)
        open_task(conn, 3, status="done")  # finished work is no load
        assert least_loaded(conn, ROLES["sales"]).login == "kovacs"
        open_task(conn, 1)
        assert least_loaded(conn, ROLES["sales"]).login == "nagy"
        assert least_loaded(conn, ROLES["finance"]) is None and least_loaded(conn, ()) is None


HANDOVER = """trigger: manual
steps:
  - id: hand
    reassign:
      to: "role: sales"
      pick: least_loaded
      reason: Nagy ügyfél, új kapcsolattartó
      with_tasks: true
  - id: call
    task:
      title: "Hívd fel: {{ partner.name }} ({{ salesperson.name }})"
      owner: salesperson
"""
NOBODY = "trigger: manual\nsteps:\n  - id: hand\n    reassign: {to: 'role: finance'}\n  - id: solo\n    reassign: {to: 'login: kovacs'}\n"


def enrol_all(overlay: Overlay, home: Path, name: str, partners: list[int], at: dt.datetime) -> None:
    with overlay.begin_writing() as conn:
        (published,) = publish_all(conn, runtime(home, roles=ROLES), at, [name])
        enrol(conn, published, partners, f"manual:{at:%Y-%m-%d}", at)


def test_the_reassign_step_hands_accounts_to_the_least_loaded_and_the_next_task_follows(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"handover": HANDOVER, "nobody": NOBODY})
    with chain_overlay(overlay_url) as overlay:
        with overlay.begin() as conn:
            open_task(conn, 1, partner_id=1)  # kovacs: two open tasks, nagy none
            open_task(conn, 1, partner_id=5)
            open_task(conn, 2, partner_id=2)  # szabo left with an open task about P2: it moves with the account
        enrol_all(overlay, home, "handover", [1, 2, 4, 5], T0)
        enrol_all(overlay, home, "nobody", [3], T0)
        first = tick(overlay, runtime(home, roles=ROLES), now=T0)
        second = tick(overlay, runtime(home, roles=ROLES), now=T0 + DAY)
        steps = journey(overlay)
        with overlay.connect() as conn:
            owners = {p: account_owner(conn, p)["owner"] for p in range(1, 6)}
            events = conn.execute(sa.select(partner_owner_event).order_by(partner_owner_event.c.id)).mappings().all()
            tasks = conn.execute(sa.select(task.c.partner_id, task.c.owner_id, task.c.title).where(task.c.origin != "test").order_by(task.c.id)).all()
            moved = conn.execute(sa.select(task.c.partner_id, task.c.owner_id).where(task.c.origin == "test").order_by(task.c.id)).all()
            details = dict(conn.execute(sa.select(step_log.c.outcome, step_log.c.detail).where(step_log.c.step.in_(["hand", "solo"]))).all())
    # P1, P4, P5 are owned by active sales users already; P2's owner (szabo) is inactive: the least loaded, nagy, takes it.
    assert [steps[p][0] for p in (1, 2, 4, 5)] == [("hand", "unchanged"), ("hand", "reassigned"), ("hand", "unchanged"), ("hand", "unchanged")]
    assert steps[3] == [("hand", "not_reassigned"), ("solo", "reassigned"), ("end", "done")]
    assert details["not_reassigned"] == "no active user of the role finance"
    assert details["reassigned"] in ("szabo → nagy, 1 open task(s) moved", "nobody → kovacs")
    assert owners == {1: "kovacs", 2: "nagy", 3: "kovacs", 4: "nagy", 5: "kovacs"}
    assert moved == [(1, 1), (5, 1), (2, 3)], "the old owner's open task about P2 went with the account"
    assert [(e["partner_id"], e["from_user_id"], e["to_user_id"], e["step"], e["tasks_moved"]) for e in events] == [
        (2, 2, 3, "hand", 1),
        (3, None, 1, "solo", 0),
    ]
    assert events[0]["reason"] == "Nagy ügyfél, új kapcsolattartó" and events[0]["enrolment_id"] is not None
    assert events[0]["by"] == "chain handover, step hand"
    assert tasks == [
        (1, 1, "Hívd fel: Példa Kft. (Kovács Anna)"),
        (2, 3, "Hívd fel: Minta Bt. (Nagy Éva)"),
        (4, 3, "Hívd fel: Teszt Zrt. (Nagy Éva)"),
        (5, 1, "Hívd fel: Árvíztűrő Kft. (Kovács Anna)"),
    ]
    assert second.moved == 0 and first.steps[("handover", "hand", "reassigned")] == 1, "a step runs once per enrolment"


@pytest.mark.parametrize(
    ("login", "words"),
    [
        ("nincs_ilyen", "no ERP user with the login 'nincs_ilyen'"),
        ("szabo", "szabo is not an active ERP user"),
        ("x' OR '1'='1", "no ERP user with the login"),
        ("kovacs'; DROP TABLE crm_partner_owner; --", "no ERP user with the login"),
        ("nagy\x00", "no ERP user with the login"),
        ("k" * 100_000, "no ERP user with the login"),
        ("", "no ERP user with the login ''"),
    ],
)
def test_hostile_or_unknown_logins_are_refused_with_nothing_changed(overlay_url: str, login: str, words: str) -> None:
    with chain_overlay(overlay_url) as overlay:
        with pytest.raises(UserError, match=words) as caught, overlay.begin_writing() as conn:
            set_owner(conn, 1, login, by())
        with overlay.connect() as conn:
            rows = (
                conn.execute(sa.select(sa.func.count()).select_from(partner_owner)).scalar(),
                conn.execute(sa.select(sa.func.count()).select_from(partner_owner_event)).scalar(),
            )
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400 and rows == (0, 0)


@pytest.mark.parametrize(
    ("reason", "kept"),
    [
        ("'); DELETE FROM crm_partner_owner_event; --", "'); DELETE FROM crm_partner_owner_event; --"),
        ("{{ 7*7 }} <script>alert(1)</script>", "{{ 7*7 }} <script>alert(1)</script>"),
        ("  Árvíztűrő tükörfúrógép  ", "Árvíztűrő tükörfúrógép"),
        ("a\x00b", None),
        ("egy\nkettő", None),
        ("x" * 2001, None),
    ],
)
def test_reasons_are_kept_verbatim_or_refused_in_one_line(overlay_url: str, reason: str, kept: str | None) -> None:
    from erp_crm.automation.owners import checked_reason

    with chain_overlay(overlay_url) as overlay:
        if kept is None:
            with pytest.raises(UserError, match="reason") as caught:
                checked_reason(reason)
            assert "\n" not in str(caught.value)
            return
        with overlay.begin_writing() as conn:
            set_owner(conn, 1, "nagy", by(reason=checked_reason(reason)))
            (event,) = owner_history(conn, 1)
    assert event["reason"] == kept


def _racer(overlay: Overlay, logins: list[str]) -> None:
    for n, login in enumerate(logins):
        with overlay.begin_writing() as conn:
            set_owner(conn, 1, login, by(who=f"racer-{login}-{n}", at=T0 + dt.timedelta(seconds=n)))


def test_two_writers_at_once_on_postgresql_leave_one_owner_and_a_complete_history(pg_url: str) -> None:
    with chain_overlay(pg_url) as overlay:
        plans = [["nagy", "kovacs"] * 15, ["kovacs", "nagy"] * 15]
        with ThreadPoolExecutor(2) as pool:
            for done in [pool.submit(_racer, overlay, plan) for plan in plans]:
                done.result()  # a writer's error fails the test
        with overlay.connect() as conn:
            history = owner_history(conn, 1)
            final = account_owner(conn, 1)
    assert history, "someone changed it"
    chain = [("kovacs", None)] + [(h["to"], h["from"]) for h in history]
    assert all(prev[0] == nxt[1] for prev, nxt in pairwise(chain)), "every change starts where the one before ended"
    assert all(h["from"] != h["to"] for h in history), "no change is recorded that changed nothing"
    assert final["owner"] == history[-1]["to"]


RACE = "trigger: manual\nsteps:\n  - reassign: {to: 'login: %s'}\n"


def test_two_ticks_reassigning_one_partner_at_once_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"to_nagy": RACE % "nagy", "to_kovacs": RACE % "kovacs"})
    with chain_overlay(pg_url) as overlay:
        enrol_all(overlay, home, "to_nagy", [1, 2, 3, 4, 5], T0)
        enrol_all(overlay, home, "to_kovacs", [1, 2, 3, 4, 5], T0)
        reports = ticks_at_once(overlay, runtime(home, roles=ROLES, batch=1), T0, 2)
        with overlay.connect() as conn:
            histories = {p: owner_history(conn, p) for p in range(1, 6)}
            owners = {p: account_owner(conn, p)["owner"] for p in range(1, 6)}
            outcomes = conn.execute(sa.select(step_log.c.outcome, sa.func.count()).group_by(step_log.c.outcome)).all()
    assert sum(r.moved for r in reports) == 10
    assert dict(outcomes)["done"] == 10 and sum(n for o, n in outcomes if o in ("reassigned", "unchanged")) == 10
    for partner_id, history in histories.items():
        if history:
            assert owners[partner_id] == history[-1]["to"]
            assert all(a["to"] == b["from"] for a, b in pairwise(history)), history


def test_two_batches_reassigning_the_same_partners_in_opposite_order_never_deadlock(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reassign step holds its partner's row until the batch commits; batches take partners in one order, so one waits, none is rolled back.

    Each batch claims two enrolments of partners 1 and 2, in opposite orders. Once each
    has reassigned its first partner, it waits (up to two seconds) for the other to have
    done the same: taken in claim order, each would then want the row the other holds.
    """
    home = make_home(tmp_path, {"to_nagy": RACE % "nagy", "to_kovacs": RACE % "kovacs"})
    first_done = threading.Barrier(2)
    reassigned: dict[int, int] = {}
    real = tick_module.reassign

    def held(conn: Any, partner_id: int, *args: Any, **kwargs: Any) -> Any:
        change = real(conn, partner_id, *args, **kwargs)
        me = threading.get_ident()
        reassigned[me] = reassigned.get(me, 0) + 1
        if reassigned[me] == 1:
            with contextlib.suppress(threading.BrokenBarrierError):
                first_done.wait(timeout=2)
        return change

    monkeypatch.setattr(tick_module, "reassign", held)
    with chain_overlay(pg_url) as overlay:
        enrol_all(overlay, home, "to_nagy", [1, 2], T0)  # one batch: partner 1, then 2
        enrol_all(overlay, home, "to_kovacs", [2], T0)  # the other: partner 2, then 1
        enrol_all(overlay, home, "to_kovacs", [1], T0 + dt.timedelta(seconds=1))
        reports = ticks_at_once(overlay, runtime(home, roles=ROLES, batch=2), T0 + dt.timedelta(minutes=1), 2)
        with overlay.connect() as conn:
            done = conn.execute(sa.select(sa.func.count()).select_from(step_log).where(step_log.c.outcome == "done")).scalar_one()
    assert len(reports) == 2, "both ticks ended without an error"
    assert sum(r.moved for r in reports) == 4 and done == 4


def test_a_segment_on_owner_follows_a_change_of_owner(overlay_url: str, tmp_path: Path) -> None:
    registry = runtime(Path("."), roles=ROLES).registry
    config = tmp_path / "no_built_in_segments.yaml"  # no such file: no built-in segments
    with chain_overlay(overlay_url) as overlay:
        with overlay.begin() as conn:
            # a user's segment, as `segments save` keeps it (the seeded segments took the first ids by hand)
            conn.execute(sa.insert(segment).values(id=10, name="nagy_accounts", filter='owner = "nagy"', source="user", updated_at=T0))
        refresh_segments(overlay, config, registry, ["nagy_accounts"], as_of=T0.date())
        with overlay.begin_writing() as conn:
            set_owner(conn, 1, "nagy", by())
        refresh_segments(overlay, config, registry, ["nagy_accounts"], as_of=T0.date())
        with overlay.connect() as conn:
            members = conn.execute(
                sa.select(segment_member.c.partner_id).join(segment).where(segment.c.name == "nagy_accounts", segment_member.c.left_at.is_(None))
            )
            entered = conn.execute(sa.select(segment_event.c.partner_id).join(segment).where(segment.c.name == "nagy_accounts").order_by(segment_event.c.id))
            assert (sorted(members.scalars()), list(entered.scalars())) == ([1, 4], [4, 1]), "the change of owner reached the segment, and chains see P1 enter"


@pytest.mark.parametrize(
    ("to", "roles", "why"),
    [
        ("role: key_accounts", ROLES, "no role 'key_accounts' in chains.roles"),  # the settings changed after the chain was published
        ("role: nobody", ROLES, "no active user of the role nobody"),
        ("role: finance", ROLES, "no active user of the role finance"),  # szabo only, and szabo has left
        ("login: szabo", ROLES, "szabo is not an active user"),
        ("login: senki", ROLES, "no ERP user 'senki'"),
    ],
)
def test_a_step_that_finds_nobody_changes_nothing_and_says_why(overlay_url: str, to: str, roles: dict[str, tuple[str, ...]], why: str) -> None:
    from erp_crm.automation.owners import reassign

    with chain_overlay(overlay_url) as overlay:
        with overlay.begin_writing() as conn:
            change = reassign(conn, 1, to, roles, by())
        with overlay.connect() as conn:
            events = conn.execute(sa.select(sa.func.count()).select_from(partner_owner_event)).scalar()
    assert (change.outcome, change.before, change.after, change.detail, events) == ("not_reassigned", "kovacs", "kovacs", why, 0)


def test_naming_the_salesperson_while_a_departed_crm_owner_stands_replaces_that_owner(overlay_url: str) -> None:
    with chain_overlay(overlay_url) as overlay:
        with overlay.begin_writing() as conn:
            set_owner(conn, 1, "nagy", by())
        set_active(overlay, "nagy", False)
        with overlay.begin_writing() as conn:
            change = set_owner(conn, 1, "kovacs", by(reason="kovacs marad"))
        set_active(overlay, "nagy", True)  # nagy comes back: P1 stays kovacs's, as the last change said
        assert (change.outcome, owner_login(overlay, 1)) == ("reassigned", "kovacs")
