"""One sync per source at a time, with locks the operating system or the database
releases when the holder dies: a killed sync must never block the next one."""

from __future__ import annotations

import fcntl
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy.engine import Engine

from erp_crm.errors import UserError


@contextmanager
def sync_lock(overlay: Engine, source: str) -> Iterator[None]:
    if overlay.dialect.name == "postgresql":
        key = zlib.crc32(f"erp_crm.sync.{source}".encode())
        with overlay.connect() as conn:
            got = conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar()
            conn.commit()
            if not got:
                raise UserError(f"another sync of source {source!r} is running on this overlay; try again when it has finished")
            try:
                yield
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
                conn.commit()
        return
    database = overlay.url.database or "overlay"
    path = Path(f"{database}.sync-{source}.lock")
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another sync of source {source!r} is running on this overlay ({path}); try again when it has finished") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
