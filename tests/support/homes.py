"""Throw-away erp-crm homes for tests that run the engine or the CLI.

A home is a folder with `config/erp_crm.yaml`; writing one per test keeps tests off the
repository's own settings and lets each point at its own ERP and overlay databases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Merge `extra` into `base` in place, section by section, so a test can set one key of a section."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def _fresh_dir(tmp_path: Path) -> Path:
    home, n = tmp_path / "home", 1
    while home.exists():
        n += 1
        home = tmp_path / f"home-{n}"
    return home


def make_home(
    tmp_path: Path,
    *,
    erp_url: str | None = None,
    odbc: str | None = None,
    dialect: str | None = None,
    connector: str | None = "dolibarr",
    overlay_url: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write `<home>/config/erp_crm.yaml` under `tmp_path` and return the home.

    Keys left at None are omitted, so the engine's own defaults apply (the overlay then
    is `sqlite:///var/crm.sqlite` inside the home). `require_read_only` is off because
    test databases are reached as their owner; tests of the read-only guard turn it on
    through `extra`. Each call makes a new home (`home`, `home-2`, ...).
    """
    erp = {"connector": connector, "url": erp_url, "odbc": odbc, "dialect": dialect, "require_read_only": False}
    settings: dict[str, Any] = {}
    if overlay_url is not None:
        settings["overlay"] = {"url": overlay_url}
    settings["erp"] = {key: value for key, value in erp.items() if value is not None}
    deep_merge(settings, extra or {})
    home = _fresh_dir(tmp_path)
    (home / "config").mkdir(parents=True)
    text = yaml.safe_dump(settings, sort_keys=False, allow_unicode=True)
    (home / "config" / "erp_crm.yaml").write_text(text, encoding="utf-8")
    return home
