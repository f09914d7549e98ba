"""Hostile YAML against every file erp-crm reads: one line naming the file, never a crash or a hang.

The attack list (tests/support/hostile_yaml.py) goes into each place YAML is read: the
settings file, a connector definition, config/segments.yaml and a YAML-form filter
inside it. Each file is loaded the way the commands load it, under a deadline, and must
either give a `ConfigError` of one line that names the file, or (where the attack is
harmless, say an empty settings file) load. tests/e2e/test_cli_hostile_input.py runs a
part of the list through the real command.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from erp_crm.errors import ConfigError
from erp_crm.segments.definitions import load_config_segments
from erp_crm.settings.root import Settings, load_settings
from erp_crm.sync.definition import Definition, load_definition
from tests.support.deadline import deadline
from tests.support.filter_registry import REGISTRY, TODAY
from tests.support.hostile_yaml import BY_NAME, CONNECTOR, DOCUMENTS, PLACES, SEGMENTS, VALID_VALUES, VALUES, Place

SECONDS = 10  # every answer comes well within this, on a loaded machine too


def _settings(path: Path) -> object:
    return load_settings(path.parent.parent, environ={})


def _segments(path: Path) -> object:
    return load_config_segments(path, REGISTRY, TODAY)


LOADERS: dict[str, Callable[[Path], object]] = {"settings": _settings, "connector": load_definition, "segments": _segments, "filter": _segments}
FILES = [p for p in PLACES if p.name != "filter"]  # a whole document cannot be a filter


def _expect_one_line(load: Callable[[Path], object], path: Path, pattern: str = "") -> str:
    """Load under the deadline; assert a one-line ConfigError naming the file (and matching `pattern`)."""
    with deadline(SECONDS), pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message, message
    assert str(path) in message, message
    assert re.search(pattern, message), message
    return message


@pytest.mark.parametrize("place", PLACES, ids=[p.name for p in PLACES])
@pytest.mark.parametrize("value, pattern", [v[1:] for v in VALUES], ids=[v[0] for v in VALUES])
def test_a_hostile_value_is_one_line_naming_the_file(tmp_path: Path, place: Place, value: str, pattern: str) -> None:
    _expect_one_line(LOADERS[place.name], place.with_value(tmp_path, value), pattern)


@pytest.mark.parametrize("place", PLACES, ids=[p.name for p in PLACES])
def test_the_slot_takes_a_valid_value(tmp_path: Path, place: Place) -> None:
    """The attacks fail for what they are, not because the slot itself is wrong."""
    LOADERS[place.name](place.with_value(tmp_path, VALID_VALUES[place.name]))


def _documents() -> Iterator[Any]:
    for place in FILES:
        for name, content, pattern, accepted in DOCUMENTS:
            yield pytest.param(place, content, pattern, place.name in accepted, id=f"{place.name}-{name}")


@pytest.mark.parametrize("place, content, pattern, harmless", list(_documents()))
def test_a_hostile_file_is_one_line_naming_it(tmp_path: Path, place: Place, content: str | bytes, pattern: str, harmless: bool) -> None:
    path = place.write(tmp_path, content.replace("{valid}", place.valid) if isinstance(content, str) else content)
    if harmless:
        with deadline(SECONDS):
            LOADERS[place.name](path)
    else:
        _expect_one_line(LOADERS[place.name], path, pattern)


@pytest.mark.parametrize("place", FILES, ids=[p.name for p in FILES])
@pytest.mark.parametrize("kind", ["folder", "pipe"])
def test_a_folder_or_a_pipe_instead_of_the_file(tmp_path: Path, place: Place, kind: str) -> None:
    path = tmp_path / place.relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "folder":
        path.mkdir()
    else:
        os.mkfifo(path)  # opening a pipe nobody writes to would wait for ever
    _expect_one_line(LOADERS[place.name], path, "folder" if kind == "folder" else "not a regular file")


DUPLICATES = {  # a key given twice, and the message naming both lines
    "settings": ("erp:\n  require_read_only: true\n  require_read_only: false\n", r":3: erp.require_read_only: duplicate key \(first at line 2\)"),
    "connector": (CONNECTOR + "name: other\n", r":\d+: name: duplicate key \(first at line 4\)"),
    "segments": (SEGMENTS + "  loyal:\n    filter: key_account\n", r":5: segments.loyal: duplicate key \(first at line 2\)"),
    "filter": (
        "segments:\n  loyal:\n    filter:\n      field: city\n      '=': Budapest\n      '=': Győr\n",
        r":6: segments.loyal.filter.=: duplicate key \(first at line 5\)",
    ),
}


@pytest.mark.parametrize("name", DUPLICATES)
def test_a_duplicate_key_names_both_lines(tmp_path: Path, name: str) -> None:
    text, pattern = DUPLICATES[name]
    _expect_one_line(LOADERS[name], BY_NAME[name].write(tmp_path, text), pattern)


def test_yes_and_true_are_the_same_key(tmp_path: Path) -> None:
    text = "erp:\n  require_read_only: true\nmetrics:\n  lapse:\n    no_purchase_days_by_group: {1: 10, 0x1: 20}\n"
    _expect_one_line(_settings, BY_NAME["settings"].write(tmp_path, text), r":5: .*duplicate key \(first at line 5\)")


# ------------------------------------------------------------------- every key of the settings


def _leaves(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every settings key below `model` with its annotation; sections are walked into."""
    for name, field in model.model_fields.items():
        if prefix == () and name in ("home", "config_file"):
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _leaves(annotation, prefix + (name,))
        else:
            yield prefix + (name,), annotation


SETTINGS_KEYS = list(_leaves(Settings))
WRONG = [[1, 2], {"a": 1}, 10**30, -(10**30), math.nan, math.inf, "x" * 5000, dt.date(2024, 1, 1)]


def _numeric(annotation: Any) -> bool:
    return bool({int, float} & set(typing.get_args(annotation) or (annotation,))) or "Cuts" in str(annotation) or "float" in str(annotation)


def _nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data: Any = value
    for part in reversed(path):
        data = {part: data}
    return data


@pytest.mark.parametrize("key, annotation", SETTINGS_KEYS, ids=[".".join(k) for k, _ in SETTINGS_KEYS])
def test_every_settings_key_refuses_a_wrong_value_in_one_line(tmp_path: Path, key: tuple[str, ...], annotation: Any) -> None:
    """A list, a mapping, huge numbers, NaN, infinity, long text, a date: refused naming the key, or harmless."""
    for n, value in enumerate(WRONG):
        path = BY_NAME["settings"].write(tmp_path / str(n), yaml.safe_dump(_nest(key, value)))
        try:
            with deadline(SECONDS):
                _settings(path)
        except ConfigError as exc:
            assert "\n" not in str(exc) and ".".join(key) in str(exc), str(exc)
        else:
            assert not (_numeric(annotation) and isinstance(value, int | float)), f"{'.'.join(key)}: {value!r} was accepted"


# ------------------------------------------------------------------- every key of a definition


def _definition_keys() -> list[tuple[str, ...]]:
    data = yaml.safe_load(CONNECTOR)
    keys: list[tuple[str, ...]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        keys.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + (str(k),))

    walk(data, ())
    return keys[1:] + [("connection", "url"), ("connection", "odbc"), ("connection", "dialect"), ("params",), ("lookback",)]


def _replace(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    node = data
    for part in path[:-1]:
        node = node.setdefault(int(part) if part.isdigit() and int(part) in node else part, {})
    node[int(path[-1]) if path[-1].isdigit() and int(path[-1]) in node else path[-1]] = value
    return data


@pytest.mark.parametrize("key", _definition_keys(), ids=[".".join(k) for k in _definition_keys()])
def test_every_definition_key_refuses_a_wrong_value_in_one_line(tmp_path: Path, key: tuple[str, ...]) -> None:
    """Each key of the tiny definition given each wrong value: refused in one line, or harmless."""
    for n, value in enumerate(WRONG):
        data = _replace(yaml.safe_load(CONNECTOR), key, value)
        path = BY_NAME["connector"].write(tmp_path / str(n), yaml.safe_dump(data, allow_unicode=True))
        try:
            with deadline(SECONDS):
                definition = load_definition(path)
        except ConfigError as exc:
            assert "\n" not in str(exc), str(exc)
        else:
            assert isinstance(definition, Definition)
            assert not (isinstance(value, float) and not math.isfinite(value)), f"{'.'.join(key)}: {value!r} was accepted"
