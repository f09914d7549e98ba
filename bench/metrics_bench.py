"""Metrics benchmark: RFM summary, BG/NBD fit, incremental metrics and a segment refresh,
each beside a baseline measured in the same run.

    .venv/bin/python bench/metrics_bench.py                  # everything (10M transactions, 1M partners)
    .venv/bin/python bench/metrics_bench.py --quick          # 1M transactions, 100k partners, small demo
    .venv/bin/python bench/metrics_bench.py --only summary,bgnbd --lifetimes-python /tmp/ltvenv/bin/python

Measures (issue 3, "Speed"):

1. ``rfm_summary`` on the CDNOW master file (69,659 rows) and on synthetic 1M and 10M
   transaction sets, beside lifetimes' ``summary_data_from_transaction_data(freq='D')`` on
   the same data (written to one .npz both sides read); lifetimes' result comes back in a
   file and is compared: frequency, recency and T exactly, monetary value within 1e-9.
2. BG/NBD on the CDNOW sample's 39-week calibration (to 1997-09-30, weeks): ``BGNBD.fit``
   beside ``lifetimes.BetaGeoFitter().fit`` on the same (x, t_x, T), median of several
   runs, and both sets of parameters.
3. Incremental metrics: a demo ERP synced into a SQLite overlay, a full ``compute_metrics``,
   then 1 % new invoices (copies of random ones, with their lines, for random customers)
   added to the ERP and synced; then, each on a fresh copy of that overlay, an
   incremental run on the same day, a full run, an incremental run the next day and a
   full run that refits the models, interleaved and repeated (the fastest of each).
4. A segment refresh (``refresh_one``) of one composite segment over N synthetic partners
   with metrics in a SQLite overlay, beside one plain SELECT count(*) of the same filter;
   the SQL statements are counted with a ``before_cursor_execute`` listener.
5. The ``bought(product: …)`` predicate on a demo ERP synced into a SQLite overlay (5,000
   customers, three years): one count of the partners it selects, beside one pass over
   the invoice lines joined to their invoices (what the predicate cannot do with less)
   in the same run; and a segment refresh with it beside one count of the same filter.

lifetimes (0.11.3) breaks on current pandas, so it never runs in the project's
environment: every lifetimes measure runs in a child process of a separate interpreter
(``--lifetimes-python``, a venv with lifetimes 0.11.3, pandas<2, numpy<2, scipy<1.12).
Timings on both sides cover the call only, not imports or loading the data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data"))

from benchlib import run_json  # noqa: E402  (bench/ is the script's folder)

DEFAULT_LIFETIMES = "/tmp/ltvenv/bin/python"
MEASURES = ("summary", "bgnbd", "incremental", "segments", "bought")

# -- the lifetimes side, run by the other interpreter ---------------------------------

LIFETIMES_CHILD = r'''
import json, sys, time, warnings
import numpy as np, pandas as pd
warnings.filterwarnings("ignore")
from lifetimes import BetaGeoFitter
from lifetimes.utils import summary_data_from_transaction_data

job = json.loads(sys.argv[1])
data = np.load(job["input"])
if job["task"] == "summary":
    frame = pd.DataFrame({
        "customer_id": data["customer_id"],
        "date": data["day"].astype("datetime64[D]").astype("datetime64[ns]"),
        "value": data["value"],
    })
    end = pd.Timestamp(str(data["end"].astype("datetime64[D]")))
    seconds = []
    for _ in range(job["repeats"]):
        t = time.perf_counter()
        out = summary_data_from_transaction_data(frame, "customer_id", "date", monetary_value_col="value",
                                                 observation_period_end=end, freq="D")
        seconds.append(time.perf_counter() - t)
    out = out.sort_index()
    np.savez(job["output"], customer_id=out.index.to_numpy(np.int64),
             frequency=out["frequency"].to_numpy(np.float64), recency=out["recency"].to_numpy(np.float64),
             T=out["T"].to_numpy(np.float64), monetary_value=out["monetary_value"].to_numpy(np.float64))
    print(json.dumps({"seconds": seconds}))
else:
    seconds, params = [], None
    for _ in range(job["repeats"]):
        t = time.perf_counter()
        fitter = BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
        seconds.append(time.perf_counter() - t)
        params = [float(fitter.params_[k]) for k in ("r", "alpha", "a", "b")]
    print(json.dumps({"seconds": seconds, "params": params}))
'''


def lifetimes(python: str, job: dict[str, Any]) -> dict[str, Any]:
    return run_json([python, "-c", LIFETIMES_CHILD, json.dumps(job)], "lifetimes child")


# -- results --------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    value: str
    baseline: str
    ratio: str
    target: str
    met: str
    note: str = ""


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


# -- 1. RFM summary -------------------------------------------------------------------


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.datetime64]:
    """n transactions of n/20 customers over three years, amounts in cents."""
    rng = np.random.default_rng(seed)
    customers = max(10, n // 20)
    ids = rng.integers(1, customers + 1, n, dtype=np.int64)
    start = np.datetime64("2022-01-01", "D")
    day = start + rng.integers(0, 3 * 365, n).astype("timedelta64[D]")
    value = np.round(rng.lognormal(3.5, 1.0, n), 2)
    return ids, day, value, start + np.timedelta64(3 * 365 - 1, "D")


def summary_measure(label: str, ids: np.ndarray, day: np.ndarray, value: np.ndarray, end: np.datetime64,
                    tmp: Path, python: str, repeats: int) -> Row:
    from erp_crm.metrics.summary import rfm_summary

    data = tmp / f"summary_{label}.npz"
    np.savez(data, customer_id=ids, day=day.astype(np.int64), value=value, end=np.int64(end.astype(np.int64)))
    ours_s, ours = best(lambda: rfm_summary(ids, day, value, end), repeats)
    out = tmp / f"lifetimes_{label}.npz"
    lt = lifetimes(python, {"task": "summary", "input": str(data), "output": str(out), "repeats": max(1, repeats if len(ids) < 5_000_000 else 1)})
    theirs_s = min(lt["seconds"])
    theirs = np.load(out)
    same = (
        np.array_equal(ours.index.to_numpy(np.int64), theirs["customer_id"])
        and all(np.array_equal(ours[c].to_numpy(np.float64), theirs[c]) for c in ("frequency", "recency", "T"))
        and np.allclose(ours["monetary_value"].to_numpy(np.float64), theirs["monetary_value"], rtol=0, atol=1e-9)
    )
    speedup = theirs_s / ours_s
    big = len(ids) >= 10_000_000
    target = "≥5× (goal 10×), identical" if big else "identical"
    met = same and (speedup >= 5 if big else True)
    return Row(
        f"RFM summary, {label} ({len(ids):,} rows, {len(ours):,} customers)",
        fmt_s(ours_s), f"lifetimes {fmt_s(theirs_s)}", f"{speedup:.1f}× faster",
        target, ("yes" if met else "NO") + ("" if same else " (values differ)"),
        "values identical" if same else "VALUES DIFFER",
    )


def measure_summary(args: argparse.Namespace, tmp: Path) -> list[Row]:
    from cdnow import load_master

    rows = []
    m = load_master()
    end = m.day.max()
    rows.append(summary_measure("CDNOW master", m.customer_id, m.day, m.dollars, end, tmp, args.lifetimes_python, 5))
    for n in args.sizes:
        ids, day, value, end = synthetic(n, seed=n)
        label = f"synthetic {n // 1_000_000}M" if n >= 1_000_000 else f"synthetic {n:,}"
        rows.append(summary_measure(label, ids, day, value, end, tmp, args.lifetimes_python, 3))
        print(f"  {rows[-1].measure}: {rows[-1].value} vs {rows[-1].baseline}", flush=True)
    return rows


# -- 2. BG/NBD fit --------------------------------------------------------------------


def measure_bgnbd(args: argparse.Namespace, tmp: Path) -> list[Row]:
    from cdnow import load_sample

    from erp_crm.metrics.bgnbd import BGNBD
    from erp_crm.metrics.summary import rfm_summary

    s = load_sample()
    cal = rfm_summary(s.customer_id, s.day, s.dollars, "1997-09-30", unit_days=7)
    x, t_x, T = (cal[c].to_numpy(np.float64) for c in ("frequency", "recency", "T"))
    data = tmp / "bgnbd.npz"
    np.savez(data, frequency=x, recency=t_x, T=T)
    repeats = 7
    ours_times, model = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        model = BGNBD.fit(x, t_x, T)
        ours_times.append(time.perf_counter() - t)
    lt = lifetimes(args.lifetimes_python, {"task": "bgnbd", "input": str(data), "repeats": repeats})
    ours_s, theirs_s = statistics.median(ours_times), statistics.median(lt["seconds"])
    ours_p = [model.r, model.alpha, model.a, model.b]
    sig3 = lambda v: [float(f"{p:.3g}") for p in v]  # noqa: E731
    same = sig3(ours_p) == sig3(lt["params"])
    lt_ll = float(BGNBD._terms(np.array(lt["params"]), x, t_x, T)[0].sum())
    show = lambda v: ", ".join(f"{n}={p:.4g}" for n, p in zip(("r", "α", "a", "b"), v))  # noqa: E731
    met = same and ours_s <= theirs_s
    return [Row(
        f"BG/NBD fit, CDNOW sample 39-week calibration ({len(x):,} customers, median of {repeats})",
        fmt_s(ours_s), f"lifetimes {fmt_s(theirs_s)}", f"{theirs_s / ours_s:.1f}× faster",
        "no slower, same parameters (3 s.d.)", "yes" if met else "NO",
        f"ours {show(ours_p)}, LL {model.log_likelihood:.1f}; lifetimes {show(lt['params'])}, LL {lt_ll:.1f}",
    )]


# -- 3. incremental metrics -----------------------------------------------------------


def add_invoices(erp: Path, share: float, day: dt.date, seed: int) -> tuple[int, int]:
    """Copies of `share` of the ERP's invoices, with their lines, for random customers, dated `day`: (invoices, customers)."""
    import sqlite3

    db = sqlite3.connect(erp)
    columns = [r[1] for r in db.execute("PRAGMA table_info(llx_facture)")]
    line_columns = [r[1] for r in db.execute("PRAGMA table_info(llx_facturedet)")]
    rnd = random.Random(seed)
    count = int(db.execute("SELECT COUNT(*) FROM llx_facture").fetchone()[0] * share)
    sources = rnd.sample([r[0] for r in db.execute("SELECT rowid FROM llx_facture WHERE fk_statut IN (1, 2) AND type = 0")], count)
    customers = [r[0] for r in db.execute("SELECT rowid FROM llx_societe WHERE client IN (1, 3)")]
    invoice_id, line_id = (db.execute(f"SELECT MAX(rowid) FROM {t}").fetchone()[0] for t in ("llx_facture", "llx_facturedet"))
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    buyers = set()
    for n, source in enumerate(sources):
        row = dict(zip(columns, db.execute("SELECT * FROM llx_facture WHERE rowid = ?", (source,)).fetchone()))
        invoice_id += 1
        row.update(rowid=invoice_id, ref=f"BENCH-{n:06d}", fk_soc=rnd.choice(customers), datef=day.isoformat(), tms=now, datec=now)
        buyers.add(row["fk_soc"])
        db.execute(f"INSERT INTO llx_facture ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", [row[c] for c in columns])
        for line in db.execute("SELECT * FROM llx_facturedet WHERE fk_facture = ?", (source,)).fetchall():
            values = dict(zip(line_columns, line))
            line_id += 1
            values.update(rowid=line_id, fk_facture=invoice_id)
            db.execute(f"INSERT INTO llx_facturedet ({', '.join(line_columns)}) VALUES ({', '.join('?' * len(line_columns))})", [values[c] for c in line_columns])
    db.commit()
    db.close()
    return count, len(buyers)


def synced_demo(home: Path, customers: int, years: int) -> tuple[Any, Any]:
    """A demo ERP built in a new home and synced whole into the home's SQLite overlay: (settings, the open overlay)."""
    from erp_crm.demo import build_demo_erp
    from erp_crm.entrypoints.cli.demo import DEMO_ERP, demo_settings
    from erp_crm.settings.home import init_home
    from erp_crm.store.overlay import Overlay
    from erp_crm.sync.definition import load_connector
    from erp_crm.sync.engine import sync_source

    home = init_home(home)
    (home / "var").mkdir(exist_ok=True)
    settings = demo_settings(home)
    t = time.perf_counter()
    counts = build_demo_erp(f"sqlite:///{home / DEMO_ERP}", customers=customers, years=years, seed=7)
    print(f"  demo ERP built in {time.perf_counter() - t:.1f} s: {counts}", flush=True)
    database = Overlay.open(settings.overlay.full_url(), at_head=False)
    database.upgrade()
    t = time.perf_counter()
    sync_source(database, settings.erp, load_connector(settings.erp), mode="full")
    print(f"  synced in {time.perf_counter() - t:.1f} s", flush=True)
    return settings, database


def measure_incremental(args: argparse.Namespace, tmp: Path) -> list[Row]:
    import sqlalchemy as sa

    from erp_crm.entrypoints.cli.demo import DEMO_ERP
    from erp_crm.metrics.compute import compute_metrics
    from erp_crm.model.tables.feed import partner_change
    from erp_crm.model.tables.synced import SYNCED
    from erp_crm.store.overlay import Overlay
    from erp_crm.sync.definition import load_connector
    from erp_crm.sync.engine import sync_source

    settings, database = synced_demo(tmp / "home", args.customers, args.years)
    home, definition = settings.home, load_connector(settings.erp)
    overlay = Path(settings.overlay.full_url().database or "")
    engine = database.engine
    # The first load ran seconds ago, inside the change margin a metrics run allows for late
    # commits, so everyone would count as changed: date the change feed a day back, as when
    # metrics run on a load of earlier.
    with engine.begin() as conn:
        conn.execute(sa.update(partner_change).values(changed_at=partner_change.c.changed_at - dt.timedelta(days=1)))
    as_of = dt.date.today()
    first = compute_metrics(database, settings.metrics, source=settings.erp.source, as_of=as_of, full=True)
    print(f"  first full metrics run: {first.seconds:.2f} s, {first.partners:,} partners", flush=True)

    new, buyers = add_invoices(home / DEMO_ERP, 0.01, as_of, seed=11)
    t = time.perf_counter()
    sync_source(database, settings.erp, definition)
    print(f"  {new:,} new invoices for {buyers:,} customers synced in {time.perf_counter() - t:.1f} s", flush=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        n_invoices = conn.execute(sa.select(sa.func.count()).select_from(SYNCED["invoice"])).scalar_one()
    database.close()
    snapshot = tmp / "after_sync.sqlite"
    shutil.copy(overlay, snapshot)

    def run(kind: str) -> Any:
        """One metrics run on a fresh copy of the overlay as the sync left it."""
        shutil.copy(snapshot, overlay)
        for suffix in ("-wal", "-shm"):
            Path(f"{overlay}{suffix}").unlink(missing_ok=True)
        day = as_of + dt.timedelta(days=1 if kind == "next day" else 0)
        with Overlay.open(settings.overlay.full_url()) as fresh:
            return compute_metrics(fresh, settings.metrics, source=settings.erp.source, as_of=day, full=kind.startswith("full"), refit=kind == "full, refit")

    kinds = ("incremental", "full", "next day", "full, refit")
    runs: dict[str, list[Any]] = {k: [] for k in kinds}
    for _ in range(args.repeats):  # interleaved, the fastest of each kept: the machine is shared
        for kind in kinds:
            runs[kind].append(run(kind))
    fastest = {k: min(v, key=lambda r: r.seconds) for k, v in runs.items()}
    inc, full, nxt, refit = (fastest[k] for k in kinds)
    share, next_share = inc.seconds / full.seconds, nxt.seconds / full.seconds
    what = f"{new:,} new invoices on {buyers:,} customers; {inc.partners:,} partners, {n_invoices:,} invoices; fastest of {args.repeats}"
    return [
        Row(
            f"Incremental metrics after 1 % new invoices, same day ({what})",
            f"{fmt_s(inc.seconds)} ({inc.recomputed:,} aggregated again, {inc.written:,} rows written)", f"full run {fmt_s(full.seconds)}",
            f"{share:.0%} of full", "≤10 % of full", "yes" if share <= 0.10 else "NO",
        ),
        Row(
            "Incremental metrics the next day (every row's recency moves: all rewritten)",
            f"{fmt_s(nxt.seconds)} ({nxt.recomputed:,} aggregated again, {nxt.written:,} rows written)", f"full run {fmt_s(full.seconds)}",
            f"{next_share:.0%} of full", "—", "—",
        ),
        Row(
            "Full metrics run with the models and RFM cut points fitted anew (--refit)",
            fmt_s(refit.seconds), f"full run {fmt_s(full.seconds)}", f"{refit.seconds / full.seconds:.2f}× full", "—", "—",
        ),
    ]


# -- 4. segment refresh ---------------------------------------------------------------

SEGMENT_FILTER = (
    '(rfm_group in (at_risk, cannot_lose) and monetary >= 20000) '
    'or (lapsed_model and not lapsed_rule and recency_days between 120 and 400) '
    'or (city = "Debrecen" and p_alive < 0.3)'
)


def measure_segments(args: argparse.Namespace, tmp: Path) -> list[Row]:
    import sqlalchemy as sa

    from erp_crm.model.tables.segments import segment
    from erp_crm.segments.compiler import compile_filter
    from erp_crm.segments.definitions import SegmentDef
    from erp_crm.segments.language import parse_filter
    from erp_crm.segments.metrics_fields import segment_registry
    from erp_crm.segments.refresh import refresh_one
    from erp_crm.store.overlay import Overlay

    n = args.partners
    url = sa.engine.make_url(f"sqlite:///{tmp / 'segments.sqlite'}")
    database = Overlay.open(url, at_head=False)
    database.upgrade()
    engine = database.engine
    rng = np.random.default_rng(5)
    groups = np.array(["champions", "loyal", "at_risk", "cannot_lose", "hibernating", "new", "promising", "lost"])
    towns = np.array(["Budapest", "Debrecen", "Szeged", "Miskolc", "Pécs", "Győr"])
    as_of = dt.date.today()
    stamp = dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")
    t = time.perf_counter()
    batch = 50_000
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        for lo in range(1, n + 1, batch):
            ids = np.arange(lo, min(n, lo + batch - 1) + 1)
            city = towns[rng.integers(0, len(towns), ids.size)]
            raw.executemany(
                "INSERT INTO crm_partner (id, source, erp_key, name, kind, is_customer, active, city, row_hash, synced_at)"
                " VALUES (?, 'bench', ?, ?, 'company', 1, 1, ?, 'x', ?)",
                [(int(i), str(i), f"Partner {i}", str(c), stamp) for i, c in zip(ids, city)],
            )
            grp = groups[rng.integers(0, len(groups), ids.size)]
            rec = rng.integers(0, 1500, ids.size)
            mon = np.round(rng.lognormal(9.5, 1.2, ids.size), 2)
            pal = rng.random(ids.size)
            raw.executemany(
                "INSERT INTO crm_partner_metrics (partner_id, as_of, source, computed_at, recency_days, frequency, monetary,"
                " rfm_group, p_alive, lapsed_rule, lapsed_rhythm, lapsed_model, quotes, orders, order_value, invoices,"
                " revenue_net, services_value, credit_notes, credit_note_value, complaints, purchase_days, purchase_value)"
                " VALUES (?, ?, 'bench', ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)",
                [
                    (int(i), as_of.isoformat(), stamp, int(r), int(r % 7), float(m), str(g), float(p), int(r > 365), int(r > 500), int(p < 0.2))
                    for i, r, m, g, p in zip(ids, rec, mon, grp, pal)
                ],
            )
    print(f"  {n:,} partners and metrics rows inserted in {time.perf_counter() - t:.1f} s", flush=True)

    registry = segment_registry()
    node = parse_filter(SEGMENT_FILTER)
    d = SegmentDef("bench_composite", "bench", node, "config")
    with engine.begin() as conn:
        sid = conn.execute(
            sa.insert(segment).values(name=d.name, title=d.title, filter=d.text, source="config", updated_at=dt.datetime.now())
        ).inserted_primary_key[0]

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    # baseline: the filter evaluated once, as a plain count
    condition = compile_filter(node, registry, as_of)
    p = registry.partner
    with engine.connect() as conn:
        base_s, matched = best(lambda: conn.execute(sa.select(sa.func.count()).select_from(p).where(condition)).scalar_one(), 2)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        t = time.perf_counter()
        with engine.begin() as conn:
            first = refresh_one(conn, sid, d, registry, as_of)
        first_s = time.perf_counter() - t
        first_statements = len(statements)
        # 1 % of the partners change group and tell the change feed, as a metrics run does; then a second refresh
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE crm_partner_metrics SET rfm_group = CASE rfm_group WHEN 'at_risk' THEN 'loyal' ELSE 'at_risk' END,"
                " monetary = 50000 WHERE partner_id % 100 = 0"
            )
            conn.exec_driver_sql(
                "INSERT INTO crm_partner_change (partner_id, entity, changed_at)"
                " SELECT partner_id, 'metrics', ? FROM crm_partner_metrics WHERE partner_id % 100 = 0",
                (dt.datetime.now().replace(microsecond=0).isoformat(sep=" "),),
            )
        statements.clear()
        t = time.perf_counter()
        with engine.begin() as conn:
            second = refresh_one(conn, sid, d, registry, as_of)
        second_s = time.perf_counter() - t
        second_statements = len(statements)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
        engine.dispose()
    assert first.members == matched, (first.members, matched)
    few = max(first_statements, second_statements) <= 20  # a constant number: the tests check it does not grow with partners
    return [
        Row(
            f"Segment refresh, composite filter, {n:,} partners: first ({first.entered:,} enter)",
            fmt_s(first_s), f"one SELECT count(*) of the filter {fmt_s(base_s)}", f"{first_s / base_s:.1f}× the count",
            "one or a few statements", "yes" if few else "NO", f"{first_statements} SQL statements",
        ),
        Row(
            f"Segment refresh again after 1 % of the metrics changed ({second.entered:,} enter, {second.left:,} leave)",
            fmt_s(second_s), f"same count {fmt_s(base_s)}", f"{second_s / base_s:.2f}× the count",
            "one or a few statements", "yes" if few else "NO",
            f"{second_statements} SQL statements; looked at {'everyone' if second.looked_at is None else f'{second.looked_at:,} changed partners'}",
        ),
    ]


# -- 5. the bought(product: …) predicate --------------------------------------------


def measure_bought(args: argparse.Namespace, tmp: Path) -> list[Row]:
    import sqlalchemy as sa

    from erp_crm.model.tables.segments import segment
    from erp_crm.model.tables.synced import SYNCED
    from erp_crm.segments.compiler import compile_filter
    from erp_crm.segments.definitions import SegmentDef
    from erp_crm.segments.language import parse_filter
    from erp_crm.segments.metrics_fields import segment_registry
    from erp_crm.segments.refresh import refresh_one

    _, database = synced_demo(tmp / "bought_home", args.bought_customers, 3)
    engine = database.engine
    product, line = SYNCED["product"], SYNCED["invoice_line"]
    with engine.connect() as conn:  # the product on most invoice lines
        code, lines = conn.execute(
            sa.select(product.c.code, sa.func.count()).join(line, line.c.product_id == product.c.id).group_by(product.c.code).order_by(sa.func.count().desc()).limit(1)
        ).one()
        partners = conn.execute(sa.select(sa.func.count()).select_from(SYNCED["partner"])).scalar_one()
        n_lines = conn.execute(sa.select(sa.func.count()).select_from(line)).scalar_one()
    registry = segment_registry()
    as_of = dt.date.today()
    text = f'bought(product: "{code}")'

    def count(filter_text: str) -> Callable[[], int]:
        """One count of the partners the filter selects, compiled beforehand."""
        condition = compile_filter(parse_filter(filter_text), registry, as_of)
        statement = sa.select(sa.func.count()).select_from(registry.partner).where(condition)

        def run() -> int:
            with engine.connect() as conn:
                return int(conn.execute(statement).scalar_one())

        return run

    invoice = SYNCED["invoice"]
    one_pass = sa.select(sa.func.count()).select_from(invoice).join(line, line.c.invoice_id == invoice.c.id).where(line.c.erp_deleted_at.is_(None))

    def pass_over_lines() -> int:
        with engine.connect() as conn:
            return int(conn.execute(one_pass).scalar_one())

    goods_s, buyers = best(count(text), args.repeats)
    pass_s, _ = best(pass_over_lines, args.repeats)
    plain_s, _ = best(count("bought()"), args.repeats)
    d = SegmentDef("bench_bought", "bench", parse_filter(text), "config")
    with engine.begin() as conn:
        sid = conn.execute(sa.insert(segment).values(name=d.name, title=d.title, filter=d.text, source="config", updated_at=dt.datetime.now())).inserted_primary_key[0]
    t = time.perf_counter()
    with engine.begin() as conn:
        first = refresh_one(conn, sid, d, registry, as_of)
    refresh_s = time.perf_counter() - t
    database.close()
    assert first.members == buyers, (first.members, buyers)
    what = f"{partners:,} partners, {n_lines:,} invoice lines, {lines:,} of them of {code}; fastest of {args.repeats}"
    return [
        Row(
            f"Filter bought(product: …), one count ({what}; {buyers:,} selected)",
            fmt_s(goods_s), f"one pass over the invoice lines {fmt_s(pass_s)}", f"{goods_s / pass_s:.1f}× the pass",
            "≤ 3× the pass", "yes" if goods_s <= 3 * pass_s else "NO", f"bought() without goods {fmt_s(plain_s)}",
        ),
        Row(
            f"Segment refresh with bought(product: …), first ({first.entered:,} enter)",
            fmt_s(refresh_s), f"one count of the same filter {fmt_s(goods_s)}", f"{refresh_s / goods_s:.1f}× the count", "—", "—",
        ),
    ]


# -- main -----------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs{mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def table(rows: list[Row]) -> str:
    lines = [
        "| measure | value | baseline (same run) | ratio | target | met? | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.measure} | {r.value} | {r.baseline} | {r.ratio} | {r.target} | {r.met} | {r.note} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lifetimes-python", default=DEFAULT_LIFETIMES, help="interpreter with lifetimes 0.11.3")
    parser.add_argument("--only", default=",".join(MEASURES), help=f"comma-separated subset of {','.join(MEASURES)}")
    parser.add_argument("--quick", action="store_true", help="1M transactions, 100k partners, 2,000-customer demo")
    parser.add_argument("--sizes", default=None, help="synthetic transaction counts (default 1000000,10000000)")
    parser.add_argument("--customers", type=int, default=None, help="demo ERP customers (default 20000)")
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind of metrics run (the fastest counts)")
    parser.add_argument("--partners", type=int, default=None, help="partners for the segment refresh (default 1000000)")
    parser.add_argument("--bought-customers", type=int, default=5_000, help="demo ERP customers for the bought(product: …) measure")
    args = parser.parse_args()
    args.sizes = [int(s) for s in (args.sizes or ("1000000" if args.quick else "1000000,10000000")).split(",") if s]
    args.customers = args.customers or (2_000 if args.quick else 20_000)
    args.partners = args.partners or (100_000 if args.quick else 1_000_000)
    wanted = [m for m in args.only.split(",") if m]
    unknown = set(wanted) - set(MEASURES)
    if unknown:
        parser.error(f"unknown measures: {', '.join(sorted(unknown))}")
    if {"summary", "bgnbd"} & set(wanted) and not Path(args.lifetimes_python).exists():
        parser.error(f"{args.lifetimes_python} not found: create a venv with lifetimes==0.11.3 'pandas<2' 'numpy<2' 'scipy<1.12'")

    runners = {"summary": measure_summary, "bgnbd": measure_bgnbd, "incremental": measure_incremental, "segments": measure_segments, "bought": measure_bought}
    rows: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="erpcrm_metrics_bench_"))
    try:
        for name in wanted:
            print(f"{name} ...", flush=True)
            t = time.perf_counter()
            try:
                rows += runners[name](args, tmp)
            except Exception as err:  # noqa: BLE001 - a failed measure is reported, the others still run
                rows.append(Row(name, "failed", "", "", "", "NO", f"{type(err).__name__}: {str(err)[:200]}"))
            print(f"  {name} done in {time.perf_counter() - t:.1f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"{dt.date.today().isoformat()}, {machine()}")
    print()
    print(table(rows))
    return 0 if all(r.met.startswith("yes") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
