"""YAML loading that remembers where each key stood, and refuses what could hurt.

Settings, connector definitions, segment files and YAML-form filters are typed by people
and pasted from anywhere, so PyYAML's defaults are not enough:

- a key given twice is an error naming both lines (PyYAML keeps the last one silently,
  so a second `require_read_only: false` would turn the read-only guard off);
- a file is read within limits of size, nesting and nodes counted with aliases
  expanded, checked while it is composed: a kilobyte of nested aliases ("billion
  laughs") otherwise expands to billions of values, and deep nesting exhausts the stack;
- control characters (written as escapes such as "\\e" or "\\0") are refused in keys and
  values, because error messages quote them and they could rewrite a terminal;
- a value PyYAML cannot convert (`2024-02-30`, a number of 5,000 digits) is a mistake
  at its line, not a crash.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml
from pydantic import BaseModel, ValidationError

from erp_crm.errors import ConfigError

Location = tuple[Any, ...]

M = TypeVar("M", bound=BaseModel)
MAX_BYTES = 1_000_000  # far beyond any settings, connector or segments file
MAX_DEPTH = 100  # levels of mappings and lists, aliases expanded (a filter 40 levels deep needs 80)
MAX_NODES = 200_000  # keys, values and items, aliases expanded
# C0 and C1 controls but tab, line feed and carriage return; DEL; lone surrogates; bidi overrides
CONTROL_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069"
UNSAFE_CHARACTER = re.compile(f"[{CONTROL_CHARACTERS}]")
_MERGE = "tag:yaml.org,2002:merge"
_QUOTABLE = re.compile(r"(?P<lead>\s*(?:-\s+)?)(?:(?P<key>[\w.-]+):\s+)?(?P<value>\S.*)")


class _Refused(yaml.MarkedYAMLError):
    """Well-formed YAML that is refused anyway (too big, a duplicate key, a control character)."""

    def __init__(self, mark: yaml.Mark | None, problem: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that stops composing as soon as the document outgrows the limits.

    Sizes are measured on the node graph, where an alias is one more reference to a
    node already composed, so measuring costs no more than composing.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0  # levels open around the node being composed
        self.nodes = 0  # nodes so far, aliases expanded
        self.sizes: dict[int, tuple[int, int]] = {}  # id(node) → (nodes, levels), aliases expanded

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        mark = self.peek_event().start_mark
        alias = self.check_event(yaml.AliasEvent)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(mark, f"nested more than {MAX_DEPTH} levels deep")
        node = cast(yaml.Node, super().compose_node(parent, index))  # None only for an empty document, never here
        self.depth -= 1
        size = self.sizes.get(id(node)) if alias else self._measure(node)
        if size is None:
            raise _Refused(mark, "this alias refers to a value that contains it")
        nodes, levels = size
        self.nodes += nodes if alias else 1
        if self.nodes > MAX_NODES:
            raise _Refused(mark, f"more than {MAX_NODES:,} values (aliases counted as often as they are used)")
        if self.depth + levels > MAX_DEPTH:
            raise _Refused(mark, f"this alias nests the document more than {MAX_DEPTH} levels deep")
        return node

    def _measure(self, node: yaml.Node) -> tuple[int, int]:
        """Nodes and levels of a freshly composed node, from those of its children."""
        children = [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else node.value
        sizes = [self.sizes[id(child)] for child in children] if isinstance(children, list) else []
        size = (1 + sum(n for n, _ in sizes), 1 + max((levels for _, levels in sizes), default=0))
        self.sizes[id(node)] = size
        return size

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML's conversion; a scalar it cannot convert (`2024-02-30`, `0x_`) is refused at its line."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            reason = str(exc).split(";")[0]  # Python's own advice on its digit limit is not the user's
            shown = _shorten(node.value) if isinstance(node.value, str) else "this value"
            raise _Refused(node.start_mark, f"cannot read {shown}: {reason}") from None

    def locate(self, node: yaml.Node, loc: Location, lines: dict[Location, int]) -> None:
        """Record the line of every key and item, refusing duplicate keys and control characters."""
        if isinstance(node, yaml.ScalarNode):
            _check_characters(node)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[loc + (i,)] = item.start_mark.line + 1
                self.locate(item, loc + (i,), lines)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, value_node in node.value:
                key = self._key(key_node)
                first = seen.setdefault(key, key_node)
                if first is not key_node:
                    where = dotted(loc + (key,))
                    raise _Refused(key_node.start_mark, f"{where}: duplicate key (first at line {first.start_mark.line + 1})")
                lines[loc + (key,)] = key_node.start_mark.line + 1
                self.locate(value_node, loc + (key,), lines)

    def _key(self, key_node: yaml.Node) -> Any:
        """A key as the document will hold it, so `1` and `"1"` differ and `yes` is `true`."""
        if not isinstance(key_node, yaml.ScalarNode):
            raise _Refused(key_node.start_mark, "a list or a mapping cannot be a key")
        _check_characters(key_node)
        return "<<" if key_node.tag == _MERGE else self.construct_object(key_node)


def _check_characters(node: yaml.ScalarNode) -> None:
    bad = UNSAFE_CHARACTER.search(node.value)
    if bad:
        raise _Refused(node.start_mark, f"character U+{ord(bad.group()):04X} is not allowed (control characters could disguise what is shown)")


def _shorten(text: str, limit: int = 30) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


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


def _read_text(path: Path) -> str:
    """A file's text, if it is a regular UTF-8 file of at most MAX_BYTES; else one line saying which it is not.

    A folder, a pipe or a device (`/dev/zero`) in place of a file is refused before it
    is opened, so a mistake cannot make the command wait or read forever.
    """
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError(f"{path}: is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise ConfigError(f"{path}: is not a regular file")
        with path.open("rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES:,} bytes, which no erp-crm file needs")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None


def load_yaml(path: Path) -> YamlDocument:
    """Read a YAML file; every problem with it becomes one line with the file and line."""
    text = _read_text(path)
    loader: _LineLoader | None = None
    lines: dict[Location, int] = {}
    try:
        loader = _LineLoader(text)
        node = loader.get_single_node()
        if node is not None:
            loader.locate(node, (), lines)
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_yaml_problem(path, text, exc)) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(f"{path}:{line}: invalid YAML: character U+{exc.character:04X} is not allowed") from None
    finally:
        if loader is not None:
            loader.dispose()
    return YamlDocument(path, data if data is not None else {}, lines)


def _yaml_problem(path: Path, text: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark
    where = f"{path}:{mark.line + 1}" if mark else str(path)
    if isinstance(exc, _Refused):
        return f"{where}: {exc.problem}"
    problem = f"{exc.context}, {exc.problem}" if exc.context else exc.problem
    hint = _quote_hint(text, mark.line) if mark and exc.problem == "mapping values are not allowed here" else ""
    return f"{where}: invalid YAML: {problem}{hint}"


def _quote_hint(text: str, line_index: int) -> str:
    """`filter: note contains a: b` is a mapping inside a value: show the line with the value quoted."""
    lines = text.splitlines()
    line = lines[line_index] if line_index < len(lines) else ""
    match = _QUOTABLE.fullmatch(line)
    if match is None or len(line) > 200 or match["value"].startswith(("'", '"')) or UNSAFE_CHARACTER.search(line):
        return "; a value that holds ': ' must be quoted"
    quoted = "'" + match["value"].replace("'", "''") + "'"
    shown = " ".join(part for part in (match["lead"].strip(), match["key"] and f"{match['key']}:", quoted) if part)
    return f"; a value that holds ': ' must be quoted: {shown}"


def validation_problem(exc: Any, prefix: Location = ()) -> tuple[Location, str]:
    """The first pydantic error as (key path, plain message)."""
    err = exc.errors()[0]
    loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    message = err["msg"]
    if err["type"] == "invalid_key":  # a number or yes/no where a key name goes; pydantic's loc mangles it
        loc, message = loc[:-1] + (err["input"],), "unknown key"
    elif err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "missing" and loc and isinstance(loc[-1], int):  # a list shorter than its fixed length
        loc, message = loc[:-1], f"too few items: item {loc[-1] + 1} is missing"
    elif err["type"] == "missing":
        message = "required key is missing"
    elif loc[-1:] == ("[key]",):
        loc, message = loc[:-1], "keys here are text; put this one in quotes"
    elif err["type"] == "value_error":
        message = str(err["ctx"]["error"])  # our own validators' words, without pydantic's "Value error, "
    return loc, message


def dotted(loc: Location) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def describe_validation_error(doc: YamlDocument, exc: Any, prefix: Location = ()) -> str:
    """The first pydantic error as `file:line: a.b.c: message`."""
    loc, message = validation_problem(exc, prefix)
    return f"{doc.where(loc)}: {dotted(loc)}: {message}"


def load_validated(path: Path, model: type[M], expected: str) -> tuple[M, YamlDocument]:
    """Read a YAML file whose top level is a mapping (`expected` says of what) and validate it as `model`.

    Every problem is one ConfigError line with the file and line; the document is
    returned too, for checks across keys that need a line to point at.
    """
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping with {expected}")
    try:
        return model.model_validate(doc.data), doc
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(doc, exc)) from None
