"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts, for tests that send mail."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One accepted message: the envelope and the bytes as they arrived, parsed."""

    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Keeper:
    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550, as a server does for an unknown mailbox
    answers: dict[str, str] = field(default_factory=dict)  # other answers to RCPT TO, by recipient ("451 4.7.1 slow down")
    drop_after_data: bool = False  # take the content, then close the connection without an answer
    answer_after: float = 0.0  # seconds between taking the content and answering: the window in which a client may die

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        if address in self.answers:
            return self.answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls its hooks by these names
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
        if self.drop_after_data:
            server.transport.close()
        elif self.answer_after:
            await asyncio.sleep(self.answer_after)
        return "250 OK"


def _only(user: str, password: str) -> Any:
    """An aiosmtpd authenticator that takes this one login."""

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        taken = isinstance(data, LoginPassword) and (data.login, data.password) == (user.encode(), password.encode())
        return AuthResult(success=taken, handled=False)  # handled=False: the server answers 235 or 535 itself

    return authenticate


def self_signed(folder: Path) -> Path:
    """A certificate for 127.0.0.1 and its key (cert.pem, key.pem) in `folder`, made by openssl: the CA file a client trusts."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder / "cert.pem"


class LoopbackSmtp:
    """`with LoopbackSmtp() as smtp:` a server on 127.0.0.1:`smtp.port`; `smtp.received` lists what it took."""

    def __init__(
        self,
        refuse: set[str] | None = None,
        answers: dict[str, str] | None = None,
        *,
        drop_after_data: bool = False,
        answer_after: float = 0.0,
        tls: tuple[str, Path] | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        """`tls`: ("starttls" or "ssl", a folder holding cert.pem and key.pem, as `self_signed` writes them);
        `login`: the one (user, password) AUTH PLAIN and LOGIN take, offered without TLS too."""
        self.keeper = _Keeper(refuse=set(refuse or ()), answers=dict(answers or {}), drop_after_data=drop_after_data, answer_after=answer_after)
        with socket.socket() as probe:  # a free port now; the server binds it at once
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        options: dict[str, Any] = {}
        if tls is not None:
            kind, folder = tls
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
            options = {"ssl_context": context} if kind == "ssl" else {"tls_context": context, "require_starttls": True}
        if login is not None:
            options |= {"auth_require_tls": False, "authenticator": _only(*login)}
        self.controller = Controller(self.keeper, hostname="127.0.0.1", port=self.port, **options)

    @property
    def received(self) -> list[Received]:
        return self.keeper.received

    def __enter__(self) -> LoopbackSmtp:
        self.controller.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.controller.stop()
