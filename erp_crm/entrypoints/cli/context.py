"""What one `erp-crm` invocation shares between its commands: the settings and the overlay, each opened once."""

from __future__ import annotations

from pathlib import Path

import click

from erp_crm.entrypoints.logs import configure_logging
from erp_crm.settings.home import find_home
from erp_crm.settings.root import Settings, load_settings
from erp_crm.settings.schedule import Schedule, load_schedule
from erp_crm.store.overlay import Overlay


class Context:
    """Settings loaded on first use (so `init` and `--help` need no home), and one overlay per process."""

    def __init__(self, home: str | None, debug: bool) -> None:
        self.home_option = home
        self.debug = debug
        self._settings: Settings | None = None
        self._overlay: Overlay | None = None
        self._schedule: Schedule | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(find_home(self.home_option))
            configure_logging(self._settings.logging, self._settings.home)
        return self._settings

    @property
    def schedule(self) -> Schedule:
        """jobs/schedule.yaml of the home, checked."""
        if self._schedule is None:
            self._schedule = load_schedule(self.home)
        return self._schedule

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def overlay(self) -> Overlay:
        """The overlay of the settings, its schema checked to be the newest."""
        if self._overlay is None:
            self._overlay = Overlay.open(self.settings.overlay.full_url())
        return self._overlay

    def close(self) -> None:
        if self._overlay is not None:
            self._overlay.close()
            self._overlay = None


pass_ctx = click.make_pass_decorator(Context)
