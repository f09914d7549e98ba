"""`erp-crm jobs`: the scheduled jobs of jobs/schedule.yaml: list them, run one now, pause, resume, and their run history.

Exit codes of `jobs run`: 0 every run ended well, 1 a run failed, 2 a mistake in the
command or the settings, 4 the job was skipped because the same work is running
elsewhere (try again later).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any
from zoneinfo import ZoneInfo

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.entrypoints.cli.options import Count
from erp_crm.errors import UserError
from erp_crm.queries.jobs import job_history, job_states, latest_runs
from erp_crm.settings.schedule import SCHEDULE_FILE, Job, Schedule

FAILED, SKIPPED = 1, 4


@click.group()
def jobs() -> None:
    """The scheduled jobs (jobs/schedule.yaml): what runs when, what ran, and how it ended."""


def _known(schedule: Schedule, name: str) -> str:
    if name not in schedule.jobs:
        known = ", ".join(schedule.jobs) or "none"
        raise UserError(f"no job {name[:60]!r} in {SCHEDULE_FILE} (jobs: {known})")
    return name


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def list_(obj: Context, as_json: bool) -> None:
    """Every job: what it runs, when, its last run and next time, paused or not."""
    rows = job_table(obj)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    click.echo(f"{'job':<18} {'runs':<16} {'when':<22} {'last run':<28} {'next (' + obj.schedule.time_zone + ')':<26}")
    for row in rows:
        last = row["last"]
        last_text = f"{last['status']} {last['started_at']:%Y-%m-%d %H:%M} UTC" if last else "never"
        state = "PAUSED" if row["paused"] else (row["next"] or "-")
        failures = f"  ({row['failures']} failures in a row)" if row["failures"] else ""
        click.echo(f"{row['job']:<18} {row['kind']:<16} {row['when']:<22} {last_text:<28} {state:<26}{failures}")


def job_table(obj: Context) -> list[dict[str, Any]]:
    from erp_crm.scheduling.triggers import job_trigger

    schedule = obj.schedule
    zone = ZoneInfo(schedule.time_zone)
    with obj.overlay.connect() as conn:
        last, states = latest_runs(conn), job_states(conn)
    now = dt.datetime.now(zone)
    rows = []
    for name, job in schedule.jobs.items():
        nxt = _next_time(job, job_trigger(job, zone), last.get(name), now)
        state = states.get(name, {})
        rows.append({
            "job": name, "kind": schedule.kind(name), "when": describe_when(job), "paused": bool(state.get("paused")),
            "paused_reason": state.get("paused_reason"), "failures": state.get("failures", 0), "last": last.get(name),
            "next": f"{nxt:%Y-%m-%d %H:%M}" if nxt else None,
        })  # fmt: skip
    return rows


def _next_time(job: Job, trigger: Any, last: dict[str, Any] | None, now: dt.datetime) -> dt.datetime | None:
    """When the job runs next as far as the schedule says: an interval counts from its last run (a running scheduler's clock)."""
    if trigger is None:
        return None
    if job.every is not None and last is not None:
        due = last["started_at"].replace(tzinfo=dt.UTC) + dt.timedelta(seconds=job.every)
        return max(due, now).astimezone(now.tzinfo)
    return trigger.get_next_fire_time(None, now)


def describe_when(job: Job) -> str:
    parts = []
    if job.cron:
        parts.append(f"cron {job.cron}")
    if job.every:
        parts.append(f"every {_duration(job.every)}")
    if job.after:
        parts.append("after " + ", ".join(job.after))
    return "; ".join(parts)


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@jobs.command("run")
@click.argument("name")
@click.option("--alone", is_flag=True, help="Do not run the jobs that follow it (after: in the schedule).")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@pass_ctx
def run(obj: Context, name: str, alone: bool, as_json: bool) -> None:
    """Run job NAME now, in this process, logged as any run (and then the jobs that follow it)."""
    from erp_crm.scheduling.runner import BY_HAND, Runner

    _known(obj.schedule, name)
    results = Runner(obj.overlay, obj.settings, obj.schedule).run(name, BY_HAND, follow=not alone)
    if as_json:
        click.echo(json.dumps([_result(r) for r in results], indent=2, ensure_ascii=False, default=str))
    else:
        for result in results:
            handled = f", {result.outcome.handled} handled" if result.outcome else ""
            run_id = f" (run {result.run_id})" if result.run_id else ""
            click.echo(f"{result.job}: {result.status}{handled}{run_id}")
            if result.error:
                click.echo(f"  {result.error.strip().splitlines()[-1]}", err=True)
    statuses = {r.status for r in results}
    if "failed" in statuses:
        sys.exit(FAILED)
    if "skipped" in statuses:
        sys.exit(SKIPPED)


def _result(result: Any) -> dict[str, Any]:
    return {
        "job": result.job, "status": result.status, "run_id": result.run_id, "error": result.error,
        "handled": result.outcome.handled if result.outcome else None, "detail": result.outcome.detail if result.outcome else None,
    }  # fmt: skip


@jobs.command()
@click.argument("name")
@click.option("--reason", default=None, help="Why, shown by `jobs list --json` and kept until resumed.")
@pass_ctx
def pause(obj: Context, name: str, reason: str | None) -> None:
    """Stop the scheduler from running job NAME until it is resumed (a run under way finishes)."""
    from erp_crm.scheduling.runs import set_paused

    was = set_paused(obj.overlay, _known(obj.schedule, name), True, (reason or "")[:500] or None)
    click.echo(f"{name} was already paused" if was else f"{name} paused: the scheduler will not run it until `erp-crm jobs resume {name}`")


@jobs.command()
@click.argument("name")
@pass_ctx
def resume(obj: Context, name: str) -> None:
    """Let the scheduler run job NAME again at its next time."""
    from erp_crm.scheduling.runs import set_paused

    was = set_paused(obj.overlay, _known(obj.schedule, name), False)
    click.echo(f"{name} resumed" if was else f"{name} was not paused")


@jobs.command()
@click.argument("name", required=False)
@click.option("--limit", default=20, show_default=True, type=Count(1, 100_000, "runs"), help="At most this many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with each error whole).")
@pass_ctx
def history(obj: Context, name: str | None, limit: int, as_json: bool) -> None:
    """The latest runs (of job NAME, or of all): start, length, cause, status, what they handled, why they failed."""
    with obj.overlay.connect() as conn:
        rows = job_history(conn, name, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    if not rows:
        click.echo("no runs yet" + (f" of {name}" if name else ""))
    for row in rows:
        seconds = f"{row['seconds']:.1f}s" if row["seconds"] is not None else "-"
        handled = row["handled"] if row["handled"] is not None else "-"
        click.echo(f"{row['id']:>7} {row['job']:<18} {row['started_at']:%Y-%m-%d %H:%M:%S} {seconds:>8} {row['status']:<8} {handled!s:>9}  {row['cause']}")
        if row["error"]:
            click.echo(f"        {row['error'].strip().splitlines()[-1][:300]}")
