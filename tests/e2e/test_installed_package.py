"""The package as a user gets it: a wheel built from the checkout, installed without -e.

Everything else in the suite imports the checkout, so a folder that the wheel leaves out
(a package without `__init__.py`, the default connectors, the migrations) would pass
every other test and fail on the first command a new user types. Here the wheel goes
into a fresh virtual environment outside the checkout, and the commands run from there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("config", "connectors", "jobs", "templates")
# What a fresh clone does not have: a build in the checkout would reuse a stale build/ folder.
# caches too: other test workers write them while the copy is made (mypy's SQLite -wal files come and go)
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "var", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache"
)
pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERP_CRM", "PYTHON", "PIP_", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv holding the wheel built from this checkout."""
    work = tmp_path_factory.mktemp("installed")
    clone, dist = work / "clone", work / "dist"
    shutil.copytree(ROOT, clone, symlinks=True, ignore=NOT_IN_A_CLONE)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, clone, cwd=work)
    wheels = list(dist.glob("erp_crm-*.whl"))
    assert len(wheels) == 1, wheels
    venv.EnvBuilder(with_pip=True).create(work / "venv")
    bin_dir = work / "venv" / "bin"
    _run(bin_dir / "python", "-m", "pip", "install", "-q", "-c", ROOT / "constraints.txt", wheels[0], cwd=work)
    return bin_dir


def test_the_wheel_carries_every_package_and_the_shipped_files(installed: Path) -> None:
    probe = (
        "import json, pathlib, erp_crm;"
        "root = pathlib.Path(erp_crm.__file__).parent;"
        "print(json.dumps({'root': str(root), 'files': sorted(str(p.relative_to(root)) for p in root.rglob('*')"
        " if p.is_file() and '__pycache__' not in p.parts)}))"
    )
    found = json.loads(_run(installed / "python", "-c", probe, cwd=installed).stdout)
    assert not found["root"].startswith(str(ROOT)), "the probe imported the checkout, not the installed package"
    files = set(found["files"])
    source = ROOT / "erp_crm"
    modules = {str(p.relative_to(source)) for p in source.rglob("*.py") if "__pycache__" not in p.parts}
    assert modules - files == set(), "modules missing from the wheel"
    for folder in SHIPPED:
        shipped = {f"defaults/{folder}/{p.relative_to(ROOT / folder)}" for p in (ROOT / folder).rglob("*") if p.is_file()}
        assert shipped and shipped - files == set(), f"{folder}/ files missing from the wheel"
    migrations = {str(p.relative_to(source)) for p in (source / "model" / "migrations").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert migrations - files == set(), "migrations missing from the wheel"


def test_init_demo_and_check_run_from_the_installed_package(installed: Path, tmp_path: Path) -> None:
    erp_crm = installed / "erp-crm"
    home = tmp_path / "home"
    assert "created" in _run(erp_crm, "init", home, cwd=tmp_path).stdout
    demo = _run(erp_crm, "--home", home, "demo", "--customers", "30", "--years", "2", cwd=tmp_path).stdout
    assert "MISSING" not in demo and "lapsed customers by definition" in demo
    check = _run(erp_crm, "--home", home, "check", cwd=tmp_path).stdout
    assert "all checks passed" in check
    assert _run(erp_crm, "--home", home, "segments", "list", cwd=tmp_path).stdout.strip()
