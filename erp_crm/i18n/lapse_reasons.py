"""Why a customer counts as lapsed, in words: the reason codes the metrics store, rendered per locale.

A stored reason maps each code to its numbers (`erp_crm.metrics.lapse`), for example
`{"silent": {"days": 400}, "p_lapse": {"p": 0.83, "days": 180}, "purchases": {"count": 2},
"off_rhythm": {"usual_gap_days": 30, "ratio": 4.2}}`. Codes are rendered in a fixed order and joined with "; ";
a code without numbers (null) is left out, and an unknown code is named as it is
rather than dropped, so a newer writer's reason still shows what it has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from erp_crm.i18n import formatting as fmt

Render = Callable[[Mapping[str, Any], str], str]


def _chance(p: float, locale: str) -> str:
    """A model's probability as a percentage that never reads as certain: 99.7 % shows as 99 %, not 100 %."""
    return fmt.percent(min(max(float(p), 0.01), 0.99), locale)


_TEMPLATES: dict[str, dict[str, Render]] = {
    "silent": {
        "hu": lambda n, loc: f"nem vásárolt {fmt.number(n['days'], loc)} napja",
        "en": lambda n, loc: f"no purchase for {fmt.number(n['days'], loc)} days",
    },
    "p_lapse": {
        "hu": lambda n, loc: f"{_chance(n['p'], loc)} eséllyel nem vásárol a következő {fmt.number(n['days'], loc)} napban",
        "en": lambda n, loc: f"{_chance(n['p'], loc)} chance of no purchase in the next {fmt.number(n['days'], loc)} days",
    },
    "purchases": {
        "hu": lambda n, loc: f"összesen {fmt.number(n['count'], loc)} napon vásárolt",
        "en": lambda n, loc: f"bought on {fmt.number(n['count'], loc)} day{'' if n['count'] == 1 else 's'} in all",
    },
    "past_longest_gap": {
        "hu": lambda n, loc: (
            f"{fmt.number(n['ratio'], loc, 1)}× olyan régóta nem vásárolt, mint a leghosszabb eddigi szünete ({fmt.number(n['longest_gap_days'], loc)} nap)"
        ),
        "en": lambda n, loc: f"silent {fmt.number(n['ratio'], loc, 1)}× its longest gap so far ({fmt.number(n['longest_gap_days'], loc)} days)",
    },
    "customer_since": {
        "hu": lambda n, loc: f"első vásárlása {fmt.number(n['days'], loc)} napja volt",
        "en": lambda n, loc: f"first purchase {fmt.number(n['days'], loc)} days ago",
    },
    "active_span": {
        "hu": lambda n, loc: f"első és utolsó vásárlása között {fmt.number(n['days'], loc)} nap telt el",
        "en": lambda n, loc: f"{fmt.number(n['days'], loc)} days from first to last purchase",
    },
    "spend": {
        "hu": lambda n, loc: f"átlagos vásárlása {fmt.number(n['mean'], loc)}",
        "en": lambda n, loc: f"average purchase {fmt.number(n['mean'], loc)}",
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
