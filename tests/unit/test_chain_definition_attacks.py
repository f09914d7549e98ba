"""Mistaken and hostile chain files: one line naming the file, the line and the step, or a chain that runs as written.

Every mistake in `jobs/chains/<name>.yaml` must stop `load_chain` with a `ConfigError`
(a `UserError`) of one line that starts with `file:line` (where the file has a line for
it), names `step <id>` where a step is at fault and says what is expected, in words a
back-office user can act on; never a traceback, never a silent acceptance, never a hang.
Valid chains (loops that pass a wait, `wait_for` with then/else, weekday and hour waits,
exit steps) must be read into the `ChainDef` the tick runs. A hypothesis test feeds random
data to `parse_chain`, which may only answer with a `ChainDef` or a `UserError`.

No database server: the checks are built straight from the filter registry with the
chain words, the segment names and a home holding the shipped message templates.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from erp_crm.automation.chain_definition import KINDS, ChainDef, Checks, Step, Trigger, load_chain, parse_chain
from erp_crm.automation.chain_words import with_chain_words
from erp_crm.errors import ConfigError, UserError
from erp_crm.segments.metrics_fields import segment_registry
from tests.support.chain_overlay import make_home
from tests.support.deadline import deadline

REGISTRY = with_chain_words(segment_registry(), "invoices")
SEGMENTS = frozenset({"lapsed", "frequent_complainers", "vip"})
TODAY = dt.date(2026, 3, 2)
SECONDS = 5  # each load answers in milliseconds; this only turns a hang into a failure
LONGEST = 400  # characters of a message, the home's path not counted: a line a person reads
DAY = 86400

S = "trigger: manual\nsteps:\n"  # the first step's item is on line 3
ONE = S + "  - wait: 1d\n"  # a valid chain; a top-level key appended to it is on line 4
TASK = S + "  - task:\n      title: Hívd fel\n"  # a task step; a key appended to it is on line 5
LAUGHS = "a: &a [" + ", ".join(["lol"] * 9) + "]\n" + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdef", "bcdefg"))


# ---------------------------------------------------------------- helpers


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path)


def checks_for(home: Path, **known: Any) -> Checks:
    return Checks(REGISTRY, SEGMENTS, home, TODAY, **{"webhooks": frozenset({"crm_hook"}), **known})


def write(home: Path, name: str, content: str | bytes) -> Path:
    path = home / "jobs" / "chains" / f"{name}.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def assert_readable(message: str, home: Path) -> None:
    """One line, short enough to read, with nothing of Python's own in it."""
    assert message.splitlines() == [message], f"not one line: {message!r}"
    assert len(message.replace(str(home), "~")) <= LONGEST, f"{len(message)} characters: {message[:300]!r}"
    for python in ("Traceback", "object at 0x", "<class", "Error("):
        assert python not in message, message


def refused(path: Path, home: Path, line: int | None, step: str | None, words: str) -> str:
    """Load `path`; assert a one-line UserError at `path:line` naming `step` and matching `words`."""
    with deadline(SECONDS), pytest.raises(UserError) as caught:
        load_chain(path, checks_for(home))
    message = str(caught.value)
    assert_readable(message, home)
    start = f"{path}:{line}: " if line is not None else f"{path}: "
    assert message.startswith(start), f"expected to start with {start!r}: {message!r}"
    if step is not None:
        assert f"step {step}: " in message, f"no 'step {step}:' in {message!r}"
    assert re.search(words, message), f"{words!r} not in {message!r}"
    return message


def case(name: str, text: str | bytes, line: int | None, step: str | None, words: str, *marks: pytest.MarkDecorator) -> Any:
    return pytest.param(text, line, step, words, id=name, marks=marks)


WAIT_FORMAT = r"wait: a duration \(14d\), or `hour: 0-23` with an optional `weekday: monday\|"
NOT_DURATION = r"is not a duration such as 30m, 2h, 14d \(up to ten years\)"
KIND_NEEDED = r"one of email, sms, webhook, wait, wait_for, if, task, reassign, goto, exit is needed, found "
OWNER = r"task owner .*: `salesperson` \(the partner's\), `login: NAME` or `role: NAME`"

BAD_CHAINS = [
    # step kinds
    case("unknown-kind", S + "  - send: winback_offer\n", 3, "step-1", KIND_NEEDED + "'send'"),
    case("two-kinds", S + "  - email: winback_offer\n    sms: winback_reminder\n", 3, "step-1", KIND_NEEDED + "'email', 'sms'"),
    case("step-is-a-list", S + "  - [wait, 1d]\n", 3, "step-1", KIND_NEEDED),
    case("step-is-null", ONE + "  -\n", 4, "step-2", KIND_NEEDED),
    case("step-is-a-number", S + "  - 42\n", 3, "step-1", KIND_NEEDED),
    case("step-is-empty", S + "  - {}\n", 3, "step-1", KIND_NEEDED + "nothing"),
    case("exit-in-capitals", ONE + "  - EXIT\n", 4, "step-2", KIND_NEEDED + "'EXIT'"),
    case("kind-key-with-line-break", S + '  - "wait\\nnow": 1d\n', 3, "step-1", KIND_NEEDED),
    case("kind-key-with-line-separator", S + '  - "wait\\u2028now": 1d\n', 3, "step-1", KIND_NEEDED),
    # reassign
    case("reassign-without-to", S + "  - reassign: {reason: x}\n", 3, "step-1", r"reassign: a mapping with to \(`login: NAME` or `role: NAME`\)"),
    case("reassign-to-text", S + "  - reassign: kovacs\n", 3, "step-1", r"reassign: a mapping with to"),
    case("reassign-to-salesperson", S + "  - reassign: {to: salesperson}\n", 3, "step-1", r"reassign to 'salesperson': `login: NAME` or `role: NAME`"),
    case(
        "reassign-to-injection",
        S + '  - reassign: {to: "login: x\'; DROP TABLE crm_user; --"}\n',
        3,
        "step-1",
        r"reassign to .*: `login: NAME` or `role: NAME`",
    ),
    case("reassign-to-a-list", S + "  - reassign: {to: [role: sales]}\n", 3, "step-1", r"reassign to a list"),
    case(
        "reassign-unknown-key",
        S + "  - reassign: {to: 'role: sales', whom: x}\n",
        3,
        "step-1",
        r"reassign: unknown key 'whom' \(it takes to, pick, reason, with_tasks\)",
    ),
    case("reassign-unknown-pick", S + "  - reassign: {to: 'role: sales', pick: random}\n", 3, "step-1", r"reassign pick 'random': least_loaded"),
    case("reassign-pick-for-a-login", S + "  - reassign: {to: 'login: kovacs', pick: least_loaded}\n", 3, "step-1", r"pick chooses among a role's users"),
    case("reassign-empty-reason", S + "  - reassign: {to: 'role: sales', reason: ' '}\n", 3, "step-1", r"reassign reason: one line of text"),
    case("reassign-huge-reason", S + "  - reassign: {to: 'role: sales', reason: " + "x" * 501 + "}\n", 3, "step-1", r"at most 500 characters"),
    case("reassign-two-line-reason", S + "  - reassign: {to: 'role: sales', reason: \"a\\nb\"}\n", 3, "step-1", r"reassign reason: one line"),
    case("reassign-with-tasks-text", S + "  - reassign: {to: 'role: sales', with_tasks: yes please}\n", 3, "step-1", r"with_tasks: true or false"),
    case("reassign-nul-in-role", S + '  - reassign: {to: "role: sa\\0les"}\n', 3, None, r"control character"),
    # message templates
    case("unknown-template", S + "  - email: winback_offr\n", 3, "step-1", r"no template templates/messages/hu/winback_offr\.yaml"),
    case("unknown-template-in-chain-language", "language: en\n" + S + "  - sms: nope\n", 4, "step-1", r"no template templates/messages/en/nope\.yaml"),
    case("template-without-sms", S + "  - sms: winback_offer\n", 3, "step-1", r"messages/hu/winback_offer\.yaml has no sms part"),
    case("template-name-is-a-path", S + "  - email: ../../config/settings\n", 3, "step-1", r"email: the name of a message template"),
    case("template-name-capitals", S + "  - email: Winback_offer\n", 3, "step-1", r"email: the name of a message template"),
    case("template-name-is-a-list", S + "  - sms: [winback_reminder]\n", 3, "step-1", r"sms: the name of a message template"),
    case("template-name-is-a-number", S + "  - sms: 7\n", 3, "step-1", r"sms: the name of a message template"),
    case("template-name-very-long", S + "  - email: " + "a" * 5000 + "\n", 3, "step-1", r"email: the name of a message template"),
    # paths: unreachable steps and loops without a wait
    case("unreachable-after-exit", S + "  - exit\n  - wait: 1d\n", 4, "step-2", r"no path leads to it \(put a goto, then or else"),
    case(
        "unreachable-jumped-over",
        S + "  - goto: last\n  - id: middle\n    wait: 1d\n  - id: last\n    exit: true\n",
        4,
        "middle",
        r"no path leads to it",
    ),
    case("unreachable-after-if-that-exits", S + "  - if: replied\n    then: exit\n    else: exit\n  - wait: 1d\n", 6, "step-2", "no path leads"),
    case("loop-if-to-itself", S + "  - id: ask\n    if: replied\n    then: ask\n", 3, "ask", r"the loop ask → ask has no wait; .*for ever"),
    case("loop-goto-back", S + "  - id: offer\n    email: winback_offer\n  - goto: offer\n", 3, "offer", r"the loop offer → step-2 → offer has no wait"),
    case(
        "loop-wait-for-met",
        S + "  - id: watch\n    wait_for: replied\n    timeout: 1d\n    then: watch\n",
        3,
        "watch",
        r"the loop watch → watch has no wait",
    ),
    case(
        "loop-through-task-and-else",
        S + "  - id: ask\n    if: replied\n    then: exit\n    else: call\n  - id: call\n    task: {title: Hívd fel}\n  - goto: ask\n",
        3,
        "ask",
        r"the loop ask → call → step-3 → ask has no wait",
    ),
    # conditions
    case("if-unknown-field", S + "  - if: answered\n", 3, "step-1", r"if: .*unknown field 'answered'"),
    case("if-unknown-field-inside", S + "  - if: replied and (bought_since_enrolment or nosuch > 3)\n", 3, "step-1", r"unknown field 'nosuch'"),
    case("wait-for-unknown-field", S + "  - wait_for: answered\n    timeout: 7d\n", 3, "step-1", r"wait_for: .*unknown field 'answered'"),
    case("goal-unknown-field", ONE + "goal: purchased\n", 4, None, r"goal: .*unknown field 'purchased'"),
    case("exit-when-unknown-field", ONE + "exit_when: opted_out\n", 4, None, r"exit_when: .*unknown field 'opted_out'"),
    case("if-unfinished", S + "  - if: replied and\n", 3, "step-1", r"if: line 1, column \d+: "),
    case("if-not-text", S + "  - if: {replied: true}\n", 3, "step-1", r"if: a condition in the filter language, as text"),
    case("if-blank", S + "  - if: '  '\n", 3, "step-1", r"if: a condition in the filter language, as text"),
    case("if-nested-too-deep", S + "  - if: '" + "(" * 50 + "replied" + ")" * 50 + "'\n", 3, "step-1", r"nested more than \d+ levels"),
    case("goal-a-number", ONE + "goal: 5\n", 4, None, r"goal: a condition in the filter language, as text"),
    case("if-unknown-segment", S + '  - if: in_segment("nosuch")\n', 3, "step-1", r"no segment named 'nosuch'"),
    # jumps to steps that do not exist
    case("then-unknown", S + "  - if: replied\n    then: thanks\n", 4, "step-1", r"then: no step 'thanks' \(steps: step-1, or exit\)"),
    case("else-unknown", S + "  - if: replied\n    then: exit\n    else: call\n", 5, "step-1", r"else: no step 'call'"),
    case("goto-unknown", ONE + "  - goto: start\n", 4, "step-2", r"goto: no step 'start' \(steps: step-1, step-2, or exit\)"),
    case("wait-for-then-unknown", S + "  - wait_for: replied\n    timeout: 7d\n    then: thanks\n", 5, "step-1", r"then: no step 'thanks'"),
    case("wait-for-else-unknown", S + "  - wait_for: replied\n    timeout: 7d\n    else: call\n", 5, "step-1", r"else: no step 'call'"),
    case("then-null", S + "  - if: replied\n    then:\n", 4, "step-1", r"then: the id of a step, or exit \(found None\)"),
    case("goto-a-number", S + "  - goto: 2\n", 3, "step-1", r"goto: the id of a step, or exit \(found 2\)"),
    case("then-a-list", S + "  - if: replied\n    then: [exit]\n", 4, "step-1", r"then: "),
    case("else-a-mapping", S + "  - if: replied\n    else: {goto: exit}\n", 4, "step-1", r"else: "),
    case("goto-a-list", S + "  - goto: [step-1]\n", 3, "step-1", r"goto: "),
    case("wait-for-else-a-list", S + "  - wait_for: replied\n    timeout: 7d\n    else: [exit]\n", 5, "step-1", r"else: "),
    # durations
    case("wait-zero", S + "  - wait: 0d\n", 3, "step-1", NOT_DURATION),
    case("wait-negative", S + "  - wait: -5\n", 3, "step-1", NOT_DURATION),
    case("wait-over-ten-years", S + "  - wait: 3651d\n", 3, "step-1", NOT_DURATION),
    case("wait-fraction", S + "  - wait: 1.5\n", 3, "step-1", NOT_DURATION),
    case("wait-boolean", S + "  - wait: yes\n", 3, "step-1", NOT_DURATION),
    case("wait-words", S + "  - wait: two weeks\n", 3, "step-1", NOT_DURATION),
    case("wait-null", S + "  - wait:\n", 3, "step-1", NOT_DURATION),
    case("wait-a-list", S + "  - wait: [14d]\n", 3, "step-1", NOT_DURATION),
    case("wait-huge", S + "  - wait: 99999999999999999999999d\n", 3, "step-1", NOT_DURATION),
    case("wait-infinite", S + "  - wait: .inf\n", 3, "step-1", NOT_DURATION),
    case("wait-for-timeout-zero", S + "  - wait_for: replied\n    timeout: 0d\n", 4, "step-1", NOT_DURATION),
    case("wait-for-check-every-words", S + "  - wait_for: replied\n    timeout: 7d\n    check_every: often\n", 5, "step-1", NOT_DURATION),
    case("task-due-words", TASK + "      due: tomorrow\n", 5, "step-1", NOT_DURATION),
    case("wait-for-without-timeout", S + "  - wait_for: replied\n", 3, "step-1", r"wait_for needs a timeout \(how long to wait at most\)"),
    case("re-entry-words", ONE + "re_entry: sometimes\n", 4, None, r"re_entry \(never, or a cool-down\): 'sometimes' " + NOT_DURATION),
    case("re-entry-zero", ONE + "re_entry: 0s\n", 4, None, r"re_entry \(never, or a cool-down\): '0s' " + NOT_DURATION),
    case("re-entry-null", ONE + "re_entry:\n", 4, None, r"re_entry \(never, or a cool-down\): None " + NOT_DURATION),
    case("number-of-5000-digits", S + "  - wait: " + "9" * 5000 + "\n", 3, None, r"cannot read '9+…': Exceeds the limit"),
    # weekday and hour
    case("weekday-unknown", S + "  - wait: {weekday: funday, hour: 9}\n", 3, "step-1", WAIT_FORMAT),
    case("weekday-capitalised", S + "  - wait: {weekday: Monday, hour: 9}\n", 3, "step-1", WAIT_FORMAT),
    case("weekday-a-list", S + "  - wait: {weekday: [monday], hour: 9}\n", 3, "step-1", WAIT_FORMAT),
    case("hour-24", S + "  - wait: {hour: 24}\n", 3, "step-1", WAIT_FORMAT),
    case("hour-negative", S + "  - wait: {hour: -1}\n", 3, "step-1", WAIT_FORMAT),
    case("hour-as-text", S + "  - wait: {hour: '9'}\n", 3, "step-1", WAIT_FORMAT),
    case("hour-fraction", S + "  - wait: {hour: 9.5}\n", 3, "step-1", WAIT_FORMAT),
    case("hour-boolean", S + "  - wait: {hour: true}\n", 3, "step-1", WAIT_FORMAT),
    case("hour-huge", S + "  - wait: {hour: 1000000000000000000000000000000}\n", 3, "step-1", WAIT_FORMAT),
    case("hour-missing", S + "  - wait: {weekday: monday}\n", 3, "step-1", WAIT_FORMAT),
    case("wait-minute", S + "  - wait: {hour: 9, minute: 30}\n", 3, "step-1", WAIT_FORMAT),
    case("wait-empty-mapping", S + "  - wait: {}\n", 3, "step-1", WAIT_FORMAT),
    # tasks
    case("task-owner-unknown", TASK + "      owner: bob\n", 5, "step-1", OWNER),
    case("task-owner-null", TASK + "      owner:\n", 5, "step-1", OWNER),
    case("task-owner-two-words", TASK + "      owner: 'login: kiss anna'\n", 5, "step-1", OWNER),
    case("task-owner-mapping", TASK + "      owner: {login: kovacs}\n", 5, "step-1", OWNER),
    case("task-priority-unknown", TASK + "      priority: urgent\n", 5, "step-1", r"task priority 'urgent': low, normal or high"),
    case("task-priority-number", TASK + "      priority: 1\n", 5, "step-1", r"task priority 1: low, normal or high"),
    case("task-without-title", S + "  - task:\n      note: Hívd fel\n", 3, "step-1", r"task: a mapping with title \(and note, owner, due, priority\)"),
    case("task-a-list", S + "  - task: [Hívd fel]\n", 3, "step-1", r"task: a mapping with title"),
    case("task-text", S + "  - task: Hívd fel\n", 3, "step-1", r"task: a mapping with title"),
    case("task-unknown-key", TASK + "      assignee: kovacs\n", 5, "step-1", r"task: unknown key 'assignee' \(it takes title, note, owner, due, priority\)"),
    case("task-title-number", S + "  - task:\n      title: 42\n", 4, "step-1", r"title must be text"),
    case("task-title-broken-template", S + "  - task:\n      title: '{{ partner.name'\n", 4, "step-1", r"title, template line 1: "),
    case("task-note-blank", TASK + "      note: ' '\n", 5, "step-1", r"note must be text"),
    # step ids
    case("id-twice", S + "  - id: a\n    wait: 1d\n  - id: a\n    wait: 2d\n", 5, None, r"step id 'a' is used twice \(first by step 1\)"),
    case("id-clashes-with-a-default", S + "  - id: step-2\n    wait: 1d\n  - wait: 2d\n", 5, None, r"step id 'step-2' is used twice"),
    case("id-exit", S + "  - id: exit\n    wait: 1d\n", 3, None, r"step id 'exit': letters, digits, _ and -, starting with a letter, at most 64, not 'exit'"),
    case("id-number", S + "  - id: 5\n    wait: 1d\n", 3, None, r"step id 5: letters"),
    case("id-a-list", S + "  - id: [a]\n    wait: 1d\n", 3, None, r"step id a list: letters"),
    case("id-with-space", S + "  - id: first step\n    wait: 1d\n", 3, None, r"step id 'first step': letters"),
    case(
        "id-65-characters",
        S + "  - id: " + "a" * 65 + "\n    wait: 1d\n",
        3,
        None,
        r"step id 'a+…: letters, digits, _ and -, starting with a letter, at most 64",
    ),
    # unknown keys
    case("top-unknown-key", ONE + "tags: [vip]\n", 4, None, r"unknown key 'tags' \(a chain holds title, trigger, re_entry, exit_when, goal, suppress"),
    case("top-misspelt-key", ONE + "languge: en\n", 4, None, r"unknown key 'languge'"),
    case("top-boolean-key", ONE + "yes: 1\n", 4, None, r"unknown key"),
    case("top-number-key", ONE + "1: x\n", 4, None, r"unknown key"),
    case("step-unknown-key", ONE + "    then: exit\n", 4, "step-1", r"unknown key 'then' for a wait step \(it takes id, wait\)"),
    case("email-unknown-key", S + "  - email: winback_offer\n    subject: Hello\n", 4, "step-1", r"unknown key 'subject' for a email step"),
    case("wait-for-unknown-key", S + "  - wait_for: replied\n    timeout: 1d\n    every: 1h\n", 5, "step-1", r"unknown key 'every' for a wait_for step"),
    case("goto-with-then", S + "  - goto: exit\n    then: exit\n", 4, "step-1", r"unknown key 'then' for a goto step"),
    # the document, its top-level keys and their types
    case("document-a-list", "- trigger: manual\n", None, None, r"a chain holds title, trigger, re_entry, exit_when, goal, suppress, language, steps"),
    case("document-text", "winback\n", None, None, r"a chain holds title, trigger"),
    case("document-a-number", "42\n", None, None, r"a chain holds title, trigger"),
    case("title-a-list", ONE + "title: [Visszacsábítás]\n", 4, None, r"title must be text"),
    case("title-blank", ONE + "title: '  '\n", 4, None, r"title must be text"),
    case("trigger-missing", "steps:\n  - wait: 1d\n", None, None, r"trigger: `entered: SEGMENT`, `left: SEGMENT`, `manual`, `{event: EVENT, days: N}`"),
    case("trigger-a-list", "trigger: [manual]\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: `entered: SEGMENT`"),
    case("trigger-unknown-kind", "trigger: {joined: lapsed}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: `entered: SEGMENT`"),
    case("trigger-two-kinds", "trigger: {entered: lapsed, left: vip}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: `entered: SEGMENT`"),
    case("trigger-manual-false", "trigger: {manual: false}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: `entered: SEGMENT`"),
    case(
        "trigger-unknown-segment",
        "trigger:\n  entered: lapsd\nsteps:\n  - wait: 1d\n",
        2,
        None,
        r"no segment named 'lapsd' \(segments: frequent_complainers, lapsed, vip\)",
    ),
    case("trigger-segment-a-list", "trigger:\n  entered: [lapsed]\nsteps:\n  - wait: 1d\n", 2, None, r"\bentered\b.*\bsegment\b"),
    case("trigger-segment-null", "trigger:\n  left:\nsteps:\n  - wait: 1d\n", 2, None, r"\bleft\b.*\bsegment\b"),
    case("language-unknown", ONE + "language: de\n", 4, None, r"language 'de': one of hu, en"),
    case("language-a-list", ONE + "language: [hu]\n", 4, None, r"language a list: one of hu, en"),
    case("suppress-text", ONE + "suppress: lapsed\n", 4, None, r"suppress: a list of segment names"),
    case("suppress-numbers", ONE + "suppress: [1]\n", 4, None, r"suppress: a list of segment names"),
    case("suppress-unknown-segment", ONE + "suppress:\n  - vip\n  - nosuch\n", 6, None, r"no segment named 'nosuch'"),
    # ERP-event and date triggers
    case(
        "event-unknown",
        "trigger: {event: first_buy}\nsteps:\n  - wait: 1d\n",
        1,
        None,
        r"trigger: event 'first_buy': one of first_purchase, purchase, invoice_overdue, quote_not_ordered",
    ),
    case("event-a-number", "trigger: {event: 8}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: event 8: one of first_purchase"),
    case("event-a-list", "trigger: {event: [purchase]}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: event a list: one of first_purchase"),
    case("event-null", "trigger: {event: null}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: event None: one of first_purchase"),
    case(
        "event-sql",
        'trigger: {event: "x\'; DROP TABLE crm_invoice; --"}\nsteps:\n  - wait: 1d\n',
        1,
        None,
        r"trigger: event \"x'; DROP TABLE crm_invoice; --\": one of",
    ),
    case("event-template", "trigger: {event: '{{ 7*7 }}'}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: event '\{\{ 7\*7 \}\}': one of"),
    case(
        "days-negative",
        "trigger: {event: invoice_overdue, days: -1}\nsteps:\n  - wait: 1d\n",
        1,
        None,
        r"trigger: invoice_overdue: days -1 is not a whole number of days from 1 to 3650",
    ),
    case(
        "days-zero-overdue",
        "trigger: {event: invoice_overdue, days: 0}\nsteps:\n  - wait: 1d\n",
        1,
        None,
        r"invoice_overdue: days 0 is not a whole number of days from 1 to 3650",
    ),
    case(
        "days-absurd",
        "trigger: {event: quote_not_ordered, days: 100000}\nsteps:\n  - wait: 1d\n",
        1,
        None,
        r"quote_not_ordered: days 100000 is not a whole number of days from 1 to 3650",
    ),
    case(
        "days-huge",
        "trigger: {event: invoice_overdue, days: 1000000000000000000000000000000}\nsteps:\n  - wait: 1d\n",
        1,
        None,
        r"days 1000000000000000000000000000000 is not a whole number",
    ),
    case("days-text", "trigger: {event: invoice_overdue, days: 8d}\nsteps:\n  - wait: 1d\n", 1, None, r"days '8d' is not a whole number of days"),
    case("days-float", "trigger: {event: invoice_overdue, days: 8.5}\nsteps:\n  - wait: 1d\n", 1, None, r"days 8.5 is not a whole number of days"),
    case("days-bool", "trigger: {event: invoice_overdue, days: true}\nsteps:\n  - wait: 1d\n", 1, None, r"days True is not a whole number of days"),
    case("days-null", "trigger: {event: invoice_overdue, days: null}\nsteps:\n  - wait: 1d\n", 1, None, r"days None is not a whole number of days"),
    case(
        "days-negative-complaint",
        "trigger: {event: complaint_closed, days: -3}\nsteps:\n  - wait: 1d\n",
        1,
        None,
        r"complaint_closed: days -3 is not a whole number of days from 0 to 3650",
    ),
    case(
        "days-missing-overdue",
        "trigger: {event: invoice_overdue}\nsteps:\n  - wait: 1d\n",
        1,
        None,
        r"trigger: invoice_overdue needs days \(how many days after the record's date, 1 to 3650\)",
    ),
    case("days-missing-quote", "trigger: {event: quote_not_ordered}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: quote_not_ordered needs days"),
    case("days-on-purchase", "trigger: {event: purchase, days: 3}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: purchase takes no days"),
    case("days-on-first-purchase", "trigger: {event: first_purchase, days: 0}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: first_purchase takes no days"),
    case("days-on-birthday", "trigger: {date: birthday, days: 1}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: birthday takes no days"),
    case("date-unknown", "trigger: {date: nameday}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: date 'nameday': one of birthday, first_purchase_anniversary"),
    case("date-a-date", "trigger: {date: 2026-03-02}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: date datetime.date\(2026, 3, 2\): one of birthday"),
    case(
        "event-and-date",
        "trigger: {event: purchase, date: birthday}\nsteps:\n  - wait: 1d\n",
        1,
        None,
        r"trigger: unknown key 'date' beside event \(it takes event, days\)",
    ),
    case("event-and-segment", "trigger: {event: purchase, entered: lapsed}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: unknown key 'entered' beside event"),
    case("event-stray-key", "trigger: {event: complaint_closed, hours: 2}\nsteps:\n  - wait: 1d\n", 1, None, r"trigger: unknown key 'hours' beside event"),
    case(
        "date-with-stray-key",
        "trigger: {date: birthday, year: 2026}\nsteps:\n  - wait: 1d\n",
        1,
        None,
        r"trigger: unknown key 'year' beside date \(it takes date\)",
    ),
    case("steps-a-mapping", "trigger: manual\nsteps:\n  wait: 1d\n", 2, None, r"steps: a list of at least one step"),
    case("steps-empty", "trigger: manual\nsteps: []\n", 2, None, r"steps: a list of at least one step"),
    case("steps-null", "trigger: manual\nsteps:\n", 2, None, r"steps: a list of at least one step"),
    case("steps-missing", "trigger: manual\n", None, None, r"steps: a list of at least one step"),
    case("steps-201", S + "  - wait: 1d\n" * 201, 2, None, r"steps: at most 200"),
    case("exit-false", S + "  - exit: false\n", 3, "step-1", r"\bexit\b"),
    case("exit-a-list", S + "  - exit: [1, 2]\n", 3, "step-1", r"\bexit\b"),
    # very long values
    case("language-very-long", ONE + "language: " + "x" * 20000 + "\n", 4, None, r"language .*: one of hu, en"),
    case("task-owner-very-long", TASK + "      owner: " + "x" * 20000 + "\n", 5, "step-1", OWNER),
    case("segment-very-long", "trigger:\n  entered: " + "x" * 20000 + "\nsteps:\n  - wait: 1d\n", 2, None, r"no segment named"),
    # the file as YAML
    case("empty-file", "", None, None, r"steps: a list of at least one step"),
    case("only-comments", "# a chain, one day\n", None, None, r"steps: a list of at least one step"),
    case("only-document-markers", "---\n...\n", None, None, r"steps: a list of at least one step"),
    case("two-documents", ONE + "---\n" + ONE, 4, None, r"invalid YAML: expected a single document"),
    case("duplicate-key", "trigger: manual\ntrigger: {entered: lapsed}\nsteps: [wait: 1d]\n", 2, None, r"trigger: duplicate key \(first at line 1\)"),
    case("duplicate-key-in-a-step", ONE + "    wait: 2d\n", 4, None, r"steps\.0\.wait: duplicate key \(first at line 3\)"),
    case("control-character-escape", S + '  - email: "winback\\e_offer"\n', 3, None, r"character U\+001B is not allowed"),
    case("control-character-raw", S + "  - wait: 1d\x07\n", 3, None, r"character U\+0007 is not allowed"),
    case("bidi-override", S + '  - email: "\u202ewinback_offer"\n', 3, None, r"character U\+202E is not allowed"),
    case("not-utf-8", b"trigger: manual\nsteps:\n  - email: caf\xe9\n", 3, None, r"not UTF-8 text \(byte 0xe9\); save the file as UTF-8"),
    case("utf-16", ONE.encode("utf-16"), 1, None, r"not UTF-8 text"),
    case("alias-bomb", LAUGHS, 6, None, r"more than 200,000 values"),
    case("alias-loop", "trigger: manual\nsteps: &a [*a]\n", 2, None, r"this alias refers to a value that contains it"),
    case("nested-150-deep", "trigger: manual\nsteps: " + "[" * 150 + "]" * 150 + "\n", 2, None, r"nested more than 100 levels deep"),
    case("unclosed-bracket", S + "  - wait: [1d\n", 4, None, r"invalid YAML: while parsing a flow sequence"),
    case("tab-indentation", "trigger: manual\nsteps:\n\t- wait: 1d\n", 3, None, r"invalid YAML: .*'\\t' that cannot start any token"),
    case("unquoted-colon", S + "  - if: in_segment(name: vip)\n", 3, None, r"must be quoted: - if: 'in_segment\(name: vip\)'"),
    case("over-a-megabyte", ONE + "#" * 1_000_001, None, None, r"larger than 1,000,000 bytes"),
]


@pytest.mark.parametrize("text, line, step, words", BAD_CHAINS)
def test_a_mistake_is_one_line_at_its_file_line_and_step(home: Path, text: str | bytes, line: int | None, step: str | None, words: str) -> None:
    refused(write(home, "broken", text), home, line, step, words)


def test_messages_are_config_errors(home: Path) -> None:
    """The CLI prints a UserError as a line; the chain reader's own are ConfigErrors, as for every settings file."""
    with pytest.raises(ConfigError):
        load_chain(write(home, "broken", S + "  - send: x\n"), checks_for(home))


def test_a_broken_message_template_is_named_at_its_own_file_and_line(home: Path) -> None:
    template = home / "templates" / "messages" / "hu" / "half.yaml"
    template.write_text("email:\n  subject: Szia\n", encoding="utf-8")
    with deadline(SECONDS), pytest.raises(UserError) as caught:
        load_chain(write(home, "uses_half", S + "  - email: half\n"), checks_for(home))
    message = str(caught.value)
    assert_readable(message, home)
    assert message.startswith(f"{template}:1: email: missing 'text'"), message


def test_a_template_of_the_other_language_without_the_channel_is_refused(home: Path) -> None:
    """A message goes in the partner's language where a template exists, so every language's template needs the channel."""
    (home / "templates" / "messages" / "en" / "winback_reminder.yaml").write_text("email:\n  subject: Hi\n  text: Hello\n", encoding="utf-8")
    path = write(home, "reminder", S + "  - sms: winback_reminder\n")
    message = refused(path, home, 3, "step-1", r"messages/en/winback_reminder\.yaml has no sms part")
    assert "messages/hu" not in message


# ---------------------------------------------------------------- the file itself


def test_a_folder_in_place_of_the_file(home: Path) -> None:
    path = home / "jobs" / "chains" / "folder.yaml"
    path.mkdir()
    refused(path, home, None, None, r"is a folder, not a file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_in_place_of_the_file_does_not_hang(home: Path) -> None:
    path = home / "jobs" / "chains" / "pipe.yaml"
    os.mkfifo(path)
    refused(path, home, None, None, r"is not a regular file")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_link_to_an_endless_device_does_not_hang(home: Path) -> None:
    path = home / "jobs" / "chains" / "zero.yaml"
    path.symlink_to("/dev/zero")
    refused(path, home, None, None, r"is not a regular file")


def test_a_missing_file_and_a_dangling_link(home: Path) -> None:
    refused(home / "jobs" / "chains" / "missing.yaml", home, None, None, r"file not found")
    link = home / "jobs" / "chains" / "dangling.yaml"
    link.symlink_to(home / "nowhere.yaml")
    refused(link, home, None, None, r"file not found")


NAME_RULE = r"a chain's file name is its name: lower-case letters, digits, _ and -, starting with a letter"


@pytest.mark.parametrize(
    "name, words",
    [
        pytest.param("Winback", NAME_RULE, id="capital"),
        pytest.param("1st_offer", NAME_RULE, id="starts-with-a-digit"),
        pytest.param("_offer", NAME_RULE, id="starts-with-underscore"),
        pytest.param("win back", NAME_RULE, id="space"),
        pytest.param("winback.v2", NAME_RULE, id="dot"),
        pytest.param("visszacsábítás", NAME_RULE, id="accents"),
        pytest.param("x" * 101, r"100", id="101-characters"),
    ],
)
def test_a_file_name_that_is_not_a_chain_name(home: Path, name: str, words: str) -> None:
    refused(write(home, name, ONE), home, None, None, words)


def test_a_name_of_100_characters_is_a_chain_name(home: Path) -> None:
    chain, _ = load_chain(write(home, "x" * 100, ONE), checks_for(home))
    assert chain.name == "x" * 100


# ---------------------------------------------------------------- data that only parse_chain sees


def _where(loc: tuple[Any, ...]) -> str:
    return "stored.yaml:" + ".".join(str(part) for part in loc)


def _deep(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"trigger": "manual", "steps": ({"wait": "1d"},)}, id="steps-a-tuple"),
        pytest.param({"trigger": "manual", "steps": [{"wait": b"1d"}]}, id="duration-bytes"),
        pytest.param({"trigger": "manual", "steps": [{"if": "replied", "then": {1}}]}, id="target-a-set"),
        pytest.param({"trigger": "manual", "steps": [{"if": "replied", "then": float("nan")}]}, id="target-nan"),
        pytest.param({"trigger": "manual", ("a",): 1, "steps": [{"wait": "1d"}]}, id="key-a-tuple"),
        pytest.param({"trigger": "manual", "steps": [{"wait": "1d", dt.date(2026, 3, 2): 1}]}, id="key-a-date"),
        pytest.param({"trigger": "manual", "steps": [{"wait": {"hour": 10**5000}}]}, id="hour-of-5000-digits"),
        pytest.param({"trigger": "manual", "steps": [{"wait": 10**5000}]}, id="wait-of-5000-digits"),
        pytest.param({"trigger": "manual", "language": 10**5000, "steps": [{"wait": "1d"}]}, id="language-of-5000-digits"),
        pytest.param({"trigger": "manual", "steps": [{"id": 10**5000, "wait": "1d"}]}, id="id-of-5000-digits"),
        pytest.param({"trigger": "manual", "steps": [{"goto": 10**5000}]}, id="goto-of-5000-digits"),
        pytest.param({"trigger": "manual", "steps": [_deep(100_000)]}, id="step-nested-100000-deep"),
        pytest.param({"trigger": "manual", "steps": [{"wait": _deep(100_000)}]}, id="wait-nested-100000-deep"),
    ],
)
def test_odd_data_given_to_parse_chain_is_one_line(home: Path, data: Any) -> None:
    with deadline(SECONDS), pytest.raises(UserError) as caught:
        parse_chain("stored", data, _where, checks_for(home))
    message = str(caught.value)
    assert_readable(message, home)
    assert message.startswith("stored.yaml:"), message


# ---------------------------------------------------------------- valid chains


def _shape(chain: ChainDef) -> list[tuple[str, str, str, str]]:
    """Each step as (id, kind, next, otherwise)."""
    return [(s.id, s.kind, s.next, s.otherwise) for s in chain.steps]


@pytest.mark.parametrize(
    "trigger, expected",
    [
        ("{event: first_purchase}", Trigger("first_purchase")),
        ("{event: purchase}", Trigger("purchase")),
        ("{event: invoice_overdue, days: 8}", Trigger("invoice_overdue", days=8)),
        ("{event: quote_not_ordered, days: 3650}", Trigger("quote_not_ordered", days=3650)),
        ("{event: complaint_closed}", Trigger("complaint_closed", days=0)),
        ("{event: complaint_closed, days: 2}", Trigger("complaint_closed", days=2)),
        ("{date: birthday}", Trigger("birthday")),
        ("{date: first_purchase_anniversary}", Trigger("first_purchase_anniversary")),
    ],
)
def test_event_and_date_triggers_are_read(home: Path, trigger: str, expected: Trigger) -> None:
    chain, _ = load_chain(write(home, "on_record", f"trigger: {trigger}\nsteps:\n  - wait: 1d\n"), checks_for(home))
    assert chain.trigger == expected and chain.trigger.on_records


def test_the_shipped_win_back_chain(home: Path) -> None:
    path = home / "jobs" / "chains" / "winback.yaml"
    chain, data = load_chain(path, checks_for(home))
    assert (chain.name, chain.title, chain.language) == ("winback", "Visszacsábítás (Win back lapsed customers)", "hu")
    assert chain.trigger == Trigger("entered", "lapsed")
    assert chain.re_entry_after == 180 * DAY
    assert chain.goal is not None and chain.goal.text == "bought_since_enrolment"
    assert chain.exit_when is None
    assert chain.suppress == ("frequent_complainers",)
    assert chain.first == "offer"
    offer, pause, reminder, give_it_a_week, call = chain.steps
    assert offer == Step("offer", "email", "winback_offer", "step-2")
    assert pause == Step("step-2", "wait", {"seconds": 14 * DAY}, "reminder")
    assert reminder == Step("reminder", "sms", "winback_reminder", "give_it_a_week")
    assert (give_it_a_week.kind, give_it_a_week.next, give_it_a_week.otherwise) == ("wait_for", "exit", "call")
    assert (give_it_a_week.timeout, give_it_a_week.check_every) == (7 * DAY, DAY)
    assert give_it_a_week.value.text == "bought_since_enrolment"
    assert call == Step(
        "call",
        "task",
        {
            "title": "Hívd fel: {{ partner.name }} (visszacsábítás)",
            "note": "Két hete levelet, egy hete SMS-t kapott, azóta sem vásárolt.",
            "owner": "salesperson",
            "due_days": 3,
            "priority": "high",
        },
        "exit",
    )
    assert set(chain.by_id) == {"offer", "step-2", "reminder", "give_it_a_week", "call"}
    # what is published is read back without the checks, and must be the same chain
    assert parse_chain("winback", data, _where, None) == chain


FOLLOW_UP = """\
title: Follow-up
trigger:
  left: vip
re_entry: 30d
exit_when: replied
suppress: []
language: en
steps:
  - id: remind
    email: winback_offer
  - id: pause
    wait: {weekday: monday, hour: 9}
  - id: check
    if: bought_since_enrolment
    then: thank
    else: again
  - id: again
    wait_for: replied or in_segment("vip")
    timeout: 7d
    check_every: 6h
    then: done
    else: remind      # back round, but only after the timeout: a wait
  - id: thank
    task:
      title: "Köszönd meg: {{ partner.name }}"
      owner: "role: sales"
      due: 36h
      priority: low
  - id: done
    exit: true
"""


def test_a_loop_that_passes_waits_with_weekday_hour_wait_for_and_exit(home: Path) -> None:
    chain, data = load_chain(write(home, "follow_up", FOLLOW_UP), checks_for(home))
    assert (chain.title, chain.trigger, chain.re_entry_after, chain.language, chain.suppress) == ("Follow-up", Trigger("left", "vip"), 30 * DAY, "en", ())
    assert chain.exit_when is not None and chain.exit_when.text == "replied"
    assert _shape(chain) == [
        ("remind", "email", "pause", "exit"),
        ("pause", "wait", "check", "exit"),
        ("check", "if", "thank", "again"),
        ("again", "wait_for", "done", "remind"),
        ("thank", "task", "done", "exit"),
        ("done", "exit", "exit", "exit"),
    ]
    by_id = chain.by_id
    assert by_id["pause"].value == {"weekday": "monday", "hour": 9}
    assert (by_id["again"].timeout, by_id["again"].check_every) == (7 * DAY, 6 * 3600)
    assert by_id["again"].value.text == 'replied or in_segment("vip")'
    assert by_id["thank"].value == {"title": "Köszönd meg: {{ partner.name }}", "note": None, "owner": "role: sales", "due_days": 2, "priority": "low"}
    assert parse_chain("follow_up", data, _where, None) == chain


GOOD_CHAINS = [
    pytest.param(
        "trigger: manual\nsteps:\n  - id: nudge\n    sms: winback_reminder\n  - wait: 2h\n  - if: replied\n    then: exit\n  - goto: nudge\n",
        [("nudge", "sms", "step-2", "exit"), ("step-2", "wait", "step-3", "exit"), ("step-3", "if", "exit", "step-4"), ("step-4", "goto", "nudge", "exit")],
        {"step-2": {"seconds": 7200}},
        id="loop-with-a-plain-wait",
    ),
    pytest.param(
        S + "  - id: watch\n    wait_for: replied\n    timeout: 1d\n    then: exit\n    else: watch\n",
        [("watch", "wait_for", "exit", "watch")],
        {},
        id="wait-for-looping-on-its-timeout",
    ),
    pytest.param(
        S + "  - wait: {hour: 0}\n  - wait: {weekday: sunday, hour: 23}\n  - wait: {weekday: friday, hour: 9}\n",
        [("step-1", "wait", "step-2", "exit"), ("step-2", "wait", "step-3", "exit"), ("step-3", "wait", "exit", "exit")],
        {"step-1": {"weekday": None, "hour": 0}, "step-2": {"weekday": "sunday", "hour": 23}, "step-3": {"weekday": "friday", "hour": 9}},
        id="weekday-and-hour-waits",
    ),
    pytest.param(
        S + "  - if: replied\n    then: stop\n  - email: winback_offer\n  - exit\n  - id: stop\n    exit: true\n",
        [("step-1", "if", "stop", "step-2"), ("step-2", "email", "step-3", "exit"), ("step-3", "exit", "exit", "exit"), ("stop", "exit", "exit", "exit")],
        {"step-2": "winback_offer"},
        id="exit-steps-both-forms",
    ),
    pytest.param(
        S + "  - goto: exit\n",
        [("step-1", "goto", "exit", "exit")],
        {},
        id="goto-exit",
    ),
    pytest.param(
        S + "  - wait: 60\n  - wait: 3650d\n  - wait: ' 14d '\n",
        [("step-1", "wait", "step-2", "exit"), ("step-2", "wait", "step-3", "exit"), ("step-3", "wait", "exit", "exit")],
        {"step-1": {"seconds": 60}, "step-2": {"seconds": 3650 * DAY}, "step-3": {"seconds": 14 * DAY}},
        id="seconds-ten-years-and-blanks",
    ),
    pytest.param(
        S + "  - task: {title: a, owner: 'login: kovacs', due: 1h}\n  - task: {title: b, owner: 'role:sales', note: '{{ partner.name }}'}\n",
        [("step-1", "task", "step-2", "exit"), ("step-2", "task", "exit", "exit")],
        {
            "step-1": {"title": "a", "note": None, "owner": "login: kovacs", "due_days": 1, "priority": "normal"},
            "step-2": {"title": "b", "note": "{{ partner.name }}", "owner": "role:sales", "due_days": 1, "priority": "normal"},
        },
        id="task-owners-and-defaults",
    ),
    pytest.param(
        S + "  - reassign: {to: 'role: sales'}\n  - reassign: {to: 'login: kovacs', reason: Nagy ügyfél, with_tasks: true}\n",
        [("step-1", "reassign", "step-2", "exit"), ("step-2", "reassign", "exit", "exit")],
        {
            "step-1": {"to": "role: sales", "pick": "least_loaded", "reason": None, "with_tasks": False},
            "step-2": {"to": "login: kovacs", "pick": "least_loaded", "reason": "Nagy ügyfél", "with_tasks": True},
        },
        id="reassign-to-a-role-and-a-login",
    ),
    pytest.param(
        "trigger: {manual: true}\nsteps:\n  - &offer {email: winback_offer}\n  - *offer\n",
        [("step-1", "email", "step-2", "exit"), ("step-2", "email", "exit", "exit")],
        {},
        id="manual-mapping-and-an-alias",
    ),
    pytest.param(
        S + "  - id: " + "a" * 64 + "\n    wait: 1d\n  - id: step-1\n    goto: exit\n",
        [("a" * 64, "wait", "step-1", "exit"), ("step-1", "goto", "exit", "exit")],
        {},
        id="longest-id-and-a-default-name-used-once",
    ),
    pytest.param(
        "trigger: {entered: lapsed}\nre_entry: never\ngoal: 'replied or bought_since_enrolment'\nexit_when: in_segment(\"vip\")\nsuppress: [vip, frequent_complainers]\n"
        'steps:\n  - if: bought_since_enrolment and in_segment("vip")\n    then: exit\n    else: exit\n',
        [("step-1", "if", "exit", "exit")],
        {},
        id="every-top-level-key",
    ),
    pytest.param(
        S + "  - wait: 1d\n" * 200,
        [(f"step-{n}", "wait", f"step-{n + 1}" if n < 200 else "exit", "exit") for n in range(1, 201)],
        {},
        id="200-steps",
    ),
]


@pytest.mark.parametrize("text, shape, values", GOOD_CHAINS)
def test_a_valid_chain_is_read_as_written(home: Path, text: str, shape: list[tuple[str, str, str, str]], values: dict[str, Any]) -> None:
    with deadline(SECONDS):
        chain, data = load_chain(write(home, "good", text), checks_for(home))
    assert _shape(chain) == shape
    for step_id, value in values.items():
        assert chain.by_id[step_id].value == value
    assert parse_chain("good", data, _where, None) == chain


# ---------------------------------------------------------------- random data

WORDS = [
    *KINDS,
    *("title", "trigger", "re_entry", "exit_when", "goal", "suppress", "language", "steps", "id", "then", "else", "timeout", "check_every"),
    *("note", "owner", "due", "priority", "weekday", "hour", "manual", "entered", "left", "lapsed", "vip", "hu", "en", "never"),
    *("winback_offer", "winback_reminder", "replied", "bought_since_enrolment", "nosuch > 1", "14d", "0d", "1h", "monday", "salesperson"),
    *("login: kovacs", "high", "step-1", "step-2", "step-3", "a", "{{ partner.name }}", "{{", "(((", 'in_segment("vip")'),
]
JUMPS = ("then", "else", "goto")
NO_JUMPS = [w for w in WORDS if w not in JUMPS]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(NO_JUMPS), st.text(max_size=8), st.integers(-3, 300), st.booleans(), st.none())


def _values(keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=16)


def _mostly(good: list[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of `good` three times in four, else `other`: random enough to hit mistakes, sound enough to get past the first check."""
    return st.one_of(st.sampled_from(good), st.sampled_from(good), st.sampled_from(good), other)


CONDITIONS = ["replied", "bought_since_enrolment", 'in_segment("vip")', "nosuch > 1", "replied and", ""]
GOOD_VALUES: dict[str, list[Any]] = {
    "email": ["winback_offer", "winback_reminder", "nope"],
    "sms": ["winback_reminder", "winback_offer"],
    "webhook": ["crm_hook", "nope", "Rossz Név"],
    "payload": [{"name": "{{ partner.name }}", "tier": "vip"}, {"bad key": 1}, {"x": "{{"}, "text", None],
    "wait": ["1d", "2h", 60, "0d", {"hour": 9}, {"weekday": "monday", "hour": 9}, {"weekday": "someday", "hour": 9}],
    "wait_for": CONDITIONS,
    "if": CONDITIONS,
    "task": [{"title": "Hívd fel"}, {"title": "x", "owner": "role: sales", "due": "3d", "priority": "high"}, {"title": "{{"}],
    "reassign": [{"to": "role: sales"}, {"to": "login: kovacs", "reason": "x"}, {"to": "role: nosuch", "pick": "random"}, {"to": "salesperson"}],
    "exit": [True],
    "timeout": ["7d", "0d"],
    "check_every": ["1h", "1d"],
    "id": ["a", "b", "step-1", "exit"],
}
STEP_IDS = ["step-1", "step-2", "step-3", "a", "b", "exit", "nope"]


def chains(targets: st.SearchStrategy[Any], keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Random data, mostly shaped like a chain so that the checks deep inside are reached; `targets` fills then/else/goto."""
    values = _values(keys)
    jump = _mostly(STEP_IDS, targets)

    def step(kind: str) -> st.SearchStrategy[Any]:
        value = jump if kind == "goto" else _mostly(GOOD_VALUES[kind], values)
        extra = {k: _mostly(GOOD_VALUES[k], values) for k in ("id", "timeout", "check_every", "payload")}
        return st.fixed_dictionaries({kind: value}, optional={**extra, "then": jump, "else": jump, "title": values})

    steps = st.lists(st.one_of(st.sampled_from(KINDS).flatmap(step), st.just("exit"), values), min_size=1, max_size=6)
    top: dict[str, list[Any]] = {
        "title": ["Teszt"],
        "re_entry": ["never", "30d", "0d"],
        "exit_when": CONDITIONS,
        "goal": CONDITIONS,
        "suppress": [[], ["vip"], ["nosuch"]],
        "language": ["hu", "en"],
    }
    shaped = st.fixed_dictionaries(
        {"trigger": _mostly(["manual", {"entered": "lapsed"}, {"left": "vip"}, {"entered": "nosuch"}], values), "steps": steps},
        optional={k: _mostly(good, values) for k, good in top.items()},
    )
    return st.one_of(shaped, shaped, shaped, values)


def _jumps_to_unhashable(data: Any) -> bool:
    """Whether a step jumps to a list or mapping."""
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list):
        return False
    return any(isinstance(s, dict) and any(isinstance(s.get(k), list | dict) for k in JUMPS) for s in steps)


@pytest.fixture(scope="module")
def fuzz_checks(tmp_path_factory: pytest.TempPathFactory) -> Checks:
    return checks_for(make_home(tmp_path_factory.mktemp("fuzz")))


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _parse_or_refuse(data: Any, checks: Checks) -> None:
    try:
        chain = parse_chain("fuzz", data, _where, checks)
    except UserError as error:
        assert str(error).startswith("stored.yaml:"), str(error)
    else:
        assert isinstance(chain, ChainDef) and chain.steps


@FUZZ
@given(data=chains(scalars, keys))
@example(data={"trigger": "manual", "steps": ["exit", {"wait": {"hour": 9, "weekday": None}}, {"goto": "step-1"}]})
@example(data={"trigger": {"entered": "lapsed"}, "steps": [{"wait_for": "replied", "timeout": "1d", "then": "step-1", "else": "exit"}]})
def test_random_data_is_a_chain_or_a_user_error(fuzz_checks: Checks, data: Any) -> None:
    assume(not _jumps_to_unhashable(data))
    _parse_or_refuse(data, fuzz_checks)


@FUZZ
@given(data=chains(_values(keys), st.one_of(keys, st.sampled_from(JUMPS))))
@example(data={"trigger": "manual", "steps": [{"goto": ["step-1"]}]})
def test_random_data_with_any_jump_target_is_a_chain_or_a_user_error(fuzz_checks: Checks, data: Any) -> None:
    _parse_or_refuse(data, fuzz_checks)


# ---------------------------------------------------------------- roles and logins


PEOPLE = {"roles": {"sales": ("kovacs",), "finance": ()}, "logins": frozenset({"kovacs", "nagy"})}


@pytest.mark.parametrize(
    "step, words",
    [
        ("reassign: {to: 'role: nosuch'}", r"no role 'nosuch' in chains.roles \(roles: finance, sales\)"),
        ("reassign: {to: 'login: szabo'}", r"no ERP user with the login 'szabo'"),
        ("task: {title: a, owner: 'role: marketing'}", r"no role 'marketing' in chains.roles"),
        ("task: {title: a, owner: 'login: senki'}", r"no ERP user with the login 'senki'"),
        ('reassign: {to: "role: x\';DROP"}', r"no role \"x';DROP\" in chains.roles"),
    ],
)
def test_roles_and_logins_a_step_names_must_exist(home: Path, step: str, words: str) -> None:
    path = write(home, "people", S + f"  - {step}\n")
    with pytest.raises(UserError) as caught:
        load_chain(path, checks_for(home, **PEOPLE))
    message = str(caught.value)
    assert_readable(message, home)
    assert message.startswith(f"{path}:3: step step-1: "), message
    assert re.search(words, message), message


def test_known_roles_and_logins_pass_and_unsynced_logins_are_not_checked(home: Path) -> None:
    text = S + "  - reassign: {to: 'role: finance'}\n  - reassign: {to: 'login: nagy'}\n  - task: {title: a, owner: 'login: kovacs'}\n"
    chain, _ = load_chain(write(home, "people", text), checks_for(home, **PEOPLE))
    assert [s.kind for s in chain.steps] == ["reassign", "reassign", "task"]
    unsynced = {"roles": PEOPLE["roles"], "logins": None}
    chain, _ = load_chain(write(home, "people", S + "  - reassign: {to: 'login: whoever'}\n"), checks_for(home, **unsynced))
    assert chain.steps[0].value["to"] == "login: whoever"
