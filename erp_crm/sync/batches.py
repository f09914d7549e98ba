"""Reading one entity in batches, in key order, never cutting the rows of one key in two.

Keys must be unique, but definitions get them wrong (order lines keyed by the order id,
tickets by a number that repeats). Rows that share a key are quarantined together, so a
batch must hold all of them: the rows of a batch's last key wait for the next batch.
Keyed pages (ODBC) go on after the last key of a page, so a key cut at the end of a full
page would lose the rest of its rows; the page is cut before that key instead and the
next page reads it again. Rows without a key are read once, on their own: `key > x` never
meets them and where NULLs sort differs between databases.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from erp_crm.sync.plan import ReadPlan
from erp_crm.sync.source import ErpSource, UndecodableText

Row = tuple[Any, ...]
HELD_BATCHES = 10  # a key shared by more rows than this many batches is let through in parts


class KeyOrderedReader:
    """The batches of one query over `plan`, in key order after a given key."""

    def __init__(self, erp: ErpSource, plan: ReadPlan, size: int) -> None:
        self.erp = erp
        self.plan = plan
        self.size = size
        self.positions = plan.mapper.key_positions

    def key_values(self, row: Row) -> list[Any]:
        return [row[i] for i in self.positions]

    def batches(self, where: Sequence[sa.ColumnElement[bool]], last_key: Sequence[Any] | None) -> Iterator[list[Row]]:
        """Batches of the rows matching `where` after `last_key`, each holding whole keys."""
        if self.erp.streams:
            yield from self._streamed(where, last_key)
        else:
            yield from self._keyed_pages(where, last_key)

    def _last_group_start(self, rows: list[Row]) -> int:
        """Where the rows of the last row's key begin (0: the whole list is one key)."""
        last = self.key_values(rows[-1])
        start = len(rows) - 1
        while start > 0 and self.key_values(rows[start - 1]) == last:
            start -= 1
        return start

    def _streamed(self, where: Sequence[sa.ColumnElement[bool]], last_key: Sequence[Any] | None) -> Iterator[list[Row]]:
        """One query read in batches; the rows of each batch's last key wait for the next batch."""
        held: list[Row] = []
        while True:
            try:
                for rows in self.erp.rows(self.erp.compile(self.plan.select([*where, *self.plan.after(last_key)])), self.size):
                    batch = held + list(rows)
                    cut = self._last_group_start(batch)
                    if cut == 0 and len(batch) < HELD_BATCHES * self.size:
                        held = batch
                        continue
                    cut = cut or len(batch)  # one key over many batches: its rows go on in parts
                    held = batch[cut:]
                    last_key = self.key_values(batch[cut - 1])
                    yield batch[:cut]
                break
            except UndecodableText:
                self.erp.decode_text_leniently()  # and read on after the last batch handed out
                held = []  # they are read again
        if held:
            yield held

    def _fetch(self, where: Sequence[sa.ColumnElement[bool]], limit: int | None) -> list[Row]:
        query = self.erp.compile(self.plan.select(where, limit=limit))
        return [row for batch in self.erp.rows(query, self.size) for row in batch]

    def _keyed_pages(self, where: Sequence[sa.ColumnElement[bool]], last_key: Sequence[Any] | None) -> Iterator[list[Row]]:
        """Pages of `size` rows after the last key of the one before; then the rows without a key."""
        keyed = [*where, *(k.is_not(None) for k in self.plan.keys)]
        while True:
            page = self._fetch([*keyed, *self.plan.after(last_key)], self.size)
            if len(page) < self.size:
                if page:
                    yield page
                break
            cut = self._last_group_start(page)
            if cut == 0:  # a whole page of one key: read all of that key's rows at once
                page = self._fetch([*keyed, self.plan.key_in([self.key_values(page[0])])], None)
                cut = len(page)
            last_key = self.key_values(page[cut - 1])
            yield page[:cut]
        keyless = self._fetch([*where, sa.or_(*(k.is_(None) for k in self.plan.keys))], None)
        if keyless:
            yield keyless
