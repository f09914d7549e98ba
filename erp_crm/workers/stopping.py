"""Stopping a worker cleanly: SIGTERM or SIGINT ends it once the round in hand is finished.

The first signal sets a flag that the loop reads between rounds, and wakes the loop from
an idle sleep at once. The round in hand is finished, never cut: a tick batch is one
transaction, a dispatch round at most `outbox.batch` messages, each recorded as it goes.
A second signal stops at once, as a kill would: the open transaction is rolled back, and
a message in the hands of its server is left `sending`, which the next dispatcher makes
`unknown` (never sent twice).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stop:
    """Whether the worker has been asked to stop, and an idle sleep that such a request ends early."""

    def __init__(self) -> None:
        self._asked = threading.Event()
        self.by: str | None = None  # the signal's name

    @property
    def asked(self) -> bool:
        return self._asked.is_set()

    def ask(self, by: str) -> None:
        self.by = self.by or by
        self._asked.set()

    def nap(self, seconds: float) -> None:
        """Sleep up to `seconds`, or less when a stop is asked for meanwhile."""
        self._asked.wait(seconds)

    @contextmanager
    def on_signals(self) -> Iterator[Stop]:
        """For the block, SIGTERM and SIGINT ask this to stop; a second one stops at once (KeyboardInterrupt)."""

        def handle(number: int, _frame: FrameType | None) -> None:
            if self.asked:
                raise KeyboardInterrupt
            self.ask(signal.Signals(number).name)

        previous = {number: signal.signal(number, handle) for number in SIGNALS}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
