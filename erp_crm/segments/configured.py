"""The segment refresh with the home's segment file and the filter fields the settings define, for every entry point that refreshes."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from erp_crm.segments.definitions import SEGMENTS_FILE

if TYPE_CHECKING:
    from erp_crm.metrics.progress import Progress
    from erp_crm.segments.refresh import RefreshReport
    from erp_crm.settings.root import Settings
    from erp_crm.store.overlay import Overlay


def refresh_configured(
    overlay: Overlay, settings: Settings, names: tuple[str, ...] = (), as_of: dt.date | None = None, progress: Progress | None = None
) -> RefreshReport:
    """Refresh the named segments (default: all); the metric fields are imported only when a refresh runs."""
    from erp_crm.segments.metrics_fields import segment_registry
    from erp_crm.segments.refresh import refresh_segments

    registry = segment_registry(settings.profile, settings.metrics.rfm, settings.metrics.purchases_from)
    return refresh_segments(overlay, settings.home / SEGMENTS_FILE, registry, names, as_of=as_of, progress=progress)
