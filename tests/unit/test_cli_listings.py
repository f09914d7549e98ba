"""Every listing of the `erp-crm` command can print JSON, for scripts (list, show, history, status, runs, current)."""

from __future__ import annotations

import click

from erp_crm.entrypoints.cli import cli

LISTINGS = {"list", "show", "history", "status", "runs", "current", "quarantine"}


def commands(group: click.Group, path: str = "erp-crm") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{path} {name}", command))
        if isinstance(command, click.Group):
            found += commands(command, f"{path} {name}")
    return found


def test_every_listing_has_json() -> None:
    listings = [(path, command) for path, command in commands(cli) if path.rsplit(" ", 1)[-1] in LISTINGS]
    assert len(listings) >= 15
    without = [path for path, command in listings if "--json" not in {opt for p in command.params for opt in getattr(p, "opts", [])}]
    assert without == []
