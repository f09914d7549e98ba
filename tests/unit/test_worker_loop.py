"""The worker's loop without a database: rounds in turn, rests that double while a kind finds nothing, `--once`, a stop."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from erp_crm.workers import loop
from erp_crm.workers.loop import REST_AT_MOST, run_worker
from erp_crm.workers.stopping import Stop
from erp_crm.workers.work import Round


@dataclass
class Scripted:
    """A kind of work whose rounds do what `done` says, in order (0 once it runs out); `error` fails every round."""

    kind: str
    done: list[int] = field(default_factory=list)
    error: str | None = None
    rounds: int = 0
    closed: bool = False

    def round(self) -> Round:
        self.rounds += 1
        return Round(self.kind, self.done.pop(0) if self.done else 0, error=self.error)

    def close(self) -> None:
        self.closed = True


class Clock:
    """Time that passes only when the loop naps; the stop is asked after `naps` naps."""

    def __init__(self, stop: Stop, naps: int) -> None:
        self.now, self.naps, self.stop, self.left = 0.0, list[float](), stop, naps

    def nap(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += seconds
        self.left -= 1
        if not self.left:
            self.stop.ask("test")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    stop = Stop()
    clock = Clock(stop, 8)
    monkeypatch.setattr(loop.time, "monotonic", lambda: clock.now)
    monkeypatch.setattr(stop, "nap", clock.nap)
    yield clock


def test_once_goes_round_until_a_pass_finds_nothing_then_closes_everything() -> None:
    tick, dispatch = Scripted("tick", [500, 500, 20]), Scripted("dispatch", [100])
    report = run_worker([tick, dispatch], Stop(), once=True)
    assert report.done == {"tick": 1020, "dispatch": 100} and report.rounds == {"tick": 4, "dispatch": 4}
    assert tick.closed and dispatch.closed and report.stopped_by is None


def test_an_idle_kind_rests_twice_as_long_each_time_up_to_the_most(clock: Clock) -> None:
    report = run_worker([Scripted("tick"), Scripted("dispatch")], clock.stop)
    assert clock.naps == [1.0, 2.0, 4.0, 8.0, 16.0, REST_AT_MOST, REST_AT_MOST, REST_AT_MOST]
    assert report.stopped_by == "test" and report.rounds == {"tick": 8, "dispatch": 8}


def test_a_failing_kind_rests_while_a_busy_one_goes_on(clock: Clock) -> None:
    busy, failing = Scripted("dispatch", [5] * 20), Scripted("tick", error="jobs/chains/x.yaml:3: unknown key")
    report = run_worker([failing, busy], clock.stop)
    assert failing.rounds < busy.rounds and report.errors["tick"] == failing.rounds
    assert report.done["dispatch"] == 100, "the busy kind never waited for the failing one"


def test_a_second_signal_stops_at_once() -> None:
    stop = Stop()
    with stop.on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.asked and stop.by == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
