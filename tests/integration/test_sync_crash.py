"""A sync killed with SIGKILL at random points, again and again, loses and doubles nothing.

The real command (`erp-crm sync`) runs in a subprocess; once it has recorded its run in
the overlay it is killed after a random (seeded) share of the time such a run takes
here, until at least `KILLS` kills have landed inside a run. Full, incremental and
reconciling runs alternate; some resume the run that was killed, and between some of
them the ERP changes the way an ERP does (new, changed and deleted partners, invoices
and lines; invoices set back to draft). Finally, uninterrupted runs must leave the
overlay equal to the ERP row for row, computed from the ERP alone:

- after two incremental runs, every ERP row is there with its current values, and the
  only extra rows are ones the ERP deleted or set back to draft, with their lines
  (incremental runs do not look for those; lines deleted from a changed invoice they do see);
- after a reconciling run, the live rows are exactly the ERP's, everything else is
  marked deleted, no key is held twice, every reference points at the right row;
- one more run changes nothing.

On a failure the message lists the seed and every attempt (mode, ERP changes before
it, when it was killed, outcome), which is what reproducing it needs; `CRASH_SEED=n`
runs another sequence.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from erp_crm.model.tables.sync import quarantine, sync_run, sync_state
from tests.support.homes import make_home
from tests.support.tiny_erp import TinyErp, differences, fac, install_connector, read_overlay, soc

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("CRASH_SEED", "20240501"))  # another seed, another sequence of kills and changes
KILLS = 20  # kills that land inside a run
MAX_ATTEMPTS = 90
BATCH_SIZE = 500  # many small overlay transactions: many places to be killed between


@dataclass(frozen=True)
class Size:
    partners: int
    invoices: int
    lines: int
    full_seconds: float  # a first guess at a full run's time here; the test learns the real one


# Big enough that a full run takes a couple of seconds on each overlay.
SIZES = {"sqlite": Size(1_000, 6_000, 60_000, 1.5), "postgresql": Size(600, 2_500, 20_000, 2.0)}


# The console script's entry point, run by this interpreter: the process killed is the sync itself.
CLI = [sys.executable, "-c", "from erp_crm.entrypoints.cli import main; main()"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ERP_CRM")}


@dataclass
class Attempt:
    number: int
    mode: str
    delay: float
    changes: list[str]
    outcome: str = ""

    def __str__(self) -> str:
        changed = f" after ERP changes {', '.join(self.changes)}" if self.changes else ""
        return f"#{self.number} sync {self.mode}{changed}, kill {self.delay:.2f}s into the run: {self.outcome}"


@dataclass
class CrashRun:
    home: Path
    overlay_url: str
    erp: TinyErp
    rng: random.Random
    typical: dict[str, float]  # seconds a run of each mode took here, last time one finished
    log: list[Attempt] = field(default_factory=list)
    deck: list[str] = field(default_factory=list)  # ERP changes still to come in this round
    done: set[str] = field(default_factory=set)  # kinds of ERP change made so far

    def __post_init__(self) -> None:
        self.overlay = sa.create_engine(self.overlay_url, poolclass=NullPool)

    def command(self, *args: str) -> list[str]:
        return [*CLI, "--home", str(self.home), *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(self.command(*args), capture_output=True, text=True, env=_env(), timeout=300)
        assert done.returncode == 0, f"erp-crm {' '.join(args)} failed ({done.returncode}): {done.stderr}\n{self.history()}"
        return done

    def last_run_id(self) -> int:
        with self.overlay.connect() as conn:
            return conn.execute(sa.select(sa.func.coalesce(sa.func.max(sync_run.c.id), 0))).scalar_one()

    def attempt(self, mode: str, fraction: float, changes: list[str]) -> bool:
        """Start a sync, wait until it has recorded its run, then SIGKILL it after `fraction`
        of the time such a run took here; True when it died inside the run."""
        entry = Attempt(len(self.log) + 1, mode, 0.0, changes)
        self.log.append(entry)
        before = self.last_run_id()
        args = {"full": ["--full"], "reconcile": ["--reconcile"], "incremental": []}[mode]
        err_file = self.home / "var" / f"attempt-{entry.number}.err"
        with open(err_file, "w") as err:
            proc = subprocess.Popen(self.command("sync", *args), stdout=subprocess.DEVNULL, stderr=err, env=_env())
            deadline = time.monotonic() + 60
            while proc.poll() is None and self.last_run_id() == before and time.monotonic() < deadline:
                time.sleep(0.01)
            started = time.monotonic()
            entry.delay = fraction * self.typical[mode]
            try:
                code = proc.wait(timeout=entry.delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                code = proc.wait()
        if code != -signal.SIGKILL:
            entry.outcome = f"finished first (exit {code})"
            assert code == 0, f"sync {mode} failed: {err_file.read_text()}\n{self.history()}"
            self.typical[mode] = max(0.05, time.monotonic() - started)
            return False
        entry.outcome = "killed inside the run"
        return True

    def history(self) -> str:
        return f"seed {SEED}, {len(self.log)} attempts:\n" + "\n".join(map(str, self.log))

    def kinds_of_change(self) -> dict[str, Callable[[], object]]:
        """What the ERP's users do between two syncs, by name."""
        erp, rng = self.erp, self.rng
        return {
            "rename partners": lambda: erp.rename_partners(erp.sample(soc, 40)),
            "new partners and invoices": lambda: (erp.insert_partners(15), erp.insert_invoices(150, lines_each=5)),
            "invoices move on": lambda: erp.update_invoices(erp.sample(fac, 800)),
            "lines re-priced": lambda: erp.change_lines(erp.sample(fac, 15)),
            "lines deleted": lambda: erp.delete_lines(erp.sample(fac, 20), rng.randint(1, 3)),
            "invoices deleted": lambda: erp.delete_invoices(erp.sample(fac, 40)),
            "invoices back to draft": lambda: erp.unpost_invoices(erp.sample(fac, 15, fac.c.statut > 0)),
            "partners deleted": lambda: erp.delete_partners(_some(rng, erp.partners_without_invoices(), 5)),
        }

    def change_erp(self) -> list[str]:
        """One or two kinds of ERP activity, as happens between two syncs."""
        actions, rng = self.kinds_of_change(), self.rng
        if len(self.deck) < 2:  # every kind of change comes round, in a shuffled order
            fresh = sorted(actions)
            rng.shuffle(fresh)
            self.deck += fresh
        chosen = [self.deck.pop() for _ in range(rng.randint(1, 2))]
        for name in chosen:
            actions[name]()
            self.done.add(name)
        return chosen


def _some(rng: random.Random, keys: list[int], count: int) -> list[int]:
    return rng.sample(keys, min(count, len(keys)))


def _erp_url(overlay_url: str, tmp_path: Path, pg_url_factory: Callable[[], str] | None) -> str:
    """The ERP on the overlay's server type: SQLite beside SQLite, PostgreSQL beside PostgreSQL."""
    if overlay_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'erp.sqlite'}"
    assert pg_url_factory is not None
    return pg_url_factory()


def test_sigkilled_syncs_leave_the_overlay_equal_to_the_erp(overlay_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    backend = "sqlite" if overlay_url.startswith("sqlite") else "postgresql"
    size = SIZES[backend]
    factory = request.getfixturevalue("pg_url_factory") if backend == "postgresql" else None
    erp = TinyErp.create(_erp_url(overlay_url, tmp_path, factory), partners=size.partners, invoices=size.invoices, lines=size.lines, seed=SEED)
    home = make_home(tmp_path, erp_url=erp.url, connector="tiny", overlay_url=overlay_url, extra={"erp": {"batch_size": BATCH_SIZE}})
    install_connector(home)
    (home / "var").mkdir(exist_ok=True)
    crash = CrashRun(home, overlay_url, erp, random.Random(SEED), {"full": size.full_seconds, "reconcile": size.full_seconds, "incremental": 0.3})
    rng = crash.rng
    try:
        crash.run("db", "upgrade")

        kills, mode, killed = 0, "full", False
        while kills < KILLS or len(crash.done) < len(crash.kinds_of_change()):
            assert len(crash.log) < MAX_ATTEMPTS, f"only {kills} kills landed inside a run\n{crash.history()}"
            resume = killed and rng.random() < 0.6  # the same mode again resumes the killed run
            if crash.log and not resume:
                mode = rng.choice(("full", "incremental", "incremental", "reconcile"))
            # Incremental runs get something to read; the others meet changes now and then.
            changed = bool(crash.log) and ((mode == "incremental" and not resume) or rng.random() < 0.3)
            changes = crash.change_erp() if changed else []
            killed = crash.attempt(mode, rng.uniform(0.0, 0.9), changes)
            kills += killed

        # Uninterrupted: two incremental runs take in every insert and update.
        crash.run("sync")
        crash.run("sync")
        want = erp.expected()
        state = read_overlay(overlay_url)
        gone = {entity: set(state.live[entity]) - set(want[entity]) for entity in want}  # incremental runs miss deletes
        still = [d for d in differences(want, state) if "no longer has" not in d]
        assert not still, "after incremental runs:\n" + "\n".join(still) + "\n" + crash.history()
        unswept = sorted(k for k in gone["invoice_line"] if state.live["invoice_line"][k][0] in want["invoice"])
        assert not unswept, f"lines deleted from a changed invoice are still live: {unswept[:10]}\n{crash.history()}"

        # A reconciling run finds the deletes: now the overlay is the ERP, row for row.
        crash.run("sync", "--reconcile")
        state = read_overlay(overlay_url)
        found = differences(want, state)
        assert not found, "after reconciliation:\n" + "\n".join(found) + "\n" + crash.history()
        for entity, keys in gone.items():
            assert keys <= state.deleted[entity], f"{entity}: ERP deletes not marked deleted: {sorted(keys - state.deleted[entity])[:10]}"
        assert state.deleted["invoice"] and state.deleted["invoice_line"], "the ERP changes deleted nothing: the test lost its point"
        _assert_clean_state(crash)

        # And one more run changes nothing.
        report = json.loads(crash.run("sync", "--reconcile", "--json").stdout)
        writes = {e: (c["inserted"], c["updated"], c["deleted"], c["quarantined"]) for e, c in report["entities"].items()}
        assert all(w == (0, 0, 0, 0) for w in writes.values()), f"a run after a complete one still wrote {writes}\n{crash.history()}"
        assert not differences(want, read_overlay(overlay_url))
    finally:
        crash.overlay.dispose()
        erp.dispose()


def _assert_clean_state(crash: CrashRun) -> None:
    """No unfinished progress left behind, nothing in quarantine (the tiny ERP has no bad rows)."""
    with crash.overlay.connect() as conn:
        states = conn.execute(sa.select(sync_state.c.entity, sync_state.c.pending)).all()
        quarantined = conn.execute(sa.select(quarantine.c.entity, quarantine.c.erp_key, quarantine.c.reason)).all()
    pending = [entity for entity, progress in states if progress is not None]
    assert len(states) == 3 and not pending, f"progress of unfinished runs left for {pending}\n{crash.history()}"
    assert not quarantined, f"rows in quarantine: {quarantined[:5]}\n{crash.history()}"
