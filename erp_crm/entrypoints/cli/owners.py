"""`erp-crm owners`: who looks after a partner, set in the CRM over the ERP's salesperson, and every change of it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.engine import Connection

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.entrypoints.cli.tasks import LOGIN

if TYPE_CHECKING:
    from erp_crm.automation.owners import Actor, OwnerChange

PARTNER = click.option("--partner", "partner_key", required=True, help="The partner's ERP key.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
REASON = click.option("--reason", required=True, help="Why (kept in the history).")
WITH_TASKS = click.option("--with-tasks", is_flag=True, help="Also hand the partner's open tasks of the old owner to the new one.")


@click.group()
def owners() -> None:
    """Account owners: the CRM's choice of who looks after a partner, over the ERP's salesperson."""


def _read(obj: Context, partner_key: str, as_json: bool, query: Callable[[Connection, int], Any]) -> Any:
    """What `query` says of the partner; printed as JSON (and None returned) when asked for JSON."""
    from erp_crm.automation.chain_store import partner_by_key

    with obj.overlay.connect() as conn:
        found = query(conn, partner_by_key(conn, partner_key))
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False, default=str))
        return None
    return found


@owners.command()
@PARTNER
@JSON
@pass_ctx
def show(obj: Context, partner_key: str, as_json: bool) -> None:
    """Whose the partner is: the CRM's owner while active, else the ERP's salesperson."""
    from erp_crm.queries.owners import account_owner

    found = _read(obj, partner_key, as_json, account_owner)
    if found is None:
        return
    source = {"crm": "set in the CRM", "erp": "the ERP's salesperson", None: "nobody"}[found["from"]]
    click.echo(f"{found['partner']} {found['name']}: {found['owner'] or 'nobody'} ({source})")
    if found["crm_owner"]:
        state = "" if found["crm_owner_active"] else ", not an active user: the ERP's salesperson stands in"
        click.echo(f"  CRM owner: {found['crm_owner']} since {found['since']:%Y-%m-%d %H:%M} by {found['by']}{state}: {found['reason'] or ''}")
    click.echo(f"  ERP salesperson: {found['erp_salesperson'] or 'none'}")


@owners.command("set")
@PARTNER
@click.option("--to", "to", required=True, help="The ERP login of the active user who takes the account.")
@REASON
@WITH_TASKS
@LOGIN
@pass_ctx
def set_(obj: Context, partner_key: str, to: str, reason: str, with_tasks: bool, login: str | None) -> None:
    """Hand the account to another active ERP user (the ERP is not changed)."""
    from erp_crm.automation.owners import set_owner

    _change(obj, partner_key, reason, login, lambda conn, partner_id, actor: set_owner(conn, partner_id, to, actor, with_tasks=with_tasks))


@owners.command()
@PARTNER
@REASON
@WITH_TASKS
@LOGIN
@pass_ctx
def release(obj: Context, partner_key: str, reason: str, with_tasks: bool, login: str | None) -> None:
    """Hand the account back to the ERP's salesperson."""
    from erp_crm.automation.owners import release_owner

    _change(obj, partner_key, reason, login, lambda conn, partner_id, actor: release_owner(conn, partner_id, actor, with_tasks=with_tasks))


def _change(obj: Context, partner_key: str, reason: str, login: str | None, change: Callable[[Connection, int, Actor], OwnerChange]) -> None:
    from erp_crm.automation.chain_store import partner_by_key
    from erp_crm.automation.outbox import utc_now
    from erp_crm.automation.owners import Actor, checked_reason
    from erp_crm.errors import UserError

    why = checked_reason(reason)
    if why is None:
        raise UserError("a change of owner needs a reason; nothing was changed")
    with obj.overlay.begin_writing() as conn:  # SQLite: the write lock at once, so two people changing owners queue up
        done = change(conn, partner_by_key(conn, partner_key), Actor(login or "cli", why, utc_now()))
    moved = f"; {done.tasks_moved} open task(s) moved" if done.tasks_moved else ""
    if done.outcome == "unchanged":
        click.echo(f"{partner_key}: {done.detail}; nothing was changed")
    else:
        click.echo(f"{partner_key}: {done.before or 'nobody'} → {done.after or 'nobody'}{moved}")


@owners.command()
@PARTNER
@JSON
@pass_ctx
def history(obj: Context, partner_key: str, as_json: bool) -> None:
    """Every change of the partner's owner: from, to, when, by whom, why, which chain step."""
    from erp_crm.queries.owners import owner_history

    rows = _read(obj, partner_key, as_json, owner_history)
    if rows is None:
        return
    if not rows:
        click.echo(f"{partner_key}: no change of owner yet")
    for row in rows:
        step = f" (step {row['step']}, enrolment {row['enrolment_id']})" if row["step"] else ""
        moved = f", {row['tasks_moved']} task(s) moved" if row["tasks_moved"] else ""
        why = f": {row['reason']}" if row["reason"] else ""
        click.echo(f"{row['at']:%Y-%m-%d %H:%M} {row['kind']} {row['from'] or 'nobody'} → {row['to'] or 'nobody'} by {row['by']}{step}{moved}{why}")
