"""Counting both sides: how many rows the ERP offers per entity and how many the overlay holds.

The demo prints this, tests assert on it, and an admin can use it to see at a glance
that nothing was lost: every ERP row is either in the overlay or in quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from erp_crm.model.tables.sync import quarantine
from erp_crm.model.tables.synced import SYNCED
from erp_crm.settings.databases import ErpSettings
from erp_crm.store.overlay import Overlay
from erp_crm.sync.definition import load_connector
from erp_crm.sync.plan import build_plans
from erp_crm.sync.source import ErpSource


@dataclass
class EntityComparison:
    entity: str
    erp: int
    overlay: int
    quarantined: int

    @property
    def complete(self) -> bool:
        return self.erp == self.overlay + self.quarantined


def compare_counts(overlay: Overlay, settings: ErpSettings) -> list[EntityComparison]:
    definition = load_connector(settings)
    plans = build_plans(definition)
    erp_counts: dict[str, int] = {}
    with ErpSource(settings, definition) as erp:
        for name, plan in plans.items():
            erp_counts[name] = erp.scalar(sa.select(sa.func.count()).select_from(plan.source).where(*plan.whole_pass()))
    source = settings.source
    result = []
    with overlay.connect() as conn:
        for name in plans:
            t = SYNCED[name]
            kept = conn.execute(
                sa.select(sa.func.count()).select_from(t).where(t.c.source == source, t.c.erp_deleted_at.is_(None))
            ).scalar_one()
            held = conn.execute(
                sa.select(sa.func.count()).select_from(quarantine).where(quarantine.c.source == source, quarantine.c.entity == name)
            ).scalar_one()
            result.append(EntityComparison(name, erp_counts[name], kept, held))
    return result
