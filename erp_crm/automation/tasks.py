"""Tasks for people: made by chains (or by hand), postponed, handed over and done, every change kept (`crm_task_event`).

An owner is an ERP user from the synced `user` entity. A chain step names the partner's
salesperson, a login, or a role (finance, sales); a task whose person cannot be found
or is no longer active goes to the role instead of to no one, and says why. A person's
action that would lose a task is refused with nothing changed: handing it to an
inactive user, postponing it into the past, changing one that is already done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.errors import UserError
from erp_crm.model.account_owner import effective_owner_id
from erp_crm.model.tables.chains import task, task_event
from erp_crm.model.tables.synced import SYNCED

FALLBACK_ROLE = "sales"


@dataclass(frozen=True)
class Owner:
    user_id: int | None
    role: str | None
    note: str | None = None  # why the task went to a role rather than the person named


def chain_owner(conn: Connection, spec: str, partner_id: int) -> Owner:
    """Whom a chain's `owner:` means for this partner: `salesperson` (the account's owner), `login: NAME` or `role: NAME`."""
    user, partner = SYNCED["user"], SYNCED["partner"]
    if spec.startswith("role:"):
        return Owner(None, spec.partition(":")[2].strip())
    if spec == "salesperson":
        found = conn.execute(
            sa.select(user.c.id, user.c.login, user.c.active)
            .select_from(partner)
            .join(user, user.c.id == effective_owner_id(partner))
            .where(partner.c.id == partner_id)
        ).first()
        missing = "the partner has no salesperson"
    else:
        login = spec.partition(":")[2].strip()
        found = erp_user(conn, login)
        missing = f"no ERP user {login!r}"
    if found is None:
        return Owner(None, FALLBACK_ROLE, f"{missing}: given to the {FALLBACK_ROLE} role")
    if found.active is False:
        return Owner(None, FALLBACK_ROLE, f"{found.login} is not an active user: given to the {FALLBACK_ROLE} role")
    return Owner(found.id, None)


def create_task(
    conn: Connection,
    *,
    title: str,
    note: str | None,
    partner_id: int | None,
    owner: Owner,
    due_on: dt.date,
    priority: str,
    origin: str,
    enrolment_id: int | None,
    now: dt.datetime,
) -> int:
    row = {
        "title": title[:500],
        "note": "\n".join(filter(None, [note, owner.note])) or None,
        "partner_id": partner_id,
        "owner_id": owner.user_id,
        "role": owner.role,
        "due_on": due_on,
        "priority": priority,
        "status": "open",
        "origin": origin[:200],
        "enrolment_id": enrolment_id,
        "created_at": now,
    }
    task_id = int(conn.execute(sa.insert(task).values(row).returning(task.c.id)).scalar_one())
    _event(conn, task_id, "created", origin, None, f"due {due_on}", owner.note, now)
    return task_id


def postpone(conn: Connection, task_id: int, to: dt.date, reason: str, by: str, today: dt.date, now: dt.datetime) -> None:
    found = _open_task(conn, task_id)
    if to < today:
        raise UserError(f"task {task_id}: {to} is in the past (today is {today}); nothing was changed")
    if not reason.strip():
        raise UserError(f"task {task_id}: a postponement needs a reason; nothing was changed")
    conn.execute(sa.update(task).where(task.c.id == task_id).values(due_on=to))
    _event(conn, task_id, "postponed", by, str(found.due_on), str(to), reason, now)


def hand_over(conn: Connection, task_id: int, login: str, reason: str, by: str, now: dt.datetime) -> None:
    found = _open_task(conn, task_id)
    user = SYNCED["user"]
    target = erp_user(conn, login)
    if target is None:
        raise UserError(f"task {task_id}: no ERP user with the login {login!r}; nothing was changed")
    if target.active is False:
        raise UserError(f"task {task_id}: {login} is not an active ERP user; nothing was changed")
    before = conn.execute(sa.select(user.c.login).where(user.c.id == found.owner_id)).scalar() if found.owner_id else f"role {found.role}"
    conn.execute(sa.update(task).where(task.c.id == task_id).values(owner_id=target.id, role=None))
    _event(conn, task_id, "handed_over", by, before, login, reason or None, now)


def finish(conn: Connection, task_id: int, by: str, note: str, now: dt.datetime, *, cancelled: bool = False) -> None:
    _open_task(conn, task_id)
    status = "cancelled" if cancelled else "done"
    conn.execute(sa.update(task).where(task.c.id == task_id).values(status=status, finished_at=now))
    _event(conn, task_id, status, by, "open", status, note or None, now)


def erp_user(conn: Connection, login: str) -> Any:
    """The ERP user with `login` still in the ERP (id, login, active), or None."""
    user = SYNCED["user"]
    return conn.execute(sa.select(user.c.id, user.c.login, user.c.active).where(user.c.login == login, user.c.erp_deleted_at.is_(None))).first()


def _open_task(conn: Connection, task_id: int) -> Any:
    found = conn.execute(sa.select(task.c.status, task.c.due_on, task.c.owner_id, task.c.role).where(task.c.id == task_id)).first()
    if found is None:
        raise UserError(f"no task {task_id}; nothing was changed")
    if found.status != "open":
        raise UserError(f"task {task_id} is {found.status}; nothing was changed")
    return found


def _event(conn: Connection, task_id: int, kind: str, by: str, before: str | None, after: str | None, reason: str | None, now: dt.datetime) -> None:
    conn.execute(sa.insert(task_event).values(task_id=task_id, at=now, kind=kind, by=by[:200], before=before, after=after, reason=reason))
