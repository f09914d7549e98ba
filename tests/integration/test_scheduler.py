"""The scheduled jobs as an admin runs them: `erp-crm jobs …` and `erp-crm scheduler run` as real processes, on SQLite and PostgreSQL overlays.

What must hold: every run is in the log from its start, a run killed mid-way is marked
so at the next start, a job never runs twice at once, one scheduler leads and a second
waits and takes over when the first dies (SIGKILL), a leader that loses its lease stops,
and the admins hear of a job that keeps failing, once.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from erp_crm.scheduling.lease import SCHEDULER
from erp_crm.settings.root import load_settings
from erp_crm.settings.schedule import SCHEDULE_FILE
from erp_crm.store.locking import advisory_key
from erp_crm.store.overlay import Overlay
from tests.support.cli import erp_crm
from tests.support.scheduler_process import SchedulerProcess, history, overlapping, with_schedule
from tests.support.smtp import LoopbackSmtp
from tests.support.tiny_erp import TinyErp, differences, read_overlay, tiny_home

CHAIN = {"sync": {"every": "15m"}, "metrics": {"after": ["sync"]}, "segments": {"after": ["metrics"]}}
FAST_LEADER = {"lease": "3s", "renew": "1s"}


@pytest.fixture
def erp_sqlite(tmp_path: Path) -> TinyErp:
    erp = TinyErp.create(f"sqlite:///{tmp_path / 'erp.sqlite'}", partners=10, invoices=30, lines=60)
    yield erp
    erp.engine.dispose()


def open_overlay(home: Path) -> Overlay:
    return Overlay.open(load_settings(home, environ={}).overlay.full_url())


# -- jobs run, history, pause -----------------------------------------------------------------------


def test_a_job_run_by_hand_is_logged_and_the_jobs_after_it_follow(tmp_path: Path, erp_sqlite: TinyErp, overlay_url: str) -> None:
    home = with_schedule(tiny_home(tmp_path, erp_sqlite.url, overlay_url=overlay_url), CHAIN)
    done = erp_crm("--home", home, "jobs", "run", "sync")
    assert done.returncode == 0, done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == ["sync", "metrics", "segments"]
    runs = history(home)
    assert [(r["job"], r["status"], r["cause"]) for r in runs] == [("sync", "ok", "by hand"), ("metrics", "ok", "after sync"), ("segments", "ok", "after metrics")]
    assert 0 < runs[0]["handled"] <= sum(erp_sqlite.counts().values()) and all(r["ended_at"] >= r["started_at"] for r in runs)
    assert differences(erp_sqlite.expected(), read_overlay(overlay_url)) == []
    alone = erp_crm("--home", home, "jobs", "run", "sync", "--alone", "--json")
    assert [r["job"] for r in json.loads(alone.stdout)] == ["sync"]


def test_a_job_running_elsewhere_is_skipped_and_logged_not_run_twice(tmp_path: Path, erp_sqlite: TinyErp, overlay_url: str) -> None:
    home = with_schedule(tiny_home(tmp_path, erp_sqlite.url, overlay_url=overlay_url), CHAIN)
    with open_overlay(home) as overlay, overlay.lock("job.sync", "held by the test"):
        done = erp_crm("--home", home, "jobs", "run", "sync")
    assert done.returncode == 4, done.stdout + done.stderr
    (run,) = history(home)
    assert run["status"] == "skipped" and "job sync is running in another process" in run["error"]


def test_a_reconciliation_that_meets_the_sync_waits_for_it_within_the_grace(tmp_path: Path, erp_sqlite: TinyErp, overlay_url: str) -> None:
    """A reconciliation falling on a time the sync runs too used to be skipped (and wait a day); it now runs once the sync ends."""
    from erp_crm.scheduling.runner import Runner
    from erp_crm.settings.schedule import load_schedule

    home = with_schedule(tiny_home(tmp_path, erp_sqlite.url, overlay_url=overlay_url), {"reconcile": {"cron": "30 2 * * *"}}, misfire_grace="30s")
    settings = load_settings(home, environ={})
    schedule = load_schedule(home)

    def sync_for(overlay: Overlay, seconds: float, taken: threading.Event) -> None:
        with overlay.lock(f"sync.{settings.erp.source}", "an incremental sync, played by the test"):
            taken.set()
            time.sleep(seconds)

    with open_overlay(home) as overlay:
        for grace, held, status in ((30, 2.0, "ok"), (2, 5.0, "skipped")):
            taken = threading.Event()
            sync = threading.Thread(target=sync_for, args=(overlay, held, taken))
            sync.start()
            taken.wait(10)
            started = time.monotonic()
            (result,) = Runner(overlay, settings, schedule.model_copy(update={"misfire_grace": grace})).run("reconcile", follow=False)
            waited = time.monotonic() - started
            sync.join()
            assert result.status == status, result.error
            assert waited >= held - 0.5 if status == "ok" else waited < held - 1  # the sync's end, or the grace without it
    assert [r["status"] for r in history(home)] == ["ok", "skipped"]
    assert differences(erp_sqlite.expected(), read_overlay(overlay_url)) == []


def test_a_paused_job_is_not_scheduled_until_resumed_but_runs_by_hand(tmp_path: Path, erp_sqlite: TinyErp, overlay_url: str) -> None:
    from erp_crm.scheduling.runner import BY_HAND, SCHEDULED, Runner
    from erp_crm.settings.schedule import load_schedule

    home = with_schedule(tiny_home(tmp_path, erp_sqlite.url, overlay_url=overlay_url), CHAIN)
    assert "paused" in erp_crm("--home", home, "jobs", "pause", "sync", "--reason", "ERP upgrade tonight").stdout
    listed = {row["job"]: row for row in json.loads(erp_crm("--home", home, "jobs", "list", "--json").stdout)}
    assert listed["sync"]["paused"] and listed["sync"]["paused_reason"] == "ERP upgrade tonight"
    with open_overlay(home) as overlay:
        runner = Runner(overlay, load_settings(home, environ={}), load_schedule(home))
        assert [r.status for r in runner.run("sync", SCHEDULED)] == ["paused"]
        assert [r.status for r in runner.run("sync", BY_HAND, follow=False)] == ["ok"]
    assert "resumed" in erp_crm("--home", home, "jobs", "resume", "sync").stdout
    assert "was not paused" in erp_crm("--home", home, "jobs", "resume", "sync").stdout


@pytest.mark.parametrize("command", [("jobs", "run", "nope"), ("jobs", "pause", "x' OR 1=1 --"), ("jobs", "history", "--limit", "0")])
def test_a_wrong_name_or_option_is_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    home = with_schedule(tiny_home(tmp_path), CHAIN)
    done = erp_crm("--home", home, *command)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_bad_schedule_stops_the_scheduler_before_it_starts(tmp_path: Path) -> None:
    home = with_schedule(tiny_home(tmp_path), {"sync": {"every": "often"}})
    done = erp_crm("--home", home, "scheduler", "run", timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {home / SCHEDULE_FILE}:3: jobs.sync.every: expected a duration such as 30s, 10m, 2h or 1d"


# -- failures and alerts ----------------------------------------------------------------------------


def test_a_failing_job_keeps_its_error_and_the_admins_hear_once(tmp_path: Path, overlay_url: str) -> None:
    with LoopbackSmtp() as smtp:
        email = {"sender": "crm@example.hu", "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none"}}
        home = tiny_home(tmp_path, f"sqlite:///{tmp_path / 'no such erp.sqlite'}", overlay_url=overlay_url, email=email)
        with_schedule(home, CHAIN, alerts={"to": ["admin@example.hu"], "after_failures": 2})
        codes = [erp_crm("--home", home, "jobs", "run", "sync").returncode for _ in range(4)]
        assert codes == [1, 1, 1, 1]
        runs = history(home)
        assert [r["status"] for r in runs] == ["failed"] * 4 and all("no such erp.sqlite" in r["error"] for r in runs)
        listed = {row["job"]: row for row in json.loads(erp_crm("--home", home, "jobs", "list", "--json").stdout)}
        assert listed["sync"]["failures"] == 4
        (alert,) = smtp.received  # at the second failure in a row, and not again at the third and fourth
        assert alert.recipients == ["admin@example.hu"]
        message = alert.message
        assert message["Subject"] == "erp-crm: job sync failed 2 times in a row"
        assert "no such erp.sqlite" in message.get_content()


def test_a_weekly_report_mails_the_segment_as_a_spreadsheet(tmp_path: Path, erp_sqlite: TinyErp) -> None:
    import io

    import openpyxl

    with LoopbackSmtp() as smtp:
        email = {"sender": "crm@example.hu", "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none"}}
        home = tiny_home(tmp_path, erp_sqlite.url, email=email)
        (home / "config" / "segments.yaml").write_text("segments:\n  everyone:\n    title: Everyone\n    filter: 'active or not active'\n", encoding="utf-8")
        report = {"segment": "everyone", "format": "xlsx", "language": "en", "to": ["lead@example.hu"]}
        with_schedule(home, {**CHAIN, "weekly": {"run": "report", "cron": "0 7 * * mon", "report": report}})
        assert erp_crm("--home", home, "jobs", "run", "sync").returncode == 0
        done = erp_crm("--home", home, "jobs", "run", "weekly")
        assert done.returncode == 0, done.stdout + done.stderr
        (mail,) = smtp.received
        (attachment,) = list(mail.message.iter_attachments())
        assert attachment.get_filename().startswith("everyone-") and attachment.get_filename().endswith(".xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(attachment.get_content())).active
        assert sheet.max_row - 1 == erp_sqlite.counts()["soc"] and mail.message["Subject"].startswith("erp-crm: everyone (")


# -- the scheduler: leading, standing by, dying ----------------------------------------------------


@pytest.mark.slow
def test_a_second_scheduler_waits_and_takes_over_when_the_leader_is_killed(tmp_path: Path, erp_sqlite: TinyErp, overlay_url: str) -> None:
    home = tiny_home(tmp_path, erp_sqlite.url, overlay_url=overlay_url)
    with_schedule(home, {"chains_tick": {"every": "1s", "catch_up": True}, **CHAIN}, leader=FAST_LEADER)
    with SchedulerProcess(home, tmp_path / "a.log") as first:
        first.wait_for("leading as", 30)
        with SchedulerProcess(home, tmp_path / "b.log") as second:
            second.wait_for("standby:", 30)
            time.sleep(3)  # the leader runs its jobs; the standby does nothing
            doctor = json.loads(erp_crm("--home", home, "doctor", "--json").stdout)
            (lease,) = [f for f in doctor["findings"] if f["name"] == "scheduler.lease"]
            assert lease["status"] == "warn" and "a second scheduler runs" in lease["message"]
            first.signal(signal.SIGKILL)
            took = second.wait_for("leading as", 15)
            assert took < 3 + 1 + 3  # the lease, one renewal period, and slack for a busy machine
            time.sleep(3)
            assert second.stop() == 0
    runs = history(home)
    by_pid = {r["pid"] for r in runs if r["job"] == "chains_tick"}
    assert by_pid == {first.pid, second.pid}
    assert overlapping(runs) == []
    assert not [r for r in runs if r["status"] == "running"]


@pytest.mark.slow
def test_killing_the_scheduler_mid_job_leaves_the_run_marked_killed_at_the_next_start(tmp_path: Path, pg_url_factory: Callable[[], str], overlay_url: str) -> None:
    erp = TinyErp.create(pg_url_factory(), partners=5, invoices=10, lines=20)
    home = with_schedule(tiny_home(tmp_path, erp.url, overlay_url=overlay_url), {"sync": {"every": "1h", "catch_up": True}}, leader=FAST_LEADER)
    with erp.engine.connect() as blocker:
        blocker.exec_driver_sql("LOCK TABLE soc, fac, facdet IN ACCESS EXCLUSIVE MODE")  # the sync's reads wait on it: mid-job
        with SchedulerProcess(home, tmp_path / "a.log") as first:
            first.wait_for("leading as", 30)
            deadline = time.monotonic() + 30
            while not [r for r in history(home) if r["status"] == "running"]:
                assert time.monotonic() < deadline, "the sync did not start"
                time.sleep(0.2)
            first.signal(signal.SIGKILL)
            first.process.wait(timeout=10)
        blocker.rollback()
    (left,) = history(home)
    assert left["status"] == "running"  # nobody can say otherwise until a scheduler starts
    with SchedulerProcess(home, tmp_path / "b.log") as second:
        second.wait_for("1 runs left unfinished by a process that stopped are marked killed", 30)
        deadline = time.monotonic() + 30
        while not [r for r in history(home) if r["status"] == "ok"]:
            assert time.monotonic() < deadline, second.text()
            time.sleep(0.2)
    runs = history(home)
    assert [(r["status"], r["cause"]) for r in runs] == [("killed", "caught up"), ("ok", "caught up")]
    assert "before it ended" in runs[0]["error"]
    assert differences(erp.expected(), read_overlay(overlay_url)) == []
    erp.engine.dispose()


@pytest.mark.slow
def test_a_leader_that_loses_its_lease_stops(tmp_path: Path, erp_sqlite: TinyErp, overlay_url: str) -> None:
    home = tiny_home(tmp_path, erp_sqlite.url, overlay_url=overlay_url)
    with_schedule(home, {"chains_tick": {"every": "1s"}}, leader=FAST_LEADER)
    with SchedulerProcess(home, tmp_path / "a.log") as first:
        first.wait_for("leading as", 30)
        with SchedulerProcess(home, tmp_path / "b.log") as second:
            second.wait_for("standby:", 30)
            if overlay_url.startswith("sqlite"):
                first.signal(signal.SIGSTOP)  # a leader that stalls past its lease (a frozen VM, a swapping machine)
                second.wait_for("leading as", 15)
                first.signal(signal.SIGCONT)
            else:  # the leader's session ends under it (a server restart, a network cut): its advisory lock goes with it
                with sa.create_engine(overlay_url).connect() as conn:
                    conn.exec_driver_sql(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted",
                        (advisory_key(f"lease.{SCHEDULER}"),),
                    )
                    conn.commit()
                second.wait_for("leading as", 15)
            assert first.process.wait(timeout=20) == 1
            assert "lost the lease" in first.text()
            time.sleep(2)
            assert second.stop() == 0
    assert overlapping(history(home)) == []
