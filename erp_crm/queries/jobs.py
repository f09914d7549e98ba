"""The scheduled jobs' run log and their switches, as the CLI (and later the panels) show them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables.jobs import job_run, job_state


def job_history(conn: Connection, job: str | None = None, *, limit: int = 20) -> list[dict[str, Any]]:
    """The newest runs (of one job, or all), newest first, with their length in seconds."""
    r = job_run.c
    query = sa.select(r.id, r.job, r.kind, r.cause, r.status, r.started_at, r.ended_at, r.handled, r.error, r.host, r.pid).order_by(r.id.desc()).limit(limit)
    rows = [dict(row) for row in conn.execute(query if job is None else query.where(r.job == job)).mappings()]
    for row in rows:
        row["seconds"] = round((row["ended_at"] - row["started_at"]).total_seconds(), 3) if row["ended_at"] else None
    return rows


def latest_runs(conn: Connection) -> dict[str, dict[str, Any]]:
    """Each job's newest run that was not skipped, by job name."""
    r = job_run.c
    newest = sa.select(sa.func.max(r.id)).where(r.status != "skipped").group_by(r.job).scalar_subquery()
    rows = conn.execute(sa.select(r.job, r.status, r.started_at, r.ended_at, r.handled, r.error).where(r.id.in_(newest))).mappings()
    return {row["job"]: dict(row) for row in rows}


def job_states(conn: Connection) -> dict[str, dict[str, Any]]:
    """What is set on each job: paused (and why), failures in a row, when the admins were told."""
    return {row["job"]: dict(row) for row in conn.execute(sa.select(job_state)).mappings()}
