"""Account owners (docs/owners.md): hand a partner to another person in the CRM, or back to the ERP's salesperson.

The ERP's salesperson is read-only here; the CRM's owner overrides it (see
`erp_crm.model.account_owner`). Every change is one event row written in the caller's
transaction, beside the owner row itself, so the history can never miss a change nor
show one that did not happen. Changes of one partner are serialised by locking its
overlay row (`FOR UPDATE` on PostgreSQL; SQLite has one writer at a time): two ticks or
two people reassigning the same partner at once leave one owner and a history whose
every "from" is the previous "to".

A person's mistake (an unknown or inactive user, a reason that is not text) is refused
with nothing changed. A chain step has no one to tell: it records `not_reassigned` with
the reason in its step log instead, and the chain goes on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.automation.tasks import erp_user, hand_over
from erp_crm.errors import UserError
from erp_crm.model.account_owner import active_user, effective_owner_id
from erp_crm.model.tables.chains import task
from erp_crm.model.tables.owners import partner_owner, partner_owner_event
from erp_crm.model.tables.synced import SYNCED
from erp_crm.store.change_feed import record_partners
from erp_crm.yamlfile import UNSAFE_CHARACTER

LONGEST_REASON = 2000
LOGIN = re.compile(r"[^\s\x00-\x1f\x7f-\x9f]{1,200}")  # as `chains.roles` takes them: anything else names no ERP user
FEED_ENTITY = "owner"  # what the partner change feed says changed: the `owner` filter field reads it


@dataclass(frozen=True)
class Actor:
    """Who changes an owner and why: a person's login (or `cli`), or a chain step with its enrolment."""

    by: str
    reason: str | None
    now: dt.datetime
    enrolment_id: int | None = None
    step: str | None = None


@dataclass(frozen=True)
class OwnerChange:
    outcome: str  # reassigned, released, unchanged, not_reassigned
    before: str | None  # the effective owner's login before (None: nobody)
    after: str | None
    detail: str
    tasks_moved: int = 0


def checked_reason(reason: str | None) -> str | None:
    """A reason as kept: one line of text without control characters, at most LONGEST_REASON characters."""
    if reason is None:
        return None
    if UNSAFE_CHARACTER.search(reason) or "\n" in reason or "\r" in reason:
        raise UserError("the reason holds a control character or a line break; write it as one line of text; nothing was changed")
    if len(reason) > LONGEST_REASON:
        raise UserError(f"the reason is {len(reason):,} characters long: at most {LONGEST_REASON:,}; nothing was changed")
    return reason.strip() or None


def set_owner(conn: Connection, partner_id: int, login: str, actor: Actor, *, with_tasks: bool = False) -> OwnerChange:
    """Make the active ERP user `login` the partner's owner (a person asked: refused with a UserError for anyone else)."""
    target = erp_user(conn, login) if LOGIN.fullmatch(login) else None
    if target is None:
        shown = repr(login) if len(login) <= 60 else repr(login[:59] + "…")
        raise UserError(f"no ERP user with the login {shown}; nothing was changed")
    if target.active is False:
        raise UserError(f"{target.login} is not an active ERP user; nothing was changed")
    return _assign(conn, partner_id, target, actor, with_tasks)


def release_owner(conn: Connection, partner_id: int, actor: Actor, *, with_tasks: bool = False) -> OwnerChange:
    """Hand the account back to the ERP's salesperson: the CRM's owner row goes, the event stays."""
    before = _locked_owner(conn, partner_id)
    crm_user = conn.execute(sa.select(partner_owner.c.user_id).where(partner_owner.c.partner_id == partner_id)).scalar()
    if crm_user is None:
        return OwnerChange("unchanged", before.login, before.login, "no CRM owner: the account is the ERP salesperson's already")
    conn.execute(sa.delete(partner_owner).where(partner_owner.c.partner_id == partner_id))
    after = _effective(conn, partner_id)
    moved = _move_tasks(conn, partner_id, before, after, actor) if with_tasks else 0
    _record(conn, partner_id, "released", before, after, actor, moved)
    return OwnerChange("released", before.login, after.login, f"back to the ERP's salesperson: {after.login or 'nobody'}", moved)


def reassign(conn: Connection, partner_id: int, to: str, roles: Mapping[str, Sequence[str]], actor: Actor, *, with_tasks: bool = False) -> OwnerChange:
    """A chain's `reassign` step: `to` is `login: NAME` or `role: NAME`; nobody to take it is an outcome, not an error.

    For a role, an owner who is an active user of it keeps the account: the step asks for
    someone of the role, and moving customers between colleagues for the sake of a count
    of tasks would only churn them. Otherwise the least loaded active user of the role takes it.
    """
    kind, _, name = to.partition(":")
    name = name.strip()
    current = _locked_owner(conn, partner_id)
    if kind == "login":
        target = erp_user(conn, name)
        if target is None or target.active is False:
            why = f"no ERP user {name!r}" if target is None else f"{name} is not an active user"
            return OwnerChange("not_reassigned", current.login, current.login, why)
    else:
        members = roles.get(name, ())
        if current.active and current.login in members:
            return OwnerChange("unchanged", current.login, current.login, f"the account is {current.login}'s already, of the role {name}")
        target = least_loaded(conn, members)
        if target is None:
            why = f"no role {name!r} in chains.roles" if name not in roles else f"no active user of the role {name}"
            return OwnerChange("not_reassigned", current.login, current.login, why)
    return _assign(conn, partner_id, target, actor, with_tasks)


def least_loaded(conn: Connection, logins: Sequence[str]) -> Any:
    """Of the active ERP users among `logins`, the one with the fewest open tasks (ties: the first login in order); None if none is active."""
    if not logins:
        return None
    user = SYNCED["user"]
    open_tasks = sa.func.count(task.c.id)
    query = (
        sa.select(user.c.id, user.c.login, user.c.active)
        .outerjoin(task, sa.and_(task.c.owner_id == user.c.id, task.c.status == "open"))
        .where(user.c.login.in_(list(logins)), active_user(user))
        .group_by(user.c.id, user.c.login, user.c.active)
        .order_by(open_tasks, user.c.login, user.c.id)
        .limit(1)
    )
    return conn.execute(query).first()


@dataclass(frozen=True)
class _Owner:
    id: int | None
    login: str | None
    active: bool = False


def _assign(conn: Connection, partner_id: int, target: Any, actor: Actor, with_tasks: bool) -> OwnerChange:
    before = _locked_owner(conn, partner_id)
    crm_user = conn.execute(sa.select(partner_owner.c.user_id).where(partner_owner.c.partner_id == partner_id)).scalar()
    if before.id == target.id and crm_user in (None, target.id):  # a CRM owner who left would come back with the user: replaced
        return OwnerChange("unchanged", before.login, before.login, f"the account is {target.login}'s already")
    values = {"user_id": target.id, "since": actor.now, "by": actor.by[:200], "reason": actor.reason}
    if conn.execute(sa.update(partner_owner).where(partner_owner.c.partner_id == partner_id).values(values)).rowcount == 0:
        conn.execute(sa.insert(partner_owner).values(partner_id=partner_id, **values))
    after = _Owner(target.id, target.login, True)
    moved = _move_tasks(conn, partner_id, before, after, actor) if with_tasks else 0
    _record(conn, partner_id, "assigned", before, after, actor, moved)
    return OwnerChange("reassigned", before.login, after.login, f"{before.login or 'nobody'} → {after.login}", moved)


def _locked_owner(conn: Connection, partner_id: int) -> _Owner:
    """Lock the partner's row for the rest of the transaction, then read its owner as it stands once the lock is held."""
    partner = SYNCED["partner"]
    if conn.execute(sa.select(partner.c.id).where(partner.c.id == partner_id).with_for_update()).first() is None:
        raise UserError(f"no partner {partner_id}; nothing was changed")
    return _effective(conn, partner_id)  # a statement of its own: on PostgreSQL it sees what the transaction we waited for wrote


def _effective(conn: Connection, partner_id: int) -> _Owner:
    partner, user = SYNCED["partner"], SYNCED["user"]
    owner_id = effective_owner_id(partner)
    query = sa.select(owner_id, user.c.login, active_user(user)).select_from(partner).outerjoin(user, user.c.id == owner_id).where(partner.c.id == partner_id)
    found = conn.execute(query).one()
    return _Owner(found[0], found[1], bool(found[1] is not None and found[2]))


def _move_tasks(conn: Connection, partner_id: int, before: _Owner, after: _Owner, actor: Actor) -> int:
    """Hand the partner's open tasks that were the old owner's to the new one, each with its own task event."""
    if before.id is None or after.login is None or before.id == after.id:
        return 0
    ids = conn.execute(sa.select(task.c.id).where(task.c.partner_id == partner_id, task.c.owner_id == before.id, task.c.status == "open")).scalars().all()
    for task_id in ids:
        hand_over(conn, task_id, after.login, actor.reason or "the account changed owner", actor.by, actor.now)
    return len(ids)


def _record(conn: Connection, partner_id: int, kind: str, before: _Owner, after: _Owner, actor: Actor, moved: int) -> None:
    conn.execute(
        sa.insert(partner_owner_event).values(
            partner_id=partner_id, kind=kind, from_user_id=before.id, to_user_id=after.id, at=actor.now, by=actor.by[:200],
            reason=actor.reason, enrolment_id=actor.enrolment_id, step=actor.step, tasks_moved=moved,
        )
    )  # fmt: skip
    # The feed is stamped on the machine's clock, as the sync and the segment refresh that reads it stamp theirs.
    record_partners(conn, FEED_ENTITY, [partner_id], dt.datetime.now())
