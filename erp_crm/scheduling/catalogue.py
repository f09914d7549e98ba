"""What each kind of job does: one module-level function per kind, over the same services the CLI calls.

A job function returns an `Outcome` (how much it handled, its report) or raises; it
never prints. A job that ran but could not do its work (the SMTP server unreachable, a
tick whose steps failed) returns an Outcome with `problem` set, which the run log keeps
as a failure, so repeated ones reach the admins.

A reconciliation that meets an incremental sync of its source at work waits for it to
end, rather than being skipped as other busy runs are: both want the source's sync lock,
a schedule's reconciliation easily falls on a time the sync also runs (02:30 is a
quarter hour), and a skipped nightly reconciliation would wait a whole day. It waits at
most the schedule's `misfire_grace`, the lateness the schedule allows any run. An
incremental sync that meets a reconciliation is skipped: the reconciliation reads
everything it would.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from erp_crm.errors import Busy
from erp_crm.settings.root import Settings
from erp_crm.settings.schedule import Job
from erp_crm.store.overlay import Overlay

if TYPE_CHECKING:
    from erp_crm.sync.engine import Mode


@dataclass(frozen=True)
class Outcome:
    handled: int
    detail: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


@dataclass(frozen=True)
class JobContext:
    name: str
    job: Job
    overlay: Overlay
    settings: Settings
    grace: float = 0.0  # seconds a run may wait for the same work elsewhere to end (the schedule's misfire_grace)


BUSY_RETRY = 1.0  # seconds between two tries of a reconciliation that found the sync at work


def run_sync(ctx: JobContext) -> Outcome:
    return _sync(ctx, "incremental")


def run_reconcile(ctx: JobContext) -> Outcome:
    """The full read that finds deletes; waits (up to `ctx.grace`) for an incremental sync it meets."""
    deadline = time.monotonic() + ctx.grace
    while True:
        try:
            return _sync(ctx, "reconcile")
        except Busy:
            if time.monotonic() + BUSY_RETRY > deadline:
                raise
            time.sleep(BUSY_RETRY)


def _sync(ctx: JobContext, mode: Mode) -> Outcome:
    from erp_crm.sync.definition import load_connector
    from erp_crm.sync.engine import sync_source

    erp = ctx.settings.erp
    report = sync_source(ctx.overlay, erp, load_connector(erp), mode=mode)
    detail = report.as_dict()
    return Outcome(sum(counts["read"] for counts in detail["entities"].values()), detail)


def run_metrics(ctx: JobContext) -> Outcome:
    from erp_crm.metrics.compute import compute_metrics

    report = compute_metrics(ctx.overlay, ctx.settings.metrics, source=ctx.settings.erp.source)
    return Outcome(report.recomputed, report.as_dict())


def run_segments(ctx: JobContext) -> Outcome:
    from erp_crm.segments.configured import refresh_configured

    report = refresh_configured(ctx.overlay, ctx.settings)
    return Outcome(sum(s.entered + s.left for s in report.segments), report.as_dict())


def run_chains_tick(ctx: JobContext) -> Outcome:
    from erp_crm.automation.configured import chain_runtime
    from erp_crm.automation.tick import tick

    report = tick(ctx.overlay, chain_runtime(ctx.settings))
    detail = report.as_dict()
    problem = f"{len(report.failures)} enrolments failed: {report.failures[0]}" if report.failures else None
    return Outcome(report.moved + detail["enrolled"], detail, problem)


def run_outbox_dispatch(ctx: JobContext) -> Outcome:
    from erp_crm.automation.dispatch import dispatch
    from erp_crm.automation.senders import configured_senders
    from erp_crm.model.tables.outbox import CHANNELS

    s = ctx.settings
    senders = configured_senders(email=s.email, sms=s.sms, webhooks=s.webhooks, only=CHANNELS)
    report = dispatch(ctx.overlay, s.outbox, senders, consent=s.consent, only=CHANNELS)
    handled = report.sent + report.failed + report.unknown + report.expired + report.suppressed
    return Outcome(handled, report.as_dict(), report.error)


def run_report(ctx: JobContext) -> Outcome:
    """A segment's members as a spreadsheet, e-mailed to the report's readers."""
    from erp_crm.automation.staff_mail import Attachment, send_to_staff
    from erp_crm.i18n import lapse_reasons
    from erp_crm.queries.segments import members_frame
    from erp_crm.reports.files import write_table

    spec = ctx.job.report
    assert spec is not None, "the schedule's check gives every report job its report: section"
    with ctx.overlay.connect() as conn:
        frame = members_frame(conn, spec.segment)
    frame["lapse_reason"] = [lapse_reasons.render(reason, spec.language) for reason in frame["lapse_reason"]]
    day = dt.date.today().isoformat()
    filename = f"{spec.segment}-{day}.{spec.format}"
    with tempfile.TemporaryDirectory(prefix="erp-crm-report-") as folder:
        path = Path(folder) / filename
        write_table(frame, path, spec.format)
        content = path.read_bytes()
    kind = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet") if spec.format == "xlsx" else ("text", "csv")
    subject, text = _report_words(spec.language, spec.segment, len(frame), day)
    undelivered = send_to_staff(ctx.settings.email, spec.to, subject, text, [Attachment(filename, content, *kind)])
    problem = f"not delivered to {len(undelivered)} of {len(spec.to)}: {undelivered[0]}" if undelivered else None
    return Outcome(len(frame), {"segment": spec.segment, "members": len(frame), "to": list(spec.to), "undelivered": undelivered}, problem)


def _report_words(language: str, segment: str, members: int, day: str) -> tuple[str, str]:
    if language == "hu":
        return f"erp-crm: {segment} ({members} partner, {day})", f"A(z) {segment} szegmens {members} tagja a mellékelt fájlban ({day}).\n"
    return f"erp-crm: {segment} ({members} partners, {day})", f"The {members} members of the segment {segment} are in the attached file ({day}).\n"


JOBS: dict[str, Callable[[JobContext], Outcome]] = {
    "sync": run_sync,
    "reconcile": run_reconcile,
    "metrics": run_metrics,
    "segments": run_segments,
    "chains_tick": run_chains_tick,
    "outbox_dispatch": run_outbox_dispatch,
    "report": run_report,
}
