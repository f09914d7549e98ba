"""`erp-crm init`: a new home from the packaged defaults."""

from __future__ import annotations

from pathlib import Path

import click

from erp_crm.settings.home import init_home


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Create a new home in DIRECTORY from the packaged defaults."""
    home = init_home(Path(directory))
    click.echo(f"created {home}; edit {home / 'config' / 'erp_crm.yaml'}, then run: erp-crm --home {home} db upgrade")
