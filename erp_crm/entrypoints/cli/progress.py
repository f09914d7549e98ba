"""The progress line a long command writes to stderr while it works (`sync`, `metrics compute`, `segments refresh`).

Shown only to a person at a terminal: never with `--json` (a script reads stdout, and
may read stderr too), never when stderr is a file or a pipe (a cron job's log would fill
with carriage returns). The work itself only calls the function it is given
(`sync.engine.Progress`, `metrics.progress.Progress`) and knows nothing of this.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

Show = Callable[[str, int | None, int | None], None]  # step, items done, items in all (None: not counted)


def on_terminal(as_json: bool) -> bool:
    """Whether to show progress: a person watches stderr and no script reads the output."""
    return not as_json and sys.stderr.isatty()


def progress_printer(enabled: bool) -> tuple[Show | None, Callable[[], None]]:
    """A line per step on stderr, rewritten as it goes, and the call that ends the last line.

    A step shows a bar when its total is known, a count of rows read when only the count
    is (a sync's entity whose size was not asked), its name alone when it counts nothing.
    """
    state: dict[str, Any] = {"step": None}

    def show(step: str, done: int | None, total: int | None) -> None:
        if step != state["step"] and state["step"] is not None:
            click.echo("", err=True)
        state["step"] = step
        if done is None:
            click.echo(f"\r  {step}", nl=False, err=True)
        elif total is not None:
            share = min(done / total, 1.0) if total else 1.0
            bar = "#" * int(share * 30)
            click.echo(f"\r  {step:<17} [{bar:<30}] {share:>4.0%} {done:>12,} / {total:,}", nl=False, err=True)
        else:
            click.echo(f"\r  {step:<17} {done:>12,} rows read", nl=False, err=True)

    def end() -> None:
        if state["step"] is not None:
            click.echo("", err=True)

    return (show if enabled else None), end
