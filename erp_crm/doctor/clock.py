"""The clock: the chains' time zone is known here, and the PostgreSQL overlay's server keeps the time this machine keeps.

Each process stamps what it writes with its own clock (runs, the change feed, due
times), and the metrics and segment runs read back what changed since their last run
with a margin of `metrics.change_margin_minutes` for late commits. Machines sharing a
PostgreSQL overlay whose clocks drift apart by more than that margin miss changes;
well before that, a drift says that time is not synchronised at all.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from erp_crm.doctor.findings import Check, Finding, Status, ok, skipped
from erp_crm.doctor.overlay import open_overlay
from erp_crm.errors import UserError
from erp_crm.settings.root import Settings

WARN_FROM = 2.0  # seconds: NTP keeps clocks within milliseconds, so this much means it does not run
SYNC = "synchronise the clocks of this machine and of the database server (NTP: `timedatectl set-ntp true`, chrony)"


def time_zone(name: str) -> Finding:
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return Finding(
            "clock.time_zone",
            Status.FAIL,
            f"chains.time_zone {name!r} is not a time zone known here",
            "set chains.time_zone to an IANA name such as Europe/Budapest",
        )
    offset = dt.datetime.now(zone).strftime("%z")
    return ok("clock.time_zone", f"chains.time_zone {name} is known (UTC{offset[:3]}:{offset[3:]} now)")


def skew(seconds: float, margin_minutes: int) -> Finding:
    """How far the overlay server's clock is from this machine's (positive: the server is ahead)."""
    text = f"the overlay server's clock is {abs(seconds):.1f} s {'ahead of' if seconds > 0 else 'behind'} this machine's"
    if abs(seconds) >= max(margin_minutes * 60, WARN_FROM):
        return Finding("clock.overlay", Status.FAIL, f"{text}, beyond metrics.change_margin_minutes ({margin_minutes}): changes can be missed", SYNC)
    if abs(seconds) >= WARN_FROM:
        return Finding("clock.overlay", Status.WARN, text, SYNC)
    return ok("clock.overlay", text)


def probe(settings: Settings, timeout: float) -> Iterator[Finding]:
    yield time_zone(settings.chains.time_zone)
    if sa.engine.make_url(settings.overlay.url).get_backend_name() != "postgresql":
        yield skipped("clock.overlay", "the overlay is not on a PostgreSQL server: its time is this machine's")
        return
    try:
        overlay = open_overlay(settings.overlay, timeout)
        try:
            with overlay.connect() as conn:
                before = time.time()
                server = conn.execute(sa.text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one()
                after = time.time()
        finally:
            overlay.close()
    except UserError:  # overlay.reachable says what
        yield skipped("clock.overlay", "not checked: the overlay cannot be reached (overlay.reachable says why)")
        return
    yield skew(float(server) - (before + after) / 2, settings.metrics.change_margin_minutes)


CHECK = Check("clock", probe, ("clock.time_zone", "clock.overlay"))
