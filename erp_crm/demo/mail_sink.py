"""The demo's mail server: SMTP on loopback that keeps every message it receives in a Maildir folder.

The demo sends its win-back e-mails through the same dispatcher and SMTP client as a
real deployment; this stands in for the company's relay, so nothing leaves the machine
and every message can be opened afterwards (any mail client reads a Maildir).
"""

from __future__ import annotations

import mailbox
import socket
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self, folder: Path) -> None:
        self.box = mailbox.Maildir(folder, create=True)
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls its hooks by these names
        self.box.add(bytes(envelope.original_content or envelope.content))
        self.count += 1
        return "250 OK: kept"


class MailSink:
    """`with MailSink(folder) as sink:` an SMTP server on 127.0.0.1:`sink.port`; `sink.received` counts what it kept."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.keeper = _Keep(folder)
        with socket.socket() as probe:  # a free port now; the server binds it at once
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(self.keeper, hostname="127.0.0.1", port=self.port)

    @property
    def received(self) -> int:
        return self.keeper.count

    def __enter__(self) -> MailSink:
        self.controller.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.controller.stop()
