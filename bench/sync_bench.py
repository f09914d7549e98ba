"""Sync benchmark: how fast `sync_source` copies an ERP into the overlay, beside the
rate of simply reading the same rows with the same driver in the same run.

    .venv/bin/python bench/sync_bench.py                 # 1,000,000 lines, SQLite and PostgreSQL
    .venv/bin/python bench/sync_bench.py --quick         # 100,000 lines
    .venv/bin/python bench/sync_bench.py --sqlite --lines 300000 --profile

For each setup (SQLite ERP → SQLite overlay, PostgreSQL ERP → PostgreSQL overlay) it
builds a Dolibarr-like ERP (llx_societe, llx_facture, llx_facturedet; see
bench/dolibarr_bench.yaml), then measures

- the bare read: the SELECTs the sync issues for a full run, executed with the raw
  DB-API driver (sqlite3, psycopg with a server-side cursor), `fetchmany(5000)`, no
  writes; run before and after the full sync, the faster one counts;
- a full sync into a fresh overlay, and its rate against the bare read;
- incremental runs: nothing changed, then after 0.1 % of the lines changed (their
  amounts, and the `tms` and totals of their invoices, as the ERP does), then again;
- the peak memory (ru_maxrss) of the full sync's process beside that of a process that
  imports the package and does the bare read;
- after every run, that the overlay's counts equal the ERP's (and, after the change,
  that the changed amounts arrived).

Every sync and bare read runs in a child process of its own, so its memory high-water
mark is its own and no run inherits another's caches. PostgreSQL databases are created
on 127.0.0.1:5432 as user postgres (`erpcrm_bench_<hex>`) and dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchlib import run_json  # bench/ is the script's folder

HERE = Path(__file__).resolve().parent
DEFINITION = HERE / "dolibarr_bench.yaml"
FETCH = 5000
PG_SERVER = "host=127.0.0.1 port=5432 user=postgres connect_timeout=5"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
TABLES = ("llx_societe", "llx_facture", "llx_facturedet")
ENTITIES = ("partner", "invoice", "invoice_line")

# -- the ERP layout -------------------------------------------------------------------

COLUMNS = {
    "llx_societe": (
        "rowid", "nom", "fk_typent", "client", "fournisseur", "siren", "tva_intra", "email", "phone",
        "address", "zip", "town", "status", "datec", "tms",
    ),
    "llx_facture": (
        "rowid", "ref", "fk_soc", "datef", "fk_statut", "type", "multicurrency_code", "total_ht", "total_tva",
        "total_ttc", "date_lim_reglement", "tms",
    ),
    "llx_facturedet": ("rowid", "fk_facture", "description", "qty", "subprice", "remise_percent", "total_ht"),
}

SQLITE_DDL = """
CREATE TABLE llx_societe (
    rowid INTEGER PRIMARY KEY, nom TEXT, fk_typent INTEGER, client INTEGER, fournisseur INTEGER,
    siren TEXT, tva_intra TEXT, email TEXT, phone TEXT, address TEXT, zip TEXT, town TEXT,
    status INTEGER, datec TEXT, tms TEXT);
CREATE TABLE llx_facture (
    rowid INTEGER PRIMARY KEY, ref TEXT NOT NULL, fk_soc INTEGER NOT NULL, datef TEXT, fk_statut INTEGER,
    type INTEGER, multicurrency_code TEXT, total_ht REAL, total_tva REAL, total_ttc REAL,
    date_lim_reglement TEXT, tms TEXT);
CREATE TABLE llx_facturedet (
    rowid INTEGER PRIMARY KEY, fk_facture INTEGER NOT NULL, description TEXT, qty REAL,
    subprice REAL, remise_percent REAL, total_ht REAL);
"""
# Dolibarr's own PostgreSQL types: varchar, smallint, double(24,8) as numeric(24,8), timestamp.
PG_DDL = """
CREATE TABLE llx_societe (
    rowid integer PRIMARY KEY, nom varchar(128), fk_typent integer, client smallint, fournisseur smallint,
    siren varchar(128), tva_intra varchar(20), email varchar(128), phone varchar(20), address varchar(255),
    zip varchar(25), town varchar(50), status smallint, datec timestamp, tms timestamp);
CREATE TABLE llx_facture (
    rowid integer PRIMARY KEY, ref varchar(30) NOT NULL, fk_soc integer NOT NULL, datef date, fk_statut smallint,
    type smallint, multicurrency_code varchar(3), total_ht numeric(24,8), total_tva numeric(24,8),
    total_ttc numeric(24,8), date_lim_reglement date, tms timestamp);
CREATE TABLE llx_facturedet (
    rowid integer PRIMARY KEY, fk_facture integer NOT NULL, description text, qty real,
    subprice numeric(24,8), remise_percent real, total_ht numeric(24,8));
"""
INDEXES = (
    "CREATE INDEX idx_facturedet_fk_facture ON llx_facturedet (fk_facture)",
    "CREATE INDEX idx_facture_fk_soc ON llx_facture (fk_soc)",
)

# -- generating the ERP's rows --------------------------------------------------------

TOWNS = ("Budapest", "Debrecen", "Szeged", "Miskolc", "Pécs", "Győr", "Nyíregyháza", "Kecskemét", "Székesfehérvár")
WORDS = ("Duna", "Tisza", "Alföld", "Mátra", "Bakony", "Balaton", "Hungária", "Pannon", "Kárpát", "Zala")
ITEMS = ("csavar M8", "tömítőgyűrű", "szerelési díj", "karbantartás", "kábel 3x1,5", "szivattyú", "szűrőbetét", "kiszállás")


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def generate(lines: int, seed: int, end: datetime) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """(table, batch of rows) in insert order: all partners, then invoices with their lines.

    About ten lines per invoice and a hundred lines per partner; every change stamp lies
    before `end`, so an incremental run right after the full one finds nothing to do.
    """
    rnd = random.Random(seed)
    n_partners = max(10, lines // 100)
    start = end - timedelta(days=3 * 365)
    span = (end - start).total_seconds()
    batch: list[tuple[Any, ...]] = []
    for pid in range(1, n_partners + 1):
        person = rnd.random() < 0.3
        created = start + timedelta(seconds=rnd.random() * span * 0.5)
        batch.append((
            pid,
            f"{rnd.choice(WORDS)} {pid} Kft." if not person else f"Kovács {pid}. Anna",
            8 if person else 2,
            rnd.choice((0, 1, 1, 1, 2, 3)),
            1 if rnd.random() < 0.1 else 0,
            None if person else f"{10000000 + pid:08d}-2-{rnd.randint(2, 44):02d}",
            None if person else f"HU{10000000 + pid:08d}",
            f"info{pid}@example.hu",
            f"+36 1 {rnd.randint(1000000, 9999999)}",
            f"Fő utca {rnd.randint(1, 200)}.",
            str(rnd.randint(1000, 9999)),
            rnd.choice(TOWNS),
            1 if rnd.random() < 0.95 else 0,
            _stamp(created),
            _stamp(created + timedelta(seconds=rnd.random() * (end - created).total_seconds())),
        ))
        if len(batch) >= 10_000:
            yield "llx_societe", batch
            batch = []
    if batch:
        yield "llx_societe", batch

    invoices: list[tuple[Any, ...]] = []
    details: list[tuple[Any, ...]] = []
    expected_invoices = max(1, lines // 10)
    line_id = inv_id = 0
    while line_id < lines:
        inv_id += 1
        when = start + timedelta(seconds=min(inv_id / expected_invoices, 1.0) * span * 0.999)
        kind = 2 if rnd.random() < 0.05 else 0
        net = 0.0
        for _ in range(min(rnd.randint(1, 19), lines - line_id)):
            line_id += 1
            qty = rnd.randint(1, 20)
            price = round(rnd.uniform(100, 50000), 2)
            discount = rnd.choice((0, 0, 0, 5, 10))
            total = round(qty * price * (1 - discount / 100), 2)
            net += total
            details.append((line_id, inv_id, rnd.choice(ITEMS), qty, price, discount, total))
        net = round(net, 2)
        tax = round(net * 0.27, 2)
        status = rnd.choices((0, 1, 2, 3), (1, 35, 62, 2))[0]
        invoices.append((
            inv_id,
            f"FA{when:%y%m}-{inv_id:06d}" if kind == 0 else f"AV{when:%y%m}-{inv_id:06d}",
            rnd.randint(1, n_partners),
            when.date().isoformat(),
            status,
            kind,
            "HUF" if rnd.random() < 0.9 else "EUR",
            net,
            tax,
            round(net + tax, 2),
            (when.date() + timedelta(days=rnd.choice((8, 15, 30)))).isoformat(),
            _stamp(min(when + timedelta(seconds=rnd.random() * 172800), end)),
        ))
        if len(details) >= 10_000:
            yield "llx_facture", invoices
            yield "llx_facturedet", details
            invoices, details = [], []
    if invoices:
        yield "llx_facture", invoices
        yield "llx_facturedet", details


# -- the two setups -------------------------------------------------------------------


class Setup:
    """One ERP database and the overlays synced from it."""

    name = ""
    dialect = ""

    def erp_url(self) -> str: ...
    def new_overlay(self) -> str: ...
    def bare_target(self) -> dict[str, Any]: ...
    def erp_connect(self) -> Any: ...
    def build(self, lines: int, seed: int, end: datetime) -> None: ...
    def close(self) -> None: ...

    now_sql = ""
    placeholder = ""

    def change_lines(self, fraction: float, seed: int) -> list[int]:
        """Change the amounts of `fraction` of the lines and bump their invoices, like the ERP's UI does."""
        conn = self.erp_connect()
        try:
            cur = conn.cursor()
            cur.execute("SELECT max(rowid) FROM llx_facturedet")
            top = cur.fetchone()[0]
            picked = sorted(random.Random(seed).sample(range(1, top + 1), max(1, int(top * fraction))))
            ids = ",".join(map(str, picked))
            cur.execute(
                f"UPDATE llx_facturedet SET qty = qty + 1, total_ht = round(CAST(subprice * (qty + 1) * (100 - remise_percent) / 100 AS NUMERIC), 2)"
                f" WHERE rowid IN ({ids})"
            )
            cur.execute(
                f"UPDATE llx_facture SET tms = {self.now_sql},"
                " total_ht = (SELECT sum(d.total_ht) FROM llx_facturedet d WHERE d.fk_facture = llx_facture.rowid),"
                " total_tva = round((SELECT sum(d.total_ht) FROM llx_facturedet d WHERE d.fk_facture = llx_facture.rowid) * 0.27, 2),"
                " total_ttc = round((SELECT sum(d.total_ht) FROM llx_facturedet d WHERE d.fk_facture = llx_facture.rowid) * 1.27, 2)"
                f" WHERE rowid IN (SELECT fk_facture FROM llx_facturedet WHERE rowid IN ({ids}))"
            )
            conn.commit()
            return picked
        finally:
            conn.close()

    def kept_amounts(self, line_ids: list[int]) -> dict[str, float]:
        """ERP amounts of these lines, for lines the definition keeps (their invoice is not a draft)."""
        conn = self.erp_connect()
        try:
            cur = conn.cursor()
            cur.execute(
                "SELECT d.rowid, d.total_ht FROM llx_facturedet d JOIN llx_facture f ON f.rowid = d.fk_facture"
                f" WHERE f.fk_statut > 0 AND d.rowid IN ({','.join(map(str, line_ids))})"
            )
            return {str(k): float(v) for k, v in cur.fetchall()}
        finally:
            conn.close()


class SqliteSetup(Setup):
    name = "SQLite → SQLite"
    dialect = "sqlite"
    now_sql = "datetime('now', 'localtime')"

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "sqlite"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.erp_path = self.dir / "erp.sqlite"
        self.overlays = 0

    def erp_url(self) -> str:
        return f"sqlite:///{self.erp_path}"

    def new_overlay(self) -> str:
        self.overlays += 1
        return f"sqlite:///{self.dir / f'overlay{self.overlays}.sqlite'}"

    def drop_overlay(self, url: str) -> None:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def bare_target(self) -> dict[str, Any]:
        return {"driver": "sqlite3", "path": str(self.erp_path)}

    def erp_connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.erp_path)

    def build(self, lines: int, seed: int, end: datetime) -> None:
        self.erp_path.unlink(missing_ok=True)
        conn = sqlite3.connect(self.erp_path)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.executescript(SQLITE_DDL)
        for table, rows in generate(lines, seed, end):
            marks = ",".join("?" * len(COLUMNS[table]))
            conn.executemany(f"INSERT INTO {table} ({','.join(COLUMNS[table])}) VALUES ({marks})", rows)
        for statement in INDEXES:
            conn.execute(statement)
        conn.commit()
        conn.execute("ANALYZE")
        conn.close()

    def close(self) -> None:
        pass


class PostgresSetup(Setup):
    name = "PostgreSQL → PostgreSQL"
    dialect = "postgresql"
    now_sql = "LOCALTIMESTAMP(0)"

    def __init__(self, workdir: Path) -> None:
        import psycopg

        self.psycopg = psycopg
        self.admin = psycopg.connect(f"{PG_SERVER} dbname=postgres", autocommit=True)
        self.databases: list[str] = []
        self.erp_db = self._create()

    def _create(self) -> str:
        name = f"erpcrm_bench_{secrets.token_hex(5)}"
        self.admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        self.databases.append(name)
        return name

    def _drop(self, name: str) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.databases:
            self.databases.remove(name)

    def erp_url(self) -> str:
        return PG_URL.format(db=self.erp_db)

    def new_overlay(self) -> str:
        return PG_URL.format(db=self._create())

    def drop_overlay(self, url: str) -> None:
        self._drop(url.rsplit("/", 1)[1])

    def bare_target(self) -> dict[str, Any]:
        return {"driver": "psycopg", "conninfo": f"{PG_SERVER} dbname={self.erp_db}"}

    def erp_connect(self) -> Any:
        return self.psycopg.connect(f"{PG_SERVER} dbname={self.erp_db}")

    def build(self, lines: int, seed: int, end: datetime) -> None:
        with self.psycopg.connect(f"{PG_SERVER} dbname={self.erp_db}") as conn:
            conn.execute(PG_DDL)
            with conn.cursor() as cur:
                for table, rows in generate(lines, seed, end):
                    with cur.copy(f"COPY {table} ({','.join(COLUMNS[table])}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            for statement in INDEXES:
                conn.execute(statement)
        with self.psycopg.connect(f"{PG_SERVER} dbname={self.erp_db}", autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # hint bits and statistics: the first reader should not pay for them

    def close(self) -> None:
        for name in list(self.databases):
            self._drop(name)
        self.admin.close()


# -- child processes ------------------------------------------------------------------


def _maxrss_mb() -> float:
    """This process's resident-set high-water mark.

    VmHWM belongs to the process's own address space; `ru_maxrss` survives exec, so in a
    child it can report the parent's size at fork instead of the child's.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def child_bare(target: dict[str, Any], queries: list[str]) -> dict[str, Any]:
    """Read the rows with the raw driver, `fetchmany(FETCH)`, nothing else."""
    import erp_crm.sync.engine  # noqa: F401  - the package's own footprint belongs to the baseline

    rows = 0
    if target["driver"] == "sqlite3":
        conn = sqlite3.connect(f"file:{target['path']}?mode=ro", uri=True)
        started = time.perf_counter()
        for sql in queries:
            cur = conn.cursor()
            cur.execute(sql)
            while batch := cur.fetchmany(FETCH):
                rows += len(batch)
            cur.close()
        seconds = time.perf_counter() - started
    else:
        import psycopg

        conn = psycopg.connect(target["conninfo"])
        started = time.perf_counter()
        for n, sql in enumerate(queries):
            cur = conn.cursor(name=f"bench_{n}")  # server-side, as a sync that must not hold a table in memory
            cur.itersize = FETCH
            cur.execute(sql)
            while batch := cur.fetchmany(FETCH):
                rows += len(batch)
            cur.close()
            conn.rollback()
        seconds = time.perf_counter() - started
    conn.close()
    return {"rows": rows, "seconds": seconds, "maxrss_mb": _maxrss_mb()}


def child_floor(target: dict[str, Any], overlay_url: str) -> dict[str, Any]:
    """The per-row work no sync can skip, without the engine's orchestration: read with
    the raw driver, map and hash with the engine's compiled mappers, write with the
    engine's upsert statement (executemany, one transaction per batch). References are
    left unresolved and nothing is compared with the overlay first."""
    import sqlalchemy as sa

    from erp_crm.store.overlay import Overlay
    from erp_crm.sync.definition import load_definition
    from erp_crm.sync.plan import build_plans
    from erp_crm.sync.writer import EntityWriter

    dialect = "sqlite" if target["driver"] == "sqlite3" else "postgresql"
    plans = build_plans(load_definition(DEFINITION))
    engine = Overlay.open(sa.engine.make_url(overlay_url)).engine
    if dialect == "sqlite":
        erp = sqlite3.connect(f"file:{target['path']}?mode=ro", uri=True)
    else:
        import psycopg

        erp = psycopg.connect(target["conninfo"])
    rows = 0
    parts = {"read": 0.0, "map": 0.0, "write": 0.0}
    now = datetime.now().replace(microsecond=0)
    started = time.perf_counter()
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for n, plan in enumerate(plans.values()):
            writer = EntityWriter(conn, plan.entity, "erp")
            conn.commit()
            sql = str(plan.select(plan.whole_pass()).compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
            cur = erp.cursor() if dialect == "sqlite" else erp.cursor(name=f"floor_{n}")
            cur.execute(sql)
            map_row, reorder, nulls = plan.mapper.map_row, writer.reorder, (None,) * len(writer.refs)
            while True:
                t0 = time.perf_counter()
                batch = cur.fetchmany(FETCH)
                t1 = time.perf_counter()
                if not batch:
                    break
                params = [reorder(("erp", *m[:-1], *nulls, m[-1], now, None)) for m in map(map_row, batch)]
                t2 = time.perf_counter()
                out = raw.cursor()
                out.executemany(writer.sql, params)
                out.close()
                raw.commit()
                rows += len(batch)
                parts["read"] += t1 - t0
                parts["map"] += t2 - t1
                parts["write"] += time.perf_counter() - t2
            cur.close()
    seconds = time.perf_counter() - started
    erp.close()
    engine.dispose()
    return {"rows": rows, "seconds": seconds, "maxrss_mb": _maxrss_mb(), "parts": parts}


def child_sync(home: str, mode: str, profile: str | None) -> dict[str, Any]:
    from erp_crm.settings.root import load_settings
    from erp_crm.store.overlay import Overlay
    from erp_crm.sync.definition import load_connector
    from erp_crm.sync.engine import sync_source

    settings = load_settings(Path(home))

    def sync() -> Any:
        """What `erp-crm sync` does: load the definition, open the overlay, sync."""
        definition = load_connector(settings.erp)
        with Overlay.open(settings.overlay.full_url()) as overlay:
            return sync_source(overlay, settings.erp, definition, mode=mode)  # type: ignore[arg-type]

    started = time.perf_counter()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        report = profiler.runcall(sync)
        profiler.dump_stats(profile)
    else:
        report = sync()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "maxrss_mb": _maxrss_mb(), "report": report.as_dict()}


def run_child(task: str, **kwargs: Any) -> dict[str, Any]:
    """Run `task` in a fresh interpreter and return what it reports."""
    return run_json([sys.executable, str(Path(__file__).resolve()), "--child", task, json.dumps(kwargs)], f"child {task}")


# -- measuring ------------------------------------------------------------------------


@dataclass
class Row:
    setup: str
    measure: str
    value: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: str = "—"


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    rows: list[Row] = field(default_factory=list)

    def log(self, text: str) -> None:
        print(f"[{datetime.now():%H:%M:%S}] {text}", file=sys.stderr, flush=True)

    def bare_queries(self, dialect: str) -> list[str]:
        """The SELECTs a full sync issues, as one scan per entity (lines of kept invoices only)."""
        import sqlalchemy as sa
        from sqlalchemy.dialects import postgresql, sqlite

        from erp_crm.sync.definition import load_definition
        from erp_crm.sync.plan import build_plans

        compiler = (sqlite if dialect == "sqlite" else postgresql).dialect()
        queries = []
        for plan in build_plans(load_definition(DEFINITION)).values():
            statement: sa.Select[Any] = plan.select(plan.whole_pass())
            queries.append(str(statement.compile(dialect=compiler, compile_kwargs={"literal_binds": True})))
        return queries

    def make_home(self, setup: Setup, overlay_url: str, label: str) -> Path:
        import yaml

        home = self.workdir / f"home-{setup.dialect}-{label}"
        (home / "config").mkdir(parents=True, exist_ok=True)
        settings = {
            "overlay": {"url": overlay_url},
            "erp": {"connector": str(DEFINITION), "url": setup.erp_url(), "require_read_only": False},
            "logging": {"file": None},
        }
        (home / "config" / "erp_crm.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
        return home

    def fresh_schema(self, url: str) -> None:
        import sqlalchemy as sa

        from erp_crm.store.overlay import Overlay

        with Overlay.open(sa.engine.make_url(url), at_head=False) as overlay:
            overlay.upgrade()

    def fresh_overlay(self, setup: Setup, label: str) -> Path:
        url = setup.new_overlay()
        self.fresh_schema(url)
        return self.make_home(setup, url, label)

    def check(self, setup: Setup, home: Path, what: str) -> tuple[bool, str]:
        from erp_crm.settings.root import load_settings
        from erp_crm.store.overlay import Overlay
        from erp_crm.sync.compare import compare_counts

        settings = load_settings(home)
        with Overlay.open(settings.overlay.full_url()) as overlay:
            result = compare_counts(overlay, settings.erp)
        ok = all(c.complete and c.quarantined == 0 for c in result)
        text = ", ".join(f"{c.entity} {c.overlay}/{c.erp}" + (f" (+{c.quarantined} quarantined)" if c.quarantined else "") for c in result)
        self.log(f"{setup.name}: {what}: overlay/ERP counts {text}: {'ok' if ok else 'MISMATCH'}")
        return ok, text

    def check_amounts(self, setup: Setup, home: Path, expected: dict[str, float]) -> int:
        """How many changed lines the overlay holds with another amount than the ERP."""
        import sqlalchemy as sa

        from erp_crm.model.tables.synced import SYNCED
        from erp_crm.settings.root import load_settings
        from erp_crm.store.overlay import Overlay

        settings = load_settings(home)
        t = SYNCED["invoice_line"]
        with Overlay.open(settings.overlay.full_url()) as overlay, overlay.connect() as conn:
            found = dict(
                conn.execute(sa.select(t.c.erp_key, t.c.amount_net).where(t.c.source == settings.erp.source, t.c.erp_key.in_(list(expected)))).all()
            )
        return sum(1 for k, v in expected.items() if k not in found or abs(float(found[k]) - v) > 0.005)

    def run_setup(self, setup: Setup) -> None:
        args = self.args
        end = datetime.now().replace(microsecond=0) - timedelta(days=2)
        self.log(f"{setup.name}: building the ERP ({args.lines:,} lines)")
        started = time.perf_counter()
        setup.build(args.lines, args.seed, end)
        build_s = time.perf_counter() - started
        self.log(f"{setup.name}: ERP built in {build_s:.1f} s")
        S = setup.name
        self.rows.append(Row(S, f"build the ERP ({args.lines:,} lines)", f"{build_s:.1f} s"))

        queries = self.bare_queries(setup.dialect)
        bare = [run_child("bare", target=setup.bare_target(), queries=queries)]
        self.log(f"{setup.name}: bare read {bare[0]['rows']:,} rows in {bare[0]['seconds']:.2f} s")

        home = self.fresh_overlay(setup, "main")
        self.log(f"{setup.name}: full sync")
        full = run_child("sync", home=str(home), mode="full", profile=None)
        full_ok, _ = self.check(setup, home, "full sync")
        synced = sum(e["read"] for e in full["report"]["entities"].values())
        self.log(f"{setup.name}: full sync {synced:,} rows in {full['seconds']:.2f} s, peak {full['maxrss_mb']:.0f} MB")

        bare.append(run_child("bare", target=setup.bare_target(), queries=queries))
        self.log(f"{setup.name}: bare read again {bare[1]['seconds']:.2f} s")
        floor_overlay = setup.new_overlay()
        self.fresh_schema(floor_overlay)
        floor = run_child("floor", target=setup.bare_target(), overlay_url=floor_overlay)
        setup.drop_overlay(floor_overlay)
        self.log(f"{setup.name}: read + map + upsert {floor['rows']:,} rows in {floor['seconds']:.2f} s")
        best = min(bare, key=lambda b: b["seconds"])
        bare_rate = best["rows"] / best["seconds"]
        sync_rate = synced / full["seconds"]
        ratio = sync_rate / bare_rate
        self.rows.append(Row(S, "bare read (rows/s)", f"{bare_rate:,.0f}", f"{best['rows']:,} rows in {best['seconds']:.2f} s"))
        self.rows.append(Row(
            S, "full sync (rows/s)", f"{sync_rate:,.0f}", f"{bare_rate:,.0f} (bare read)", f"{ratio:.2f}",
            "≥ 0.33 (goal ≥ 0.5)", _met(ratio >= 1 / 3) + (" (goal met)" if ratio >= 0.5 else ""),
        ))
        self.rows.append(Row(S, "full sync (s)", f"{full['seconds']:.1f} s", f"{synced:,} rows"))
        floor_rate = floor["rows"] / floor["seconds"]
        self.rows.append(Row(
            S, "floor: raw read + the engine's mappers + its upsert SQL, no lookups (rows/s)", f"{floor_rate:,.0f}",
            f"{bare_rate:,.0f} (bare read)", f"{floor_rate / bare_rate:.2f}", "—", "—",
        ))
        p = floor["parts"]
        self.rows.append(Row(
            S, "floor, where its time goes", f"read {p['read']:.1f} s, map + hash {p['map']:.1f} s, upsert {p['write']:.1f} s",
            f"{floor['seconds']:.1f} s",
        ))
        peak, base_peak = full["maxrss_mb"], max(b["maxrss_mb"] for b in bare)
        self.rows.append(Row(
            S, f"peak memory, full sync of {args.lines:,} lines", f"{peak:.0f} MB", f"{base_peak:.0f} MB (import + bare read)",
            f"{peak / base_peak:.1f}×", "< 300 MB", _met(peak < 300),
        ))

        def incremental(label: str) -> dict[str, Any]:
            result = run_child("sync", home=str(home), mode="incremental", profile=None)
            self.log(f"{setup.name}: incremental ({label}) {result['seconds']:.2f} s: "
                     + ", ".join(f"{k} read {v['read']} ins {v['inserted']} upd {v['updated']}" for k, v in result["report"]["entities"].items()))
            return result

        still = incremental("nothing changed")
        still_ok, _ = self.check(setup, home, "incremental, nothing changed")
        self.rows.append(Row(
            S, "incremental, nothing changed (s)", f"{still['seconds']:.2f} s", f"{full['seconds']:.1f} s (full)",
            f"{still['seconds'] / full['seconds']:.1%}", "—", "—",
        ))

        changed_ids = setup.change_lines(0.001, args.seed + 1)
        expected = setup.kept_amounts(changed_ids)
        changed = incremental(f"{len(changed_ids)} lines changed")
        changed_ok, _ = self.check(setup, home, "incremental after the change")
        wrong = self.check_amounts(setup, home, expected)
        self.log(f"{setup.name}: changed lines with a wrong amount in the overlay: {wrong} of {len(expected)}")
        share = changed["seconds"] / full["seconds"]
        lines_read = changed["report"]["entities"].get("invoice_line", {}).get("read", 0)
        self.rows.append(Row(
            S, f"incremental, 0.1 % of lines changed ({len(changed_ids):,}; {lines_read:,} lines re-read) (s)",
            f"{changed['seconds']:.2f} s", f"{full['seconds']:.1f} s (full)", f"{share:.1%}", "≤ 5 %", _met(share <= 0.05),
        ))

        again = incremental("nothing changed, lookback window re-read")
        again_ok, _ = self.check(setup, home, "incremental again")
        self.rows.append(Row(
            S, "incremental again, nothing changed (re-reads the 10 min lookback) (s)", f"{again['seconds']:.2f} s",
            f"{full['seconds']:.1f} s (full)", f"{again['seconds'] / full['seconds']:.1%}", "—", "—",
        ))
        ok = full_ok and still_ok and changed_ok and again_ok and wrong == 0
        self.rows.append(Row(
            S, "overlay = ERP after every run (counts; changed amounts)", "equal" if ok else "DIFFERENT",
            target="equal", met=_met(ok),
        ))

        if args.profile:
            profile_home = self.fresh_overlay(setup, "profile")
            path = self.workdir / f"full-{setup.dialect}.pstats"
            self.log(f"{setup.name}: full sync under cProfile → {path}")
            run_child("sync", home=str(profile_home), mode="full", profile=str(path))
            print_profile(setup.name, path, args.profile_top)
            inc_path = self.workdir / f"incremental-{setup.dialect}.pstats"
            setup.change_lines(0.001, args.seed + 2)
            run_child("sync", home=str(profile_home), mode="incremental", profile=str(inc_path))
            print_profile(setup.name + " (incremental after 0.1 % changed)", inc_path, args.profile_top)

    def table(self) -> str:
        head = ["setup", "measure", "value", "baseline", "ratio", "target", "met?"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.rows:
            lines.append(f"| {r.setup} | {r.measure} | {r.value} | {r.baseline} | {r.ratio} | {r.target} | {r.met} |")
        return "\n".join(lines)


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def print_profile(title: str, path: Path, top: int) -> None:
    """Where the time goes: functions by own time, and the engine's functions by time including callees."""
    import pstats

    stats = pstats.Stats(str(path))
    entries = stats.stats  # type: ignore[attr-defined]
    total = max(sum(tt for _cc, _nc, tt, _ct, _callers in entries.values()), 1e-9)

    def name(func: tuple[str, int, str]) -> str:
        file, line, fn = func
        short = file.split("site-packages/")[-1] if "site-packages/" in file else file.split("/work/main/")[-1] if "/work/main/" in file else file
        return f"{short}:{line}({fn})"

    print(f"\n### Profile: {title} ({total:.2f} s under cProfile)\n")
    print("| own time | % | calls | function |\n|---|---|---|---|")
    for func, (_cc, nc, tt, _ct, _callers) in sorted(entries.items(), key=lambda kv: -kv[1][2])[:top]:
        print(f"| {tt:.2f} s | {tt / total:.1%} | {nc:,} | {name(func)} |")
    print("\n| with callees | % | calls | engine function |\n|---|---|---|---|")
    ours = [(f, v) for f, v in entries.items() if "erp_crm" in f[0] or f[0].startswith("<mapper")]
    for func, (_cc, nc, _tt, ct, _callers) in sorted(ours, key=lambda kv: -kv[1][3])[:top]:
        print(f"| {ct:.2f} s | {ct / total:.1%} | {nc:,} | {name(func)} |")
    sys.stdout.flush()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"


def engine_version() -> str:
    """The commit the engine was measured at, and whether erp_crm/ had uncommitted changes."""
    root = HERE.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "erp_crm"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "engine version unknown"
    return f"engine at {commit}" + (" with uncommitted changes in erp_crm/" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="invoice lines in the ERP (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="100,000 lines")
    parser.add_argument("--sqlite", action="store_true", help="only SQLite → SQLite")
    parser.add_argument("--pg", action="store_true", help="only PostgreSQL → PostgreSQL")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="also run a full and an incremental sync under cProfile and print where the time goes")
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--workdir", help="where the SQLite files and homes go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and PostgreSQL databases")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        task, kwargs = args.child[0], json.loads(args.child[1])
        result = {"bare": child_bare, "floor": child_floor, "sync": child_sync}[task](**kwargs)
        print(json.dumps(result, default=str))
        return

    if args.quick:
        args.lines = 100_000
    wanted = [n for n, on in (("sqlite", args.sqlite), ("pg", args.pg)) if on] or ["sqlite", "pg"]
    workdir = Path(args.workdir).resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="erpcrm-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, workdir)
    version = engine_version()
    bench.log(f"work folder {workdir}; {version}")
    try:
        for name in wanted:
            setup: Setup = SqliteSetup(workdir) if name == "sqlite" else PostgresSetup(workdir)
            try:
                bench.run_setup(setup)
            finally:
                if not args.keep:
                    setup.close()
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        print(f"\nSync benchmark, {date.today().isoformat()}, {args.lines:,} invoice lines; {machine()}; {version}\n")
        print(bench.table(), flush=True)



if __name__ == "__main__":
    main()
