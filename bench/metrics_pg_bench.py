"""Metrics on a PostgreSQL overlay: a full run with stage 1 in the database beside one in Python, same run.

    .venv/bin/python bench/metrics_pg_bench.py                      # 20,000 and 200,000 partners
    .venv/bin/python bench/metrics_pg_bench.py --sizes 2000,5000,10000 --repeats 2

For each size a scratch database on the local server (`--server`) is filled by SQL
(`generate_series`): the partners, three quarters of them customers with 1–12 invoices
over three years (a tenth of them credit notes, a few drafts), two lines per invoice
(a fifth of the products services), quotes, orders from half the quotes, complaints.
One full run fits the models; then full runs that keep that fit alternate between
``metrics.aggregate_in: python`` and ``database`` (the fastest of `--repeats` each), and
stage 1 alone (`aggregates.everyone`, rolled back) is timed the same way. The figures
of the two ways are compared row by row. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import admin_sql, engine_version, machine  # noqa: E402  (bench/ is the script's folder)

AS_OF = dt.date(2025, 6, 30)

# The overlay filled as a sync would leave it; %(n)s is the number of partners.
FILL = (
    """INSERT INTO crm_partner (source, erp_key, name, customer_group, row_hash, synced_at)
       SELECT 'b', 'P' || i, 'Partner ' || i, (ARRAY['retail', 'wholesale', NULL])[1 + i %% 3], 'x', now() FROM generate_series(1, %(n)s) i""",
    """INSERT INTO crm_product (source, erp_key, name, kind, row_hash, synced_at)
       SELECT 'b', 'G' || i, 'Product ' || i, CASE WHEN i %% 5 = 0 THEN 'service' ELSE 'goods' END, 'x', now() FROM generate_series(1, 50) i""",
    """INSERT INTO crm_invoice (source, erp_key, partner_id, date, status, kind, amount_net, row_hash, synced_at)
       SELECT 'b', 'I' || p.id || '-' || k, p.id, DATE '2022-07-01' + (random() * 1095)::int,
              CASE WHEN random() < 0.03 THEN 'draft' WHEN random() < 0.5 THEN 'paid' ELSE 'posted' END,
              CASE WHEN random() < 0.1 THEN 'credit_note' ELSE 'invoice' END, round((random() * 900 + 10)::numeric, 2), 'x', now()
       FROM crm_partner p CROSS JOIN LATERAL generate_series(1, 1 + (random() * 11)::int) k WHERE p.id %% 4 <> 0""",
    """INSERT INTO crm_invoice_line (source, erp_key, invoice_id, product_id, amount_net, row_hash, synced_at)
       SELECT 'b', i.erp_key || '-' || l, i.id, 1 + ((i.id * 7 + l) %% 50), round(i.amount_net / 2, 4), 'x', now()
       FROM crm_invoice i CROSS JOIN generate_series(1, 2) l""",
    """INSERT INTO crm_quote (source, erp_key, partner_id, date, status, row_hash, synced_at)
       SELECT 'b', 'Q' || i, 1 + (i * 7919) %% %(n)s, DATE '2022-07-01' + (i %% 1095), (ARRAY['sent', 'accepted', 'refused', 'draft'])[1 + i %% 4], 'x', now()
       FROM generate_series(1, %(n)s) i""",
    """INSERT INTO crm_order (source, erp_key, partner_id, quote_id, date, status, amount_net, row_hash, synced_at)
       SELECT 'b', 'O' || q.id, q.partner_id, q.id, q.date + 3, 'confirmed', 100, 'x', now() FROM crm_quote q WHERE q.id %% 2 = 0""",
    """INSERT INTO crm_ticket (source, erp_key, partner_id, category, opened_at, row_hash, synced_at)
       SELECT 'b', 'T' || i, 1 + (i * 104729) %% %(n)s, 'complaint', TIMESTAMP '2024-01-01' + i * interval '1 minute', 'x', now()
       FROM generate_series(1, %(n)s / 10) i""",
)


def fill(engine: sa.Engine, partners: int) -> dict[str, int]:
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT setseed(0.42)")
        for statement in FILL:
            conn.exec_driver_sql(statement, {"n": partners})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        return {t: conn.exec_driver_sql(f"SELECT count(*) FROM crm_{t}").scalar_one() for t in ("partner", "invoice", "invoice_line")}


def fastest(runs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Each run the fastest of `repeats`, the runs alternating so that a busy minute hits both."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            t = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - t)
    return {name: min(s) for name, s in seconds.items()}


def measure(server: sa.engine.URL, partners: int, repeats: int) -> dict[str, Any]:
    from erp_crm.metrics import aggregates
    from erp_crm.metrics.compute import compute_metrics
    from erp_crm.metrics.purchases import INVOICES
    from erp_crm.model.tables.metrics import partner_metrics
    from erp_crm.settings.metrics import MetricsSection
    from erp_crm.store.overlay import Overlay

    name = f"erpcrm_bench_{secrets.token_hex(4)}"
    admin_sql(server, f'CREATE DATABASE "{name}"')
    try:
        overlay = Overlay.open(server.set(database=name), at_head=False)
        overlay.upgrade()
        t = time.perf_counter()
        counts = fill(overlay.engine, partners)
        print(f"  {partners:,} partners: filled in {time.perf_counter() - t:.1f} s: {counts}", flush=True)
        settings = MetricsSection()
        first = compute_metrics(overlay, settings, source="b", as_of=AS_OF, full=True)
        print(f"  first full run (fits the models): {first.seconds:.1f} s, {first.customers:,} customers", flush=True)
        ways = {way: settings.model_copy(update={"aggregate_in": way}) for way in ("python", "database")}
        rows: dict[str, Any] = {}

        def run(way: str) -> Callable[[], None]:
            def go() -> None:
                report = compute_metrics(overlay, ways[way], source="b", as_of=AS_OF, full=True)
                assert not report.fitted, "the runs keep the first run's fit"
                figures = [c for c in partner_metrics.columns if c.name != "computed_at"]
                with overlay.engine.connect() as conn:
                    rows[way] = [tuple(r) for r in conn.execute(sa.select(*figures).order_by(partner_metrics.c.partner_id))]

            return go

        def stage_one(way: str) -> Callable[[], None]:
            def go() -> None:
                with overlay.engine.connect() as conn, conn.begin() as transaction:
                    aggregates.everyone(conn, INVOICES, AS_OF, in_database=way == "database")
                    transaction.rollback()

            return go

        full = fastest({way: run(way) for way in ways}, repeats)
        same = rows["python"] == rows["database"]
        stage = fastest({way: stage_one(way) for way in ways}, repeats)
        overlay.close()
        return {"partners": partners, "invoices": counts["invoice"], "lines": counts["invoice_line"], "full": full, "stage": stage, "same": same}
    finally:
        admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| partners | invoices | lines | full run, stage 1 in Python | full run, stage 1 in PostgreSQL | ratio | stage 1 alone, Python | stage 1 alone, PostgreSQL | ratio | rows the same |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        full, stage = r["full"], r["stage"]
        lines.append(
            f"| {r['partners']:,} | {r['invoices']:,} | {r['lines']:,} | {full['python']:.2f} s | {full['database']:.2f} s | {full['database'] / full['python']:.2f} "
            f"| {stage['python']:.2f} s | {stage['database']:.2f} s | {stage['database'] / stage['python']:.2f} | {'yes' if r['same'] else 'NO'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres", help="a PostgreSQL server where databases may be made")
    parser.add_argument("--sizes", default="20000,200000", help="partners, comma-separated")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each way (the fastest counts)")
    args = parser.parse_args()
    server = sa.engine.make_url(args.server)
    results = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        results.append(measure(server, size, args.repeats))
    print()
    print(f"{dt.date.today().isoformat()}, {machine()}, {engine_version()}")
    print()
    print(table(results))
    return 0 if all(r["same"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
