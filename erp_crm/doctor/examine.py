"""Running the checks: each area in a thread of its own, so one that hangs or breaks keeps none of the others from reporting.

Every network step of a check has its own timeout (the `timeout` given, per answer).
Drivers that cannot be given one (an ODBC driver's login, a query the server never
answers) are caught by a deadline on the whole run: a check still working then is
reported as not answering, with the findings it made until then, and its thread is
left behind (a daemon thread: it ends with the process).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from erp_crm.doctor import config
from erp_crm.doctor.checks import CHECKS
from erp_crm.doctor.findings import Check, Finding, Status, skipped
from erp_crm.settings.root import Settings

STEPS_PER_CHECK = 3  # a check takes a few answers (connect, log in, query): the deadline allows this many timeouts


@dataclass(frozen=True)
class DoctorReport:
    """The findings in the order the checks are listed, the settings' first."""

    home: str | None
    findings: list[Finding]

    @property
    def status(self) -> Status:
        return max((f.status for f in self.findings), key=lambda s: s.rank, default=Status.OK)

    def counts(self) -> dict[str, int]:
        return {status.value: sum(f.status is status for f in self.findings) for status in Status}

    def as_dict(self) -> dict[str, object]:
        return {"home": self.home, "status": self.status.value, "counts": self.counts(), "findings": [f.as_dict() for f in self.findings]}


def examine(home_option: str | Path | None, timeout: float) -> DoctorReport:
    """Load the settings, then run every check; without settings the checks are skipped, since each needs them."""
    loaded, settings = config.load(home_option)
    if settings is None:
        names = [name for check in CHECKS for name in check.names or (check.area,)]
        return DoctorReport(None, [loaded, *(skipped(name, "not checked: the settings did not load") for name in names)])
    return DoctorReport(str(settings.home), [loaded, *run_checks(settings, CHECKS, timeout)])


class _Running:
    """One check in its thread, collecting its findings as they come."""

    def __init__(self, check: Check, settings: Settings, timeout: float) -> None:
        self.check = check
        self.findings: list[Finding] = []
        self.done = threading.Event()
        threading.Thread(target=self._run, args=(settings, timeout), name=f"doctor-{check.area}", daemon=True).start()

    def _run(self, settings: Settings, timeout: float) -> None:
        try:
            for finding in self.check.probe(settings, timeout):
                self.findings.append(finding)
        except Exception as exc:  # noqa: BLE001 (a check that breaks is a finding; the other checks go on)
            self.findings.append(
                Finding(
                    self.check.area, Status.FAIL, f"the check itself failed: {type(exc).__name__}: {exc}", "report this as a bug in erp-crm, with this line"
                )
            )
        finally:
            self.done.set()


def run_checks(settings: Settings, checks: tuple[Check, ...], timeout: float) -> list[Finding]:
    """Every check at once; their findings in the order of `checks`."""
    running = [_Running(check, settings, timeout) for check in checks]
    allowed = STEPS_PER_CHECK * timeout
    deadline = time.monotonic() + allowed
    findings: list[Finding] = []
    for run in running:
        finished = run.done.wait(max(0.0, deadline - time.monotonic()))
        made = list(run.findings)  # a copy: a check past its deadline may still add to its list
        findings.extend(made)
        if not finished:
            findings.extend(_unanswered(run.check, {f.name for f in made}, allowed))
    return findings


def _unanswered(check: Check, made: set[str], allowed: float) -> list[Finding]:
    """The findings of a check past its deadline: the first it owes fails, the rest were not reached."""
    missing = [name for name in check.names if name not in made] or [check.area]
    stuck = Finding(
        missing[0],
        Status.FAIL,
        f"no answer within {allowed:g} s: a server of this check accepted the connection and said nothing, or a firewall drops the packets",
        "find which host of this area does not answer (the settings name it); --timeout gives slow links more seconds",
    )
    return [stuck, *(skipped(name, f"not checked: {missing[0]} did not answer") for name in missing[1:])]
