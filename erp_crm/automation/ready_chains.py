"""Ready chains (`jobs/ready_chains/<name>.yaml`): chains shipped with erp-crm that run only once added to the home.

A ready chain is copied, never linked: the copy in `jobs/chains/` is the home's own, to
edit, and a later erp-crm with a changed ready chain never changes what a running chain
does. Adding never overwrites: a chain file or a message template already in the home
may hold someone's work, so an existing chain file refuses the addition, and an existing
template is kept as it is. The templates a ready chain names are copied from the ones
shipped with erp-crm when the home lacks them (a home made by an older version).

The home's own `jobs/ready_chains/` (made by `erp-crm init`) is read first, so an
integrator may ship ready chains of their own; the ones installed with erp-crm fill in.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from erp_crm.automation.chain_definition import CHAIN_NAME, CHAINS_DIR, LANGUAGES, MESSAGES_DIR
from erp_crm.errors import UserError
from erp_crm.settings.home import DEFAULTS_DIR
from erp_crm.yamlfile import load_yaml

READY_DIR = Path("jobs") / "ready_chains"
_MESSAGE_STEPS = ("email", "sms")


@dataclass(frozen=True)
class Added:
    """What adding a ready chain wrote into the home: its chain file and the templates the home lacked."""

    chain: Path
    templates: tuple[Path, ...]

    def undo(self) -> None:
        """Remove what was written, as when the chain proves invalid in this home."""
        for path in (self.chain, *self.templates):
            path.unlink(missing_ok=True)


def ready_chains(home: Path) -> dict[str, Path]:
    """{name: file} of the ready chains: the home's own, then those installed with erp-crm."""
    found: dict[str, Path] = {}
    for folder in (home / READY_DIR, DEFAULTS_DIR / READY_DIR):
        if folder.is_dir():
            for path in sorted(folder.glob("*.yaml")):
                if path.is_file() and CHAIN_NAME.fullmatch(path.stem):
                    found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def not_added(home: Path) -> list[str]:
    """The ready chains the home has no chain file of the same name for."""
    return [name for name in ready_chains(home) if not (home / CHAINS_DIR / f"{name}.yaml").exists()]


def add_ready_chain(home: Path, name: str) -> Added:
    """Copy the ready chain `name` into the home's jobs/chains/, with the templates it names that the home lacks.

    A UserError, and nothing written, for a name that is not a ready chain's or a chain
    file that exists already. The copy is made with an exclusive create, so two
    additions at once cannot both write it.
    """
    library = ready_chains(home)
    if not CHAIN_NAME.fullmatch(name):
        raise UserError(f"{name[:60]!r} is not the name of a ready chain (lower-case letters, digits, _ and -); the ready chains: {_names(library)}")
    source = library.get(name)
    if source is None:
        raise UserError(f"no ready chain named {name!r}; the ready chains: {_names(library)}")
    target = home / CHAINS_DIR / f"{name}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with target.open("xb") as copy:
            copy.write(source.read_bytes())
    except FileExistsError:
        raise UserError(f"{target} exists already; nothing was changed (edit it, or remove it to add the ready one again)") from None
    return Added(target, tuple(_copy_missing_templates(home, source)))


def _copy_missing_templates(home: Path, chain_file: Path) -> list[Path]:
    copied = []
    for template in _templates_named(chain_file):
        for language in LANGUAGES:
            relative = MESSAGES_DIR / language / f"{template}.yaml"
            shipped, target = DEFAULTS_DIR / relative, home / relative
            if target.exists() or not shipped.is_file():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with shipped.open("rb") as source, target.open("xb") as copy:
                    shutil.copyfileobj(source, copy)
            except FileExistsError:  # written meanwhile by someone else: theirs is kept
                continue
            copied.append(target)
    return copied


def _templates_named(chain_file: Path) -> list[str]:
    """The message templates the chain's steps name (a malformed file names none: validation reports it)."""
    steps = load_yaml(chain_file).data
    steps = steps.get("steps") if isinstance(steps, dict) else None
    if not isinstance(steps, list):
        return []
    return [
        step[kind]
        for step in steps
        if isinstance(step, dict)
        for kind in _MESSAGE_STEPS
        if isinstance(step.get(kind), str) and CHAIN_NAME.fullmatch(step[kind])
    ]


def _names(library: dict[str, Path]) -> str:
    return ", ".join(library) or "none"
