"""`chains tick`: publish changed chains, enrol from their triggers, and move every due enrolment on.

Waiting is data: an enrolment's `due_at` says when it next needs a look, so the tick
takes the due ones through an index (`status, due_at`), in batches, and its cost grows
with them, not with all the enrolments waiting.

Each batch is one transaction; each enrolment in it a savepoint. A step's effects (its
outbox row, its task, its log line, the enrolment's next step) commit together or not
at all, and an outbox row's key is (enrolment, step number), so no crash or race can
make a step send twice. An enrolment whose step cannot run (a template that fails for
this partner's data) is marked failed with the reason, and the batch goes on. On
PostgreSQL the batch is claimed with `FOR UPDATE SKIP LOCKED`, so several ticks (or
workers) share the due enrolments without waiting for each other; publishing and
enrolling are done by one tick at a time, and a tick that finds another at it leaves
them to that one. On SQLite one tick runs at a time.

Before every step the chain's exit rules are checked: its goal (the enrolment ends as
`goal`), `exit_when` and its suppression segments (it ends as `exited`); they are asked
for the whole batch at once, in the filter language the segments use.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.automation.chain_definition import EXIT, WEEKDAYS, ChainDef, Checks, Condition, Step, chain_files, load_chain
from erp_crm.automation.chain_store import Enrolled, Published, members, publish, stored_version
from erp_crm.automation.consent import UnsubscribeLinks
from erp_crm.automation.email_builder import EmailBuilder
from erp_crm.automation.erp_triggers import enrol_from_triggers, local_day
from erp_crm.automation.occurrences import occurrence_contact
from erp_crm.automation.outbox import Outgoing, enqueue, utc_now
from erp_crm.automation.owners import Actor, reassign
from erp_crm.automation.sandbox import TemplateProblem, compile_text, render_text
from erp_crm.automation.step_messages import Rules, Templates, queue_message, recipient
from erp_crm.automation.tasks import chain_owner, create_task
from erp_crm.automation.trigger_records import trigger_context
from erp_crm.errors import UserError
from erp_crm.model.tables.chains import enrolment, step_log
from erp_crm.model.tables.segments import segment
from erp_crm.model.tables.synced import SYNCED
from erp_crm.segments.compiler import compile_filter
from erp_crm.segments.fields import FieldRegistry
from erp_crm.settings.metrics import PurchasesFrom
from erp_crm.settings.sending import ChainsSection, ConsentSection, OutboxSection
from erp_crm.store.overlay import Overlay

ONE_AT_A_TIME = "chains-tick"  # SQLite: the whole tick
ENROLLING = "chains-enrol"  # PostgreSQL: publishing and enrolling; the batches need no lock
MOST_STEPS_AT_ONCE = 100  # a chain without loops runs at most its length between waits; this only guards the impossible
_DUE = ("id", "chain_id", "version_id", "partner_id", "occurrence", "step", "steps_taken", "waiting_until", "enrolled_at")


@dataclass
class TickReport:
    published: list[str] = field(default_factory=list)  # "winback v3"
    enrolled: Enrolled = field(default_factory=Enrolled)
    moved: int = 0  # enrolments looked at
    steps: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (chain, step, outcome)
    ended: Counter[str] = field(default_factory=Counter)  # done, goal, exited, failed
    failures: list[str] = field(default_factory=list)  # the first few reasons
    enrolling_elsewhere: bool = False  # another tick was publishing and enrolling, so this one left it to that one

    def as_dict(self) -> dict[str, Any]:
        return {
            "enrolling_elsewhere": self.enrolling_elsewhere,
            "published": self.published,
            "enrolled": self.enrolled.enrolled,
            "skipped": dict(self.enrolled.skipped),
            "moved": self.moved,
            "steps": [{"chain": c, "step": s, "outcome": o, "count": n} for (c, s, o), n in sorted(self.steps.items())],
            "ended": dict(self.ended),
            "failures": self.failures,
        }


@dataclass(frozen=True)
class Runtime:
    """What a tick needs besides the overlay: the home (chains, templates), the filter fields, its sections, the unsubscribe links."""

    home: Path
    registry: FieldRegistry
    chains: ChainsSection
    outbox: OutboxSection
    consent: ConsentSection = field(default_factory=ConsentSection)
    links: UnsubscribeLinks | None = None  # None: `web.public_url` is not set, and messages carry no unsubscribe link
    email: EmailBuilder | None = None  # None: no `email.sender` yet; e-mails are then built when they are sent
    purchases_from: PurchasesFrom = "invoices"  # what a purchase is, for the purchase triggers (metrics.purchases_from)
    webhooks: Mapping[str, str] = field(default_factory=dict)  # endpoint name: its URL (`webhooks:` in the settings)


def publish_all(conn: Connection, runtime: Runtime, now: dt.datetime, names: Sequence[str] = ()) -> list[Published]:
    """Read, check and publish the home's chain files (those named, or all); the first mistake stops with its file and line."""
    return [publish(conn, chain_def, data, str(path), now) for chain_def, data, path in read_chains(conn, runtime, now, names)]


def read_chains(conn: Connection, runtime: Runtime, now: dt.datetime, names: Sequence[str] = ()) -> list[tuple[ChainDef, Any, Path]]:
    """The home's chain files (those named, or all), each checked whole: (chain, its data as published, its file)."""
    checks = chain_checks(conn, runtime, now)
    files = chain_files(runtime.home)
    missing = sorted(set(names) - {p.stem for p in files})
    if missing:
        raise UserError(f"no chain named {missing[0]!r} in {runtime.home / 'jobs' / 'chains'} (chains: {', '.join(p.stem for p in files) or 'none'})")
    return [(*load_chain(path, checks), path) for path in files if not names or path.stem in names]


def chain_checks(conn: Connection, runtime: Runtime, now: dt.datetime) -> Checks:
    """What chain files are checked against: the filter fields, the segments the overlay knows, the home's templates, roles and ERP logins."""
    known = frozenset(conn.execute(sa.select(segment.c.name)).scalars())
    user = SYNCED["user"]
    logins = frozenset(conn.execute(sa.select(user.c.login).where(user.c.login.is_not(None), user.c.erp_deleted_at.is_(None))).scalars())
    return Checks(runtime.registry, known, runtime.home, now.date(), roles=runtime.chains.roles, logins=logins or None, webhooks=frozenset(runtime.webhooks))


def tick(overlay: Overlay, runtime: Runtime, *, now: dt.datetime | None = None, limit: int | None = None) -> TickReport:
    """Publish, enrol from triggers, then move due enrolments on (at most `limit`) until none is due."""
    with Tick(overlay, runtime, now or utc_now()) as run:
        run.enrol()
        while limit is None or run.report.moved < limit:
            size = runtime.chains.batch if limit is None else min(runtime.chains.batch, limit - run.report.moved)
            if not run.batch(size):
                break
    return run.report


class Tick:
    """One tick, a phase at a time: `enrol()` publishes and enrols, each `batch()` moves due enrolments on.

    `chains tick` runs one to its end; a worker runs its batches between other work. On
    SQLite the tick holds its one-at-a-time lock from entering the block to leaving it.
    On PostgreSQL the batches need no lock (SKIP LOCKED), and the enrolment phase is
    done by one tick at a time: a tick that finds another at it skips the phase rather
    than wait, since the other enrols the same partners and a waiting one would only
    find them enrolled (an occurrence enrols once, by a unique constraint).
    """

    def __init__(self, overlay: Overlay, runtime: Runtime, now: dt.datetime) -> None:
        self.overlay, self.runtime, self.now = overlay, runtime, now
        self.report = TickReport()
        self.runner = Runner(runtime, now, self.report)
        self._held = ExitStack()

    def __enter__(self) -> Tick:
        if self.overlay.dialect == "sqlite":
            self._held.enter_context(self.overlay.lock(ONE_AT_A_TIME, "another chain tick is running on this overlay"))
        return self

    def __exit__(self, *_exc: object) -> None:
        self._held.close()

    def enrol(self) -> None:
        """Publish changed chains and enrol from their triggers, in one transaction; skipped while another tick does it (PostgreSQL)."""
        with self._enrolling() as mine:
            if not mine:
                self.report.enrolling_elsewhere = True
                return
            with self.overlay.begin_writing() as conn:
                for published in publish_all(conn, self.runtime, self.now):
                    if published.new:
                        self.report.published.append(f"{published.chain.name} v{published.version}")
                    zone = ZoneInfo(self.runtime.chains.time_zone)
                    self.report.enrolled.add(enrol_from_triggers(conn, published, self.now, zone, self.runtime.purchases_from))

    def _enrolling(self) -> AbstractContextManager[bool]:
        if self.overlay.dialect == "sqlite":
            return nullcontext(True)  # the tick's own lock keeps every other tick out
        return self.overlay.lock_if_free(ENROLLING)

    def batch(self, size: int) -> int:
        """Claim up to `size` due enrolments and move them on, in one transaction; how many (0: none is due)."""
        with self.overlay.begin_writing() as conn:
            due = _claim(conn, self.now, size)
            if due:
                self.runner.batch(conn, due)
        return len(due)


def _claim(conn: Connection, now: dt.datetime, batch: int) -> list[sa.Row[Any]]:
    """The next due enrolments, locked for this transaction (skipped by other ticks on PostgreSQL)."""
    e = enrolment.c
    query = sa.select(*(e[name] for name in _DUE)).where(e.status == "active", e.due_at <= now).order_by(e.due_at, e.id).limit(batch)
    return list(conn.execute(query.with_for_update(skip_locked=True, of=enrolment)).all())


def enrolments_by_id(conn: Connection, ids: Sequence[int]) -> list[sa.Row[Any]]:
    """Enrolments as the runner takes them, chosen by id (a dry run's new ones)."""
    e = enrolment.c
    return list(conn.execute(sa.select(*(e[name] for name in _DUE)).where(e.id.in_(list(ids))).order_by(e.id)).all())


class Runner:
    """Moves enrolments through their chain version's steps."""

    def __init__(self, runtime: Runtime, now: dt.datetime, report: TickReport) -> None:
        self.runtime, self.now, self.report = runtime, now, report
        self.versions: dict[int, ChainDef] = {}
        self.templates = Templates(runtime.home)
        self.zone = ZoneInfo(runtime.chains.time_zone)

    def batch(self, conn: Connection, due: Sequence[sa.Row[Any]]) -> None:
        """Move the batch's enrolments on, in the order of their partners.

        Goals, exits and suppression are asked once per chain version for all its
        enrolments; the steps then run partner by partner. A `reassign` step holds its
        partner's row until the batch commits, so two batches (two workers) that took
        the partners in different orders could each wait for a row the other holds,
        and PostgreSQL would roll one back; taken in one order, one waits for the other.
        """
        by_version: dict[int, list[sa.Row[Any]]] = {}
        for row in due:
            by_version.setdefault(row.version_id, []).append(row)
        ending: dict[int, tuple[str, str]] = {}  # enrolment → (status, why) for those that end unmoved
        for version_id, rows in by_version.items():
            chain_def = self.version(conn, version_id)
            ids = [r.id for r in rows]
            goal = self.meeting(conn, chain_def.goal, ids)
            leave = self.meeting(conn, chain_def.exit_when, ids)
            suppressed = self.suppressed(conn, chain_def, rows)
            for row in rows:
                if row.id in goal:
                    ending[row.id] = ("goal", f"goal: {chain_def.goal.text if chain_def.goal else ''}")
                elif row.id in leave:
                    ending[row.id] = ("exited", f"exit_when: {chain_def.exit_when.text if chain_def.exit_when else ''}")
                elif row.partner_id in suppressed:
                    ending[row.id] = ("exited", "in a suppression segment")
        for row in sorted(due, key=lambda r: (r.partner_id, r.id)):
            self.report.moved += 1
            chain_def = self.version(conn, row.version_id)
            if row.id in ending:
                self.end(conn, row, chain_def, *ending[row.id])
            else:
                self.advance(conn, row, chain_def)

    def version(self, conn: Connection, version_id: int) -> ChainDef:
        if version_id not in self.versions:
            self.versions[version_id] = stored_version(conn, version_id)
        return self.versions[version_id]

    def meeting(self, conn: Connection, condition: Condition | None, ids: Sequence[int]) -> set[int]:
        """The enrolments among `ids` whose partner meets `condition` now (one statement for all of them)."""
        if condition is None or not ids:
            return set()
        partner = self.runtime.registry.partner
        where = compile_filter(condition.node, self.runtime.registry, self.now.date())
        query = (
            sa.select(enrolment.c.id).select_from(enrolment.join(partner, partner.c.id == enrolment.c.partner_id)).where(enrolment.c.id.in_(list(ids)), where)
        )
        return set(conn.execute(query).scalars())

    def suppressed(self, conn: Connection, chain_def: ChainDef, rows: Sequence[sa.Row[Any]]) -> set[int]:
        return members(conn, chain_def.suppress, [r.partner_id for r in rows]) if chain_def.suppress else set()

    def advance(self, conn: Connection, row: sa.Row[Any], chain_def: ChainDef) -> None:
        """Run the enrolment's steps up to its next wait or its end, in a savepoint; a failing step fails the enrolment alone."""
        counted = (self.report.steps.copy(), self.report.ended.copy())
        try:
            with conn.begin_nested():
                _Walk(self, conn, row, chain_def).run()
        except UserError as error:  # a template that cannot be rendered for this partner's data, say
            self.report.steps, self.report.ended = counted  # what the savepoint took back did not happen
            reason = str(error)
            with conn.begin_nested():
                self.end(conn, row, chain_def, "failed", reason, step=row.step)
            if len(self.report.failures) < 20:
                self.report.failures.append(f"{chain_def.name}, enrolment {row.id}, step {row.step}: {reason}")

    def end(
        self, conn: Connection, row: sa.Row[Any], chain_def: ChainDef, status: str, reason: str, *, step: str | None = None, seq: int | None = None
    ) -> None:
        seq = row.steps_taken if seq is None else seq
        conn.execute(
            sa.update(enrolment)
            .where(enrolment.c.id == row.id)
            .values(status=status, step=step, due_at=None, finished_at=self.now, reason=reason[:2000], steps_taken=seq + 1)
        )
        self.log(conn, row.id, seq, step or "end", status, reason, chain_def)
        self.report.ended[status] += 1

    def log(self, conn: Connection, enrolment_id: int, seq: int, step: str, outcome: str, detail: str | None, chain_def: ChainDef, **links: int | None) -> None:
        conn.execute(sa.insert(step_log).values(enrolment_id=enrolment_id, seq=seq, step=step, at=self.now, outcome=outcome, detail=detail, **links))
        self.report.steps[(chain_def.name, step, outcome)] += 1

    def next_hour(self, weekday: str | None, hour: int) -> dt.datetime:
        """The next moment (after now) that is `hour`:00 on `weekday` (any day if None) in the company's time zone, in UTC."""
        local = self.now.replace(tzinfo=dt.UTC).astimezone(self.zone)
        for days in range(8):
            day = (local + dt.timedelta(days=days)).date()
            if weekday is not None and WEEKDAYS[day.weekday()] != weekday:
                continue
            moment = dt.datetime.combine(day, dt.time(hour), tzinfo=self.zone)
            if moment > local:
                return moment.astimezone(dt.UTC).replace(tzinfo=None)
        raise AssertionError("a weekday and hour come round within eight days")


class _Walk:
    """One enrolment's run through its steps in one tick."""

    def __init__(self, runner: Runner, conn: Connection, row: sa.Row[Any], chain_def: ChainDef) -> None:
        self.runner, self.conn, self.row, self.chain = runner, conn, row, chain_def
        self.seq = row.steps_taken
        self.origin = f"chain {chain_def.name}"
        self._context: dict[str, Any] | None = None

    def context(self) -> dict[str, Any]:
        """What this enrolment's templates read besides the partner's fields: the chain and the triggering record (read once per walk)."""
        if self._context is None:
            trigger = trigger_context(self.conn, self.row.partner_id, self.row.occurrence, local_day(self.runner.now, self.runner.zone))
            self._context = {"chain": {"name": self.chain.name, "title": self.chain.title}, "trigger": trigger}
        return self._context

    def run(self) -> None:
        current: str = self.row.step
        for _ in range(MOST_STEPS_AT_ONCE):
            if current == EXIT:
                self.runner.end(self.conn, self.row, self.chain, "done", "reached the end", seq=self.seq)
                return
            step = self.chain.by_id[current]
            following = self.one(step)
            if following is None:
                return
            current = following
        raise UserError(f"ran {MOST_STEPS_AT_ONCE} steps without a wait")

    def one(self, step: Step) -> str | None:
        """Run `step`; the step to go on with now, or None when the enrolment waits (its row already says until when)."""
        kind = step.kind
        if kind == EXIT:
            return EXIT
        if kind in ("email", "sms"):
            self.message(step)
            return step.next
        if kind == "wait":
            spec = step.value
            until = self.runner.now + dt.timedelta(seconds=spec["seconds"]) if "seconds" in spec else self.runner.next_hour(spec["weekday"], spec["hour"])
            self.wait(step, step.next, until, None, f"until {until:%Y-%m-%d %H:%M} UTC")
            return None
        if kind == "wait_for":
            return self.wait_for(step)
        if kind == "if":
            met = self.row.id in self.runner.meeting(self.conn, step.value, [self.row.id])
            self.logged(step, "then" if met else "else", step.value.text)
            return step.next if met else step.otherwise
        if kind == "task":
            self.task(step)
            return step.next
        if kind == "reassign":
            self.reassign(step)
            return step.next
        if kind == "webhook":
            self.webhook(step)
            return step.next
        self.logged(step, "goto", step.next)  # goto
        return step.next

    def logged(self, step: Step, outcome: str, detail: str | None, **links: int | None) -> None:
        self.runner.log(self.conn, self.row.id, self.seq, step.id, outcome, detail, self.chain, **links)
        self.seq += 1

    def message(self, step: Step) -> None:
        runtime = self.runner.runtime
        to = recipient(self.conn, self.row.partner_id, occurrence_contact(self.row.occurrence))
        template = self.runner.templates.get(step.value, to.language, self.chain.language)
        queued, _ = queue_message(
            self.conn,
            channel=step.kind,
            template=template,
            to=to,
            extra=self.context(),
            key=f"chain:{self.row.id}:{self.seq}",
            origin=f"{self.origin}, step {step.id}",
            partner_id=self.row.partner_id,
            now=self.runner.now,
            rules=Rules(runtime.outbox.expire_after, runtime.consent, self.runner.zone, runtime.links, runtime.email),
        )
        self.logged(step, queued.status, f"{step.kind} {template.locale}/{template.name}", outbox_id=queued.id)

    def webhook(self, step: Step) -> None:
        """Queue the endpoint's signed request: the listed payload fields only, rendered for the partner; no consent or cap (not a message to them)."""
        name, payload = step.value["endpoint"], step.value["payload"]
        url = self.runner.runtime.webhooks.get(name)
        if url is None:  # published while the endpoint was in the settings, since removed
            raise UserError(f"no webhook endpoint {name!r} in the settings any more")
        to = recipient(self.conn, self.row.partner_id)
        context = {**to.context, "chain": {"name": self.chain.name, "title": self.chain.title}}
        try:
            data = {key: render_text(compile_text(text), context) for key, text in payload.items()}
        except TemplateProblem as problem:
            raise UserError(f"webhook payload: {problem}") from None
        body = json.dumps({"chain": self.chain.name, "step": step.id, "partner_id": self.row.partner_id, "data": data}, ensure_ascii=False, sort_keys=True)
        message = Outgoing(
            f"chain:{self.row.id}:{self.seq}", "webhook", f"{self.origin}, step {step.id}", url, body, recipient_name=name, partner_id=self.row.partner_id
        )
        queued = enqueue(self.conn, message, now=self.runner.now, expire_after=self.runner.runtime.outbox.expire_after)
        self.logged(step, queued.status, f"webhook {name}", outbox_id=queued.id)

    def wait(self, step: Step, then: str, until: dt.datetime, waiting_until: dt.datetime | None, detail: str) -> None:
        self.logged(step, "waiting", detail)
        self.conn.execute(
            sa.update(enrolment).where(enrolment.c.id == self.row.id).values(step=then, due_at=until, waiting_until=waiting_until, steps_taken=self.seq)
        )

    def wait_for(self, step: Step) -> str | None:
        """Go on by `then` once the condition is met, by `else` once the timeout passed; else look again after `check_every`."""
        now = self.runner.now
        resumed = self.seq == self.row.steps_taken and self.row.step == step.id and self.row.waiting_until is not None
        deadline = self.row.waiting_until if resumed else now + dt.timedelta(seconds=step.timeout)
        if self.row.id in self.runner.meeting(self.conn, step.value, [self.row.id]):
            self.logged(step, "then", step.value.text)
            self.conn.execute(sa.update(enrolment).where(enrolment.c.id == self.row.id).values(waiting_until=None))
            return step.next
        if now >= deadline:
            self.logged(step, "else", f"not met by {deadline:%Y-%m-%d %H:%M} UTC")
            self.conn.execute(sa.update(enrolment).where(enrolment.c.id == self.row.id).values(waiting_until=None))
            return step.otherwise
        look_again = min(now + dt.timedelta(seconds=step.check_every), deadline)
        self.wait(step, step.id, look_again, deadline, f"for {step.value.text}, at most until {deadline:%Y-%m-%d %H:%M} UTC")
        return None

    def reassign(self, step: Step) -> None:
        """Hand the account to the person or role the step names, in the step's savepoint: once per enrolment step, like a message."""
        spec = step.value
        origin = f"{self.origin}, step {step.id}"
        actor = Actor(origin, spec["reason"] or origin, self.runner.now, self.row.id, step.id)
        change = reassign(self.conn, self.row.partner_id, spec["to"], self.runner.runtime.chains.roles, actor, with_tasks=spec["with_tasks"])
        moved = f", {change.tasks_moved} open task(s) moved" if change.tasks_moved else ""
        self.logged(step, change.outcome, change.detail + moved)

    def task(self, step: Step) -> None:
        spec = step.value
        to = recipient(self.conn, self.row.partner_id, occurrence_contact(self.row.occurrence))
        context = {**to.context, **self.context()}
        title = render_text(compile_text(spec["title"], html=False), context).strip()
        note = render_text(compile_text(spec["note"], html=False), context) if spec.get("note") else None
        owner = chain_owner(self.conn, spec["owner"], self.row.partner_id)
        task_id = create_task(
            self.conn,
            title=title or step.id,
            note=note,
            partner_id=self.row.partner_id,
            owner=owner,
            due_on=(self.runner.now + dt.timedelta(days=spec["due_days"])).date(),
            priority=spec["priority"],
            origin=f"{self.origin}, step {step.id}",
            enrolment_id=self.row.id,
            now=self.runner.now,
        )
        self.logged(step, "task", title, task_id=task_id)
