"""`erp-crm scheduler run`: lead (or wait as a standby), run the schedule's jobs on time, stop when told or when the lease is lost.

APScheduler 3 runs the clock; everything it would otherwise remember lives elsewhere.
Its jobs are rebuilt from jobs/schedule.yaml at every start (a memory job store, no
pickles), and what happened lives in the run log (`crm_job_run`), from which a start
also learns which runs it missed. `job_defaults` are explicit:

- `coalesce`: runs that piled up while the scheduler was busy or asleep become one;
- `max_instances = 1`: a job never overlaps itself in this process (and its lock keeps
  other processes out);
- `misfire_grace_time` from the schedule (default 10 minutes): APScheduler's default of
  one second silently drops a run that starts a second late.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from erp_crm.scheduling import runs
from erp_crm.scheduling.lease import Lease, current_leader, note_standby
from erp_crm.scheduling.runner import CAUGHT_UP, SCHEDULED, Runner
from erp_crm.scheduling.triggers import job_trigger, missed
from erp_crm.settings.root import Settings
from erp_crm.settings.schedule import Schedule
from erp_crm.store.overlay import Overlay

log = logging.getLogger(__name__)
LOST_LEASE = 1  # the exit code of a leader that lost its lease: a service manager restarts it, as a standby


@dataclass
class JobCall:
    """What APScheduler calls for one job: the first call of a caught-up job says so in the run log, later ones are scheduled."""

    runner: Runner
    name: str
    first_cause: str = SCHEDULED

    def __call__(self) -> None:
        cause, self.first_cause = self.first_cause, SCHEDULED
        self.runner.run(self.name, cause)


def build_scheduler(runner: Runner, schedule: Schedule, now: dt.datetime) -> BackgroundScheduler:
    """The APScheduler with every timed job of the schedule; a job missed while none ran is due at once if it says `catch_up`."""
    zone = ZoneInfo(schedule.time_zone)
    scheduler = BackgroundScheduler(
        timezone=zone,
        executors={"default": ThreadPoolExecutor(schedule.threads)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": schedule.misfire_grace},
    )
    for name, job in schedule.jobs.items():
        trigger = job_trigger(job, zone)
        if trigger is None:
            continue  # runs only after the jobs it follows
        last = runs.last_start(runner.overlay, name)
        options: dict[str, Any] = {}
        if job.catch_up and missed(job, trigger, last.replace(tzinfo=dt.UTC) if last else None, now):
            options["next_run_time"] = now
        call = JobCall(runner, name, CAUGHT_UP if options else SCHEDULED)
        scheduler.add_job(call, trigger, id=name, name=name, **options)
    scheduler.add_listener(_noted(runner), EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return scheduler


def _noted(runner: Runner) -> Callable[[JobEvent], None]:
    def note(event: JobEvent) -> None:
        if event.code == EVENT_JOB_MISSED:  # later than misfire_grace: kept in the run log, where a gap would otherwise say nothing
            why = f"missed: it was due at {event.scheduled_run_time:%Y-%m-%d %H:%M:%S %Z} and could not start within misfire_grace"
            runs.record_skip(runner.overlay, event.job_id, runner.schedule.kind(event.job_id), SCHEDULED, why)
            log.warning("job %s %s", event.job_id, why)
        else:  # the previous run still works: coalesce makes this one wait for the next time
            log.info("job %s is still running at its next time; that time is skipped", event.job_id)

    return note


def _wait_to_lead(overlay: Overlay, lease: Lease, schedule: Schedule, stop: threading.Event, say: Callable[[str], None]) -> bool:
    """Take the lease, waiting as a (visible) standby while another leads; False when told to stop first."""
    said_standby = False
    try:
        while not lease.acquire():
            if not said_standby:
                leader = current_leader(overlay)
                say(f"standby: {leader.holder if leader else 'another scheduler'} leads; taking over when it stops")
                said_standby = True
            note_standby(overlay, lease.holder, schedule.leader.lease)
            if stop.wait(schedule.leader.renew):
                return False
        return True
    finally:
        if said_standby:
            note_standby(overlay, lease.holder, 0, waiting=False)


def run_scheduler(overlay: Overlay, settings: Settings, schedule: Schedule, stop: threading.Event, say: Callable[[str], None]) -> int:
    """Lead until `stop` is set (0) or the lease is lost (LOST_LEASE); wait as a standby while another leads."""
    lease = Lease(overlay, schedule.leader.lease)
    if not _wait_to_lead(overlay, lease, schedule, stop, say):
        return 0
    say(f"leading as {lease.holder}")
    scheduler: BackgroundScheduler | None = None
    lost = False
    try:
        killed = runs.mark_killed(overlay)
        if killed:
            say(f"{killed} runs left unfinished by a process that stopped are marked killed")
        scheduler = build_scheduler(Runner(overlay, settings, schedule), schedule, dt.datetime.now(dt.UTC))
        scheduler.start()
        while not stop.wait(schedule.leader.renew):
            if not lease.renew():
                lost = True
                say("lost the lease (the overlay was unreachable or another scheduler took over): stopping")
                break
    finally:
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=not lost)  # a lost leader starts nothing more; runs under way finish behind their locks
        lease.release()
    return LOST_LEASE if lost else 0
