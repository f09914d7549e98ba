"""Incremental metrics after a real sync of Dolibarr-style changes equal a full run.

The demo ERP (Dolibarr layout, SQLite) is synced with connectors/dolibarr.yaml, the
metrics computed, and then the ERP changes the ways an ERP does: a new invoice with its
lines, an invoice moved to another customer, a line deleted, a customer's group changed,
an order placed by one customer on another customer's quote. After an incremental sync,
the incremental metrics run must leave exactly the tables a full run leaves, on the same
day (only the changed rows written) and on the next (every row written). SQLite and
PostgreSQL overlays.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erp_crm.demo import build_demo_erp
from erp_crm.model.tables.feed import partner_change
from erp_crm.model.tables.metrics import partner_metrics, partner_metrics_history
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.root import Settings, load_settings
from tests.integration.test_dolibarr_mariadb import DEFINITION
from tests.support.homes import make_home
from tests.support.services import overlay_engine, run_metrics, run_sync, upgrade

TODAY = dt.date(2025, 3, 10)
NOW = "2025-03-10 09:00:00"


@pytest.fixture
def synced(tmp_path: Path, overlay_url: str) -> tuple[Path, Settings]:
    erp = tmp_path / "demo_erp.sqlite"
    build_demo_erp(erp, customers=120, years=2, seed=9, today=TODAY)
    settings = load_settings(make_home(tmp_path, erp_url=f"sqlite:///{erp}", connector=str(DEFINITION), overlay_url=overlay_url), environ={})
    engine = overlay_engine(settings.overlay.full_url())
    upgrade(engine)
    run_sync(settings, mode="full")
    with engine.begin() as conn:  # as if the first load had been yesterday, not seconds before the metrics
        conn.execute(sa.update(partner_change).values(changed_at=partner_change.c.changed_at - dt.timedelta(days=1)))
    engine.dispose()
    return erp, settings


def tables(settings: Settings, as_of: dt.date) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Current figures and the snapshot of `as_of`, by partner ERP key (computed_at left out)."""
    partner = SYNCED["partner"]
    engine = overlay_engine(settings.overlay.full_url())
    out = []
    with engine.connect() as conn:
        for table, where in ((partner_metrics, sa.true()), (partner_metrics_history, partner_metrics_history.c.as_of == as_of)):
            rows = conn.execute(sa.select(partner.c.erp_key, table).join(partner, partner.c.id == table.c.partner_id).where(where)).mappings()
            out.append({r["erp_key"]: {k: v for k, v in r.items() if k not in ("erp_key", "computed_at")} for r in rows})
    engine.dispose()
    return out[0], out[1]


def change_the_erp(erp: Path) -> dict[str, str]:
    """Dolibarr-style changes; returns the customers (ERP keys) each one touched."""
    db = sqlite3.connect(erp)
    touched = {}
    invoices = db.execute("SELECT rowid, fk_soc FROM llx_facture WHERE type = 0 AND fk_statut IN (1, 2) ORDER BY rowid").fetchall()
    # a new invoice with its lines, a copy of an old one, dated today
    (source, buyer) = invoices[0]
    columns = [r[1] for r in db.execute("PRAGMA table_info(llx_facture)")]
    row = dict(zip(columns, db.execute("SELECT * FROM llx_facture WHERE rowid = ?", (source,)).fetchone()))
    new_id = db.execute("SELECT MAX(rowid) + 1 FROM llx_facture").fetchone()[0]
    row.update(rowid=new_id, ref="FA2503-9999", datef=TODAY.isoformat(), tms=NOW, datec=NOW)
    db.execute(f"INSERT INTO llx_facture ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", [row[c] for c in columns])
    line_id = db.execute("SELECT MAX(rowid) FROM llx_facturedet").fetchone()[0]
    for (rowid,) in db.execute("SELECT rowid FROM llx_facturedet WHERE fk_facture = ?", (source,)).fetchall():
        line_id += 1
        db.execute(
            "INSERT INTO llx_facturedet SELECT ?, ?, " + ", ".join(_line_columns(db)[2:]) + " FROM llx_facturedet WHERE rowid = ?", (line_id, new_id, rowid)
        )
    touched["new invoice"] = str(buyer)
    # an invoice moved to another customer
    moved, old_owner = invoices[5]
    new_owner = next(soc for _, soc in invoices if soc not in (old_owner, buyer))
    db.execute("UPDATE llx_facture SET fk_soc = ?, tms = ? WHERE rowid = ?", (new_owner, NOW, moved))
    touched["moved from"], touched["moved to"] = str(old_owner), str(new_owner)
    # a line deleted; Dolibarr stamps the invoice
    edited, owner = next((i, s) for i, s in invoices[10:] if db.execute("SELECT COUNT(*) FROM llx_facturedet WHERE fk_facture = ?", (i,)).fetchone()[0] > 1)
    db.execute("DELETE FROM llx_facturedet WHERE rowid = (SELECT MIN(rowid) FROM llx_facturedet WHERE fk_facture = ?)", (edited,))
    db.execute("UPDATE llx_facture SET tms = ? WHERE rowid = ?", (NOW, edited))
    touched["line deleted"] = str(owner)
    # another customer's group changes
    regrouped = next(soc for _, soc in reversed(invoices) if str(soc) not in touched.values())
    db.execute("UPDATE llx_societe SET fk_typent = CASE fk_typent WHEN 8 THEN 4 ELSE 8 END, tms = ? WHERE rowid = ?", (NOW, regrouped))
    touched["regrouped"] = str(regrouped)
    # an order by one customer on another customer's quote that no order converted yet
    quote, quoter = db.execute(
        "SELECT p.rowid, p.fk_soc FROM llx_propal p WHERE p.fk_statut IN (1, 2) AND NOT EXISTS"
        " (SELECT 1 FROM llx_element_element e WHERE e.fk_source = p.rowid AND e.sourcetype = 'propal') ORDER BY p.rowid LIMIT 1"
    ).fetchone()
    orderer = next(soc for _, soc in invoices if soc != quoter)
    order_id = db.execute("SELECT MAX(rowid) + 1 FROM llx_commande").fetchone()[0]
    db.execute(
        "INSERT INTO llx_commande (rowid, ref, entity, fk_soc, tms, date_creation, date_commande, fk_statut, total_ht, total_tva, total_ttc, multicurrency_code)"
        " VALUES (?, 'CO2503-9999', 1, ?, ?, ?, ?, 1, 1000, 270, 1270, 'HUF')",
        (order_id, orderer, NOW, NOW, TODAY.isoformat()),
    )
    db.execute("INSERT INTO llx_element_element (fk_source, sourcetype, fk_target, targettype) VALUES (?, 'propal', ?, 'commande')", (quote, order_id))
    touched["quote converted"], touched["ordered"] = str(quoter), str(orderer)
    db.commit()
    db.close()
    return touched


def _line_columns(db: sqlite3.Connection) -> list[str]:
    return [r[1] for r in db.execute("PRAGMA table_info(llx_facturedet)")]


def test_incremental_metrics_after_a_sync_equal_a_full_run(synced: tuple[Path, Settings]) -> None:
    erp, settings = synced
    first = run_metrics(settings, as_of=TODAY, full=True)
    assert first.models["lapse_model"]["fitted"], "the lapse model scores and flags in both runs compared below"
    before, _ = tables(settings, TODAY)
    touched = change_the_erp(erp)
    run_sync(settings)

    report = run_metrics(settings, as_of=TODAY)
    assert report.mode == "incremental"
    # every touched customer's row is written; all but the regrouped one were aggregated again
    assert report.written == len(set(touched.values())) and report.recomputed == report.written - 1, (report, touched)
    incremental = tables(settings, TODAY)
    full = run_metrics(settings, as_of=TODAY, full=True)
    assert full.written == full.partners > report.written
    assert tables(settings, TODAY) == incremental

    after = incremental[0]
    assert after[touched["new invoice"]]["invoices"] == before[touched["new invoice"]]["invoices"] + 1
    assert after[touched["moved from"]]["invoices"] == before[touched["moved from"]]["invoices"] - 1
    assert after[touched["moved to"]]["invoices"] == before[touched["moved to"]]["invoices"] + 1
    assert after[touched["quote converted"]]["quote_conversion"] > before[touched["quote converted"]]["quote_conversion"]
    changed = {key for key in after if after[key] != before[key]}
    assert changed <= set(touched.values()), "nobody else's figures moved"

    nxt = TODAY + dt.timedelta(days=1)
    report = run_metrics(settings, as_of=nxt)
    # the sync's changes are still inside the change margin, so they are aggregated again
    assert report.mode == "incremental" and report.recomputed <= len(set(touched.values())) and report.written == report.partners
    incremental = tables(settings, nxt)
    run_metrics(settings, as_of=nxt, full=True)
    assert tables(settings, nxt) == incremental


def test_evaluate_on_the_overlay_s_own_history(synced: tuple[Path, Settings]) -> None:
    from click.testing import CliRunner

    from erp_crm.entrypoints.cli import cli

    _, settings = synced
    run = CliRunner().invoke
    home = ["--home", str(settings.home)]
    result = run(cli, [*home, "metrics", "evaluate", "--cutoff", "2024-09-10", "--horizon", "180", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["customers"] > 50 and 0 < report["lapsed_share"] < 1
    scores = {s["name"]: s["auc"] for s in report["scores"]}
    assert scores["hand-weighted score (without a model)"] > 0.5 and scores["days since last purchase"] > 0.5
    # about 90 customers before the earlier period: too few to fit the lapse model on, which its row says
    notes = {s["name"]: s["note"] for s in report["scores"]}
    assert scores["lapse score (history model, fitted before)"] is None
    assert notes["lapse score (history model, fitted before)"].startswith("too few customers to fit the lapse model on (")
    assert "calibration" in report
    text = run(cli, [*home, "metrics", "evaluate", "--cutoff", "2024-09-10", "--horizon", "180"])
    assert text.exit_code == 0 and "lapse score (history model" in text.output and "hand-weighted score's weights" in text.output
    late = run(cli, [*home, "metrics", "evaluate", "--cutoff", dt.date.today().isoformat()])
    assert late.exit_code != 0 and "after today" in str(late.exception or late.output)
