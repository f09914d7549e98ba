"""Where each entity's sync stands: the cursor of the last finished run and the progress
of an unfinished one.  Both are written in the same transaction as the rows they
describe, so a crash can never leave a cursor ahead of the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables.sync import sync_state
from erp_crm.store.driver import dialect_insert


def encode(value: Any) -> Any:
    """A cursor or key value as JSON that decodes to the same Python type."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


_DECODERS: dict[str, Callable[[str], Any]] = {"datetime": datetime.fromisoformat, "date": date.fromisoformat, "decimal": Decimal}


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        (kind, text), = value.items()
        return _DECODERS[kind](text)
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def before(value: Any, seconds: int) -> Any:
    """The cursor moved back by the lookback window, in the change column's own type.

    SQLite (and some ODBC drivers) hand dates back as text; the result keeps that shape
    so the comparison in the ERP stays a like-for-like one.
    """
    if seconds <= 0 or value is None:
        return value
    if isinstance(value, datetime):
        return value - timedelta(seconds=seconds)
    if isinstance(value, date):
        return value - timedelta(days=max(1, -(-seconds // 86400)))
    if isinstance(value, str):
        parsed = _parsed(value)
        if parsed is None:
            return value
        if len(value.strip()) == 10:
            return (parsed.date() - timedelta(days=max(1, -(-seconds // 86400)))).isoformat()
        return _shaped_like(value, parsed - timedelta(seconds=seconds))
    return value


def _parsed(text: str) -> datetime | None:
    """ISO date or date-and-time text as a datetime, or None when it is neither."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def _shaped_like(text: str, moment: datetime) -> str:
    """`moment` written as `text` writes its stamp (a date alone, or date and time with its separator and precision)."""
    if len(text.strip()) == 10:
        return moment.date().isoformat()
    return moment.isoformat(" " if " " in text else "T", timespec="seconds" if len(text.strip()) <= 19 else "auto")


FUTURE_MARGIN = timedelta(days=1)  # ERP clocks and time zones differ from ours by hours, not by a day


def future_limit(value: Any, now: datetime) -> Any:
    """The latest change value a cursor may take when `value` lies in the future, else None.

    One stamp typed a year ahead (or a clock that ran wrong) would otherwise become the
    cursor, and every row changed later, stamped with the real day, would fall behind it
    until a full run. The limit is `now` plus a margin, in the change column's own shape
    (a datetime, a date or ISO text) so the ERP compares like with like; a column of
    numbers (row versions) has no future and no limit.
    """
    if isinstance(value, datetime):
        limit = (now.astimezone(value.tzinfo) if value.tzinfo else now) + FUTURE_MARGIN
        return limit if value > limit else None
    if isinstance(value, date):
        day = (now + FUTURE_MARGIN).date()
        return day if value > day else None
    if isinstance(value, str):
        parsed = _parsed(value)
        if parsed is None:
            return None
        limit = (now.astimezone(parsed.tzinfo) if parsed.tzinfo else now) + FUTURE_MARGIN
        return _shaped_like(value, limit) if parsed > limit else None
    return None


def unordered_text(value: Any) -> bool:
    """Whether `value` is text that sorts among change stamps by accident: not a date, not digits.

    A text change column holding 'N/A' or 'hiányzik' sorts after every ISO stamp, so as a
    cursor it would hide every later change; such a cursor is not kept (the entity is read
    whole until the column holds stamps again).
    """
    return isinstance(value, str) and not value.strip().isdigit() and _parsed(value) is None


@dataclass
class EntityState:
    cursor: Any = None
    pending: dict[str, Any] | None = None
    exists: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def load(conn: Connection, source: str, entity: str) -> EntityState:
    row = conn.execute(
        sa.select(sync_state.c.cursor, sync_state.c.pending).where(sync_state.c.source == source, sync_state.c.entity == entity)
    ).first()
    if row is None:
        return EntityState()
    return EntityState(cursor=decode(row.cursor), pending=row.pending, exists=True)


def save(conn: Connection, source: str, entity: str, *, cursor: Any, pending: dict[str, Any] | None, now: datetime) -> None:
    statement = dialect_insert(conn, sync_state).values(
        source=source, entity=entity, cursor=encode(cursor), pending=pending, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["source", "entity"],
        set_={"cursor": statement.excluded.cursor, "pending": statement.excluded.pending, "updated_at": now},
    )
    conn.execute(statement)
