"""Fits that converge but cannot be trusted, told apart from fits that can.

On a small or short history the optimiser still returns numbers: parameters run off to
the edge of their range, or a model that sees no customer leave calls one silent for two
years "100 % active", and a spend model without a finite mean gives a one-time buyer of
100 a year's value of thousands. Printed, such numbers look as sure as good ones, and
chains would act on them. Each check below names what is wrong in words a sales manager
can follow; a model that fails one is not used, and the figures fall back to what the
data support (rhythm and day rules; no P(alive), no CLV).
"""

from __future__ import annotations

import numpy as np

from erp_crm.metrics.bgnbd import MBGNBD
from erp_crm.metrics.gamma_gamma import GammaGamma

PARAMETER_RANGE = (1e-4, 1e4)  # beyond this a shape (or alpha, in weeks) ran to the optimiser's edge: the history does not pin it down
LONG_SILENCE_WEEKS = 26.0  # half a year
SILENCE_OVER_GAP = 3.0  # and three times the customer's own mean gap
MIN_SILENT = 10  # long-silent repeat buyers needed before their P(alive) is judged
ALIVE_WHEN_SILENT = 0.95  # their median P(alive) above this: the model sees nobody leave
SPEND_OVER_LARGEST = 10.0  # a population mean spend above this many times the largest customer mean is no estimate


def purchase_model(model: MBGNBD, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> str | None:
    """Why the purchase model should not be used (None: it may), from its parameters and what it says of silent customers."""
    edge = _at_the_edge(model, ("r", "alpha", "a", "b"))
    if edge:
        return f"its parameters ran to the edge of their range ({edge}): the history does not determine them"
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_gap = np.where(repeat, t_x / np.where(repeat, x, 1), np.inf)
    silence = T - t_x
    silent = repeat & (silence > LONG_SILENCE_WEEKS) & (silence > SILENCE_OVER_GAP * mean_gap)
    if int(silent.sum()) >= MIN_SILENT:
        with np.errstate(all="ignore"):
            alive = float(np.nanmedian(model.probability_alive(x[silent], t_x[silent], T[silent])))
        if alive > ALIVE_WHEN_SILENT:
            return (
                f"it calls customers alive who have been silent for over half a year and three times their usual gap "
                f"(median P(alive) {alive:.0%} over {int(silent.sum()):,} of them): it sees no customer leave"
            )
    return None


def spend_model(model: GammaGamma, means: np.ndarray) -> str | None:
    """Why the spend model should not be used (None: it may): no finite mean, parameters at the edge, or a mean no customer comes near."""
    if not model.q > 1:
        return f"its spend distribution has no finite mean (q = {model.q:.3g}, needs more than 1)"
    edge = _at_the_edge(model, ("p", "q"))  # v is a scale in the currency (millions in forints): the mean check judges it
    if edge:
        return f"its parameters ran to the edge of their range ({edge}): the history does not determine them"
    population = model.p * model.v / (model.q - 1)
    largest = float(np.max(means)) if means.size else 0.0
    if largest > 0 and population > SPEND_OVER_LARGEST * largest:
        return f"it puts the mean spend at {population:,.0f}, over {SPEND_OVER_LARGEST:g} times the largest customer's mean ({largest:,.0f})"
    return None


def _at_the_edge(model: object, names: tuple[str, ...]) -> str:
    low, high = PARAMETER_RANGE
    values = {name: float(getattr(model, name)) for name in names}
    return ", ".join(f"{name} = {value:.3g}" for name, value in values.items() if not (np.isfinite(value) and low <= value <= high))
