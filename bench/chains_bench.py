"""Chains benchmark: `chains tick` over a million enrolments of which a share is due, beside
a bare SQL pass over the same due enrolments in the same run.

    .venv/bin/python bench/chains_bench.py                # 1,000,000 enrolments (and 100,000), SQLite (≈ 20 min)
    .venv/bin/python bench/chains_bench.py --quick        # 100,000 enrolments (and 10,000)
    .venv/bin/python bench/chains_bench.py --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/chains_bench.py --quick --profile --json

The promise measured (docs/chains.md, "The tick"): a waiting enrolment costs nothing until
it is due, so a tick over 1,000,000 enrolments costs what the *due* ones cost, growing
with them and not with all. Measured, in one run:

- *the overlay*: N enrolments (default 1,000,000) of one published version of a chain
  shaped like the shipped win-back chain (trigger `entered: lapsed`, `goal:
  bought_since_enrolment`, `suppress: [frequent_complainers]`), whose steps are
  `wait: 14d`, an e-mail with the shipped `winback_offer` template, `wait: 14d`, exit.
  Every enrolment has waited its first fortnight (one step-log row each) and sits at the
  e-mail step. N/10 partners in both sizes, each with N ÷ partners enrolments (trigger
  occurrences) of consecutive ids, which lie in different slots (below), so the due ones
  are spread over the partners (at 10 % due, none has more than two); partners have
  e-mail addresses (1 in 97 without one: its message is written as suppressed), a
  language (hu, en, or none), a salesperson for two in three, a contact for one in five,
  and two posted invoices each dated before enrolment (so the goal is asked of real
  rows, and none has bought). Rows are streamed in chunks straight into the tables
  (executemany on SQLite, COPY on PostgreSQL), not through `enrol()`.
- *the due share*: each enrolment's `due_at` lies in one of 1,000 twenty-minute slots
  after T0 (`(id × 7919) mod 1000`, a permutation of the slots over every 1,000 ids), so
  a tick at T0 + k slots finds exactly k/1000 of them due, scattered over the table. One
  base database per size; each case runs on a fresh copy of it (a file copy on SQLite,
  `CREATE DATABASE … TEMPLATE` on PostgreSQL), so every case starts from the same state.
- *tick*: `tick(overlay, Runtime(...), now=T0 + k slots)` with the default batch (500)
  and a runtime as `erp-crm chains tick` makes it for a company that has set a sender
  (each e-mail is built when the step decides it and kept whole in the outbox), a public
  URL (each message carries its signed unsubscribe link) and `consent.max_per_week: 3`,
  timed alone in a fresh interpreter (imports and the first connection before timing),
  wall and CPU time of that process, and SQL statements counted by a listener:
  it publishes the chain (unchanged: no new version), looks for trigger events (none),
  and moves every due enrolment on: goal and suppression asked per batch, the partner's
  fields read, consent, suppressed addresses and the weekly cap asked, the template
  rendered in the partner's language and the e-mail built, one outbox row (suppressed,
  with its reason, for a partner with no address or past the cap), two step-log rows
  and the enrolment's next due time written, a savepoint each. Then the child checks
  what it did: every due enrolment moved once, one outbox row each, two step-log rows
  each, none left due, none ended or failed.
  Shares 0, 0.1 %, 1 % and 10 % at N; 0 and 10 % at N/10 (the same number due as 1 % of
  N). Each case with due enrolments runs `--rounds` times (default 2, interleaved, every
  other round in reverse order) and the fastest counts, since the machine is shared. The
  0-due tick is the fixed cost (publishing, the trigger, one look at the index): 5 runs
  at the start and 5 at the end, the fastest of the 10.
- *bare SQL*, the baseline, on its own copy of the same case: with the raw driver, one
  SELECT of the due enrolments through the same index joined to their partners' address
  and name, then `executemany` of one outbox row each (the `winback_offer` text rendered
  and its e-mail built once, the same bytes in every row) and of one UPDATE of each
  enrolment's step and due time, one transaction. This is the least any tick must write
  for a due enrolment (its message and its next due time), without rendering or
  building per partner, the goal, suppression and consent checks, the step log or
  savepoints. The tick's time beside it shows what the product's
  guarantees cost; their growth side by side shows that both follow the due ones.
- *what is compared*: time per due enrolment at 0.1, 1 and 10 % of N (flat when the
  cost follows the due ones), also beyond the fixed cost, and the slope between shares
  (Δ time ÷ Δ due: a straight line when each due one costs the same); the fixed cost at
  N and N/10; and the same number due (1 % of N, 10 % of N/10) with ten times as many
  waiting.
- with `--postgresql URL`, the same on PostgreSQL at `--pg-enrolments` (default 100,000;
  `--quick` 10,000), in databases of its own (`erp_crm_bench_chains_<pid>` and copies
  named after it) created on that server and dropped at the end. The base is analysed
  after it is built (as autovacuum would have); whether autovacuum runs is printed, since
  without it the outbox keeps the statistics of an empty table through a long tick.

The run measures a copy of erp_crm/ taken when it starts, which it and every child import:
the code committed at HEAD (default), or the working tree as it is then (`--code tree`).
Progress goes to stderr, the table (or `--json`) to stdout. `--profile` adds one tick
at 1 % of N per setup under cProfile, with the functions of most time including callees,
of most own time, and erp_crm's own functions (cProfile slows Python more than C, and
does not see the PostgreSQL server's time except as waiting: read them as a ranking).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CODE_ENV, VERSION_ENV = "ERP_CRM_BENCH_CODE", "ERP_CRM_BENCH_VERSION"
CODE = os.environ.get(CODE_ENV)  # the copy of erp_crm/ the whole run measures (`freeze_code`)
sys.path.insert(0, str(ROOT))
if CODE:
    sys.path.insert(0, CODE)
sys.path.insert(0, str(HERE))

from benchlib import admin_sql, engine_version, machine, run_json  # noqa: E402  (bench/ is the script's folder)

from erp_crm.automation.chain_words import with_chain_words  # noqa: E402
from erp_crm.automation.consent import UnsubscribeLinks  # noqa: E402
from erp_crm.automation.email_builder import EmailBuilder  # noqa: E402
from erp_crm.automation.step_messages import Templates  # noqa: E402
from erp_crm.automation.tick import Runtime, publish_all, tick  # noqa: E402
from erp_crm.model.tables.chains import enrolment, step_log  # noqa: E402
from erp_crm.model.tables.outbox import outbox  # noqa: E402
from erp_crm.model.tables.segments import segment  # noqa: E402
from erp_crm.model.tables.synced import SYNCED  # noqa: E402
from erp_crm.segments.metrics_fields import segment_registry  # noqa: E402
from erp_crm.settings.sending import ChainsSection, ConsentSection, EmailSection, OutboxSection  # noqa: E402
from erp_crm.store.overlay import Overlay  # noqa: E402

CHAIN_NAME = "bench_winback"
CHAIN = """\
title: Visszacsábítás (benchmark)
trigger:
  entered: lapsed
re_entry: 180d
goal: bought_since_enrolment
suppress: [frequent_complainers]
language: hu
steps:
  - id: cool_off
    wait: 14d
  - id: offer
    email: winback_offer
  - id: pause
    wait: 14d
  - exit
"""
FIRST_WAIT, OFFER, PAUSE, END = "cool_off", "offer", "pause", "step-4"
T0 = dt.datetime(2026, 3, 2, 9, 0)  # a Monday, UTC
SLOTS = 1000  # due_at slots after T0; a tick at T0 + k slots finds k/1000 due
SLOT = dt.timedelta(seconds=1200)
SCATTER = 7919  # prime to 1000: id → slot is a permutation over every 1,000 ids
WAIT = dt.timedelta(days=14)
FIXED_REPEATS = 5
CHUNK = 50_000
USERS = 20
NAMES = ("Kovács", "Nagy", "Szabó", "Tóth", "Horváth", "Varga", "Kiss", "Molnár", "Németh", "Farkas", "Balogh", "Papp")
FORMS = ("Kft.", "Bt.", "Zrt.", "Kkt.")
LANGS = ("hu_HU", "en_GB", None)
TOWNS = ("Budapest", "Debrecen", "Szeged", "Miskolc", "Pécs", "Győr")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def slot_of(enrolment_id: int) -> int:
    return (enrolment_id * SCATTER) % SLOTS


def due_at_of(enrolment_id: int) -> dt.datetime:
    """Inside the enrolment's slot, never on its edge: (T0 + slot, T0 + slot + 1)."""
    return T0 + slot_of(enrolment_id) * SLOT + dt.timedelta(seconds=1 + (enrolment_id * 104_729) % (SLOT.seconds - 1))


def now_for(share: float) -> dt.datetime:
    return T0 + round(share * SLOTS) * SLOT


def expected_due(total: int, share: float) -> int:
    k = round(share * SLOTS)
    full = total // SLOTS
    return full * k + sum(1 for i in range(full * SLOTS + 1, total + 1) if slot_of(i) < k)


# -- the home and the runtime ---------------------------------------------------------


def make_home(folder: Path) -> Path:
    """A home with the shipped templates and the benchmark's chain as the only chain."""
    home = folder / "home"
    shutil.copytree(ROOT / "templates", home / "templates")
    chains = home / "jobs" / "chains"
    chains.mkdir(parents=True)
    (chains / f"{CHAIN_NAME}.yaml").write_text(CHAIN, encoding="utf-8")
    return home


EMAIL = {"sender": "hirlevel@pelda.hu", "sender_name": "Példa Kft.", "reply_to": "ugyfelszolgalat@pelda.hu", "unsubscribe_mailto": "leiratkozas@pelda.hu"}
LINKS = UnsubscribeLinks("https://crm.pelda.hu", "a benchmark's secret, not a real one")
CONSENT = {"max_per_week": 3}


def runtime(home: Path) -> Runtime:
    """As `erp-crm chains tick` makes it for a company with a sender, a public URL and a weekly cap set."""
    email = EmailBuilder.of(EmailSection.model_validate(EMAIL))
    registry = with_chain_words(segment_registry(), "invoices")
    return Runtime(home, registry, ChainsSection(), OutboxSection(), ConsentSection.model_validate(CONSENT), LINKS, email)


# -- building an overlay --------------------------------------------------------------


def _synced(key: str) -> dict[str, Any]:
    return {"source": "erp", "erp_key": key, "row_hash": "x", "synced_at": T0 - dt.timedelta(days=1)}


def users() -> Iterator[dict[str, Any]]:
    for i in range(1, USERS + 1):
        yield {
            "id": i,
            **_synced(f"U{i}"),
            "login": f"ertekesito{i}",
            "name": f"{NAMES[i % len(NAMES)]} {i}",
            "email": f"ertekesito{i}@pelda.hu",
            "active": True,
        }


def partners(count: int) -> Iterator[dict[str, Any]]:
    for i in range(1, count + 1):
        salesperson = None if i % 3 == 0 else 1 + i % USERS
        yield {
            "id": i,
            **_synced(f"P{i}"),
            "name": f"{NAMES[i % len(NAMES)]} és Társa {FORMS[i % len(FORMS)]} {i}",
            "kind": "company",
            "is_customer": True,
            "email": None if i % 97 == 0 else f"vevo{i}@pelda-vevo.hu",
            "mobile": f"+36 30 {i % 1000:03d} {i % 10000:04d}",
            "city": TOWNS[i % len(TOWNS)],
            "country": "HU",
            "lang": LANGS[i % len(LANGS)],
            "salesperson_key": None if salesperson is None else f"U{salesperson}",
            "salesperson_id": salesperson,
            "active": True,
        }


def contacts(count: int) -> Iterator[dict[str, Any]]:
    for n, partner in enumerate(range(5, count + 1, 5), start=1):
        yield {
            "id": n,
            **_synced(f"C{n}"),
            "partner_key": f"P{partner}",
            "partner_id": partner,
            "first_name": "Anna",
            "last_name": NAMES[n % len(NAMES)],
            "name": f"{NAMES[n % len(NAMES)]} Anna",
            "email": f"anna{n}@pelda-vevo.hu",
            "active": True,
        }


def invoices(count: int) -> Iterator[dict[str, Any]]:
    for partner in range(1, count + 1):
        for n in (1, 2):
            key = f"INV-{partner}-{n}"
            day = dt.date(2025, 1 + (partner + n) % 12, 1 + partner % 28)
            yield {
                **_synced(key),
                "number": key,
                "partner_key": f"P{partner}",
                "partner_id": partner,
                "date": day,
                "status": "posted",
                "kind": "invoice",
                "amount_net": 10_000 + partner % 90_000,
            }


def enrolments(total: int, partner_count: int, chain_id: int, version_id: int) -> Iterator[dict[str, Any]]:
    """A partner's enrolments have consecutive ids, so they lie in different slots: the due ones are spread over partners."""
    per_partner = max(1, total // partner_count)
    for i in range(1, total + 1):
        due = due_at_of(i)
        enrolled = due - WAIT
        yield {
            "id": i,
            "chain_id": chain_id,
            "version_id": version_id,
            "partner_id": min((i - 1) // per_partner + 1, partner_count),
            "occurrence": f"segment-event:{i}",
            "status": "active",
            "step": OFFER,
            "steps_taken": 1,
            "due_at": due,
            "enrolled_at": enrolled,
            "enrolled_on": enrolled.date(),
        }


def first_waits(total: int) -> Iterator[dict[str, Any]]:
    for i in range(1, total + 1):
        due = due_at_of(i)
        yield {"enrolment_id": i, "seq": 0, "step": FIRST_WAIT, "at": due - WAIT, "outcome": "waiting", "detail": f"until {due:%Y-%m-%d %H:%M} UTC"}


def _sqlite_value(value: Any) -> Any:
    """Dates and times as SQLAlchemy's SQLite types write them (and the tick's bound values compare against)."""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M:%S.%f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def bulk(conn: Connection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> int:
    """Stream `rows` into `table` in chunks, with the raw driver: executemany on SQLite, COPY on PostgreSQL."""
    written = 0
    columns: list[str] = []
    chunk: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal written
        if not chunk:
            return
        if not columns:
            columns.extend(chunk[0])
        names = ", ".join(f'"{c}"' for c in columns)
        if conn.dialect.name == "sqlite":
            marks = ", ".join("?" for _ in columns)
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", [tuple(_sqlite_value(r.get(c)) for c in columns) for r in chunk])
        else:
            driver = conn.connection.driver_connection
            assert driver is not None
            with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for r in chunk:
                    copy.write_row(tuple(r.get(c) for c in columns))
        written += len(chunk)
        chunk.clear()

    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            flush()
    flush()
    return written


def build(overlay: Overlay, home: Path, total: int, partner_count: int) -> dict[str, Any]:
    """Fill a fresh overlay: users, partners, contacts, invoices, two segments, the chain published, N enrolments waiting."""
    start = time.perf_counter()
    overlay.upgrade()
    with overlay.begin_writing() as conn:
        bulk(conn, SYNCED["user"], users())
        bulk(conn, SYNCED["partner"], partners(partner_count))
        bulk(conn, SYNCED["contact"], contacts(partner_count))
        bulk(conn, SYNCED["invoice"], invoices(partner_count))
        for n, name in enumerate(("lapsed", "frequent_complainers"), start=1):
            conn.execute(sa.insert(segment).values(id=n, name=name, filter="true", source="config", updated_at=T0 - dt.timedelta(days=30)))
        (published,) = publish_all(conn, runtime(home), T0 - dt.timedelta(days=30))
    with overlay.begin() as conn:
        bulk(conn, enrolment, enrolments(total, partner_count, published.chain_id, published.version_id))
    with overlay.begin() as conn:
        bulk(conn, step_log, first_waits(total))
    with overlay.begin() as conn:
        if overlay.dialect == "postgresql":
            for table in ("crm_user", "crm_partner", "crm_contact", "crm_segment", "crm_chain_enrolment"):  # rows written with their ids
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        else:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"seconds": time.perf_counter() - start, "enrolments": total, "partners": partner_count}


# -- where the overlays live ----------------------------------------------------------


class Place:
    """Where a size's base overlay is built and copied for each case."""

    name = ""

    def base(self, label: str) -> URL:
        raise NotImplementedError

    def built(self, label: str) -> None:
        """The base is complete: whatever the database would have done on its own by now (statistics)."""

    def server(self) -> str:
        """What the database is, where it matters to the figures."""
        return f"SQLite {sqlite3.sqlite_version}"

    def copy(self, label: str, case: str) -> URL:
        raise NotImplementedError

    def drop(self, url: URL) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Drop everything made."""


class SqlitePlace(Place):
    name = "SQLite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, label: str) -> Path:
        return self.folder / f"{label}.sqlite"

    def base(self, label: str) -> URL:
        url = sa.engine.make_url(f"sqlite:///{self._path(label)}")
        self.drop(url)
        return url

    def copy(self, label: str, case: str) -> URL:
        target = self._path(f"{label}-{case}")
        shutil.copyfile(self._path(label), target)
        return sa.engine.make_url(f"sqlite:///{target}")

    def drop(self, url: URL) -> None:
        assert url.database is not None
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class PostgresPlace(Place):
    name = "PostgreSQL"

    def __init__(self, server_url: str) -> None:
        self.server_url = sa.engine.make_url(server_url)
        self.prefix = f"erp_crm_bench_chains_{os.getpid()}"
        self.made: list[str] = []

    def _admin(self, *statements: str) -> None:
        admin_sql(self.server_url, *statements)

    def _name(self, label: str) -> str:
        return self.prefix if label == "big" else f"{self.prefix}_{label}"

    def _create(self, name: str, template: str | None = None) -> URL:
        using = f' TEMPLATE "{template}"' if template else ""
        self._admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"{using}')
        self.made.append(name)
        return self.server_url.set(database=name)

    def base(self, label: str) -> URL:
        return self._create(self._name(label))

    def built(self, label: str) -> None:
        engine = sa.create_engine(self.server_url.set(database=self._name(label)), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum would have done to tables this size before a tick
        finally:
            engine.dispose()

    def server(self) -> str:
        """The server's version, and whether autovacuum runs: without it, statistics taken on an empty outbox stay for the whole run."""
        engine = sa.create_engine(self.server_url)
        try:
            with engine.connect() as conn:
                version = conn.exec_driver_sql("SHOW server_version").scalar()
                autovacuum = conn.exec_driver_sql("SHOW autovacuum").scalar()
        finally:
            engine.dispose()
        return f"PostgreSQL {str(version).split()[0]}, autovacuum {autovacuum}"

    def copy(self, label: str, case: str) -> URL:
        return self._create(f"{self._name(label)}_{case}", template=self._name(label))

    def drop(self, url: URL) -> None:
        assert url.database is not None
        self._admin(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        if url.database in self.made:
            self.made.remove(url.database)

    def close(self) -> None:
        if self.made:
            self._admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in reversed(self.made)))
            self.made.clear()


# -- the measures, each in a fresh interpreter ----------------------------------------


def maxrss_mb() -> float:
    """This process's peak resident memory; VmHWM, since Linux carries ru_maxrss over from the parent across fork and exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def counts(overlay: Overlay, now: dt.datetime) -> dict[str, Any]:
    """What the overlay holds after a run: outbox rows by status, step-log rows, enrolments by status, and those still due."""
    e = enrolment.c
    with overlay.connect() as conn:
        by_status: dict[str, int] = dict(conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)).all())
        keys = conn.execute(sa.select(sa.func.count(sa.distinct(outbox.c.key)))).scalar_one()
        logs = conn.execute(sa.select(sa.func.count()).select_from(step_log)).scalar_one()
        statuses: dict[str, int] = dict(conn.execute(sa.select(e.status, sa.func.count()).group_by(e.status)).all())
        due_left = conn.execute(sa.select(sa.func.count()).select_from(enrolment).where(e.status == "active", e.due_at <= now)).scalar_one()
        at_end = conn.execute(sa.select(sa.func.count()).select_from(enrolment).where(e.step == END)).scalar_one()
    return {"outbox": by_status, "outbox_keys": keys, "step_log": logs, "enrolments": statuses, "due_left": due_left, "at_end_step": at_end}


def child_tick(job: dict[str, Any]) -> dict[str, Any]:
    now = dt.datetime.fromisoformat(job["now"])
    rt = runtime(Path(job["home"]))
    with Overlay.open(sa.engine.make_url(job["url"])) as overlay:
        with overlay.connect() as conn:  # the first connection, before timing
            conn.exec_driver_sql("SELECT 1")
        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        sa.event.listen(overlay.engine, "before_cursor_execute", count)
        seconds, cpu_seconds, reports, executed = [], [], [], []
        profiler = cProfile.Profile() if job.get("profile") else None
        for _ in range(job["repeats"]):
            start, cpu = time.perf_counter(), time.process_time()
            if profiler is not None:
                report = profiler.runcall(tick, overlay, rt, now=now)
            else:
                report = tick(overlay, rt, now=now)
            seconds.append(time.perf_counter() - start)
            cpu_seconds.append(time.process_time() - cpu)
            reports.append(report.as_dict())
            executed.append(statements[0])
            statements[0] = 0
        peak = maxrss_mb()  # before the checks, which read whole tables
        found = counts(overlay, now)
    out = {"seconds": seconds, "cpu_seconds": cpu_seconds, "reports": reports, "statements": executed, "counts": found, "maxrss_mb": peak}
    if profiler is not None:
        out["profile"] = profile_tables(pstats.Stats(profiler), reports[0]["moved"], job.get("top", 25), job.get("setup", ""))
    return out


def child_bare(job: dict[str, Any]) -> dict[str, Any]:
    """The baseline: the due enrolments through the index, one outbox row and one UPDATE each, with the raw driver."""
    now = dt.datetime.fromisoformat(job["now"])
    home = Path(job["home"])
    link = LINKS.url(1, "email", "chain:1:1")
    context = {
        "partner": {"name": "Kovács és Társa Kft."},
        "contact": {"name": None},
        "salesperson": {"name": "Nagy 1", "email": "ertekesito1@pelda.hu"},
        "chain": {"name": CHAIN_NAME, "title": "Visszacsábítás"},
        "links": {"unsubscribe": link},
    }
    rendered = Templates(home).get("winback_offer", "hu", "hu").render(context)
    built = EmailBuilder.of(EmailSection.model_validate(EMAIL)).build(
        key="chain:1:1",
        to="vevo1@pelda-vevo.hu",
        name="Kovács és Társa Kft.",
        subject=rendered.subject,
        text=rendered.text or "",
        html=rendered.html,
        unsubscribe_url=link,
    )
    mime = built.as_bytes().decode("ascii")  # one message built once and written into every row: the bytes a row holds, not the work of building them
    with Overlay.open(sa.engine.make_url(job["url"])) as overlay:
        sqlite = overlay.dialect == "sqlite"

        def when(value: dt.datetime) -> Any:
            return _sqlite_value(value) if sqlite else value

        def sql(text: str) -> str:
            return text if sqlite else text.replace("?", "%s")

        select = sql(
            "SELECT e.id, e.partner_id, p.email, p.name FROM crm_chain_enrolment e JOIN crm_partner p ON p.id = e.partner_id "
            "WHERE e.status = 'active' AND e.due_at <= ? ORDER BY e.due_at, e.id"
        )
        insert = sql(
            "INSERT INTO crm_outbox (key, channel, origin, partner_id, recipient, recipient_name, subject, body, html, unsubscribe_url, mime, status, "
            "attempts, created_at, due_at, expires_at) VALUES (?, 'email', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)"
        )
        update = sql("UPDATE crm_chain_enrolment SET step = ?, steps_taken = 3, due_at = ? WHERE id = ?")
        origin = f"chain {CHAIN_NAME}, step {OFFER}"
        created, expires, next_due = when(now), when(now + dt.timedelta(days=2)), when(now + WAIT)
        seconds, found = [], 0
        raw = overlay.engine.raw_connection()
        try:
            raw.cursor().execute("SELECT 1").fetchall()  # the first connection, before timing
            for _ in range(job["repeats"]):
                start = time.perf_counter()
                cursor = raw.cursor()
                cursor.execute(select, (when(now),))
                due = cursor.fetchall()
                if due:
                    cursor.executemany(
                        insert,
                        [
                            (
                                f"chain:{i}:1",
                                origin,
                                p,
                                email or "",
                                name,
                                rendered.subject,
                                rendered.text or "",
                                rendered.html,
                                link,
                                mime if email else None,
                                "queued" if email else "suppressed",
                                created,
                                created,
                                expires,
                            )
                            for i, p, email, name in due
                        ],
                    )
                    cursor.executemany(update, [(END, next_due, i) for i, _p, _email, _name in due])
                raw.commit()
                seconds.append(time.perf_counter() - start)
                found = max(found, len(due))
        finally:
            raw.close()
        peak = maxrss_mb()
        result = counts(overlay, now)
    return {"seconds": seconds, "due": found, "counts": result, "maxrss_mb": peak}


def run_child(job: dict[str, Any]) -> dict[str, Any]:
    return run_json([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job)], f"{job['task']} child")


_PREFIXES = [r"site-packages/", r"/lib/python3\.\d+/", re.escape(str(ROOT) + "/"), *([re.escape(CODE.rstrip("/") + "/")] if CODE else [])]
_SHORT = re.compile(r"^.*?(" + "|".join(_PREFIXES) + ")")  # paths as the package, the stdlib or the project names them


def profile_tables(stats: pstats.Stats, n: int, top: int, setup: str) -> str:
    """Functions by time including callees, then by own time."""
    entries = stats.stats  # type: ignore[attr-defined]
    total = max(sum(tt for _cc, _nc, tt, _ct, _callers in entries.values()), 1e-9)

    def name(func: tuple[str, int, str]) -> str:
        file, line, fn = func
        return f"{_SHORT.sub('', file)}:{line}({fn})"

    def ranked(column: int, title: str) -> list[str]:
        lines = [f"| {title} | % | µs per due enrolment | calls | function |", "|---|---|---|---|---|"]
        for func, v in sorted(entries.items(), key=lambda kv: -kv[1][column])[:top]:
            lines.append(f"| {v[column]:.2f} s | {v[column] / total:.0%} | {v[column] / max(n, 1) * 1e6:,.0f} | {v[1]:,} | {name(func)} |")
        return lines

    def ours(title: str) -> list[str]:
        lines = [f"| {title} | % | µs per due enrolment | calls | function |", "|---|---|---|---|---|"]
        mine = [(func, v) for func, v in entries.items() if "/erp_crm/" in func[0]]
        for func, v in sorted(mine, key=lambda kv: -kv[1][3])[:top]:
            lines.append(f"| {v[3]:.2f} s | {v[3] / total:.0%} | {v[3] / max(n, 1) * 1e6:,.0f} | {v[1]:,} | {name(func)} |")
        return lines

    head = f"### Profile: one tick moving {n:,} due enrolments, {setup} ({total:.2f} s under cProfile)"
    return "\n".join([head, "", *ranked(3, "with callees"), "", *ranked(2, "own time"), "", *ours("erp_crm's own functions, with callees")])


# -- running the cases ----------------------------------------------------------------


class CheckFailed(Exception):
    """A run did not do what it must: its time means nothing."""


@dataclass
class Case:
    setup: str
    total: int
    share: float
    due: int
    tick_seconds: list[float]
    tick_cpu_seconds: list[float]  # CPU of the tick's process (on SQLite the database's work too; on PostgreSQL the client's only)
    bare_seconds: list[float]
    tick_maxrss_mb: float
    bare_maxrss_mb: float
    outbox: dict[str, int]
    report: dict[str, Any]
    statements: int  # SQL statements the (first) tick executed, savepoints included

    @property
    def tick(self) -> float:
        return min(self.tick_seconds)

    @property
    def tick_cpu(self) -> float:
        return min(self.tick_cpu_seconds)

    @property
    def bare(self) -> float:
        return min(self.bare_seconds)


@dataclass
class Bench:
    args: argparse.Namespace
    home: Path
    cases: list[Case] = field(default_factory=list)
    builds: list[dict[str, Any]] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)

    def run_place(self, place: Place, big: int, partner_count: int) -> None:
        """Both sizes built first; then the cases in an order that puts the pairs compared side by side next to each other."""
        small = big // 10
        for label, total in (("big", big), ("small", small)):
            url = place.base(label)
            log(f"{place.name}: building {total:,} enrolments on {partner_count:,} partners")
            with Overlay.open(url, at_head=False) as overlay:
                built = build(overlay, self.home, total, partner_count)
            place.built(label)
            self.builds.append({"setup": place.name, "server": place.server(), **built})
            log(f"  built in {built['seconds']:.1f} s")
        # the fixed cost twice, at the start and at the end, each side of the pair next to the other: the fastest of both counts;
        # the due cases once per round, every other round in reverse order
        due = [("big", big, 0.001), ("big", big, 0.01), ("small", small, 0.1), ("big", big, 0.1)]
        order = [("big", big, 0.0), ("small", small, 0.0)]
        for round_no in range(self.args.rounds):
            order += due if round_no % 2 == 0 else due[::-1]
        order += [("small", small, 0.0), ("big", big, 0.0)]
        for label, total, share in order:
            self.run_case(place, label, total, share)
        if self.args.profile:
            self.profiles.append(self.run_profile(place, "big", big))

    def run_case(self, place: Place, label: str, total: int, share: float) -> None:
        now = now_for(share)
        due = expected_due(total, share)
        repeats = FIXED_REPEATS if due == 0 else 1
        case = f"{round(share * SLOTS)}"
        tick_url, bare_url = place.copy(label, f"tick{case}"), place.copy(label, f"bare{case}")
        os.sync()  # the copies on disk before timing, not written back under the measured run
        job = {"home": str(self.home), "now": now.isoformat(), "repeats": repeats}
        try:
            order = [("bare", bare_url), ("tick", tick_url)]
            if len(self.cases) % 2:
                order.reverse()  # neither side always goes first
            results = {}
            for task, url in order:
                results[task] = run_child({**job, "task": task, "url": url.render_as_string(hide_password=False)})
        finally:
            place.drop(tick_url)
            place.drop(bare_url)
        what = f"{place.name}, {total:,} enrolments, {share:.1%} due"
        check_tick(what, results["tick"], total, due)
        check_bare(what, results["bare"], total, due)
        t, b = results["tick"], results["bare"]
        same = next((c for c in self.cases if (c.setup, c.total, c.share) == (place.name, total, share)), None)
        if same is not None:  # the fixed cost measured again
            same.tick_seconds += t["seconds"]
            same.tick_cpu_seconds += t["cpu_seconds"]
            same.bare_seconds += b["seconds"]
            same.tick_maxrss_mb = max(same.tick_maxrss_mb, t["maxrss_mb"])
            log(f"  {what} (again): tick {min(t['seconds']):.3f} s; fastest so far {same.tick:.3f} s")
            return
        self.cases.append(
            Case(
                place.name,
                total,
                share,
                due,
                t["seconds"],
                t["cpu_seconds"],
                b["seconds"],
                t["maxrss_mb"],
                b["maxrss_mb"],
                t["counts"]["outbox"],
                t["reports"][0],
                t["statements"][0],
            )
        )
        c = self.cases[-1]
        rate = f", {due / c.tick:,.0f} due/s, {c.tick / due * 1e3:.2f} ms per due" if due else ""
        log(f"  {what}: tick {c.tick:.3f} s (CPU {c.tick_cpu:.3f} s){rate}; bare SQL {c.bare:.3f} s")

    def run_profile(self, place: Place, label: str, total: int) -> str:
        share = 0.01
        log(f"{place.name}: profiling one tick at {share:.0%} due")
        url = place.copy(label, "profile")
        os.sync()
        try:
            job = {"task": "tick", "home": str(self.home), "now": now_for(share).isoformat(), "repeats": 1, "profile": True, "top": self.args.profile_top}
            result = run_child({**job, "url": url.render_as_string(hide_password=False), "setup": f"{place.name} overlay, {total:,} enrolments"})
        finally:
            place.drop(url)
        check_tick("profiled tick", result, total, expected_due(total, share))
        return f"{result['profile']}\n\n(profiled, this tick took {result['seconds'][0]:.1f} s; unprofiled, see the table)"


def check_tick(what: str, result: dict[str, Any], total: int, due: int) -> None:
    """Every due enrolment moved once: one outbox row and two step-log rows each, none left due, none ended, the chain not republished."""
    first, rest = result["reports"][0], result["reports"][1:]
    found = result["counts"]
    steps = {(s["step"], s["outcome"]): s["count"] for s in first["steps"]}
    messages = sum(found["outbox"].values())
    problems = []
    if first["moved"] != due or any(r["moved"] for r in rest):
        problems.append(f"moved {first['moved']:,} (then {[r['moved'] for r in rest]}) of {due:,} due")
    if first["published"] or first["enrolled"] or first["ended"] or first["failures"]:
        problems.append(f"published {first['published']}, enrolled {first['enrolled']}, ended {first['ended']}, failures {first['failures'][:3]}")
    if steps.get((OFFER, "queued"), 0) + steps.get((OFFER, "suppressed"), 0) != due or steps.get((PAUSE, "waiting"), 0) != due:
        problems.append(f"steps {first['steps']}")
    if messages != due or found["outbox_keys"] != due:
        problems.append(f"{messages:,} outbox rows ({found['outbox_keys']:,} keys) for {due:,} due")
    if found["step_log"] != total + 2 * due or found["due_left"] or found["enrolments"] != {"active": total} or found["at_end_step"] != due:
        problems.append(f"after the tick: {found}")
    if problems:
        raise CheckFailed(f"{what}, tick: " + "; ".join(problems))


def check_bare(what: str, result: dict[str, Any], total: int, due: int) -> None:
    found = result["counts"]
    if result["due"] != due or sum(found["outbox"].values()) != due or found["due_left"] or found["at_end_step"] != due:
        raise CheckFailed(f"{what}, bare SQL: found {result['due']:,} of {due:,} due; after it: {found}")


# -- results --------------------------------------------------------------------------


@dataclass
class Check:
    setup: str
    measure: str
    value: str
    baseline: str
    ratio: str
    target: str
    met: str


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _s(seconds: float) -> str:
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def case_table(cases: list[Case]) -> str:
    head = [
        "setup",
        "enrolments",
        "due",
        "tick",
        "due enrolments/s",
        "ms per due",
        "ms per due beyond the 0-due tick",
        "CPU ms per due (tick's process)",
        "SQL statements per due",
        "outbox rows queued / suppressed",
        "bare SQL (same run)",
        "tick ÷ bare",
        "tick peak memory",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in cases:
        fixed = _fixed(cases, c.setup, c.total)
        if c.due:
            rate, per, beyond = f"{c.due / c.tick:,.0f}", f"{c.tick / c.due * 1e3:.3f}", f"{(c.tick - fixed) / c.due * 1e3:.3f}"
            statements, cpu = f"{c.statements / c.due:.1f}", f"{c.tick_cpu / c.due * 1e3:.3f}"
        else:
            rate = per = beyond = cpu = "—"
            statements = f"({c.statements} in all)"
        note = f" (fastest of {len(c.tick_seconds)}{' rounds' if c.due else ''})" if len(c.tick_seconds) > 1 else ""
        lines.append(
            f"| {c.setup} | {c.total:,} | {c.due:,} ({c.share:.1%}) | {_s(c.tick)}{note} | {rate} | {per} | {beyond} | {cpu} | {statements} | {c.outbox.get('queued', 0):,} / {c.outbox.get('suppressed', 0):,} | {_s(c.bare)} | "
            f"{f'{c.tick / c.bare:,.1f}×' if c.due else '—'} | {c.tick_maxrss_mb:,.0f} MB |"
        )
    return "\n".join(lines)


def _fixed(cases: list[Case], setup: str, total: int) -> float:
    return next(c.tick for c in cases if c.setup == setup and c.total == total and c.due == 0)


def checks(cases: list[Case]) -> list[Check]:
    out = []
    for setup in dict.fromkeys(c.setup for c in cases):
        mine = [c for c in cases if c.setup == setup]
        big = max(c.total for c in mine)
        small = min(c.total for c in mine)
        fixed_big, fixed_small = _fixed(mine, setup, big), _fixed(mine, setup, small)
        bare0_big = next(c.bare for c in mine if c.total == big and c.due == 0)
        ratio = fixed_big / fixed_small
        out.append(
            Check(
                setup,
                f"fixed cost: tick with 0 due, {big:,} enrolments (fastest of {len(next(c for c in mine if c.total == big and not c.due).tick_seconds)}; bare SELECT {_s(bare0_big)})",
                _s(fixed_big),
                f"{_s(fixed_small)} with {small:,} enrolments",
                f"{ratio:.2f}×",
                "≤ 2× (does not grow with N)",
                _met(ratio <= 2),
            )
        )
        shares = [c for c in mine if c.total == big and c.due]
        per = [c.tick / c.due for c in shares]
        spread = max(per) / min(per)
        out.append(
            Check(
                setup,
                f"ms per due enrolment at {', '.join(f'{c.share:.1%}' for c in shares)} of {big:,}",
                ", ".join(f"{p * 1e3:.3f}" for p in per) + " (CPU " + ", ".join(f"{c.tick_cpu / c.due * 1e3:.3f}" for c in shares) + ")",
                ", ".join(f"{c.bare / c.due * 1e3:.3f}" for c in shares) + " (bare SQL)",
                f"{spread:.2f}× (highest ÷ lowest)",
                "≤ 1.5× (flat: time follows the due ones)",
                _met(spread <= 1.5),
            )
        )
        fixed_first = [(0, fixed_big, bare0_big), *((c.due, c.tick, c.bare) for c in shares)]
        slopes = [((t2 - t1) / (d2 - d1), (b2 - b1) / (d2 - d1)) for (d1, t1, b1), (d2, t2, b2) in pairwise(fixed_first)]
        tick_slopes = [t for t, _b in slopes[1:]]  # from the first share on: its one-time costs (first template, statements) cancel out
        slope_spread = max(tick_slopes) / min(tick_slopes)
        out.append(
            Check(
                setup,
                "ms per extra due enrolment (0 → " + " → ".join(f"{c.share:.1%}" for c in shares) + ": Δ time ÷ Δ due)",
                ", ".join(f"{t * 1e3:.3f}" for t, _b in slopes),
                ", ".join(f"{b * 1e3:.3f}" for _t, b in slopes) + " (bare SQL)",
                f"{slope_spread:.2f}× (highest ÷ lowest after the first share)",
                "≤ 1.5× (a straight line: each due one costs the same)",
                _met(slope_spread <= 1.5),
            )
        )
        same_big = next((c for c in mine if c.total == big and abs(c.share - 0.01) < 1e-9), None)
        same_small = next((c for c in mine if c.total == small and c.due and same_big is not None and c.due == same_big.due), None)
        if same_big and same_small:
            r = same_big.tick / same_small.tick
            out.append(
                Check(
                    setup,
                    f"the same {same_big.due:,} due among {big:,} enrolments",
                    _s(same_big.tick),
                    f"{_s(same_small.tick)} among {small:,}",
                    f"{r:.2f}×",
                    "≤ 1.5× (ten times as many waiting cost nothing)",
                    _met(r <= 1.5),
                )
            )
        out.append(
            Check(
                setup,
                "every due enrolment moved once: one outbox row and two step-log rows each, none left due, none failed (checked after every run)",
                "yes",
                "bare SQL: one outbox row each, none left due",
                "—",
                "exactly",
                "yes",
            )
        )
    return out


def check_table(found: list[Check]) -> str:
    head = ["setup", "measure", "value", "baseline (same run)", "ratio", "target", "met?"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += [f"| {c.setup} | {c.measure} | {c.value} | {c.baseline} | {c.ratio} | {c.target} | {c.met} |" for c in found]
    return "\n".join(lines)


def freeze_code(which: str) -> tuple[Path, str]:
    """A copy of erp_crm/ that the run and its children import, so that edits to the tree during a run do not mix
    versions: the code committed at HEAD (`git archive`, read only), or the working tree as it is now."""
    folder = Path(tempfile.mkdtemp(prefix="erpcrm-chains-bench-code-"))
    if which == "tree":
        shutil.copytree(ROOT / "erp_crm", folder / "erp_crm", ignore=shutil.ignore_patterns("__pycache__"))
        return folder, engine_version() + " (working tree)"
    git = ["git", "-C", str(ROOT)]
    try:
        commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        archive = subprocess.run([*git, "archive", "--format=tar", commit, "erp_crm"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise SystemExit(f"cannot read erp_crm/ at HEAD with git ({error}); use --code tree") from None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder, f"erp_crm at {commit[:7]} (committed code)"


# -- main -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enrolments", type=int, default=1_000_000, help="enrolments in the large overlay (default 1,000,000; a tenth of it in the small one)")
    parser.add_argument("--partners", type=int, help="partners (default: a tenth of --enrolments)")
    parser.add_argument("--quick", action="store_true", help="100,000 enrolments (PostgreSQL: 10,000)")
    parser.add_argument("--postgresql", metavar="URL", help="also on PostgreSQL, in databases created on this server")
    parser.add_argument("--pg-enrolments", type=int, default=100_000, help="enrolments on PostgreSQL (default 100,000)")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument("--workdir", type=Path, help="where the SQLite files go (default: a temporary folder, removed at the end)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each case with due enrolments, interleaved; the fastest counts (default 2)")
    parser.add_argument("--profile", action="store_true", help="also one tick at 1 %% due under cProfile, per setup")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    parser.add_argument(
        "--code", choices=("head", "tree"), default="head", help="measure erp_crm/ as committed at HEAD (default) or the working tree, copied at the start"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        job = json.loads(args.child)
        print(json.dumps(child_tick(job) if job["task"] == "tick" else child_bare(job)))
        return 0
    if args.quick:
        args.enrolments, args.pg_enrolments = 100_000, 10_000
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.enrolments < SLOTS * 10 or (args.postgresql and args.pg_enrolments < SLOTS * 10):
        parser.error(f"at least {SLOTS * 10:,} enrolments (the small overlay has a tenth, and a share is counted in thousandths)")
    if args.no_sqlite and not args.postgresql:
        parser.error("--no-sqlite needs --postgresql")

    if CODE is None:  # run again on a copy of the code taken now
        folder, version = freeze_code(args.code)
        os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]], {**os.environ, CODE_ENV: str(folder), VERSION_ENV: version})
    import erp_crm

    if not Path(erp_crm.__file__ or "").resolve().is_relative_to(Path(CODE).resolve()):
        raise SystemExit(f"erp_crm was imported from {erp_crm.__file__}, not from the copy in {CODE}")
    try:
        return measure(args)
    finally:
        if Path(CODE).name.startswith("erpcrm-chains-bench-code-"):
            shutil.rmtree(CODE, ignore_errors=True)


def measure(args: argparse.Namespace) -> int:
    version = os.environ.get(VERSION_ENV, "engine version unknown")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="erpcrm-chains-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"work folder {workdir}; {version}")
    bench = Bench(args, make_home(workdir))
    places: list[tuple[Place, int]] = []
    try:
        if not args.no_sqlite:
            places.append((SqlitePlace(workdir / "sqlite"), args.enrolments))
        if args.postgresql:
            places.append((PostgresPlace(args.postgresql), args.pg_enrolments))
        for place, total in places:
            bench.run_place(place, total, args.partners or total // 10)
    finally:
        for place, _total in places:
            place.close()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    found = checks(bench.cases)
    header = {"date": dt.date.today().isoformat(), "machine": machine(), "engine": version}
    if args.json:
        print(
            json.dumps(
                header | {"builds": bench.builds, "cases": [asdict(c) for c in bench.cases], "checks": [asdict(c) for c in found], "profiles": bench.profiles},
                indent=2,
            )
        )
    else:
        sizes = "; ".join(f"{b['server']}: {b['enrolments']:,} enrolments on {b['partners']:,} partners built in {b['seconds']:.0f} s" for b in bench.builds)
        out = io.StringIO()
        print(f"\nChains benchmark, {header['date']}; {machine()}; {version}\n{sizes}\n", file=out)
        print(case_table(bench.cases), file=out)
        print("\n" + check_table(found), file=out)
        for profile in bench.profiles:
            print("\n" + profile, file=out)
        print(out.getvalue())
    return 0 if all(c.met != _met(False) for c in found) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CheckFailed as failed:
        print(f"check failed: {failed}", file=sys.stderr)
        sys.exit(2)
