"""What a sync did and what it could not take, for people and for scripts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from erp_crm.model.tables import quarantine
from erp_crm.settings import Settings
from erp_crm.sync.engine import RunReport, open_overlay

_COLUMNS = ("read", "inserted", "updated", "unchanged", "quarantined", "deleted")


def format_report(report: RunReport) -> str:
    """A table of per-entity counts, then one line with the totals."""
    head = f"{'entity':<14}" + "".join(f"{c:>12}" for c in _COLUMNS) + f"{'seconds':>9}"
    lines = [f"sync run {report.run_id} ({report.mode}) of source {report.source!r}", head, "-" * len(head)]
    for name, counts in report.entities.items():
        lines.append(f"{name:<14}" + "".join(f"{getattr(counts, c):>12,}" for c in _COLUMNS) + f"{counts.seconds:>9.2f}")
    total_read = sum(c.read for c in report.entities.values())
    rate = total_read / report.seconds if report.seconds else 0.0
    lines.append(f"{total_read:,} rows in {report.seconds:.2f} s ({rate:,.0f} rows/s)")
    if report.quarantine_total:
        lines.append(f"{report.quarantine_total:,} rows wait in quarantine: see `erp-crm sync quarantine`")
    return "\n".join(lines)


def list_quarantine(settings: Settings, *, entity: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    engine = open_overlay(settings)
    q = quarantine
    statement = sa.select(q.c.entity, q.c.erp_key, q.c.reason, q.c.raw, q.c.first_seen_at, q.c.last_seen_at).where(
        q.c.source == settings.erp.source
    )
    if entity:
        statement = statement.where(q.c.entity == entity)
    statement = statement.order_by(q.c.entity, q.c.erp_key).limit(limit)
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(statement)]
    engine.dispose()
    return rows


def format_quarantine(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "quarantine is empty"
    lines = []
    for row in rows:
        raw = ", ".join(f"{k}={v!r}" for k, v in row["raw"].items())
        lines.append(f"{row['entity']} {row['erp_key'] or '(no key)'}: {row['reason']}\n    since {row['first_seen_at']}; {raw}")
    return "\n".join(lines)
