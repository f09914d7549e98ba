"""The kinds of work a worker does in rounds, each round small enough to finish before a stop is obeyed.

- `ChainTicks`: one tick batch per round (at most `chains.batch` enrolments, one
  transaction). A tick (publish, enrol, then batches until none is due) spans rounds,
  and the next one starts at the next round, so chain files, triggers and templates are
  read again at least every `TICK_AT_MOST` seconds while there is work.
- `OutboxRounds`: one dispatch run of at most `outbox.batch` messages per round.

A round that fails for a reason the user or the database can clear (a chain file with a
mistake, an overlay that cannot be reached, a deadlock) says so and is tried again
later; the other kinds of work go on meanwhile.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from erp_crm.automation.dispatch import DispatchReport, Sender, dispatch
from erp_crm.automation.outbox import utc_now
from erp_crm.automation.tick import Runtime, Tick
from erp_crm.errors import UserError
from erp_crm.settings.sending import ConsentSection, OutboxSection
from erp_crm.store.overlay import Overlay

TICK_AT_MOST = 60.0  # seconds one tick goes on taking batches before the next one starts (and looks at files and triggers again)


@dataclass(frozen=True)
class Round:
    """What one round did: items handled (0: nothing was due), a report worth showing, or the error that stopped it."""

    kind: str
    done: int
    report: Any = None  # the kind's own report (TickReport, DispatchReport, MetricsReport), when there is one to show
    error: str | None = None


class Work(Protocol):
    kind: str

    def round(self) -> Round:
        """Do one round; a failure the user or the database can clear is returned as `Round.error`, not raised."""

    def close(self) -> None:
        """Let go of what a round in progress holds (a tick's lock on SQLite)."""


def attempt(kind: str, body: Callable[[], Round]) -> Round:
    """Run a round's body, turning an error that a later round may not meet into a Round that says it."""
    try:
        return body()
    except UserError as error:
        return Round(kind, 0, error=str(error))
    except sa.exc.DBAPIError as error:  # a lost connection, a deadlock the database broke: the transaction was rolled back
        reason = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
        return Round(kind, 0, error=f"the overlay database: {reason}")


class ChainTicks:
    """The chain tick, one batch per round."""

    kind = "tick"

    def __init__(self, overlay: Overlay, runtime: Runtime, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.overlay, self.runtime, self.clock = overlay, runtime, clock
        self._tick: Tick | None = None
        self._began = 0.0
        self._held = ExitStack()

    def round(self) -> Round:
        return attempt(self.kind, self._round)

    def _round(self) -> Round:
        try:
            tick = self._tick or self._start()
            moved = tick.batch(self.runtime.chains.batch)
        except BaseException:
            self.close()
            raise
        if moved and time.monotonic() - self._began < TICK_AT_MOST:
            return Round(self.kind, moved)
        self.close()
        report = tick.report
        return Round(self.kind, moved, report if report.moved or report.published or report.enrolled.enrolled else None)

    def _start(self) -> Tick:
        tick = self._held.enter_context(Tick(self.overlay, self.runtime, self.clock()))
        self._tick, self._began = tick, time.monotonic()
        tick.enrol()
        return tick

    def close(self) -> None:
        self._tick = None
        self._held.close()


class OutboxRounds:
    """The outbox dispatch, at most `outbox.batch` messages per round."""

    kind = "dispatch"

    def __init__(self, overlay: Overlay, section: OutboxSection, senders: Mapping[str, Sender], consent: ConsentSection) -> None:
        self.overlay, self.section, self.senders, self.consent = overlay, section, senders, consent

    def round(self) -> Round:
        return attempt(self.kind, self._round)

    def _round(self) -> Round:
        report = dispatch(self.overlay, self.section, self.senders, limit=self.section.batch, consent=self.consent)
        done = handled(report)
        worth_showing = done or report.recovered or report.error or report.stopped
        return Round(self.kind, done, report if worth_showing else None, report.error)

    def close(self) -> None:
        """Nothing is held between rounds: each dispatch run closes its connections to the servers."""


def handled(report: DispatchReport) -> int:
    """Messages a dispatch run finished with, one way or another (sent, refused, deferred, unclear, expired, stopped by consent)."""
    return report.sent + report.failed + report.deferred + report.unknown + report.expired + report.suppressed
