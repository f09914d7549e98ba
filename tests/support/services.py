"""The services as a test calls them: with a test home's whole settings, each on an overlay opened for the call.

The entry points open the overlay once and pass each service the section it uses; a
test usually holds the `Settings` of its home, so these do the same in one line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from erp_crm.metrics.compute import MetricsReport, compute_metrics
from erp_crm.model import migrate
from erp_crm.segments.definitions import SEGMENTS_FILE
from erp_crm.segments.metrics_fields import segment_registry
from erp_crm.segments.refresh import RefreshReport, refresh_segments
from erp_crm.settings.root import Settings
from erp_crm.store.overlay import Overlay
from erp_crm.sync.compare import EntityComparison, compare_counts
from erp_crm.sync.definition import load_connector
from erp_crm.sync.engine import RunReport, sync_source


@contextmanager
def open_overlay(settings: Settings) -> Iterator[Overlay]:
    """The home's overlay at schema head, closed after the block."""
    with Overlay.open(settings.overlay.full_url()) as overlay:
        yield overlay


def run_sync(settings: Settings, **options: Any) -> RunReport:
    definition = load_connector(settings.erp)
    with open_overlay(settings) as overlay:
        return sync_source(overlay, settings.erp, definition, **options)


def run_metrics(settings: Settings, **options: Any) -> MetricsReport:
    with open_overlay(settings) as overlay:
        return compute_metrics(overlay, settings.metrics, source=settings.erp.source, **options)


def run_refresh(settings: Settings, names: tuple[str, ...] | list[str] = (), *, as_of: dt.date | None = None) -> RefreshReport:
    registry = segment_registry(settings.profile, settings.metrics.rfm, settings.metrics.purchases_from)
    with open_overlay(settings) as overlay:
        return refresh_segments(overlay, settings.home / SEGMENTS_FILE, registry, names, as_of=as_of)


def compare(settings: Settings) -> list[EntityComparison]:
    with open_overlay(settings) as overlay:
        return compare_counts(overlay, settings.erp)


def overlay_engine(url: Any) -> Any:
    """A bare engine on the overlay at `url` (SQLite pragmas as the product sets them), for tests that look inside."""
    return Overlay.open(sa.engine.make_url(url) if isinstance(url, str) else url, at_head=False).engine


def upgrade(engine: Any) -> None:
    """Migrate the overlay behind `engine` to the newest schema."""
    with engine.begin() as conn:
        migrate.upgrade(conn)
