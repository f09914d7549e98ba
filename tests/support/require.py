"""Skip or fail when a test's driver or server is missing.

On a developer's machine a missing ODBC driver or database server is a reason to skip,
so the rest of the suite still runs. Under CI (`CI=true`) the same absence means the
machine was set up wrong, and a skip would hide it, so the test fails instead.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when the environment says CI (CI=true, as GitHub, GitLab and `.ci/run` set it)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def unavailable(reason: str) -> NoReturn:
    """Skip the current test with `reason`, or fail it under CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing driver or server is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)
