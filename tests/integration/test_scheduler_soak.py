"""The scheduler left alone: every job of a sped-up schedule on the demo for ten minutes while the ERP keeps working.

A real `erp-crm scheduler run` runs the sync every 10 s, the reconciliation every
minute, metrics and segments after each, the chain tick and the dispatcher every 5 s,
sending e-mail to a loopback SMTP server. Meanwhile the test writes orders, invoices,
payments, changes and deletions into the demo ERP as Dolibarr would
(tests/support/dolibarr_activity.py), and a chain on every purchase turns the new
invoices into e-mails. At the end (the ERP quiet, one more sync and reconciliation, the
scheduler stopped with SIGTERM) it must hold that:

- every timed job ran on time: APScheduler fires an interval job on a fixed grid, so
  two starts lie one interval apart but for the difference of their start latency; a
  slot lost (a run still going at its next time, or missed) shows as a gap of two
  intervals. A gap under 1.5 intervals therefore says no slot was lost, whatever the
  load of a shared machine does to one start;
- nothing overlapped, nothing was left running, nothing failed; a run skipped because
  the same work was going on (the sync while the reconciliation reads, a metrics run
  after one job while the one after the other works) overlaps that work;
- the overlay holds what the ERP holds, key by key with the amounts, deletes included;
- no message went out twice: each Message-ID arrived once, and each sent outbox row's
  message arrived exactly once;
- memory stayed flat: after a warm-up, the scheduler's resident memory in the last
  third of the run is within `RSS_GROWTH_MIB` of the first third.

ERP_CRM_SOAK_SECONDS shortens it (CI runs the full 600).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erp_crm.automation.email_message import message_id
from erp_crm.demo.expected import dolibarr_entity_counts
from erp_crm.model.tables.outbox import outbox
from erp_crm.model.tables.sync import quarantine
from erp_crm.model.tables.synced import SYNCED
from tests.support.cli import demo_home
from tests.support.dolibarr_activity import DolibarrActivity, KeepWorking, ledger
from tests.support.memory import RssSamples
from tests.support.scheduler_process import SchedulerProcess, history, overlapping, with_schedule
from tests.support.smtp import LoopbackSmtp

pytestmark = [pytest.mark.slow, pytest.mark.soak]

SECONDS = int(os.environ.get("ERP_CRM_SOAK_SECONDS", "600"))
EVERY = {"sync": 10, "reconcile": 60, "chains_tick": 5, "outbox_dispatch": 5}
SCHEDULE = {
    "sync": {"every": "10s"},
    "reconcile": {"every": "60s"},
    "metrics": {"after": ["sync", "reconcile"]},
    "segments": {"after": ["metrics"]},
    "chains_tick": {"every": "5s"},
    "outbox_dispatch": {"every": "5s"},
}
SENDER = "ertekesites@demo-kft.hu"
THANKS_CHAIN = """\
title: Köszönet (a thank-you for every purchase)
trigger: {event: purchase}
language: hu
steps:
  - id: thanks
    email: satisfaction_question
"""
ACTIVITY_EVERY = 2.0  # seconds between two business events in the ERP
RSS_EVERY = 5.0
RSS_GROWTH_MIB = 20.0
LEDGER_COLUMNS = {"order": "amount_total", "order_line": "amount_net", "invoice": "amount_total", "invoice_line": "amount_net", "payment": "amount"}


def soak_home(folder: Path, smtp_port: int) -> Path:
    """The small demo, its e-mail going to the loopback server, a chain on every purchase, the sped-up schedule."""
    demo_home(folder)
    with (folder / "config" / "erp_crm.yaml").open("a", encoding="utf-8") as settings:
        settings.write(f"\nemail:\n  sender: {SENDER}\n  smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none}}\n")
    (folder / "jobs" / "chains" / "thanks.yaml").write_text(THANKS_CHAIN, encoding="utf-8")
    return with_schedule(folder, SCHEDULE, threads=4)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def finished_after(overlay: sa.Engine, job: str, moment: dt.datetime) -> dt.datetime | None:
    """When the first run of `job` that started after `moment` ended well, if one has (times UTC, as the run log keeps them)."""
    with overlay.connect() as conn:
        ended = conn.exec_driver_sql(
            "SELECT MIN(ended_at) FROM crm_job_run WHERE job = ? AND status = 'ok' AND started_at > ?", (job, moment.isoformat(sep=" "))
        ).scalar()
    return at(ended) if ended else None


def wait_for_runs(overlay: sa.Engine, after: dt.datetime, jobs: list[str], timeout: float) -> None:
    """Each job in turn: a run that started after the previous one's end (the first: after `after`) ended well."""
    deadline = time.monotonic() + timeout
    moment = after
    for job in jobs:
        while (ended := finished_after(overlay, job, moment)) is None:
            assert time.monotonic() < deadline, f"no run of {job} after {moment} ended well within {timeout} s"
            time.sleep(1)
        moment = ended


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# -- the checks, each returning what is wrong ------------------------------------------------------


def late_runs(runs: list[dict[str, Any]], lifetime: float) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Timed jobs whose starts lie more than 1.5 intervals apart, or that ran too seldom or too often; and each job's figures."""
    problems, figures = [], {}
    for job, every in EVERY.items():
        starts = [at(r["started_at"]) for r in runs if r["job"] == job and r["cause"] in ("scheduled", "caught up")]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
        expected = lifetime / every
        figures[job] = {"runs": len(starts), "expected": round(expected, 1), "max_gap": max(gaps, default=0.0), "mean_gap": sum(gaps) / max(len(gaps), 1)}
        problems += [f"{job}: {gap:.1f} s between two starts (every {every} s)" for gap in gaps if gap > 1.5 * every]
        if not expected - 2 <= len(starts) <= expected + 1:
            problems.append(f"{job}: {len(starts)} runs in {lifetime:.0f} s, every {every} s")
    return problems, figures


def unexplained_skips(runs: list[dict[str, Any]]) -> list[str]:
    """Skipped runs that no run of the same work overlapped: a skip must mean the work was going on."""
    same_work = {"sync": ("sync", "reconcile"), "reconcile": ("sync", "reconcile"), "metrics": ("metrics",), "segments": ("segments",)}
    worked = [r for r in runs if r["status"] == "ok"]
    problems = []
    for skip in (r for r in runs if r["status"] == "skipped"):
        when = at(skip["ended_at"])  # the moment it found the work going on
        if not any(r["job"] in same_work.get(skip["job"], ()) and at(r["started_at"]) <= when <= at(r["ended_at"]) for r in worked):
            problems.append(f"{skip['job']} run {skip['id']} skipped with nothing of the kind running: {skip['error']}")
    return problems


def ledger_differences(erp: Path, overlay: sa.Engine) -> list[str]:
    """Every key and amount the ERP holds against the overlay's live rows; row counts of every entity; the quarantine."""
    with sqlite3.connect(f"file:{erp}?mode=ro", uri=True) as db:
        expected = ledger(db)
    with sa.create_engine(f"sqlite:///{erp}").connect() as conn:
        counts = dolibarr_entity_counts(conn)
    problems = []
    with overlay.connect() as conn:
        for entity, column in LEDGER_COLUMNS.items():
            table = SYNCED[entity]
            rows = conn.execute(sa.select(table.c.erp_key, table.c[column]).where(table.c.erp_deleted_at.is_(None))).all()
            held = {key: amount.quantize(1) for key, amount in rows}
            problems += [f"{entity} {key}: ERP {amount}, overlay {held.get(key)}" for key, amount in expected[entity].items() if held.get(key) != amount]
            problems += [f"{entity} {key}: in the overlay, not in the ERP" for key in held.keys() - expected[entity].keys()]
        for entity, count in counts.items():
            table = SYNCED[entity]
            live = conn.execute(sa.select(sa.func.count()).select_from(table).where(table.c.erp_deleted_at.is_(None))).scalar_one()
            if live != count:
                problems.append(f"{entity}: {count} rows in the ERP, {live} in the overlay")
        problems += [f"quarantined: {row.entity} {row.erp_key}: {row.reason}" for row in conn.execute(sa.select(quarantine))]
    return problems


def delivery_problems(overlay: sa.Engine, received: list[Any], first_outbox_id: int) -> tuple[list[str], Counter[str]]:
    """Message-IDs that arrived twice, sent rows that did not arrive exactly once, messages nobody sent; and the outbox by status."""
    arrived = Counter(r.message["Message-ID"] for r in received)
    problems = [f"{mid} arrived {n} times" for mid, n in arrived.items() if n > 1]
    domain = SENDER.rpartition("@")[2]
    with overlay.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.key, outbox.c.status).where(outbox.c.id > first_outbox_id, outbox.c.channel == "email")).all()
    statuses = Counter(row.status for row in rows)
    sent = {message_id(row.key, domain): row.key for row in rows if row.status == "sent"}
    problems += [f"sent {key} arrived {arrived[mid]} times" for mid, key in sent.items() if arrived[mid] != 1]
    problems += [f"{mid} arrived but no outbox row says it was sent" for mid in arrived.keys() - sent.keys()]
    problems += [f"{n} e-mails {status}" for status, n in statuses.items() if status in ("unknown", "sending", "failed")]
    return problems, statuses


# -- the soak ------------------------------------------------------------------------------------------


def test_the_scheduler_runs_every_job_on_time_for_ten_minutes_while_the_erp_keeps_working(tmp_path: Path) -> None:
    with LoopbackSmtp() as smtp:
        home = soak_home(tmp_path / "home", smtp.port)
        erp_file, overlay_file = home / "var" / "demo_erp.sqlite", home / "var" / "demo_crm.sqlite"
        overlay = sa.create_engine(f"sqlite:///{overlay_file}")
        with overlay.connect() as conn:
            first_outbox_id = conn.execute(sa.select(sa.func.coalesce(sa.func.max(outbox.c.id), 0))).scalar_one()
        activity = KeepWorking(DolibarrActivity(erp_file), ACTIVITY_EVERY)
        with SchedulerProcess(home, tmp_path / "scheduler.log") as scheduler, RssSamples(scheduler.pid, RSS_EVERY) as memory:
            scheduler.wait_for("leading as", 60)
            led = time.monotonic()
            activity.start()
            time.sleep(SECONDS)
            events = activity.stop()
            quiet = utc_now()
            wait_for_runs(overlay, quiet, ["sync"], 120)
            wait_for_runs(overlay, quiet, ["reconcile", "chains_tick", "outbox_dispatch"], 240)
            lifetime = time.monotonic() - led
            assert scheduler.stop(timeout=120) == 0, scheduler.text()
        runs = history(home, limit=100_000)

        late, figures = late_runs(runs, lifetime)
        rss_first, rss_last = memory.growth_mib(warm_up=min(120.0, SECONDS / 4))
        report = (
            f"soak of {SECONDS} s ({lifetime:.0f} s led), ERP events {dict(events)}\n"
            + "\n".join(
                f"  {job}: {f['runs']} runs (expected {f['expected']}), gaps mean {f['mean_gap']:.2f} s, max {f['max_gap']:.2f} s" for job, f in figures.items()
            )
            + f"\n  runs by job and status: {dict(Counter((r['job'], r['status']) for r in runs))}"
            + f"\n  RSS {rss_first:.1f} MiB (first third after warm-up) -> {rss_last:.1f} MiB (last third)"
        )
        print(report)
        assert late == [], report
        assert overlapping(runs) == [], report
        assert [r for r in runs if r["status"] not in ("ok", "skipped")] == [], report
        assert unexplained_skips(runs) == [], report
        assert ledger_differences(erp_file, overlay) == []
        delivered, statuses = delivery_problems(overlay, smtp.received, first_outbox_id)
        print(f"  e-mails: {len(smtp.received)} received; outbox {dict(statuses)}\n{memory.table()}")
        assert delivered == [], f"{statuses}\n{report}"
        assert statuses["sent"] > 0 and len(smtp.received) == statuses["sent"], f"{statuses}, {len(smtp.received)} received"
        assert rss_last - rss_first < RSS_GROWTH_MIB, f"{report}\n{memory.table()}"
        overlay.dispose()
