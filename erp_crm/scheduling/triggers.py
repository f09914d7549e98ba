"""When a job runs: a cron line or an interval, in the schedule's time zone, right across daylight-saving changes.

APScheduler's cron trigger follows the wall clock: on the spring night a job set for
02:30, an hour that does not exist, runs once at the first moment after it (03:30
summer time); but on the autumn night, when 02:00–03:00 happens twice, it runs twice.
A job set for a time of day means once that day, as cron itself does (Vixie cron skips
the repeated hour for jobs with a fixed hour), so `DaylightSafeCron` skips the second
occurrence of a wall-clock time for lines with a fixed hour. A line whose hour is `*`
(every 15 minutes, say) keeps both: it is about intervals, and the repeated hour is one
more hour of them.

Intervals are counted in elapsed time, which no clock change touches.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from erp_crm.settings.schedule import Job

_HOUR = 5  # the hour's place in CronTrigger.fields (year, month, day, week, day_of_week, hour, minute, second)


class DaylightSafeCron(CronTrigger):
    def get_next_fire_time(self, previous_fire_time: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
        fire: dt.datetime | None = super().get_next_fire_time(previous_fire_time, now)
        while fire is not None and str(self.fields[_HOUR]) != "*" and _repeated(fire):
            fire = super().get_next_fire_time(fire, _after_repeats(fire))
        return fire


def _after_repeats(moment: dt.datetime) -> dt.datetime:
    """The first minute after `moment` whose wall-clock time is not a repeat (at most an hour on).

    Counted in UTC: an aware datetime plus a timedelta moves its wall clock, which in the
    repeated hour could stand still. (APScheduler's own search, asked from inside the
    repeated hour, answers the same repeated time again.)
    """
    zone = moment.tzinfo
    while _repeated(moment):
        moment = (moment.astimezone(dt.UTC) + dt.timedelta(minutes=1)).astimezone(zone)
    return moment


def _repeated(moment: dt.datetime) -> bool:
    """Whether the wall-clock time of `moment` already happened earlier that night (the second 02:30 of an autumn night)."""
    first = moment.replace(tzinfo=None).replace(tzinfo=moment.tzinfo, fold=0)
    return first.utcoffset() != moment.utcoffset() and first.astimezone(dt.UTC) < moment.astimezone(dt.UTC)


def job_trigger(job: Job, zone: ZoneInfo) -> Any:
    """The job's trigger, or None for a job that only runs after others."""
    trigger: BaseTrigger | None = None
    if job.cron is not None:
        trigger = DaylightSafeCron.from_crontab(job.cron, timezone=zone)
    elif job.every is not None:
        trigger = IntervalTrigger(seconds=job.every, timezone=zone)
    return trigger


def missed(job: Job, trigger: Any, last_start: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a run of `job` was due while no scheduler ran (times UTC-aware); an interval job never run is due too."""
    if job.every is not None:
        return last_start is None or last_start + dt.timedelta(seconds=job.every) <= now
    if last_start is None:
        return False  # a cron job that never ran missed nothing: its first time is still ahead
    due = trigger.get_next_fire_time(None, last_start + dt.timedelta(seconds=1))
    return due is not None and due <= now
