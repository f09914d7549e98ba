"""What the benchmarks share: measuring in a fresh interpreter, and saying what was measured where.

A child process gives each measure its own memory high-water mark and keeps one
measure's imports and caches from flattering the next.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent


def run_json(argv: list[str], what: str) -> dict[str, Any]:
    """Run `argv` and return the JSON object its last line of output prints."""
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> str:
    """Cores, CPU model, Python and SQLite versions: the figures mean little without them."""
    try:
        info = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        info = []
    cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), platform.processor() or platform.machine())
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"


def engine_version() -> str:
    """The commit measured, and whether erp_crm/ had uncommitted changes (read-only git commands)."""
    git = ["git", "-C", str(ROOT)]
    try:
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--", "erp_crm"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "engine version unknown"
    return f"engine at {commit}" + (" with uncommitted changes in erp_crm/" if dirty else "")


def admin_sql(server: sa.engine.URL, *statements: str) -> None:
    """Run statements that cannot run in a transaction (CREATE and DROP DATABASE) on a database server."""
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()
