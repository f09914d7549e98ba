"""SMS gateways and webhook endpoints: the HTTP services messages leave through (docs/sending.md).

A gateway is described, not programmed: its URL, how it authenticates, which fields
carry the number and the text, and what in its answer means "taken". `preset: seeme`
or `preset: twilio` fills those in from the provider's published API; any key given
beside a preset replaces the preset's. Tokens, passwords and webhook secrets come from
environment variables named here, never from the file itself.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, StringConstraints, field_validator, model_validator

from erp_crm.errors import ConfigError
from erp_crm.settings.base import Located, Section, check_host, parse_duration

_URL = re.compile(r"[^\s\x00-\x1f\x7f]+")
_HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"  # an HTTP token: no colon, space or line break
_ENV = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"
_FIELD = r"^[A-Za-z0-9_.\[\]-]{1,100}$"


def http_url(value: str) -> str:
    """An http(s) URL of one printable line whose host the resolver takes; a ValueError naming what is wrong."""
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    if scheme not in ("http", "https"):
        raise ValueError(f"only http:// and https:// URLs are used, not {scheme + ':' if scheme else repr(value[:40])}")
    if not _URL.fullmatch(value) or len(value) > 2000:
        raise ValueError("a URL is one line without spaces or control characters, at most 2000 characters")
    try:
        host = urlsplit(value).hostname
    except ValueError:  # an unclosed [IPv6 bracket: the dispatcher and the doctor say so with the URL's other faults
        return value
    if host:
        check_host(host)
    return value


def _seconds(value: str | int) -> int:
    return parse_duration(value)


def env_value(name: str, owner: str) -> str:
    """The value of an environment variable a setting names; a ConfigError saying which one is empty."""
    value = os.environ.get(name, "")
    if not value:
        raise ConfigError(f"{owner}: the environment variable {name} is empty; the secret comes from there")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(f"{owner}: the environment variable {name} holds a control character (a line break?)")
    return value


class HttpAuth(Section):
    """How a gateway knows it is us: `bearer` (Authorization: Bearer), `basic` (user and password), a `header`, or a `query` parameter."""

    kind: Literal["bearer", "basic", "header", "query"]
    env: str = Field(pattern=_ENV, description="the environment variable holding the token or password")
    username: str | None = Field(None, min_length=1, max_length=200, description="basic: the user (a Twilio account SID)")
    name: str | None = Field(None, pattern=_HEADER_NAME, description="header or query: its name")

    @model_validator(mode="after")
    def _complete(self) -> HttpAuth:
        if self.kind == "basic" and not self.username:
            raise ValueError("basic authentication needs a username")
        if self.kind in ("header", "query") and not self.name:
            raise ValueError(f"{self.kind} authentication needs the name of the {self.kind} parameter")
        return self


class SuccessSection(Section):
    """What in a gateway's answer means the message was taken, and where its id for the message is."""

    status: tuple[int, ...] = Field((200, 201, 202), min_length=1)
    json_path: str | None = Field(None, alias="json", pattern=_FIELD, description="a dotted path into a JSON answer: result, data.0.id")
    equals: str | None = Field(None, max_length=200, description="the value at json that means success; without it, being there is enough")
    regex: str | None = Field(None, max_length=500, description="a regular expression the answer must match")
    message_id: str | None = Field(None, pattern=_FIELD, description="the dotted path of the gateway's id for the message")
    stop_regex: str | None = Field(None, max_length=500, description="an answer matching this refuses the account itself: the run stops")

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 200 <= code < 300 for code in value):
            raise ValueError("success statuses are 2xx")
        return value

    @field_validator("regex", "stop_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from None
        return value


PRESETS: dict[str, dict[str, Any]] = {
    # SeeMe (seeme.hu): GET /gateway with key, number (international, digits only), message,
    # sender, reference; format=json answers {"result": "OK"|"ERR", "code": 0, ...}; code 4 is
    # a wrong API key, 5 an incomplete profile, 13 an IP address not allowed: every message would meet them.
    "seeme": {
        "url": "https://seeme.hu/gateway",
        "method": "GET",
        "format": "query",
        "auth": {"kind": "query", "name": "key", "env": "ERP_CRM_SMS_KEY"},
        "fields": {"number": "{{ number_digits }}", "message": "{{ text }}", "sender": "{{ sender_id }}", "reference": "{{ key }}", "format": "json"},
        "success": {"status": [200], "json": "result", "equals": "OK", "stop_regex": r'"code"\s*:\s*"?(4|5|13)\b'},
    },
    # Twilio: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form fields To, From, Body,
    # basic authentication with the account SID and the auth token; 201 with the message's sid.
    "twilio": {
        "url": "https://api.twilio.com/2010-04-01/Accounts/{account}/Messages.json",
        "method": "POST",
        "format": "form",
        "auth": {"kind": "basic", "username": "{account}", "env": "ERP_CRM_SMS_TOKEN"},
        "fields": {"To": "{{ number }}", "From": "{{ sender_id }}", "Body": "{{ text }}"},
        "success": {"status": [201], "json": "sid", "message_id": "sid"},
    },
}
_ACCOUNT = re.compile(r"[A-Za-z0-9_-]{1,100}")


class SmsSection(Located):
    """The gateway text messages go through, or a folder they are written into for trials (`log_folder`)."""

    preset: Literal["seeme", "twilio"] | None = None
    account: str | None = Field(None, description="twilio: the account SID (not a secret; the token is)")
    url: str | None = None
    method: Literal["GET", "POST", "PUT"] = "POST"
    format: Literal["form", "json", "query"] = Field("form", description="how the fields travel: a form body, a JSON body, or the URL's query")
    auth: HttpAuth | None = None
    fields: dict[str, str] = Field(default_factory=dict, description="name: template (number, number_digits, text, sender_id, key)")
    headers: dict[str, str] = Field(default_factory=dict, description="more headers, as templates: Idempotency-Key: '{{ key }}'")
    success: SuccessSection = Field(default_factory=SuccessSection)
    sender_id: str = Field("", max_length=11, pattern=r"^[A-Za-z0-9 +]*$", description="the sender shown on the phone (11 letters or a number)")
    timeout: int = Field(10, ge=1, le=120, description="seconds for the whole request")
    log_folder: str | None = Field(None, description="write each text message to a file here instead of sending it (trials, demos)")

    _timeout = field_validator("timeout", mode="before")(_seconds)

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("preset"), str) or data["preset"] not in PRESETS:
            return data  # an unknown or malformed preset is left to the field's own check, which names it
        preset = PRESETS[data["preset"]]
        account = data.get("account")
        if "{account}" in preset["url"] and not (isinstance(account, str) and _ACCOUNT.fullmatch(account)):
            raise ValueError(f"preset {data['preset']} needs account: the account id (letters and digits)")
        filled = {key: _fill(value, account) for key, value in preset.items()}
        return {**filled, **data}

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value)

    @field_validator("fields", "headers")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.fullmatch(_HEADER_NAME, name):
                raise ValueError(f"{name[:40]!r} is not a field or header name (letters, digits, - and _)")
        return value

    @property
    def configured(self) -> bool:
        return bool(self.url or self.log_folder)


def _fill(value: Any, account: str | None) -> Any:
    if isinstance(value, str):
        return value.replace("{account}", account or "")
    if isinstance(value, dict):
        return {k: _fill(v, account) for k, v in value.items()}
    return value


class WebhookEndpoint(Section):
    """A receiver of signed webhooks: its URL, the secret shared with it (from the environment), how long to wait."""

    url: str
    secret_env: str = Field(pattern=_ENV, description="the environment variable holding the whsec_… secret")
    timeout: int = Field(10, ge=1, le=120)

    _timeout = field_validator("timeout", mode="before")(_seconds)
    _url = field_validator("url")(http_url)


WebhookName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
