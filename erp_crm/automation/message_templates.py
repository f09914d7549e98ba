"""Message templates: one YAML file per message and language, its texts rendered in the sandbox.

`templates/messages/<lang>/<name>.yaml` holds what one message says in one language:

    email:
      subject: "Rég nem láttuk, {{ partner.name }}"
      text: |
        Kedves {{ contact.name }}! ...
      html: |            # optional: without it the e-mail is plain text
        <p>Kedves {{ contact.name }}!</p> ...
    sms: "{{ partner.name }}: 10% kedvezmény a következő rendelésére. Leiratkozás: {{ links.unsubscribe }}"

A file may hold the e-mail, the text message or both; a chain step names the message and
the channel. Every text is compiled when the file is loaded, so a mistake is found by
`chains validate` (and `templates preview`) at its file, key and line, not when the
first customer is due. The HTML is autoescaped; the subject is one line (line breaks in
it would start new mail headers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from erp_crm.automation.sandbox import TemplateProblem, compile_text, render_text
from erp_crm.errors import ConfigError
from erp_crm.yamlfile import YamlDocument, load_yaml

PARTS = {("email", "subject"): False, ("email", "text"): False, ("email", "html"): True, ("sms",): False}  # part → is HTML
REQUIRED_EMAIL = ("subject", "text")
MAX_SUBJECT = 200  # characters of a rendered subject: mail clients show far fewer
_BLANKS = re.compile(r"\s+")


@dataclass(frozen=True)
class RenderedMessage:
    """What a message says to one customer: the e-mail's subject, text and HTML, and the text message (None: not in the template)."""

    subject: str | None = None
    text: str | None = None
    html: str | None = None
    sms: str | None = None


@dataclass(frozen=True)
class MessageTemplate:
    """A message in one language, its texts compiled; `where` locates each part in its file for error messages."""

    name: str
    locale: str
    path: Path
    parts: dict[tuple[str, ...], jinja2.Template]
    lines: dict[tuple[str, ...], int]

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels the message can go on: email, sms or both."""
        return tuple(sorted({key[0] for key in self.parts}))

    def render(self, context: Mapping[str, Any]) -> RenderedMessage:
        """Every part rendered for one customer; a ConfigError naming file, part and line when one cannot be."""
        texts: dict[str, str | None] = {}
        for key, template in self.parts.items():
            try:
                texts[key[-1]] = render_text(template, context)
            except TemplateProblem as problem:
                raise ConfigError(self._where(key, problem)) from None
        subject = texts.get("subject")
        if subject is not None:
            subject = _BLANKS.sub(" ", subject).strip()
            if not subject or len(subject) > MAX_SUBJECT:
                raise ConfigError(
                    f"{self.path}:{self.lines[('email', 'subject')]}: email.subject renders to {len(subject)} characters; a subject needs 1 to {MAX_SUBJECT}"
                )
        return RenderedMessage(subject, texts.get("text"), texts.get("html"), texts.get("sms"))

    def _where(self, key: tuple[str, ...], problem: TemplateProblem) -> str:
        line = f", template line {problem.line}" if problem.line is not None else ""
        return f"{self.path}:{self.lines.get(key, 1)}: {'.'.join(key)}{line}: {problem.message}"


def load_message(path: Path) -> MessageTemplate:
    """The message template in `path` (`<lang>/<name>.yaml`), every part compiled; a ConfigError at the file and line of the first mistake."""
    doc = load_yaml(path)
    data = doc.data
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{path}: a message template holds `email:` (subject, text, optional html) and/or `sms:`")
    unknown = sorted(set(data) - {"email", "sms"}, key=str)
    if unknown:
        raise ConfigError(f"{doc.where((unknown[0],))}: unknown key {str(unknown[0])!r}; a message template holds email and sms")
    email = data.get("email", False)
    if email is not False:
        if not isinstance(email, dict) or not email:
            raise ConfigError(f"{doc.where(('email',))}: email holds subject, text and (optionally) html")
        stray = sorted(set(email) - {"subject", "text", "html"}, key=str)
        missing = [k for k in REQUIRED_EMAIL if k not in email]
        if stray or missing:
            what = f"unknown key {str(stray[0])!r}" if stray else f"missing {missing[0]!r}"
            raise ConfigError(f"{doc.where(('email', stray[0]) if stray else ('email',))}: email: {what}; it holds subject, text and (optionally) html")
    parts: dict[tuple[str, ...], jinja2.Template] = {}
    for key, html in PARTS.items():
        source = _source(doc, key)
        if source is None:
            continue
        try:
            parts[key] = compile_text(source, html=html)
        except TemplateProblem as problem:
            line = f", template line {problem.line}" if problem.line is not None else ""
            raise ConfigError(f"{doc.where(key)}: {'.'.join(key)}{line}: {problem.message}") from None
    lines = {key: doc.lines.get(key, 1) for key in parts}
    return MessageTemplate(path.stem, path.parent.name, path, parts, lines)


def _source(doc: YamlDocument, key: tuple[str, ...]) -> str | None:
    """The text of one part (None: not in the file); a ConfigError when it is there but not text."""
    value: Any = doc.data
    for step in key:
        if not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    if not isinstance(value, str):
        raise ConfigError(f"{doc.where(key)}: {'.'.join(key)} must be text (quote it if it looks like a number or a list)")
    return value
