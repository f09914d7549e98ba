"""Running one job as the scheduler and `erp-crm jobs run` both do: locked, logged, counted, followed.

The order matters for "nothing half-done without a record": the job's lock is taken
first, then the run is written as `running`, then the work starts; the row is finished
whatever the end (ok, failed, or killed, which the next start finds by the lock being
free). A job whose lock another process holds is not run twice at once: that run is
logged as `skipped` with the reason.

A successful run starts the jobs that wait for it (`after:` in the schedule), in the
same thread, one after the other: metrics only ever see a finished sync.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass

from erp_crm.errors import Busy, UserError
from erp_crm.scheduling import runs
from erp_crm.scheduling.catalogue import JOBS, JobContext, Outcome
from erp_crm.settings.root import Settings
from erp_crm.settings.schedule import Schedule
from erp_crm.store.overlay import Overlay

log = logging.getLogger(__name__)
SCHEDULED, CAUGHT_UP, BY_HAND = "scheduled", "caught up", "by hand"


@dataclass(frozen=True)
class RunResult:
    job: str
    status: str  # ok, failed, skipped, paused
    run_id: int | None = None
    outcome: Outcome | None = None
    error: str | None = None


class Runner:
    """Runs the jobs of one schedule on one overlay; shared by the scheduler's threads (it keeps no state of its own)."""

    def __init__(self, overlay: Overlay, settings: Settings, schedule: Schedule) -> None:
        self.overlay = overlay
        self.settings = settings
        self.schedule = schedule

    def run(self, name: str, cause: str = SCHEDULED, *, follow: bool = True) -> list[RunResult]:
        """Run `name` (and, when it succeeds and `follow`, the jobs after it); one result per job run, in order."""
        if cause != BY_HAND and runs.is_paused(self.overlay, name):
            log.info("job %s is paused: not run", name)
            return [RunResult(name, "paused")]
        result = self._run_one(name, cause)
        results = [result]
        if follow and result.status == "ok":
            for follower in self.schedule.followers(name):
                results.extend(self.run(follower, f"after {name}"))
        return results

    def _run_one(self, name: str, cause: str) -> RunResult:
        kind = self.schedule.kind(name)
        try:
            with self.overlay.lock(runs.lock_name(name), f"job {name} is running in another process"):
                runs.mark_killed(self.overlay, name)  # holding its lock: any other `running` row of it is dead
                run_id = runs.start_run(self.overlay, name, kind, cause)
                token = runs.CURRENT_RUN.set(run_id)
                try:
                    return self._work(name, kind, run_id)
                finally:
                    runs.CURRENT_RUN.reset(token)
        except Busy as exc:
            log.info("job %s skipped: %s", name, exc)
            runs.record_skip(self.overlay, name, kind, cause, str(exc))
            return RunResult(name, "skipped", error=str(exc))

    def _work(self, name: str, kind: str, run_id: int) -> RunResult:
        log.info("job %s started", name)
        context = JobContext(name, self.schedule.jobs[name], self.overlay, self.settings, grace=self.schedule.misfire_grace)
        error: str | None
        try:
            outcome: Outcome | None = JOBS[kind](context)
            error = outcome.problem if outcome else None
        except Busy as exc:  # the service's own lock: someone runs the same work by hand (`erp-crm sync`)
            runs.finish_run(self.overlay, run_id, "skipped", error=str(exc))
            log.info("job %s skipped: %s", name, exc)
            return RunResult(name, "skipped", run_id, error=str(exc))
        except UserError as exc:  # a setting or the ERP: one line says what to fix
            outcome, error = None, str(exc)
        except Exception:  # noqa: BLE001  (a bug, or a server gone: the whole traceback, for whoever fixes it; the scheduler goes on)
            outcome, error = None, traceback.format_exc()
        status = "failed" if error else "ok"
        runs.finish_run(self.overlay, run_id, status, handled=outcome.handled if outcome else None, detail=outcome.detail if outcome else None, error=error)
        if error:
            log.error("job %s failed: %s", name, error.strip().splitlines()[-1])
        else:
            log.info("job %s done: %s handled", name, outcome.handled if outcome else 0)
        self._count(name, failed=bool(error), error=error)
        return RunResult(name, status, run_id, outcome, error)

    def _count(self, name: str, *, failed: bool, error: str | None) -> None:
        failures = runs.count_failure(self.overlay, name, failed)
        alerts = self.schedule.alerts
        if failed and failures == alerts.after_failures and alerts.to:
            self._alert(name, failures, error or "")

    def _alert(self, name: str, failures: int, error: str) -> None:
        """Tell the admins once per run of failures; a failure to tell them is logged, never raised into the job's result."""
        from erp_crm.automation.staff_mail import send_to_staff

        subject = f"erp-crm: job {name} failed {failures} times in a row"
        text = (
            f"The scheduled job {name} has failed {failures} times in a row.\n\nThe last error:\n\n{error.strip()}\n\n"
            f"See `erp-crm jobs history {name}` for every run, and docs/operations.md, \"Scheduled jobs\".\n"
        )
        try:
            undelivered = send_to_staff(self.settings.email, self.schedule.alerts.to, subject, text)
        except UserError as exc:
            log.error("could not tell the admins that job %s keeps failing: %s", name, exc)
            return
        for problem in undelivered:
            log.error("could not tell an admin that job %s keeps failing: %s", name, problem)
        if len(undelivered) < len(self.schedule.alerts.to):
            runs.mark_alerted(self.overlay, name)
