"""Keys that are not unique, rows without a key, rows the ERP deleted, and a resumed run: nothing silent.

Rows that share a key are all quarantined (the overlay cannot tell which one the key
means), wherever they are read: side by side in key order, across a batch or a keyed page,
in different documents read in different chunks, or one changed and one not. Rows
without a key keep one quarantine entry each however often they are met. An entity read
whole on every run marks what the ERP no longer has. A run that resumes an interrupted
one ends up to date. SQLite and PostgreSQL overlays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erp_crm.model.tables.sync import sync_state
from erp_crm.settings.root import Settings, load_settings
from erp_crm.sync import engine
from erp_crm.sync.check import check_connector
from tests.support.mini_erp import CONNECTOR, MiniErp, mini_settings, overlay_rows, quarantined
from tests.support.services import compare, overlay_engine, run_sync


@pytest.fixture
def setup(tmp_path: Path, overlay_url: str) -> tuple[MiniErp, Settings]:
    erp = MiniErp(f"sqlite:///{tmp_path / 'erp.sqlite'}")
    return erp, mini_settings(tmp_path, overlay_url, erp_url=erp.url)


def with_connector(settings: Settings, old: str, new: str) -> Settings:
    """The same home with one change to its connector definition."""
    path = settings.home / "connectors" / "mini.yaml"
    assert old in CONNECTOR
    path.write_text(CONNECTOR.replace(old, new), encoding="utf-8")
    return load_settings(settings.home, environ={})


def entries(settings: Settings, entity: str) -> dict[str, str]:
    """Quarantine entries of one entity: key → reason."""
    return {key: reason for (e, key), reason in quarantined(settings).items() if e == entity}


def test_rows_sharing_a_key_are_all_quarantined_even_across_a_batch(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    # products are read in key order two at a time: P1 Q1 | Q1 S1, so the shared key spans two batches
    erp.run("insert into prod values ('Q1', 'Alátét', 0), ('Q1', 'Anya', 0)")
    report = run_sync(settings, mode="full")
    assert set(overlay_rows(settings, "product")) == {"P1", "S1"}
    held = entries(settings, "product")
    assert set(held) == {"Q1", "Q1 (row 2 of 2)"}
    assert all("key 'Q1' is not unique: 2 rows of the ERP share it" in reason for reason in held.values())
    counts = report.entities["product"]
    assert (counts.read, counts.quarantined, counts.shared_keys) == (4, 2, 2)
    assert all(c.complete for c in compare(settings)), "every ERP row is in the overlay or in quarantine"
    again = run_sync(settings)  # the product table has no change column: it is read whole again
    assert set(entries(settings, "product")) == {"Q1", "Q1 (row 2 of 2)"}
    assert again.entities["product"].shared_keys == 2
    erp.run("update prod set ref = 'Q2' where label = 'Anya'")  # fixed in the ERP
    run_sync(settings)
    assert set(overlay_rows(settings, "product")) == {"P1", "Q1", "Q2", "S1"} and entries(settings, "product") == {}


def test_a_row_that_gains_another_rows_key_takes_both_out(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    run_sync(settings, mode="full")
    assert "P1" in overlay_rows(settings, "product")
    erp.run("insert into prod values ('P1', 'Csavar, másik', 0)")
    report = run_sync(settings)
    assert "P1" not in overlay_rows(settings, "product"), "the overlay cannot tell which P1 it holds"
    assert set(entries(settings, "product")) == {"P1", "P1 (row 2 of 2)"}
    assert report.entities["product"].deleted == 1


def test_lines_keyed_by_their_document_are_quarantined_not_collapsed(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    erp.run("insert into facdet values (5, 1, 'P1', 1, 'third line of F1')")
    settings = with_connector(settings, "    key: rowid\n    fields:\n      invoice: fk_facture", "    key: fk_facture\n    fields:\n      invoice: fk_facture")
    report = run_sync(settings, mode="full")
    lines = report.entities["invoice_line"]
    assert set(overlay_rows(settings, "invoice_line")) == {"2"}, "invoice 2 has one line; invoice 1's three share key 1"
    assert (lines.read, lines.inserted, lines.quarantined, lines.shared_keys) == (4, 1, 3, 3)
    assert all(c.complete for c in compare(settings))


@pytest.mark.parametrize("first_load", [True, False], ids=["first-load", "incremental"])
def test_line_keys_repeating_in_other_documents_are_found(setup: tuple[MiniErp, Settings], monkeypatch: pytest.MonkeyPatch, first_load: bool) -> None:
    erp, settings = setup
    monkeypatch.setattr(engine, "PARENT_CHUNK", 1)  # each document's lines in a query of their own
    settings = with_connector(settings, "    key: rowid\n    fields:\n      invoice: fk_facture", "    key: descr\n    fields:\n      invoice: fk_facture")
    if not first_load:
        run_sync(settings, mode="full")
        assert set(overlay_rows(settings, "invoice_line")) == {"a", "b", "c"}
    erp.run("insert into fac values (20, 2, '2024-03-01', 'F20', 0, 10, 1, '2099-01-01 00:00:00')")
    erp.run("insert into facdet values (30, 20, 'P1', 10, 'a')")  # the line key 'a' of invoice 1 again
    run_sync(settings, mode="full" if first_load else "incremental")
    assert set(overlay_rows(settings, "invoice_line")) == {"b", "c"}
    assert set(entries(settings, "invoice_line")) == {"a", "a (row 2 of 2)"}
    assert all(c.complete for c in compare(settings))


@pytest.mark.parametrize("first_load", [True, False], ids=["first-load", "incremental"])
def test_a_line_key_shared_only_with_a_line_of_a_dropped_document_is_not_shared(setup: tuple[MiniErp, Settings], first_load: bool) -> None:
    """The draft's lines are never read, so its line 'a' takes nothing from invoice 1's."""
    erp, settings = setup
    settings = with_connector(settings, "    key: rowid\n    fields:\n      invoice: fk_facture", "    key: descr\n    fields:\n      invoice: fk_facture")
    if not first_load:
        run_sync(settings, mode="full")
    erp.run("insert into facdet values (31, 3, 'P1', 5, 'a')")  # invoice 3 is a draft (statut 0)
    erp.run("update fac set total_ht = 1001, tms = '2099-01-02 00:00:00' where rowid = 1")  # invoice 1's lines are read again
    run_sync(settings, mode="full" if first_load else "incremental")
    assert set(overlay_rows(settings, "invoice_line")) == {"a", "b", "c"}
    assert entries(settings, "invoice_line") == {}


def test_composite_key_parts_holding_the_separator_are_quarantined_apart(setup: tuple[MiniErp, Settings]) -> None:
    """('a|b', 'c') and ('a', 'b|c') would both be stored as 'a|b|c': one would overwrite the other."""
    erp, settings = setup
    settings = with_connector(settings, "    key: ref\n", "    key: [ref, label]\n")
    erp.run("insert into prod values ('a|b', 'c', 0), ('a', 'b|c', 0)")
    for _ in range(2):
        run_sync(settings, mode="full")
    assert set(overlay_rows(settings, "product")) == {"P1|Csavar", "S1|Szerviz"}
    held = entries(settings, "product")
    assert set(held) == {"('a|b', 'c')", "('a', 'b|c')"}, held
    assert all("may not hold '|'" in reason for reason in held.values())
    assert all(c.complete for c in compare(settings))


def test_keyed_pages_never_skip_the_rest_of_a_shared_key(tmp_path: Path, odbc_driver: Any) -> None:
    from tests.support.odbc import SQLITE_DRIVER, odbc_connection_string

    odbc_driver(SQLITE_DRIVER)
    erp = MiniErp(f"sqlite:///{tmp_path / 'erp.sqlite'}")
    erp.run("insert into prod values ('Q1', 'a', 0), ('Q1', 'b', 0), ('Q1', 'c', 0), (NULL, 'no key', 0)")
    settings = mini_settings(tmp_path, odbc=odbc_connection_string(erp.url), dialect="sqlite")
    run_sync(settings, mode="full")  # pages of two: P1 Q1 | Q1 Q1 | S1, and the row without a key once
    held = entries(settings, "product")
    assert {k for k in held if k.startswith("Q1")} == {"Q1", "Q1 (row 2 of 3)", "Q1 (row 3 of 3)"}
    assert sum(k.startswith("(no key)") for k in held) == 1
    assert set(overlay_rows(settings, "product")) == {"P1", "S1"}


def test_rows_without_a_key_keep_one_entry_each_however_often_they_are_met(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    erp.run("insert into prod values (NULL, 'no key', 0), (NULL, 'no key', 0), (NULL, 'other', 1)")
    for _ in range(4):
        run_sync(settings)
    keyless = [k for k in entries(settings, "product") if k.startswith("(no key)")]
    assert len(keyless) == 3, keyless
    assert all(c.complete for c in compare(settings))


def test_an_entity_read_whole_marks_what_the_erp_deleted_in_the_same_run(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    run_sync(settings, mode="full")
    erp.run("delete from prod where ref = 'S1'")
    report = run_sync(settings)  # products have no change column: every incremental run reads them whole
    assert set(overlay_rows(settings, "product")) == {"P1"}
    assert report.entities["product"].deleted == 1


def test_a_resumed_run_reads_what_changed_while_it_was_down(setup: tuple[MiniErp, Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    erp, settings = setup
    run_sync(settings, mode="full")
    erp.run("update soc set nom = 'Alfa Kft. (1)', tms = '2099-01-01 00:00:00' where rowid = 1")
    erp.run("update soc set nom = 'Kovács Anna (1)', tms = '2099-01-01 00:00:00' where rowid = 2")
    calls = {"n": 0}
    original = engine.EntitySync._write_batch

    def dies_after_one_batch(self: Any, rows: Any, *, save_progress: bool) -> Any:
        if self.name == "partner" and calls["n"] == 1:
            raise KeyboardInterrupt  # the process is stopped after the first batch committed
        calls["n"] += self.name == "partner"
        return original(self, rows, save_progress=save_progress)

    monkeypatch.setattr(engine.EntitySync, "_write_batch", dies_after_one_batch)
    with pytest.raises(KeyboardInterrupt):
        run_sync(settings)
    monkeypatch.setattr(engine.EntitySync, "_write_batch", original)
    with overlay_engine(settings.overlay.full_url()).connect() as conn:
        assert conn.execute(sa.select(sync_state.c.pending).where(sync_state.c.entity == "partner")).scalar() is not None
    # partner 1 changes again behind the interrupted pass, which had already gone past it
    erp.run("update soc set nom = 'Alfa Kft. (2)', tms = '2099-01-02 00:00:00' where rowid = 1")
    run_sync(settings)
    names = {k: v[0] for k, v in overlay_rows(settings, "partner", "name").items()}
    assert names == {"1": "Alfa Kft. (2)", "2": "Kovács Anna (1)"}


def test_check_finds_keys_that_are_not_unique_and_rows_without_a_key(setup: tuple[MiniErp, Settings]) -> None:
    erp, settings = setup
    erp.run("insert into prod values ('Q1', 'a', 0), ('Q1', 'b', 0), (NULL, 'no key', 0)")
    report = check_connector(settings.erp)
    lines = [line for line in report.lines if "product" in line]
    assert any(line.startswith("FAIL") and "key ref is not unique" in line and "'Q1' (2 rows)" in line for line in lines), lines
    assert any(line.startswith("WARN") and "1 row has no key" in line for line in lines), lines
    assert not report.ok


def test_check_counts_lines_whose_document_is_missing(setup: tuple[MiniErp, Settings]) -> None:
    """Lines are read through their documents: a line of a document the ERP does not have is never read, and check says so."""
    erp, settings = setup
    assert not [line for line in check_connector(settings.erp).lines if "the ERP does not have" in line]
    erp.run("insert into facdet values (40, 99, 'P1', 5, 'orphan'), (41, 98, 'P1', 5, 'orphan'), (42, NULL, 'P1', 5, 'no document')")
    report = check_connector(settings.erp)
    warned = [line for line in report.lines if "invoice_line: 3 lines name no invoice or one the ERP does not have" in line]
    assert len(warned) == 1 and warned[0].startswith("WARN") and warned[0].endswith("so these are never read"), report.lines
    assert report.ok, "a warning, not a failure"


def test_sync_runs_shows_a_killed_run_as_interrupted_at_once(setup: tuple[MiniErp, Settings]) -> None:
    from click.testing import CliRunner

    from erp_crm.entrypoints.cli import cli
    from erp_crm.model.tables.sync import sync_run
    from erp_crm.store.overlay import Overlay

    _, settings = setup
    run_sync(settings, mode="full")
    engine_ = overlay_engine(settings.overlay.full_url())
    with engine_.begin() as conn:  # what a run killed mid-way leaves behind
        conn.execute(sa.insert(sync_run).values(source="erp", mode="incremental", started_at=sa.func.now(), status="running"))
    engine_.dispose()
    home = ["--home", str(settings.home)]
    listed = CliRunner().invoke(cli, [*home, "sync", "runs", "--json"])
    assert listed.exit_code == 0, listed.output
    runs = __import__("json").loads(listed.output)
    assert [r["status"] for r in runs] == ["interrupted", "ok"] and runs[0]["error"].startswith("the process ended")
    with Overlay.open(settings.overlay.full_url()) as overlay, overlay.lock("sync.erp", "busy"):  # a sync that is running
        text = CliRunner().invoke(cli, [*home, "sync", "runs"]).output
    assert text.splitlines()[1].split()[5] == "running", text


@pytest.mark.parametrize("query", ["SELECT rowid, nom, missing FROM soc", "SELECT rowid, nom FROM no_such_table"], ids=["column", "table"])
def test_check_fails_in_one_line_for_a_query_entity_that_does_not_fit(setup: tuple[MiniErp, Settings], query: str) -> None:
    """A query the ERP refuses is a FAIL naming the entity (it was an internal error), and the other entities are still checked."""
    _, settings = setup
    settings = with_connector(settings, "  partner:\n    table: soc\n", f"  partner:\n    query: \"{query}\"\n")
    report = check_connector(settings.erp)
    failed = [line for line in report.lines if line.startswith("FAIL")]
    assert len(failed) == 1 and failed[0].startswith("FAIL partner: the query does not run: the ERP database refused a query: no such"), report.lines
    assert any(line.startswith("OK") and "invoice:" in line for line in report.lines), report.lines
    assert not report.ok
