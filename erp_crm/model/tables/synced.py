"""The synced tables, generated from the canonical entity list (`erp_crm.model.canonical`).

Every synced row carries its source (which ERP), its ERP key as text, when it was
last synced, a hash of its canonical values (so unchanged rows are never rewritten)
and, once the ERP no longer has it, when it vanished: rows are never physically
deleted, because CRM records (tasks, notes, enrolments) may point at them.
"""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.model.canonical import ENTITIES, Entity, Kind
from erp_crm.model.tables.base import KEY_LENGTH, metadata

_TYPES: dict[Kind, sa.types.TypeEngine] = {
    Kind.TEXT: sa.Text(),
    Kind.INT: sa.BigInteger(),
    Kind.DECIMAL: sa.Numeric(18, 4),
    Kind.BOOL: sa.Boolean(create_constraint=False),
    Kind.DATE: sa.Date(),
    Kind.DATETIME: sa.DateTime(),
}


# An ERP key is an identifier, never sorted for a reader: PostgreSQL compares it byte by
# byte, not by the database's language rules; the same equality, a cheaper index
# (migration 0014). SQLite compares bytes already.
_KEY = sa.String(KEY_LENGTH).with_variant(sa.String(KEY_LENGTH, collation="C"), "postgresql")


def ref_key_column(field_name: str) -> str:
    """Column holding the referenced row's ERP key (kept even when it does not resolve)."""
    return f"{field_name}_key"


def ref_id_column(field_name: str) -> str:
    """Column holding the referenced overlay row's id, for joins."""
    return f"{field_name}_id"


# The dates a metrics run on a new day looks up: documents dated since its last run start to count.
DATED = {("quote", "date"), ("order", "date"), ("invoice", "date"), ("ticket", "opened_at")}
# The dates chain triggers look up by day (erp_crm/automation/erp_triggers.py): invoices
# falling due, tickets closed, birthdays; a tick reads the few rows of its new days.
TRIGGER_DATES = {("invoice", "due_date"), ("ticket", "closed_at"), ("contact", "birth_date")}
# References indexed together with the document's date: a metrics run recounts one
# partner's invoices of one day (its `partner_id` alone is the index's first column).
WITH_DATE = {("invoice", "partner")}


def _synced_table(entity: Entity) -> sa.Table:
    columns: list[sa.schema.SchemaItem] = [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("erp_key", _KEY, nullable=False),
    ]
    for f in entity.fields:
        if f.ref:
            # Every index is paid for on each of a million line inserts: lines are found
            # through their document, so their product reference goes unindexed.  No
            # FOREIGN KEY either: the sync writes only ids it has just resolved, and
            # PostgreSQL's per-row constraint triggers cost two thirds of a load's time.
            indexed = not (entity.parent and f.ref == "product") and (entity.name, f.name) not in WITH_DATE
            columns.append(sa.Column(ref_key_column(f.name), sa.String(KEY_LENGTH)))
            columns.append(sa.Column(ref_id_column(f.name), sa.Integer, index=indexed))  # the id of the referenced entity's row
        else:
            columns.append(sa.Column(f.name, _TYPES[f.kind], index=(entity.name, f.name) in DATED | TRIGGER_DATES))
    columns += [
        sa.Column("row_hash", sa.String(32), nullable=False),
        sa.Column("synced_at", sa.DateTime, nullable=False),
        sa.Column("erp_deleted_at", sa.DateTime),
        sa.UniqueConstraint("source", "erp_key", name=f"uq_{entity.table}_source_key"),
    ]
    columns += [sa.Index(f"ix_{entity.table}_{ref_id_column(name)}_date", ref_id_column(name), "date") for e, name in WITH_DATE if e == entity.name]
    return sa.Table(entity.table, metadata, *columns)


SYNCED: dict[str, sa.Table] = {e.name: _synced_table(e) for e in ENTITIES}
