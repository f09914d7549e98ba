"""The sync runs of a source: when, how, how it ended, and what each entity counted."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables.sync import sync_run

ENDED = "the process ended before the run finished"


def recent_runs(conn: Connection, source: str, *, limit: int = 20, running_now: bool) -> list[dict[str, Any]]:
    """The newest runs of `source`, newest first.

    A run is marked "running" when it starts and given its end when it ends; a process
    that was killed cannot say so. `running_now` (whether the source's sync lock is held)
    tells a run that is still going from one whose process is gone: the latter shows as
    interrupted, as the next sync will record it.
    """
    r = sync_run.c
    rows = conn.execute(
        sa.select(r.id, r.mode, r.status, r.started_at, r.finished_at, r.error, r.counts).where(r.source == source).order_by(r.id.desc()).limit(limit)
    ).mappings()
    runs = [dict(row) for row in rows]
    for run in runs:
        if run["status"] == "running" and not running_now:
            run["status"], run["error"] = "interrupted", ENDED
    return runs
