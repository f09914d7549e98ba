"""How far a long run has come, told to whoever started it (`erp-crm metrics compute` shows it in a terminal).

The run calls a `Progress` once per phase, and once per chunk of rows where it counts
them, never once per row: a run over a large base stays as fast with it as without. The
caller decides what to do with it, so this layer never imports the CLI; scheduled and
worker runs pass none and log their report instead.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int | None, int | None], None]  # phase, items done, items in all (None: not counted)

# the phases of a metrics run, in the order a full run goes through them
CHANGES = "finding changes"
READING = "reading purchases"
DAY_TABLE = "day table"
AGGREGATING = "aggregates"
FITTING = "fitting models"
FIGURES = "figures"
WRITING = "writing rows"
SNAPSHOT = "snapshot"


def silent(_phase: str, _done: int | None, _total: int | None) -> None:
    """The progress of a run nobody watches."""
