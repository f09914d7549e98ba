"""`erp-crm db backup`: a copy of the overlay that restores to the same rows, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from tests.support.cli import erp_crm
from tests.support.tiny_erp import TinyErp, tiny_home

TABLES = ("crm_partner", "crm_invoice", "crm_invoice_line", "crm_sync_run")


def counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() for table in TABLES}
    finally:
        engine.dispose()


def test_a_backup_restores_to_the_same_rows(tmp_path: Path, overlay_url: str, pg_url_factory: Callable[[], str]) -> None:
    erp = TinyErp.create(f"sqlite:///{tmp_path / 'erp.sqlite'}", partners=8, invoices=20, lines=40)
    home = tiny_home(tmp_path, erp.url, overlay_url=overlay_url)
    assert erp_crm("--home", home, "sync").returncode == 0
    target = tmp_path / "copies" / "crm.backup"
    done = erp_crm("--home", home, "db", "backup", "--to", target)
    assert done.returncode == 0, done.stderr
    assert f"overlay copied to {target}" in done.stdout and not list(target.parent.glob("*.part"))
    if overlay_url.startswith("sqlite"):
        restored = f"sqlite:///{target}"
    else:
        restored = pg_url_factory()
        database = sa.make_url(restored).database
        subprocess.run([shutil.which("pg_restore") or "pg_restore", "--no-owner", "-h", "127.0.0.1", "-U", "postgres", "-d", str(database), str(target)], check=True)
    assert counts(restored) == counts(overlay_url) and counts(restored)["crm_invoice_line"] > 0
    again = erp_crm("--home", home, "db", "backup", "--to", target)
    assert again.returncode == 2 and "never overwrites" in again.stderr
    erp.engine.dispose()


def test_a_backup_where_it_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    home = tiny_home(tmp_path)
    (tmp_path / "not a folder").write_text("x", encoding="utf-8")
    done = erp_crm("--home", home, "db", "backup", "--to", tmp_path / "not a folder" / "crm.sqlite")
    assert done.returncode == 2 and "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
