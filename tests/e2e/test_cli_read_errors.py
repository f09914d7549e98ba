"""`erp-crm sync` when the ERP fails in the middle of a read, and when its rows are hostile, as a user runs it.

A filter that divides by zero on one row is the user's to fix: one line on stderr naming
the entity and the database's message, exit 2, no traceback. Rows the overlay cannot
hold go to quarantine and the sync succeeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support.mini_erp import MiniErp, mini_settings

ERP_CRM = [sys.executable, "-c", "from erp_crm.entrypoints.cli import main; main()"]


def sync(home: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ERP_CRM")}
    return subprocess.run([*ERP_CRM, "--home", str(home), "sync", "--full"], capture_output=True, text=True, env=clean, timeout=120)


def test_a_filter_failing_on_one_row_is_one_line_and_exit_2(tmp_path: Path, pg_url_factory: Callable[[], str]) -> None:
    erp = MiniErp(pg_url_factory())
    settings = mini_settings(tmp_path, pg_url_factory(), erp_url=erp.url)
    path = settings.home / "connectors" / "mini.yaml"
    path.write_text(path.read_text().replace('filter: "statut > 0"', 'filter: "100 / statut > 0"'))
    done = sync(settings.home)
    shown = f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr, shown
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "invoice: the ERP database failed while reading rows: division by zero" in lines[0], shown


def test_rows_a_postgresql_overlay_cannot_hold_are_quarantined_and_the_sync_succeeds(tmp_path: Path, pg_url_factory: Callable[[], str]) -> None:
    erp = MiniErp(f"sqlite:///{tmp_path / 'erp.sqlite'}")
    erp.run("insert into soc values (5, 'A' || char(0) || 'B', '2024-01-01 10:00:00')")
    erp.run("insert into fac values (10, 1, '2024-02-05', 'F10', 0, 9e999, 1, '2024-02-05 10:00:00')")
    settings = mini_settings(tmp_path, pg_url_factory(), erp_url=erp.url)
    done = sync(settings.home)
    assert done.returncode == 0, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
