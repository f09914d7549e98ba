"""`erp-crm db`: the overlay database's schema, and copies of it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.errors import UserError
from erp_crm.model import migrate
from erp_crm.store.overlay import Overlay


@click.group()
def db() -> None:
    """The overlay database: its schema, and backups."""


@db.command()
@pass_ctx
def upgrade(obj: Context) -> None:
    """Create or migrate the overlay schema to the newest version."""
    with Overlay.open(obj.settings.overlay.full_url(), at_head=False) as overlay:
        click.echo(f"overlay schema at {overlay.upgrade()}")


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def current(obj: Context, as_json: bool) -> None:
    """Show the overlay schema's version and the newest one."""
    with Overlay.open(obj.settings.overlay.full_url(), at_head=False) as overlay:
        now, head = overlay.schema_version(), migrate.head()
    if as_json:
        click.echo(json.dumps({"current": now, "newest": head, "up_to_date": now == head}))
        return
    click.echo(f"{now or 'empty'} (newest {head}){'' if now == head else ': run `erp-crm db upgrade`'}")


@db.command()
@click.option("--to", "target", type=click.Path(dir_okay=False, path_type=Path), help="The file to write. Default: var/backups/crm-<date>-<time>.sqlite (or .dump for PostgreSQL).")
@pass_ctx
def backup(obj: Context, target: Path | None) -> None:
    """Copy the overlay while it is in use: SQLite's backup API, or pg_dump (restore with pg_restore)."""
    from erp_crm.store.backup import backup_overlay

    overlay = obj.overlay
    suffix = ".sqlite" if overlay.dialect == "sqlite" else ".dump"
    target = target or obj.home / "var" / "backups" / f"crm-{dt.datetime.now():%Y%m%d-%H%M%S}{suffix}"
    if target.exists():
        raise UserError(f"{target} exists; a backup never overwrites a file (give another --to)")
    written = backup_overlay(overlay, target if target.is_absolute() else Path.cwd() / target)
    click.echo(f"overlay copied to {written} ({written.stat().st_size / 1e6:.1f} MB)")
