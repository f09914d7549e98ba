"""The commands a sysadmin runs, in a subprocess as they would: init, db, check, sync, demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from erp_crm.model import migrate

ERP_CRM = [sys.executable, "-c", "from erp_crm.entrypoints.cli import main; main()"]


def erp_crm(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERP_CRM")}
    return subprocess.run([*ERP_CRM, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_demo_builds_and_syncs_with_nothing_lost(tmp_path: Path) -> None:
    done = erp_crm("demo", "--customers", "40", "--years", "2", "--seed", "7", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "demo ERP (Dolibarr layout) built" in done.stdout
    table = done.stdout[done.stdout.index("ERP rows") :]
    assert "MISSING" not in table
    for entity in ("partner", "invoice", "invoice_line", "payment", "ticket"):
        assert any(line.startswith(entity) and line.endswith("ok") for line in table.splitlines()), entity
    # No home here, so the demo made one; the settings of that home point at the demo files.
    home = tmp_path / "erp-crm-demo"
    assert (home / "var" / "demo_crm.sqlite").is_file()
    again = erp_crm("--home", str(home), "sync", "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["mode"] == "incremental"
    assert all(c["inserted"] == 0 and c["updated"] == 0 for c in report["entities"].values())


def test_init_upgrade_check_sync_and_quarantine(tmp_path: Path) -> None:
    assert erp_crm("demo", "--customers", "20", "--years", "1", cwd=tmp_path).returncode == 0
    erp_file = tmp_path / "erp-crm-demo" / "var" / "demo_erp.sqlite"

    home = tmp_path / "prod"
    made = erp_crm("init", str(home))
    assert made.returncode == 0 and "created" in made.stdout
    assert (home / "connectors" / "dolibarr.yaml").is_file()
    again = erp_crm("init", str(home))
    assert again.returncode == 2 and "already an erp-crm home" in again.stderr

    config = yaml.safe_load((home / "config" / "erp_crm.yaml").read_text())
    config["overlay"]["url"] = "sqlite:///var/crm.sqlite"
    config["erp"].update(url=f"sqlite:///{erp_file}", source="shop")
    (home / "config" / "erp_crm.yaml").write_text(yaml.safe_dump(config))

    before = erp_crm("--home", str(home), "db", "current")
    assert "run `erp-crm db upgrade`" in before.stdout
    assert erp_crm("--home", str(home), "db", "upgrade").returncode == 0
    assert erp_crm("--home", str(home), "db", "current").stdout.startswith(f"{migrate.head()} ")

    check = erp_crm("--home", str(home), "check")
    assert check.returncode == 0, check.stdout
    assert "OK   the connection is read-only" in check.stdout
    assert "OK   invoice_line: llx_facturedet" in check.stdout and "all checks passed" in check.stdout

    sync = erp_crm("--home", str(home), "sync", "--full")
    assert sync.returncode == 0, sync.stderr
    assert "sync run 1 (full) of source 'shop'" in sync.stdout
    quarantine = erp_crm("--home", str(home), "sync", "quarantine")
    assert quarantine.stdout.strip() == "quarantine is empty"


def test_check_fields_lists_the_canonical_schema() -> None:
    listed = erp_crm("check", "--fields")
    assert listed.returncode == 0
    assert "invoice (crm_invoice)" in listed.stdout
    assert "partner              text, required, ERP key of a partner" in listed.stdout
