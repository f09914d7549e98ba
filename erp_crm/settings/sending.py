"""How messages leave: the e-mail sender and its SMTP server, and the outbox's pace (docs/sending.md).

The SMTP password, like every secret, comes from the environment or a file; the rest
can be shown and committed.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from erp_crm.settings.base import Section, check_host, check_time_zone, parse_duration
from erp_crm.settings.databases import Secret

_HOST = r"^[A-Za-z0-9.:\[\]-]{1,253}$"
_ROLE = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_LOGIN = re.compile(r"[^\s\x00-\x1f\x7f-\x9f]{1,200}")


def _seconds(value: str | int) -> int:
    return parse_duration(value)


class SmtpSection(Secret):
    """The relay every e-mail goes through."""

    host: str = Field("localhost", pattern=_HOST)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = Field(None, min_length=1, max_length=200)
    password_env: str = "ERP_CRM_SMTP_PASSWORD"
    timeout: int = Field(30, ge=1, le=600, description="seconds to wait for any one answer")
    ca_file: str | None = Field(None, description="a company's own certificate authority, for a relay whose certificate it signed")

    _timeout = field_validator("timeout", mode="before")(_seconds)
    _host = field_validator("host")(check_host)


class EmailSection(Section):
    """Who the e-mails come from, and where replies and unsubscribe requests go."""

    sender: str | None = Field(None, description="the From address; without it no e-mail is sent")
    sender_name: str = Field("", max_length=200)
    reply_to: str | None = None
    unsubscribe_mailto: str | None = Field(None, description="an address that takes unsubscribe requests by mail")
    smtp: SmtpSection = Field(default_factory=SmtpSection)
    maildir: str | None = Field(None, description="write e-mails into this Maildir folder instead of sending them (trials, staging)")


class OutboxSection(Section):
    """The dispatcher's pace: batches, retries with back-off, expiry, and how it yields to a server that asks it to slow down."""

    batch: int = Field(100, ge=1, le=10_000, description="messages claimed at a time")
    max_attempts: int = Field(5, ge=1, le=100, description="handovers before a message that keeps being deferred fails")
    retry_after: int = Field(60, ge=1, le=86400, description="seconds before the first retry; doubled at each further one")
    retry_at_most: int = Field(3600, ge=1, le=7 * 86400, description="the longest wait between retries, in seconds")
    expire_after: int = Field(2 * 86400, ge=60, le=365 * 86400, description="a message not sent this long after it was decided is dropped as expired")
    throttle_pause: float = Field(1.0, ge=0, le=600, description="seconds to pause after a server first asks to slow down; doubled while it keeps asking")
    throttle_pause_at_most: float = Field(60.0, ge=0, le=3600, description="past this pause the run stops and leaves the rest for the next one (at once, if it is below throttle_pause)")

    _durations = field_validator("retry_after", "retry_at_most", "expire_after", mode="before")(_seconds)


def _default_roles() -> dict[str, tuple[str, ...]]:
    """The roles the shipped chains name, with nobody in them until the settings say who."""
    return {"sales": (), "finance": ()}


class ChainsSection(Section):
    """How chains run: the company's time zone (waits until a weekday and hour), the messages' default language, the tick's batch."""

    time_zone: str = "Europe/Budapest"
    language: Literal["hu", "en"] = "hu"
    batch: int = Field(500, ge=1, le=100_000, description="enrolments taken at a time by the tick")
    roles: dict[str, tuple[str, ...]] = Field(
        default_factory=_default_roles,
        description="role name -> ERP logins: whom a `role:` in a task owner or a reassign step means",
    )

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for role, logins in value.items():
            if not _ROLE.fullmatch(role):
                raise ValueError(f"role {role[:60]!r}: lower-case letters, digits, _ and -, starting with a letter, at most 40")
            for login in logins:
                if not _LOGIN.fullmatch(login):
                    raise ValueError(f"role {role}: login {login[:60]!r}: 1 to 200 characters without spaces or control characters")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_time_zone(value)


class QuietHours(Section):
    """Hours (company time) in which messages of `channels` are not sent: they wait for the end."""

    start: int = Field(20, ge=0, le=23)
    end: int = Field(8, ge=0, le=23)
    channels: tuple[Literal["email", "sms"], ...] = ("sms",)


class ConsentSection(Section):
    """When a partner may be written to: explicit opt-in where required, never after an opt-out, not too often, not at night."""

    require_opt_in: tuple[Literal["email", "sms"], ...] = Field((), description="channels on which only partners who opted in are written to")
    max_per_week: int | None = Field(None, ge=1, le=1000, description="messages per partner and channel in any seven days, over all chains")
    quiet_hours: QuietHours | None = None
