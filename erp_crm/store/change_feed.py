"""The partner change feed (`crm_partner_change`): which partners' data changed, and when.

Incremental consumers (metrics, segment refreshes) recompute only the partners whose
inputs changed since their last run. Stamps on the rows themselves cannot tell them all
of it: a document moved to another partner leaves no trace on its old partner, a deleted
line no trace on its invoice's partner, and an index on every line table's `synced_at`
would tax each of a million line inserts. So whoever changes what a partner's figures
are made of writes a row here in the same transaction: the sync for every inserted,
updated, moved or deleted row (through the row's partner, or its document's partner for
lines), the metrics run for every partner whose figures it rewrote. Changes of dated
documents and their lines also say which day of the partner changed (the document's
date, before and after a change), so that the metrics recount that day alone.

A row without a partner means "any partner may have changed" (a product or user changed,
or a first load, where logging every row would only slow it down); consumers then go
over everyone. Rows older than `KEPT_DAYS` are pruned, and a consumer that last ran
before that goes over everyone too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.canonical import BY_NAME, Entity, Field
from erp_crm.model.tables.feed import partner_change
from erp_crm.model.tables.synced import SYNCED, ref_id_column

KEPT_DAYS = 40
IN_CHUNK = 900  # below every database's bound-parameter limit


# References whose target's partner a row changes too: an order changes the conversion
# rate of its quote's partner, usually but not always the order's own partner.
ALSO_CHANGES: dict[str, tuple[str, ...]] = {"order": ("quote",)}


class Path(NamedTuple):
    """How to find the partner a row changes: its id, the day of the document (or None), and what to select them from."""

    partner_id: sa.ColumnElement[int]
    day: sa.ColumnElement[dt.date] | None
    source: sa.FromClause


def owner_field(entity: Entity) -> Field | None:
    """The field that ties a row to a partner: its `partner` reference, or a line's document."""
    partner = entity.by_name.get("partner")
    if partner is not None and partner.ref == "partner":
        return partner
    return entity.parent_field


def dated(entity: Entity) -> bool:
    """Documents with a date (quotes, orders, invoices, payments) say which day of the partner changed."""
    return "date" in entity.by_name


def _through(t: sa.Table, field: Field) -> Path | None:
    """The partner (and date) of the document that `t`'s reference `field` points at."""
    target = SYNCED[field.ref or ""]
    target_entity = BY_NAME[field.ref or ""]
    target_owner = owner_field(target_entity)
    if target_owner is None or target_owner.ref != "partner":
        return None
    day = target.c.date if dated(target_entity) else None
    return Path(target.c[ref_id_column(target_owner.name)], day, t.join(target, target.c.id == t.c[ref_id_column(field.name)]))


def own_path(entity_name: str) -> Path | None:
    """The partner a row of `entity_name` belongs to; None for rows of no partner (products, users)."""
    entity, t = BY_NAME[entity_name], SYNCED[entity_name]
    if entity_name == "partner":
        return Path(t.c.id, None, t)
    owner = owner_field(entity)
    if owner is None:
        return None
    if owner.ref == "partner":
        return Path(t.c[ref_id_column(owner.name)], t.c.date if dated(entity) else None, t)
    return _through(t, owner)


def also_paths(entity_name: str) -> list[Path]:
    """Further partners a row of `entity_name` changes (`ALSO_CHANGES`)."""
    entity, t = BY_NAME[entity_name], SYNCED[entity_name]
    paths = (_through(t, entity.by_name[name]) for name in ALSO_CHANGES.get(entity_name, ()))
    return [p for p in paths if p is not None]


def record_partners(conn: Connection, entity: str, partners: Iterable[int | tuple[int | None, dt.date | None] | None], at: dt.datetime) -> None:
    """These partners' `entity` data changed at `at`: ids, or (id, day of the document) pairs."""
    pairs = {(p, None) if not isinstance(p, tuple) else p for p in partners}
    rows = [{"partner_id": int(pid), "day": day, "entity": entity, "changed_at": at} for pid, day in pairs if pid is not None]
    if rows:
        conn.execute(sa.insert(partner_change), sorted(rows, key=lambda r: (r["partner_id"], str(r["day"]))))


def record_selected(conn: Connection, entity: str, partner_ids: sa.Select[tuple[int]], at: dt.datetime) -> None:
    """The partners that `partner_ids` (a SELECT of ids) yields changed their `entity` data at `at`."""
    rows = sa.select(partner_ids.subquery().c[0], sa.literal(entity, sa.String()), sa.literal(at, sa.DateTime()))
    conn.execute(sa.insert(partner_change).from_select(["partner_id", "entity", "changed_at"], rows))


def record_everyone(conn: Connection, entity: str, at: dt.datetime) -> None:
    """Any partner's `entity` data may have changed at `at`."""
    conn.execute(sa.insert(partner_change).values(partner_id=None, entity=entity, changed_at=at))


def record_rows(
    conn: Connection, entity: str, where: sa.ColumnElement[bool], at: dt.datetime, *, label: str | None = None, paths: list[Path] | None = None
) -> None:
    """The partners of the `entity` rows matching `where` changed at `at` (found by the database).

    `paths` says which partners (by default the rows' own and `also_paths`); the feed says
    `label` changed (`entity` by default). For rows of no partner (products, users), any
    partner may have changed.
    """
    label = label or entity
    if paths is None:
        own = own_path(entity)
        if own is None:
            if conn.execute(sa.select(SYNCED[entity].c.id).where(where).limit(1)).first() is not None:
                record_everyone(conn, label, at)
            return
        paths = [own, *also_paths(entity)]
    for path in paths:
        day = path.day if path.day is not None else sa.cast(sa.null(), sa.Date())
        rows = (
            sa.select(path.partner_id, day, sa.literal(label, sa.String()), sa.literal(at, sa.DateTime()))
            .select_from(path.source)
            .where(where, path.partner_id.is_not(None))
            .distinct()
        )
        conn.execute(sa.insert(partner_change).from_select(["partner_id", "day", "entity", "changed_at"], rows))


def record_documents(conn: Connection, entity: str, document_ids: Collection[int], at: dt.datetime) -> None:
    """The partners (and days) of these documents changed their `entity` data (a line entity's) at `at`."""
    owner = owner_field(BY_NAME[entity])
    if not document_ids or owner is None or owner.ref == "partner":
        return
    parent, path = SYNCED[owner.ref or ""], own_path(owner.ref or "")
    if path is None:  # a document of no partner: nobody to name
        return
    ids = sorted(document_ids)
    for start in range(0, len(ids), IN_CHUNK):
        record_rows(conn, owner.ref or "", parent.c.id.in_(ids[start : start + IN_CHUNK]), at, label=entity, paths=[path])


def changed_entries(conn: Connection, since: dt.datetime, entities: Collection[str] | None = None) -> list[tuple[str, int, dt.date | None]] | None:
    """(what changed, partner, day of the document or None) at or after `since` (`entities` only, when given); None: possibly everyone."""
    if since < dt.datetime.now() - dt.timedelta(days=KEPT_DAYS):
        return None  # older rows may have been pruned
    c = partner_change.c
    query = sa.select(c.entity, c.partner_id, c.day).where(c.changed_at >= since).distinct()
    if entities is not None:
        query = query.where(c.entity.in_(sorted(entities)))
    found = [tuple(r) for r in conn.execute(query)]
    return None if any(partner_id is None for _, partner_id, _ in found) else found


def changed_any(conn: Connection, since: dt.datetime, entities: Collection[str]) -> bool:
    """Whether any of `entities` changed at or after `since` (one look through the index on the time)."""
    if since < dt.datetime.now() - dt.timedelta(days=KEPT_DAYS):
        return True  # older rows may have been pruned
    c = partner_change.c
    return conn.execute(sa.select(c.id).where(c.changed_at >= since, c.entity.in_(sorted(entities))).limit(1)).first() is not None


def changed_since(conn: Connection, since: dt.datetime, entities: Collection[str] | None = None) -> set[int] | None:
    """Partners changed at or after `since` (in `entities` only, when given); None: possibly everyone."""
    found = changed_entries(conn, since, entities)
    return None if found is None else {partner_id for _, partner_id, _ in found}


def prune(conn: Connection, now: dt.datetime) -> None:
    """Forget changes older than `KEPT_DAYS`."""
    conn.execute(sa.delete(partner_change).where(partner_change.c.changed_at < now - dt.timedelta(days=KEPT_DAYS)))
