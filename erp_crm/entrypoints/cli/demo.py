"""`erp-crm demo`: build the demo ERP, sync it, show that nothing was lost, then compute the
customer metrics, show who has lapsed and why, and refresh the segments.

The demo works on its own two files in the home's var/ (the demo ERP and the demo
overlay), with the home's settings pointed at them, and opens its own overlay.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.entrypoints.cli.metrics import format_report as format_metrics
from erp_crm.entrypoints.cli.segments import format_refresh, refresh_configured
from erp_crm.entrypoints.cli.sync import format_report as format_sync
from erp_crm.errors import UserError
from erp_crm.i18n import LOCALES, lapse_reasons
from erp_crm.queries.partners import most_lapsed
from erp_crm.settings.home import CONFIG_FILE, find_home, init_home
from erp_crm.settings.root import Settings, load_settings
from erp_crm.store.overlay import Overlay

DEMO_ERP = "var/demo_erp.sqlite"
DEMO_OVERLAY = "var/demo_crm.sqlite"
FALLBACK_HOME = "erp-crm-demo"


@click.command()
@click.option("--customers", default=400, show_default=True, type=click.IntRange(1, 1_000_000), help="How many customers the demo ERP has.")
@click.option("--years", default=3, show_default=True, type=click.IntRange(1, 20), help="Years of history.")
@click.option("--seed", default=42, show_default=True, help="Random seed: the same seed gives the same ERP.")
@pass_ctx
def demo(obj: Context, customers: int, years: int, seed: int) -> None:
    """Build a demo ERP (Dolibarr layout, SQLite) with Hungarian history and sync it."""
    from erp_crm.demo import build_demo_erp
    from erp_crm.metrics.compute import compute_metrics
    from erp_crm.sync.compare import compare_counts
    from erp_crm.sync.definition import load_connector
    from erp_crm.sync.engine import sync_source

    home = demo_home(obj.home_option)
    settings = demo_settings(home)
    for name in (DEMO_ERP, DEMO_OVERLAY):
        for suffix in ("", "-wal", "-shm"):
            (home / f"{name}{suffix}").unlink(missing_ok=True)
    (home / "var").mkdir(exist_ok=True)

    started = time.perf_counter()
    rows = build_demo_erp(f"sqlite:///{home / DEMO_ERP}", customers=customers, years=years, seed=seed)
    click.echo(f"demo ERP (Dolibarr layout) built in {time.perf_counter() - started:.1f} s: {home / DEMO_ERP}")
    click.echo("  " + ", ".join(f"{table} {count:,}" for table, count in rows.items()))

    with Overlay.open(settings.overlay.full_url(), at_head=False) as overlay:
        overlay.upgrade()
        click.echo("")
        click.echo(format_sync(sync_source(overlay, settings.erp, load_connector(settings.erp), mode="full")))
        click.echo("")
        click.echo(f"{'entity':<14}{'ERP rows':>10}{'overlay':>10}{'quarantine':>12}")
        comparisons = compare_counts(overlay, settings.erp)
        for c in comparisons:
            click.echo(f"{c.entity:<14}{c.erp:>10,}{c.overlay:>10,}{c.quarantined:>12,}  {'ok' if c.complete else 'MISSING ROWS'}")
        if not all(c.complete for c in comparisons):
            raise UserError("the overlay does not account for every ERP row; see the table above")
        click.echo("")
        metrics = compute_metrics(overlay, settings.metrics, source=settings.erp.source)
        click.echo(format_metrics(metrics))
        click.echo("")
        click.echo("lapsed customers by definition: " + ", ".join(f"{name} {count:,}" for name, count in metrics.lapsed.items()))
        with overlay.connect() as conn:
            examples = most_lapsed(conn, 3)
        for example in examples:
            indent = ""
            for locale in LOCALES:
                click.echo(f"  {indent or example['name'] + ':'} {lapse_reasons.render(example['lapse_reason'], locale)}")
                indent = " " * (len(example["name"]) + 1)
        click.echo("")
        click.echo(format_refresh(refresh_configured(overlay, settings)))
    click.echo("")
    click.echo(f"overlay: {home / DEMO_OVERLAY} (try: erp-crm --home {home} metrics show <partner key>)")


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
