"""A copy of the overlay, taken while it is in use, that is whole or not there.

SQLite copies through its backup API (pages copied under the database's own locking, so
a sync writing meanwhile gives a consistent copy, never a torn file); PostgreSQL through
`pg_dump` in its custom format (one snapshot, restored with `pg_restore`), its password
handed over in the environment, never on a command line others can read. Either is
written beside the target and renamed into place at the end, so a copy stopped half-way
never looks like a backup.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

from erp_crm.errors import UserError
from erp_crm.store.overlay import Overlay

PG_DUMP_TIMEOUT = 6 * 3600


def backup_overlay(overlay: Overlay, target: Path) -> Path:
    """Copy the overlay to `target` (its folder made if needed); returns `target`."""
    part = target.with_name(target.name + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if overlay.dialect == "sqlite":
            _sqlite_copy(overlay, part)
        else:
            _pg_dump(overlay.engine.url, part)
        os.replace(part, target)
    except OSError as exc:
        raise UserError(f"cannot write the backup {target}: {exc.strerror or exc}") from None
    finally:
        if part.parent.is_dir():
            part.unlink(missing_ok=True)
    return target


def _sqlite_copy(overlay: Overlay, part: Path) -> None:
    raw = overlay.engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        with sqlite3.connect(part) as copy:
            source.backup(copy, pages=4096)  # in steps: writers get their turn between them
        copy.close()
    finally:
        raw.close()


def _pg_dump(url: URL, part: Path) -> None:
    program = shutil.which("pg_dump")
    if program is None:
        raise UserError("pg_dump is not installed, and a PostgreSQL overlay is backed up with it: install it (apt-get install postgresql-client)")
    env = {**os.environ, "PGHOST": url.host or "", "PGPORT": str(url.port or 5432), "PGUSER": url.username or "", "PGDATABASE": url.database or ""}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    try:
        done = subprocess.run(
            [program, "--format=custom", "--no-owner", f"--file={part}"], env=env, capture_output=True, text=True, timeout=PG_DUMP_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise UserError(f"pg_dump did not finish within {PG_DUMP_TIMEOUT // 3600} hours; nothing was kept") from None
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise UserError(f"pg_dump failed ({done.returncode}): {said}")
