"""`metrics compute` on a handmade overlay: figures worked out by hand, incremental == full.

The overlay rows are written directly (no ERP, no sync), so that every case is visible
here; changes after the first run tell the change feed what they changed, as the sync
does (tests/integration/test_metrics_sync.py runs the real sync): credit notes (stored negative, and one stored positive), cancelled and draft
documents, two invoices on one day, an invoice credited back on its own day, customers
with one purchase, rows dated after ``as_of``, rows and a partner deleted in the ERP.
Each test runs with a SQLite and a PostgreSQL overlay.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from erp_crm.metrics import compute, progress
from erp_crm.metrics.bgnbd import MBGNBD
from erp_crm.metrics.compute import compute_metrics
from erp_crm.metrics.rfm import rfm_scores
from erp_crm.model.tables.metrics import metrics_run, partner_metrics, partner_metrics_history
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.metrics import MetricsSection, RfmSection
from erp_crm.store import change_feed
from erp_crm.store.overlay import Overlay as OverlayDatabase
from tests.support.homes import make_home
from tests.support.terminal import stderr_is_a_terminal, terminal_lines

AS_OF = dt.date(2024, 6, 30)
OLD = dt.datetime(2024, 1, 1)  # when the handmade rows were "synced"
D = dt.date
OPTIONS = MetricsSection(min_customers=2)


class Overlay:
    def __init__(self, url: str) -> None:
        self.url = sa.engine.make_url(url)
        self.database = OverlayDatabase.open(self.url, at_head=False)
        self.database.upgrade()
        self.engine = self.database.engine
        self.ids: dict[tuple[str, str], int] = {}

    def add(self, entity: str, key: str, synced_at: dt.datetime = OLD, **values: Any) -> int:
        table = SYNCED[entity]
        for name in list(values):
            if name in ("partner", "quote", "invoice", "product"):
                values[f"{name}_id"] = self.ids[(name, values.pop(name))]
        with self.engine.begin() as conn:
            row_id = conn.execute(
                sa.insert(table).values(source="t", erp_key=key, row_hash="x", synced_at=synced_at, **values).returning(table.c.id)
            ).scalar_one()
            if synced_at != OLD:
                change_feed.record_rows(conn, entity, table.c.id == row_id, synced_at)
        self.ids[(entity, key)] = row_id
        return row_id

    def update(self, entity: str, key: str, **values: Any) -> None:
        table, now = SYNCED[entity], dt.datetime.now()
        with self.engine.begin() as conn:
            change_feed.record_rows(conn, entity, table.c.erp_key == key, now)  # the partners it belonged to
            conn.execute(sa.update(table).where(table.c.erp_key == key).values(synced_at=now, **values))
            change_feed.record_rows(conn, entity, table.c.erp_key == key, now)  # and belongs to now

    def metrics(self, table: sa.Table = partner_metrics, as_of: dt.date | None = None) -> dict[str, dict[str, Any]]:
        partner = SYNCED["partner"]
        query = sa.select(partner.c.erp_key, table).join(partner, partner.c.id == table.c.partner_id)
        if as_of is not None:
            query = query.where(table.c.as_of == as_of)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return {r["erp_key"]: {k: v for k, v in r.items() if k not in ("erp_key", "computed_at")} for r in rows}

    def compute(self, as_of: dt.date = AS_OF, full: bool = False) -> Any:
        return compute_metrics(self.database, OPTIONS, source="t", as_of=as_of, full=full)


def invoice(o: Overlay, key: str, partner: str, date: dt.date, amount: float, status: str = "posted", kind: str = "invoice", **extra: Any) -> None:
    o.add("invoice", key, partner=partner, date=date, amount_net=amount, status=status, kind=kind, **extra)


@pytest.fixture
def overlay(overlay_url: str) -> Overlay:
    return handmade(overlay_url)


def handmade(url: str) -> Overlay:
    """The overlay of the figures worked out by hand (`BY_HAND`)."""
    o = Overlay(url)
    o.add("partner", "alfa", name="Alfa Kft.", customer_group="retail")
    o.add("partner", "beta", name="Béta Bt.")
    o.add("partner", "gamma", name="Gamma Zrt.")
    o.add("partner", "delta", name="Delta Kft.", erp_deleted_at=OLD)
    o.add("partner", "eps", name="Epszilon Kft.")
    o.add("partner", "zeta", name="Zéta (prospect)")
    o.add("partner", "theta", name="Théta Kft.")
    o.add("product", "P", name="Csavar", kind="goods")
    o.add("product", "S", name="Szerviz", kind="service")

    # Alfa: two invoices on 10 Jan (one purchase day of 1500), one on 10 Mar, a credit
    # note of its own day; a cancelled, a draft, a deleted and a future invoice.
    invoice(o, "A1", "alfa", D(2024, 1, 10), 1000)
    invoice(o, "A2", "alfa", D(2024, 1, 10), 500, status="paid")
    invoice(o, "A3", "alfa", D(2024, 3, 10), 2000)
    invoice(o, "A4", "alfa", D(2024, 3, 20), -300, kind="credit_note")
    invoice(o, "A5", "alfa", D(2024, 4, 1), 9999, status="cancelled")
    invoice(o, "A6", "alfa", D(2024, 4, 2), 8888, status="draft")
    invoice(o, "A7", "alfa", D(2024, 5, 1), 700, erp_deleted_at=OLD)
    invoice(o, "A8", "alfa", D(2024, 7, 15), 800)
    o.add("invoice_line", "A3-1", invoice="A3", product="P", amount_net=1200)
    o.add("invoice_line", "A3-2", invoice="A3", product="S", amount_net=800)
    o.add("invoice_line", "A4-1", invoice="A4", product="S", amount_net=-300)
    o.add("invoice_line", "A3-3", invoice="A3", product="S", amount_net=5000, erp_deleted_at=OLD)
    o.add("invoice_line", "A5-1", invoice="A5", product="S", amount_net=9999)
    # quotes: sent, accepted, refused count; draft, cancelled and future ones do not
    o.add("quote", "Q1", partner="alfa", date=D(2024, 1, 1), status="sent")
    o.add("quote", "Q2", partner="alfa", date=D(2024, 2, 1), status="accepted")
    o.add("quote", "Q3", partner="alfa", date=D(2024, 2, 2), status="draft")
    o.add("quote", "Q4", partner="alfa", date=D(2024, 2, 3), status="cancelled")
    o.add("quote", "Q5", partner="alfa", date=D(2024, 5, 1), status="refused")
    o.add("quote", "Q6", partner="alfa", date=D(2024, 8, 1), status="sent")
    # orders: two count (from Q1 and Q2); a cancelled one from Q5 and a draft do not
    o.add("order", "O1", partner="alfa", date=D(2024, 1, 5), status="confirmed", amount_net=1500, quote="Q1")
    o.add("order", "O2", partner="alfa", date=D(2024, 3, 1), status="delivered", amount_net=2000, quote="Q2")
    o.add("order", "O3", partner="alfa", date=D(2024, 5, 2), status="cancelled", amount_net=100, quote="Q5")
    o.add("order", "O4", partner="alfa", date=D(2024, 5, 3), status="draft", amount_net=100)
    # tickets: one complaint counts; a question, a future and a deleted complaint do not
    o.add("ticket", "T1", partner="alfa", category="complaint", opened_at=dt.datetime(2024, 2, 1, 9))
    o.add("ticket", "T2", partner="alfa", category="question", opened_at=dt.datetime(2024, 2, 2, 9))
    o.add("ticket", "T3", partner="alfa", category="complaint", opened_at=dt.datetime(2024, 7, 1, 9))
    o.add("ticket", "T4", partner="alfa", category="complaint", opened_at=dt.datetime(2024, 3, 1, 9), erp_deleted_at=OLD)
    o.add("ticket", "T5", partner="alfa", category="complaint", opened_at=dt.datetime(2024, 6, 30, 23, 59))

    # Béta: one purchase
    invoice(o, "B1", "beta", D(2024, 6, 1), 400, status="paid")
    # Gamma: an invoice credited back the same day: no purchase at all; a quote
    invoice(o, "G1", "gamma", D(2024, 2, 15), 600)
    invoice(o, "G2", "gamma", D(2024, 2, 15), -600, kind="credit_note")
    o.add("quote", "Q7", partner="gamma", date=D(2024, 6, 1), status="sent")
    # Delta: deleted in the ERP, so no figures whatever it bought
    invoice(o, "D1", "delta", D(2024, 6, 1), 400)
    # Epszilon: three purchases 30 and 90 days apart; a credit note stored positive
    invoice(o, "E1", "eps", D(2024, 1, 1), 100)
    invoice(o, "E2", "eps", D(2024, 1, 31), 100)
    invoice(o, "E3", "eps", D(2024, 4, 30), 300)
    invoice(o, "E4", "eps", D(2024, 5, 5), 50, kind="credit_note")
    # Théta: only an invoice dated after as_of, synced long ago
    invoice(o, "H0", "theta", D(2024, 7, 10), 70)
    return o


ZERO = dict(quotes=0, orders=0, order_value=0.0, invoices=0, revenue_net=0.0, services_value=0.0, credit_notes=0,
            credit_note_value=0.0, complaints=0, quote_conversion=None, first_purchase=None, last_purchase=None,
            purchase_days=0, purchase_value=0.0, repeat_value=None, avg_order_value=None, tenure_days=None,
            recency_days=None, frequency=None, monetary=None, typical_gap_days=None, overdue_ratio=None,
            p_alive=None, expected_purchases_90d=None, expected_value=None, clv_12m=None)  # fmt: skip

BY_HAND = {
    "alfa": dict(
        quotes=3,
        orders=2,
        order_value=3500.0,
        invoices=3,
        revenue_net=3200.0,
        services_value=500.0,
        credit_notes=1,
        credit_note_value=300.0,
        complaints=2,
        quote_conversion=2 / 3,
        first_purchase=D(2024, 1, 10),
        last_purchase=D(2024, 3, 10),
        purchase_days=2,
        purchase_value=3500.0,
        repeat_value=2000.0,
        avg_order_value=1750.0,
        tenure_days=172,
        recency_days=112,
        frequency=2,
        longest_gap_days=60,
        monetary=3200.0,
        typical_gap_days=60.0,
        overdue_ratio=112 / 60,
    ),
    "beta": dict(
        invoices=1,
        revenue_net=400.0,
        first_purchase=D(2024, 6, 1),
        last_purchase=D(2024, 6, 1),
        purchase_days=1,
        purchase_value=400.0,
        avg_order_value=400.0,
        tenure_days=29,
        recency_days=29,
        frequency=1,
        monetary=400.0,
        longest_gap_days=0,
    ),
    "gamma": dict(quotes=1, quote_conversion=0.0, invoices=1, credit_notes=1, credit_note_value=600.0),
    "eps": dict(
        invoices=3,
        revenue_net=450.0,
        credit_notes=1,
        credit_note_value=50.0,
        first_purchase=D(2024, 1, 1),
        last_purchase=D(2024, 4, 30),
        purchase_days=3,
        purchase_value=500.0,
        repeat_value=200.0,
        avg_order_value=round(500 / 3, 4),
        tenure_days=181,
        recency_days=61,
        frequency=3,
        monetary=450.0,
        typical_gap_days=60.0,
        overdue_ratio=61 / 60,
    ),
    "zeta": {},
    "theta": {},
}
# (x, t_x, T) in weeks for alfa, beta, eps, worked out from the dates above
HISTORY = (np.array([1.0, 0.0, 2.0]), np.array([60, 0, 120]) / 7, np.array([172, 29, 181]) / 7)


def test_figures_match_the_ones_worked_out_by_hand(overlay: Overlay) -> None:
    report = overlay.compute()
    assert (report.mode, report.partners, report.customers) == ("full", 6, 3)
    got = overlay.metrics()
    assert set(got) == set(BY_HAND)  # the deleted partner has no row
    for key, figures in BY_HAND.items():
        expected = {**ZERO, **figures}
        row = got[key]
        for name, value in expected.items():
            if name in ("p_alive", "expected_purchases_90d", "expected_value", "clv_12m"):
                continue
            assert row[name] == pytest.approx(value) if isinstance(value, float) else row[name] == value, (key, name, row[name])
        assert row["as_of"] == AS_OF and row["source"] == "t"

    # the probabilistic figures: MBG/NBD fitted on three customers' (x, t_x, T) runs off to the edge of its
    # range (r in the millions, a near zero: "nobody ever leaves"), so it is not used and says why
    model = MBGNBD.fit(*HISTORY)
    assert model.a < 1e-4 and model.r > 1e4
    assert all(got[key]["p_alive"] is None and got[key]["clv_12m"] is None for key in BY_HAND)
    reason = report.models["mbgnbd"]["reason"]
    assert not report.models["mbgnbd"]["fitted"] and reason.startswith("fitted but not used: its parameters ran to the edge of their range (r = ")
    assert report.models["gamma_gamma"] == {"fitted": False, "reason": "the purchase model (mbgnbd) was not fitted, and a value over time needs it"}

    # RFM scores and groups as rfm_scores gives them on the hand-made figures
    keys = list(BY_HAND)
    recency = pd.Series([BY_HAND[k].get("recency_days", np.nan) for k in keys], dtype=float)
    frequency = pd.Series([BY_HAND[k].get("frequency", 0) for k in keys], dtype=float)
    monetary = pd.Series([BY_HAND[k].get("monetary", np.nan) for k in keys], dtype=float)
    scores = rfm_scores(recency, frequency, monetary, RfmSection())
    for i, key in enumerate(keys):
        assert got[key]["rfm_group"] == scores["rfm_group"][i]
        for column in ("r_score", "f_score", "m_score"):
            assert got[key][column] == (None if pd.isna(scores[column][i]) else int(scores[column][i]))

    # lapse: the 365-day rule shrinks to half the 181 days of history, so alfa, silent for 112 days, is lapsed by it;
    # too few customers to fit the lapse model on, so the score stands for rule and rhythm; prospects are never lapsed
    assert [got[k]["lapsed_rule"] for k in ("alfa", "beta", "eps")] == [True, False, False]
    assert [got[k]["lapsed_score"] for k in ("alfa", "beta", "eps")] == [True, False, False]
    assert report.models["lapse_model"] == {
        "fitted": False,
        "reason": "too few customers to fit the lapse model on (2 in history to 2024-05-01, outcome to 2024-06-30 (60 days); at least 100 are needed)",
        "history_start": "2024-01-01",
    }
    assert got["zeta"]["lapsed_rule"] is None and got["zeta"]["lapse_score"] is None


def test_the_same_as_of_gives_the_same_numbers_and_snapshots_are_kept(overlay: Overlay) -> None:
    overlay.compute(full=True)
    first = overlay.metrics()
    overlay.compute(as_of=D(2024, 7, 31), full=True)
    overlay.compute(full=True)
    assert overlay.metrics() == first
    assert overlay.metrics(partner_metrics_history, AS_OF) == first
    later = overlay.metrics(partner_metrics_history, D(2024, 7, 31))
    assert later["alfa"]["last_purchase"] == D(2024, 7, 15) and later["alfa"]["complaints"] == 3
    with overlay.engine.connect() as conn:
        dates = conn.execute(sa.select(partner_metrics_history.c.as_of).distinct().order_by(partner_metrics_history.c.as_of)).scalars().all()
        runs = conn.execute(sa.select(metrics_run.c.as_of, metrics_run.c.mode).order_by(metrics_run.c.id)).all()
    assert dates == [AS_OF, D(2024, 7, 31)]
    assert [tuple(r) for r in runs] == [(AS_OF, "full"), (D(2024, 7, 31), "full"), (AS_OF, "full")]


def test_incremental_gives_the_full_run_s_tables_after_changes(overlay: Overlay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compute, "WHOLE_SHARE", 1.0)  # aggregate only the changed partners, however many
    overlay.compute()
    # changes after the run: a new invoice, a deleted one, a new complaint, a new partner,
    # a quote turned into an order; and a later as_of brings in Alfa's invoice of 15 July
    # and Théta's of 10 July, which were synced long ago.
    invoice(overlay, "B2", "beta", D(2024, 7, 2), 250, synced_at=dt.datetime.now())
    overlay.update("invoice", "E2", erp_deleted_at=dt.datetime.now())
    overlay.add("ticket", "T9", synced_at=dt.datetime.now(), partner="beta", category="complaint", opened_at=dt.datetime(2024, 7, 3))
    overlay.add("partner", "eta", synced_at=dt.datetime.now(), name="Éta Kft.")
    invoice(overlay, "H1", "eta", D(2024, 7, 20), 90, synced_at=dt.datetime.now())
    overlay.add("order", "O9", synced_at=dt.datetime.now(), partner="gamma", date=D(2024, 7, 5), status="confirmed", amount_net=10, quote="Q7")

    later = D(2024, 7, 31)
    report = overlay.compute(as_of=later)
    assert report.mode == "incremental"
    assert report.recomputed == 6 and report.partners == 7  # zeta was left alone
    assert report.written == 7, "a new date moves everyone's recency"
    assert_incremental_equals_full(overlay, later)

    got = overlay.metrics()
    assert got["beta"]["purchase_days"] == 2 and got["beta"]["complaints"] == 1
    assert got["alfa"]["services_value"] == 500.0 and got["alfa"]["last_purchase"] == D(2024, 7, 15)
    assert got["eps"]["purchase_days"] == 2 and got["eps"]["typical_gap_days"] == 120.0
    assert got["eta"]["purchase_days"] == 1 and got["gamma"]["quote_conversion"] == 1.0
    assert got["theta"]["purchase_days"] == 1 and got["theta"]["revenue_net"] == 70.0  # only its date brought it in
    # the first as_of's snapshot is kept as it was
    assert overlay.metrics(partner_metrics_history, AS_OF)["eps"]["purchase_days"] == 3

    # A product turned into goods may change anyone's services: everyone is aggregated again.
    overlay.update("product", "S", kind="goods")
    report = overlay.compute(as_of=later)
    assert report.recomputed == 7
    assert_incremental_equals_full(overlay, later)
    assert overlay.metrics()["alfa"]["services_value"] == 0.0


def assert_incremental_equals_full(overlay: Overlay, as_of: dt.date) -> None:
    """The tables an incremental run just left are those a full run leaves."""
    incremental = overlay.metrics()
    incremental_history = overlay.metrics(partner_metrics_history, as_of)
    overlay.compute(as_of=as_of, full=True)
    assert overlay.metrics() == incremental
    assert overlay.metrics(partner_metrics_history, as_of) == incremental_history


def test_the_same_day_rewrites_only_the_rows_that_changed(overlay: Overlay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compute, "WHOLE_SHARE", 1.0)
    overlay.compute()
    assert overlay.compute().written == 0, "nothing changed: nothing written"
    invoice(overlay, "B2", "beta", D(2024, 6, 20), 250, synced_at=dt.datetime.now())  # Béta buys again
    overlay.update("invoice", "A3", partner_id=overlay.ids[("partner", "eps")])  # an invoice moved from Alfa to Epszilon
    overlay.update("partner", "zeta", erp_deleted_at=dt.datetime.now())  # a prospect deleted in the ERP
    report = overlay.compute()
    assert report.recomputed == report.written == 3, "the kept fit and RFM cut points leave everyone else's row as it was"
    assert report.partners == 5 and "zeta" not in overlay.metrics()
    assert_incremental_equals_full(overlay, AS_OF)
    got = overlay.metrics()
    assert got["alfa"]["purchase_days"] == 1 and got["alfa"]["services_value"] == -300.0
    assert got["eps"]["purchase_days"] == 4 and got["beta"]["purchase_days"] == 2


def test_an_earlier_as_of_is_computed_in_full(overlay: Overlay) -> None:
    overlay.compute()
    assert overlay.compute(as_of=D(2024, 2, 1)).mode == "full"
    got = overlay.metrics()
    assert got["alfa"]["purchase_days"] == 1 and got["alfa"]["invoices"] == 2 and got["eps"]["purchase_days"] == 2


def test_the_commands(overlay: Overlay, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from erp_crm.entrypoints.cli import cli
    from erp_crm.errors import UserError

    url = overlay.url.render_as_string(hide_password=False)
    home = make_home(tmp_path, overlay_url=url, extra={"erp": {"source": "t"}})
    run = CliRunner().invoke
    computed = run(cli, ["--home", str(home), "metrics", "compute", "--as-of", "2024-06-30", "--json"])
    assert computed.exit_code == 0, computed.output
    report = json.loads(computed.output)
    assert (report["as_of"], report["mode"], report["partners"], report["customers"], report["fitted"]) == ("2024-06-30", "full", 6, 3, True)
    assert report["models"]["mbgnbd"] == {"fitted": False, "reason": "3 customers, fewer than 20"}
    again = run(cli, ["--home", str(home), "metrics", "compute", "--as-of", "2024-06-30"])
    assert again.exit_code == 0 and again.output.startswith("metrics as of 2024-06-30 (incremental): 6 partners, 3 customers")
    assert "kept from the fit as of 2024-06-30" in again.output and "fitted now" not in again.output, "a same-day rerun kept the fit"
    full_again = run(cli, ["--home", str(home), "metrics", "compute", "--as-of", "2024-06-30", "--full"])
    assert "kept from the fit as of 2024-06-30" in full_again.output, "a full run keeps a fit that is still good too"
    refitted = run(cli, ["--home", str(home), "metrics", "compute", "--as-of", "2024-06-30", "--refit"])
    assert "models and RFM cut points: fitted now" in refitted.output
    shown = run(cli, ["--home", str(home), "metrics", "show", "alfa"])
    assert shown.exit_code == 0 and "recency_days             112" in shown.output and "as_of=2024-06-30" in shown.output
    missing = run(cli, ["--home", str(home), "metrics", "show", "nobody"])
    assert isinstance(missing.exception, UserError) and "no partner with ERP key 'nobody'" in str(missing.exception)


def test_progress_hears_each_phase_in_order_and_the_rows_written(overlay: Overlay) -> None:
    heard: list[tuple[str, int | None, int | None]] = []
    compute_metrics(overlay.database, OPTIONS, source="t", as_of=AS_OF, full=True, progress=lambda *call: heard.append(call))
    assert heard == [
        (progress.READING, None, None), (progress.DAY_TABLE, None, None), (progress.AGGREGATING, None, None),
        (progress.FITTING, None, None), (progress.FIGURES, None, None),
        (progress.WRITING, 0, 6), (progress.WRITING, 6, 6), (progress.SNAPSHOT, None, None),
    ]  # fmt: skip
    heard.clear()
    overlay.update("partner", "beta", name="Béta és Társa Bt.")
    compute_metrics(overlay.database, OPTIONS, source="t", as_of=AS_OF, progress=lambda *call: heard.append(call))
    assert heard == [
        (progress.CHANGES, None, None), (progress.AGGREGATING, None, None), (progress.FIGURES, None, None),
        (progress.WRITING, 0, 1), (progress.WRITING, 1, 1), (progress.SNAPSHOT, None, None),
    ], "a same-day run with the fit kept writes the changed partner's row alone"  # fmt: skip


def test_progress_is_shown_on_a_terminal_only_and_never_with_json(overlay: Overlay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from erp_crm.entrypoints.cli import cli

    home = make_home(tmp_path, overlay_url=overlay.url.render_as_string(hide_password=False), extra={"erp": {"source": "t"}})
    command = ["--home", str(home), "metrics", "compute", "--as-of", "2024-06-30"]
    run = CliRunner().invoke
    piped = run(cli, command)
    assert piped.exit_code == 0 and piped.stdout.startswith("metrics as of 2024-06-30") and piped.stderr == "", "stderr is not a terminal here"
    stderr_is_a_terminal(monkeypatch)
    shown = run(cli, [*command, "--full"])
    assert shown.exit_code == 0 and shown.stdout.startswith("metrics as of 2024-06-30 (full)")
    lines = terminal_lines(shown.stderr)
    assert [line.split("  ")[0].split(" [")[0] for line in lines] == ["reading purchases", "day table", "aggregates", "figures", "writing rows", "snapshot"]
    assert lines[4].endswith("100%            6 / 6")
    scripted = run(cli, [*command, "--json"])
    assert scripted.exit_code == 0 and scripted.stderr == ""
    assert json.loads(scripted.stdout)["partners"] == 6
