"""Chain files (`jobs/chains/<name>.yaml`): read, checked whole, and turned into a `ChainDef` the tick runs.

Everything that can be wrong with a chain is found when it is read, as one line naming
the file, the line and the step, so a mistake surfaces in `erp-crm chains validate`,
not when the first customer reaches the step: an unknown step kind, template or field
in a condition, a jump to a step that does not exist, a step no path reaches, and a
loop without a wait (which would run a customer round it within one tick forever).

The same reader reads a published version back from the overlay (`parse_chain` on the
stored data), so what runs is exactly what was checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from erp_crm.automation.message_templates import MessageTemplate, load_message
from erp_crm.automation.sandbox import TemplateProblem, compile_text
from erp_crm.errors import ConfigError
from erp_crm.segments.compiler import compile_filter
from erp_crm.segments.fields import FieldRegistry
from erp_crm.segments.language import FilterError, Node, parse_filter
from erp_crm.segments.syntax import And, Not, Or, Text
from erp_crm.settings.base import parse_duration
from erp_crm.yamlfile import load_yaml

CHAINS_DIR = Path("jobs") / "chains"
MESSAGES_DIR = Path("templates") / "messages"
LANGUAGES = ("hu", "en")
CHAIN_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")
STEP_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
EXIT = "exit"  # as a jump target: end the enrolment
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
KINDS = ("email", "sms", "webhook", "wait", "wait_for", "if", "task", "reassign", "goto", "exit")
_TOP = ("title", "trigger", "re_entry", "exit_when", "goal", "suppress", "language", "steps")
_STEP_KEYS = {
    "email": (),
    "sms": (),
    "webhook": ("payload",),
    "wait": (),
    "wait_for": ("timeout", "check_every", "then", "else"),
    "if": ("then", "else"),
    "task": (),
    "reassign": (),
    "goto": (),
    "exit": (),
}
_TASK_KEYS = ("title", "note", "owner", "due", "priority")
_REASSIGN_KEYS = ("to", "pick", "reason", "with_tasks")
PICKS = ("least_loaded",)
_PERSON = re.compile(r"(login|role):\s*(\S{1,100})")
_PAYLOAD_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_MOST_PAYLOAD_FIELDS = 50
_MOST_STEPS = 200
# ERP events a chain may start on, each with whether it takes `days` and its default (None: it must be given).
EVENTS: dict[str, tuple[bool, int | None]] = {
    "first_purchase": (False, 0),
    "purchase": (False, 0),
    "invoice_overdue": (True, None),
    "quote_not_ordered": (True, None),
    "complaint_closed": (True, 0),
}
DATES = ("birthday", "first_purchase_anniversary")
MOST_DAYS = 3650  # ten years, as the longest duration
_TRIGGER_FORMS = "`entered: SEGMENT`, `left: SEGMENT`, `manual`, `{event: EVENT, days: N}` or `{date: birthday|first_purchase_anniversary}`"

Where = Callable[[tuple[Any, ...]], str]  # `file:line` of a place in the file
_SHOWN = 60  # characters of a value quoted back in a message


def _shown(value: Any) -> str:
    """A value as a message quotes it: short, on one line, whatever it is."""
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    try:
        text = repr(value)
    except ValueError:  # an integer beyond Python's limit for turning numbers into text
        return "a number too long to show"
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _segments_named(node: Node) -> Iterator[str]:
    """The segment names `in_segment(...)` calls in a condition name, so they can be checked like the trigger's."""
    if isinstance(node, (And, Or)):
        for item in node.items:
            yield from _segments_named(item)
    elif isinstance(node, Not):
        yield from _segments_named(node.item)
    elif node.subject.name == "in_segment":
        yield from (arg.value.value for arg in node.subject.args if isinstance(arg.value, Text))


@dataclass(frozen=True)
class Condition:
    """A condition in the filter language, as written and as parsed."""

    text: str
    node: Node


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    value: Any  # the kind's own value: a template name, a duration, a condition, a task, a target
    next: str  # where to go after it (for `if` and `wait_for`: `then`), or EXIT
    otherwise: str = EXIT  # `if`: else; `wait_for`: on timeout
    timeout: int = 0  # wait_for: seconds
    check_every: int = 3600  # wait_for: seconds between looks


@dataclass(frozen=True)
class Trigger:
    kind: str  # entered, left, manual, one of EVENTS or one of DATES
    segment: str | None = None
    days: int = 0  # for the events that take it: days after the record's date

    @property
    def on_records(self) -> bool:
        """Started by ERP records or dates (erp_triggers.py), not by segment events or by hand."""
        return self.kind in EVENTS or self.kind in DATES


@dataclass(frozen=True)
class ChainDef:
    name: str
    title: str
    trigger: Trigger
    steps: tuple[Step, ...]
    re_entry_after: int | None = None  # seconds after an enrolment ended; None: never again
    exit_when: Condition | None = None
    goal: Condition | None = None
    suppress: tuple[str, ...] = ()
    language: str = "hu"
    by_id: dict[str, Step] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_id.update({s.id: s for s in self.steps})

    @property
    def first(self) -> str:
        return self.steps[0].id


@dataclass(frozen=True)
class Checks:
    """What a chain's text is checked against: the filter fields (with the chain words), the segments and the home's templates."""

    registry: FieldRegistry
    segments: frozenset[str]
    home: Path
    today: Any  # datetime.date: relative dates in conditions are compiled for it once, to check them
    roles: Mapping[str, Sequence[str]] | None = None  # `chains.roles`; None: roles are not checked
    logins: frozenset[str] | None = None  # the synced ERP users' logins; None: none synced yet, logins are not checked
    webhooks: frozenset[str] = frozenset()  # the endpoints under `webhooks:` in the settings

    def message(self, name: str, language: str) -> MessageTemplate | None:
        path = self.home / MESSAGES_DIR / language / f"{name}.yaml"
        return load_message(path) if path.exists() else None


def chain_files(home: Path) -> list[Path]:
    folder = home / CHAINS_DIR
    return sorted(p for p in folder.glob("*.yaml") if p.is_file()) if folder.is_dir() else []


def load_chain(path: Path, checks: Checks) -> tuple[ChainDef, Any]:
    """The chain in `path`, checked whole, and its data as it will be published; a ConfigError at the first mistake."""
    name = path.stem
    if not CHAIN_NAME.fullmatch(name):
        raise ConfigError(f"{path}: a chain's file name is its name: lower-case letters, digits, _ and -, starting with a letter, at most 100 characters")
    doc = load_yaml(path)
    return parse_chain(name, doc.data, doc.where, checks), doc.data


def parse_chain(name: str, data: Any, where: Where, checks: Checks | None) -> ChainDef:
    """The chain `name` from its data; with `checks`, also its conditions, segments and templates are checked."""
    try:
        return _parse_chain(name, data, where, checks)
    except RecursionError:  # data nested beyond any chain's shape (a file cannot hold it: the YAML reader refuses it first)
        raise ConfigError(f"{where(())}: nested too deeply to be a chain") from None


def _parse_chain(name: str, data: Any, where: Where, checks: Checks | None) -> ChainDef:
    if not isinstance(data, dict):
        raise ConfigError(f"{where(())}: a chain holds {', '.join(_TOP)}")
    unknown = [k for k in data if k not in _TOP]
    if unknown:
        raise ConfigError(f"{where((unknown[0],))}: unknown key {_shown(unknown[0])} (a chain holds {', '.join(_TOP)})")
    reader = _Reader(name, where, checks)
    language = data.get("language", "hu")
    if not isinstance(language, str) or language not in LANGUAGES:
        raise ConfigError(f"{where(('language',))}: language {_shown(language)}: one of {', '.join(LANGUAGES)}")
    steps = reader.steps(data.get("steps"), language)
    chain = ChainDef(
        name=name,
        title=reader.text(data.get("title", name), ("title",)),
        trigger=reader.trigger(data.get("trigger")),
        steps=steps,
        re_entry_after=reader.re_entry(data.get("re_entry", "never")),
        exit_when=reader.condition(data.get("exit_when"), ("exit_when",)),
        goal=reader.condition(data.get("goal"), ("goal",)),
        suppress=reader.segments(data.get("suppress", []), ("suppress",)),
        language=language,
    )
    _check_paths(chain, where)
    return chain


class _Reader:
    def __init__(self, name: str, where: Where, checks: Checks | None) -> None:
        self.name, self.where, self.checks = name, where, checks

    def fail(self, path: tuple[Any, ...], problem: str) -> ConfigError:
        return ConfigError(f"{self.where(path)}: {problem}")

    def text(self, value: Any, path: tuple[Any, ...]) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"{path[-1]} must be text")
        return value

    def duration(self, value: Any, path: tuple[Any, ...], what: str) -> int:
        """Seconds, from 1 to ten years; `what` names the key (and step) in the message."""
        readable = (isinstance(value, str) and len(value) < 20) or (isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**12)
        try:
            seconds = parse_duration(value) if readable else -1
        except ValueError:
            seconds = -1
        if seconds <= 0 or seconds > 3650 * 86400:
            raise self.fail(path, f"{what}: {_shown(value)} is not a duration such as 30m, 2h, 14d (up to ten years)")
        return seconds

    def trigger(self, value: Any) -> Trigger:
        if value == "manual" or value == {"manual": True}:
            return Trigger("manual")
        if isinstance(value, dict) and ("event" in value or "date" in value):
            return self.record_trigger(value)
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("entered", "left"):
            raise self.fail(("trigger",), f"trigger: {_TRIGGER_FORMS}")
        kind, segment = next(iter(value.items()))
        if not isinstance(segment, str):
            raise self.fail(("trigger", kind), f"trigger: {kind}: the name of one segment")
        (found,) = self.segments([segment], ("trigger", kind))
        return Trigger(kind, found)

    def record_trigger(self, value: dict[Any, Any]) -> Trigger:
        """`{event: NAME, days: N}` or `{date: NAME}`: a trigger on ERP records (docs/chains.md, "Triggers")."""
        form = "event" if "event" in value else "date"
        stray = [k for k in value if k not in (form, "days")]
        if stray:
            raise self.fail(
                ("trigger", stray[0]), f"trigger: unknown key {_shown(stray[0])} beside {form} (it takes {form}{', days' if form == 'event' else ''})"
            )
        name = value[form]
        default: int | None
        if form == "date":
            if name not in DATES:
                raise self.fail(("trigger", "date"), f"trigger: date {_shown(name)}: one of {', '.join(DATES)}")
            takes_days, default = False, 0
        else:
            if not isinstance(name, str) or name not in EVENTS:
                raise self.fail(("trigger", "event"), f"trigger: event {_shown(name)}: one of {', '.join(EVENTS)}")
            takes_days, default = EVENTS[name]
        if "days" not in value:
            if default is None:
                raise self.fail(("trigger",), f"trigger: {name} needs days (how many days after the record's date, 1 to {MOST_DAYS})")
            return Trigger(name, days=default)
        days = value["days"]
        if not takes_days:
            raise self.fail(("trigger", "days"), f"trigger: {name} takes no days")
        least = 0 if default == 0 else 1
        if not isinstance(days, int) or isinstance(days, bool) or not least <= days <= MOST_DAYS:
            raise self.fail(("trigger", "days"), f"trigger: {name}: days {_shown(days)} is not a whole number of days from {least} to {MOST_DAYS}")
        return Trigger(name, days=days)

    def segments(self, value: Any, path: tuple[Any, ...]) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, f"{path[0]}: a list of segment names")
        if self.checks is not None:
            for index, name in enumerate(value):
                if name not in self.checks.segments:
                    raise self.fail(path if path[0] == "trigger" else (*path, index), self.unknown_segment(name))
        return tuple(value)

    def unknown_segment(self, name: str) -> str:
        assert self.checks is not None
        return f"no segment named {_shown(name)} (segments: {', '.join(sorted(self.checks.segments)) or 'none'})"

    def re_entry(self, value: Any) -> int | None:
        if value == "never":
            return None
        return self.duration(value, ("re_entry",), "re_entry (never, or a cool-down)")

    def condition(self, value: Any, path: tuple[Any, ...], step: str | None = None) -> Condition | None:
        if value is None:
            return None
        at = f"step {step}: " if step else ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"{at}{path[-1]}: a condition in the filter language, as text")
        try:
            node = parse_filter(value)
            if self.checks is not None:
                compile_filter(node, self.checks.registry, self.checks.today)
        except FilterError as error:
            raise self.fail(path, f"{at}{path[-1]}: {error}") from None
        if self.checks is not None:
            for name in _segments_named(node):
                if name not in self.checks.segments:
                    raise self.fail(path, f"{at}{path[-1]}: {self.unknown_segment(name)}")
        return Condition(value, node)

    def steps(self, value: Any, language: str) -> tuple[Step, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(("steps",), "steps: a list of at least one step")
        if len(value) > _MOST_STEPS:
            raise self.fail(("steps",), f"steps: at most {_MOST_STEPS}")
        ids = [self._step_id(raw, index) for index, raw in enumerate(value)]
        seen: dict[str, int] = {}
        for index, step_id in enumerate(ids):
            if step_id in seen:
                raise self.fail(("steps", index, "id"), f"step id {_shown(step_id)} is used twice (first by step {seen[step_id] + 1})")
            seen[step_id] = index
        out = []
        for index, raw in enumerate(value):
            following = ids[index + 1] if index + 1 < len(ids) else EXIT
            out.append(self.step(raw, index, ids[index], following, set(ids), language))
        return tuple(out)

    def _step_id(self, raw: Any, index: int) -> str:
        explicit = raw.get("id") if isinstance(raw, dict) else None
        if explicit is None:
            return f"step-{index + 1}"
        if not isinstance(explicit, str) or not STEP_ID.fullmatch(explicit) or explicit == EXIT:
            raise self.fail(("steps", index, "id"), f"step id {_shown(explicit)}: letters, digits, _ and -, starting with a letter, at most 64, not 'exit'")
        return explicit

    def step(self, raw: Any, index: int, step_id: str, following: str, ids: set[str], language: str) -> Step:
        path: tuple[Any, ...] = ("steps", index)
        if raw == EXIT:
            return Step(step_id, EXIT, None, EXIT)
        kinds = [k for k in raw if k in _STEP_KEYS] if isinstance(raw, dict) else []
        if len(kinds) != 1:
            found = ", ".join(_shown(k) for k in raw) if isinstance(raw, dict) else _shown(raw)
            raise self.fail(path, f"step {step_id}: one of {', '.join(KINDS)} is needed, found {found or 'nothing'}")
        kind = kinds[0]
        allowed = {kind, "id", *_STEP_KEYS[kind]}
        stray = [k for k in raw if k not in allowed]
        if stray:
            raise self.fail((*path, stray[0]), f"step {step_id}: unknown key {_shown(stray[0])} for a {kind} step (it takes {', '.join(sorted(allowed))})")
        value = raw[kind]
        here = (*path, kind)

        def target(key: str, default: str) -> str:
            chosen = raw.get(key, default)
            if not isinstance(chosen, str):
                raise self.fail((*path, key), f"step {step_id}: {key}: the id of a step, or exit (found {_shown(chosen)})")
            if chosen != EXIT and chosen not in ids:
                raise self.fail((*path, key), f"step {step_id}: {key}: no step {_shown(chosen)} (steps: {', '.join(sorted(ids))}, or exit)")
            return chosen

        if kind in ("email", "sms"):
            return Step(step_id, kind, self.message(value, kind, here, step_id, language), following)
        if kind == "wait":
            return Step(step_id, kind, self.wait(value, here, step_id), following)
        if kind == "wait_for":
            condition = self.condition(value, here, step_id)
            if "timeout" not in raw:
                raise self.fail(here, f"step {step_id}: wait_for needs a timeout (how long to wait at most)")
            timeout = self.duration(raw["timeout"], (*path, "timeout"), f"step {step_id}: timeout")
            every = self.duration(raw.get("check_every", "1h"), (*path, "check_every"), f"step {step_id}: check_every")
            return Step(step_id, kind, condition, target("then", following), target("else", following), timeout, every)
        if kind == "if":
            return Step(step_id, kind, self.condition(value, here, step_id), target("then", following), target("else", following))
        if kind == "task":
            return Step(step_id, kind, self.task(value, here, step_id), following)
        if kind == "reassign":
            return Step(step_id, kind, self.reassign(value, here, step_id), following)
        if kind == "webhook":
            return Step(step_id, kind, self.webhook(value, raw.get("payload"), path, step_id), following)
        if kind == "goto":
            return Step(step_id, kind, None, target("goto", following))
        if value is not True:
            raise self.fail(here, f"step {step_id}: exit: write the step as `- exit` (or `exit: true`), not {_shown(value)}")
        return Step(step_id, EXIT, None, EXIT)

    def message(self, value: Any, channel: str, path: tuple[Any, ...], step_id: str, language: str) -> str:
        if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9_-]{1,100}", value):
            raise self.fail(path, f"step {step_id}: {channel}: the name of a message template (templates/messages/<lang>/NAME.yaml)")
        if self.checks is not None:
            found = {lang: self.checks.message(value, lang) for lang in LANGUAGES}
            if found[language] is None:
                raise self.fail(path, f"step {step_id}: no template {MESSAGES_DIR / language / value}.yaml")
            for template in found.values():
                if template is not None and channel not in template.channels:
                    raise self.fail(path, f"step {step_id}: {template.path} has no {channel} part")
        return value

    def wait(self, value: Any, path: tuple[Any, ...], step_id: str) -> dict[str, Any]:
        """A duration, or the next weekday and hour (company time) at or after now: {'seconds': n} or {'weekday': d, 'hour': h}."""
        if not isinstance(value, dict):
            return {"seconds": self.duration(value, path, f"step {step_id}: wait")}
        stray = [k for k in value if k not in ("weekday", "hour")]
        hour = value.get("hour")
        weekday = value.get("weekday")
        if stray or not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23 or (weekday is not None and weekday not in WEEKDAYS):
            raise self.fail(path, f"step {step_id}: wait: a duration (14d), or `hour: 0-23` with an optional `weekday: {'|'.join(WEEKDAYS)}`")
        return {"weekday": weekday, "hour": hour}

    def task(self, value: Any, path: tuple[Any, ...], step_id: str) -> dict[str, Any]:
        if not isinstance(value, dict) or "title" not in value:
            raise self.fail(path, f"step {step_id}: task: a mapping with title (and note, owner, due, priority)")
        stray = [k for k in value if k not in _TASK_KEYS]
        if stray:
            raise self.fail((*path, stray[0]), f"step {step_id}: task: unknown key {_shown(stray[0])} (it takes {', '.join(_TASK_KEYS)})")
        for key in ("title", "note"):
            if key in value:
                self.template_text(value[key], (*path, key), step_id)
        owner = value.get("owner", "salesperson")
        if not isinstance(owner, str) or not (owner == "salesperson" or _PERSON.fullmatch(owner)):
            raise self.fail((*path, "owner"), f"step {step_id}: task owner {_shown(owner)}: `salesperson` (the partner's), `login: NAME` or `role: NAME`")
        self.person(owner, (*path, "owner"), step_id)
        priority = value.get("priority", "normal")
        if priority not in ("low", "normal", "high"):
            raise self.fail((*path, "priority"), f"step {step_id}: task priority {_shown(priority)}: low, normal or high")
        due = self.duration(value.get("due", "1d"), (*path, "due"), f"step {step_id}: task due")
        return {"title": value["title"], "note": value.get("note"), "owner": owner, "due_days": max(1, round(due / 86400)), "priority": priority}

    def reassign(self, value: Any, path: tuple[Any, ...], step_id: str) -> dict[str, Any]:
        if not isinstance(value, dict) or "to" not in value:
            raise self.fail(path, f"step {step_id}: reassign: a mapping with to (`login: NAME` or `role: NAME`), and pick, reason, with_tasks")
        stray = [k for k in value if k not in _REASSIGN_KEYS]
        if stray:
            raise self.fail((*path, stray[0]), f"step {step_id}: reassign: unknown key {_shown(stray[0])} (it takes {', '.join(_REASSIGN_KEYS)})")
        to = value["to"]
        if not isinstance(to, str) or not _PERSON.fullmatch(to):
            raise self.fail((*path, "to"), f"step {step_id}: reassign to {_shown(to)}: `login: NAME` or `role: NAME`")
        self.person(to, (*path, "to"), step_id)
        if "pick" in value and not to.startswith("role:"):
            raise self.fail((*path, "pick"), f"step {step_id}: reassign: pick chooses among a role's users; `to` names one person")
        pick = value.get("pick", PICKS[0])
        if pick not in PICKS:
            raise self.fail((*path, "pick"), f"step {step_id}: reassign pick {_shown(pick)}: {', '.join(PICKS)}")
        reason = value.get("reason")
        if reason is not None and (not isinstance(reason, str) or not reason.strip() or len(reason) > 500 or "\n" in reason.strip()):
            raise self.fail((*path, "reason"), f"step {step_id}: reassign reason: one line of text, at most 500 characters")
        with_tasks = value.get("with_tasks", False)
        if not isinstance(with_tasks, bool):
            raise self.fail((*path, "with_tasks"), f"step {step_id}: reassign with_tasks: true or false")
        return {"to": to, "pick": pick, "reason": reason.strip() if reason else None, "with_tasks": with_tasks}

    def person(self, spec: str, path: tuple[Any, ...], step_id: str) -> None:
        """A `role: NAME` must be one of `chains.roles`, a `login: NAME` one of the synced users (once there are any)."""
        match = _PERSON.fullmatch(spec)
        if self.checks is None or match is None:
            return
        kind, name = match.groups()
        roles, logins = self.checks.roles, self.checks.logins
        if kind == "role" and roles is not None and name not in roles:
            raise self.fail(path, f"step {step_id}: no role {_shown(name)} in chains.roles (roles: {', '.join(sorted(roles)) or 'none'})")
        if kind == "login" and logins is not None and name not in logins:
            raise self.fail(path, f"step {step_id}: no ERP user with the login {_shown(name)}")

    def webhook(self, name: Any, payload: Any, path: tuple[Any, ...], step_id: str) -> dict[str, Any]:
        """{'endpoint': name, 'payload': {field: template}}: only the fields listed are sent, each rendered in the sandbox."""
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", name):
            raise self.fail((*path, "webhook"), f"step {step_id}: webhook: the name of an endpoint under webhooks: in the settings")
        if self.checks is not None and name not in self.checks.webhooks:
            known = ", ".join(sorted(self.checks.webhooks)) or "none is set up"
            raise self.fail((*path, "webhook"), f"step {step_id}: no webhook endpoint {_shown(name)} in the settings (webhooks: {known})")
        payload = {} if payload is None else payload
        if not isinstance(payload, dict) or len(payload) > _MOST_PAYLOAD_FIELDS:
            raise self.fail((*path, "payload"), f"step {step_id}: payload: a mapping of at most {_MOST_PAYLOAD_FIELDS} fields to templates")
        for key, text in payload.items():
            if not isinstance(key, str) or not _PAYLOAD_FIELD.fullmatch(key):
                raise self.fail((*path, "payload"), f"step {step_id}: payload field {_shown(key)}: letters, digits and _, starting with a letter")
            self.template_text(text, (*path, "payload", key), step_id)
        return {"endpoint": name, "payload": payload}

    def template_text(self, value: Any, path: tuple[Any, ...], step_id: str) -> jinja2.Template:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"step {step_id}: {path[-1]} must be text")
        try:
            return compile_text(value, html=False)
        except TemplateProblem as problem:
            line = f", template line {problem.line}" if problem.line is not None else ""
            raise self.fail(path, f"step {step_id}: {path[-1]}{line}: {problem.message}") from None


def _check_paths(chain: ChainDef, where: Where) -> None:
    """Every step reachable from the first, and no loop that does not pass a wait."""
    index = {s.id: i for i, s in enumerate(chain.steps)}
    reached = _reachable(chain.first, chain.by_id)
    for step in chain.steps:
        if step.id not in reached:
            raise ConfigError(f"{where(('steps', index[step.id]))}: step {step.id}: no path leads to it (put a goto, then or else that names it, or remove it)")
    loop = _loop_without_wait(chain.steps, chain.by_id)
    if loop:
        shown = " → ".join(loop)
        raise ConfigError(f"{where(('steps', index[loop[0]]))}: step {loop[0]}: the loop {shown} has no wait; a customer would go round it for ever")


def _targets(step: Step) -> Sequence[tuple[str, bool]]:
    """Where a step may lead, each with whether the enrolment has waited on the way (a tick ends there)."""
    if step.kind == EXIT:
        return ()
    if step.kind == "wait":
        return ((step.next, True),)
    if step.kind == "wait_for":  # met: on at once; timed out: after waiting
        return ((step.next, False), (step.otherwise, True))
    if step.kind == "if":
        return ((step.next, False), (step.otherwise, False))
    return ((step.next, False),)


def _reachable(first: str, steps: Mapping[str, Step]) -> set[str]:
    seen, todo = set(), [first]
    while todo:
        current = todo.pop()
        if current == EXIT or current in seen:
            continue
        seen.add(current)
        todo.extend(target for target, _ in _targets(steps[current]))
    return seen


def _loop_without_wait(steps: Sequence[Step], by_id: Mapping[str, Step]) -> list[str]:
    """A cycle of steps that a tick could run round without waiting, as the ids round it; [] if none."""
    colour: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(step_id: str, path: list[str]) -> list[str]:
        colour[step_id] = 1
        path.append(step_id)
        for nxt, waited in _targets(by_id[step_id]):
            if nxt == EXIT or waited:
                continue
            if colour.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in colour:
                found = visit(nxt, path)
                if found:
                    return found
        path.pop()
        colour[step_id] = 2
        return []

    for step in steps:
        if step.id not in colour:
            found = visit(step.id, [])
            if found:
                return found
    return []
