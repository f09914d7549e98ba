"""The SMS channel of the dispatcher: outbox rows become requests to an HTTP gateway described in the settings.

The gateway's fields and headers are templates run in the message sandbox with only
what a text message needs (`number`, `number_digits`, `text`, `sender_id`, `key`);
form, query and JSON encoding keep a hostile text inside its field, and a header
value with a line break is refused before anything leaves. With `sms.log_folder` set,
each message is written to a file there instead (`LogFolderSmsSender`): for trials and
demos, where none may reach a customer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import urllib.parse
from pathlib import Path

import jinja2

from erp_crm.automation.addresses import sms_number
from erp_crm.automation.dispatch import Claimed
from erp_crm.automation.http_send import HttpRequest, HttpSender, SuccessCheck
from erp_crm.automation.sandbox import TemplateProblem, compile_text, render_text
from erp_crm.automation.smtp_send import ConnectionFailed, Outcome, SendResult
from erp_crm.errors import ConfigError, UserError
from erp_crm.settings.base import resolve_path
from erp_crm.settings.gateways import SmsSection, SuccessSection, env_value

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def success_check(section: SuccessSection) -> SuccessCheck:
    return SuccessCheck(
        statuses=frozenset(section.status),
        json=section.json_path,
        equals=section.equals,
        regex=re.compile(section.regex) if section.regex else None,
        message_id=section.message_id,
        stop_regex=re.compile(section.stop_regex) if section.stop_regex else None,
    )


def header_value(value: str, what: str) -> str:
    """`value` as it may go in a header; a UserError when a line break or another control character would split it."""
    if _CONTROL.search(value):
        raise UserError(f"{what} holds a line break or another control character, which would start a new header")
    return value


class SmsSender:
    """Sends claimed text messages to the gateway of `sms:`, one request each."""

    def __init__(self, section: SmsSection) -> None:
        if not section.url:
            raise ConfigError(f"{section.origin}: sms.url is not set (or choose a preset: seeme, twilio)")
        self.section = section
        self.fields = {name: _compiled(source, f"sms.fields.{name}") for name, source in section.fields.items()}
        self.headers = {name: _compiled(source, f"sms.headers.{name}") for name, source in section.headers.items()}
        self.auth = _auth(section)
        self.check = success_check(section.success)
        self.http = HttpSender(float(section.timeout))

    def prepare(self, row: Claimed) -> HttpRequest:
        context = _context(row, self.section.sender_id)
        fields = {name: value for name, template in self.fields.items() if (value := _rendered(template, context, f"sms.fields.{name}"))}
        headers = [(name, header_value(_rendered(t, context, f"sms.headers.{name}"), f"sms.headers.{name}")) for name, t in self.headers.items()]
        url = self.section.url or ""
        query = dict(self.auth.query)
        body = b""
        if self.section.format == "query":
            query |= fields
        elif self.section.format == "json":
            body = json.dumps(fields, ensure_ascii=False).encode("utf-8")
            headers.append(("Content-Type", "application/json; charset=utf-8"))
        else:
            body = urllib.parse.urlencode(fields).encode("ascii")
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        if query:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
        return HttpRequest(self.section.method, url, tuple(headers + self.auth.headers), body)

    def ready(self) -> None:
        self.http.open()

    def send(self, prepared: HttpRequest, row: Claimed) -> SendResult:
        return self.http.send(prepared, self.check)

    def close(self) -> None:
        self.http.close()


class LogFolderSmsSender:
    """Writes each text message to a file in a folder (one per message, as a gateway would send it) instead of sending it."""

    def __init__(self, section: SmsSection, folder: Path) -> None:
        self.sender_id = section.sender_id
        self.folder = folder

    def prepare(self, row: Claimed) -> str:
        context = _context(row, self.sender_id)
        return f"To: {context['number']}\nFrom: {self.sender_id}\nKey: {row.key}\n\n{row.body}\n"

    def ready(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConnectionFailed(f"sms log folder {self.folder}: {error.strerror}") from None

    def send(self, prepared: str, row: Claimed) -> SendResult:
        name = hashlib.sha256(row.key.encode("utf-8")).hexdigest()[:24] + ".txt"  # the same file for the same message: a repeat shows
        path, part = self.folder / name, self.folder / f".{name}.part"
        try:
            part.write_text(prepared, encoding="utf-8")
            os.replace(part, path)
        except OSError as error:
            return SendResult(Outcome.UNKNOWN, detail=f"sms log folder {self.folder}: {error.strerror}")
        return SendResult(Outcome.SENT, 200, f"written to {path}", provider_id=name)

    def close(self) -> None:
        return


def sms_sender(section: SmsSection) -> SmsSender | LogFolderSmsSender:
    """The sender the settings ask for: the gateway, or a folder when `sms.log_folder` is set."""
    if section.log_folder:
        return LogFolderSmsSender(section, resolve_path(section.home, section.log_folder))
    return SmsSender(section)


class _Auth:
    def __init__(self, headers: list[tuple[str, str]], query: dict[str, str]) -> None:
        self.headers, self.query = headers, query


def _auth(section: SmsSection) -> _Auth:
    auth = section.auth
    if auth is None:
        return _Auth([], {})
    secret = env_value(auth.env, f"{section.origin}: sms.auth.env")
    if auth.kind == "bearer":
        return _Auth([("Authorization", f"Bearer {secret}")], {})
    if auth.kind == "basic":
        pair = base64.b64encode(f"{auth.username}:{secret}".encode()).decode("ascii")
        return _Auth([("Authorization", f"Basic {pair}")], {})
    if auth.kind == "header":
        return _Auth([(auth.name or "", secret)], {})
    return _Auth([], {auth.name or "": secret})


def _context(row: Claimed, sender_id: str) -> dict[str, str]:
    """What a gateway's templates may use; the number judged again, so nothing but a number in E.164 reaches a field."""
    number = sms_number(row.recipient)
    if number.value is None:
        raise UserError(f"the number {row.recipient[:40]!r}: {number.reason}")
    return {"number": number.value, "number_digits": number.value.lstrip("+"), "text": row.body, "sender_id": sender_id, "key": row.key}


def _compiled(source: str, where: str) -> jinja2.Template:
    try:
        return compile_text(source)
    except TemplateProblem as problem:
        raise ConfigError(f"{where}: {problem}") from None


def _rendered(template: jinja2.Template, context: dict[str, str], where: str) -> str:
    try:
        return render_text(template, context)
    except TemplateProblem as problem:
        raise UserError(f"{where}: {problem}") from None
