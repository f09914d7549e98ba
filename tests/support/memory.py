"""A process's resident memory over time, read from /proc, for tests that a long-running process does not grow."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


def rss_kib(pid: int) -> int | None:
    """VmRSS of `pid` in KiB, or None once the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


@dataclass
class RssSamples:
    """(seconds since the first sample, RSS in KiB), every `every` seconds while the thread runs."""

    pid: int
    every: float
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSamples:
        self._thread = threading.Thread(target=self._sample, name=f"rss-{self.pid}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _sample(self) -> None:
        start = time.monotonic()
        while True:
            kib = rss_kib(self.pid)
            if kib is None:
                return
            self.samples.append((time.monotonic() - start, kib))
            if self._stop.wait(self.every):
                return

    def growth_mib(self, warm_up: float) -> tuple[float, float]:
        """The median RSS (MiB) of the first and of the last third of the samples taken after `warm_up` seconds.

        Medians of thirds rather than two single samples: a collection or a large result
        in hand at one moment is not growth.
        """
        kept = [kib for at, kib in self.samples if at >= warm_up]
        third = len(kept) // 3
        assert third >= 2, f"too few samples after the warm-up to speak of growth: {self.samples}"
        return statistics.median(kept[:third]) / 1024, statistics.median(kept[-third:]) / 1024

    def table(self) -> str:
        return "\n".join(f"{at:7.1f} s {kib / 1024:8.1f} MiB" for at, kib in self.samples)
