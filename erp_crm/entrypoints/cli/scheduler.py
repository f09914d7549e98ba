"""`erp-crm scheduler`: run the jobs of jobs/schedule.yaml unattended (one leader, any number of standbys), and see who leads.

Exit codes of `scheduler run`: 0 stopped by SIGTERM or Ctrl-C, 1 the lease was lost
(another scheduler leads now; a service manager should start this one again, and it
waits as a standby), 2 a mistake in the settings or the schedule.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import threading

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx


@click.group()
def scheduler() -> None:
    """The scheduler that runs the jobs of jobs/schedule.yaml: one leads, others wait as standbys."""


@scheduler.command("run")
@pass_ctx
def run(obj: Context) -> None:
    """Run the schedule until stopped (SIGTERM, Ctrl-C); wait as a standby while another scheduler leads."""
    from erp_crm.scheduling.scheduler import run_scheduler

    settings, schedule, overlay = obj.settings, obj.schedule, obj.overlay  # every mistake in them is said before anything starts
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    code = run_scheduler(overlay, settings, schedule, stop, say)
    say("stopped")
    raise SystemExit(code)


def say(text: str) -> None:
    click.echo(f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z} scheduler: {text}")


@scheduler.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def status(obj: Context, as_json: bool) -> None:
    """Who leads (host, process, since when) and whether it is alive."""
    from erp_crm.scheduling.lease import current_leader

    leader = current_leader(obj.overlay)
    if as_json:
        click.echo(json.dumps(leader.__dict__ if leader else None, indent=2, default=str))
        return
    if leader is None:
        click.echo("no scheduler leads")
        return
    state = "alive" if leader.alive else "gone (its lease has expired; the next scheduler to start takes over)"
    click.echo(f"leader: {leader.holder}, since {leader.acquired_at:%Y-%m-%d %H:%M:%S} UTC, renewed {leader.renewed_at:%H:%M:%S} UTC: {state}")
