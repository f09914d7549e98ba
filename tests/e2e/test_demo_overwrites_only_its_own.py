"""`erp-crm demo` overwrites only its own files: a user's overlay survives it, byte for byte.

`erp-crm init` points a new home's settings at the demo's files (var/demo_erp.sqlite and
var/demo_crm.sqlite). A user who then synced a real ERP into that overlay and tried the
demo used to lose the overlay and its segment history. Each test runs the real command
in a subprocess, as a user would.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest
import yaml

from erp_crm.demo import build_demo_erp
from tests.support.cli import erp_crm

SMALL = ("--customers", "12", "--years", "1", "--seed", "3")


def fingerprint(folder: Path) -> dict[str, str]:
    """Every database file of `folder` (lock files aside) by name, with a digest of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.endswith(".lock")}


def set_erp(home: Path, **erp: str) -> None:
    config_file = home / "config" / "erp_crm.yaml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    config["erp"].update(erp)
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")


def home_after_the_demo(tmp_path: Path) -> Path:
    """A home as `erp-crm init` makes it, after a small demo."""
    home = tmp_path / "crm"
    assert erp_crm("init", home).returncode == 0
    assert erp_crm("--home", home, "demo", *SMALL).returncode == 0
    return home


def refused(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2 with one line on stderr holding `words`, and no traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


@pytest.mark.slow
def test_an_overlay_holding_a_real_sync_survives_the_demo(tmp_path: Path) -> None:
    home = home_after_the_demo(tmp_path)  # the user tries the demo first
    shop = tmp_path / "shop_erp.sqlite"
    build_demo_erp(f"sqlite:///{shop}", customers=15, years=1, seed=99)  # stands in for the company's own ERP
    set_erp(home, url=f"sqlite:///{shop}", source="shop")  # the overlay stays where init put it: the demo's
    synced = erp_crm("--home", home, "sync", "--full")
    assert synced.returncode == 0, synced.stderr
    assert erp_crm("--home", home, "segments", "refresh").returncode == 0
    before = fingerprint(home / "var")

    refused(erp_crm("--home", home, "demo", *SMALL), "overlay.url is the demo's overlay", "erp_crm.yaml:")
    assert fingerprint(home / "var") == before

    set_erp(home, url="sqlite:///var/demo_erp.sqlite", source="demo")  # back to the demo's settings, the shop's rows still there
    refused(erp_crm("--home", home, "demo", *SMALL), "demo_crm.sqlite holds data of the source 'shop'")
    assert fingerprint(home / "var") == before


def test_files_the_demo_did_not_make_are_not_overwritten(tmp_path: Path) -> None:
    home = tmp_path / "crm"
    assert erp_crm("init", home).returncode == 0
    (home / "var").mkdir(exist_ok=True)
    erp = home / "var" / "demo_erp.sqlite"
    with closing(sqlite3.connect(erp)) as db:
        db.execute("CREATE TABLE llx_societe (rowid INTEGER PRIMARY KEY, nom TEXT)")
        db.execute("INSERT INTO llx_societe VALUES (1, 'Saját Kft.')")
        db.commit()
    before = fingerprint(home / "var")
    refused(erp_crm("--home", home, "demo", *SMALL), "demo_erp.sqlite was not made by `erp-crm demo`")
    assert fingerprint(home / "var") == before

    erp.unlink()
    (home / "var" / "demo_crm.sqlite").write_text("notes, not a database\n" * 200, encoding="utf-8")
    before = fingerprint(home / "var")
    refused(erp_crm("--home", home, "demo", *SMALL), "demo_crm.sqlite is not a database the demo made")
    assert fingerprint(home / "var") == before


@pytest.mark.slow
def test_the_demo_replaces_its_own_files_after_the_user_worked_with_them(tmp_path: Path) -> None:
    home = home_after_the_demo(tmp_path)
    for command in (["sync"], ["metrics", "compute"], ["segments", "refresh"]):
        assert erp_crm("--home", home, *command).returncode == 0, command
    again = erp_crm("--home", home, "demo", "--customers", "8", "--years", "1")
    assert again.returncode == 0, again.stderr
    with closing(sqlite3.connect(home / "var" / "demo_crm.sqlite")) as overlay, closing(sqlite3.connect(home / "var" / "demo_erp.sqlite")) as erp:
        partners = overlay.execute("SELECT count(*), min(source), max(source) FROM crm_partner").fetchone()
        assert partners == (erp.execute("SELECT count(*) FROM llx_societe").fetchone()[0], "demo", "demo")
    assert [p.name for p in (home / "var").iterdir() if p.name.startswith(".demo-")] == []  # its scratch folder is gone
