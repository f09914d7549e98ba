"""A first load done by the overlay (`erp_crm.sync.bulk`) ends exactly where the row path ends.

The ERP is the hostile rows' (NULLs, impossible dates, text amounts, infinity, NUL,
broken UTF-8, keys too long, unicode, an unknown map value) with more beside them: a key
two rows share, invoices of a partner the ERP does not have, lines naming a product it
does not have. Read one row per batch, most batches go the bulk way and the hostile
ones the row path; the overlay, the quarantine and the run's counts must be those of a
load done wholly row by row. A load killed half-way resumes (the row path, comparing
values with the rows the bulk load wrote) to the same end, and later runs find nothing
changed. Both ways are proven between two SQLite files and between two PostgreSQL
databases (the ERP's rows staged on the overlay by COPY, `erp_crm.sync.bulk_pg`).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from erp_crm.errors import SourceError
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.root import Settings
from erp_crm.store.overlay import Overlay
from erp_crm.sync import bulk_pg, bulk_sqlite, deferred_indexes, engine
from erp_crm.sync.bulk import BulkLoad
from erp_crm.sync.definition import load_connector
from erp_crm.sync.engine import sync_source
from erp_crm.sync.source import ErpSource
from erp_crm.sync.unhashed import UNHASHED
from tests.integration.test_hostile_rows import CONNECTOR, TABLES, build_erp, good_row
from tests.support.mini_erp import quarantined, settings_with_connector
from tests.support.services import overlay_engine, run_sync

MORE = {
    "product": [{**good_row("product", 1), "label": "the same key again"}],  # P1 twice
    "invoice": [{**good_row("invoice", n), "fk_soc": 999} for n in (500, 501)],  # no such partner
    "invoice_line": [{**good_row("invoice_line", n), "fk_product": "P404"} for n in (600, 601)],  # no such product
}
IGNORED = {"id", "row_hash", "synced_at"}


def erp_with_more(tmp_path: Path, url: str | None = None) -> str:
    """The hostile rows' ERP and more, in an SQLite file or in the database at `url`."""
    url = url or f"sqlite:///{tmp_path / 'erp.sqlite'}"
    build_erp(url)
    erp = sa.create_engine(url, poolclass=NullPool)
    with erp.begin() as conn:
        for entity, rows in MORE.items():
            conn.execute(sa.insert(TABLES[entity]), rows)
    erp.dispose()
    return url


def home(tmp_path: Path, erp_url: str, name: str, overlay_url: str | None = None, connector: str = CONNECTOR) -> Settings:
    """A home reading the ERP one row per batch, with an overlay of its own (an SQLite file unless `overlay_url`)."""
    folder = tmp_path / name
    folder.mkdir()
    overlay_url = overlay_url or f"sqlite:///{folder / 'overlay.sqlite'}"
    return settings_with_connector(folder, "mini", connector, overlay_url, erp_url=erp_url, extra={"erp": {"batch_size": 1}})


Homes = Callable[[], tuple[Settings, Settings]]


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "pg"])
def homes(request: pytest.FixtureRequest, tmp_path: Path) -> Homes:
    """Two homes (a bulk one and a row-by-row one) reading one ERP: all three SQLite files, or all three PostgreSQL databases."""

    def make() -> tuple[Settings, Settings]:
        if request.param == "sqlite":
            erp_url = erp_with_more(tmp_path)
            return home(tmp_path, erp_url, "bulk"), home(tmp_path, erp_url, "rows")
        new: Callable[[], str] = request.getfixturevalue("pg_url_factory")
        erp_url = erp_with_more(tmp_path, new())
        return home(tmp_path, erp_url, "bulk", new()), home(tmp_path, erp_url, "rows", new())

    return make


def overlay_state(settings: Settings) -> dict[str, Any]:
    """Every synced row (ids as the keys they stand for), and the quarantine."""
    db = overlay_engine(settings.overlay.full_url())
    state: dict[str, Any] = {"quarantine": quarantined(settings)}
    with db.connect() as conn:
        for entity in TABLES:
            t = SYNCED[entity]
            columns = [c for c in t.c if c.name not in IGNORED and not c.name.endswith("_id")]
            resolved = [c.name for c in t.c if c.name.endswith("_id")]
            rows = conn.execute(sa.select(*columns, *(t.c[c].is_not(None) for c in resolved))).all()
            state[entity] = sorted(tuple(map(repr, r)) for r in rows)
    db.dispose()
    return state


def counts(report: Any) -> dict[str, tuple[int, ...]]:
    return {e: (c.read, c.inserted, c.updated, c.quarantined, c.shared_keys) for e, c in report.entities.items()}


@pytest.fixture
def every_batch_tried(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bulk loads that try every batch (none gives up after refusals), one parent's lines at a time; the batches they wrote."""
    monkeypatch.setattr(engine, "BULK_REFUSALS", 10**9)
    monkeypatch.setattr(engine, "PARENT_CHUNK", 1)
    monkeypatch.setattr(engine, "BULK_SCALE", 1)
    written: list[int] = []
    insert = BulkLoad.insert

    def counted(self: BulkLoad, *args: Any) -> int | None:
        n = insert(self, *args)
        if n is not None:
            written.append(n)
        return n

    monkeypatch.setattr(BulkLoad, "insert", counted)
    return written


def row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BulkLoad, "open", classmethod(lambda *_args: None))


def test_a_bulk_load_ends_as_a_load_row_by_row(homes: Homes, monkeypatch: pytest.MonkeyPatch, every_batch_tried: list[int]) -> None:
    bulky, plain = homes()
    refused_without_key = keys_back_for_the_row_path(monkeypatch)
    first = run_sync(bulky, mode="full")
    assert len(every_batch_tried) > 10, "most batches went the bulk way"
    if bulky.overlay.full_url().get_backend_name() == "postgresql":  # the ERP's invoice keys are unique: the overlay's was dropped
        assert "crm_invoice" in refused_without_key, "a refused batch got the unique key back before the row path wrote it"
    db = overlay_engine(bulky.overlay.full_url())
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(SYNCED["invoice"].c.row_hash == UNHASHED)).scalar_one() > 0
    db.dispose()
    with monkeypatch.context() as m:
        row_by_row(m)
        expected = run_sync(plain, mode="full")
    assert counts(first) == counts(expected)
    assert overlay_state(bulky) == overlay_state(plain)

    for mode in ("incremental", "full"):
        again = run_sync(bulky, mode=mode)
        assert {e: (c.inserted, c.updated) for e, c in again.entities.items()} == dict.fromkeys(again.entities, (0, 0)), mode
    assert overlay_state(bulky)["quarantine"] == overlay_state(plain)["quarantine"]


def keys_back_for_the_row_path(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables whose unique key a refused bulk batch found dropped, and built again for the row path."""
    tables: list[str] = []
    restore_keys = deferred_indexes.restore_keys

    def watched(conn: Connection, table: sa.Table) -> None:
        if sys._getframe(1).f_code.co_name == "_bulk_write" and not sa.inspect(conn).get_unique_constraints(table.name):
            tables.append(table.name)
        restore_keys(conn, table)

    monkeypatch.setattr(deferred_indexes, "restore_keys", watched)
    return tables


class Killed(Exception):
    """The process dying between two batches."""


def killed_load(settings: Settings, monkeypatch: pytest.MonkeyPatch, dies: Callable[[BulkLoad], bool]) -> None:
    """A full sync whose process dies before the bulk batch for which `dies` says so."""
    insert = BulkLoad.insert

    def dying(self: BulkLoad, *args: Any) -> int | None:
        if dies(self):
            raise Killed
        return insert(self, *args)

    with monkeypatch.context() as m:
        m.setattr(BulkLoad, "insert", dying)
        with pytest.raises(Killed):
            run_sync(settings, mode="full")


def test_a_bulk_load_killed_half_way_resumes_to_the_same_end(homes: Homes, monkeypatch: pytest.MonkeyPatch, every_batch_tried: list[int]) -> None:
    bulky, plain = homes()
    killed_load(bulky, monkeypatch, lambda _load: len(every_batch_tried) == 3)
    run_sync(bulky, mode="full")
    with monkeypatch.context() as m:
        row_by_row(m)
        run_sync(plain, mode="full")
    assert overlay_state(bulky) == overlay_state(plain)
    again = run_sync(bulky)
    assert {e: (c.inserted, c.updated) for e, c in again.entities.items()} == dict.fromkeys(again.entities, (0, 0))


def test_the_bulk_load_reads_the_erp_through_a_read_only_attachment(tmp_path: Path) -> None:
    erp_url = erp_with_more(tmp_path)
    settings = home(tmp_path, erp_url, "bulk")
    db = overlay_engine(settings.overlay.full_url())
    with db.connect() as conn:
        raw = conn.connection.driver_connection
        assert bulk_sqlite._attach(raw, sa.engine.make_url(erp_url))
        with pytest.raises(Exception, match="readonly"):
            raw.execute(f"DELETE FROM {bulk_sqlite.ALIAS}.soc")
        raw.execute(f"DETACH DATABASE {bulk_sqlite.ALIAS}")
    db.dispose()


def test_no_bulk_load_where_an_erp_table_would_be_read_from_the_staging_file(tmp_path: Path) -> None:
    """SQLite looks for an unqualified name in the main database first: an ERP table named like a staging table is never attached."""
    erp_url = erp_with_more(tmp_path)
    erp = sa.create_engine(erp_url, poolclass=NullPool)
    with erp.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ERP_CRM_SLOT_0 (x INTEGER)")
    erp.dispose()
    stage = sqlite3.connect(tmp_path / "stage.sqlite")
    stage.execute("CREATE TABLE erp_crm_slot_0 (k)")
    assert not bulk_sqlite._attach(stage, sa.engine.make_url(erp_url))
    assert bulk_sqlite.ALIAS not in {row[1] for row in stage.execute("PRAGMA database_list")}
    stage.close()
    report = run_sync(home(tmp_path, erp_url, "bulk"), mode="full")
    assert report.entities["invoice"].inserted > 0, "the row path loads it"


def test_an_sqlite_bulk_load_leaves_no_staging_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every_batch_tried: list[int]) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    erp_url = erp_with_more(tmp_path)
    killed_load(home(tmp_path, erp_url, "killed"), monkeypatch, lambda _load: len(every_batch_tried) == 3)
    assert list(scratch.iterdir()) == []
    report = run_sync(home(tmp_path, erp_url, "bulk"), mode="full")
    assert report.entities["invoice_line"].inserted > 0 and len(every_batch_tried) > 10
    assert list(scratch.iterdir()) == []


def test_an_erp_that_cannot_be_attached_is_loaded_row_by_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    erp_url = erp_with_more(tmp_path)
    settings = home(tmp_path, erp_url, "bulk")

    def refused(*_args: Any) -> bool:
        raise sqlite3.OperationalError("too many attached databases - max 10")

    monkeypatch.setattr(bulk_sqlite, "_attach", refused)
    report = run_sync(settings, mode="full")
    assert report.entities["invoice"].inserted > 0


def staging_tables(url: str) -> set[str]:
    db = overlay_engine(sa.engine.make_url(url))
    with db.connect() as conn:
        names = set(conn.execute(sa.text("SELECT relname FROM pg_class WHERE relname LIKE 'erp\\_crm\\_stage\\_%'")).scalars())
    db.dispose()
    return names


def test_a_pg_bulk_load_drops_the_staging_tables_of_dead_runs_and_its_own(pg_url_factory: Callable[[], str], tmp_path: Path) -> None:
    """A run killed mid-load leaves its staging pair behind: the next load drops it, and keeps a live session's."""
    erp_url, overlay_url = erp_with_more(tmp_path, pg_url_factory()), pg_url_factory()
    settings = home(tmp_path, erp_url, "bulk", overlay_url)
    db = overlay_engine(sa.engine.make_url(overlay_url))
    with db.connect() as live:
        live_pid = live.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        running = set(live.execute(sa.text("SELECT pid FROM pg_stat_activity")).scalars())
        dead_pid = next(pid for pid in range(max(running) + 1000, 10**7) if pid not in running)
        for pid, slot in ((dead_pid, 0), (dead_pid, 1), (live_pid, 0)):
            live.execute(sa.text(f"CREATE UNLOGGED TABLE {bulk_pg.PREFIX}{pid}_{slot} (c0 text)"))
        live.commit()
        report = run_sync(settings, mode="full")
        assert report.entities["invoice_line"].inserted > 0
        assert staging_tables(overlay_url) == {f"{bulk_pg.PREFIX}{live_pid}_0"}, "the dead run's pair and the load's own are gone"
    db.dispose()


def test_a_pg_bulk_load_copies_ahead_through_a_read_only_erp_session(pg_url_factory: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    erp_url = erp_with_more(tmp_path, pg_url_factory())
    settings = home(tmp_path, erp_url, "bulk", pg_url_factory())
    sessions: list[str] = []
    copy = bulk_pg.Stager._copy

    def checked(self: bulk_pg.Stager, *args: Any) -> str:
        assert self.twin is not None and self.twin.conn is not self.erp.conn
        sessions.append(self.twin.conn.execute("SHOW default_transaction_read_only").fetchone()[0])
        self.twin.conn.rollback()
        return copy(self, *args)

    monkeypatch.setattr(bulk_pg.Stager, "_copy", checked)
    run_sync(settings, mode="full")
    assert sessions and set(sessions) == {"on"}


def secondary_indexes(url: Any) -> dict[str, set[str]]:
    """Each table's secondary indexes and unique keys: what a first load may drop."""
    db = overlay_engine(url)
    inspector = sa.inspect(db)
    found = {
        entity: {ix["name"] for ix in inspector.get_indexes(SYNCED[entity].name) if not ix["unique"]}
        | {key["name"] for key in inspector.get_unique_constraints(SYNCED[entity].name)}
        for entity in TABLES
    }
    db.dispose()
    return found


def test_a_pg_first_load_builds_its_indexes_at_the_end_and_a_killed_one_gets_them_back(
    pg_url_factory: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every_batch_tried: list[int]
) -> None:
    erp_url = erp_with_more(tmp_path, pg_url_factory())
    settings = home(tmp_path, erp_url, "bulk", pg_url_factory())
    url = settings.overlay.full_url()
    expected = {
        entity: {ix.name for ix in SYNCED[entity].indexes} | {c.name for c in SYNCED[entity].constraints if isinstance(c, sa.UniqueConstraint)}
        for entity in TABLES
    }
    missing: list[dict[str, set[str]]] = []

    def in_the_lines(load: BulkLoad) -> bool:
        dies = load.plan.entity.name == "invoice_line" and bool(every_batch_tried)
        if dies:
            missing.append(secondary_indexes(url))
        return dies

    killed_load(settings, monkeypatch, in_the_lines)
    # the ERP's line table has a primary key on the line key, so the overlay's unique key goes too
    assert missing[0]["invoice_line"] == set() and missing[0]["invoice"] == expected["invoice"], "dropped while loading, built at the end"
    assert secondary_indexes(url)["invoice_line"] == set(), "the killed load left them dropped"
    run_sync(settings, mode="full")
    assert secondary_indexes(url) == expected


def test_no_second_erp_session_or_scratch_file_means_a_load_row_by_row(
    homes: Homes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every_batch_tried: list[int]
) -> None:
    """The staging thread's own ERP session (PostgreSQL) or scratch file (SQLite) refused: the row path loads it all, as it would."""
    bulky, plain = homes()

    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise SourceError("cannot connect to the ERP database: too many connections")

    def no_scratch(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ErpSource, "twin", refused)
    monkeypatch.setattr(tempfile, "mkdtemp", no_scratch)
    run_sync(bulky, mode="full")
    assert every_batch_tried == []
    with monkeypatch.context() as m:
        row_by_row(m)
        run_sync(plain, mode="full")
    assert overlay_state(bulky) == overlay_state(plain)


def test_a_filter_with_or_and_a_parameter_named_as_the_mappings(tmp_path: Path, every_batch_tried: list[int]) -> None:
    """`typ IS NULL OR typ <> :b_0` stays one condition beside the key range (each product read once, not once a batch),
    and its `:b_0` cannot share a statement with `b_0` of the kind's map: those batches load row by row, as they would."""
    erp_url = erp_with_more(tmp_path)
    erp = sa.create_engine(erp_url, poolclass=NullPool)
    with erp.begin() as conn:
        conn.execute(sa.insert(TABLES["product"]), [{"ref": "PNULL", "label": "no kind", "typ": None}])
        products = conn.execute(sa.select(sa.func.count()).select_from(TABLES["product"]).where(sa.text("typ IS NULL OR typ <> 7"))).scalar_one()
    erp.dispose()
    clashing = CONNECTOR.replace("name: mini\n", "name: mini\nparams: {b_0: 7}\n").replace("    key: ref\n", "    key: ref\n    filter: \"typ IS NULL OR typ <> :b_0 -- kinds but 7\"\n")
    bulky, plain = (home(tmp_path, erp_url, name, connector=clashing) for name in ("bulk", "rows"))
    report = run_sync(bulky, mode="full")
    assert every_batch_tried, "the other entities still go the bulk way"
    assert report.entities["product"].read == products
    with pytest.MonkeyPatch.context() as m:
        row_by_row(m)
        assert run_sync(plain, mode="full").entities["product"].read == products
    assert overlay_state(bulky) == overlay_state(plain)


def test_a_pg_bulk_load_gives_its_connections_back_to_the_pool_as_it_took_them(pg_url_factory: Callable[[], str], tmp_path: Path) -> None:
    """The load commits without waiting for the WAL flush; the outbox, served next by the same pool, must not."""
    erp_url = erp_with_more(tmp_path, pg_url_factory())
    settings = home(tmp_path, erp_url, "bulk", pg_url_factory())
    with Overlay.open(settings.overlay.full_url(), at_head=False) as overlay:
        overlay.upgrade()
        report = sync_source(overlay, settings.erp, load_connector(settings.erp), mode="full")
        assert report.entities["invoice_line"].inserted > 0
        held = [overlay.connect() for _ in range(4)]
        try:
            found = {conn.exec_driver_sql("SHOW synchronous_commit").scalar() for conn in held}
            floats = {conn.exec_driver_sql("SHOW extra_float_digits").scalar() for conn in held}
        finally:
            for conn in held:
                conn.close()
    assert found == {"on"} and floats == {"1"}
