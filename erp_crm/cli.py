"""The `erp-crm` command: thin wrappers over the services; docstrings are the --help."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from erp_crm import __version__
from erp_crm.errors import UserError
from erp_crm.settings import Settings, find_home, load_settings


class Context:
    def __init__(self, home: str | None, debug: bool) -> None:
        self.home_option = home
        self.debug = debug
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from erp_crm.logs import configure_logging

            self._settings = load_settings(find_home(self.home_option))
            configure_logging(self._settings)
        return self._settings


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="ERP_CRM_HOME", type=click.Path(file_okay=False), help="The home folder (config/, connectors/, var/). Default: $ERP_CRM_HOME, else the current folder.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(__version__, prog_name="erp-crm")
@click.pass_context
def cli(ctx: click.Context, home: str | None, debug: bool) -> None:
    """erp-crm: a CRM beside your ERP. It reads the ERP's history read-only and acts on it."""
    ctx.obj = Context(home, debug)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Create a new home in DIRECTORY from the packaged defaults."""
    from erp_crm.home import init_home

    home = init_home(Path(directory))
    click.echo(f"created {home}; edit {home / 'config' / 'erp_crm.yaml'}, then run: erp-crm --home {home} db upgrade")


@cli.group()
def db() -> None:
    """The overlay database's schema."""


@db.command()
@pass_ctx
def upgrade(obj: Context) -> None:
    """Create or migrate the overlay schema to the newest version."""
    from erp_crm.model import migrate
    from erp_crm.model.db import overlay_engine, overlay_errors

    engine = overlay_engine(obj.settings.overlay_url())
    with overlay_errors(engine.url):
        migrate.upgrade(engine)
        click.echo(f"overlay schema at {migrate.current(engine)}")


@db.command()
@pass_ctx
def current(obj: Context) -> None:
    """Show the overlay schema's version and the newest one."""
    from erp_crm.model import migrate
    from erp_crm.model.db import overlay_engine, overlay_errors

    engine = overlay_engine(obj.settings.overlay_url())
    with overlay_errors(engine.url):
        now, head = migrate.current(engine), migrate.head()
    click.echo(f"{now or 'empty'} (newest {head}){'' if now == head else ': run `erp-crm db upgrade`'}")


@cli.command()
@click.option("--fields", is_flag=True, help="List the canonical entities and fields a definition can map.")
@pass_ctx
def check(obj: Context, fields: bool) -> None:
    """Test the connector definition against the live ERP: tables, columns, types, read-only access."""
    if fields:
        from erp_crm.sync.check import describe_fields

        click.echo(describe_fields())
        return
    from erp_crm.sync.check import check_connector

    report = check_connector(obj.settings)
    for line in report.lines:
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)


def _progress_printer(enabled: bool) -> Any:
    """A one-line progress bar per entity on stderr (a counter when the total is unknown)."""
    state: dict[str, Any] = {"entity": None}

    def show(entity: str, rows: int, expected: int | None) -> None:
        if entity != state["entity"] and state["entity"] is not None:
            click.echo("", err=True)
        state["entity"] = entity
        if expected:
            done = min(rows / expected, 1.0)
            bar = "#" * int(done * 30)
            click.echo(f"\r  {entity:<14} [{bar:<30}] {done:>4.0%} {rows:>12,} / {expected:,}", nl=False, err=True)
        else:
            click.echo(f"\r  {entity:<14} {rows:>12,} rows read", nl=False, err=True)

    def done() -> None:
        if state["entity"] is not None:
            click.echo("", err=True)

    return (show if enabled else None), done


@cli.group(invoke_without_command=True)
@click.option("--full", "mode", flag_value="full", help="Read everything again, not only what changed.")
@click.option("--reconcile", "mode", flag_value="reconcile", help="Read everything and also find rows deleted in the ERP.")
@click.option("--entity", "entities", multiple=True, help="Only this entity (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON (no progress).")
@click.pass_context
def sync(ctx: click.Context, mode: str | None, entities: tuple[str, ...], as_json: bool) -> None:
    """Copy what changed in the ERP into the overlay."""
    if ctx.invoked_subcommand is not None:
        return
    from erp_crm.sync.engine import sync_source
    from erp_crm.sync.report import format_report

    obj: Context = ctx.obj
    show, done = _progress_printer(not as_json and sys.stderr.isatty())
    try:
        report = sync_source(obj.settings, mode=mode or "incremental", entities=entities or None, progress=show)
    finally:
        done()
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else format_report(report))


@sync.command("quarantine")
@click.option("--entity", help="Only this entity.")
@click.option("--limit", default=50, show_default=True, help="At most this many rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def quarantine_cmd(obj: Context, entity: str | None, limit: int, as_json: bool) -> None:
    """List ERP rows the sync could not take, with the reason and the raw values."""
    from erp_crm.sync.report import format_quarantine, list_quarantine

    rows = list_quarantine(obj.settings, entity=entity, limit=limit)
    click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str) if as_json else format_quarantine(rows))


@cli.command()
@click.option("--customers", default=400, show_default=True, type=click.IntRange(1, 1_000_000), help="How many customers the demo ERP has.")
@click.option("--years", default=3, show_default=True, type=click.IntRange(1, 20), help="Years of history.")
@click.option("--seed", default=42, show_default=True, help="Random seed: the same seed gives the same ERP.")
@pass_ctx
def demo(obj: Context, customers: int, years: int, seed: int) -> None:
    """Build a demo ERP (Dolibarr layout, SQLite) with Hungarian history and sync it."""
    from erp_crm.demo.run import run_demo

    run_demo(obj.home_option, customers=customers, years=years, seed=seed, echo=click.echo)


@cli.group()
def metrics() -> None:
    """Per-partner figures: quantitative data, RFM, buying rhythm, models, lapse flags."""


@metrics.command("compute")
@click.option("--full", is_flag=True, help="Aggregate every partner's documents again, not only what changed.")
@click.option("--refit", is_flag=True, help="Fit the customer models anew even if the last fit is recent (metrics.refit_days).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="Compute as of this day (YYYY-MM-DD). Default: today.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@pass_ctx
def metrics_compute(obj: Context, full: bool, refit: bool, as_of: Any, as_json: bool) -> None:
    """Compute every partner's figures as of a date and keep a snapshot of them."""
    from erp_crm.metrics.compute import compute_metrics, format_report

    report = compute_metrics(obj.settings, as_of=as_of.date() if as_of else None, full=full, refit=refit)
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else format_report(report))


@metrics.command("evaluate")
@click.option("--cutoff", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Cut the history at this day (YYYY-MM-DD).")
@click.option("--horizon", default=180, show_default=True, help="Days after the cutoff in which a customer may buy again.")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
@pass_ctx
def metrics_evaluate(obj: Context, cutoff: Any, horizon: int, as_json: bool) -> None:
    """How well each lapse definition and score predicted who then bought nothing (AUC, precision, recall)."""
    from erp_crm.metrics.backtest import evaluate_history

    report = evaluate_history(obj.settings, cutoff.date(), horizon)
    click.echo(json.dumps(report.as_dict(), indent=2, default=str) if as_json else report.format())


@metrics.command("show")
@click.argument("partner_key")
@pass_ctx
def metrics_show(obj: Context, partner_key: str) -> None:
    """Show a partner's figures (by its ERP key) and the snapshots kept of them."""
    from erp_crm.metrics.compute import format_figures, partner_figures

    click.echo(format_figures(partner_figures(obj.settings, partner_key)))


@cli.group()
def segments() -> None:
    """Named partner filters (config/segments.yaml), their members and entered/left events."""


@segments.command("refresh")
@click.argument("names", nargs=-1)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="Evaluate the filters as of this day (YYYY-MM-DD). Default: today.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def segments_refresh(obj: Context, names: tuple[str, ...], as_of: Any, as_json: bool) -> None:
    """Bring the membership of the named segments (default: all) up to date."""
    from erp_crm.segments.refresh import format_report, refresh_segments

    report = refresh_segments(obj.settings, names, as_of=as_of.date() if as_of else None)
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else format_report(report))


@segments.command("list")
@pass_ctx
def segments_list(obj: Context) -> None:
    """List the segments with their member counts and last refresh."""
    from erp_crm.segments.store import list_text

    click.echo(list_text(obj.settings))


@segments.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def segments_show(obj: Context, name: str, as_json: bool) -> None:
    """Show a segment's filter, member count and latest entered/left events."""
    from erp_crm.segments.store import show_text

    click.echo(show_text(obj.settings, name, as_json))


@segments.command("export")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True, help="File format.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write. Default: NAME.csv or NAME.xlsx here.")
@click.option("--separator", type=click.Choice([";", ","]), default=";", show_default=True, help="CSV field separator.")
@pass_ctx
def segments_export(obj: Context, name: str, fmt: str, output: Path | None, separator: str) -> None:
    """Write a segment's current members with contact data and main metrics, for campaigns."""
    from erp_crm.segments.export import export_segment

    path, rows = export_segment(obj.settings, name, fmt, output, separator)  # type: ignore[arg-type]
    click.echo(f"{rows} members of {name} written to {path}")


def main() -> None:
    """Entry point: user mistakes are one line on stderr and a non-zero exit, never a traceback."""
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UserError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # a bug, not a user mistake: say so plainly
        if debug:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback)", err=True)
        sys.exit(70)
