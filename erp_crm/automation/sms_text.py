"""How long a text message is in what the operator bills: its encoding, and the segments it is split into.

A text message travels in the GSM 7-bit alphabet (GSM 03.38) when every character is in
it, else in UCS-2. One GSM-7 message carries 160 characters, or 153 per segment once it
is split (a segment header takes the rest); one UCS-2 message carries 70, or 67 per
segment. A character of the GSM-7 extension table (€, [, ], {, }, \\, ^, ~, |) takes two
places, and is never split across segments; neither is a character outside the Basic
Multilingual Plane in UCS-2 (an emoji takes two places).

Hungarian is the catch: é, ö, ü (and É, Ö, Ü) are in the GSM-7 alphabet, but á, í, ó,
ú, ő, ű and their capitals are not, so a single "á" turns a 160-character message into a
70-character one, three segments instead of one. `to_gsm7` writes a Hungarian text with
the letters the alphabet has (á → a, ő → ö, ű → ü), the ékezetmentesítés gateways offer,
so that dry-runs and previews can show both and the admin can choose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_BASIC = frozenset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")  # each sent as an escape and the character: two places
SINGLE = {"GSM-7": 160, "UCS-2": 70}  # places in a message that is not split
PER_SEGMENT = {"GSM-7": 153, "UCS-2": 67}  # places in each segment of a split one

# The Hungarian letters GSM-7 lacks, and the punctuation word processors put in, written
# with what it has; ö and ü stay (the alphabet has them), so "ő" reads as "ö", not "o".
_TO_GSM7 = str.maketrans(
    {
        "á": "a", "í": "i", "ó": "o", "ú": "u", "ő": "ö", "ű": "ü",
        "Á": "A", "Í": "I", "Ó": "O", "Ú": "U", "Ő": "Ö", "Ű": "Ü",
        "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "»": '"', "«": '"',
        "–": "-", "—": "-", "…": "...", "\u00a0": " ", "\u202f": " ", "\t": " ",
    }
)  # fmt: skip


@dataclass(frozen=True)
class SmsSize:
    """A text's encoding, the places it takes and the segments it is sent (and billed) as."""

    encoding: Encoding
    places: int
    segments: int

    @property
    def single_limit(self) -> int:
        """How many places one unsplit message of this encoding holds."""
        return SINGLE[self.encoding]


def measure(text: str) -> SmsSize:
    """The encoding `text` needs, and how many segments it takes (0 for an empty text)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        widths = [2 if c in GSM7_EXTENSION else 1 for c in text]
        encoding: Encoding = "GSM-7"
    else:
        widths = [2 if ord(c) > 0xFFFF else 1 for c in text]  # UTF-16: a surrogate pair
        encoding = "UCS-2"
    places = sum(widths)
    if places <= SINGLE[encoding]:
        return SmsSize(encoding, places, 1 if places else 0)
    return SmsSize(encoding, places, _segments(widths, PER_SEGMENT[encoding]))


def _segments(widths: list[int], room: int) -> int:
    """Segments of `room` places each, filled in order, a two-place character never split across two."""
    segments, used = 1, 0
    for width in widths:
        if used + width > room:
            segments, used = segments + 1, 0
        used += width
    return segments


def to_gsm7(text: str) -> str:
    """`text` with the Hungarian letters and typographic punctuation GSM-7 lacks written with ones it has; other characters stay."""
    return text.translate(_TO_GSM7)
