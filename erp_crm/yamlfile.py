"""YAML loading that remembers where each key stood, so errors can point at a line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from erp_crm.errors import ConfigError

Location = tuple[str | int, ...]


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that records the line of every mapping key and sequence item."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.lines: dict[Location, int] = {}


def _walk(node: yaml.Node, loc: Location, lines: dict[Location, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            sub = loc + (key_node.value,)
            lines[sub] = key_node.start_mark.line + 1
            _walk(value_node, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[loc + (i,)] = item.start_mark.line + 1
            _walk(item, loc + (i,), lines)


class YamlDocument:
    """Parsed YAML plus a key-path → line map for error messages."""

    def __init__(self, path: Path, data: Any, lines: dict[Location, int]) -> None:
        self.path = path
        self.data = data
        self.lines = lines

    def where(self, loc: Location) -> str:
        """`file:line` of the deepest known part of `loc` (pydantic error locations)."""
        for n in range(len(loc), 0, -1):
            line = self.lines.get(tuple(loc[:n]))
            if line is not None:
                return f"{self.path}:{line}"
        return str(self.path)


def load_yaml(path: Path) -> YamlDocument:
    """Read a YAML file; a syntax error becomes one line with the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: invalid YAML: {exc.problem}") from None
    finally:
        loader.dispose()
    lines: dict[Location, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return YamlDocument(path, data if data is not None else {}, lines)


def validation_problem(exc: Any, prefix: Location = ()) -> tuple[Location, str]:
    """The first pydantic error as (key path, plain message)."""
    err = exc.errors()[0]
    loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "missing":
        message = "required key is missing"
    return loc, message


def dotted(loc: Location) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def describe_validation_error(doc: YamlDocument, exc: Any, prefix: Location = ()) -> str:
    """The first pydantic error as `file:line: a.b.c: message`."""
    loc, message = validation_problem(exc, prefix)
    return f"{doc.where(loc)}: {dotted(loc)}: {message}"
