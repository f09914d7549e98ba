"""The `metrics:` section: customer models, RFM scores and groups, and the lapse definitions (docs/metrics.md, docs/lapse.md).

These classes are the only definition of these settings: the metrics code takes them as
they are, so a bound checked here is the bound the computation relies on.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from erp_crm.settings.base import Section

Cuts = tuple[float, float, float, float]
# Upper bounds: a span beyond a century, or a weight beyond a thousand, is a typo; the bounds
# also keep every date the computation derives (as of ± a span) inside the calendar.
MAX_DAYS = 36_500
MAX_FACTOR = 1000.0
Days = Annotated[int, Field(ge=1, le=MAX_DAYS)]
LapseDefinition = Literal["score", "rule", "rhythm", "model"]
PurchasesFrom = Literal["invoices", "orders"]
AggregateIn = Literal["auto", "database", "python"]
LAPSE_DEFINITIONS: tuple[LapseDefinition, ...] = ("score", "rule", "rhythm", "model")
NO_PURCHASE = "no_purchase"  # the group of partners who never bought
UNCLASSIFIED = "unclassified"  # the group of a (R, FM) cell a custom grid leaves unnamed
GROUP_NAME = re.compile(r"[^\W\d_A-Z][^\W\sA-Z]*")  # a lower-case word a filter can name bare: hűséges, at_risk

# The widely used 5 × 5 grid of RFM group names: rows R = 5 … 1, columns FM (or F) = 1 … 5.
DEFAULT_RFM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("new_customers", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    ("promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"),
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    ("lost", "hibernating", "at_risk", "at_risk", "cannot_lose"),
)


class RfmSection(Section):
    """RFM score cut points (four ascending values each; none: quintiles) and group names.

    Recency: ≤ t1 days scores 5, ≤ t2 scores 4, …, beyond t4 scores 1. Frequency and
    monetary: 1 + the number of cut points the value reaches. `group_on` picks the second
    axis of the group grid: "fm" is the mean of F and M rounded half up, "f" the
    frequency score alone.
    """

    recency_days: Cuts | None = None
    frequency: Cuts | None = None
    monetary: Cuts | None = None
    group_on: Literal["fm", "f"] = "fm"
    # The 5 × 5 grid of group names: rows R = 5 … 1, columns FM (or F) = 1 … 5; none: DEFAULT_RFM_GROUPS.
    groups: tuple[tuple[str, ...], ...] | None = None

    @field_validator("recency_days", "frequency", "monetary")
    @classmethod
    def _ascending(cls, cuts: Cuts | None) -> Cuts | None:
        if cuts is not None and list(cuts) != sorted(cuts):
            raise ValueError("expected four ascending numbers")
        return cuts

    @field_validator("groups")
    @classmethod
    def _group_names(cls, rows: tuple[tuple[str, ...], ...] | None) -> tuple[tuple[str, ...], ...] | None:
        if rows is not None and (len(rows) != 5 or any(len(row) != 5 for row in rows)):
            raise ValueError("expected 5 rows (R = 5 … 1) of 5 group names (FM = 1 … 5)")
        for row in rows or ():
            for name in row:
                if not GROUP_NAME.fullmatch(name):
                    raise ValueError(f"group name {name!r}: one lower-case word (letters, digits, _), as filters name it")
        return rows

    @property
    def grid(self) -> tuple[tuple[str, ...], ...]:
        """The group names in use: the configured grid, else the default one."""
        return self.groups or DEFAULT_RFM_GROUPS

    def group_map(self) -> dict[tuple[int, int], str]:
        """(R score, second-axis score) → group name."""
        return _grid_map(self.grid)

    def group_names(self) -> tuple[str, ...]:
        """Every group a partner can be in, as filters may name them."""
        return tuple(sorted({*(name for row in self.grid for name in row), NO_PURCHASE, UNCLASSIFIED}))


@functools.cache
def _grid_map(rows: tuple[tuple[str, ...], ...]) -> dict[tuple[int, int], str]:
    return {(5 - i, fm): name for i, row in enumerate(rows) for fm, name in enumerate(row, start=1)}


class LapseSection(Section):
    """The lapse score and the lapse definitions (docs/lapse.md)."""

    # the lapse score is the chance of buying nothing in the next this many days, learnt
    # from the company's own history: who bought in the same number of days before a run
    horizon_days: Days = 180
    # the score flags a customer from this chance on, or (when set) the highest-scoring share of customers
    score_at_least: float = Field(0.6, gt=0, lt=1)
    score_top_share: float | None = Field(None, gt=0, lt=1)
    no_purchase_days: Days = 365
    no_purchase_days_by_group: dict[str, Days] = Field(default_factory=dict)
    rhythm_factor: float = Field(3.0, gt=0, le=MAX_FACTOR)
    rhythm_min_purchases: int = Field(3, ge=2, le=MAX_DAYS)
    p_alive_below: float = Field(0.3, ge=0, le=1)
    # which definitions make a partner "lapsed" (and so give it a reason); "score" stands
    # for "rule" and "rhythm" where the history is too small to fit the lapse score on
    definitions: tuple[LapseDefinition, ...] = ("score",)
    # the hand-weighted score used where the lapse score cannot be fitted; `metrics evaluate` fits them to your history
    score_model_weight: float = Field(1.0, ge=0, le=MAX_FACTOR)
    score_silence_weight: float = Field(2.0, ge=0, le=MAX_FACTOR)
    score_rhythm_weight: float = Field(0.25, ge=0, le=MAX_FACTOR)
    score_reference_days: float = Field(30.0, gt=0, le=MAX_DAYS)  # silence per purchase measured in months


class MetricsSection(Section):
    """Customer metrics (docs/metrics.md)."""

    horizon_days: Days = 90  # expected purchases over this many days
    clv_months: int = Field(12, ge=1, le=1200)  # a century
    discount_rate_monthly: float = Field(0.01, ge=0, lt=1)
    penalizer_coef: float = Field(0.0, ge=0, le=MAX_FACTOR)  # the models' L2 penalty, for small or odd customer bases
    min_customers: int = Field(20, ge=2, le=1_000_000_000)  # fewer customers (repeat buyers for Gamma-Gamma): no fit
    refit_days: int = Field(7, ge=0, le=MAX_DAYS)  # a fit is used again for this many days
    change_margin_minutes: int = Field(5, ge=0, le=MAX_DAYS * 1440)  # changes this long before the last run started count as new
    # What a purchase is: posted or paid invoices, or (for ERPs that keep sales as orders
    # and invoice elsewhere, or not at all) confirmed, delivered or closed orders.
    purchases_from: PurchasesFrom = "invoices"
    # Where a full run sums the documents per partner: in PostgreSQL (SQL), in Python
    # (numpy), or auto (PostgreSQL on a large base); the figures are the same either way.
    aggregate_in: AggregateIn = "auto"
    rfm: RfmSection = Field(default_factory=RfmSection)
    lapse: LapseSection = Field(default_factory=LapseSection)

    def digest(self) -> str:
        """A fingerprint of every setting a figure depends on: a run whose settings differ from the last one's rewrites every row.

        `aggregate_in` is left out: it changes where the sums are made, not what they are,
        so switching it keeps the fit and the rows.
        """
        return hashlib.md5(self.model_dump_json(exclude={"aggregate_in"}).encode(), usedforsecurity=False).hexdigest()
