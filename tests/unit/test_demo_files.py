"""When the demo may overwrite a file (erp_crm.demo.files), and how it puts its own in place."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from erp_crm.demo import files
from erp_crm.entrypoints.cli import cli
from erp_crm.entrypoints.cli.demo import BUSY
from erp_crm.errors import UserError
from erp_crm.model.tables.profile import partner_profile
from erp_crm.model.tables.segments import segment
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.home import init_home
from erp_crm.store.overlay import Overlay

NOW = dt.datetime(2024, 6, 30, 8, 0)


def _overlay(path: Path, *, marked: bool = True) -> Overlay:
    overlay = Overlay.open(sa.engine.make_url(f"sqlite:///{path}"), at_head=False)
    overlay.upgrade()
    with overlay.begin() as conn:
        conn.execute(sa.insert(SYNCED["partner"]).values(source="demo", erp_key="1", name="Demo Kft.", row_hash="x", synced_at=NOW))
        conn.execute(sa.insert(segment).values(name="at_risk", filter="rfm_group = at_risk", source="config", updated_at=NOW))
    if marked:
        files.mark(path)
    return overlay


def _add(overlay: Overlay, statement: sa.Executable) -> None:
    with overlay.begin() as conn:
        conn.execute(statement)


def test_a_missing_file_or_the_demos_own_may_be_overwritten(tmp_path: Path) -> None:
    assert files.foreign(tmp_path / "none.sqlite", overlay=True) is None
    _overlay(tmp_path / "crm.sqlite").close()
    assert files.foreign(tmp_path / "crm.sqlite", overlay=True) is None


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (sa.insert(SYNCED["partner"]).values(source="shop", erp_key="1", name="Bolt Kft.", row_hash="x", synced_at=NOW), "holds data of the source 'shop' (crm_partner), not only the demo's"),
        (sa.insert(segment).values(name="mine", filter="rfm_group = lost", source="user", updated_at=NOW), "holds segments that users made (crm_segment)"),
        (sa.insert(partner_profile).values(partner_id=1, key_account=True, updated_at=NOW), "holds data the CRM keeps itself (crm_partner_profile)"),
    ],
    ids=["other source", "user segment", "profile"],
)
def test_an_overlay_holding_more_than_the_demos_data_is_not(tmp_path: Path, extra: sa.Executable, reason: str) -> None:
    with _overlay(tmp_path / "crm.sqlite") as overlay:
        _add(overlay, extra)
    assert files.foreign(tmp_path / "crm.sqlite", overlay=True) == reason


def test_files_the_demo_did_not_make_are_not(tmp_path: Path) -> None:
    _overlay(tmp_path / "crm.sqlite", marked=False).close()
    assert files.foreign(tmp_path / "crm.sqlite", overlay=True) == "was not made by `erp-crm demo`"
    (tmp_path / "notes.sqlite").write_text("not a database " * 500, encoding="utf-8")
    assert (files.foreign(tmp_path / "notes.sqlite", overlay=False) or "").startswith("is not a database the demo made")
    erp = tmp_path / "erp.sqlite"
    with closing(sqlite3.connect(erp)) as db:
        db.execute("CREATE TABLE llx_societe (rowid INTEGER PRIMARY KEY)")
    assert files.foreign(erp, overlay=False) == "was not made by `erp-crm demo`"
    files.mark(erp)
    assert files.foreign(erp, overlay=False) is None


def test_looking_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    _overlay(tmp_path / "crm.sqlite").close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    files.foreign(tmp_path / "crm.sqlite", overlay=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def _database(path: Path, value: str) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (v TEXT)")
        db.execute("INSERT INTO t VALUES (?)", (value,))
        db.commit()


def test_put_in_place_replaces_the_content_under_an_open_reader(tmp_path: Path) -> None:
    _database(tmp_path / "new.sqlite", "new")
    _database(tmp_path / "old.sqlite", "old")
    with closing(sqlite3.connect(tmp_path / "old.sqlite")) as reader:
        assert reader.execute("SELECT v FROM t").fetchone() == ("old",)
        files.put_in_place(tmp_path / "new.sqlite", tmp_path / "old.sqlite")
        assert reader.execute("SELECT v FROM t").fetchone() == ("new",)


def test_put_in_place_gives_up_on_a_file_another_program_keeps_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "WAIT_SECONDS", 0.5)
    _database(tmp_path / "new.sqlite", "new")
    _database(tmp_path / "old.sqlite", "old")
    with closing(sqlite3.connect(tmp_path / "old.sqlite", isolation_level=None)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT v FROM t").fetchone()  # a read transaction in rollback-journal mode: writers wait
        with pytest.raises(UserError, match=r"old.sqlite has been in use by another program for 0 s"):
            files.put_in_place(tmp_path / "new.sqlite", tmp_path / "old.sqlite")
        reader.execute("COMMIT")
    with closing(sqlite3.connect(tmp_path / "old.sqlite")) as db:
        assert db.execute("SELECT v FROM t").fetchone() == ("old",)


def test_the_demo_does_not_replace_its_overlay_while_a_sync_works_on_it(tmp_path: Path) -> None:
    home = init_home(tmp_path / "crm")
    target = sa.engine.make_url(f"sqlite:///{home / 'var' / 'demo_crm.sqlite'}")
    with Overlay.open(target, at_head=False) as overlay, overlay.lock("sync.demo", "a sync"):
        done = CliRunner().invoke(cli, ["--home", str(home), "demo", "--customers", "5", "--years", "1"])
    assert isinstance(done.exception, UserError) and str(done.exception).startswith(BUSY), done.output
    assert sorted(p.name for p in (home / "var").iterdir() if not p.name.endswith(".lock")) == []  # nothing put in place, no scratch left
