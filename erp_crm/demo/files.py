"""The demo's two SQLite files (its ERP and its overlay): marked when the demo makes them,
checked before it overwrites them, and put in place whole.

`erp-crm init` points a new home's settings at these files, so the demo's overlay may
be the one a user goes on to sync a real ERP into. The demo therefore overwrites a file
only if it made it (SQLite's `application_id` header field holds `MARK`) and, for the
overlay, only if everything in it is still the demo's: rows of the source "demo" alone,
no segment a user made, nothing in a table that no sync, metrics run, segment refresh or
win-back run writes (CRM-owned data such as partner profiles), and nothing a person did
to what the win-back run made (another chain, a task worked on, a message settled by
hand, the sending switch flipped). Anything else is refused with the reason, and the
file is left as it was.

The demo builds its files elsewhere and copies them over the old ones with SQLite's
backup, which other connections see as one write transaction; deleting or renaming a
database that another process has open (with its -wal and -shm files) can corrupt it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa

from erp_crm.errors import UserError
from erp_crm.model.tables import chains, feed, metrics, outbox, segments, sync
from erp_crm.model.tables.segments import segment
from erp_crm.model.tables.synced import SYNCED

MARK = 0x64656D6F  # "demo" in ASCII: the application_id of every file the demo made
SOURCE = "demo"  # the source label of the demo's synced rows
WAIT_SECONDS = 60.0  # how long to wait for readers of a file before giving up

# The areas whose tables the demo's own runs (sync, metrics, segment refresh, the win-back chain) fill.
RUN_AREAS: tuple[ModuleType, ...] = (sync, feed, metrics, segments, chains, outbox)
DEMO_CHAIN = "winback"
# What only a person's hand leaves in the win-back run's tables: (table, condition, words).
PEOPLE_WORK = (
    (chains.chain.name, f"name <> '{DEMO_CHAIN}'", "chains other than the demo's"),
    (chains.task_event.name, "kind <> 'created'", "tasks people have worked on"),
    (outbox.outbox.name, "settled IS NOT NULL", "messages people settled"),
    (outbox.switch.name, "1 = 1", "the sending switch, flipped by someone"),
)


def _tables(module: ModuleType) -> Iterator[sa.Table]:
    return (value for value in vars(module).values() if isinstance(value, sa.Table))


RUN_TABLES = frozenset({"alembic_version", *(t.name for t in SYNCED.values()), *(t.name for m in RUN_AREAS for t in _tables(m))})
SOURCED = frozenset(t.name for t in (*SYNCED.values(), *(t for m in RUN_AREAS for t in _tables(m))) if "source" in t.c and t is not segment)


def mark(path: Path) -> None:
    """Mark the SQLite file at `path` as made by the demo."""
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA application_id = {MARK}")
        db.commit()


def foreign(path: Path, *, overlay: bool) -> str | None:
    """Why the demo may not overwrite `path` (None: it may), in words that follow the file's name."""
    if not path.exists():
        return None
    try:
        # Not mode=ro: a read-only connection to a WAL database leaves its -wal and -shm files behind.
        with closing(sqlite3.connect(path)) as db:
            if db.execute("PRAGMA application_id").fetchone()[0] != MARK:
                return "was not made by `erp-crm demo`"
            return _foreign_rows(db) if overlay else None
    except sqlite3.DatabaseError as exc:
        return f"is not a database the demo made ({exc})"


def _foreign_rows(db: sqlite3.Connection) -> str | None:
    """What in a demo overlay someone else put there: another source's rows, users' segments, CRM-owned rows."""
    present = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")}
    for table in sorted(present & SOURCED):
        row = db.execute(f'SELECT source FROM "{table}" WHERE source <> ? LIMIT 1', (SOURCE,)).fetchone()
        if row:
            return f"holds data of the source {row[0]!r} ({table}), not only the demo's"
    if segment.name in present and db.execute(f"SELECT 1 FROM {segment.name} WHERE source = 'user' LIMIT 1").fetchone():
        return f"holds segments that users made ({segment.name})"
    for table, condition, words in PEOPLE_WORK:
        if table in present and db.execute(f'SELECT 1 FROM "{table}" WHERE {condition} LIMIT 1').fetchone():
            return f"holds {words} ({table})"
    for table in sorted(present - RUN_TABLES):
        if db.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():
            return f"holds data the CRM keeps itself ({table})"
    return None


def put_in_place(built: Path, target: Path) -> None:
    """Copy the database `built` over `target` in one write that others see whole; refuse after WAIT_SECONDS of readers."""
    deadline = time.monotonic() + WAIT_SECONDS

    def patience(status: int, _remaining: int, _total: int) -> None:
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and time.monotonic() > deadline:
            raise UserError(f"{target} has been in use by another program for {WAIT_SECONDS:.0f} s; try again when it is closed")

    with closing(sqlite3.connect(built)) as source, closing(sqlite3.connect(target, timeout=1)) as copy:
        source.backup(copy, progress=patience)
