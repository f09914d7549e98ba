"""The run log: a run is written when it starts and finished when it ends, whatever the end.

While a run works it holds the lock `job.<name>` (store.locking), which the operating
system or PostgreSQL releases when its process dies. A `running` row whose lock nobody
holds was therefore left by a process that died mid-run: `mark_killed` says so, at the
next scheduler start and before the next run of that job, so the log never shows a dead
run as still going.

`CURRENT_RUN` holds the id of the run the current thread works for, which the log
formatter writes on every line (docs/operations.md, "Logs").
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa

from erp_crm.model.tables.jobs import job_run, job_state
from erp_crm.store.driver import dialect_insert
from erp_crm.store.overlay import Overlay

CURRENT_RUN: ContextVar[int | None] = ContextVar("erp_crm_job_run", default=None)
KILLED = "the process running it stopped (killed, or its machine went down) before it ended"
_HOST = socket.gethostname()[:255]


def lock_name(job: str) -> str:
    return f"job.{job}"


def utc_now() -> dt.datetime:
    """The run log's and the lease's clock: UTC without a zone, to the microsecond (a run's length is often under a second)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def start_run(overlay: Overlay, job: str, kind: str, cause: str) -> int:
    with overlay.begin() as conn:
        return int(
            conn.execute(
                job_run.insert()
                .values(job=job, kind=kind, cause=cause[:60], status="running", started_at=utc_now(), host=_HOST, pid=os.getpid())
                .returning(job_run.c.id)
            ).scalar_one()
        )


def finish_run(overlay: Overlay, run_id: int, status: str, *, handled: int | None = None, detail: dict[str, Any] | None = None, error: str | None = None) -> None:
    with overlay.begin() as conn:
        conn.execute(
            job_run.update()
            .where(job_run.c.id == run_id)
            .values(status=status, ended_at=utc_now(), handled=handled, detail=json.dumps(detail, default=str) if detail is not None else None, error=error)
        )


def record_skip(overlay: Overlay, job: str, kind: str, cause: str, why: str) -> None:
    """A run that did not start because the same work was going on elsewhere: kept, so a job that never gets its turn shows."""
    now = utc_now()
    with overlay.begin() as conn:
        conn.execute(
            job_run.insert().values(
                job=job, kind=kind, cause=cause[:60], status="skipped", started_at=now, ended_at=now, error=why, host=_HOST, pid=os.getpid()
            )
        )


def mark_killed(overlay: Overlay, job: str | None = None) -> int:
    """Mark `running` rows whose process is gone as killed (of one job, or all); returns how many."""
    with overlay.connect() as conn:
        query = sa.select(job_run.c.id, job_run.c.job).where(job_run.c.status == "running")
        rows = conn.execute(query if job is None else query.where(job_run.c.job == job)).all()
    dead = [row.id for row in rows if not overlay.is_locked(lock_name(row.job))]
    if dead:
        with overlay.begin() as conn:
            conn.execute(
                job_run.update().where(job_run.c.id.in_(dead), job_run.c.status == "running").values(status="killed", ended_at=utc_now(), error=KILLED)
            )
    return len(dead)


def count_failure(overlay: Overlay, job: str, failed: bool) -> int:
    """Add a failure to the job's run of failures (or end the run of failures); returns its length now."""
    with overlay.begin_writing() as conn:
        state = _state(conn, job)
        failures = state.failures + 1 if failed else 0
        values: dict[str, Any] = {"failures": failures}
        if not failed:
            values["alerted_at"] = None
        conn.execute(job_state.update().where(job_state.c.job == job).values(**values))
    return failures


def mark_alerted(overlay: Overlay, job: str) -> None:
    with overlay.begin() as conn:
        conn.execute(job_state.update().where(job_state.c.job == job).values(alerted_at=utc_now()))


def set_paused(overlay: Overlay, job: str, paused: bool, reason: str | None = None) -> bool:
    """Pause or resume `job`; returns whether it was paused before."""
    with overlay.begin_writing() as conn:
        before = bool(_state(conn, job).paused)
        conn.execute(job_state.update().where(job_state.c.job == job).values(paused=paused, paused_reason=reason if paused else None, changed_at=utc_now()))
    return before


def is_paused(overlay: Overlay, job: str) -> bool:
    with overlay.connect() as conn:
        return bool(conn.execute(sa.select(job_state.c.paused).where(job_state.c.job == job)).scalar())


def last_start(overlay: Overlay, job: str) -> dt.datetime | None:
    """When the job last started a run that ended, well or not (UTC), for catching up a run missed while no scheduler ran.

    A killed run does not count: its work was not done, so a job that catches up runs again.
    """
    with overlay.connect() as conn:
        return conn.execute(sa.select(sa.func.max(job_run.c.started_at)).where(job_run.c.job == job, job_run.c.status.in_(("ok", "failed")))).scalar()


def _state(conn: sa.Connection, job: str) -> Any:
    """The job's state row, made on first use (two processes making it at once make one), locked for this transaction."""
    conn.execute(dialect_insert(conn, job_state).values(job=job, paused=False, failures=0).on_conflict_do_nothing())
    return conn.execute(sa.select(job_state).where(job_state.c.job == job).with_for_update()).one()
