"""What a check of `erp-crm doctor` reports: a finding per thing looked at, each with what to do about it.

A finding is one line for a person and a stable name for a script (`erp.reachable`,
`overlay.migrations`), so a monitoring job can watch one of them without parsing text.
Its message quotes what servers and settings said; control characters among them are
written as escapes, so a finding can neither rewrite a terminal nor run over its line.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from erp_crm.errors import UnresolvableHost
from erp_crm.yamlfile import CONTROL_CHARACTERS

if TYPE_CHECKING:
    from erp_crm.settings.root import Settings

_NOT_SHOWN = re.compile(f"[{CONTROL_CHARACTERS}\t\n\r]")
MOST_SHOWN = 1000  # characters of a message or hint: a server's answer or a hostile setting may be far longer


class Status(enum.Enum):
    """How a finding came out, worst last: a report is as bad as its worst finding."""

    OK = "ok"
    SKIPPED = "skipped"  # not set up here, or what it needs failed (another finding says why)
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return list(Status).index(self)


def one_line(text: str) -> str:
    """`text` as one printable line of at most MOST_SHOWN characters."""
    shown = _NOT_SHOWN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return shown if len(shown) <= MOST_SHOWN else shown[: MOST_SHOWN - 1] + "…"


@dataclass(frozen=True)
class Finding:
    """One thing looked at: its name, how it came out, what was found and (unless it is ok) what to do."""

    name: str
    status: Status
    message: str
    fix: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", one_line(self.message))
        object.__setattr__(self, "fix", one_line(self.fix))

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "message": self.message, "fix": self.fix}


def ok(name: str, message: str) -> Finding:
    return Finding(name, Status.OK, message)


def skipped(name: str, message: str) -> Finding:
    return Finding(name, Status.SKIPPED, message)


def unresolvable(name: str, error: UnresolvableHost) -> Finding:
    """A host name the resolver refuses before asking anyone: a typo in the setting the error names, not a network problem."""
    return Finding(name, Status.FAIL, str(error), f"correct the host in {error.key}")


Probe = Callable[["Settings", float], Iterator[Finding]]
"""An area's checks: given the settings and the seconds any one answer may take, its findings in order."""


@dataclass(frozen=True)
class Check:
    """An area of the install (`erp`, `email`), its findings made by `probe`.

    `names` are the findings it always makes, in order, so that a check that does not
    finish in time still reports under them (the first one missing fails, the rest are
    skipped) and a script watching `erp.reachable` finds it. A check whose findings
    depend on the settings (one per webhook) names none: `area` then stands for it, as it
    does for a check that breaks. The findings made until then are kept.
    """

    area: str
    probe: Probe
    names: tuple[str, ...] = ()
