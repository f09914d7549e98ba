"""Every command that writes the overlay, started in pairs against one home at the same moment.

Each pair must end with both commands done and the overlay right, or with one of them
refused in one line (exit 2) because the other holds the overlay: never a traceback, a
hang, a doubled row or a damaged database. The commands are processes of the real CLI,
forked once its imports are loaded (`tests.support.cli.ForkServer`), so that both start
their work at the same moment; after each pair the overlay is checked (SQLite's integrity
check, every ERP row accounted for, one current membership per partner and segment, one
event per entry and exit, no sync run left marked running), and the home goes on to the
next pair as it is.

The SQLite home is the one `erp-crm init` makes, whose overlay is the demo's, so the demo
takes part; a PostgreSQL home has the demo ERP synced into a PostgreSQL overlay, which
the demo does not touch.
"""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import yaml

from erp_crm.demo import build_demo_erp
from erp_crm.settings.root import Settings, load_settings
from tests.support.cli import ForkServer, erp_crm
from tests.support.overlay_checks import membership_problems, runs_left_running
from tests.support.services import compare, open_overlay

pytestmark = pytest.mark.slow

DEMO = ("--customers", "20", "--years", "1", "--seed", "5")
WRITERS = {
    "sync": ("sync",),
    "sync --full": ("sync", "--full"),
    "metrics compute": ("metrics", "compute"),
    "segments refresh": ("segments", "refresh"),
    "db upgrade": ("db", "upgrade"),
    "demo": ("demo", *DEMO),
}
TIMEOUT = 180  # seconds; a command still running then is hung


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = erp_crm("--home", home, *args, timeout=TIMEOUT)
    assert done.returncode == 0, (args, done.stderr)
    return done


def run_together(cli: ForkServer, home: Path, first: tuple[str, ...], second: tuple[str, ...]) -> list[str]:
    """Start both commands at the same moment; how each ended: "done" or "refused: <the line>"."""
    started = [cli.start("--home", home, *args) for args in (first, second)]
    cli.go(*started)
    outcomes = [command.wait(TIMEOUT) for command in started]
    for args, outcome in zip((first, second), outcomes):
        if outcome is None:
            pytest.fail(f"{' '.join(args)} hung beside {' '.join(second if args is first else first)} (killed after {TIMEOUT} s)")
    return [_ended(args, *outcome) for args, outcome in zip((first, second), outcomes) if outcome is not None]


def _ended(args: tuple[str, ...], code: int, stderr: str) -> str:
    if code == 0:
        return "done"
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1, f"{' '.join(args)}: exit {code}: {stderr}"
    assert "try again when it has finished" in lines[0], f"{' '.join(args)}: {lines[0]}"
    return f"refused: {lines[0]}"


def overlay_problems(settings: Settings) -> list[str]:
    """Everything wrong with the home's overlay now."""
    url = settings.overlay.full_url()
    problems = []
    if url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(url.database or "")) as db:
            problems += [f"integrity: {row[0]}" for row in db.execute("PRAGMA integrity_check") if row[0] != "ok"]
    problems += [f"{c.entity}: ERP {c.erp}, overlay {c.overlay}, quarantined {c.quarantined}" for c in compare(settings) if not c.complete]
    with open_overlay(settings) as overlay, overlay.connect() as conn:
        problems += membership_problems(conn)
        problems += [f"sync run {run} left running" for run in runs_left_running(conn)]
    return problems


def new_home(tmp_path: Path, overlay_url: str | None = None) -> Path:
    """A home as `erp-crm init` makes it (its overlay the demo's), or with the overlay at `overlay_url`."""
    home = tmp_path / "crm"
    assert erp_crm("init", home).returncode == 0
    if overlay_url is not None:
        config_file = home / "config" / "erp_crm.yaml"
        config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
        config["overlay"]["url"] = overlay_url
        config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    return home


def sqlite_home(tmp_path: Path) -> Path:
    """A home as `erp-crm init` makes it, after the demo."""
    home = new_home(tmp_path)
    run(home, *WRITERS["demo"])
    return home


def postgresql_home(tmp_path: Path, pg_url: str) -> Path:
    """A home whose overlay is PostgreSQL, with the demo ERP synced into it and the metrics and segments computed."""
    home = new_home(tmp_path, pg_url)
    (home / "var").mkdir(exist_ok=True)
    build_demo_erp(f"sqlite:///{home / 'var' / 'demo_erp.sqlite'}", customers=20, years=1, seed=5)
    for name in ("db upgrade", "sync --full", "metrics compute", "segments refresh"):
        run(home, *WRITERS[name])
    return home


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[ForkServer]:
    with ForkServer(tmp_path / "commands") as server:
        yield server


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_writers_started_in_pairs_leave_a_correct_overlay(backend: str, cli: ForkServer, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if backend == "sqlite":
        home, writers = sqlite_home(tmp_path), WRITERS
    else:
        home = postgresql_home(tmp_path, request.getfixturevalue("pg_url"))
        writers = {name: args for name, args in WRITERS.items() if name != "demo"}
    settings = load_settings(home, environ={})
    assert overlay_problems(settings) == []
    refusals = 0
    for first, second in itertools.combinations_with_replacement(writers, 2):
        outcomes = run_together(cli, home, writers[first], writers[second])
        assert "done" in outcomes, f"{first} + {second}: {outcomes}"
        refusals += outcomes.count("done") < 2
        assert overlay_problems(settings) == [], f"after {first} + {second}: {outcomes}"
    assert refusals, "no two commands ever met: the test proved nothing"


def test_two_upgrades_of_an_empty_overlay_at_once(overlay_url: str, cli: ForkServer, tmp_path: Path) -> None:
    home = new_home(tmp_path, overlay_url)
    outcomes = run_together(cli, home, WRITERS["db upgrade"], WRITERS["db upgrade"])
    assert "done" in outcomes, outcomes
    current = run(home, "db", "current").stdout
    assert "(newest" in current and "run `erp-crm db upgrade`" not in current, current
