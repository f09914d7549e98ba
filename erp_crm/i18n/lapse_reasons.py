"""Why a customer counts as lapsed, in words: the reason codes the metrics store, rendered per locale.

A stored reason maps each code to its numbers (`erp_crm.metrics.lapse`), for example
`{"silent": {"days": 400}, "off_rhythm": {"usual_gap_days": 30, "ratio": 4.2},
"p_active": {"p": 0.12}}`. Codes are rendered in a fixed order and joined with "; ";
a code without numbers (null) is left out, and an unknown code is named as it is
rather than dropped, so a newer writer's reason still shows what it has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from erp_crm.i18n import formatting as fmt

Render = Callable[[Mapping[str, Any], str], str]

_TEMPLATES: dict[str, dict[str, Render]] = {
    "silent": {
        "hu": lambda n, loc: f"nem vásárolt {fmt.number(n['days'], loc)} napja",
        "en": lambda n, loc: f"no purchase for {fmt.number(n['days'], loc)} days",
    },
    "off_rhythm": {
        "hu": lambda n, loc: f"általában {fmt.number(n['usual_gap_days'], loc)} naponta rendel ({fmt.number(n['ratio'], loc, 1)}× a szokásos)",
        "en": lambda n, loc: f"usually orders every {fmt.number(n['usual_gap_days'], loc)} days ({fmt.number(n['ratio'], loc, 1)}× the usual gap)",
    },
    "p_active": {
        "hu": lambda n, loc: f"P(aktív) {fmt.percent(n['p'], loc)}",
        "en": lambda n, loc: f"P(active) {fmt.percent(n['p'], loc)}",
    },
}
CODES = tuple(_TEMPLATES)


def render(reason: Mapping[str, Any] | None, locale: str) -> str:
    """The reason as one line in `locale` ("" when there is none)."""
    if not reason:
        return ""
    parts = [_TEMPLATES[code][locale](reason[code], locale) for code in CODES if reason.get(code)]
    parts += [code for code in reason if code not in _TEMPLATES]
    return "; ".join(parts)
