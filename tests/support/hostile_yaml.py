"""Hostile YAML: the attack list run against every file erp-crm reads.

`PLACES` are the files (and the YAML-form filter inside one), each with a valid text
and a slot where a value of a narrow type goes; `VALUES` are values no slot accepts,
`DOCUMENTS` whole files. tests/unit/test_yaml_attacks.py loads each in-process,
tests/e2e/test_cli_hostile_input.py runs a part of them through the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from erp_crm.yamlfile import MAX_BYTES
from tests.support.tiny_erp import CONNECTOR_FILE


@dataclass(frozen=True)
class Place:
    """A file erp-crm reads: where it lives in a home, a valid text, and a slot for a hostile value."""

    name: str
    relative: str
    valid: str
    slot: str  # the valid text with `{value}` where a value of a narrow type goes

    def write(self, home: Path, content: str | bytes) -> Path:
        """Write `content` (text may hold lone surrogates and NUL, as an attacker's file may) in its place in `home`."""
        path = home / self.relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
        return path

    def with_value(self, home: Path, value: str) -> Path:
        return self.write(home, self.slot.replace("{value}", value))


CONNECTOR = CONNECTOR_FILE.read_text(encoding="utf-8")
SEGMENTS = "segments:\n  loyal:\n    title: Loyal\n    filter: rfm_group in (loyal)\n"
PLACES = [
    Place("settings", "config/erp_crm.yaml", "erp:\n  connector: tiny\n", "erp:\n  connector: tiny\nmetrics:\n  horizon_days: {value}\n"),
    Place("connector", "connectors/tiny.yaml", CONNECTOR, CONNECTOR.replace("name: tiny\n", "name: tiny\nbatch_size: {value}\n")),
    Place("segments", "config/segments.yaml", SEGMENTS, "segments:\n  loyal:\n    filter: {value}\n"),
    Place("filter", "config/segments.yaml", SEGMENTS, "segments:\n  loyal:\n    filter:\n      all:\n        - key_account\n        - {value}\n"),
]
BY_NAME = {p.name: p for p in PLACES}
VALID_VALUES = {"settings": "90", "connector": "500", "segments": "key_account", "filter": "{field: revenue_12m, '>=': 1}"}


def bomb(levels: int = 9) -> str:
    """A "billion laughs" in one flow list: 9 ** levels strings from a few hundred bytes."""
    items = ["&a0 [" + ", ".join(["lol"] * 9) + "]"]
    items += [f"&a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, levels)]
    return "[" + ", ".join(items) + "]"


# Values no slot accepts: (name, value as written in YAML, what the one line says).
VALUES = [
    ("alias bomb", bomb(), r"more than [\d,]+ values"),
    ("recursive alias", "&r [1, *r]", r"alias refers to a value that contains it"),
    ("deep flow nesting", "[" * 5000 + "]" * 5000, r"nested more than \d+ levels deep"),
    ("deep mapping nesting", "{a: " * 300 + "1" + "}" * 300, r"nested more than \d+ levels deep"),
    ("raw NUL", "a\x00b", r"U\+0000"),
    ("escaped NUL", '"a\\0b"', r"U\+0000"),
    ("terminal escape", '"\\e[2Jx"', r"U\+001B"),
    ("C1 control", '"\\x9b31m"', r"U\+009B"),
    ("lone surrogate", '"\\ud800"', r"U\+D800"),
    ("bidi override", "a\u202eb", r"U\+202E"),
    ("number of 5000 digits", "9" * 5000, r"cannot read '9{20}"),
    ("huge number", str(10**30), r""),
    ("huge negative number", str(-(10**30)), r""),
    ("not a number", ".nan", r""),
    ("infinity", ".inf", r""),
    ("impossible date", "2024-02-30", r"cannot read '2024-02-30'"),
    ("year zero", "0000-01-01", r"cannot read '0000-01-01'"),
    ("empty hexadecimal", "0x_", r"cannot read '0x_'"),
    ("integer key", "{1: x}", r""),
    ("list as key", "{[a, b]: x}", r"list or a mapping cannot be a key"),
    ("duplicate key", "{a: 1, a: 2}", r"duplicate key \(first at line \d+\)"),
    ("unquoted ': '", "note contains a: b", r""),
    ("a list", "[1, 2]", r""),
    ("nothing", "~", r""),
    ("empty text", "''", r""),
]


# Whole files: (name, content ({valid}: the place's valid text), what the one line says, the places that may accept it).
DOCUMENTS: list[tuple[str, str | bytes, str, tuple[str, ...]]] = [
    ("empty file", "", r"", ("settings", "segments")),
    ("only comments", "# nothing here\n", r"", ("settings", "segments")),
    ("null document", "~\n", r"", ("settings", "segments")),
    ("two documents", "a: 1\n---\nb: 2\n", r":2: invalid YAML: .*single document", ()),
    ("a scalar", "just text\n", r"expected .*mapping", ()),
    ("a list", "- a\n- b\n", r"expected .*mapping", ()),
    ("integer top-level key", "1: x\n{valid}", r":1: 1: unknown key|expected one key", ()),
    ("boolean top-level key", "true: x\n{valid}", r":1: True: unknown key|expected one key", ()),
    ("null top-level key", "null: x\n{valid}", r":1: None: unknown key|expected one key", ()),
    ("alias bomb document", f"lol: {bomb()}\n", r":1: more than [\d,]+ values", ()),
    ("tab indentation", "a:\n\tb: 1\n", r":2: invalid YAML", ()),
    ("binary garbage", bytes(range(256)) * 4, r"not UTF-8 text|invalid YAML|U\+", ()),
    ("PNG image", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", r"not UTF-8 text", ()),
    ("UTF-16 text", "\ufeffa: 1\n".encode("utf-16-le"), r"not UTF-8 text", ()),
    ("oversized file", "#" * (MAX_BYTES + 10), r"larger than", ()),
]
