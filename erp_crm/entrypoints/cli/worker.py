"""`erp-crm worker`: the chain tick, the outbox dispatch and the metrics run in rounds, until stopped; on PostgreSQL any number of workers share them."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from erp_crm.entrypoints.cli.chains import chain_runtime, format_tick
from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.entrypoints.cli.metrics import format_report
from erp_crm.entrypoints.cli.outbox import format_dispatch

if TYPE_CHECKING:
    from erp_crm.workers.work import Round, Work

KINDS = ("tick", "dispatch", "metrics")


@click.command()
@click.option("--only", "kinds", multiple=True, type=click.Choice(KINDS), help="Only this work (may be repeated); default: all of it.")
@click.option("--once", is_flag=True, help="Work until nothing is due, then exit (exit 1 if a round failed).")
@pass_ctx
def worker(obj: Context, kinds: tuple[str, ...], once: bool) -> None:
    """Move due chain enrolments on, send due messages and run the metrics when due, in rounds, until SIGTERM or Ctrl-C (the round in hand is finished first).

    On PostgreSQL start as many as the load needs, on any machines: they share the tick
    and the outbox through row locks, and one at a time runs the metrics. On SQLite one
    worker runs at a time.
    """
    from erp_crm.workers.loop import alone_on_sqlite, run_worker
    from erp_crm.workers.stopping import Stop

    works = _works(obj, kinds or KINDS)
    overlay = obj.overlay
    sharing = "shares the work with every other worker" if overlay.dialect == "postgresql" else "the only worker this SQLite overlay allows"
    with Stop().on_signals() as stop, alone_on_sqlite(overlay):
        click.echo(f"worker {socket.gethostname()}:{os.getpid()}: {', '.join(w.kind for w in works)} on {overlay.label}; {sharing}")
        report = run_worker(works, stop, once=once, say=_say)
    done = ", ".join(f"{report.done[w.kind]} {NOUNS[w.kind]}" for w in works)
    errors = sum(report.errors.values())
    click.echo(f"worker stopped ({report.stopped_by or 'nothing more to do'}): {done}" + (f"; {errors} rounds failed" if errors else ""))
    if once and errors:
        sys.exit(1)


NOUNS = {"tick": "enrolments moved on", "dispatch": "messages handled", "metrics": "metrics runs"}


def _works(obj: Context, kinds: tuple[str, ...]) -> list[Work]:
    """The work asked for, wired as `chains tick` and `outbox dispatch` wire it."""
    from erp_crm.automation.senders import configured_senders
    from erp_crm.workers.work import ChainTicks, OutboxRounds

    settings = obj.settings
    works: list[Work] = []
    if "tick" in kinds:
        works.append(ChainTicks(obj.overlay, chain_runtime(settings)))
    if "dispatch" in kinds:
        senders = configured_senders(email=settings.email, sms=settings.sms, webhooks=settings.webhooks)
        works.append(OutboxRounds(obj.overlay, settings.outbox, senders, settings.consent))
    if "metrics" in kinds:
        from erp_crm.workers.metrics_runs import MetricsRuns

        works.append(MetricsRuns(obj.overlay, settings.metrics, settings.erp.source))
    return works


SAY: dict[str, Callable[[Any], str]] = {
    "tick": lambda report: f"tick: {format_tick(report)}",
    "dispatch": lambda report: format_dispatch(report.as_dict()),
    "metrics": format_report,
}


def _say(result: Round) -> None:
    """A round worth a line: a tick's summary, a dispatch round's, a metrics run's, or why a round failed (on stderr)."""
    if result.report is not None:
        click.echo(SAY[result.kind](result.report))
    if result.error and result.report is None:  # a dispatch report says its own
        click.echo(f"{result.kind}: {result.error}; tried again later", err=True)
