"""`erp-crm worker`: several on PostgreSQL share the due chain steps and the outbox, none twice; killed or stopped, nothing is half-done.

The workers are real processes of the `erp-crm` entry point (those that must start
together forked from one that has imported it: tests.support.cli.ForkServer), on a home whose
chain sends an e-mail, makes a task and waits, and whose outbox goes to a loopback SMTP
server. After each test every enrolment has either all of a step's effects (its outbox
row, its task, its log lines, its next step) or none, and no message arrived twice.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from erp_crm.automation.chain_store import enrol
from erp_crm.automation.tick import ENROLLING, Tick, publish_all, tick
from erp_crm.metrics.compute import compute_metrics_when_due
from erp_crm.model.tables.chains import enrolment, step_log, task
from erp_crm.model.tables.outbox import outbox
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.metrics import MetricsSection
from erp_crm.store import change_feed
from erp_crm.store.overlay import Overlay
from tests.support.chain_overlay import T0, buy, chain_overlay, make_home, runtime
from tests.support.cli import ERP_CRM, ForkServer, cli_environment, erp_crm
from tests.support.outbox import SENDER
from tests.support.smtp import LoopbackSmtp

CHAIN = "trigger: manual\nsteps:\n  - email: winback_offer\n  - task: {title: 'Hívd: {{ partner.name }}', due: 2d}\n  - wait: 1d\n"
STEPS = 3  # log lines of a due enrolment's walk: the e-mail, the task, the wait
FIRST = 100  # ids of the partners added to chain_overlay's five


def worker_home(tmp_path: Path, overlay_url: str, smtp_port: int, batch: int) -> Path:
    """A home with the shipped templates and chains, the chain under test, the overlay and a loopback SMTP server in its settings."""
    home = make_home(tmp_path, {"work": CHAIN})
    settings = {
        "overlay": {"url": overlay_url},
        "email": {"sender": SENDER, "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "timeout": 5}},
        "chains": {"batch": batch},
        "outbox": {"batch": batch},
        "logging": {"file": None},
    }
    (home / "config").mkdir()
    (home / "config" / "erp_crm.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    return home


def enrol_many(overlay: Overlay, home: Path, count: int) -> None:
    """`count` more partners with addresses, each enrolled in the chain and due at once."""
    with overlay.begin_writing() as conn:
        conn.execute(
            sa.insert(SYNCED["partner"]),
            [
                {"id": i, "source": "erp", "erp_key": f"W{i}", "row_hash": "x", "synced_at": T0, "name": f"Vevő {i}", "email": f"v{i}@vevo.hu"}
                for i in range(FIRST, FIRST + count)
            ],
        )
        (published,) = publish_all(conn, runtime(home), T0, ["work"])
        enrol(conn, published, range(FIRST, FIRST + count), f"manual:{T0:%Y-%m-%d}", T0)


def whole_steps(overlay: Overlay) -> dict[str, int]:
    """Enrolments by how far they went, after checking each went all the way or not at all (one outbox row, one task, three log lines)."""
    with overlay.connect() as conn:
        logs = dict(conn.execute(sa.select(step_log.c.enrolment_id, sa.func.count()).group_by(step_log.c.enrolment_id)).all())
        mails = collections.Counter(conn.execute(sa.select(outbox.c.key)).scalars())
        tasks = collections.Counter(conn.execute(sa.select(task.c.enrolment_id)).scalars())
        rows = conn.execute(sa.select(enrolment.c.id, enrolment.c.step, enrolment.c.steps_taken)).all()
    assert max(mails.values(), default=1) == 1 and max(tasks.values(), default=1) == 1
    states: collections.Counter[str] = collections.Counter()
    for row in rows:
        moved = row.steps_taken == STEPS
        assert (logs.get(row.id, 0), mails[f"chain:{row.id}:0"], tasks[row.id]) == ((STEPS, 1, 1) if moved else (0, 0, 0)), f"enrolment {row.id} is half-done"
        assert row.step == ("exit" if moved else "step-1")
        states["moved" if moved else "due"] += 1
    return dict(states)


def arrived_once(smtp: LoopbackSmtp, overlay: Overlay) -> dict[str, int]:
    """Outbox rows by status, after checking no e-mail arrived twice and each sent one arrived."""
    arrived = collections.Counter(r.message["Message-ID"] for r in smtp.received)
    assert max(arrived.values(), default=1) == 1, "an e-mail arrived twice"
    with overlay.connect() as conn:
        by_status = dict(conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)).all())
    assert len(smtp.received) >= by_status.get("sent", 0)
    assert len(smtp.received) <= by_status.get("sent", 0) + by_status.get("unknown", 0)
    return by_status


def moved_by(stdout: str) -> int:
    found = re.search(r"worker stopped \(.*?\): (\d+) enrolments moved on", stdout)
    assert found, stdout
    return int(found.group(1))


@pytest.mark.slow
def test_three_workers_share_the_due_steps_and_the_outbox_none_twice(pg_url: str, tmp_path: Path) -> None:
    with LoopbackSmtp() as smtp, chain_overlay(pg_url) as overlay:
        home = worker_home(tmp_path, pg_url, smtp.port, batch=10)
        enrol_many(overlay, home, 300)
        with ForkServer(tmp_path / "forks") as cli:
            workers = [cli.start("--home", home, "worker", "--once") for _ in range(3)]
            cli.go(*workers)
            ended = [w.wait(240) for w in workers]
        outputs = [(w.folder / "stdout").read_text() for w in workers]
        states = whole_steps(overlay)
        statuses = arrived_once(smtp, overlay)
    assert all(e is not None and e[0] == 0 for e in ended), ended
    moved = [moved_by(out) for out in outputs]
    assert sum(moved) == 300 and all(moved), f"the three shared the 300 due enrolments: {moved}"
    assert states == {"moved": 300}
    assert statuses == {"sent": 300} and len(smtp.received) == 300


@pytest.mark.slow
def test_a_worker_killed_mid_batch_leaves_nothing_half_done_and_another_finishes(pg_url: str, tmp_path: Path) -> None:
    with LoopbackSmtp(answer_after=0.002) as smtp, chain_overlay(pg_url) as overlay:
        home = worker_home(tmp_path, pg_url, smtp.port, batch=25)
        enrol_many(overlay, home, 400)
        with ForkServer(tmp_path / "forks") as cli:
            doomed = cli.start("--home", home, "worker")
            cli.go(doomed)
            wait_until(lambda: moved_so_far(overlay) > 0, 120)
            os.kill(doomed.pid, signal.SIGKILL)  # the next batch is under way: its transaction dies with the process
            at_kill = whole_steps(overlay)
            finisher = cli.start("--home", home, "worker", "--once")
            cli.go(finisher)
            ended = finisher.wait(240)
        states = whole_steps(overlay)
        statuses = arrived_once(smtp, overlay)
    assert ended is not None and ended[0] == 0, ended
    assert 0 < at_kill["moved"] < 400 and at_kill["moved"] % 25 == 0, f"whole batches only: {at_kill}"
    assert states == {"moved": 400}
    assert set(statuses) <= {"sent", "unknown"} and sum(statuses.values()) == 400, statuses


def moved_so_far(overlay: Overlay) -> int:
    with overlay.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(enrolment).where(enrolment.c.steps_taken == STEPS)).scalar_one())


def wait_until(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.slow
def test_sigterm_finishes_the_round_in_hand_and_stops(pg_url: str, tmp_path: Path) -> None:
    with LoopbackSmtp() as smtp, chain_overlay(pg_url) as overlay:
        home = worker_home(tmp_path, pg_url, smtp.port, batch=20)
        enrol_many(overlay, home, 2000)
        busy = started_worker(home)
        wait_until(lambda: moved_so_far(overlay) > 0, 120)
        busy.send_signal(signal.SIGTERM)
        out, err = busy.communicate(timeout=30)
        states = whole_steps(overlay)
    assert busy.returncode == 0, err
    assert "worker stopped (SIGTERM)" in out
    assert 0 < states["moved"] < 2000 and states["moved"] % 20 == 0, states


@pytest.mark.slow
def test_an_idle_worker_stops_at_once_on_sigterm_or_ctrl_c(overlay_url: str, tmp_path: Path) -> None:
    with LoopbackSmtp() as smtp, chain_overlay(overlay_url):
        home = worker_home(tmp_path, overlay_url, smtp.port, batch=10)
        for number in (signal.SIGTERM, signal.SIGINT):
            idle = started_worker(home)
            time.sleep(1.5)  # resting now: nothing is due
            asked = time.monotonic()
            idle.send_signal(number)
            out, err = idle.communicate(timeout=30)
            assert idle.returncode == 0 and f"worker stopped ({number.name}): 0 enrolments moved on, 0 messages handled" in out, err
            assert time.monotonic() - asked < 5


def started_worker(home: Path) -> subprocess.Popen[str]:
    """`erp-crm worker` running, once it has said it started."""
    child = subprocess.Popen([*ERP_CRM, "--home", str(home), "worker"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_environment())
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.startswith("worker "), f"{line!r} {child.stderr.read() if child.stderr else ''}"
    return child


def test_on_sqlite_one_worker_runs_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'overlay.sqlite'}"
    with LoopbackSmtp() as smtp, chain_overlay(url) as overlay:
        home = worker_home(tmp_path, url, smtp.port, batch=10)
        enrol_many(overlay, home, 30)
        with overlay.lock("worker", "held by the test"):
            refused = erp_crm("--home", home, "worker", "--once")
        done = erp_crm("--home", home, "worker", "--once")
        states = whole_steps(overlay)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        f"error: another worker is running on this SQLite overlay; several workers need a PostgreSQL overlay (docs/operations.md, Workers) ({tmp_path / 'overlay.sqlite'}.worker.lock); try again when it has finished"
    ]
    assert done.returncode == 0 and "the only worker this SQLite overlay allows" in done.stdout and "30 enrolments moved on, 30 messages handled" in done.stdout
    assert states == {"moved": 30} and len(smtp.received) == 30


def test_mistaken_options_are_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'overlay.sqlite'}"
    home = worker_home(tmp_path, url, 25, batch=10)
    for args, words in (
        (("--only", "metrixs"), "Invalid value for '--only': 'metrixs' is not one of 'tick', 'dispatch', 'metrics'."),
        (("--once", "now"), "Got unexpected extra argument (now)"),
        (("--only",), "Option '--only' requires an argument."),
    ):
        done = erp_crm("--home", home, "worker", *args)
        assert done.returncode == 2 and done.stdout == "", done
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith(f"error: {words}")


def test_ticks_on_postgresql_neither_wait_for_each_other_nor_enrol_twice(pg_url: str, tmp_path: Path) -> None:
    with LoopbackSmtp() as smtp, chain_overlay(pg_url) as overlay:
        home = worker_home(tmp_path, pg_url, smtp.port, batch=10)
        enrol_many(overlay, home, 40)
        rt = runtime(home, batch=10)
        with overlay.begin() as held:  # another tick's batch in progress: ten enrolments locked
            locked = held.execute(sa.select(enrolment.c.id).order_by(enrolment.c.due_at, enrolment.c.id).limit(10).with_for_update()).scalars().all()
            with overlay.lock(ENROLLING, "another tick"):  # and another tick publishing and enrolling
                report = in_thread(lambda: tick(overlay, rt, now=T0), 30)
        with Tick(overlay, rt, T0) as last:
            last.enrol()
            rest = last.batch(10)
        states = whole_steps(overlay)
    assert report.enrolling_elsewhere and report.published == [] and report.moved == 30, "it moved what was free and waited for nothing"
    assert not last.report.enrolling_elsewhere and rest == 10 and len(locked) == 10
    assert states == {"moved": 40}


def in_thread(body: Any, seconds: float) -> Any:
    """`body()` in a thread of its own; its result, or a failure if it has not ended within `seconds` (it waited on a lock)."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(body()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert results, f"still running after {seconds} s: it waited for another tick"
    return results[0]


def test_a_metrics_run_is_done_when_due_by_whoever_takes_the_lock_first(overlay_url: str) -> None:
    section = MetricsSection(change_margin_minutes=0)
    with chain_overlay(overlay_url) as overlay:
        buy(overlay, 1, dt.date.today() - dt.timedelta(days=30))
        first = compute_metrics_when_due(overlay, section, source="erp")
        again = compute_metrics_when_due(overlay, section, source="erp")
        with overlay.begin() as conn:  # as the sync records a changed invoice
            change_feed.record_partners(conn, "invoice", [1], dt.datetime.now())
        time.sleep(1.1)  # a run's start is kept to the second: the next one starts after the change
        with overlay.lock("metrics", "another metrics run"):
            skipped = compute_metrics_when_due(overlay, section, source="erp")
        changed = compute_metrics_when_due(overlay, section, source="erp")
        after = compute_metrics_when_due(overlay, section, source="erp")
    assert first is not None and first.mode == "full" and first.customers == 1
    assert again is None, "nothing changed since the last run"
    assert skipped is None, "another run holds the lock: skipped, not refused"
    assert changed is not None and changed.mode == "incremental" and changed.recomputed == 1
    assert after is None
