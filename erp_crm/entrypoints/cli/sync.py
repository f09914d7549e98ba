"""`erp-crm check`, `erp-crm sync` and `erp-crm sync quarantine`: the connector, the copy and what it could not take."""

from __future__ import annotations

import json
from typing import Any

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.entrypoints.cli.options import LIMIT
from erp_crm.entrypoints.cli.progress import on_terminal, progress_printer
from erp_crm.model.canonical import ENTITIES
from erp_crm.queries.quarantine import quarantined_count, quarantined_rows
from erp_crm.queries.sync_runs import recent_runs
from erp_crm.sync.engine import Mode, RunReport

COUNT_COLUMNS = ("read", "inserted", "updated", "unchanged", "quarantined", "deleted", "shared_keys")


@click.command()
@click.option("--fields", is_flag=True, help="List the canonical entities and fields a definition can map.")
@pass_ctx
def check(obj: Context, fields: bool) -> None:
    """Test the connector definition against the live ERP: tables, columns, types, read-only access."""
    if fields:
        click.echo(describe_fields())
        return
    from erp_crm.sync.check import check_connector

    report = check_connector(obj.settings.erp, obj.settings.metrics.purchases_from)
    for line in report.lines:
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)


@click.group(invoke_without_command=True)
@click.option("--full", "mode", flag_value="full", help="Read everything again, not only what changed.")
@click.option("--reconcile", "mode", flag_value="reconcile", help="Read everything and also find rows deleted in the ERP.")
@click.option("--entity", "entities", multiple=True, help="Only this entity (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON (no progress).")
@click.pass_context
def sync(ctx: click.Context, mode: Mode | None, entities: tuple[str, ...], as_json: bool) -> None:
    """Copy what changed in the ERP into the overlay."""
    if ctx.invoked_subcommand is not None:
        return
    from erp_crm.sync.definition import load_connector
    from erp_crm.sync.engine import sync_source

    obj: Context = ctx.obj
    definition = load_connector(obj.settings.erp)  # a mistake in the definition is named before the overlay is opened
    show, done = progress_printer(on_terminal(as_json))
    try:
        report = sync_source(obj.overlay, obj.settings.erp, definition, mode=mode or "incremental", entities=entities or None, progress=show)
    finally:
        done()
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else format_report(report))


@sync.command("quarantine")
@click.option("--entity", help="Only this entity.")
@click.option("--limit", default=50, show_default=True, type=LIMIT, help="At most this many rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def quarantine(obj: Context, entity: str | None, limit: int, as_json: bool) -> None:
    """List ERP rows the sync could not take, with the reason and the raw values."""
    source = obj.settings.erp.source
    with obj.overlay.connect() as conn:
        rows = quarantined_rows(conn, source, entity=entity, limit=limit)
        total = quarantined_count(conn, source, entity=entity) if len(rows) == limit else len(rows)
    click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str) if as_json else format_quarantine(rows))
    if total > len(rows):
        more = "raise --limit" if entity else "raise --limit, or list one --entity"
        click.echo(f"note: showing {len(rows):,} of {total:,} quarantined rows: {more}", err=True)


@sync.command("runs")
@click.option("--limit", default=20, show_default=True, type=LIMIT, help="At most this many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def runs(obj: Context, limit: int, as_json: bool) -> None:
    """List the latest sync runs of the source: mode, start, end, status and rows read."""
    source = obj.settings.erp.source
    running_now = obj.overlay.is_locked(f"sync.{source}")
    with obj.overlay.connect() as conn:
        found = recent_runs(conn, source, limit=limit, running_now=running_now)
    click.echo(json.dumps(found, indent=2, ensure_ascii=False, default=str) if as_json else format_runs(found))


def format_runs(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "no sync runs yet: run `erp-crm sync`"
    lines = [f"{'run':>6}  {'mode':<11} {'started':<19}  {'finished':<19}  {'status':<11} {'rows read':>12}"]
    for run in runs:
        read = sum(c.get("read", 0) for c in (run["counts"] or {}).values())
        finished = f"{run['finished_at']:%Y-%m-%d %H:%M:%S}" if run["finished_at"] else "-"
        line = f"{run['id']:>6}  {run['mode']:<11} {run['started_at']:%Y-%m-%d %H:%M:%S}  {finished:<19}  {run['status']:<11} {read:>12,}"
        lines.append(line + (f"  {run['error']}" if run["error"] and run["status"] != "ok" else ""))
    return "\n".join(lines)


def format_report(report: RunReport) -> str:
    """A table of per-entity counts, then one line with the totals."""
    head = f"{'entity':<14}" + "".join(f"{c.replace('_', ' '):>12}" for c in COUNT_COLUMNS) + f"{'seconds':>9}"
    lines = [f"sync run {report.run_id} ({report.mode}) of source {report.source!r}", head, "-" * len(head)]
    for name, counts in report.entities.items():
        lines.append(f"{name:<14}" + "".join(f"{getattr(counts, c):>12,}" for c in COUNT_COLUMNS) + f"{counts.seconds:>9.2f}")
    total_read = sum(c.read for c in report.entities.values())
    rate = total_read / report.seconds if report.seconds else 0.0
    lines.append(f"{total_read:,} rows in {report.seconds:.2f} s ({rate:,.0f} rows/s)")
    shared = sum(c.shared_keys for c in report.entities.values())
    if shared:
        lines.append(f"{shared:,} rows share their key with another row of the ERP and were not taken: the definition's keys are not unique (see `erp-crm check`)")
    if report.quarantine_total:
        lines.append(f"{report.quarantine_total:,} rows wait in quarantine: see `erp-crm sync quarantine`")
    return "\n".join(lines)


def format_quarantine(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "quarantine is empty"
    lines = []
    for row in rows:
        raw = ", ".join(f"{k}={v!r}" for k, v in row["raw"].items())
        lines.append(f"{row['entity']} {row['erp_key'] or '(no key)'}: {row['reason']}\n    since {row['first_seen_at']}; {raw}")
    return "\n".join(lines)


def describe_fields() -> str:
    """The canonical entities and fields, for people writing a definition."""
    lines = []
    for entity in ENTITIES:
        lines.append(f"{entity.name} ({entity.table}): {entity.doc}")
        for f in entity.fields:
            notes = [f.kind.value]
            if f.required:
                notes.append("required")
            if f.ref:
                notes.append(f"ERP key of a {f.ref}")
            if f.choices:
                notes.append("one of " + "/".join(f.choices))
            lines.append(f"  {f.name:<20} {', '.join(notes)}{'  - ' + f.doc if f.doc else ''}")
    return "\n".join(lines)
