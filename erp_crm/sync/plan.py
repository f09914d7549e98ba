"""The SELECT statements one entity is read with.

One place builds every variant (whole table, changed since a cursor, after a key,
the lines of some parents, some keys again), so ordering and filtering can never
disagree between a full run, an incremental one and a resumed one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from erp_crm.model.canonical import Entity
from erp_crm.sync.definition import Definition, EntitySpec, params_in
from erp_crm.sync.mapping import RowMapper, compile_mapper


def _bound(sql: str, params: dict[str, Any]) -> sa.TextClause:
    """SQL text from a definition with its :params bound, never pasted in."""
    clause = sa.text(sql)
    return clause.bindparams(**{k: params[k] for k in params_in(sql) if k in params})


def _source(spec: EntitySpec, columns: Sequence[str], name: str, params: dict[str, Any]) -> sa.FromClause:
    if spec.table is not None:
        schema, _, table = spec.table.rpartition(".")
        return sa.table(table, *(sa.column(c) for c in dict.fromkeys(columns)), schema=schema or None)
    return _bound(spec.query or "", params).columns(*(sa.column(c) for c in dict.fromkeys(columns))).subquery(name)


class ReadPlan:
    def __init__(self, entity: Entity, spec: EntitySpec, definition: Definition) -> None:
        self.entity = entity
        self.spec = spec
        self.mapper: RowMapper = compile_mapper(entity, spec)
        self._checking_mapper: RowMapper | None = None
        plain = [s.column for s in self.mapper.select if s.column is not None]
        self.source = _source(spec, plain, f"src_{entity.name}", definition.params)
        self.items = [s.expression(self.source) for s in self.mapper.select]
        self.keys = [self._column(k) for k in spec.key]
        self.change = None
        if spec.change is not None:
            self.change = self._column(spec.change.column) if spec.change.column else sa.literal_column(f"({spec.change.sql})")
        # parenthesised, so that `a OR b` stays one condition beside the key range and the change
        # column; the newline ends a `--` comment the filter may close with
        self.filter = _bound(f"({spec.filter}\n)", definition.params) if spec.filter else None

    def mapper_for(self, lenient_text: bool) -> RowMapper:
        """The mapper; once the source decodes text leniently, one that checks for broken bytes."""
        if not lenient_text:
            return self.mapper
        if self._checking_mapper is None:
            self._checking_mapper = compile_mapper(self.entity, self.spec, check_encoding=True)
        return self._checking_mapper

    def _column(self, name: str) -> sa.ColumnElement[Any]:
        return self.source.c[name] if name in self.source.c else sa.column(name)

    # -- predicates ---------------------------------------------------------------

    def conditions(self, since: Any = None) -> list[sa.ColumnElement[bool]]:
        """The filter, and with `since` only rows changed since then."""
        # the filter is SQL text, which SQLAlchemy takes wherever a boolean clause goes
        where: list[sa.ColumnElement[bool]] = [self.filter] if self.filter is not None else []  # type: ignore[list-item]
        return where + self.changed_since(since)

    def changed_since(self, since: Any) -> list[sa.ColumnElement[bool]]:
        """Rows whose change value is at or after `since`, and rows without one (they may have changed)."""
        if since is None or self.change is None:
            return []
        return [sa.or_(self.change >= sa.bindparam("since", since), self.change.is_(None))]

    def whole_pass(self) -> list[sa.ColumnElement[bool]]:
        """The rows a full read takes: those the filter keeps."""
        return self.conditions()

    def after(self, last_key: Sequence[Any] | None) -> list[sa.ColumnElement[bool]]:
        """Rows after `last_key` in key order, written out so SQL Server understands it too."""
        if not last_key:
            return []
        alternatives = []
        for n in range(len(self.keys)):
            equal = [self.keys[i] == sa.bindparam(f"k{i}", last_key[i]) for i in range(n)]
            alternatives.append(sa.and_(*equal, self.keys[n] > sa.bindparam(f"k{n}", last_key[n])))
        return [sa.or_(*alternatives)]

    def up_to(self, key: Any) -> list[sa.ColumnElement[bool]]:
        """Rows with a key, up to and including `key` (None: no bound); a single-column key, as the bulk load's batches have."""
        return [self.keys[0].is_not(None), *([] if key is None else [self.keys[0] <= sa.bindparam("up_to", key)])]

    def without_key(self) -> list[sa.ColumnElement[bool]]:
        return [sa.or_(*(k.is_(None) for k in self.keys))]

    def key_in(self, keys: Sequence[Sequence[Any]]) -> sa.ColumnElement[bool]:
        if len(self.keys) == 1:
            return self.keys[0].in_([k[0] for k in keys])
        return sa.or_(*(sa.and_(*(col == value for col, value in zip(self.keys, key))) for key in keys))

    # -- statements ---------------------------------------------------------------

    def select(self, where: Sequence[sa.ColumnElement[bool]], limit: int | None = None) -> sa.Select[Any]:
        statement = sa.select(*self.items).select_from(self.source).where(*where).order_by(*self.keys)
        return statement.limit(limit) if limit else statement

    def key_select(self, where: Sequence[sa.ColumnElement[bool]], limit: int | None = None, with_change: bool = False) -> sa.Select[Any]:
        """Only the keys (and the change value): for paging parents and for key sets."""
        columns = list(self.keys) + ([self.change] if with_change and self.change is not None else [])
        statement = sa.select(*columns).select_from(self.source).where(*where).order_by(*self.keys)
        return statement.limit(limit) if limit else statement

    def nth_key(self, where: Sequence[sa.ColumnElement[bool]], n: int) -> sa.Select[Any]:
        """The key of the `n`-th row (from 1) with a key among those matching `where`, in key order: where a batch ends."""
        return self.key_select([*where, *(k.is_not(None) for k in self.keys)], limit=1).offset(n - 1)

    def shared_keys(self, where: Sequence[sa.ColumnElement[bool]], limit: int | None = None, with_count: bool = False) -> sa.Select[Any]:
        """The key values that more than one of the rows matching `where` have (keys must be unique, and may not be)."""
        not_null = [k.is_not(None) for k in self.keys]
        columns = [*self.keys, sa.func.count()] if with_count else self.keys
        statement = sa.select(*columns).select_from(self.source).where(*where, *not_null).group_by(*self.keys).having(sa.func.count() > 1)
        return statement.limit(limit) if limit else statement

    def keyless(self) -> sa.Select[Any]:
        """How many rows a whole pass meets without a key (they go to quarantine)."""
        return sa.select(sa.func.count()).select_from(self.source).where(*self.whole_pass(), sa.or_(*(k.is_(None) for k in self.keys)))

    def max_change(self, finite_only: bool = False, at_most: Any = None) -> sa.Select[Any]:
        """The highest change value; `finite_only` leaves out PostgreSQL's 'infinity' stamps (date and time
        columns only), `at_most` the stamps after it (state.future_limit)."""
        assert self.change is not None
        bounds: list[sa.ColumnElement[Any]] = [sa.func.isfinite(self.change)] if finite_only else []
        if at_most is not None:
            bounds.append(self.change <= sa.bindparam("at_most", at_most))
        return sa.select(sa.func.max(self.change)).select_from(self.source).where(*self.conditions(), *bounds)


class LinePlan(ReadPlan):
    """Lines read through their parent: the lines of chosen parents, and only of parents the parent's filter keeps."""

    def __init__(self, entity: Entity, spec: EntitySpec, definition: Definition, parent: ReadPlan) -> None:
        super().__init__(entity, spec, definition)
        self.parent = parent
        parent_field = entity.parent_field
        assert parent_field is not None
        column = spec.fields[parent_field.name].column
        assert column is not None
        self.parent_column = self._column(column)

    def of_kept_parents(self) -> list[sa.ColumnElement[bool]]:
        """Lines whose parent passes the parent's filter (drafts' lines are not wanted)."""
        if self.parent.filter is None:
            return []
        kept = sa.select(self.parent.keys[0]).select_from(self.parent.source).where(*self.parent.conditions())
        return [self.parent_column.in_(kept)]

    def whole_pass(self) -> list[sa.ColumnElement[bool]]:
        return self.conditions() + self.of_kept_parents()

    def orphans(self) -> sa.Select[Any] | None:
        """How many lines name no document or one the ERP does not have (None: a parent with a composite key cannot be asked).

        Lines are read through their documents, so such lines are never read; `check` says so.
        """
        if len(self.parent.keys) != 1:
            return None
        parent_key = self.parent.keys[0]
        parents = sa.select(parent_key).select_from(self.parent.source).where(parent_key.is_not(None))
        missing = sa.or_(self.parent_column.is_(None), self.parent_column.not_in(parents))
        return sa.select(sa.func.count()).select_from(self.source).where(*self.conditions(), missing)

    def of_parents(self, parent_keys: Sequence[Any], as_array: bool = False) -> list[sa.ColumnElement[bool]]:
        """The lines of these parents; `as_array` (the ERP binds arrays) sends whole-number keys as one array.

        Five thousand parameters cost the ERP's parser and the driver more than the
        reading they select (PostgreSQL: 0.8 s against 0.6 s for a million lines). Only
        whole numbers go as an array: text would compare as `text`, and a `char(n)`
        column loses its padding there, which the parameters' own type keeps.
        """
        keys = list(parent_keys)
        if as_array and keys and all(type(k) is int for k in keys):
            return [self.parent_column == sa.func.any(sa.bindparam("parents", keys, unique=True))]
        return [self.parent_column.in_(keys)]


def build_plans(definition: Definition) -> dict[str, ReadPlan]:
    """Plans for every mapped entity; lines without a change column follow their parent."""
    plans: dict[str, ReadPlan] = {}
    for entity, spec in definition.ordered():
        parent = entity.parent_field
        if parent is not None and parent.ref in plans:
            plans[entity.name] = LinePlan(entity, spec, definition, plans[parent.ref])
        else:
            plans[entity.name] = ReadPlan(entity, spec, definition)
    return plans
