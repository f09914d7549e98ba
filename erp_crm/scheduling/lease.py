"""One scheduler leads at a time: a lease that its holder renews and loses if it stops renewing.

APScheduler 3 cannot share a job store between processes, so two schedulers would run
every job twice. A second `erp-crm scheduler run` therefore waits as a standby and takes
over when the leader is gone:

- on **PostgreSQL** the lease is a session advisory lock on a connection of its own: the
  server releases it the moment the leader's process or machine dies, and a standby's
  next try takes it; renewing asks the server whether this session still holds it (a
  dropped connection has lost it);
- on **SQLite** it is the row `crm_lease.scheduler`, with an expiry the leader pushes
  forward at every renewal; a standby takes the row once the expiry has passed, in one
  write transaction, so two standbys cannot both take it.

On both, the row says who holds it and since when, for `erp-crm scheduler status` and
`erp-crm doctor`. A leader whose renewal fails stops scheduling at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import socket
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables.jobs import lease
from erp_crm.scheduling.runs import utc_now
from erp_crm.store.locking import advisory_held, advisory_key
from erp_crm.store.overlay import Overlay

SCHEDULER = "scheduler"
STANDBY = "standby:"  # rows of schedulers waiting to lead, by holder


def new_holder() -> str:
    """This process's name as a lease holder: host and pid for people, a random part so a reused pid is not mistaken for it."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Leader:
    holder: str
    acquired_at: dt.datetime | None
    renewed_at: dt.datetime | None
    expires_at: dt.datetime | None
    alive: bool


class Lease:
    """The lease `name` for this process: `acquire` (try once), `renew` (False once lost), `release`."""

    def __init__(self, overlay: Overlay, seconds: int, name: str = SCHEDULER, holder: str | None = None) -> None:
        self.overlay = overlay
        self.seconds = seconds
        self.name = name
        self.holder = holder or new_holder()
        self._session: Connection | None = None  # PostgreSQL: the connection holding the advisory lock

    def acquire(self) -> bool:
        """Take the lease if no live process holds it; True when this process leads now."""
        if self.overlay.dialect == "postgresql" and not self._take_advisory():
            return False
        try:
            return self._write_row(taking=True)
        except sa.exc.IntegrityError:  # another standby made the row first, in the same instant: it leads
            return False

    def renew(self) -> bool:
        """Push the lease forward; False when this process no longer holds it (then it must stop leading)."""
        try:
            if self.overlay.dialect == "postgresql" and not self._advisory_held():
                self._drop_session()
                return False
            return self._write_row(taking=False)
        except sa.exc.DBAPIError:  # the database went away: whether the lease still holds cannot be known, so it does not
            self._drop_session()
            return False

    def release(self) -> None:
        """Give the lease up at once, so a standby need not wait for it to expire."""
        try:
            with self.overlay.begin() as conn:
                conn.execute(
                    lease.update().where(lease.c.name == self.name, lease.c.holder == self.holder).values(holder=None, expires_at=None)
                )
        except sa.exc.DBAPIError:
            pass  # the database is gone: on PostgreSQL that ended the lock too, on SQLite the expiry will
        finally:
            self._drop_session()

    def _take_advisory(self) -> bool:
        if self._session is None:
            self._session = self.overlay.connect()
        got = bool(self._session.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (advisory_key(f"lease.{self.name}"),)).scalar())
        self._session.commit()
        if not got:
            self._drop_session()
        return got

    def _advisory_held(self) -> bool:
        assert self._session is not None, "renew() is only called after acquire() succeeded"
        held = advisory_held(self._session, f"lease.{self.name}", by_this_session=True)
        self._session.commit()
        return held

    def _drop_session(self) -> None:
        if self._session is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self._session.close()  # closing the session ends its advisory lock
            self._session = None

    def _write_row(self, *, taking: bool) -> bool:
        now = utc_now()
        values = {"holder": self.holder, "renewed_at": now, "expires_at": now + dt.timedelta(seconds=self.seconds)}
        with self.overlay.begin_writing() as conn:  # SQLite: BEGIN IMMEDIATE, so the check and the take are one step
            if taking:
                if conn.execute(sa.select(lease.c.name).where(lease.c.name == self.name)).first() is None:
                    conn.execute(lease.insert().values(name=self.name, acquired_at=now, **values))
                    return True
                still_free = sa.or_(lease.c.holder.is_(None), lease.c.holder == self.holder, lease.c.expires_at.is_(None), lease.c.expires_at < now)
                if self.overlay.dialect == "postgresql":
                    still_free = sa.true()  # the advisory lock decided; the row only shows who holds it
                done = conn.execute(lease.update().where(lease.c.name == self.name, still_free).values(acquired_at=now, **values))
            else:
                done = conn.execute(lease.update().where(lease.c.name == self.name, lease.c.holder == self.holder).values(**values))
        return done.rowcount == 1


def note_standby(overlay: Overlay, holder: str, seconds: int, *, waiting: bool = True) -> None:
    """Say (for `seconds`) that `holder` waits as a standby, or that it no longer does: `scheduler status` and the doctor show them."""
    name = f"{STANDBY}{holder[-8:]}"  # the holder's random part: unique, and within the column
    with overlay.begin() as conn:
        conn.execute(lease.delete().where(lease.c.name == name))
        if waiting:
            now = utc_now()
            conn.execute(lease.insert().values(name=name, holder=holder, acquired_at=now, renewed_at=now, expires_at=now + dt.timedelta(seconds=seconds)))


def standbys(overlay: Overlay) -> list[str]:
    """The holders that said they wait as standbys and have not stopped saying so."""
    with overlay.connect() as conn:
        return list(conn.execute(sa.select(lease.c.holder).where(lease.c.name.startswith(STANDBY), lease.c.expires_at >= utc_now())).scalars())


def ever_led(overlay: Overlay, name: str = SCHEDULER) -> bool:
    """Whether any process ever took the lease `name` here (a scheduler ran on this overlay once)."""
    with overlay.connect() as conn:
        return conn.execute(sa.select(lease.c.name).where(lease.c.name == name)).first() is not None


def current_leader(overlay: Overlay, name: str = SCHEDULER) -> Leader | None:
    """Who holds the lease `name`, and whether that holder is alive (PostgreSQL: the lock is held; SQLite: not expired)."""
    with overlay.connect() as conn:
        row = conn.execute(sa.select(lease).where(lease.c.name == name)).first()
    if row is None or row.holder is None:
        return None
    if overlay.dialect == "postgresql":
        alive = overlay.is_locked(f"lease.{name}")
    else:
        alive = row.expires_at is not None and row.expires_at >= utc_now()
    return Leader(row.holder, row.acquired_at, row.renewed_at, row.expires_at, alive)
