"""`erp-crm tasks`: the tasks chains (and people) make, to see, postpone, hand over and complete."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.entrypoints.cli.options import Count, Day
from erp_crm.model.tables.chains import TASK_STATUSES
from erp_crm.queries.tasks import task_history
from erp_crm.queries.tasks import tasks as find_tasks

LOGIN = click.option("--login", envvar="ERP_CRM_LOGIN", help="Your ERP login. Default: $ERP_CRM_LOGIN.")
TASK_ID = click.argument("task_id", type=Count(1, 2**31 - 1, "task ids"))


@click.group()
def tasks() -> None:
    """Tasks for people: whose, when due, and every change to them."""


def _show(rows: list[dict[str, Any]], as_json: bool, empty: str) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    if not rows:
        click.echo(empty)
    for row in rows:
        owner = row["owner"] or f"role {row['role']}"
        partner = f" [{row['partner_key']} {row['partner']}]" if row["partner_key"] else ""
        click.echo(f"#{row['id']} {row['due_on']} {row['priority']:<6} {row['status']:<9} {owner}: {row['title']}{partner}")


@tasks.command()
@LOGIN
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def mine(obj: Context, login: str | None, as_json: bool) -> None:
    """Your open tasks, soonest due first."""
    if not login:
        raise click.UsageError("say who you are: --login NAME or $ERP_CRM_LOGIN")
    with obj.overlay.connect() as conn:
        rows = find_tasks(conn, login=login)
    _show(rows, as_json, f"{login} has no open tasks")


@tasks.command()
@click.option("--login", help="Only this ERP user's.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def overdue(obj: Context, login: str | None, as_json: bool) -> None:
    """Open tasks whose due day has passed."""
    with obj.overlay.connect() as conn:
        rows = find_tasks(conn, login=login, overdue_on=dt.date.today())
    _show(rows, as_json, "no task is overdue")


@tasks.command("list")
@click.option("--login", help="Only this ERP user's.")
@click.option("--role", help="Only those waiting for someone of this role.")
@click.option("--status", type=click.Choice([*TASK_STATUSES, "any"]), default="open", show_default=True)
@click.option("--limit", type=Count(1, 100_000, "tasks"), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def list_(obj: Context, login: str | None, role: str | None, status: str, limit: int, as_json: bool) -> None:
    """Tasks, soonest due first."""
    with obj.overlay.connect() as conn:
        rows = find_tasks(conn, login=login, role=role, status=None if status == "any" else status, limit=limit)
    _show(rows, as_json, "no tasks")


@tasks.command()
@TASK_ID
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def history(obj: Context, task_id: int, as_json: bool) -> None:
    """Every change of one task."""
    with obj.overlay.connect() as conn:
        rows = task_history(conn, task_id)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    if not rows:
        raise click.UsageError(f"no task {task_id}")
    for row in rows:
        change = f"{row['before']} → {row['after']}" if row["before"] else (row["after"] or "")
        click.echo(f"{row['at']:%Y-%m-%d %H:%M} {row['kind']} by {row['by']}: {change}" + (f" ({row['reason']})" if row["reason"] else ""))


@tasks.command()
@TASK_ID
@click.option("--to", "to", type=Day(), required=True, help="The new due day (YYYY-MM-DD), today or later.")
@click.option("--reason", required=True, help="Why it waits.")
@LOGIN
@pass_ctx
def postpone(obj: Context, task_id: int, to: dt.date, reason: str, login: str | None) -> None:
    """Move a task's due day; the old day and the reason are kept."""
    from erp_crm.automation.outbox import utc_now
    from erp_crm.automation.tasks import postpone as postpone_task

    with obj.overlay.begin() as conn:
        postpone_task(conn, task_id, to, reason, login or "cli", dt.date.today(), utc_now())
    click.echo(f"task {task_id} is due {to}")


@tasks.command()
@TASK_ID
@click.option("--to", "to", required=True, help="The ERP login of the active user who takes it over.")
@click.option("--reason", default="", help="Why.")
@LOGIN
@pass_ctx
def handover(obj: Context, task_id: int, to: str, reason: str, login: str | None) -> None:
    """Give a task to another active ERP user."""
    from erp_crm.automation.outbox import utc_now
    from erp_crm.automation.tasks import hand_over

    with obj.overlay.begin() as conn:
        hand_over(conn, task_id, to, reason, login or "cli", utc_now())
    click.echo(f"task {task_id} is now {to}'s")


@tasks.command()
@TASK_ID
@click.option("--note", default="", help="What was done.")
@LOGIN
@pass_ctx
def done(obj: Context, task_id: int, note: str, login: str | None) -> None:
    """Complete a task."""
    from erp_crm.automation.outbox import utc_now
    from erp_crm.automation.tasks import finish

    with obj.overlay.begin() as conn:
        finish(conn, task_id, login or "cli", note, utc_now())
    click.echo(f"task {task_id} is done")
