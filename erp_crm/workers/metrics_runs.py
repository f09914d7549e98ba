"""The metrics run as a worker's work: one worker at a time, when a run is due.

A metrics run cannot be shared out: its models and RFM cut points are fitted over every
customer at once, and the run is one transaction so that readers see the old figures
or the new ones. So the worker that takes the metrics lock first runs it, and the
others skip the round rather than wait; a run is due when the sync has changed what
the figures are made of, when a new day has begun (recency moves), or when the
settings changed (erp_crm.metrics.compute.is_due). Kept apart from the other kinds of
work because the models bring in scipy, which a worker without metrics never needs.
"""

from __future__ import annotations

from erp_crm.metrics.compute import compute_metrics_when_due
from erp_crm.settings.metrics import MetricsSection
from erp_crm.store.overlay import Overlay
from erp_crm.workers.work import Round, attempt


class MetricsRuns:
    """An incremental metrics run as of today per round, when one is due and no other process is running one."""

    kind = "metrics"

    def __init__(self, overlay: Overlay, section: MetricsSection, source: str) -> None:
        self.overlay, self.section, self.source = overlay, section, source

    def round(self) -> Round:
        return attempt(self.kind, self._round)

    def _round(self) -> Round:
        report = compute_metrics_when_due(self.overlay, self.section, source=self.source)
        return Round(self.kind, 0) if report is None else Round(self.kind, 1, report)

    def close(self) -> None:
        """Nothing is held between rounds: a run is one transaction."""
