"""The home folder: `config/`, `connectors/`, `jobs/`, `templates/` and `var/` of one deployment.

The repository root is one; `erp-crm init DIR` makes another from the defaults packaged
with erp_crm, so a pip-installed erp-crm can still start a deployment.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from erp_crm.errors import ConfigError, UserError

CONFIG_FILE = Path("config") / "erp_crm.yaml"
ENV_HOME = "ERP_CRM_HOME"
DEFAULTS_DIR = Path(__file__).resolve().parent.parent / "defaults"
HOME_FOLDERS = ("config", "connectors", "jobs", "templates")


def find_home(explicit: str | Path | None = None) -> Path:
    """--home, else $ERP_CRM_HOME, else the current folder if it holds a config."""
    chosen = explicit or os.environ.get(ENV_HOME)
    if chosen:
        home = Path(chosen).expanduser().resolve()
        if not (home / CONFIG_FILE).is_file():
            raise ConfigError(f"{home}: not an erp-crm home (no {CONFIG_FILE}); create one with `erp-crm init {chosen}`")
        return home
    cwd = Path.cwd()
    if (cwd / CONFIG_FILE).is_file():
        return cwd
    raise ConfigError(f"no erp-crm home here ({cwd} has no {CONFIG_FILE}): pass --home DIR, set {ENV_HOME}, or run `erp-crm init DIR`")


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
