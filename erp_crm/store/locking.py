"""Named locks on the overlay that the operating system or the database releases when the
holder dies: a killed sync or metrics run must never block the next one.

PostgreSQL overlays take session advisory locks (so a lock holds across machines that
share the database); SQLite overlays take an flock on a file beside the database.

Two levels, because some work may run side by side and some may not:

- `overlay_lock(name)`: the work of one kind (a source's sync, the metrics run, the segment
  refresh), one at a time. It also holds the whole overlay *shared*, so different kinds
  run together.
- `whole_overlay_lock`: the whole overlay *exclusive*, for what changes the schema or the
  content under everyone (`erp-crm db upgrade`, `erp-crm demo` putting its overlay in
  place): it waits for no one and no one waits for it; whoever comes second is refused.

Nothing waits: a second holder gets a UserError of one line saying who is busy (`Busy`),
because a scheduled run that queued behind a long one would only repeat its work. Work
that another process may as well do (a tick's enrolment, a worker's metrics run) asks
with `overlay_lock_if_free` and goes on without it when the answer is no.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple

from sqlalchemy.engine import Connection, Engine

from erp_crm.errors import Busy

WHOLE = "overlay"
REBUILDING = "the overlay is being upgraded (erp-crm db upgrade) or replaced (erp-crm demo)"


class Hold(NamedTuple):
    """One lock to take: its name, whether it is exclusive, and what a refusal says."""

    name: str
    exclusive: bool
    busy: str


Connect = Callable[[], Connection]  # how to reach the database (Overlay's, which says in one line when it cannot)


@contextmanager
def overlay_lock(overlay: Engine, name: str, busy: str, connect: Connect | None = None) -> Iterator[None]:
    """Hold the lock `name` (and the whole overlay shared) for the block, or raise a UserError saying `busy`."""
    with _holding(overlay, [Hold(WHOLE, False, REBUILDING), Hold(name, True, busy)], connect or overlay.connect):
        yield


@contextmanager
def overlay_lock_if_free(overlay: Engine, name: str, connect: Connect | None = None) -> Iterator[bool]:
    """Hold the lock `name` for the block if no one else does (True), else hold nothing (False); never waits.

    The whole overlay is asked for shared first, as by `overlay_lock`: while an upgrade
    holds it this raises Busy, since no work of any kind may start then.
    """
    with ExitStack() as stack:
        try:
            stack.enter_context(overlay_lock(overlay, name, "", connect))
        except Busy as busy:
            if busy.name != name:
                raise
            held = False
        else:
            held = True
        yield held


@contextmanager
def whole_overlay_lock(overlay: Engine, busy: str, connect: Connect | None = None) -> Iterator[None]:
    """Hold the whole overlay exclusively for the block: no named lock is held meanwhile; else UserError(`busy`)."""
    with _holding(overlay, [Hold(WHOLE, True, busy)], connect or overlay.connect):
        yield


def is_held(overlay: Engine, name: str, connect: Connect | None = None) -> bool:
    """Whether some process holds the lock `name` now, without taking it.

    A probe that took the lock, however briefly, could refuse a run starting at that
    instant; so PostgreSQL is asked through pg_locks, and SQLite's lock file is probed with
    a shared flock, which a holder's exclusive one refuses (the whole-overlay lock is not
    looked at: an upgrade in progress does not make a dead run look alive).
    """
    if overlay.dialect.name == "postgresql":
        with (connect or overlay.connect)() as conn:
            return advisory_held(conn, name)
    path = _lock_path(overlay, name)
    if not path.exists():
        return False
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def advisory_held(conn: Connection, name: str, *, by_this_session: bool = False) -> bool:
    """PostgreSQL: whether the advisory lock `name` is held in this database (by anyone, or by `conn`'s own session)."""
    mine = " AND pid = pg_backend_pid() AND granted" if by_this_session else ""
    return bool(
        conn.exec_driver_sql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = %s AND objsubid = 1 "
            f"AND database = (SELECT oid FROM pg_database WHERE datname = current_database()){mine}",  # locks are per database; pg_locks shows all
            (advisory_key(name),),
        ).scalar()
    )


def advisory_key(name: str) -> int:
    """The PostgreSQL advisory lock key of the lock `name` (one number per name, the same in every process)."""
    return zlib.crc32(f"erp_crm.{name}".encode())


def _lock_path(overlay: Engine, name: str) -> Path:
    return Path(f"{overlay.url.database or 'overlay'}.{name.replace('.', '-')}.lock")


@contextmanager
def _holding(overlay: Engine, holds: list[Hold], connect: Connect) -> Iterator[None]:
    """Take `holds` in order, releasing those taken if a later one is refused."""
    with ExitStack() as stack:
        if overlay.dialect.name == "postgresql":
            conn = stack.enter_context(connect())
            for hold in holds:
                stack.enter_context(_advisory(conn, hold))
        else:
            for hold in holds:
                stack.enter_context(_flock(_lock_path(overlay, hold.name), hold))
        yield


@contextmanager
def _advisory(conn: Connection, hold: Hold) -> Iterator[None]:
    kind = "" if hold.exclusive else "_shared"
    key = advisory_key(hold.name)
    got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock{kind}(%s)", (key,)).scalar()
    conn.commit()
    if not got:
        raise Busy(f"{hold.busy}; try again when it has finished", hold.name)
    try:
        yield
    finally:
        conn.exec_driver_sql(f"SELECT pg_advisory_unlock{kind}(%s)", (key,))
        conn.commit()


@contextmanager
def _flock(path: Path, hold: Hold) -> Iterator[None]:
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if hold.exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"{hold.busy} ({path}); try again when it has finished", hold.name) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
