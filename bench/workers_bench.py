"""Workers benchmark: one `erp-crm worker` process against three on the same due chain steps, on a PostgreSQL overlay.

    .venv/bin/python bench/workers_bench.py                       # 100,000 due steps (50,000 enrolments), 1 and 3 workers
    .venv/bin/python bench/workers_bench.py --steps 10000 --workers 1 2 3
    .venv/bin/python bench/workers_bench.py --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/postgres --json

The promise measured (docs/operations.md, "Workers"): any number of worker processes
share the due chain steps through row locks (`FOR UPDATE SKIP LOCKED`), none waiting for
another and no step processed twice. Measured, in one run:

- *the overlay*: built by the chains benchmark's builder (bench/chains_bench.py): one
  published version of a chain shaped like the shipped win-back chain (trigger, goal
  `bought_since_enrolment`, a suppression segment), whose steps are `wait: 14d`, an
  e-mail with the shipped `winback_offer` template, `wait: 14d`, exit. Every enrolment
  sits at the e-mail step with its due time months ago, so all are due: each costs two
  steps, the e-mail (the goal and suppression asked, the partner's fields read, consent
  and the weekly cap asked, the template rendered in the partner's language, the e-mail
  built with its signed unsubscribe link and queued in the outbox) and the wait. Half
  as many partners as enrolments (two each), with addresses (1 in 97 none), languages,
  salespeople, contacts and two earlier invoices each. The base is built once, analysed,
  and each run takes a fresh copy (`CREATE DATABASE … TEMPLATE`).
- *a run*: N processes of `erp-crm --home HOME worker --once --only tick` started
  together on the copy, with settings as a company has them (a sender, a public URL for
  unsubscribe links, `consent.max_per_week: 3`, the default batch of 500); timed from
  the start of the first to the exit of the last (Python's start and imports included:
  the row "0 due" shows that fixed cost), with the CPU time the workers used.
- *checks after every run*: every worker exited 0; every enrolment moved on once (one
  outbox row per enrolment and step, all keys distinct; one step-log row per
  enrolment and step number, 3 per enrolment with the wait it had before; none left due;
  all at the chain's end step); the workers' own counts add up to the enrolments. A
  failed check stops the benchmark with an error.

The run measures a copy of erp_crm/ taken when it starts (the code committed at HEAD;
`--code tree` for the working tree); the workers import that copy. Its databases
(`erp_crm_bench_workers_<pid>` and copies named after it) are dropped at the end.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa
import yaml
from benchlib import machine
from chains_bench import CODE, CODE_ENV, EMAIL, END, VERSION_ENV, PostgresPlace, build, counts, freeze_code, log, make_home  # bench/ is the script's folder

from erp_crm.model.tables.chains import step_log
from erp_crm.model.tables.outbox import outbox
from erp_crm.store.overlay import Overlay

STEPS_PER_ENROLMENT = 2  # the e-mail and the wait after it
SECRET = "a benchmark's secret for unsubscribe links, not a real one"


class WorkersPlace(PostgresPlace):
    """The chains benchmark's PostgreSQL place, with databases named after this benchmark."""

    def __init__(self, server_url: str) -> None:
        super().__init__(server_url)
        self.prefix = f"erp_crm_bench_workers_{os.getpid()}"


@dataclass
class Run:
    workers: int
    enrolments: int
    seconds: float
    cpu_seconds: float
    moved: list[int]

    @property
    def steps(self) -> int:
        return self.enrolments * STEPS_PER_ENROLMENT


def settle_home(folder: Path) -> Path:
    """The chains benchmark's home, with settings as a company has them; the overlay URL is given to each run."""
    home = make_home(folder)
    settings = {"email": EMAIL, "web": {"public_url": "https://crm.pelda.hu"}, "consent": {"max_per_week": 3}, "logging": {"file": None}}
    (home / "config").mkdir()
    (home / "config" / "erp_crm.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return home


def run_workers(home: Path, url: sa.engine.URL, count: int) -> tuple[float, float, list[str]]:
    """`count` workers started together on `url`; (seconds from the first start to the last exit, their CPU seconds, their outputs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERP_CRM")}
    env |= {"ERP_CRM__OVERLAY__URL": url.render_as_string(hide_password=False), "ERP_CRM_WEB_SECRET": SECRET, "PYTHONPATH": str(CODE)}
    argv = [sys.executable, "-c", "from erp_crm.entrypoints.cli import main; main()", "--home", str(home), "worker", "--once", "--only", "tick"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    children = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(count)]
    outputs = [child.communicate() for child in children]
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    for child, (out, err) in zip(children, outputs, strict=True):
        if child.returncode != 0:
            raise CheckFailed(f"a worker exited {child.returncode}:\n{out[-2000:]}\n{err[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, [out for out, _err in outputs]


class CheckFailed(Exception):
    """The workers did something other than move every due enrolment once."""


def moved_by(output: str) -> int:
    found = re.search(r"worker stopped \(.*?\): (\d+) enrolments moved on", output)
    if found is None:
        raise CheckFailed(f"a worker did not say what it did:\n{output[-2000:]}")
    return int(found.group(1))


def check(url: sa.engine.URL, enrolments: int, moved: list[int]) -> None:
    """Every enrolment moved on once: one outbox row and two new step-log rows each, all distinct, none left due."""
    with Overlay.open(url) as overlay:
        found = counts(overlay, dt.datetime.now(dt.UTC).replace(tzinfo=None))
        with overlay.connect() as conn:
            steps = conn.execute(sa.select(sa.func.count()).select_from(sa.select(step_log.c.enrolment_id, step_log.c.seq).distinct().subquery())).scalar_one()
            rows = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
    expected = {
        "outbox rows": (rows, enrolments),
        "distinct outbox keys": (found["outbox_keys"], enrolments),
        "step-log rows": (found["step_log"], enrolments * 3),
        "distinct (enrolment, step number) in the step log": (steps, enrolments * 3),
        "enrolments still due": (found["due_left"], 0),
        f"enrolments at the end step {END}": (found["at_end_step"], enrolments),
        "enrolments the workers say they moved": (sum(moved), enrolments),
    }
    wrong = [f"{what}: {got:,}, expected {want:,}" for what, (got, want) in expected.items() if got != want]
    if found["enrolments"] != {"active": enrolments}:
        wrong.append(f"enrolments by status: {found['enrolments']}")
    if wrong:
        raise CheckFailed("; ".join(wrong))


def measure(args: argparse.Namespace) -> int:
    enrolments = args.steps // STEPS_PER_ENROLMENT
    version = os.environ.get(VERSION_ENV, "engine version unknown")
    workdir = Path(tempfile.mkdtemp(prefix="erpcrm-workers-bench-"))
    place = WorkersPlace(args.postgresql)
    home = settle_home(workdir)
    runs: list[Run] = []
    fixed_seconds = 0.0
    try:
        url = place.base("big")
        log(f"building {enrolments:,} due enrolments ({enrolments * STEPS_PER_ENROLMENT:,} steps) on {enrolments // 2:,} partners; {version}")
        with Overlay.open(url, at_head=False) as overlay:
            built = build(overlay, home, enrolments, enrolments // 2)
        place.built("big")
        server = place.server()
        log(f"  built in {built['seconds']:.1f} s; {server}")
        for count in args.workers:
            copy = place.copy("big", f"w{count}")
            os.sync()
            try:
                seconds, cpu, outputs = run_workers(home, copy, count)
                moved = [moved_by(out) for out in outputs]
                check(copy, enrolments, moved)
                if not fixed_seconds:  # the same copy, now with nothing due
                    fixed_seconds = run_workers(home, copy, 1)[0]
                    log(f"  a worker with nothing due: {fixed_seconds:.2f} s")
            finally:
                place.drop(copy)
            runs.append(Run(count, enrolments, seconds, cpu, moved))
            log(f"  {count} worker(s): {seconds:.1f} s, {enrolments * STEPS_PER_ENROLMENT / seconds:,.0f} steps/s, CPU {cpu:.1f} s; moved {moved}")
    finally:
        place.close()
        shutil.rmtree(workdir, ignore_errors=True)
    header = {"date": dt.date.today().isoformat(), "machine": machine(), "engine": version, "server": server, "build_seconds": built["seconds"]}
    if args.json:
        print(json.dumps(header | {"runs": [asdict(r) for r in runs], "fixed_seconds": fixed_seconds}, indent=2))
        return 0
    print(f"\nWorkers benchmark, {header['date']}; {machine()}; {server}; {version}")
    print(f"{enrolments:,} due enrolments on {enrolments // 2:,} partners, {enrolments * STEPS_PER_ENROLMENT:,} due steps; built in {built['seconds']:.0f} s\n")
    print(table(runs, fixed_seconds))
    return 0


def table(runs: list[Run], fixed_seconds: float) -> str:
    base = runs[0]
    lines = [
        "| workers | due steps | seconds | steps/s | ratio to 1 worker | CPU s of the workers | enrolments each worker moved | every step once, none left due |",
        "|---|---|---|---|---|---|---|---|",
        f"| 1 | 0 (the fixed cost: start, imports, one look) | {fixed_seconds:.2f} | — | — | — | — | — |",
    ]
    for r in runs:
        rate, base_rate = r.steps / r.seconds, base.steps / base.seconds
        lines.append(
            f"| {r.workers} | {r.steps:,} | {r.seconds:.1f} | {rate:,.0f} | {rate / base_rate:.2f}× | {r.cpu_seconds:.1f} | {', '.join(f'{m:,}' for m in r.moved)} | yes |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgresql", metavar="URL", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres", help="the server the databases are made on")
    parser.add_argument("--steps", type=int, default=100_000, help="due chain steps (two per enrolment; default 100,000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3], help="worker counts to compare, the first the baseline (default: 1 3)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--code", choices=("head", "tree"), default="head", help="measure erp_crm/ as committed at HEAD (default) or the working tree")
    args = parser.parse_args()
    if args.steps < 1000 or any(n < 1 for n in args.workers):
        parser.error("at least 1,000 steps and one worker")
    if CODE is None:  # run again on a copy of the code taken now, which the workers import too
        folder, version = freeze_code(args.code)
        compileall.compile_dir(folder, quiet=1)  # compiled once, not by each worker as it starts
        os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]], {**os.environ, CODE_ENV: str(folder), VERSION_ENV: version})
    try:
        return measure(args)
    finally:
        if Path(CODE).name.startswith("erpcrm-chains-bench-code-"):
            shutil.rmtree(CODE, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CheckFailed as failed:
        print(f"check failed: {failed}", file=sys.stderr)
        sys.exit(2)
