"""The settings, read as every command reads them: a mistake in them is the first finding, not a traceback."""

from __future__ import annotations

from pathlib import Path

from erp_crm.doctor.findings import Finding, Status, ok
from erp_crm.errors import UserError
from erp_crm.settings.home import CONFIG_FILE, find_home
from erp_crm.settings.root import Settings, load_settings

NAME = "settings"


def load(home_option: str | Path | None) -> tuple[Finding, Settings | None]:
    """The settings finding, and the settings when they load (the other checks need them)."""
    try:
        home = find_home(home_option)
    except UserError as exc:
        return Finding(NAME, Status.FAIL, str(exc), "make a home with `erp-crm init DIR`, or point --home or ERP_CRM_HOME at one"), None
    try:
        settings = load_settings(home)
    except UserError as exc:
        message = str(exc)
        where = "that environment variable" if message.startswith("environment ") else f"the line and key it names in {home / CONFIG_FILE}"
        return Finding(NAME, Status.FAIL, message, f"correct {where} (docs/operations.md, Settings)"), None
    return ok(NAME, f"{settings.config_file} read"), settings
