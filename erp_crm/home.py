"""Making a new home folder from the packaged defaults."""

from __future__ import annotations

import shutil
from pathlib import Path

from erp_crm.errors import UserError
from erp_crm.settings import CONFIG_FILE, DEFAULTS_DIR

HOME_FOLDERS = ("config", "connectors", "jobs", "templates")


def init_home(target: Path) -> Path:
    """Copy the default settings, connectors, jobs and templates into `target`.

    An existing home is never overwritten: settings there may hold a customer's work.
    """
    target = target.expanduser().resolve()
    if (target / CONFIG_FILE).exists():
        raise UserError(f"{target} is already an erp-crm home ({CONFIG_FILE} exists); nothing was changed")
    target.mkdir(parents=True, exist_ok=True)
    for folder in HOME_FOLDERS:
        source = DEFAULTS_DIR / folder
        if source.is_dir():
            shutil.copytree(source, target / folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "var").mkdir(exist_ok=True)
    return target
