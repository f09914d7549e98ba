"""`sync_source`: copy an ERP's history into the overlay, in batches, resumably.

Each entity is read in key order.  Every batch is written in one overlay transaction
together with how far the run got, so a run killed at any point resumes where its
last batch committed and re-reading a batch is harmless (unchanged rows are skipped by
hash).  Incremental runs read rows changed since the cursor minus a lookback window;
lines without a change column are read through their changed parents; reconciliation
runs also compare key sets to find what the ERP deleted.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.errors import SourceError, UserError
from erp_crm.model.tables.sync import quarantine, sync_run, sync_seen
from erp_crm.model.tables.synced import SYNCED, ref_id_column
from erp_crm.settings.base import parse_duration
from erp_crm.settings.databases import ErpSettings
from erp_crm.store import change_feed
from erp_crm.store.driver import dialect_insert
from erp_crm.store.overlay import Overlay
from erp_crm.sync import deferred_indexes
from erp_crm.sync import state as sync_state
from erp_crm.sync.batches import KeyOrderedReader, Row
from erp_crm.sync.bulk import BulkLoad
from erp_crm.sync.definition import Definition
from erp_crm.sync.erp_keys import key_is_unique
from erp_crm.sync.mapping import KEY_SEPARATOR, BadValue, erp_key
from erp_crm.sync.plan import LinePlan, ReadPlan, build_plans
from erp_crm.sync.source import ErpSource
from erp_crm.sync.writer import EntityWriter, chunks, json_safe, quarantine_rows, release_from_quarantine

log = logging.getLogger(__name__)
Mode = Literal["incremental", "full", "reconcile"]
PARENT_CHUNK = 500
BULK_SCALE = 10  # a first load's batches are this many times larger: its rows never pass through Python
PROBED_KEYS = 100_000  # a pass that wrote more keys than this probes the whole table for shared keys
BULK_REFUSALS = 3  # batches the bulk load may hand to the row path before the row path takes the rest of the entity
SHARED_KEY = (
    "key {key!r} is not unique: {n} rows of the ERP share it, so none is taken "
    "(the definition's key must name one row; a composite key lists several columns: docs/connectors.md)"
)


@dataclass
class EntityCounts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    deleted: int = 0
    shared_keys: int = 0  # rows quarantined because another row of the ERP has their key (in quarantined too)
    seconds: float = 0.0

    def add(self, other: EntityCounts) -> None:
        """Add a further pass of the same entity (a resumed pass and its catch-up)."""
        for f in fields(self):
            setattr(self, f.name, round(getattr(self, f.name) + getattr(other, f.name), 3))


@dataclass
class RunReport:
    run_id: int
    mode: str
    source: str
    entities: dict[str, EntityCounts] = field(default_factory=dict)
    seconds: float = 0.0
    quarantine_total: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "entities": {k: asdict(v) for k, v in self.entities.items()}}


Progress = Callable[[str, int, int | None], None]  # entity, rows read, rows expected (if known)


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _key_text(values: Sequence[Any]) -> str:
    """Raw key values as the overlay keeps the key (as `RowMapper.key_of` makes it)."""
    return KEY_SEPARATOR.join(erp_key(v) for v in values)


class EntitySync:
    """One entity of one run."""

    def __init__(self, run: SyncRun, plan: ReadPlan, mode: Mode | None = None) -> None:
        self.run = run
        self.plan = plan
        self.mode: Mode = mode or run.mode
        self.entity = plan.entity
        self.name = plan.entity.name
        self.counts = EntityCounts()
        self.mapper = plan.mapper
        self.reader = KeyOrderedReader(run.erp, plan, run.batch_size)
        self.seen_keys: list[str] = []
        self.written: dict[str, list[Any]] = {}  # key → raw key values written by a partial pass, to probe
        self.copies: Counter[str] = Counter()  # quarantine entries of keyless rows handed out in this pass
        self.set_apart: set[str] = set()  # keys this pass found shared and quarantined
        self.analyzed_at = 0
        self.resumed = False
        self.bulk: BulkLoad | None = None
        self.bulk_refused = 0
        self.keys_deferred = False  # the first load dropped the overlay's unique key (`sync.deferred_indexes`)

    # -- the run --------------------------------------------------------------------

    def execute(self) -> EntityCounts:
        """Read the entity's rows into the overlay; any refusal by the ERP names the entity."""
        try:
            return self._execute()
        except SourceError as exc:
            raise SourceError(f"{self.name}: {exc}; `erp-crm check` shows what does not fit") from None

    def _execute(self) -> EntityCounts:
        started = time.perf_counter()
        run, overlay = self.run, self.run.overlay
        with overlay.begin() as conn:
            self.writer = EntityWriter(conn, self.entity, run.source_name)
            previous = sync_state.load(conn, run.source_name, self.name)
            self.has_quarantine = self._quarantine_count(conn) > 0
            t = SYNCED[self.name]
            self.writer.empty = conn.execute(sa.select(t.c.id).where(t.c.source == run.source_name).limit(1)).first() is None
            deferred_indexes.restore(conn, t)  # a first load that died left them dropped
        pending = previous.pending if previous.pending and previous.pending.get("mode") == self.mode else None
        self.resumed = pending is not None
        if pending is None:
            high = self._high_water()
            whole = self.mode != "incremental" or previous.cursor is None or self._cursor_plan().change is None
            since = None if whole else sync_state.before(previous.cursor, run.lookback)
            pending = {"mode": self.mode, "since": sync_state.encode(since), "high": sync_state.encode(high), "last_key": None, "first_run": run.run_id}
            # A pass that meets every row the ERP has knows which rows it no longer has: a reconciliation,
            # and an incremental pass over an entity without a change column, read whole every time.
            pending["seen"] = self.mode == "reconcile" or (whole and self.mode == "incremental" and not self._follows_parent() and not self.writer.empty)
            with overlay.begin() as conn:
                if self.writer.empty:  # a first load logs no rows to the change feed: it says "everyone" instead
                    pending["first_load"] = True
                    change_feed.record_everyone(conn, self.name, _now())
                if pending["seen"]:
                    conn.execute(sa.delete(sync_seen).where(sync_seen.c.source == run.source_name, sync_seen.c.entity == self.name))
                sync_state.save(conn, run.source_name, self.name, cursor=previous.cursor, pending=pending, now=_now())
        self.pending = pending
        self.cursor = previous.cursor  # kept as it is until the entity finishes
        self.since = sync_state.decode(pending["since"])
        self.expected = self._expected_rows() if run.counts_rows and self.since is None else None
        self.bulk = self._bulk_load()
        deferred = self.bulk is not None and self.bulk.feed.defers_indexes and self._defer_indexes()
        try:
            if self._follows_parent():
                self._read_through_parents()
            else:
                self._read_in_key_order()
        finally:
            if self.bulk is not None:
                self.bulk.close()
        if deferred:
            with overlay.begin() as conn:
                deferred_indexes.restore(conn, SYNCED[self.name])
        self._probe_shared_keys()
        if self.mode == "incremental" and self.has_quarantine:
            self._retry_quarantined()
        with overlay.begin() as conn:
            self._finish(conn)
        if self.counts.inserted > self.analyzed_at:
            self._analyze()
        self.counts.seconds = round(time.perf_counter() - started, 3)
        if self.counts.inserted:
            run.gained_rows.add(self.name)
        log.info("%s: %s", self.name, asdict(self.counts))
        if self.counts.quarantined:
            log.warning("%s: %d rows went to quarantine (erp-crm sync quarantine --entity %s)", self.name, self.counts.quarantined, self.name)
        return self.counts

    def left_behind(self) -> bool:
        """Whether this pass resumed an interrupted one over an entity read by change, so rows may have changed behind it."""
        return self.resumed and self._cursor_plan().change is not None

    def _follows_parent(self) -> bool:
        return isinstance(self.plan, LinePlan) and self.plan.change is None

    def _cursor_plan(self) -> ReadPlan:
        return self.plan.parent if isinstance(self.plan, LinePlan) and self._follows_parent() else self.plan

    def _high_water(self) -> Any:
        """The change value reached at the start: the next cursor (rows changed during the run are read again next time)."""
        plan = self._cursor_plan()
        if plan.change is None:
            return None
        finite_only = False
        try:
            high = self.run.erp.scalar(plan.max_change())
        except SourceError:
            if self.run.erp.dialect_name != "postgresql":
                raise
            # PostgreSQL stamps may be 'infinity', which no Python date holds: such a row is read on every run
            # (it is always at or after the cursor), and the cursor is the highest stamp that is a date.
            finite_only = True
            high = self.run.erp.scalar(plan.max_change(finite_only=True))
        if sync_state.unordered_text(high):
            log.warning("%s: the highest change value %r is not a date: no cursor is kept, so the entity is read whole", self.name, high)
            return None
        limit = sync_state.future_limit(high, datetime.now())
        if limit is None:
            return high
        log.warning("%s: change stamps in the future (the latest %s) are read on every run; the cursor stays at %s at most", self.name, high, limit)
        return self.run.erp.scalar(plan.max_change(finite_only=finite_only, at_most=limit))

    def _expected_rows(self) -> int:
        """How many rows a whole pass reads, for a progress bar."""
        where = self.plan.whole_pass()
        return int(self.run.erp.scalar(sa.select(sa.func.count()).select_from(self.plan.source).where(*where)) or 0)

    def _quarantine_count(self, conn: Connection) -> int:
        q = quarantine
        return conn.execute(
            sa.select(sa.func.count()).where(q.c.source == self.run.source_name, q.c.entity == self.name)
        ).scalar_one()

    # -- reading ------------------------------------------------------------------------

    def _read_in_key_order(self) -> None:
        where = self.plan.whole_pass() + self.plan.changed_since(self.since)
        last_key = sync_state.decode(self.pending["last_key"])
        if self.bulk is not None:
            self._bulk_in_key_order(where, last_key)
            return
        self._rows_in_key_order(where, last_key)

    def _rows_in_key_order(self, where: list[sa.ColumnElement[bool]], last_key: Any) -> None:
        for rows in self.reader.batches(where, last_key):
            self.pending["last_key"] = sync_state.encode(self.reader.key_values(rows[-1]))
            self._write_batch(rows, save_progress=True)

    def _bulk_in_key_order(self, where: list[sa.ColumnElement[bool]], last_key: Any) -> None:
        """Batches up to a key `batch_size` rows on, each loaded by the overlay or, if it refuses one, row by row.

        Rows without a key come first, as in the row path (SQLite sorts NULL first), so a
        run resumed after the first batch never needs them again.
        """
        plan = self.plan
        if last_key is None:
            for rows in self.reader.batches([*where, *plan.without_key()], None):
                self._write_batch(rows, save_progress=False)
        ahead = self._key_range(where, last_key)
        while self.bulk is not None:
            part, end = ahead
            ahead = self._key_range(where, [end]) if end is not None else ahead
            reached = self.pending["last_key"] if end is None else sync_state.encode([end])
            if not self._bulk_write(part, reached, following=ahead[0] if end is not None else None):
                self._rows_in_key_order([*where, *plan.up_to(end)], last_key)
            if end is None:
                return
            last_key = [end]
        self._rows_in_key_order([*where, *plan.up_to(None)], last_key)

    def _key_range(self, where: list[sa.ColumnElement[bool]], last_key: Any) -> tuple[list[sa.ColumnElement[bool]], Any]:
        """The conditions of the bulk batch after `last_key`, and the key it ends at (None: it runs to the end)."""
        after = [*where, *self.plan.after(last_key)]
        end = self.run.erp.scalar(self.plan.nth_key(after, self.run.batch_size * BULK_SCALE))
        return [*after, *self.plan.up_to(end)], end

    def _bulk_load(self) -> BulkLoad | None:
        """The overlay's own load of a first pass (`sync.bulk`), where it can do it."""
        first = self.writer.empty and self.since is None and not self.has_quarantine and not self.pending.get("seen")
        return BulkLoad.open(self.run.overlay, self.run.erp, self.plan, self.run.source_name) if first else None

    def _defer_indexes(self) -> bool:
        """Drop the table's secondary indexes for the first load (`sync.deferred_indexes`), if it is empty of every source;
        its unique key too where the ERP's is unique."""
        with self.run.overlay.begin() as conn:
            deferred = deferred_indexes.defer(conn, SYNCED[self.name], unique_key=self.unique_key)
        self.keys_deferred = deferred and self.unique_key
        return deferred

    @functools.cached_property
    def unique_key(self) -> bool:
        """Whether the ERP refuses a second row of a key (`sync.erp_keys`): then no key is shared, and none is probed for."""
        return key_is_unique(self.run.erp, self.plan.spec)

    def _bulk_write(self, where: list[sa.ColumnElement[bool]], reached: Any, following: list[sa.ColumnElement[bool]] | None) -> bool:
        """One batch loaded by the overlay, with `reached` as the resume point, the `following` one fetched meanwhile; False: nothing written, the row path's turn."""
        assert self.bulk is not None

        def save(conn: Connection) -> None:
            self.pending["last_key"] = reached
            self._save_progress(conn)

        written = self.bulk.insert(where, _now(), save, following)
        if written is None:
            if self.keys_deferred:  # the row path upserts by it
                with self.run.overlay.begin() as conn:
                    deferred_indexes.restore_keys(conn, SYNCED[self.name])
                self.keys_deferred = False
            self.bulk_refused += 1
            if self.bulk_refused >= BULK_REFUSALS:
                log.info("%s: %d batches needed the row path; it reads the rest", self.name, self.bulk_refused)
                self.bulk.close()
                self.bulk = None
            return False
        c = self.counts
        c.read += written
        c.inserted += written
        self.run.progress(self.name, c.read, self.expected)
        return True

    def _read_through_parents(self) -> None:
        plan = self.plan
        assert isinstance(plan, LinePlan)
        own_where = plan.conditions()
        chunk = PARENT_CHUNK * (BULK_SCALE if self.bulk is not None else 1)
        chunks = self._parent_chunks(sync_state.decode(self.pending["last_key"]), chunk)
        parent_keys = next(chunks, [])
        arrays = self.run.erp.binds_arrays
        lines = [*own_where, *plan.of_parents(parent_keys, arrays)]
        while parent_keys:
            upcoming = next(chunks, []) if len(parent_keys) == chunk else []
            self.seen_keys = []
            last = [parent_keys[-1]]
            following = [*own_where, *plan.of_parents(upcoming, arrays)] if upcoming else None  # next turn's `lines`: the same object
            if self.bulk is None or not self._bulk_write(lines, sync_state.encode(last), following):
                for rows in self.reader.batches(lines, None):
                    self._write_batch(rows, save_progress=False)
                self.pending["last_key"] = sync_state.encode(last)
                with self.run.overlay.begin() as conn:
                    if not self.writer.empty:  # a first load has nothing to sweep
                        self._sweep_lines(conn, parent_keys)
                    self._save_progress(conn)
            parent_keys, lines = upcoming, following or []

    def _parent_chunks(self, last: Any, chunk: int) -> Iterator[list[Any]]:
        """The keys of the parents to read the lines of, `chunk` at a time in key order after `last`."""
        plan = self.plan
        assert isinstance(plan, LinePlan)
        erp, parent_where = self.run.erp, plan.parent.conditions(self.since)
        while True:
            query = erp.compile(plan.parent.key_select([*parent_where, *plan.parent.after(last)], limit=chunk))
            keys = [row[0] for batch in erp.rows(query, chunk) for row in batch]
            if not keys:
                return
            yield keys
            last = [keys[-1]]

    def _retry_quarantined(self) -> None:
        """Rows that failed before are read again by key: the ERP may have fixed them,
        or the partner they pointed at may have arrived since."""
        q = quarantine
        where, after_id = self.plan.whole_pass(), 0
        while True:  # a page at a time: a broken mapping may have sent millions of rows here
            with self.run.overlay.connect() as conn:
                part = conn.execute(
                    sa.select(q.c.id, q.c.erp_key, q.c.key_values)
                    .where(
                        q.c.source == self.run.source_name,
                        q.c.entity == self.name,
                        q.c.erp_key.is_not(None),
                        q.c.key_values.is_not(None),
                        q.c.last_run_id != self.run.run_id,  # not already met in this run
                        q.c.id > after_id,
                    )
                    .order_by(q.c.id)
                    .limit(PARENT_CHUNK)
                ).all()
            if not part:
                return
            after_id = part[-1].id
            found: set[str] = set()
            for rows in self.reader.batches([*where, self.plan.key_in([r.key_values for r in part])], None):
                found.update(self._write_batch(rows, save_progress=False))
            gone = [r.erp_key for r in part if r.erp_key not in found]
            if gone:  # deleted in the ERP or no longer passing the filter: nothing left to fix
                with self.run.overlay.begin() as conn:
                    release_from_quarantine(conn, self.run.source_name, self.name, gone)

    # -- writing ------------------------------------------------------------------------

    def _write_batch(self, rows: list[Row], *, save_progress: bool) -> set[str]:
        """Map, write and quarantine one batch; returns the keys the batch met (written or quarantined)."""
        mapped, bad = [], []
        map_row = self.plan.mapper_for(self.run.erp.lenient_text).map_row
        for row in rows:
            try:
                mapped.append(map_row(row))
            except BadValue as exc:
                bad.append(self._bad_row(row, str(exc)))
        keys = [m[0] for m in mapped] + [b["key"] for b in bad if b["key"] is not None]
        shared = {k for k, n in Counter(keys).items() if n > 1} if len(set(keys)) < len(keys) else set()
        if shared:
            self.set_apart.update(shared)
            mapped = [m for m in mapped if m[0] not in shared]
            bad = [b for b in bad if b["key"] not in shared] + self._shared_rows(rows, shared)
        now = _now()
        with self.run.overlay.begin() as conn:
            if shared:
                self._retire(conn, sorted(shared), now)
            result = self.writer.write(conn, mapped, now)
            if result.rejected:
                raw_by_key = {self.mapper.key_of(r): r for r in rows}
                bad.extend(self._bad_row(raw_by_key[mapped_row[0]], reason) for mapped_row, reason in result.rejected)
            quarantine_rows(conn, self.run.source_name, self.name, bad, now, self.run.run_id)
            if self.has_quarantine:
                release_from_quarantine(conn, self.run.source_name, self.name, result.written_keys)
            met = result.written_keys + [b["key"] for b in bad if b["key"] is not None]  # rows the ERP still has
            if self.pending.get("seen"):
                self._record_seen(conn, met)
            if self._follows_parent():
                self.seen_keys.extend(met)
            if save_progress:
                self._save_progress(conn)
        if self.since is not None and result.written_keys:  # a partial pass: are the keys it wrote shared with rows it did not read?
            written = set(result.written_keys)
            self.written.update((k, self.reader.key_values(r)) for r in rows if (k := self.mapper.key_of(r)) in written)
        c = self.counts
        c.read += len(rows)
        c.inserted += result.inserted
        c.updated += result.updated
        c.unchanged += result.unchanged
        c.quarantined += len(bad)
        c.shared_keys += sum(1 for b in bad if b["key"] in shared)
        if not self.writer.empty and c.inserted >= max(1000, 2 * self.analyzed_at):
            self._analyze()
        self.run.progress(self.name, c.read, self.expected)
        return {*result.written_keys, *(b["erp_key"] for b in bad)}

    def _shared_rows(self, rows: list[Row], shared: set[str]) -> list[dict[str, Any]]:
        """Every row whose key another row of the batch has, for quarantine: one entry each, none kept.

        The quarantine holds one entry per key, so the second and later rows of a key get
        entries of their own ("K (row 2 of 3)"); each keeps the real key values, so the rows
        are read again by key and leave quarantine once the ERP's keys are unique.
        """
        by_key: dict[str, list[Row]] = {}
        for row in rows:
            key = self.mapper.key_of(row)
            if key in shared:
                by_key.setdefault(key, []).append(row)
        out = []
        for key, group in by_key.items():
            reason = SHARED_KEY.format(key=key, n=len(group))
            for n, row in enumerate(group, start=1):
                out.append(self._bad_row(row, reason, entry=key if n == 1 else f"{key} (row {n} of {len(group)})"))
        return out

    def _retire(self, conn: Connection, keys: list[str], now: datetime) -> None:
        """Overlay rows whose key turned out to be shared stop counting: which ERP row they held is unknown."""
        t = SYNCED[self.name]
        for part in chunks(keys):
            live = sa.and_(t.c.source == self.run.source_name, t.c.erp_key.in_(part), t.c.erp_deleted_at.is_(None))
            change_feed.record_rows(conn, self.name, live, now)
            self.counts.deleted += conn.execute(sa.update(t).where(live).values(erp_deleted_at=now)).rowcount or 0

    def _probe_shared_keys(self) -> None:
        """Rows that share a key but were not read together: quarantine them all.

        Key order brings the rows of one key together, except where a pass reads by parts:
        lines through their documents (a line key that repeats in several documents), and
        partial passes (a changed row whose key an unchanged row also has). The ERP is
        asked which of the keys are shared, and their rows are read again together, unless
        its catalog says no key can be (`sync.erp_keys`).
        """
        whole = self.since is None
        if (whole and not self._follows_parent()) or self.unique_key:
            return
        where = self.plan.whole_pass()
        # The ERP is asked without the parent's filter, which SQLite evaluates anew for every probe (a tenth of
        # a second on 100,000 documents, for each 500 keys). A key shared only with a line of a document that
        # filter drops is read again with it, found single, and written as it was.
        asked = self.plan.conditions()
        if whole or len(self.written) > PROBED_KEYS:
            probes: list[list[sa.ColumnElement[bool]]] = [asked]
        else:
            written = list(self.written.values())
            probes = [[*asked, self.plan.key_in(written[i : i + PARENT_CHUNK])] for i in range(0, len(written), PARENT_CHUNK)]
        for probe in probes:
            query = self.run.erp.compile(self.plan.shared_keys(probe))
            found = (list(row) for batch in self.run.erp.rows(query, PARENT_CHUNK) for row in batch)
            shared = [values for values in found if _key_text(values) not in self.set_apart]
            for i in range(0, len(shared), PARENT_CHUNK):
                for rows in self.reader.batches([*where, self.plan.key_in(shared[i : i + PARENT_CHUNK])], None):
                    self._write_batch(rows, save_progress=False)

    def _analyze(self) -> None:
        """Fresh planner statistics while a PostgreSQL table fills up.

        Without them (autovacuum lags, or is off) PostgreSQL looks up each batch's keys
        by scanning the whole table, and a first load slows down with every batch. The
        thresholds double, so a load of n rows costs about log2(n) quick sampling passes.
        A first load looks up no keys of its own table (there are none to compare, and
        COPY needs no lookup), so it is analysed once, at its end: on 100,000 lines the
        passes in between took a fifth of the load.
        """
        self.analyzed_at = self.counts.inserted
        if self.run.overlay.dialect == "postgresql":
            with self.run.overlay.begin() as conn:
                conn.exec_driver_sql(f'ANALYZE "{SYNCED[self.name].name}"')

    def _bad_row(self, row: Row, reason: str, entry: str | None = None) -> dict[str, Any]:
        """A quarantine entry: `entry` (the row's key by default) and the key values to read it again by.

        A row without a key gets an entry named after its values, so meeting it again on
        the next run updates that entry instead of adding another.
        """
        key = self.mapper.key_of(row)
        raw = self.mapper.raw(row)
        if entry is None and key is None:
            digest = hashlib.md5(json.dumps({k: json_safe(v) for k, v in raw.items()}, sort_keys=True).encode(), usedforsecurity=False).hexdigest()
            self.copies[digest] += 1
            entry = f"(no key) {digest}" + (f" (copy {self.copies[digest]})" if self.copies[digest] > 1 else "")
        return {
            "erp_key": entry or key,
            "key": key,
            "key_values": self.reader.key_values(row) if key is not None else None,
            "reason": reason,
            "raw": raw,
        }

    def _record_seen(self, conn: Connection, keys: list[str]) -> None:
        if keys:
            conn.execute(
                dialect_insert(conn, sync_seen).on_conflict_do_nothing(),
                [{"source": self.run.source_name, "entity": self.name, "erp_key": k} for k in dict.fromkeys(keys)],
            )

    def _save_progress(self, conn: Connection) -> None:
        sync_state.save(conn, self.run.source_name, self.name, cursor=self.cursor, pending=self.pending, now=_now())

    def _sweep_lines(self, conn: Connection, parent_keys: list[Any]) -> None:
        """Lines of re-read parents that the ERP no longer has were deleted there."""
        t = SYNCED[self.name]
        parent = self.entity.parent_field
        assert parent is not None and parent.ref is not None
        ids = self.writer.resolve(conn, parent.ref, {erp_key(k) for k in parent_keys})
        parent_ids = [ids[k] for k in map(erp_key, parent_keys) if k in ids]
        seen = set(self.seen_keys)
        gone: list[str] = []
        for part in chunks(parent_ids):
            rows = conn.execute(
                sa.select(t.c.erp_key).where(t.c[ref_id_column(parent.name)].in_(part), t.c.erp_deleted_at.is_(None))
            ).scalars()
            gone.extend(k for k in rows if k not in seen)
        now = _now()
        for part in chunks(gone):
            where = sa.and_(t.c.source == self.run.source_name, t.c.erp_key.in_(part))
            change_feed.record_rows(conn, self.name, where, now)
            conn.execute(sa.update(t).where(where).values(erp_deleted_at=now))
        self.counts.deleted += len(gone)

    def _finish(self, conn: Connection) -> None:
        run, t, now = self.run, SYNCED[self.name], _now()
        if self.pending.get("first_load"):
            # Its rows looked their references up as they were written, after the entities they name had
            # loaded (the order is by dependency): only a reference to its own rows can have arrived since.
            self.writer.resolve_late_references(conn, {self.name}, now)
            change_feed.record_everyone(conn, self.name, now)  # said again at the end, for consumers that ran during the load
        else:
            self.writer.resolve_late_references(conn, None if self.mode != "incremental" else run.gained_rows, now)
        if self.pending.get("seen"):
            seen = sa.select(sync_seen.c.erp_key).where(sync_seen.c.source == run.source_name, sync_seen.c.entity == self.name)
            vanished = sa.and_(t.c.source == run.source_name, t.c.erp_deleted_at.is_(None), t.c.erp_key.not_in(seen))
            change_feed.record_rows(conn, self.name, vanished, now)
            result = conn.execute(sa.update(t).where(vanished).values(erp_deleted_at=now))
            self.counts.deleted += result.rowcount or 0
            conn.execute(sa.delete(sync_seen).where(sync_seen.c.source == run.source_name, sync_seen.c.entity == self.name))
        if self.mode != "incremental":  # a whole pass met every row still there: older entries are gone from the ERP
            conn.execute(
                sa.delete(quarantine).where(
                    quarantine.c.source == run.source_name,
                    quarantine.c.entity == self.name,
                    quarantine.c.last_run_id < self.pending["first_run"],
                )
            )
        cursor = sync_state.decode(self.pending["high"])
        sync_state.save(conn, run.source_name, self.name, cursor=cursor, pending=None, now=_now())


def _sync_entity(run: SyncRun, plan: ReadPlan) -> EntityCounts:
    """One entity's pass; a pass that resumed an interrupted one is followed by an incremental one.

    A resumed pass goes on after the last key it reached, so rows before that key that
    changed while it was down are not read, and its cursor is the one of the interrupted
    run: the incremental pass reads what changed since, so the run ends up to date.
    """
    entity = EntitySync(run, plan)
    counts = entity.execute()
    if entity.left_behind():
        log.info("%s: resumed an interrupted pass; reading what changed since it began", plan.entity.name)
        counts.add(EntitySync(run, plan, mode="incremental").execute())
    return counts


class SyncRun:
    def __init__(
        self, settings: ErpSettings, definition: Definition, overlay: Overlay, erp: ErpSource, mode: Mode, progress: Progress | None, run_id: int
    ) -> None:
        self.run_id = run_id
        self.gained_rows: set[str] = set()  # entities that got new rows in this run
        self.definition = definition
        self.overlay = overlay
        self.erp = erp
        self.mode = mode
        self.progress = progress or (lambda _entity, _read, _expected: None)
        self.counts_rows = progress is not None
        self.source_name = settings.source
        self.batch_size = settings.batch_size or definition.batch_size
        self.lookback = parse_duration(settings.lookback) if settings.lookback else definition.lookback_seconds


def sync_source(
    overlay: Overlay,
    settings: ErpSettings,
    definition: Definition,
    *,
    mode: Mode = "incremental",
    entities: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Sync the ERP that `settings` and `definition` (`sync.definition.load_connector`) describe into the overlay; record the run."""
    unknown = [e for e in entities or () if e not in definition.entities]
    if unknown:
        raise UserError(f"--entity {unknown[0]}: the connector {definition.name} maps {', '.join(definition.entities)}")
    started = time.perf_counter()
    busy = f"another sync of source {settings.source!r} is running on this overlay"
    with overlay.lock(f"sync.{settings.source}", busy), ErpSource(settings, definition) as erp:
        if settings.require_read_only:
            why = erp.can_write()
            if why:
                raise SourceError(
                    f"the ERP connection {erp.label} can write ({why}); connect with a read-only role "
                    "(see docs/operations.md) or set erp.require_read_only: false"
                )
        with overlay.begin() as conn:
            # We hold the lock, so a run still marked running was killed before it could say so.
            conn.execute(
                sa.update(sync_run)
                .where(sync_run.c.source == settings.source, sync_run.c.status == "running")
                .values(status="interrupted", error="the process ended before the run finished")
            )
            inserted = conn.execute(
                sa.insert(sync_run).values(source=settings.source, mode=mode, started_at=_now(), status="running")
            ).inserted_primary_key
            assert inserted is not None  # a single-row INSERT reports the key it made
            run_id = inserted[0]
        report = RunReport(run_id=run_id, mode=mode, source=settings.source)
        log.info("sync run %s (%s) of %s from %s", run_id, mode, settings.source, erp.label)
        run = SyncRun(settings, definition, overlay, erp, mode, progress, run_id)
        plans = build_plans(definition)
        try:
            for name, plan in plans.items():
                if entities and name not in entities:
                    continue
                report.entities[name] = _sync_entity(run, plan)
        except BaseException as exc:
            log.error("sync run %s (%s) failed: %s", run_id, mode, exc)
            with overlay.begin() as conn:
                conn.execute(
                    sa.update(sync_run).where(sync_run.c.id == run_id).values(
                        status="failed", finished_at=_now(), error=str(exc)[:2000], counts={k: asdict(v) for k, v in report.entities.items()}
                    )
                )
            raise
        report.seconds = round(time.perf_counter() - started, 3)
        with overlay.begin() as conn:
            report.quarantine_total = conn.execute(
                sa.select(sa.func.count()).select_from(quarantine).where(quarantine.c.source == settings.source)
            ).scalar_one()
            conn.execute(
                sa.update(sync_run).where(sync_run.c.id == run_id).values(
                    status="ok", finished_at=_now(), counts={k: asdict(v) for k, v in report.entities.items()}
                )
            )
            change_feed.prune(conn, _now())
    return report
