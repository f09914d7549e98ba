"""Errors a user can fix: the CLI prints them as one line, without a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in configuration, input or environment that the user can correct.

    The message must name what is wrong and where (file, key, entity), because it is
    all the user will see unless they pass --debug.
    """


class ConfigError(UserError):
    """A settings file or connector definition is invalid."""


class UnresolvableHost(ConfigError):
    """A host name the resolver refuses before asking anyone (a label over 63 characters): a typo in the setting `key`, not a network problem.

    Python's IDNA codec raises it as a UnicodeError, which the drivers and smtplib let
    through as it is, and which would read as a bug. The settings refuse the hosts they
    name; the connections turn this one (a host in a URL's query, a connector's own
    connection) into a line naming the key.
    """

    def __init__(self, key: str, error: UnicodeError) -> None:
        super().__init__(f"{key}: not a host name that can be looked up ({error.__cause__ or error})")
        self.key = key


class SourceError(UserError):
    """The ERP database cannot be reached or does not look as the definition says."""


class Busy(UserError):
    """Another process is doing the same work now (the lock `name` is held): a scheduled run skips, a person tries again later."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name
