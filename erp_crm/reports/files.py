"""Writing a table as a file people open in a spreadsheet: CSV or XLSX.

CSV is UTF-8 with a byte order mark, so Excel reads Hungarian accents right, separated
by `;` by default (Excel's list separator in Hungarian settings) or `,`, with lines
ending in CR LF as RFC 4180 has them: the csv module quotes a field that holds a
character of the line ending, so a lone CR inside a name is quoted too instead of
starting a new row in Excel (whose first cell could then be a formula). XLSX is written
by pandas with openpyxl.

The text comes from the ERP, where anyone who can type a partner's name can make it
`=HYPERLINK(...)` or a DDE call: a spreadsheet opening the file would run it. So every
text cell that a spreadsheet would read as a formula (one starting with `=`, `+`, `-`,
`@`, a tab or a carriage return: OWASP's rule for CSV injection) gets a leading single
quote, in both formats, and stays text; numbers stay numbers. Control characters that
XML cannot hold, and that cut CSV readers short (NUL), become U+FFFD, and XLSX text is
cut at Excel's 32,767 characters a cell; `write_table` counts the cells it changed that
way, so that nothing is changed without the user being told.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from erp_crm.errors import UserError

Format = Literal["csv", "xlsx"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_CHARACTERS = 32_767  # Excel refuses a file with a longer cell
REPLACEMENT = "\ufffd"


@dataclass
class Written:
    """What writing a table had to change in its text cells."""

    rows: int
    control_characters: int = 0  # cells whose control characters became U+FFFD
    cut: int = 0  # XLSX cells cut at XLSX_CELL_CHARACTERS

    def notes(self) -> list[str]:
        """One sentence per kind of change, for the user."""
        notes = []
        if self.control_characters:
            notes.append(f"cells holding control characters, written as {REPLACEMENT}: {self.control_characters:,}")
        if self.cut:
            notes.append(f"cells longer than XLSX allows, cut at {XLSX_CELL_CHARACTERS:,} characters: {self.cut:,}")
        return notes


def write_table(frame: pd.DataFrame, output: Path, fmt: Format, *, separator: str = ";", sheet: str = "members") -> Written:
    """Write `frame` to `output` with its text made safe to open; a file that cannot be written is one line naming it."""
    written = Written(len(frame))
    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_string_dtype(safe[column].dtype):
            safe[column] = safe[column].map(lambda value: _safe_text(value, fmt, written), na_action="ignore")
    try:
        if fmt == "csv":
            safe.to_csv(output, sep=separator, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        else:
            safe.to_excel(output, index=False, sheet_name=sheet, engine="openpyxl")
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
    return written


def _safe_text(value: object, fmt: Format, written: Written) -> object:
    """A text value as a spreadsheet may read it: never a formula, no control characters, within a cell's size."""
    if not isinstance(value, str):
        return value
    text, replaced = ILLEGAL_CHARACTERS_RE.subn(REPLACEMENT, "'" + value if value.startswith(FORMULA_STARTS) else value)
    written.control_characters += bool(replaced)
    if fmt == "xlsx" and len(text) > XLSX_CELL_CHARACTERS:
        text = text[:XLSX_CELL_CHARACTERS]
        written.cut += 1
    return text
