"""The worker's loop: a round of each kind of work in turn, a nap when none found anything to do, a clean stop.

Each kind of work keeps its own pace: after a round that did something the next comes
at once; after one that found nothing (or failed) the kind rests, one second at first,
twice as long each time up to `REST_AT_MOST`, while the other kinds go on. So an idle
worker asks the database about twice a minute per kind, and a busy one never waits.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from erp_crm.store.overlay import Overlay
from erp_crm.workers.stopping import Stop
from erp_crm.workers.work import Round, Work

log = logging.getLogger(__name__)

REST_FIRST = 1.0  # seconds
REST_AT_MOST = 30.0
ALONE = "worker"  # SQLite: the lock of the one worker


@dataclass
class WorkerReport:
    """What a worker did before it stopped: items handled and failed rounds by kind, and what stopped it."""

    done: Counter[str] = field(default_factory=Counter)
    rounds: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    stopped_by: str | None = None  # a signal's name; None: --once found nothing more to do

    def as_dict(self) -> dict[str, object]:
        return {"done": dict(self.done), "rounds": dict(self.rounds), "errors": dict(self.errors), "stopped_by": self.stopped_by}


@dataclass
class _Pace:
    """When a kind of work may have its next round."""

    work: Work
    rest: float = 0.0
    next_at: float = 0.0

    def after(self, result: Round, now: float) -> None:
        if result.done and result.error is None:
            self.rest, self.next_at = 0.0, now
            return
        self.rest = min(REST_AT_MOST, self.rest * 2 if self.rest else REST_FIRST)
        self.next_at = now + self.rest


def run_worker(works: Sequence[Work], stop: Stop, *, once: bool = False, say: Callable[[Round], None] = lambda _round: None) -> WorkerReport:
    """Rounds of every kind of work until `stop` is asked (or, with `once`, until a round of each finds nothing to do).

    `say` hears every round that did something or failed. With `once` nobody rests:
    the worker goes round until nothing is due, then ends.
    """
    report = WorkerReport()
    paces = [_Pace(work) for work in works]
    try:
        while not stop.asked:
            busy = False
            for pace in paces:
                if stop.asked:
                    break
                if not once and pace.next_at > time.monotonic():
                    continue
                result = pace.work.round()
                pace.after(result, time.monotonic())
                _count(report, result)
                if result.done or result.error or result.report is not None:
                    say(result)
                busy = busy or bool(result.done)
            if once and not busy:
                break
            if not busy and not stop.asked:
                stop.nap(max(0.0, min(p.next_at for p in paces) - time.monotonic()))
    finally:
        for pace in paces:
            pace.work.close()
    report.stopped_by = stop.by
    return report


def _count(report: WorkerReport, result: Round) -> None:
    report.rounds[result.kind] += 1
    report.done[result.kind] += result.done
    if result.error:
        report.errors[result.kind] += 1
        log.warning("worker: %s: %s", result.kind, result.error)


@contextmanager
def alone_on_sqlite(overlay: Overlay) -> Iterator[None]:
    """On SQLite, one worker at a time (a second is refused with one line); on PostgreSQL, any number."""
    if overlay.dialect != "sqlite":
        yield
        return
    with overlay.lock(ALONE, "another worker is running on this SQLite overlay; several workers need a PostgreSQL overlay (docs/operations.md, Workers)"):
        yield
