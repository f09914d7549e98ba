"""Turning filter text into tokens, with the line and column of each for error messages."""

from __future__ import annotations

import bisect
import difflib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from erp_crm.segments.syntax import MAX_LENGTH, NAME, NOWHERE, SYMBOL_HINTS, SYMBOLS, FilterError, Path, Where

_TOKEN = re.compile(
    r"(?P<space>\s+|\#[^\n]*)"
    r"|(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})(?![\w.])"
    r"|(?P<number>-?[0-9]+(?:_[0-9]+)*(?:\.[0-9]+)?)"
    rf"|(?P<name>{NAME.pattern})"
    r"|(?P<op>[<>=!]+)"
    r"|(?P<punct>[(),:])"
    r"|(?P<quote>[\"'])"
)


_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}
_FORBIDDEN = re.compile(r"[\x00\ud800-\udfff]")  # NUL and lone surrogates: no database stores them


@dataclass(frozen=True)
class Token:
    kind: str  # name, string, number, date, op, punctuation itself, or "end"
    text: str  # as written
    value: Any  # name: case-folded; string: unescaped; number: Decimal; date: date; op: canonical
    where: Where

    @property
    def word(self) -> str | None:
        return self.value if self.kind == "name" else None

    def describe(self) -> str:
        if self.kind == "end":
            return "the end of the filter"
        shown = self.text if len(self.text) <= 30 else self.text[:27] + "..."
        return shown if self.kind == "string" else f"'{shown}'"


def check_characters(text: str, where: Where = NOWHERE) -> None:
    """Refuse NUL and unpaired surrogates: PostgreSQL rejects them, and no filter needs them."""
    bad = _FORBIDDEN.search(text)
    if bad:
        raise FilterError(f"character U+{ord(bad.group()):04X} is not allowed in a filter", where)


class _Source:
    """Turns offsets into lines and columns."""

    def __init__(self, text: str, path: Path) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.path = path

    def where(self, start: int, end: int) -> Where:
        line = bisect.bisect_right(self.starts, start)
        return Where(line, start - self.starts[line - 1] + 1, max(1, end - start), self.path)


def tokenize(text: str, path: Path = ()) -> list[Token]:
    """Split a text filter into tokens; unknown characters, operators and bad strings are errors."""
    src = _Source(text, path)
    if len(text) > MAX_LENGTH:
        raise FilterError(f"a filter is at most {MAX_LENGTH:,} characters long", src.where(0, 1))
    bad = _FORBIDDEN.search(text)
    if bad:
        check_characters(text, src.where(bad.start(), bad.end()))
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterError(f"unexpected character {text[pos]!r}", src.where(pos, pos + 1))
        kind = m.lastgroup
        assert kind is not None
        where = src.where(m.start(), m.end())
        if kind == "quote":
            value, end = _string(text, pos, src)
            tokens.append(Token("string", text[pos:end], value, src.where(pos, end)))
            pos = end
            continue
        pos = m.end()
        raw = m.group(kind)
        if kind == "space":
            continue
        tokens.append(Token(*_token_value(kind, raw, where)))
    tokens.append(Token("end", "", None, src.where(len(text), len(text) + 1)))
    return tokens


def _token_value(kind: str, raw: str, where: Where) -> tuple[str, str, Any, Where]:
    if kind == "date":
        try:
            return kind, raw, date.fromisoformat(raw), where
        except ValueError:
            raise FilterError(f"{raw} is not a date (year-month-day)", where) from None
    if kind == "number":
        return kind, raw, Decimal(raw.replace("_", "")), where
    if kind == "name":
        return kind, raw, raw.casefold(), where
    if kind == "op":
        if raw not in SYMBOLS:
            hint = SYMBOL_HINTS.get(raw) or next(iter(difflib.get_close_matches(raw, SYMBOLS, 1)), None)
            raise FilterError(f"unknown operator '{raw}'" + (f" (did you mean '{hint}'?)" if hint else ""), where)
        return kind, raw, SYMBOLS[raw], where
    return raw, raw, raw, where  # punctuation: its own kind


def _string(text: str, start: int, src: _Source) -> tuple[str, int]:
    """A quoted string from `start` (the quote); returns its value and the offset after it."""
    quote, i = text[start], start + 1
    out: list[str] = []
    while i < len(text) and text[i] != "\n":
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt not in _ESCAPES:
                raise FilterError(
                    f"unknown escape '\\{nxt}' in a string (use \\\\ \\\" \\' \\n or \\t)", src.where(i, i + 2)
                )
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise FilterError(f"this string is never closed (the closing {quote} is missing)", src.where(start, start + 1))
