"""Errors a user can fix: the CLI prints them as one line, without a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in configuration, input or environment that the user can correct.

    The message must name what is wrong and where (file, key, entity), because it is
    all the user will see unless they pass --debug.
    """


class ConfigError(UserError):
    """A settings file or connector definition is invalid."""


class SourceError(UserError):
    """The ERP database cannot be reached or does not look as the definition says."""


class Busy(UserError):
    """Another process is doing the same work now (the lock `name` is held): a scheduled run skips, a person tries again later."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name
