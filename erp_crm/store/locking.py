"""Named locks on the overlay that the operating system or the database releases when the
holder dies: a killed sync or metrics run must never block the next one.

PostgreSQL overlays take a session advisory lock (so the lock holds across machines that
share the database); SQLite overlays take an flock on a file beside the database.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine

from erp_crm.errors import UserError


@contextmanager
def overlay_lock(overlay: Engine, name: str, busy: str) -> Iterator[None]:
    """Hold the lock `name` for the block, or raise a UserError saying `busy` if another process holds it."""
    if overlay.dialect.name == "postgresql":
        key = zlib.crc32(f"erp_crm.{name}".encode())
        with overlay.connect() as conn:
            got = conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar()
            conn.commit()
            if not got:
                raise UserError(f"{busy}; try again when it has finished")
            try:
                yield
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
                conn.commit()
        return
    database = overlay.url.database or "overlay"
    path = Path(f"{database}.{name.replace('.', '-')}.lock")
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"{busy} ({path}); try again when it has finished") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
