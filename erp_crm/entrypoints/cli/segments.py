"""`erp-crm segments`: refresh, list, show and export the named partner filters of config/segments.yaml."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.entrypoints.cli.options import AS_OF
from erp_crm.entrypoints.cli.progress import on_terminal, progress_printer
from erp_crm.i18n import LOCALES, lapse_reasons
from erp_crm.queries.segments import list_segments, members_frame, segment_details
from erp_crm.reports.files import Format, write_table
from erp_crm.segments.configured import refresh_configured
from erp_crm.segments.definitions import SEGMENTS_FILE, config_names

if TYPE_CHECKING:
    from erp_crm.segments.refresh import RefreshReport


@click.group()
def segments() -> None:
    """Named partner filters (config/segments.yaml), their members and entered/left events."""


@segments.command("refresh")
@click.argument("names", nargs=-1)
@click.option("--as-of", "as_of", type=AS_OF, help="Evaluate the filters as of this day (YYYY-MM-DD). Default: the day of the last metrics run (today if metrics have not run).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (no progress).")
@pass_ctx
def refresh(obj: Context, names: tuple[str, ...], as_of: dt.date | None, as_json: bool) -> None:
    """Bring the membership of the named segments (default: all) up to date."""
    show, end = progress_printer(on_terminal(as_json))
    try:
        report = refresh_configured(obj.overlay, obj.settings, names, as_of, show)
    finally:
        end()
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else format_refresh(report))


@segments.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def list_(obj: Context, as_json: bool) -> None:
    """List the segments with their member counts and last refresh."""
    path = obj.home / SEGMENTS_FILE
    configured = config_names(path)
    with obj.overlay.connect() as conn:
        rows = list_segments(conn, configured)
    click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str) if as_json else format_list(rows, configured, path))


@segments.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def show(obj: Context, name: str, as_json: bool) -> None:
    """Show a segment's filter, member count and latest entered/left events."""
    with obj.overlay.connect() as conn:
        details = segment_details(conn, name)
    click.echo(json.dumps(details, indent=2, ensure_ascii=False, default=str) if as_json else format_details(details))


@segments.command("export")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True, help="File format.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write. Default: NAME.csv or NAME.xlsx here.")
@click.option("--separator", type=click.Choice([";", ","]), default=";", show_default=True, help="CSV field separator.")
@click.option("--lang", type=click.Choice(LOCALES), default="hu", show_default=True, help="Language of the lapse reasons.")
@pass_ctx
def export(obj: Context, name: str, fmt: Format, output: Path | None, separator: str, lang: str) -> None:
    """Write a segment's current members with contact data and main metrics, for campaigns."""
    with obj.overlay.connect() as conn:
        frame = members_frame(conn, name)
    frame["lapse_reason"] = [lapse_reasons.render(reason, lang) for reason in frame["lapse_reason"]]
    output = output or Path(f"{name}.{fmt}")
    written = write_table(frame, output, fmt, separator=separator)
    click.echo(f"{written.rows} members of {name} written to {output}")
    for note in written.notes():
        click.echo(f"note: {note}", err=True)


def format_refresh(report: RefreshReport) -> str:
    source = {"metrics": " (the day of the last metrics run)", "today": " (today: metrics have not run yet)"}.get(report.as_of_from, "")
    lines = [f"segments as of {report.as_of}{source}: {len(report.segments)} refreshed in {report.seconds:.2f} s", *(f"note: {n}" for n in report.notes)]
    width = max((len(s.name) for s in report.segments), default=10)
    lines.append(f"  {'segment':<{width}} {'members':>9} {'entered':>9} {'left':>9} {'looked at':>10} {'seconds':>9}")
    for s in report.segments:
        looked = "everyone" if s.looked_at is None else f"{s.looked_at:,}"
        lines.append(f"  {s.name:<{width}} {s.members:>9,} {s.entered:>9,} {s.left:>9,} {looked:>10} {s.seconds:>9.2f}")
    return "\n".join(lines)


def format_list(rows: list[dict[str, Any]], configured: list[str], path: Path) -> str:
    """One line per stored segment, then the configured ones never refreshed."""
    stored = {r["name"] for r in rows}
    pending = [n for n in configured if n not in stored]
    if not rows and not pending:
        return f"no segments: add some to {path}"
    width = max(len(n) for n in [*stored, *pending, "segment"])
    lines = [f"{'segment':<{width}} {'source':<7} {'members':>9}  refreshed            title"]
    for r in rows:
        refreshed = f"{r['refreshed_at']:%Y-%m-%d %H:%M:%S}" if r["refreshed_at"] else "never"
        note = "" if r["active"] else "  (no longer in the config file)"
        lines.append(f"{r['name']:<{width}} {r['source']:<7} {r['members']:>9,}  {refreshed:<20} {r['title'] or ''}{note}")
    for name in pending:
        lines.append(f"{name:<{width}} {'config':<7} {'-':>9}  {'never':<20} (not refreshed yet)")
    return "\n".join(lines)


def format_details(d: dict[str, Any]) -> str:
    lines = [
        f"{d['name']}: {d['title'] or ''}",
        f"  source     {d['source']}",
        f"  filter     {d['filter']}",
        f"  members    {d['members']:,}",
        f"  refreshed  {d['refreshed_at'] or 'never'} (as of {d['refreshed_as_of'] or '-'})",
    ]
    if d["events"]:
        lines.append("  latest events:")
        lines += [f"    {e['at']:%Y-%m-%d %H:%M:%S}  {e['kind']:<7}  {e['erp_key']}  {e['name'] or ''}" for e in d["events"]]
    return "\n".join(lines)
