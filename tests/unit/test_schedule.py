"""jobs/schedule.yaml read and checked (every mistake one line with file and line), and when its jobs run.

The daylight-saving tests move a clock across the two nights the clocks change in
Budapest and ask the scheduler's own triggers for every firing, as APScheduler does.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from erp_crm.errors import ConfigError
from erp_crm.scheduling.triggers import job_trigger, missed
from erp_crm.settings.home import DEFAULTS_DIR
from erp_crm.settings.schedule import SCHEDULE_FILE, Job, load_schedule

BUDAPEST = ZoneInfo("Europe/Budapest")
SPRING = dt.datetime(2027, 3, 27, 20, tzinfo=BUDAPEST)  # clocks go 02:00 → 03:00 on the 28th
AUTUMN = dt.datetime(2027, 10, 30, 20, tzinfo=BUDAPEST)  # clocks go 03:00 → 02:00 on the 31st


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "jobs").mkdir(exist_ok=True)
    (tmp_path / SCHEDULE_FILE).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_shipped_schedule_reads_and_chains_metrics_after_the_syncs() -> None:
    schedule = load_schedule(DEFAULTS_DIR)
    assert set(schedule.jobs) == {"sync", "reconcile", "metrics", "segments", "chains_tick", "outbox_dispatch"}
    assert schedule.followers("sync") == ["metrics"] and schedule.followers("reconcile") == ["metrics"]
    assert schedule.followers("metrics") == ["segments"]
    assert schedule.misfire_grace == 600 and schedule.leader.lease == 30 and schedule.leader.renew == 5


def test_a_job_runs_what_it_is_named_unless_it_says_otherwise(tmp_path: Path) -> None:
    schedule = load_schedule(write(tmp_path, "jobs:\n  sync: {every: 15m}\n  nightly: {run: reconcile, cron: '30 2 * * *'}\n"))
    assert schedule.kind("sync") == "sync" and schedule.kind("nightly") == "reconcile"
    assert schedule.jobs["sync"].every == 900


MISTAKES = [
    ("jobs:\n  sync: {every: 15m, cron: '* * * * *'}\n", ":2: jobs.sync: give either cron or every, not both"),
    ("jobs:\n  sync: {}\n", ":2: jobs.sync: give cron, every or after: when should it run?"),
    ("jobs:\n  sync: {cron: '61 * * * *'}\n", ":2: jobs.sync.cron: not a crontab line"),
    ("jobs:\n  sync: {cron: '* * *'}\n", ":2: jobs.sync.cron: expected five crontab fields"),
    ("jobs:\n  sync: {every: 0s}\n", ":2: jobs.sync.every: must be between 1s and 366d"),
    ("jobs:\n  sync: {every: soon}\n", ":2: jobs.sync.every: expected a duration"),
    ("jobs:\n  metrics: {after: [sync]}\n", ":2: jobs.metrics.after: 'sync' is not a job of this file"),
    ("jobs:\n  a: {run: sync, after: [b]}\n  b: {run: metrics, after: [a]}\n", ":2: jobs.a.after: leads back to a itself"),
    ("jobs:\n  cleanup: {every: 1h}\n", ":2: jobs.cleanup: say what it runs"),
    ("jobs:\n  Sync: {run: sync, every: 1h}\n", ":2: jobs.Sync: a job name is lower-case"),
    ("jobs:\n  weekly: {run: report, cron: '0 7 * * mon'}\n", ":2: jobs.weekly: a report job needs a report: section"),
    ("jobs:\n  weekly: {run: report, cron: '0 7 * * mon', report: {segment: lapsed, to: [nobody]}}\n", ":2: jobs.weekly.report.to: 'nobody' is not an e-mail address"),
    ("jobs:\n  weekly: {run: report, cron: '0 7 * * mon', report: {segment: 'x; DROP TABLE', to: [a@b.hu]}}\n", "jobs.weekly.report.segment: a segment name"),
    ("time_zone: Mars/Olympus\njobs: {}\n", ":1: time_zone: 'Mars/Olympus' is not a time zone name"),
    ("time_zone: ../../etc/passwd\njobs: {}\n", ":1: time_zone: '../../etc/passwd' is not a time zone name"),
    ("leader: {lease: 10s, renew: 6s}\n", ":1: leader: renew must be at most half the lease"),
    ("misfire_grace: 2d\n", ":1: misfire_grace: must be between 1s and 1d"),
    ("jobs:\n  sync: {every: 1m, typo: 1}\n", ":2: jobs.sync.typo: unknown key"),
    ("- sync\n", "expected a mapping with time_zone, jobs"),
    ("jobs: [sync]\n", ":1: jobs: Input should be a valid dictionary"),
]


@pytest.mark.parametrize(("text", "said"), MISTAKES)
def test_every_mistake_is_one_line_naming_the_file_line_and_key(tmp_path: Path, text: str, said: str) -> None:
    home = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_schedule(home)
    message = str(caught.value)
    assert message.startswith(str(home / SCHEDULE_FILE)) and "\n" not in message
    assert said in message, message


def test_a_missing_schedule_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="schedule.yaml: file not found"):
        load_schedule(tmp_path)


def fire_times(job: Job, start: dt.datetime, hours: int) -> list[dt.datetime]:
    """Every firing from `start` for `hours`, asked the way APScheduler asks: previous firing, then now = just after it."""
    trigger = job_trigger(job, BUDAPEST)
    end = start.astimezone(dt.UTC) + dt.timedelta(hours=hours)
    fires: list[dt.datetime] = []
    previous, now = None, start
    while (fire := trigger.get_next_fire_time(previous, now)) is not None and fire.astimezone(dt.UTC) < end:
        fires.append(fire.astimezone(dt.UTC))
        previous, now = fire, (fire.astimezone(dt.UTC) + dt.timedelta(seconds=1)).astimezone(BUDAPEST)
    return fires


def test_a_job_at_0230_runs_once_on_the_spring_night_when_0230_does_not_exist() -> None:
    fires = fire_times(Job(cron="30 2 * * *"), SPRING, 48)
    assert len(fires) == 2
    assert fires[0] == dt.datetime(2027, 3, 28, 1, 30, tzinfo=dt.UTC)  # 03:30 summer time, the first moment after 02:30
    assert fires[1] == dt.datetime(2027, 3, 29, 0, 30, tzinfo=dt.UTC)  # 02:30 summer time


def test_a_job_at_0230_runs_once_on_the_autumn_night_when_0230_happens_twice() -> None:
    fires = fire_times(Job(cron="30 2 * * *"), AUTUMN, 48)
    assert fires == [dt.datetime(2027, 10, 31, 0, 30, tzinfo=dt.UTC), dt.datetime(2027, 11, 1, 1, 30, tzinfo=dt.UTC)]


def test_every_quarter_hour_keeps_both_of_the_autumn_nights_repeated_hours() -> None:
    fires = fire_times(Job(cron="*/15 * * * *"), dt.datetime(2027, 10, 31, 1, 0, tzinfo=BUDAPEST), 4)
    assert len(fires) == 16  # four wall-clock hours are five real ones; 01:00–05:00 UTC+2/UTC+1 holds 16 quarters
    gaps = {b - a for a, b in itertools.pairwise(fires)}
    assert gaps == {dt.timedelta(minutes=15)}


def test_intervals_count_elapsed_time_across_the_change() -> None:
    fires = fire_times(Job(every=3600), AUTUMN, 12)
    gaps = {b - a for a, b in itertools.pairwise(fires)}
    assert gaps == {dt.timedelta(hours=1)} and len(fires) >= 11


def test_a_cron_run_missed_while_no_scheduler_ran_is_caught_up_once() -> None:
    job = Job(cron="30 2 * * *", catch_up=True)
    trigger = job_trigger(job, BUDAPEST)
    last = dt.datetime(2027, 5, 1, 0, 30, tzinfo=dt.UTC)  # ran at 02:30 on 1 May
    assert not missed(job, trigger, last, dt.datetime(2027, 5, 1, 22, 0, tzinfo=dt.UTC))  # next one still ahead
    assert missed(job, trigger, last, dt.datetime(2027, 5, 2, 6, 0, tzinfo=dt.UTC))  # 2 May 02:30 passed unseen
    assert not missed(job, trigger, None, dt.datetime(2027, 5, 2, 6, 0, tzinfo=dt.UTC))  # never ran: nothing was missed


def test_an_interval_job_is_due_at_start_when_never_run_or_overdue() -> None:
    job = Job(every=900, catch_up=True)
    now = dt.datetime(2027, 5, 1, 12, 0, tzinfo=dt.UTC)
    assert missed(job, None, None, now)
    assert missed(job, None, now - dt.timedelta(minutes=16), now)
    assert not missed(job, None, now - dt.timedelta(minutes=5), now)
