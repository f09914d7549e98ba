"""The layering of docs/architecture.md holds: every module imports only from the layers below its own.

The contract is in setup.cfg ([importlinter]); this runs it, so an upward import (a
service reaching into the CLI, a query calling a service, the model reading settings)
fails the suite the moment it is written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_imports_point_down(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = lint_imports(config_filename=str(ROOT / "setup.cfg"), no_cache=True, no_logo=True)
    assert result == 0, capsys.readouterr().out
