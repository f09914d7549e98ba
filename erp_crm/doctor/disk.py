"""Free disk space where erp-crm writes: the home's var/ (logs, Maildirs, the demo) and the SQLite overlay's folder.

A full disk shows up late and far from its cause: SQLite cannot grow its write-ahead
log, the log file stops, a sync fails half-way through a batch. Below WARN_BELOW the
doctor warns; below FAIL_BELOW the next sync or metrics run may well not finish.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from erp_crm.doctor.findings import Check, Finding, Status, ok, skipped
from erp_crm.doctor.overlay import sqlite_file
from erp_crm.errors import UserError
from erp_crm.settings.root import Settings

GIB = 1024**3
WARN_BELOW = 1 * GIB
FAIL_BELOW = 100 * 1024**2


def _existing(path: Path) -> Path:
    """`path`, or the nearest folder above it that exists (a var/ not made yet lives on its parent's file system)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_space(name: str, what: str, folder: Path) -> Finding:
    measured = _existing(folder)
    try:
        usage = shutil.disk_usage(measured)
    except OSError as exc:
        return Finding(name, Status.FAIL, f"cannot read the free space of {measured}: {exc.strerror}", f"check that this user may read {measured}")
    text = f"{usage.free / GIB:,.1f} GiB free of {usage.total / GIB:,.1f} GiB for {what} ({folder})"
    if usage.free < WARN_BELOW:
        status = Status.FAIL if usage.free < FAIL_BELOW else Status.WARN
        return Finding(
            name, status, text, f"free at least {WARN_BELOW // GIB} GiB on the file system of {measured} (old logs in var/log, copies, other programs' files)"
        )
    return ok(name, text)


def probe(settings: Settings, timeout: float) -> Iterator[Finding]:
    yield free_space("disk.var", "the home's var/", settings.home / "var")
    try:
        path = sqlite_file(settings.overlay.full_url())
    except UserError as exc:  # the overlay's password file: overlay.reachable reports it
        yield skipped("disk.overlay", f"not checked: {exc}")
        return
    if path is None:
        yield skipped("disk.overlay", "the overlay is not a SQLite file: its server keeps the space")
        return
    yield free_space("disk.overlay", "the SQLite overlay", path.parent)


CHECK = Check("disk", probe, ("disk.var", "disk.overlay"))
