"""make_home writes a settings file the engine accepts."""

from __future__ import annotations

from pathlib import Path

import yaml

from erp_crm.settings.root import load_settings
from tests.support.homes import make_home


def test_none_keys_are_left_out_and_extra_is_merged(tmp_path: Path) -> None:
    home = make_home(tmp_path, erp_url="sqlite:///erp.sqlite", extra={"erp": {"batch_size": 500}})
    data = yaml.safe_load((home / "config" / "erp_crm.yaml").read_text(encoding="utf-8"))
    assert data == {
        "erp": {"connector": "dolibarr", "url": "sqlite:///erp.sqlite", "require_read_only": False, "batch_size": 500}
    }


def test_each_call_makes_a_new_home(tmp_path: Path) -> None:
    assert make_home(tmp_path) != make_home(tmp_path)


def test_the_engine_reads_it(tmp_path: Path) -> None:
    odbc = "DRIVER={SQLite3};Database=/tmp/erp.sqlite"
    home = make_home(tmp_path, odbc=odbc, dialect="sqlite", connector="odoo", overlay_url="sqlite:///var/o.sqlite")
    settings = load_settings(home, environ={})
    assert (settings.erp.connector, settings.erp.odbc, settings.erp.dialect) == ("odoo", odbc, "sqlite")
    assert settings.erp.require_read_only is False
    assert settings.overlay.full_url().database == str(home / "var" / "o.sqlite")
