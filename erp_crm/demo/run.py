"""`erp-crm demo`: build the demo ERP, sync it, show that nothing was lost, then compute
the customer metrics, show who has lapsed and why, and refresh the segments.

The demo works on its own two files in the home's var/ (the demo ERP and the demo
overlay) and never touches the overlay the settings point at, so running it in a
production home is harmless.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from erp_crm.errors import UserError
from erp_crm.home import init_home
from erp_crm.metrics.compute import compute_metrics
from erp_crm.metrics.compute import format_report as format_metrics
from erp_crm.model import migrate
from erp_crm.model.db import overlay_engine
from erp_crm.model.tables import SYNCED, partner_metrics
from erp_crm.segments.refresh import format_report as format_segments
from erp_crm.segments.refresh import refresh_segments
from erp_crm.settings import CONFIG_FILE, Settings, find_home, load_settings
from erp_crm.sync.compare import compare_counts
from erp_crm.sync.engine import sync_source
from erp_crm.sync.report import format_report

DEMO_ERP = "var/demo_erp.sqlite"
DEMO_OVERLAY = "var/demo_crm.sqlite"
FALLBACK_HOME = "erp-crm-demo"


def demo_home(explicit: str | None) -> Path:
    """The given home, else the current one, else a new ./erp-crm-demo."""
    try:
        return find_home(explicit)
    except UserError:
        if explicit:
            raise
    target = Path.cwd() / FALLBACK_HOME
    return target if (target / CONFIG_FILE).is_file() else init_home(target)


def demo_settings(home: Path) -> Settings:
    """The home's settings with the ERP and overlay pointed at the demo's own files."""
    settings = load_settings(home)
    return settings.model_copy(
        update={
            "erp": settings.erp.model_copy(update={"connector": "dolibarr", "source": "demo", "url": f"sqlite:///{DEMO_ERP}", "odbc": None, "require_read_only": True}),
            "overlay": settings.overlay.model_copy(update={"url": f"sqlite:///{DEMO_OVERLAY}"}),
        }
    )


def run_demo(home_option: str | None, *, customers: int, years: int, seed: int, echo: Callable[[str], None]) -> None:
    from erp_crm.demo.generator import build_demo_erp

    home = demo_home(home_option)
    settings = demo_settings(home)
    for name in (DEMO_ERP, DEMO_OVERLAY):
        for suffix in ("", "-wal", "-shm"):
            (home / f"{name}{suffix}").unlink(missing_ok=True)
    (home / "var").mkdir(exist_ok=True)

    started = time.perf_counter()
    rows = build_demo_erp(f"sqlite:///{home / DEMO_ERP}", customers=customers, years=years, seed=seed)
    echo(f"demo ERP (Dolibarr layout) built in {time.perf_counter() - started:.1f} s: {home / DEMO_ERP}")
    echo("  " + ", ".join(f"{table} {count:,}" for table, count in rows.items()))

    engine = overlay_engine(settings.overlay_url())
    migrate.upgrade(engine)
    engine.dispose()
    report = sync_source(settings, mode="full")
    echo("")
    echo(format_report(report))

    echo("")
    echo(f"{'entity':<14}{'ERP rows':>10}{'overlay':>10}{'quarantine':>12}")
    comparisons = compare_counts(settings)
    for c in comparisons:
        echo(f"{c.entity:<14}{c.erp:>10,}{c.overlay:>10,}{c.quarantined:>12,}  {'ok' if c.complete else 'MISSING ROWS'}")
    if not all(c.complete for c in comparisons):
        raise UserError("the overlay does not account for every ERP row; see the table above")
    echo("")
    metrics = compute_metrics(settings)
    echo(format_metrics(metrics))
    echo("")
    echo("lapsed customers by definition: " + ", ".join(f"{name} {count:,}" for name, count in metrics.lapsed.items()))
    for name, reason_hu, reason_en in example_reasons(settings, 3):
        echo(f"  {name}: {reason_hu}")
        echo(f"  {' ' * len(name)}  {reason_en}")
    echo("")
    echo(format_segments(refresh_segments(settings)))
    echo("")
    echo(f"overlay: {home / DEMO_OVERLAY} (try: erp-crm --home {home} metrics show <partner key>)")


def example_reasons(settings: Settings, count: int) -> list[tuple[str, str, str]]:
    """The most surely lapsed customers with their reasons, in Hungarian and English."""
    engine = overlay_engine(settings.overlay_url())
    m, p = partner_metrics, SYNCED["partner"]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(p.c.name, m.c.lapse_reason_hu, m.c.lapse_reason_en)
            .join(p, p.c.id == m.c.partner_id)
            .where(m.c.lapse_reason_en != "")
            .order_by(m.c.lapse_score.desc(), p.c.name)
            .limit(count)
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]
