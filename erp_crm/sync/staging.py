"""Two staging tables and a thread that fills one while a bulk load inserts from the other.

A bulk load's batch is two pieces of work on two different connections: reading the
ERP's rows into a staging table, and inserting them from there into the overlay. Done
one after the other, one core waits while the other works; done side by side, a batch's
reading hides behind the insert of the one before. The feeds (`bulk_pg`, `bulk_sqlite`)
say how a batch is read into a table; this says which table, and when.

The tables alternate: the next batch goes to the table the batch being inserted does
not read, and only once that batch's transaction is over is its table filled again.
A batch is known by the very object the load describes it with (its conditions), which
the load hands over twice, once to read ahead and once to insert; a batch asked for
that is not the one read ahead (the load fell back to the row path in between) is read
then. The thread also turns the conditions into SQL, off the inserting thread's path.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

Job = TypeVar("Job")
Filled = TypeVar("Filled")


class TwoTables(Generic[Job, Filled]):
    """`fill(job, table)` run in a thread of its own, into the two `tables` by turns; a job is known by its identity."""

    def __init__(self, tables: list[str], fill: Callable[[Job, str], Filled]) -> None:
        self.tables = tables
        self.fill = fill
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="erp-crm-stage")
        self.pending: tuple[Job, Future[Filled]] | None = None
        self.free = 0  # the table the next fill goes to: not the one the batch being inserted reads

    def start(self, job: Job) -> None:
        """Begin filling a table with the batch `job`, unless it is being filled already."""
        if self.pending is not None and self.pending[0] is job:
            return
        self.settle()
        table = self.tables[self.free]
        self.free = 1 - self.free
        self.pending = (job, self.thread.submit(self.fill, job, table))

    def take(self, job: Job) -> Filled:
        """What filling the batch `job` gave, once it is done; its error, if it failed."""
        self.start(job)
        assert self.pending is not None  # just started
        future = self.pending[1]
        self.pending = None
        return future.result()

    def settle(self) -> None:
        """Wait for a fill no batch will read (a batch refused, the load given up): its table is about to be reused."""
        if self.pending is not None:
            _, future = self.pending
            self.pending = None
            future.exception()  # its error, if any, is that of a batch nobody reads

    def close(self) -> None:
        self.settle()
        self.thread.shutdown(wait=True)
