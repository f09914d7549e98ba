"""The `erp-crm` command as a user runs it: a subprocess of the real entry point, without the test's ERP_CRM_* variables.

`erp_crm(...)` runs one command and waits for it; `ForkServer` starts several at one moment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ERP_CRM = [sys.executable, "-c", "from erp_crm.entrypoints.cli import main; main()"]


def cli_environment() -> dict[str, str]:
    """This process's environment less ERP_CRM_*, so that only the home's settings count."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ERP_CRM")}


def erp_crm(*args: str | Path, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one command; `env`: variables the command is given (secrets a user would export)."""
    environment = {**cli_environment(), **(env or {})}
    return subprocess.run([*ERP_CRM, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=environment, timeout=timeout)


# A process that has imported the CLI and what its commands use, and forks a child per
# command: the child runs the real entry point (`main()`) with the command's arguments,
# its output in files, once the test says go. Two commands then start their work within
# a millisecond of each other, and a command costs its work, not seconds of imports.
FORK_SERVER = """
import json, os, signal, sys, time
from pathlib import Path
from erp_crm.entrypoints.cli import main
import erp_crm.demo.generator, erp_crm.metrics.compute, erp_crm.segments.refresh, erp_crm.sync.engine
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the system; each writes its exit code
print("ready", flush=True)
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid:
        print(pid, flush=True)
        continue
    for fd, name in ((1, "stdout"), (2, "stderr")):
        os.dup2(os.open(job[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    sys.argv = ["erp-crm", *job["argv"]]
    while not os.path.exists(job["go"]):
        time.sleep(0.001)
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    sys.stdout.flush()
    sys.stderr.flush()
    Path(job["code"] + ".part").write_text(str(code))
    os.replace(job["code"] + ".part", job["code"])  # whole or not there: the test polls for it
    os._exit(code)
"""


@dataclass
class Started:
    """A command the fork server started: its process id and the files it reports in."""

    pid: int
    folder: Path

    def wait(self, timeout: float) -> tuple[int, str] | None:
        """(exit code, stderr), or None if it has not ended within `timeout` seconds (it is then killed)."""
        deadline = time.monotonic() + timeout
        code = self.folder / "code"
        while not code.exists():
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                return None
            time.sleep(0.01)
        return int(code.read_text()), (self.folder / "stderr").read_text(encoding="utf-8")


class ForkServer:
    """Start commands of the real CLI at one moment (`with ForkServer() as cli: cli.start(...)`, then `cli.go()`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started = 0
        self.process = subprocess.Popen([sys.executable, "-c", FORK_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=cli_environment())
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"

    def start(self, *args: str | Path) -> Started:
        """Fork a child that runs `erp-crm ARGS` when `go()` is called."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.started += 1
        folder = self.folder / str(self.started)
        folder.mkdir(parents=True)
        job = {"argv": [str(a) for a in args], "stdout": str(folder / "stdout"), "stderr": str(folder / "stderr"), "code": str(folder / "code")}
        self.process.stdin.write(json.dumps(job | {"go": str(self.folder / f"go-{self.started}")}) + "\n")
        self.process.stdin.flush()
        return Started(int(self.process.stdout.readline()), folder)

    def go(self, *commands: Started) -> None:
        """Let the given commands start their work, all at once."""
        for command in commands:
            (self.folder / f"go-{command.folder.name}").touch()

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def demo_home(folder: Path) -> subprocess.CompletedProcess[str]:
    """`erp-crm init` a home in `folder` and run a small demo in it (40 customers over two years); the demo's run, to check."""
    assert erp_crm("init", folder).returncode == 0
    demo = erp_crm("--home", folder, "demo", "--customers", "40", "--years", "2")
    assert demo.returncode == 0, demo.stderr
    return demo
