"""A command run by CliRunner as a person at a terminal sees it: the progress lines of
`erp_crm.entrypoints.cli.progress` are shown only when stderr is a terminal, and
CliRunner's never is."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from erp_crm.entrypoints.cli import progress


def stderr_is_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the progress printer take stderr for a terminal (its output still goes to CliRunner's stderr)."""
    monkeypatch.setattr(progress, "sys", SimpleNamespace(stderr=SimpleNamespace(isatty=lambda: True)))


def terminal_lines(stderr: str) -> list[str]:
    """Each line as the terminal is left with it: the last text a carriage return wrote over the others."""
    return [line.split("\r")[-1].strip() for line in stderr.split("\n")[:-1]]
