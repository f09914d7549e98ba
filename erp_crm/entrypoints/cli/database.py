"""`erp-crm db`: the overlay database's schema."""

from __future__ import annotations

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.model import migrate
from erp_crm.store.overlay import Overlay


@click.group()
def db() -> None:
    """The overlay database's schema."""


@db.command()
@pass_ctx
def upgrade(obj: Context) -> None:
    """Create or migrate the overlay schema to the newest version."""
    with Overlay.open(obj.settings.overlay.full_url(), at_head=False) as overlay:
        click.echo(f"overlay schema at {overlay.upgrade()}")


@db.command()
@pass_ctx
def current(obj: Context) -> None:
    """Show the overlay schema's version and the newest one."""
    with Overlay.open(obj.settings.overlay.full_url(), at_head=False) as overlay:
        now, head = overlay.schema_version(), migrate.head()
    click.echo(f"{now or 'empty'} (newest {head}){'' if now == head else ': run `erp-crm db upgrade`'}")
