"""`dispatch`: hand queued outbox messages to their servers, each at most once.

Every message goes through three steps:

1. claim a batch: the rows are reserved for this dispatcher (`claimed_by`) and stay
   `queued`, so a dispatcher that dies now leaves nothing ambiguous: the next one
   releases them. On PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so dispatchers on
   several machines share the queue without waiting for each other; on SQLite one
   dispatcher runs at a time (a lock beside the database file).
2. mark it `sending` and commit, before a byte goes to the server;
3. send, and record what the server said: `sent`, `failed`, `unknown`, or `queued` again
   with a later `due_at` when the server deferred it before taking the content.

What the server said of one message is written in the transaction that marks the next
one `sending` (or in the run's last one), so a message costs one commit, not two. This
moves no line of the at-most-once rule: until that commit the message is `sending`, as
it would be between a send and its own record, and a crash in between leaves it
`unknown`. A run that must pause (a server asking to slow down) writes it before it
sleeps.

A dispatcher killed between 2 and 3 leaves a `sending` row. At its next start (or any
dispatcher's, on PostgreSQL, once the dead one's lock is gone) such a row becomes
`unknown`: the server may have taken it, so it is never sent again without a person
deciding (`erp-crm outbox review`). A server that asks to slow down makes the
dispatcher pause (at least as long as its `Retry-After` says), longer each time it asks
again, and stop for this run past a limit. A result marked `stop` (wrong credentials, a
gateway that cannot be reached) ends the run at once: the next message would meet it too.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa

from erp_crm.automation.consent import is_hard_bounce, refusal, sendable, suppress_address
from erp_crm.automation.outbox import log_sent, paused_reason, utc_now
from erp_crm.automation.smtp_send import ConnectionFailed, Outcome, SendResult
from erp_crm.errors import UserError
from erp_crm.model.tables.outbox import outbox
from erp_crm.settings.sending import ConsentSection, OutboxSection
from erp_crm.store.overlay import Overlay

ONE_AT_A_TIME = "outbox-dispatch"  # SQLite: the lock that keeps a second dispatcher out
_DISPATCHER = "outbox-dispatcher."  # PostgreSQL: each dispatcher's own lock, which says it is alive
SWITCH_EVERY = 1.0  # seconds: how soon a dispatcher sees the kill switch flipped (it finishes the message in hand)


class Claimed(NamedTuple):
    """A reserved row, with what a sender needs to build the message."""

    id: int
    key: str
    channel: str
    partner_id: int | None
    recipient: str
    recipient_name: str
    subject: str | None
    body: str
    html: str | None
    unsubscribe_url: str | None
    mime: str | None
    attempts: int
    expires_at: dt.datetime


_CLAIMED = [outbox.c[name] for name in Claimed._fields]


class Sender(Protocol):
    """One channel's way out (e-mail over SMTP; SMS and webhooks over HTTP)."""

    def prepare(self, row: Claimed) -> Any:
        """The message ready to go; a UserError when its content cannot be sent (it fails, nothing leaves)."""

    def ready(self) -> None:
        """Open the connection if there is none; ConnectionFailed when the server cannot be reached (nothing was sent)."""

    def send(self, prepared: Any, row: Claimed) -> SendResult: ...

    def close(self) -> None: ...


@dataclass
class DispatchReport:
    """What one run did; `error` is set when it stopped because a server could not be reached."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0  # back in the queue for a later retry
    unknown: int = 0
    expired: int = 0
    suppressed: int = 0  # an opt-out or a suppressed address found just before sending
    recovered: int = 0  # rows a dead dispatcher left `sending`, now `unknown`
    released: int = 0  # rows a dead dispatcher had reserved, or this one could not send now, back in the queue
    throttled: int = 0  # answers asking to slow down
    paused: str | None = None
    stopped: str | None = None  # why the run stopped before the queue was empty (slow-down limit)
    error: str | None = None  # also: a server refused the credentials, which every further message would meet
    waiting: dict[str, int] = field(default_factory=dict)  # due messages of channels that are not set up

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


Clock = Callable[[], dt.datetime]


def dispatch(
    overlay: Overlay,
    section: OutboxSection,
    senders: Mapping[str, Sender],
    *,
    limit: int | None = None,
    consent: ConsentSection | None = None,
    clock: Clock = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    only: Collection[str] | None = None,
    keys: Collection[str] | None = None,
) -> DispatchReport:
    """Send due messages of the channels in `senders` until none is due, `limit` were handled, or a stop.

    `only`: just these channels (`outbox dispatch --channel sms`); `keys`: just these
    messages (a test send, which must not take the queue's other messages with it).
    """
    me = uuid.uuid4().hex
    report = DispatchReport()
    if only is not None:
        senders = {channel: sender for channel, sender in senders.items() if channel in only}
    with _alive(overlay, me):
        report.recovered, report.released = recover(overlay, me)
        run = _Run(overlay, section, consent or ConsentSection(), senders, me, report, clock, sleep, keys)
        try:
            run.until_done(limit)
        finally:
            for sender in senders.values():
                sender.close()
    with overlay.connect() as conn:
        report.waiting = _waiting(conn, senders, clock(), only)
    return report


@contextmanager
def _alive(overlay: Overlay, me: str) -> Iterator[None]:
    """Hold the lock that tells other dispatchers this one is alive (on SQLite: the only one)."""
    if overlay.dialect == "sqlite":
        with overlay.lock(ONE_AT_A_TIME, "another outbox dispatch is running on this overlay"):
            yield
    else:
        with overlay.lock(_DISPATCHER + me, "a dispatcher with this id is running"):
            yield


def recover(overlay: Overlay, me: str) -> tuple[int, int]:
    """Settle what dead dispatchers left: `sending` rows become `unknown`, reserved ones are released. (unknown, released)."""
    with overlay.begin() as conn:
        # only queued and sending rows are ever claimed: asked by status, through the queue's index, not over every message ever sent
        claimed = sa.select(outbox.c.claimed_by).where(outbox.c.status.in_(("queued", "sending")), outbox.c.claimed_by.is_not(None))
        holders = conn.execute(claimed.distinct()).scalars().all()
    dead = [h for h in holders if h != me and (overlay.dialect == "sqlite" or not overlay.is_locked(_DISPATCHER + h))]
    if not dead:
        return 0, 0
    now = utc_now()
    with overlay.begin() as conn:
        lost = conn.execute(
            sa.update(outbox)
            .where(outbox.c.claimed_by.in_(dead), outbox.c.status == "sending")
            .values(status="unknown", claimed_by=None, finished_at=now, reason="the dispatcher stopped while sending it: it may have been delivered")
        ).rowcount
        freed = conn.execute(sa.update(outbox).where(outbox.c.claimed_by.in_(dead), outbox.c.status == "queued").values(claimed_by=None)).rowcount
    return lost, freed


class _Run:
    """One dispatcher's loop over its claims, with the slow-down it owes a throttling server."""

    def __init__(
        self,
        overlay: Overlay,
        section: OutboxSection,
        consent: ConsentSection,
        senders: Mapping[str, Sender],
        me: str,
        report: DispatchReport,
        clock: Clock,
        sleep: Callable[[float], None],
        keys: Collection[str] | None = None,
    ) -> None:
        self.overlay, self.section, self.consent, self.senders, self.me = overlay, section, consent, senders, me
        self.report, self.clock, self.sleep, self.keys = report, clock, sleep, keys
        self.pause = 0.0
        self.switch_read_at = -SWITCH_EVERY  # the kill switch is read before the first message, then once a second
        self.unrecorded: tuple[Claimed, SendResult] | None = None  # the last message sent, and its answer, written by the next transaction

    def until_done(self, limit: int | None) -> None:
        try:
            self._until_done(limit)
        finally:
            self._record_now()

    def _until_done(self, limit: int | None) -> None:
        handled = 0
        while limit is None or handled < limit:
            batch = self.section.batch if limit is None else min(self.section.batch, limit - handled)
            rows = self._claim(batch)
            if not rows:
                return
            for index, row in enumerate(rows):
                if not self._one(row):
                    self._release(rows[index:])
                    return
            handled += len(rows)

    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        """A transaction of this run, which first writes what the server said of the last message (kept for the next one if it fails)."""
        pending, self.unrecorded = self.unrecorded, None
        try:
            with self.overlay.begin() as conn:
                if pending is not None:
                    self._record(conn, *pending)
                yield conn
        except BaseException:
            self.unrecorded = self.unrecorded or pending
            raise

    def _record_now(self) -> None:
        if self.unrecorded is not None:
            with self._transaction():
                pass

    def _claim(self, batch: int) -> list[Claimed]:
        now = self.clock()
        with self._transaction() as conn:
            ids = (
                sa.select(outbox.c.id)
                .where(outbox.c.status == "queued", outbox.c.claimed_by.is_(None), outbox.c.due_at <= now, outbox.c.channel.in_(list(self.senders)))
                .where(outbox.c.key.in_(list(self.keys)) if self.keys is not None else sa.true())
                .order_by(outbox.c.due_at, outbox.c.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
            chosen = conn.execute(ids).scalars().all()
            if not chosen:
                return []
            conn.execute(sa.update(outbox).where(outbox.c.id.in_(chosen)).values(claimed_by=self.me, claimed_at=now))
            found = conn.execute(sa.select(*_CLAIMED).where(outbox.c.id.in_(chosen)).order_by(outbox.c.due_at, outbox.c.id))
            return [Claimed(*r) for r in found]

    def _one(self, row: Claimed) -> bool:
        """Handle one reserved row; False when the run must stop (paused, unreachable, told to slow down too long)."""
        if row.expires_at <= self.clock():
            self._finish(row.id, status="expired", reason=f"not sent by {row.expires_at:%Y-%m-%d %H:%M} UTC")
            self.report.expired += 1
            return True
        sender = self.senders[row.channel]
        try:
            prepared = sender.prepare(row)
        except UserError as error:
            self._finish(row.id, status="failed", reason=f"cannot be sent: {error}")
            self.report.failed += 1
            return True
        try:
            sender.ready()
        except ConnectionFailed as error:
            self.report.error = f"cannot reach the {row.channel} server: {error}"
            return False
        if not self._mark_sending(row):
            return self.report.paused is None
        result = sender.send(prepared, row)
        self.unrecorded = (row, result)
        if result.stop:  # the same end waits for every further message (bad credentials, no server)
            self.report.error = f"the {row.channel} server: {result.detail}"
            return False
        return self._paced(result)

    def _mark_sending(self, row: Claimed) -> bool:
        """Commit `sending` unless the kill switch is on; False when the message is not to be sent now."""
        now = self.clock()
        with self._transaction() as conn:
            if time.monotonic() >= self.switch_read_at + SWITCH_EVERY:
                self.report.paused, self.switch_read_at = paused_reason(conn), time.monotonic()
            if self.report.paused is not None:
                return False
            marked = conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == row.id, outbox.c.claimed_by == self.me, outbox.c.status == "queued", sendable(self.consent))
                .values(status="sending", attempts=outbox.c.attempts + 1, claimed_at=now)
            ).rowcount
            if marked == 1:
                return True
            refused = refusal(conn, row.partner_id, row.channel, row.recipient, self.consent)
            if refused:  # an opt-out (or a bounce) that came while it waited in the queue
                self._finish(row.id, "suppressed", refused, conn)
                self.report.suppressed += 1
        return False  # no longer this dispatcher's (a person settled it meanwhile), or refused

    def _record(self, conn: sa.Connection, row: Claimed, result: SendResult) -> None:
        now = self.clock()
        answer = {"answer_code": result.code, "answer": result.detail[:2000] or None}
        if result.outcome is Outcome.SENT:
            self._finish(row.id, "sent", None, conn, **answer)
            log_sent(conn, row.id, now)
            self.report.sent += 1
        elif result.outcome is Outcome.UNKNOWN:
            self._finish(row.id, "unknown", result.detail, conn, **answer)
            self.report.unknown += 1
        elif result.outcome is Outcome.REFUSED and is_hard_bounce(result.code, result.detail):
            self._finish(row.id, "failed", result.detail, conn, **answer)
            suppress_address(conn, row.channel, row.recipient, f"{result.code} {result.detail}", "bounce", now)
            self.report.failed += 1
        elif result.outcome is Outcome.REFUSED or row.attempts + 1 >= self.section.max_attempts:
            said = result.detail if result.outcome is Outcome.REFUSED else f"deferred {row.attempts + 1} times; last: {result.detail}"
            self._finish(row.id, "failed", said, conn, **answer)
            self.report.failed += 1
        else:
            wait = result.retry_after or min(self.section.retry_after * 2**row.attempts, self.section.retry_at_most)
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == row.id)
                .values(status="queued", claimed_by=None, due_at=now + dt.timedelta(seconds=wait), reason=result.detail or None, **answer)
            )
            self.report.deferred += 1

    def _paced(self, result: SendResult) -> bool:
        """Slow down while the server asks to (twice as long each time it asks again); False past the longest pause."""
        if not result.throttled:
            self.pause = self.pause / 2 if self.pause > self.section.throttle_pause else 0.0
            return True
        self.report.throttled += 1
        self._record_now()  # not left unwritten through the pause
        self.pause = max(self.pause * 2 if self.pause else self.section.throttle_pause, result.retry_after or 0.0)
        if self.pause > self.section.throttle_pause_at_most:
            self.report.stopped = f"the server kept asking to slow down; the rest waits for the next run (last answer: {result.code} {result.detail})"
            return False
        self.sleep(self.pause)
        return True

    def _finish(self, outbox_id: int, status: str, reason: str | None, conn: sa.Connection | None = None, **more: object) -> None:
        values = {"status": status, "reason": reason, "claimed_by": None, "finished_at": self.clock(), **more}
        statement = sa.update(outbox).where(outbox.c.id == outbox_id).values(values)
        if conn is not None:
            conn.execute(statement)
            return
        with self._transaction() as own:
            own.execute(statement)

    def _release(self, rows: Sequence[Claimed]) -> None:
        """Give back the rows this run reserved and did not send: still queued, free for the next dispatcher."""
        with self._transaction() as conn:
            self.report.released += conn.execute(
                sa.update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]), outbox.c.claimed_by == self.me, outbox.c.status == "queued")
                .values(claimed_by=None)
            ).rowcount


def _waiting(conn: sa.Connection, senders: Mapping[str, Sender], now: dt.datetime, only: Collection[str] | None) -> dict[str, int]:
    """Due messages of channels this run could not send (not set up), so the report does not hide them."""
    counts = conn.execute(
        sa.select(outbox.c.channel, sa.func.count())
        .where(outbox.c.status == "queued", outbox.c.due_at <= now, outbox.c.channel.not_in(list(senders)))
        .where(outbox.c.channel.in_(list(only)) if only is not None else sa.true())
        .group_by(outbox.c.channel)
    )
    return {str(channel): int(n) for channel, n in counts}
