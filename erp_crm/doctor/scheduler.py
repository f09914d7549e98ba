"""The scheduler: its schedule reads, one scheduler leads, and no other one runs unnoticed.

A second `erp-crm scheduler run` cannot lead while the first holds the lease (it waits
as a standby), so two never run the jobs twice; but a standby nobody meant to start (a
copy of the service on a second machine, a forgotten terminal) takes over the jobs the
day the first stops, from wherever it runs. So a standby is worth a warning, and no
live leader at all means no job runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from erp_crm.doctor.findings import Check, Finding, Status, ok, skipped
from erp_crm.doctor.overlay import open_overlay
from erp_crm.errors import UserError
from erp_crm.scheduling.lease import current_leader, ever_led, standbys
from erp_crm.settings.root import Settings
from erp_crm.settings.schedule import SCHEDULE_FILE, load_schedule

START = "start one as a service (config/erp-crm-scheduler.service, docs/operations.md \"Scheduled jobs\") or run `erp-crm scheduler run`"


def probe(settings: Settings, timeout: float) -> Iterator[Finding]:
    if not (settings.home / SCHEDULE_FILE).exists():
        yield skipped("scheduler.schedule", f"there is no {SCHEDULE_FILE} in the home: nothing is scheduled (`erp-crm init` writes one to start from)")
    else:
        yield _schedule_finding(settings)
    try:
        overlay = open_overlay(settings.overlay, timeout)
        try:
            leader, waiting, ran = current_leader(overlay), standbys(overlay), ever_led(overlay)
        finally:
            overlay.close()
    except UserError:  # overlay.reachable says what
        yield skipped("scheduler.lease", "not checked: the overlay cannot be reached (overlay.reachable says why)")
        return
    except Exception:  # noqa: BLE001 (an overlay without the scheduler's tables: overlay.migrations says so)
        yield skipped("scheduler.lease", "not checked: the overlay's schema is not this erp-crm's (overlay.migrations says why)")
        return
    yield lease_finding(leader.holder if leader and leader.alive else None, waiting, ran)


def _schedule_finding(settings: Settings) -> Finding:
    try:
        schedule = load_schedule(settings.home)
    except UserError as exc:
        return Finding("scheduler.schedule", Status.FAIL, str(exc), f"correct {SCHEDULE_FILE} where the message says")
    return ok("scheduler.schedule", f"{SCHEDULE_FILE}: {len(schedule.jobs)} jobs")


def lease_finding(leader: str | None, waiting: list[str], ran: bool) -> Finding:
    if waiting:
        who = ", ".join(waiting)
        return Finding(
            "scheduler.lease",
            Status.WARN,
            f"a second scheduler runs: {leader or 'none'} leads, {who} {'waits' if len(waiting) == 1 else 'wait'} as standby",
            "a standby on another machine takes over when the leader stops; if it was not meant to run, stop it (its host and process id are shown)",
        )
    if leader is None and not ran:
        return skipped("scheduler.lease", f"no scheduler has run on this overlay yet; to run the jobs unattended, {START}")
    if leader is None:
        return Finding("scheduler.lease", Status.WARN, "no scheduler leads any more: no scheduled job runs", START)
    return ok("scheduler.lease", f"{leader} leads")


CHECK = Check("scheduler", probe, ("scheduler.schedule", "scheduler.lease"))
