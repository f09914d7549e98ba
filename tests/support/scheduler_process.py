"""`erp-crm scheduler run` as a real process, its output in a file the test reads as it grows; the schedule it reads and the run log it leaves."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from erp_crm.settings.schedule import SCHEDULE_FILE
from tests.support.cli import ERP_CRM, cli_environment, erp_crm


def with_schedule(home: Path, jobs: dict[str, Any], **top: Any) -> Path:
    """Write `home`'s jobs/schedule.yaml: these jobs, and top-level keys (leader, alerts, threads...)."""
    (home / SCHEDULE_FILE).parent.mkdir(exist_ok=True)
    (home / SCHEDULE_FILE).write_text(yaml.safe_dump({"jobs": jobs, **top}), encoding="utf-8")
    return home


def history(home: Path, *args: str, limit: int = 1000) -> list[dict[str, Any]]:
    """`erp-crm jobs history --json`: the run log, oldest first."""
    done = erp_crm("--home", home, "jobs", "history", "--json", "--limit", str(limit), *args)
    assert done.returncode == 0, done.stderr
    return list(reversed(json.loads(done.stdout)))


def overlapping(runs: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Pairs of runs of one job whose times overlap (a killed run has no end: it is left out)."""
    found = []
    by_job: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        if run["status"] in ("ok", "failed"):
            by_job.setdefault(run["job"], []).append(run)
    for job_runs in by_job.values():
        job_runs.sort(key=lambda r: r["started_at"])
        found += [(a["id"], b["id"]) for a, b in itertools.pairwise(job_runs) if b["started_at"] < a["ended_at"]]
    return found


class SchedulerProcess:
    """One scheduler on `home`: started at once, stopped (SIGTERM, then SIGKILL) when the block ends."""

    def __init__(self, home: Path, log: Path) -> None:
        self.log = log
        self.output = log.open("w")
        self.process = subprocess.Popen([*ERP_CRM, "--home", str(home), "scheduler", "run"], stdout=self.output, stderr=subprocess.STDOUT, env=cli_environment())

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for(self, words: str, timeout: float) -> float:
        """Seconds until the scheduler said `words`; fails with what it said instead."""
        start = time.monotonic()
        while words not in self.text():
            if self.process.poll() is not None and words not in self.text():
                raise AssertionError(f"the scheduler ended ({self.process.returncode}) without saying {words!r}:\n{self.text()}")
            if time.monotonic() - start > timeout:
                raise AssertionError(f"the scheduler did not say {words!r} within {timeout} s:\n{self.text()}")
            time.sleep(0.05)
        return time.monotonic() - start

    def signal(self, number: signal.Signals) -> None:
        self.process.send_signal(number)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait: the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def __enter__(self) -> SchedulerProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()
