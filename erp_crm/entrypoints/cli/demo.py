"""`erp-crm demo`: build the demo ERP, sync it, show that nothing was lost, then compute the
customer metrics, show who has lapsed and why, and refresh the segments.

The demo's two files are the home's var/demo_erp.sqlite and var/demo_crm.sqlite, where
`erp-crm init` points a new home's settings. They may hold a user's own work by now, so
the demo overwrites them only if they are still its own (erp_crm.demo.files says when),
and otherwise stops with one line before doing anything. It builds everything in a
scratch folder beside them and copies the result over them at the end, holding the
overlay (no sync, metrics run or refresh of the home is working on it meanwhile).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import click
from sqlalchemy.engine import make_url

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.entrypoints.cli.metrics import format_report as format_metrics
from erp_crm.entrypoints.cli.segments import format_refresh
from erp_crm.entrypoints.cli.sync import format_report as format_sync
from erp_crm.errors import UserError
from erp_crm.i18n import LOCALES, lapse_reasons
from erp_crm.queries.partners import most_lapsed
from erp_crm.segments.configured import refresh_configured
from erp_crm.settings.home import CONFIG_FILE, find_home, init_home
from erp_crm.settings.root import Settings, load_settings
from erp_crm.store.overlay import Overlay
from erp_crm.yamlfile import load_yaml

DEMO_ERP = "var/demo_erp.sqlite"
DEMO_OVERLAY = "var/demo_crm.sqlite"
FALLBACK_HOME = "erp-crm-demo"
DEMO_MAIL = "var/demo_mail"
DEMO_SENDER = "ertekesites@demo-kft.hu"
BUSY = "a sync, metrics run, segment refresh or upgrade is working on the demo's overlay"


class DemoFiles(NamedTuple):
    """Where the demo's ERP and overlay are."""

    erp: Path
    overlay: Path

    @classmethod
    def of(cls, home: Path) -> DemoFiles:
        return cls(home / DEMO_ERP, home / DEMO_OVERLAY)

    @classmethod
    def scratch(cls, folder: Path) -> DemoFiles:
        return cls(folder / Path(DEMO_ERP).name, folder / Path(DEMO_OVERLAY).name)


@click.command()
@click.option("--customers", default=400, show_default=True, type=click.IntRange(1, 1_000_000), help="How many customers the demo ERP has.")
@click.option("--years", default=3, show_default=True, type=click.IntRange(1, 20), help="Years of history.")
@click.option("--seed", default=42, show_default=True, help="Random seed: the same seed gives the same ERP.")
@click.option(
    "--maildir", type=click.Path(file_okay=False, path_type=Path), help="Write the win-back e-mails into this Maildir folder instead of sending them to the demo's mail server."
)
@pass_ctx
def demo(obj: Context, customers: int, years: int, seed: int, maildir: Path | None) -> None:
    """Build a demo ERP (Dolibarr layout, SQLite) with Hungarian history, sync it, and run the win-back chain on its lapsed customers."""
    home = demo_home(obj.home_option)
    target = DemoFiles.of(home)
    refuse_foreign(target, home)
    target.erp.parent.mkdir(exist_ok=True)
    mail = (maildir or home / DEMO_MAIL).resolve()
    with tempfile.TemporaryDirectory(prefix=".demo-", dir=target.erp.parent) as scratch:
        built = DemoFiles.scratch(Path(scratch))
        kept = Path(scratch) / Path(DEMO_MAIL).name if maildir is None else mail
        build(built, demo_settings(home, built), customers, years, seed, kept, smtp=maildir is None)
        install(built, target, home)
        if maildir is None:  # the demo's own folder: this run's e-mails, in place once the overlay that sent them is
            shutil.rmtree(mail, ignore_errors=True)
            shutil.move(kept, mail)
    click.echo("")
    click.echo(f"ERP: {target.erp}")
    click.echo(f"overlay: {target.overlay} (try: erp-crm --home {home} metrics show <partner key>)")
    click.echo(f"e-mails: {mail} (a Maildir: one file per message in new/)")


def build(files: DemoFiles, settings: Settings, customers: int, years: int, seed: int, mail: Path, *, smtp: bool) -> None:
    """Make the demo's ERP and overlay at `files`, printing what each step did."""
    from erp_crm.demo import build_demo_erp
    from erp_crm.demo.files import mark

    started = time.perf_counter()
    rows = build_demo_erp(f"sqlite:///{files.erp}", customers=customers, years=years, seed=seed)
    mark(files.erp)
    click.echo(f"demo ERP (Dolibarr layout) built in {time.perf_counter() - started:.1f} s")
    click.echo("  " + ", ".join(f"{table} {count:,}" for table, count in rows.items()))
    with Overlay.open(settings.overlay.full_url(), at_head=False) as overlay:
        overlay.upgrade()
        sync_and_show(overlay, settings)
        compute_and_show(overlay, settings)
        click.echo("")
        click.echo(format_refresh(refresh_configured(overlay, settings)))
        click.echo("")
        win_back(overlay, settings, mail, smtp=smtp)
    mark(files.overlay)


def win_back(overlay: Overlay, settings: Settings, mail: Path, *, smtp: bool) -> None:
    """Run jobs/chains/winback.yaml on the lapsed customers over three simulated weeks, sending its e-mails to `mail`.

    The chain waits two weeks, then one more: the tick and the dispatcher are run at
    today, 14 and 22 days on (their clocks moved, nothing else), so the e-mails, the
    text messages and the sales reps' tasks all appear in one demo run.
    """
    from erp_crm.automation.chain_store import enrol, segment_members
    from erp_crm.automation.configured import chain_runtime
    from erp_crm.automation.dispatch import dispatch
    from erp_crm.automation.email_builder import EmailBuilder
    from erp_crm.automation.email_channel import EmailSender, MaildirSender
    from erp_crm.automation.outbox import utc_now
    from erp_crm.automation.tick import publish_all, tick
    from erp_crm.demo.files import DEMO_CHAIN
    from erp_crm.demo.mail_sink import MailSink
    from erp_crm.entrypoints.cli.chains import format_tick
    from erp_crm.queries.chains import chain_status
    from erp_crm.queries.outbox import status_counts
    from erp_crm.queries.tasks import tasks
    from erp_crm.settings.sending import EmailSection

    runtime = chain_runtime(settings)
    if not (settings.home / "jobs" / "chains" / f"{DEMO_CHAIN}.yaml").is_file():
        click.echo(f"no jobs/chains/{DEMO_CHAIN}.yaml in this home: the win-back chain is not run")
        return
    start = utc_now()
    with overlay.begin_writing() as conn:
        (published,) = publish_all(conn, runtime, start, [DEMO_CHAIN])
        enrolled = enrol(conn, published, segment_members(conn, "lapsed"), f"manual:{start:%Y-%m-%d}", start)
    click.echo(f"win-back chain ({DEMO_CHAIN} v{published.version}): {enrolled.enrolled} lapsed customers enrolled; three weeks simulated")
    with MailSink(mail) as sink:
        email = EmailSection.model_validate({"sender": DEMO_SENDER, "sender_name": "Demo Kft.", "smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none"}})
        runtime = replace(runtime, email=EmailBuilder.of(email))
        for days in (0, 14, 22):
            at = start + dt.timedelta(days=days)
            moved = tick(overlay, runtime, now=at)
            sender = EmailSender(email) if smtp else MaildirSender(email, mail)
            sent = dispatch(overlay, settings.outbox, {"email": sender}, consent=settings.consent, clock=_stopped(at))
            waiting = f"; text messages queued: {sent.waiting['sms']} (no SMS gateway in the demo)" if sent.waiting.get("sms") else ""
            click.echo(f"day {days}: " + format_tick(moved).replace("\n", "\n  ") + f"\n  e-mails sent: {sent.sent}{waiting}")
    with overlay.connect() as conn:
        status = chain_status(conn, DEMO_CHAIN)
        counts = status_counts(conn)
        made = tasks(conn, status="open", limit=1_000_000)
    assert status is not None
    for version in status["versions"]:
        click.echo("per step: " + "; ".join(f"{step} " + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) for step, outcomes in version["steps"].items()))
    click.echo("outbox: " + "; ".join(f"{channel} " + ", ".join(f"{n} {s}" for s, n in sorted(by.items())) for channel, by in sorted(counts.items())))
    owners: dict[str, int] = {}
    for row in made:
        who = row["owner"] or f"role {row['role']}"
        owners[who] = owners.get(who, 0) + 1
    click.echo(f"tasks for the sales reps: {len(made)} (" + ", ".join(f"{who} {n}" for who, n in sorted(owners.items())) + ")")
    click.echo(f"the demo mail server kept {sink.received} e-mails" if smtp else f"e-mails written to {mail}")


def sync_and_show(overlay: Overlay, settings: Settings) -> None:
    """Sync the demo ERP whole and show that the overlay accounts for every row."""
    from erp_crm.sync.compare import compare_counts
    from erp_crm.sync.definition import load_connector
    from erp_crm.sync.engine import sync_source

    click.echo("")
    click.echo(format_sync(sync_source(overlay, settings.erp, load_connector(settings.erp), mode="full")))
    click.echo("")
    click.echo(f"{'entity':<14}{'ERP rows':>10}{'overlay':>10}{'quarantine':>12}")
    comparisons = compare_counts(overlay, settings.erp)
    for c in comparisons:
        click.echo(f"{c.entity:<14}{c.erp:>10,}{c.overlay:>10,}{c.quarantined:>12,}  {'ok' if c.complete else 'MISSING ROWS'}")
    if not all(c.complete for c in comparisons):
        raise UserError("the overlay does not account for every ERP row; see the table above")


def compute_and_show(overlay: Overlay, settings: Settings) -> None:
    """Compute the metrics and show who lapsed, with the reasons in every language."""
    from erp_crm.metrics.compute import compute_metrics

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


def _stopped(moment: dt.datetime) -> Callable[[], dt.datetime]:
    """A clock that always says `moment`: the simulated day the demo's dispatcher runs on."""
    return lambda: moment


def refuse_foreign(files: DemoFiles, home: Path) -> None:
    """One line, and nothing touched, if either file holds more than the demo's own data or the settings use it for another ERP."""
    from erp_crm.demo.files import foreign

    settings = load_settings(home)
    if _same_file(settings.overlay.full_url().database, files.overlay) and not _same_file(_erp_file(settings), files.erp):
        where = load_yaml(home / CONFIG_FILE).where(("overlay", "url"))
        raise UserError(
            f"{where}: overlay.url is the demo's overlay ({files.overlay}), but erp reads another ERP: the demo will not overwrite it; "
            "give the overlay a file of its own (e.g. sqlite:///var/crm.sqlite) first"
        )
    for path, is_overlay in ((files.erp, False), (files.overlay, True)):
        why = foreign(path, overlay=is_overlay)
        if why:
            raise UserError(f"{path} {why}: the demo will not overwrite it; move it away first, or run the demo in another home (--home)")


def _erp_file(settings: Settings) -> str | None:
    """The SQLite file the settings read the ERP from, if they read one."""
    url = settings.erp.full_url()
    return url.database if url is not None and settings.erp.odbc is None and url.get_backend_name() == "sqlite" else None


def _same_file(database: str | None, path: Path) -> bool:
    return database is not None and Path(database).resolve() == path.resolve()


def install(built: DemoFiles, target: DemoFiles, home: Path) -> None:
    """Copy the built files over the home's demo files, holding the overlay, if they are still the demo's own."""
    from erp_crm.demo.files import put_in_place

    with Overlay.open(make_url(f"sqlite:///{target.overlay}"), at_head=False) as overlay, overlay.lock_whole(BUSY):
        refuse_foreign(target, home)
        put_in_place(built.erp, target.erp)
        put_in_place(built.overlay, target.overlay)


def demo_home(explicit: str | None) -> Path:
    """The given home, else the current one, else a new ./erp-crm-demo."""
    try:
        return find_home(explicit)
    except UserError:
        if explicit:
            raise
    target = Path.cwd() / FALLBACK_HOME
    return target if (target / CONFIG_FILE).is_file() else init_home(target)


def demo_settings(home: Path, files: DemoFiles | None = None) -> Settings:
    """The home's settings with the ERP and overlay pointed at the demo's files (by default the home's own)."""
    from erp_crm.demo.files import SOURCE

    files = files or DemoFiles.of(home)
    settings = load_settings(home)
    erp = {"connector": "dolibarr", "source": SOURCE, "url": f"sqlite:///{files.erp}", "odbc": None, "require_read_only": True}
    return settings.model_copy(
        update={"erp": settings.erp.model_copy(update=erp), "overlay": settings.overlay.model_copy(update={"url": f"sqlite:///{files.overlay}"})}
    )
