"""`jobs/schedule.yaml`: the fixed jobs `erp-crm scheduler run` runs, when, and what follows what.

The file is the whole truth about the schedule: the scheduler rebuilds its jobs from it
at every start and keeps no job state of its own (no pickled job store), so an edited
file and a restart are all a change needs. Every mistake is one line naming the file,
line and key, as in the settings file.

`misfire_grace` is explicit because APScheduler's default (one second) silently drops a
run that starts a little late, which on a busy machine means a sync that never runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import email_validator
from apscheduler.triggers.cron import CronTrigger
from pydantic import Field, field_validator, model_validator

from erp_crm.errors import ConfigError
from erp_crm.settings.base import Section, check_time_zone, parse_duration
from erp_crm.yamlfile import YamlDocument, load_validated

SCHEDULE_FILE = Path("jobs") / "schedule.yaml"
KINDS = ("sync", "reconcile", "metrics", "segments", "chains_tick", "outbox_dispatch", "report")
Kind = Literal["sync", "reconcile", "metrics", "segments", "chains_tick", "outbox_dispatch", "report"]
_JOB_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_SEGMENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_CRON_FIELDS = 5


def _duration(value: str | int, least: int, most: int) -> int:
    seconds = parse_duration(value)
    if not least <= seconds <= most:
        raise ValueError(f"must be between {least}s and {most // 86400}d" if most >= 86400 else f"must be between {least}s and {most}s")
    return seconds


def _addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    checked = []
    for value in values:
        try:
            checked.append(email_validator.validate_email(value, check_deliverability=False).normalized)
        except email_validator.EmailNotValidError as exc:
            raise ValueError(f"{value[:80]!r} is not an e-mail address: {exc}") from None
    return tuple(checked)


class Report(Section):
    """A segment's members e-mailed as a file: the weekly list a sales manager reads."""

    segment: str
    format: Literal["xlsx", "csv"] = "xlsx"
    language: Literal["hu", "en"] = "hu"
    to: tuple[str, ...] = Field(min_length=1, max_length=50)

    @field_validator("segment")
    @classmethod
    def _segment(cls, value: str) -> str:
        if not _SEGMENT_NAME.fullmatch(value):
            raise ValueError("a segment name: lower-case letters, digits and _")
        return value

    @field_validator("to")
    @classmethod
    def _to(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _addresses(value)


class Job(Section):
    """One job: what it runs (`run`, default its name), on a cron line or an interval, and/or after other jobs."""

    run: Kind | None = None
    cron: str | None = Field(None, max_length=200, description="five crontab fields, in the schedule's time zone")
    every: int | None = Field(None, description="an interval: 30s, 15m, 1h, 1d")
    after: tuple[str, ...] = Field((), max_length=10, description="run after each successful run of these jobs")
    catch_up: bool = Field(False, description="a run missed while the scheduler was down runs once at its start")
    report: Report | None = None

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, value: str | int | None) -> int | None:
        return None if value is None else _duration(value, 1, 366 * 86400)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value.split()) != _CRON_FIELDS:
            raise ValueError("expected five crontab fields: minute hour day month weekday, e.g. '30 2 * * *'")
        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"not a crontab line: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_trigger(self) -> Job:
        if self.cron is not None and self.every is not None:
            raise ValueError("give either cron or every, not both")
        if self.cron is None and self.every is None and not self.after:
            raise ValueError("give cron, every or after: when should it run?")
        return self


class Leader(Section):
    """How long a scheduler's leadership lasts unrenewed, and how often it is renewed (and a standby looks)."""

    lease: int = 30
    renew: int = 5

    @field_validator("lease", "renew", mode="before")
    @classmethod
    def _seconds(cls, value: str | int) -> int:
        return _duration(value, 1, 3600)

    @model_validator(mode="after")
    def _renew_often(self) -> Leader:
        if self.renew * 2 > self.lease:
            raise ValueError("renew must be at most half the lease, or a busy leader loses it between two renewals")
        return self


class Alerts(Section):
    """Who hears of a job that keeps failing, and after how many failures in a row."""

    to: tuple[str, ...] = Field((), max_length=50)
    after_failures: int = Field(3, ge=1, le=1000)

    @field_validator("to")
    @classmethod
    def _to(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _addresses(value)


class Schedule(Section):
    time_zone: str = "Europe/Budapest"
    misfire_grace: int = Field(600, description="how late a run may start and still run")
    threads: int = Field(4, ge=1, le=32, description="jobs that may run at the same time")
    leader: Leader = Field(default_factory=Leader)
    alerts: Alerts = Field(default_factory=Alerts)
    jobs: dict[str, Job] = Field(default_factory=dict, max_length=100)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_time_zone(value)

    @field_validator("misfire_grace", mode="before")
    @classmethod
    def _grace(cls, value: str | int) -> int:
        return _duration(value, 1, 86400)

    def kind(self, name: str) -> str:
        return self.jobs[name].run or name

    def followers(self, name: str) -> list[str]:
        """The jobs that run after `name` succeeds, in file order."""
        return [other for other, job in self.jobs.items() if name in job.after]


def _check_jobs(schedule: Schedule, doc: YamlDocument) -> None:
    """What one job's keys cannot say alone: its name, its kind, and that `after:` names jobs of this file without looping."""
    jobs = schedule.jobs
    for name, job in jobs.items():
        where = f"{doc.where(('jobs', name))}: jobs.{name[:60]}"
        if not _JOB_NAME.fullmatch(name):
            raise ConfigError(f"{where}: a job name is lower-case letters, digits and _ (at most 40)")
        kind = job.run or name
        if kind not in KINDS:
            raise ConfigError(f"{where}: say what it runs (run: {' | '.join(KINDS)})")
        if (kind == "report") != (job.report is not None):
            raise ConfigError(f"{where}: a report job needs a report: section, and only a report job has one")
        for upstream in job.after:
            if upstream not in jobs:
                raise ConfigError(f"{doc.where(('jobs', name, 'after'))}: jobs.{name}.after: {upstream[:60]!r} is not a job of this file")
        if _leads_back(jobs, name):
            raise ConfigError(f"{doc.where(('jobs', name, 'after'))}: jobs.{name}.after: leads back to {name} itself, which would run forever")


def _leads_back(jobs: dict[str, Job], start: str) -> bool:
    seen: set[str] = set()
    todo = list(jobs[start].after)
    while todo:
        name = todo.pop()
        if name == start:
            return True
        if name not in seen and name in jobs:
            seen.add(name)
            todo.extend(jobs[name].after)
    return False


def load_schedule(home: Path) -> Schedule:
    """Read and check `<home>/jobs/schedule.yaml`; a mistake is one line naming file, line and key."""
    schedule, doc = load_validated(home / SCHEDULE_FILE, Schedule, "time_zone, jobs and the like")
    _check_jobs(schedule, doc)
    return schedule
