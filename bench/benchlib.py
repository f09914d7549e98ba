"""What the benchmarks share: measuring in a fresh interpreter.

A child process gives each measure its own memory high-water mark and keeps one
measure's imports and caches from flattering the next.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any


def run_json(argv: list[str], what: str) -> dict[str, Any]:
    """Run `argv` and return the JSON object its last line of output prints."""
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
