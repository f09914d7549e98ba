"""The sync engine against real databases: incremental runs, lookback, deletes, quarantine.

The ERP here is the small Dolibarr-like SQLite file of tests/support/mini_erp.py,
written row by row, so every case can say exactly which row changed and what the
overlay must then hold.  Each test runs
twice: with a SQLite overlay and with a PostgreSQL one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from erp_crm.entrypoints.cli import cli
from erp_crm.model.tables.sync import sync_run
from erp_crm.settings.root import Settings
from erp_crm.sync.engine import RunReport
from tests.support.mini_erp import MiniErp, mini_settings, overlay_rows, quarantined
from tests.support.services import compare, overlay_engine, run_sync


@pytest.fixture
def setup(tmp_path: Path, overlay_url: str) -> tuple[MiniErp, Settings]:
    erp = MiniErp(f"sqlite:///{tmp_path / 'erp.sqlite'}")
    return erp, mini_settings(tmp_path, overlay_url, erp_url=erp.url)


def counts(report: RunReport, entity: str) -> tuple[int, int, int, int, int]:
    c = report.entities[entity]
    return c.inserted, c.updated, c.unchanged, c.quarantined, c.deleted


def test_full_sync_copies_what_passes_the_filters(setup: tuple[MiniErp, Settings]) -> None:
    _, settings = setup
    report = run_sync(settings, mode="full")
    assert counts(report, "invoice") == (2, 0, 0, 0, 0)
    invoices = overlay_rows(settings, "invoice", "number", "kind", "amount_net", "partner_id")
    assert {k: v[:3] for k, v in invoices.items()} == {"1": ("F1", "invoice", 1000), "2": ("F2", "credit_note", -500)}
    assert all(v[3] is not None for v in invoices.values())
    lines = overlay_rows(settings, "invoice_line", "invoice_key", "product_key", "product_id")
    assert set(lines) == {"1", "2", "3"}, "the draft invoice's line must not be read"
    assert all(v[2] is not None for v in lines.values())
    assert all(c.complete for c in compare(settings))
    assert quarantined(settings) == {}


def test_incremental_reads_only_changes_and_rewrites_only_changed_rows(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    run_sync(settings, mode="full")
    erp.run("update soc set nom = 'Alfa Zrt.', tms = '2024-03-01 10:00:00' where rowid = 1")
    erp.run("insert into fac values (4, 2, '2024-03-02', 'F4', 0, 99, 1, '2024-03-02 10:00:00')")
    erp.run("insert into facdet values (5, 4, 'S1', 99, 'new')")
    report = run_sync(settings)
    # Partner 2 sits at the old cursor, so the lookback reads it again: compared, not rewritten.
    assert counts(report, "partner") == (0, 1, 1, 0, 0)
    assert counts(report, "invoice") == (1, 0, 1, 0, 0)  # invoice 2 sits at the cursor too
    assert counts(report, "invoice_line") == (1, 0, 1, 0, 0)  # the lines of invoices 2 and 4
    assert overlay_rows(settings, "partner", "name")["1"] == ("Alfa Zrt.",)
    again = run_sync(settings)
    assert again.entities["invoice"].inserted == again.entities["invoice"].updated == 0


def test_lookback_catches_late_commits_and_reconcile_catches_the_rest(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    run_sync(settings, mode="full")  # invoice cursor: 2024-02-02 10:00:00, the newest invoice the filter keeps
    # Committed late, stamped 5 minutes before the cursor: inside the 10-minute lookback.
    erp.run("update fac set total_ht = 1001, tms = '2024-02-02 09:55:00' where rowid = 1")
    # Stamped an hour before the cursor (a lying change column): only reconciliation sees it.
    erp.run("update fac set total_ht = -501, tms = '2024-02-02 09:00:00' where rowid = 2")
    report = run_sync(settings)
    assert report.entities["invoice"].updated == 1
    assert overlay_rows(settings, "invoice", "amount_net") == {"1": (1001,), "2": (-500,)}
    report = run_sync(settings, mode="reconcile")
    assert report.entities["invoice"].updated == 1
    assert overlay_rows(settings, "invoice", "amount_net") == {"1": (1001,), "2": (-501,)}


def test_deletes_lines_through_their_parent_and_documents_by_reconciliation(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    run_sync(settings, mode="full")
    erp.run("delete from facdet where rowid = 2")
    erp.run("update fac set total_ht = 600, tms = '2024-04-01 10:00:00' where rowid = 1")
    report = run_sync(settings)
    assert report.entities["invoice_line"].deleted == 1
    assert set(overlay_rows(settings, "invoice_line")) == {"1", "3"}

    erp.run("delete from facdet where fk_facture = 2")
    erp.run("delete from fac where rowid = 2")
    assert run_sync(settings).entities["invoice"].deleted == 0  # an incremental run cannot see deletes
    report = run_sync(settings, mode="reconcile")
    assert report.entities["invoice"].deleted == 1 and report.entities["invoice_line"].deleted == 1
    assert set(overlay_rows(settings, "invoice")) == {"1"}

    erp.run("insert into fac values (2, 2, '2024-02-02', 'F2', 2, -500, 1, '2024-05-01 10:00:00')")
    run_sync(settings)
    assert set(overlay_rows(settings, "invoice")) == {"1", "2"}, "a row back in the ERP is live again"
    assert all(c.complete for c in compare(settings))


def test_bad_rows_go_to_quarantine_and_good_rows_are_synced(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    erp.run("insert into prod values (NULL, 'no key', 0)")
    erp.run("insert into fac values (10, 99, '2024-02-05', 'F10', 0, 5, 1, '2024-02-05 10:00:00')")  # unknown partner
    erp.run("insert into fac values (11, 1, '2024-13-45', 'F11', 0, 5, 1, '2024-02-05 10:00:00')")  # impossible date
    erp.run("insert into fac values (12, 1, '2024-02-05', 'F12', 0, 'sok', 1, '2024-02-05 10:00:00')")  # amount is text
    erp.run("insert into fac values (13, 1, '2024-02-05', CAST(X'4B6F76E1637300' AS TEXT), 0, 5, 1, '2024-02-05 10:00:00')")  # latin-2 bytes
    erp.run("insert into facdet values (20, 10, 'P1', 5, 'line of a quarantined invoice')")
    report = run_sync(settings, mode="full")
    held = quarantined(settings)
    keyless = [key for entity, key in held if entity == "product"]
    assert len(keyless) == 1 and keyless[0].startswith("(no key) ")
    assert held[("product", keyless[0])].startswith("key: the row has no key (ref is empty)")
    assert held[("invoice", "10")].startswith("partner: unknown partner '99'")
    assert held[("invoice", "11")].startswith("date: not a date ('2024-13-45')")
    assert held[("invoice", "12")].startswith("amount_net: not a number ('sok')")
    assert "number: text has bytes that are not valid UTF-8" in held[("invoice", "13")]
    assert held[("invoice_line", "20")].startswith("invoice: unknown invoice '10'")
    assert report.entities["invoice"].quarantined == 4
    assert set(overlay_rows(settings, "invoice")) == {"1", "2"}
    assert set(overlay_rows(settings, "product")) == {"P1", "S1"}
    assert all(c.complete for c in compare(settings)), "every ERP row is in the overlay or in quarantine"


def test_fixed_rows_leave_quarantine_on_the_next_run(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    erp.run("insert into fac values (10, 99, '2024-02-05', 'F10', 0, 5, 1, '2024-01-01 00:00:00')")
    erp.run("insert into fac values (11, 1, 'soon', 'F11', 0, 5, 1, '2024-01-01 00:00:00')")
    erp.run("insert into facdet values (20, 10, 'P1', 5, 'x')")
    run_sync(settings, mode="full")
    assert set(quarantined(settings)) == {("invoice", "10"), ("invoice", "11"), ("invoice_line", "20")}
    # The partner arrives and the date is corrected, without touching the invoices' old change stamps.
    erp.run("insert into soc values (99, 'Late Partner Bt.', '2024-06-01 10:00:00')")
    erp.run("update fac set datef = '2024-02-05' where rowid = 11")
    report = run_sync(settings)
    assert quarantined(settings) == {}
    assert report.entities["invoice"].inserted == 2 and report.entities["invoice_line"].inserted == 1
    assert set(overlay_rows(settings, "invoice")) == {"1", "2", "10", "11"}


def test_rows_whose_problem_persists_stay_quarantined_once(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    erp.run("insert into fac values (11, 1, 'soon', 'F11', 0, 5, 1, '2024-02-03 10:00:00')")
    run_sync(settings, mode="full")
    report = run_sync(settings)
    assert report.entities["invoice"].quarantined == 1, "read once by the lookback, not again by the retry"
    assert list(quarantined(settings)) == [("invoice", "11")]


def test_optional_references_resolve_when_their_row_arrives(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    erp.run("insert into facdet values (30, 1, 'NEW', 1, 'not yet a product')")
    erp.run("update fac set tms = '2024-05-01 00:00:00' where rowid = 1")
    run_sync(settings, mode="full")
    assert overlay_rows(settings, "invoice_line", "product_key", "product_id")["30"] == ("NEW", None)
    erp.run("insert into prod values ('NEW', 'Új termék', 0)")
    run_sync(settings)
    assert overlay_rows(settings, "invoice_line", "product_id")["30"][0] is not None


def test_one_entity_at_a_time(setup: tuple[MiniErp, Settings]) -> None:
    _, settings = setup
    report = run_sync(settings, entities=["partner"])
    assert list(report.entities) == ["partner"]


def test_query_sources_bind_params_and_sqlite_has_concat(tmp_path: Path) -> None:
    erp = MiniErp(f"sqlite:///{tmp_path / 'erp.sqlite'}")
    settings = mini_settings(tmp_path, erp_url=erp.url)
    path = settings.home / "connectors" / "mini.yaml"
    text = path.read_text().replace("    table: soc\n", '    query: "SELECT rowid, CONCAT(nom, \' (\', rowid, \')\') AS nom, tms FROM soc WHERE rowid >= :first"\n')
    path.write_text("params: {first: 2}\n" + text)
    run_sync(settings, mode="full", entities=["partner"])
    assert overlay_rows(settings, "partner", "name") == {"2": ("Kovács Anna (2)",)}


def test_a_run_killed_before_it_could_finish_is_marked_interrupted(setup: tuple[MiniErp, Settings]) -> None:
    _, settings = setup
    run_sync(settings)
    engine = overlay_engine(settings.overlay.full_url())
    with engine.begin() as conn:
        conn.execute(sa.update(sync_run).values(status="running", finished_at=None))  # as a SIGKILL leaves it
    report = run_sync(settings)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(sync_run.c.id, sync_run.c.status)).all())
    engine.dispose()
    assert rows[report.run_id] == "ok"
    assert set(rows.values()) == {"ok", "interrupted"}


def test_many_quarantined_rows_are_retried_page_by_page(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    settings = settings.model_copy(update={"erp": settings.erp.model_copy(update={"batch_size": 500})})
    values = ", ".join(f"({n}, 77, '2024-02-05', 'F{n}', 0, 1, 1, '2024-01-01 00:00:00')" for n in range(100, 1300))
    erp.run(f"insert into fac values {values}")
    run_sync(settings, mode="full")
    assert len(quarantined(settings)) == 1200
    listed = CliRunner().invoke(cli, ["--home", str(settings.home), "sync", "quarantine", "--limit", "3"])
    assert listed.exit_code == 0 and listed.stdout.count("\n    since ") == 3
    assert listed.stderr.strip() == "note: showing 3 of 1,200 quarantined rows: raise --limit, or list one --entity"
    one = CliRunner().invoke(cli, ["--home", str(settings.home), "sync", "quarantine", "--entity", "invoice", "--limit", "1200", "--json"])
    assert len(json.loads(one.stdout)) == 1200 and one.stderr == "", "all of them: nothing more to say"
    erp.run("insert into soc values (77, 'Megérkezett Kft.', '2024-06-01 10:00:00')")
    report = run_sync(settings)
    assert report.entities["invoice"].inserted == 1200 and report.entities["invoice"].quarantined == 0
    assert quarantined(settings) == {}
