"""`erp-crm metrics compute`: every partner's figures as of a date, written to the overlay.

A run has two stages (docs/metrics.md):

1. Aggregates from the documents (`aggregates`): a full run computes them for every
   partner; an incremental run only for the partners the change feed names since the
   last run, or whose documents are dated between the last run's `as_of` and this one,
   and takes everyone else's from `crm_partner_metrics`.
2. Figures that move with time (`figures`): recency, tenure, RFM scores (against the
   fit's cut points), overdue ratio, the model scores (`fits`: a kept fit, or a new
   one) and the lapse flags.

When the date, the settings and the fit are those of the last run, only the rows of the
partners the change feed names are computed and written again; else every row is.
Either way the tables end up as a full run would leave them. The whole run
is one transaction (readers see the old figures or the new ones) and holds the metrics
lock, so two runs never interleave: its fits and cut points are made over every
customer at once, so a run cannot be split among processes. The partners whose figures changed go to the change
feed, for the segment refreshes. A run that finds no customer says why when the reason is
a setting (`purchases.NoPurchases`: no purchase documents of the kind it counts).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.metrics import aggregate_in, aggregates, figure_rows, figures, partner_days, purchases
from erp_crm.metrics.fits import Fits, kept_fits
from erp_crm.metrics.invoice_days import DocumentDays
from erp_crm.metrics.progress import AGGREGATING, CHANGES, FIGURES, FITTING, Progress, silent
from erp_crm.model.tables.metrics import metrics_run
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.metrics import MetricsSection
from erp_crm.store import change_feed
from erp_crm.store.idset import id_set
from erp_crm.store.overlay import Overlay

log = logging.getLogger(__name__)

ONE_AT_A_TIME = "metrics"  # the lock a run holds
WHOLE_SHARE = 0.25  # above this share of changed partners an incremental run aggregates everyone


@dataclass
class MetricsReport:
    as_of: dt.date
    mode: str
    partners: int = 0
    customers: int = 0
    recomputed: int = 0
    written: int = 0
    models: dict[str, Any] = field(default_factory=dict)
    lapsed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    no_purchases: purchases.NoPurchases | None = None  # why there is no customer, when it is a setting
    fitted: bool = False  # the models and cut points fitted by this run (False: an earlier run's fit, kept)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["no_purchases"] = self.no_purchases.as_dict() if self.no_purchases else None
        return data


def compute_metrics(
    overlay: Overlay,
    settings: MetricsSection,
    *,
    source: str,
    as_of: dt.date | None = None,
    full: bool = False,
    refit: bool = False,
    progress: Progress | None = None,
) -> MetricsReport:
    """Compute and store every live partner's figures as of ``as_of`` (today by default); rows are stamped with `source`.

    `progress` hears of each phase as it begins and of the rows written (`metrics.progress`),
    for a person waiting at a terminal: on a large base a run takes minutes.
    """
    as_of = as_of or dt.date.today()
    clock = time.perf_counter()
    # begin_writing: on SQLite the run's one transaction takes the write lock at its start (waiting for other
    # writers); a transaction that reads first and writes later fails at once if another process wrote meanwhile
    with _without_cycle_collection(), overlay.lock(ONE_AT_A_TIME, "another metrics run is working on this overlay"), overlay.begin_writing() as conn:
        report = _run(conn, source, as_of, full, refit, settings, progress or silent)
    return _finished(report, clock)


def compute_metrics_when_due(overlay: Overlay, settings: MetricsSection, *, source: str) -> MetricsReport | None:
    """An incremental run as of today when one is due (`is_due`); None when none is, or another run holds the lock.

    For work that several processes offer to do (`erp-crm worker`): whichever takes the
    lock first runs, the others skip it rather than wait, and the one that runs asks
    whether a run is due only once it holds the lock, so a run just finished is not
    repeated by the next in line.
    """
    as_of, clock = dt.date.today(), time.perf_counter()
    with _without_cycle_collection(), overlay.lock_if_free(ONE_AT_A_TIME) as mine:
        if not mine:
            return None
        with overlay.begin_writing() as conn:
            if not is_due(conn, settings, as_of):
                return None
            report = _run(conn, source, as_of, False, False, settings, silent)  # nobody watches: the report is logged
    return _finished(report, clock)


def is_due(conn: Connection, settings: MetricsSection, as_of: dt.date) -> bool:
    """Whether a run as of `as_of` would change a figure: none yet, an earlier day's, other settings, or inputs changed since.

    Changes count from the last run's start less `change_margin_minutes` (a sync that
    committed late), as the run itself counts them; so that the changes a run has taken
    in do not make the next one due at once, they are asked about once the last run
    finished that margin ago: a change reaches the figures within a few minutes.
    """
    last = last_run(conn)
    if last is None or last.as_of < as_of or last.settings_hash != settings.digest():
        return True
    margin = dt.timedelta(minutes=settings.change_margin_minutes)
    if last.finished_at > _now() - margin:
        return False
    return change_feed.changed_any(conn, last.started_at - margin, aggregates.inputs(purchases.PURCHASES[settings.purchases_from]))


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """The run holds a few hundred thousand plain values (rows read and written) and makes
    no reference cycles worth collecting: the cycle collector would only walk them again
    and again, a sixth of an incremental run."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _finished(report: MetricsReport, clock: float) -> MetricsReport:
    report.seconds = round(time.perf_counter() - clock, 3)
    log.info(
        "metrics as of %s (%s): %d partners, %d aggregated again, %d rows written, %.2f s",
        report.as_of, report.mode, report.partners, report.recomputed, report.written, report.seconds,
    )  # fmt: skip
    return report


def last_run(conn: Connection) -> sa.Row[Any, Any, Any, Any, Any] | None:
    """The last finished metrics run: its day (`as_of`), start, end, fits and settings digest."""
    return conn.execute(
        sa.select(metrics_run.c.as_of, metrics_run.c.started_at, metrics_run.c.finished_at, metrics_run.c.models, metrics_run.c.settings_hash)
        .where(metrics_run.c.finished_at.is_not(None))
        .order_by(metrics_run.c.id.desc())
        .limit(1)
    ).first()


def _run(conn: Connection, source: str, as_of: dt.date, full: bool, refit: bool, options: MetricsSection, progress: Progress) -> MetricsReport:
    started = _now()
    last = last_run(conn)
    digest = options.digest()
    # a run recorded without a settings hash came before the day table: the next one is full
    incremental = not full and last is not None and last.settings_hash is not None and as_of >= last.as_of
    report = MetricsReport(as_of=as_of, mode="incremental" if incremental else "full")
    kept = last.models if last is not None and not refit and last.settings_hash == digest else None
    run = _Run(conn, as_of, options, kept, {"source": source, "as_of": as_of, "computed_at": started}, report, progress)
    changed: aggregates.Changes | None = None
    if incremental and last is not None:
        progress(CHANGES, None, None)
        since = last.started_at - dt.timedelta(minutes=options.change_margin_minutes)
        changed = aggregates.changed_partners(conn, run.documents, since, last.as_of, as_of)
    same_day = last is not None and last.as_of == as_of and kept is not None
    if not (changed is not None and same_day and run.rewrite_changed(changed)):
        run.rewrite_everyone(changed)
    if not report.customers:
        report.no_purchases = purchases.in_overlay(conn, options.purchases_from, as_of)
    conn.execute(
        sa.insert(metrics_run).values(
            as_of=as_of, mode=report.mode, started_at=started, finished_at=_now(), partners=report.partners,
            recomputed=report.recomputed, written=report.written, models=report.models, settings_hash=digest,
        )
    )  # fmt: skip
    return report


@dataclass
class _Run:
    """The two ways a run can write: the rows of the changed partners only, or everyone's."""

    conn: Connection
    as_of: dt.date
    options: MetricsSection
    kept: dict[str, Any] | None  # the last run's fits, if they may be kept (same settings, no --refit)
    extra: dict[str, Any]  # source, as_of and computed_at of every row written
    report: MetricsReport
    progress: Progress  # told of each phase as it begins

    @property
    def documents(self) -> purchases.Documents:
        """What a purchase is in this run (`metrics.purchases_from`)."""
        return purchases.PURCHASES[self.options.purchases_from]

    def rewrite_changed(self, changed: aggregates.Changes) -> bool:
        """Same day, settings and fit: only the changed partners' rows can differ. False: not so after all."""
        conn, partners = self.conn, changed.partners
        with id_set(conn, partners) as ids:
            others = figure_rows.stored_totals(conn, excluding=ids)
            if len(partners) > WHOLE_SHARE * (others.partners + len(partners)):  # one pass over everyone is cheaper
                return False
            self.progress(AGGREGATING, None, None)
            live = _live_partners(conn, ids)
            stored = figure_rows.read_stored(conn, ids)
            changed.add(aggregates.EVERY_PART, live.index.difference(stored.index))
            base = _with_partners(aggregates.refreshed(conn, self.as_of, changed, stored), live)
            fits = kept_fits(self.kept, others.customers + int((base["purchase_days"] > 0).sum()), self.as_of, self.options)
            if fits is None:  # the base moved too far for the kept fit: refit, and rewrite everyone
                return False
            self.progress(FIGURES, None, None)
            frame = figures.figures(base, self.as_of, self.options, fits)
            figure_rows.write(conn, frame, self.extra, only=ids, gone=partners - set(live.index.tolist()), progress=self.progress)
            change_feed.record_selected(conn, "metrics", ids, _now())
        self._report(fits, len(changed.aggregated), len(frame), others + figure_rows.Totals.of(frame), fitted=False)
        return True

    def rewrite_everyone(self, changed: aggregates.Changes | None) -> None:
        """Aggregate the changed partners (everyone, if None or many) and write every row."""
        conn = self.conn
        live = _live_partners(conn, None)
        if changed is not None and len(changed.partners) <= WHOLE_SHARE * len(live):
            self.progress(AGGREGATING, None, None)
            stored = figure_rows.read_stored(conn, None)
            changed.add(aggregates.EVERY_PART, live.index.difference(stored.index))
            fresh = aggregates.refreshed(conn, self.as_of, changed, stored)
            base = pd.concat([stored.drop(index=stored.index.intersection(fresh.index)), fresh])
            recomputed = len(changed.aggregated)
            days: DocumentDays | None = None
        else:
            in_database = aggregate_in.in_database(conn.dialect.name, self.options.aggregate_in, len(live))
            base, days = aggregates.everyone(conn, self.documents, self.as_of, in_database=in_database, progress=self.progress)
            recomputed = len(live)
        base = _with_partners(base, live)
        customers = int((base["purchase_days"] > 0).sum())
        fits = kept_fits(self.kept, customers, self.as_of, self.options)
        fitted = fits is None
        if fits is None:  # the lapse model learns from every purchase day
            self.progress(FITTING, None, None)
            every = days if days is not None else partner_days.read(conn, None)
            fits = figures.fit(base, self.as_of, self.options, every.until(figures.day_number(self.as_of)).purchases())
        self.progress(FIGURES, None, None)
        frame = figures.figures(base, self.as_of, self.options, fits)
        figure_rows.write(conn, frame, self.extra, progress=self.progress)
        change_feed.record_everyone(conn, "metrics", _now())
        self._report(fits, recomputed, len(frame), figure_rows.Totals.of(frame), fitted=fitted)

    def _report(self, fits: Fits, recomputed: int, written: int, totals: figure_rows.Totals, *, fitted: bool) -> None:
        r = self.report
        r.models, r.recomputed, r.written, r.fitted = fits.record, recomputed, written, fitted
        r.partners, r.customers, r.lapsed = totals.partners, totals.customers, totals.lapsed


def _live_partners(conn: Connection, ids: sa.Select[tuple[int]] | None) -> pd.DataFrame:
    """Partners not deleted in the ERP (among `ids`, if given): their customer group, by id."""
    partner = SYNCED["partner"]
    query = sa.select(partner.c.id, partner.c.customer_group).where(partner.c.erp_deleted_at.is_(None))
    if ids is not None:
        query = query.where(partner.c.id.in_(ids))
    rows = conn.execute(query).all()
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=["partner_id", "customer_group"])  # tuples: pandas probes Row objects slowly
    return frame.set_index("partner_id").sort_index()


def _with_partners(base: pd.DataFrame, live: pd.DataFrame) -> pd.DataFrame:
    """Aggregates for exactly the `live` partners (zeros for those without documents), with their customer group."""
    base = aggregates.complete(base.reindex(live.index, columns=list(aggregates.AGGREGATES)))
    base["customer_group"] = live["customer_group"]
    return base


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)
