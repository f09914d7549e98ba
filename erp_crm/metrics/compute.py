"""`erp-crm metrics compute`: every partner's figures as of a date, written to the overlay.

A run has two stages (docs/metrics.md):

1. Aggregates, from the documents: the quantitative data (``quantitative``) and the
   purchase history's first and last purchase, purchase days, values and typical gap
   (``history``, ``summary.rfm_summary``, ``rhythm.typical_gaps``). A full run computes
   them for every partner; an incremental run only for partners whose documents changed
   since the last run started, or are dated between the last run's ``as_of`` and this
   one, and takes everyone else's from ``crm_partner_metrics``.
2. Figures that move with time, for every partner at once with numpy: recency, tenure,
   RFM scores (relative to everyone), overdue ratio, the MBG/NBD and Gamma-Gamma fits
   and what follows from them, and the lapse flags.

Both stages read the same stored representation, so a full and an incremental run give
identical tables. The whole run is one transaction: readers see the old figures or the
new ones. ``crm_partner_metrics`` is rewritten, a snapshot goes to
``crm_partner_metrics_history`` under ``as_of`` (replacing one of the same date) and the
run, with the fitted parameters, to ``crm_metrics_run``.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.errors import UserError
from erp_crm.metrics.bgnbd import MBGNBD
from erp_crm.metrics.gamma_gamma import GammaGamma
from erp_crm.metrics import rhythm
from erp_crm.metrics.history import EPOCH, Purchases, day_number_sql, read_purchases
from erp_crm.metrics.lapse import LapseSettings, lapse_flags
from erp_crm.metrics.quantitative import quantitative
from erp_crm.metrics.rfm import RfmSettings, rfm_scores
from erp_crm.metrics.summary import rfm_summary
from erp_crm.model import migrate
from erp_crm.model.db import overlay_engine, overlay_errors
from erp_crm.model.tables import SYNCED, metrics_run, partner_metrics, partner_metrics_history

log = logging.getLogger(__name__)

WEEK = 7.0
WHOLE_SHARE = 0.25  # above this share of changed partners an incremental run aggregates everyone
DAYS_PER_MONTH = 365.25 / 12
# What stage 1 produces and stage 2 starts from (stored in crm_partner_metrics).
AGGREGATES = (
    "quotes", "orders", "order_value", "invoices", "revenue_net", "services_value", "credit_notes",
    "credit_note_value", "complaints", "quote_conversion", "first_purchase", "last_purchase",
    "purchase_days", "purchase_value", "repeat_value", "avg_order_value", "typical_gap_days",
)  # fmt: skip
COUNT_COLUMNS = ("quotes", "orders", "invoices", "credit_notes", "complaints", "purchase_days")
METRIC_COLUMNS = tuple(c.name for c in partner_metrics.columns if c.name not in ("partner_id", "as_of", "source", "computed_at"))


@dataclass(frozen=True)
class MetricsSettings:
    """Thresholds and model settings; the ``metrics:`` section of config/erp_crm.yaml."""

    horizon_days: int = 90  # expected purchases over this many days
    clv_months: int = 12
    discount_rate_monthly: float = 0.01
    penalizer_coef: float = 0.0  # lifetimes' L2 penalty, for small or odd customer bases
    min_customers: int = 20  # fewer customers (repeat buyers for Gamma-Gamma): no fit
    change_margin_minutes: int = 5  # rows synced this long before the last run started count as changed
    rfm: RfmSettings | None = None  # score thresholds and group names (rfm.RfmSettings defaults when None)
    lapse: LapseSettings | None = None  # the lapse definitions (lapse.LapseSettings defaults when None)


@dataclass
class MetricsReport:
    as_of: dt.date
    mode: str
    partners: int = 0
    customers: int = 0
    recomputed: int = 0
    models: dict[str, Any] = field(default_factory=dict)
    lapsed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return data


def options_from(section: Any) -> MetricsSettings:
    """The validated `metrics:` settings section as the computation's own settings."""
    values = section.model_dump()
    rfm, lapse = values.pop("rfm"), values.pop("lapse")
    return MetricsSettings(**values, rfm=RfmSettings(**rfm), lapse=LapseSettings(**lapse))


def compute_metrics(
    settings: Any,
    *,
    as_of: dt.date | None = None,
    full: bool = False,
    options: MetricsSettings | None = None,
) -> MetricsReport:
    """Compute and store every live partner's figures as of ``as_of`` (today by default)."""
    options = options or options_from(settings.metrics)
    as_of = as_of or dt.date.today()
    clock = time.perf_counter()
    engine = _engine(settings)
    # The run holds a few hundred thousand plain values (rows read and written) and makes
    # no reference cycles worth collecting: the cycle collector would only walk them again
    # and again, a sixth of an incremental run.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with overlay_errors(engine.url), engine.begin() as conn:
            report = _run(conn, settings.erp.source, as_of, full, options)
    finally:
        if collecting:
            gc.enable()
        engine.dispose()
    report.seconds = round(time.perf_counter() - clock, 3)
    log.info("metrics as of %s (%s): %d partners, %d aggregated again, %.2f s", as_of, report.mode, report.partners, report.recomputed, report.seconds)
    return report


def _run(conn: Connection, source: str, as_of: dt.date, full: bool, options: MetricsSettings) -> MetricsReport:
    started = _now()
    last = conn.execute(
        sa.select(metrics_run.c.as_of, metrics_run.c.started_at)
        .where(metrics_run.c.finished_at.is_not(None))
        .order_by(metrics_run.c.id.desc())
        .limit(1)
    ).first()
    partner = SYNCED["partner"]
    rows = conn.execute(sa.select(partner.c.id, partner.c.customer_group).where(partner.c.erp_deleted_at.is_(None))).all()
    partners = pd.DataFrame.from_records(
        [tuple(r) for r in rows],  # plain tuples: pandas probes Row objects slowly
        columns=["partner_id", "customer_group"],
    ).set_index("partner_id").sort_index()

    incremental = not full and last is not None and as_of >= last.as_of
    if incremental:
        stored = _stored_aggregates(conn)
        since = last.started_at - dt.timedelta(minutes=options.change_margin_minutes)
        changed = changed_partners(conn, since, last.as_of, as_of)
        changed |= set(partners.index.difference(stored.index).tolist())
        changed &= set(partners.index.tolist())
        if len(changed) > WHOLE_SHARE * len(partners):
            # most partners changed: reading everyone is cheaper than thousands of IN lists
            changed = set(partners.index.tolist())
            base = aggregates(conn, as_of, None)
        else:
            fresh = aggregates(conn, as_of, changed)
            kept = stored.drop(index=stored.index.intersection(list(changed)))
            base = pd.concat([kept, fresh]) if len(fresh) else kept
    else:
        changed = set(partners.index.tolist())
        base = aggregates(conn, as_of, None)
    base = _complete(base.reindex(partners.index))
    base["customer_group"] = partners["customer_group"]

    report = MetricsReport(as_of=as_of, mode="incremental" if incremental else "full", recomputed=len(changed))
    figures = time_moving(base, as_of, options, report)
    _write(conn, figures, source, as_of, started)
    report.partners = len(figures)
    report.customers = int((figures["purchase_days"] > 0).sum())
    conn.execute(
        sa.insert(metrics_run).values(
            as_of=as_of, mode=report.mode, started_at=started, finished_at=_now(),
            partners=report.partners, recomputed=report.recomputed, models=report.models,
        )
    )  # fmt: skip
    return report


def _engine(settings: Any) -> sa.engine.Engine:
    """The overlay's engine, once its schema has the metrics tables."""
    engine = overlay_engine(settings.overlay_url())
    with overlay_errors(engine.url):
        now, head = migrate.current(engine), migrate.head()
    if now != head:
        engine.dispose()
        raise UserError(f"the overlay schema is at {now or 'nothing'}, not {head}: run `erp-crm db upgrade`")
    return engine


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


# --- stage 1: aggregates -------------------------------------------------------------------


def changed_partners(conn: Connection, since: dt.datetime, last_as_of: dt.date, as_of: dt.date) -> set[int]:
    """Partners whose figures may differ from the stored ones, besides the passing of time.

    Their documents (or lines, or the products on those lines) were synced or deleted
    since ``since``, or are dated after ``last_as_of`` and up to ``as_of``; new, changed
    and revived partners too.
    """
    quote, order, invoice = SYNCED["quote"], SYNCED["order"], SYNCED["invoice"]
    line, product, ticket, partner = SYNCED["invoice_line"], SYNCED["product"], SYNCED["ticket"], SYNCED["partner"]

    def touched(t: sa.Table) -> sa.ColumnElement:
        return sa.or_(t.c.synced_at >= since, t.c.erp_deleted_at >= since)

    def dated(t: sa.Table) -> sa.ColumnElement:
        return sa.and_(t.c.date > last_as_of, t.c.date <= as_of)

    start = dt.datetime.combine(last_as_of + dt.timedelta(days=1), dt.time())
    stop = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    selects = [sa.select(t.c.partner_id).where(sa.or_(touched(t), dated(t))) for t in (quote, order, invoice)]
    selects += [
        # an order changes the conversion rate of its quote's partner
        sa.select(quote.c.partner_id).join(order, order.c.quote_id == quote.c.id).where(sa.or_(touched(order), dated(order))),
        sa.select(invoice.c.partner_id).join(line, line.c.invoice_id == invoice.c.id).where(touched(line)),
        sa.select(ticket.c.partner_id).where(
            sa.or_(touched(ticket), sa.and_(ticket.c.opened_at >= start, ticket.c.opened_at < stop))
        ),
        sa.select(partner.c.id).where(partner.c.synced_at >= since),
    ]
    # products are few and seldom change: look them up first rather than join every line to them
    products = sa.select(product.c.id).where(touched(product))
    if conn.execute(products.limit(1)).first() is not None:
        selects.append(
            sa.select(invoice.c.partner_id).join(line, line.c.invoice_id == invoice.c.id).where(line.c.product_id.in_(products))
        )
    rows = conn.execute(sa.union(*selects)).scalars()
    return {int(r) for r in rows if r is not None}


def aggregates(conn: Connection, as_of: dt.date, partner_ids: Iterable[int] | None) -> pd.DataFrame:
    """Stage 1 for the given partners (all when None): one row per partner with documents."""
    ids = None if partner_ids is None else sorted(partner_ids)
    if ids is not None and not ids:
        return pd.DataFrame(columns=list(AGGREGATES), index=pd.Index([], name="partner_id", dtype=np.int64))
    counts = quantitative(conn, as_of, ids)
    counts["quote_conversion"] = np.where(counts["quotes"] > 0, counts["quotes_converted"] / counts["quotes"].where(counts["quotes"] > 0, 1), np.nan)
    purchases = purchase_figures(read_purchases(conn, as_of, ids), as_of)
    frame = counts.drop(columns="quotes_converted").join(purchases, how="outer")
    return frame.reindex(columns=list(AGGREGATES))


def purchase_figures(purchases: Purchases, as_of: dt.date) -> pd.DataFrame:
    """First and last purchase day, purchase days, their value, mean repeat value, typical gap."""
    end = (as_of - EPOCH).days
    summary = rfm_summary(purchases.partner_id, purchases.day, purchases.value, end)
    index = summary.index.astype(np.int64)
    first = end - summary["T"].to_numpy().astype(np.int64)
    frequency = summary["frequency"].to_numpy().astype(np.int64)
    last = first + summary["recency"].to_numpy().astype(np.int64)
    # purchases are sorted by partner: one sum per partner's run of rows
    starts = np.flatnonzero(np.r_[True, purchases.partner_id[1:] != purchases.partner_id[:-1]]) if len(purchases) else np.empty(0, np.int64)
    value = np.round(np.add.reduceat(purchases.value, starts), 4) if len(purchases) else np.empty(0)
    repeat = summary["monetary_value"].to_numpy()
    frame = pd.DataFrame(
        {
            "first_purchase": first,
            "last_purchase": last,
            "purchase_days": frequency + 1,
            "purchase_value": value,
            "repeat_value": np.where(frequency > 0, np.round(repeat, 4), np.nan),
            "avg_order_value": np.round(value / (frequency + 1), 4),
        },
        index=pd.Index(index, name="partner_id"),
    )
    frame["typical_gap_days"] = typical_gaps(purchases, frame.index)
    return frame


def typical_gaps(purchases: Purchases, index: pd.Index) -> np.ndarray:
    """Each customer's typical gap between purchase days (``rhythm.typical_gaps``), NaN if unknown."""
    if not len(purchases):
        return np.empty(0)
    return rhythm.typical_gaps(purchases.partner_id, purchases.day).reindex(index).to_numpy(dtype=np.float64)


def _stored_aggregates(conn: Connection) -> pd.DataFrame:
    """Stage 1's figures as the last run left them (purchase dates as day numbers)."""
    t = partner_metrics
    dialect = conn.dialect.name
    selected = [day_number_sql(t.c[c], dialect) if c in ("first_purchase", "last_purchase") else t.c[c] for c in AGGREGATES]
    rows = conn.execute(sa.select(t.c.partner_id, *selected)).all()
    # one float matrix (None becomes NaN); ids and figures are exact in float64
    data = np.array([tuple(r) for r in rows], dtype=np.float64).reshape(len(rows), len(AGGREGATES) + 1)
    index = pd.Index(data[:, 0].astype(np.int64), name="partner_id")
    return pd.DataFrame(data[:, 1:], columns=list(AGGREGATES), index=index)


def _complete(frame: pd.DataFrame) -> pd.DataFrame:
    """Partners without documents get zero counts; every column gets one dtype whatever its source."""
    frame = frame.copy()
    for column in AGGREGATES:
        values = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
        if column in COUNT_COLUMNS or column in ("order_value", "revenue_net", "services_value", "credit_note_value", "purchase_value"):
            values = values.fillna(0.0)
        frame[column] = values
    return frame


# --- stage 2: figures that move with time --------------------------------------------------


def time_moving(base: pd.DataFrame, as_of: dt.date, options: MetricsSettings, report: MetricsReport) -> pd.DataFrame:
    """Every figure for every partner, from stage 1's ``base`` (vectorised over partners)."""
    frame = base.copy()
    end = (as_of - EPOCH).days
    customer = frame["purchase_days"].to_numpy() > 0
    first, last = frame["first_purchase"].to_numpy(), frame["last_purchase"].to_numpy()
    frame["recency_days"] = np.where(customer, end - last, np.nan)
    frame["tenure_days"] = np.where(customer, end - first, np.nan)
    frame["frequency"] = np.where(customer, frame["purchase_days"], np.nan)
    frame["monetary"] = np.where(customer, frame["revenue_net"], np.nan)
    for column in METRIC_COLUMNS:
        if column not in frame:
            frame[column] = np.nan
    frame = frame.astype({c: object for c in ("rfm_group", "lapse_reason_hu", "lapse_reason_en")})

    _rfm(frame, options)
    _rhythm(frame)
    if customer.any():
        _models(frame, frame.loc[customer], end, options, report)
    _lapse(frame, options, report)
    return frame


def _rfm(frame: pd.DataFrame, options: MetricsSettings) -> None:
    """Scores 1–5 and named groups for everyone (``no_purchase`` for partners without one)."""
    scores = rfm_scores(frame["recency_days"], frame["frequency"], frame["monetary"], options.rfm or RfmSettings())
    for column in ("r_score", "f_score", "m_score"):
        frame[column] = scores[column].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    frame["rfm_group"] = scores["rfm_group"].astype(object).to_numpy()


def _rhythm(frame: pd.DataFrame) -> None:
    ratio = rhythm.overdue(frame["recency_days"].to_numpy(np.float64), frame["typical_gap_days"].to_numpy(np.float64))
    frame["overdue_ratio"] = ratio.to_numpy(np.float64)


def _models(frame: pd.DataFrame, customers: pd.DataFrame, end: int, options: MetricsSettings, report: MetricsReport) -> None:
    """MBG/NBD on every customer, Gamma-Gamma on repeat buyers; time in weeks (days / 7)."""
    x = customers["purchase_days"].to_numpy() - 1
    t_x = (customers["last_purchase"].to_numpy() - customers["first_purchase"].to_numpy()) / WEEK
    T = (end - customers["first_purchase"].to_numpy()) / WEEK
    m = customers["repeat_value"].fillna(0.0).to_numpy()
    if len(customers) < options.min_customers:
        report.models["mbgnbd"] = {"fitted": False, "reason": f"{len(customers)} customers, fewer than {options.min_customers}"}
        return
    try:
        with np.errstate(all="ignore"):  # the optimiser's trial steps may overflow; the result is checked
            model = MBGNBD.fit(x, t_x, T, penalizer_coef=options.penalizer_coef)
    except (ArithmeticError, ValueError, RuntimeError) as exc:
        report.models["mbgnbd"] = {"fitted": False, "reason": str(exc)}
        return
    report.models["mbgnbd"] = {"fitted": True, "time_unit": "week", **_params(model)}
    index = customers.index
    frame.loc[index, "p_alive"] = model.probability_alive(x, t_x, T)
    frame.loc[index, "expected_purchases_90d"] = model.conditional_expected_purchases(options.horizon_days / WEEK, x, t_x, T)

    repeat = (x > 0) & (m > 0)
    if repeat.sum() < options.min_customers:
        report.models["gamma_gamma"] = {"fitted": False, "reason": f"{int(repeat.sum())} repeat buyers, fewer than {options.min_customers}"}
        return
    try:
        with np.errstate(all="ignore"):
            spend = GammaGamma.fit(x[repeat], m[repeat], penalizer_coef=options.penalizer_coef)
        value = spend.conditional_expected_average_profit(x, m)
        clv = spend.customer_lifetime_value(
            model, x, t_x, T, m, time_months=options.clv_months,
            discount_rate_monthly=options.discount_rate_monthly, periods_per_month=DAYS_PER_MONTH / WEEK,
        )  # fmt: skip
    except (ArithmeticError, ValueError, RuntimeError) as exc:
        report.models["gamma_gamma"] = {"fitted": False, "reason": str(exc)}
        return
    report.models["gamma_gamma"] = {"fitted": True, **_params(spend)}
    frame.loc[index, "expected_value"] = np.round(value, 4)
    frame.loc[index, "clv_12m"] = np.round(clv, 4)


def _params(model: Any) -> dict[str, float | None]:
    return {k: (None if not math.isfinite(v) else round(v, 10)) for k, v in asdict(model).items()}


def _lapse(frame: pd.DataFrame, options: MetricsSettings, report: MetricsReport) -> None:
    """The three lapse flags, the combined score and the reasons (partners without a purchase: never lapsed)."""
    last = frame["last_purchase"]
    inputs = pd.DataFrame(
        {
            "recency_days": frame["recency_days"],
            "purchase_days": frame["purchase_days"],
            "typical_gap_days": frame["typical_gap_days"],
            "p_alive": frame["p_alive"].astype(np.float64),
            "customer_group": frame["customer_group"],
            "last_purchase": _dates(last.to_numpy(np.float64)),
        },
        index=frame.index,
    )
    flags = lapse_flags(inputs, options.lapse or LapseSettings())
    bought = frame["purchase_days"].to_numpy() > 0
    for column in ("lapsed_rule", "lapsed_rhythm", "lapsed_model"):
        flag = flags[column].fillna(False).astype(bool).to_numpy()
        frame[column] = np.where(bought, flag, None)
        report.lapsed[column.removeprefix("lapsed_")] = int(flag[bought].sum())
    frame["lapse_score"] = flags["lapse_score"].astype(np.float64).to_numpy()
    for column in ("reason_hu", "reason_en"):
        frame[f"lapse_{column}"] = [text or None for text in flags[column]]


def _dates(days: np.ndarray) -> list[dt.date | None]:
    """Day numbers (days since 1970-01-01, NaN for none) as dates."""
    missing = np.isnan(days)
    cells = np.where(missing, 0, days).astype(np.int64).astype("datetime64[D]").astype(object)
    cells[missing] = None
    return cells.tolist()


# --- writing -------------------------------------------------------------------------------

_DATES = ("first_purchase", "last_purchase")
_INTS = ("quotes", "orders", "invoices", "credit_notes", "complaints", "purchase_days", "tenure_days", "recency_days", "frequency", "r_score", "f_score", "m_score")
_BOOLS = ("lapsed_rule", "lapsed_rhythm", "lapsed_model")
_TEXTS = ("rfm_group", "lapse_reason_hu", "lapse_reason_en")


def _rows(frame: pd.DataFrame, columns: list[str], extra: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Rows for the driver in ``columns`` order: plain Python values, None for missing ones."""
    values: dict[str, list[Any]] = {"partner_id": frame.index.to_numpy(np.int64).tolist()}
    for column in METRIC_COLUMNS:
        series = frame[column]
        if column in _DATES or column in _INTS or column not in (_BOOLS + _TEXTS):
            numbers = series.to_numpy(np.float64)
            missing = np.isnan(numbers)
            if column in _DATES:
                values[column] = _dates(numbers)
                continue
            if column in _INTS:
                cells = np.where(missing, 0, numbers).astype(np.int64).astype(object)
            else:
                cells = numbers.astype(object)
            cells[missing] = None
            values[column] = cells.tolist()
        elif column in _BOOLS:
            values[column] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else bool(v) for v in series]
        else:
            values[column] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in series]
    for name, value in extra.items():
        values[name] = [value] * len(frame)
    return list(zip(*(values[c] for c in columns)))


def _insert_sql(conn: Connection, table: sa.Table) -> tuple[str, list[str]]:
    """A positional INSERT of every column, and the column order its parameters take."""
    style = "qmark" if conn.dialect.name == "sqlite" else "format"
    compiled = sa.insert(table).values({c.name: sa.bindparam(c.name) for c in table.columns}).compile(dialect=type(conn.dialect)(paramstyle=style))
    return str(compiled), list(compiled.positiontup or ())


def _write(conn: Connection, frame: pd.DataFrame, source: str, as_of: dt.date, computed_at: dt.datetime) -> None:
    """Replace the current figures and the snapshot of ``as_of``; rows go straight to the driver."""
    conn.execute(sa.delete(partner_metrics))
    conn.execute(sa.delete(partner_metrics_history).where(partner_metrics_history.c.as_of == as_of))
    sql, columns = _insert_sql(conn, partner_metrics)
    _, history_columns = _insert_sql(conn, partner_metrics_history)
    if history_columns != columns:
        raise AssertionError("crm_partner_metrics and its history must list their columns alike")
    rows = _rows(frame, columns, {"source": source, "as_of": as_of, "computed_at": computed_at})
    for start in range(0, len(rows), 10_000):
        conn.exec_driver_sql(sql, rows[start : start + 10_000])
    # the snapshot is a copy of the rows just written, made by the database
    conn.execute(
        sa.insert(partner_metrics_history).from_select(columns, sa.select(*(partner_metrics.c[c] for c in columns)))
    )


# --- reading -------------------------------------------------------------------------------


def partner_figures(settings: Any, partner_key: str) -> dict[str, Any]:
    """A partner's current figures and the snapshots kept of them (``metrics show``)."""
    partner = SYNCED["partner"]
    engine = _engine(settings)
    try:
        with overlay_errors(engine.url), engine.connect() as conn:
            found = conn.execute(
                sa.select(partner.c.id, partner.c.name).where(partner.c.source == settings.erp.source, partner.c.erp_key == partner_key)
            ).first()
            if found is None:
                raise UserError(f"no partner with ERP key {partner_key!r} in source {settings.erp.source!r}")
            current = conn.execute(sa.select(partner_metrics).where(partner_metrics.c.partner_id == found.id)).mappings().first()
            h = partner_metrics_history
            trend = conn.execute(
                sa.select(h.c.as_of, h.c.recency_days, h.c.frequency, h.c.monetary, h.c.rfm_group, h.c.p_alive, h.c.lapse_score)
                .where(h.c.partner_id == found.id)
                .order_by(h.c.as_of)
            ).mappings().all()
    finally:
        engine.dispose()
    if current is None:
        raise UserError(f"no figures for partner {partner_key!r} yet: run `erp-crm metrics compute`")
    return {"partner": partner_key, "name": found.name, "metrics": dict(current), "history": [dict(r) for r in trend]}


def format_figures(figures: dict[str, Any]) -> str:
    lines = [f"{figures['partner']}  {figures['name']}"]
    for key, value in figures["metrics"].items():
        if key != "partner_id":
            lines.append(f"  {key:<24} {'' if value is None else value}")
    if figures["history"]:
        lines.append("  history:")
        for row in figures["history"]:
            lines.append("    " + "  ".join(f"{k}={'' if v is None else v}" for k, v in row.items()))
    return "\n".join(lines)


def format_report(report: MetricsReport) -> str:
    lines = [
        f"metrics as of {report.as_of} ({report.mode}): {report.partners} partners, {report.customers} customers, "
        f"{report.recomputed} aggregated again, {report.seconds:.2f} s"
    ]
    for name, model in report.models.items():
        if model.get("fitted"):
            params = ", ".join(f"{k}={v:.4g}" for k, v in model.items() if isinstance(v, float))
            lines.append(f"  {name}: {params}")
        else:
            lines.append(f"  {name}: not fitted ({model.get('reason')})")
    if report.lapsed:
        lines.append("  lapsed: " + ", ".join(f"{k} {v}" for k, v in report.lapsed.items()))
    return "\n".join(lines)
